"""``make rehearse``: the documented bootstrap, then a code and a site deploy, on a fresh emulator.

The whole rehearsal runs once, as a user runs it (stage prod, the documented one), and must pass; the resource types it
names as stood in for must be exactly those of the deployed templates that moto's
CloudFormation has no handler for (so it stands in for nothing the emulator can do,
and hides nothing it cannot). A failing step must fail the rehearsal loudly.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra import rehearse
from infra.config import stage_config
from infra.stacks import stacks_for
from tests.conftest import PROJECT_DIR


def _types_moto_lacks(stage: str) -> tuple[set[str], set[str]]:
    """(every resource type of the stage's templates that moto's CloudFormation has no handler for,
    those of them on resources without a condition, which the rehearsal must meet)."""
    from moto.cloudformation.parsing import get_model_map

    handled = get_model_map()
    every: set[str] = set()
    unconditional: set[str] = set()
    cfg = stage_config(stage)
    for spec in stacks_for(cfg):
        for resource in spec.build(cfg).to_dict()["Resources"].values():
            if resource["Type"] not in handled:
                every.add(resource["Type"])
                if "Condition" not in resource:
                    unconditional.add(resource["Type"])
    return every, unconditional


@pytest.fixture(scope="module")
def rehearsal() -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["make", "--no-print-directory", "rehearse", f"PY={sys.executable}", "STAMP="],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1500)
    sys.stdout.write(result.stdout[-6000:])
    return result


def test_make_rehearse_runs_every_documented_step_and_passes(rehearsal: subprocess.CompletedProcess[str]) -> None:
    assert rehearsal.returncode == 0, (rehearsal.stdout[-4000:], rehearsal.stderr[-2000:])
    for step in rehearse.steps():
        assert f"[ok] step {step.number}: {step.title}" in rehearsal.stdout
    assert f"rehearsal passed: all {len(rehearse.steps())} steps succeeded" in rehearsal.stdout


def test_the_rehearsal_names_exactly_the_types_the_emulator_lacks(
        rehearsal: subprocess.CompletedProcess[str]) -> None:
    section = rehearsal.stdout.split("Stood in for, because the emulator lacks it:", 1)[1]
    named = set(re.findall(r"^  (AWS::\w+::\w+): ", section, flags=re.MULTILINE))
    every, unconditional = _types_moto_lacks(rehearse.DOCUMENTED_STAGE)
    assert named <= every, f"stood in for what the emulator can do: {sorted(named - every)}"
    assert unconditional <= named, f"not named: {sorted(unconditional - named)}"
    # the ones the issue lists, as far as the rehearsed stage (dev: no container path) creates them
    for expected in ("AWS::Cognito::UserPool", "AWS::CloudFront::Distribution", "AWS::WAFv2::WebACL",
                     "AWS::SecretsManager::Secret", "AWS::CloudWatch::Alarm", "AWS::SES::ConfigurationSet",
                     "AWS::S3::BucketPolicy"):
        assert expected in named
    assert "container image build and push" in section


@pytest.fixture
def rehearsal_workdir(tmp_path: Path) -> Path:
    """Where a rehearsal in this process writes; it starts an emulator of its own (a server)."""
    return tmp_path


def test_a_failing_step_fails_the_rehearsal_loudly(monkeypatch: pytest.MonkeyPatch, rehearsal_workdir: Path) -> None:
    steps = [
        rehearse.Step("1", "a step that works", "", check=lambda r: "fine"),
        rehearse.Step("2", "a step that fails", f"{rehearse.VENV_PYTHON} -c 'print(\"boom\"); raise SystemExit(3)'"),
        rehearse.Step("3", "a step after it", "", check=lambda r: "never"),
    ]
    monkeypatch.setattr(rehearse, "steps", lambda: steps)
    lines: list[str] = []
    status = rehearse.rehearse("prod", rehearsal_workdir, lines.append)
    text = "\n".join(lines)
    assert status == 1
    assert "[ok] step 1: a step that works" in text
    assert "[FAILED] step 2: a step that fails" in text and "exit code 3" in text and "| boom" in text
    assert "step 3" not in text.split("Stood in for")[0].split("[FAILED] step 2")[1]
    assert "rehearsal FAILED: 1 of 3 steps succeeded (1 not run)" in text


def test_every_stand_in_and_fix_in_the_record_is_named(tmp_path: Path) -> None:
    record = tmp_path / "record.jsonl"
    events = [
        {"kind": "stand-in", "type": "AWS::WAFv2::WebACL", "stack": "s-edge-global", "logical_id": "WebAcl",
         "how": "recorded only"},
        {"kind": "stand-in", "type": "AWS::WAFv2::WebACL", "stack": "s-edge-global", "logical_id": "Other",
         "how": "recorded only"},
        {"kind": "fix", "fix": "KMS key tags", "stack": "s-secrets"},
        {"kind": "fix", "fix": "KMS key tags", "stack": "s-other"},
    ]
    record.write_text("".join(json.dumps(e) + "\n" for e in events))
    types, fixes = rehearse.stand_ins(record)
    assert types == {"AWS::WAFv2::WebACL": {"how": "recorded only",
                                            "where": ["s-edge-global/WebAcl", "s-edge-global/Other"]}}
    assert fixes == ["KMS key tags"]


def test_a_state_bucket_that_refuses_reads_is_one_clear_error() -> None:
    """Found by the rehearsal: a 403 on the saved Chalice state was a traceback."""
    from infra.delivery.errors import DeliveryError
    from infra.delivery.state import DeploymentStateStore, StateLocation

    class Refusing:
        def get_object(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "403", "Message": "Forbidden"}}, "GetObject")

    store = DeploymentStateStore(Refusing(), StateLocation.for_stage("dev", "123456789012", "us-east-1"))
    with pytest.raises(DeliveryError, match=r"cannot read .*403"):
        store.load()


def test_a_stage_without_the_container_path_rehearses_only_its_own_stacks(tmp_path: Path) -> None:
    dev = rehearse.Rehearsal("dev", "http://127.0.0.1:1", tmp_path / "record.jsonl", tmp_path)
    prod = rehearse.Rehearsal("prod", "http://127.0.0.1:1", tmp_path / "record.jsonl", tmp_path)
    step2 = next(step for step in rehearse.steps() if step.number == "2")
    assert 'STACK=secrets data auth' in dev.argv(step2.command)
    assert 'STACK=secrets network data auth' in prod.argv(step2.command)
    container_steps = [step for step in rehearse.steps() if step.container_path]
    assert container_steps and not any(dev.applies(step) for step in container_steps)
    assert all(prod.applies(step) for step in container_steps)
    assert all("STAMP=" in dev.argv(step.command) for step in rehearse.steps() if step.command.startswith("make"))
