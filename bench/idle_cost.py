"""The idle bill of each stage, as ``python -m infra cost`` prices it (a section of ``bench/results.md``)."""

from __future__ import annotations

from collections import defaultdict

from infra.config import STAGES, stage_config
from infra.cost import load_prices, price_stage

# The targets for the always-running resources.
TARGETS = {"dev": 20.0, "prod": 70.0}


def section() -> list[str]:
    lines = [
        "## Idle cost per stage",
        "",
        "`python -m infra cost --stage S`: every always-on resource of the stage's synthesized templates "
        "(conditions evaluated with their defaults) at the list prices of `infra/prices/<region>.json` "
        f"(as of {load_prices(stage_config('prod').region).as_of}; free tiers ignored), per month. Usage-billed "
        "services (Lambda, API Gateway, DynamoDB on demand, S3, CloudFront, logs) cost nothing idle.",
        "",
        "| stage | by stack | total (USD/month) | target |",
        "| --- | --- | --- | --- |",
    ]
    for stage in sorted(STAGES):
        by_stack: dict[str, float] = defaultdict(float)
        for line in price_stage(stage_config(stage)):
            by_stack[line.stack] += line.monthly
        parts = ", ".join(f"{stack} {amount:.2f}" for stack, amount in by_stack.items())
        total = sum(by_stack.values())
        target = TARGETS[stage]
        verdict = f"<= {target:.0f}" + ("" if total <= target else " (**over**)")
        lines.append(f"| {stage} | {parts} | **{total:.2f}** | {verdict} |")
    lines.append("")
    return lines
