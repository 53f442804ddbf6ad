"""Render the stack templates to JSON files: deterministic bytes, no AWS, no network."""

from __future__ import annotations

import json
from pathlib import Path

from troposphere import Template

from infra.config import StageConfig
from infra.stacks import stacks_for

# CloudFormation accepts a TemplateBody up to 51,200 bytes; larger ones need S3.
MAX_TEMPLATE_BODY = 51_200


def render(template: Template) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(template.to_dict(), indent=2, sort_keys=True, ensure_ascii=True) + "\n"


def render_all(cfg: StageConfig) -> dict[str, str]:
    return {spec.name: render(spec.build(cfg)) for spec in stacks_for(cfg)}


def template_path(out_dir: Path, stack: str) -> Path:
    return out_dir / f"{stack}.json"


def synth(cfg: StageConfig, out_dir: Path) -> list[Path]:
    """Write ``<stack>.json`` for each of the stage's stacks into ``out_dir`` (and nothing else)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for stack, body in render_all(cfg).items():
        path = template_path(out_dir, stack)
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
