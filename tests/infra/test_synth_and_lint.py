"""``python -m infra synth`` and ``lint``: deterministic files, zero cfn-lint and checkov findings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import lint
from infra.config import STAGES, stage_config
from infra.stacks import STACK_NAMES, stacks_for

PROJECT_DIR = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "infra", *args], cwd=PROJECT_DIR, capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def offline_env() -> dict[str, str]:
    """No credentials, no region, and an endpoint nothing listens on: synth must not care."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    return env


def test_synth_writes_one_template_per_stack_byte_identical_twice(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    started = time.perf_counter()
    result = run_cli("synth", "--stage", "prod", "--out", str(first), env=offline_env())
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert run_cli("synth", "--stage", "prod", "--out", str(second), env=offline_env()).returncode == 0
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(f"{stack}.json" for stack in STACK_NAMES)  # prod has the container path
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    assert elapsed < 30, f"synth took {elapsed:.1f}s"


def test_synth_rejects_an_unknown_stage(tmp_path: Path) -> None:
    result = run_cli("synth", "--stage", "qa", "--out", str(tmp_path))
    assert result.returncode == 2 and "invalid choice" in result.stderr


@pytest.mark.slow
def test_cfn_lint_finds_nothing_in_any_template(synth_root: Path) -> None:
    paths = sorted(synth_root.glob("*/*.json"))
    stages = sum(len(stacks_for(stage_config(stage))) for stage in STAGES)
    assert len(paths) == stages + 2 * len(STACK_NAMES)  # + the domain and NAT variants (container path on)
    findings = lint.cfn_lint(paths, regions=["us-east-1"])
    assert [str(f) for f in findings] == []


@pytest.mark.slow
def test_checkov_fails_no_check(checkov_report: lint.CheckovReport) -> None:
    assert checkov_report.parsing_errors == 0
    assert checkov_report.resources > 100
    assert checkov_report.passed > 100
    assert [str(f) for f in checkov_report.failed] == []


@pytest.mark.slow
def test_checkov_skips_in_templates_are_explained(checkov_report: lint.CheckovReport) -> None:
    for finding in checkov_report.skipped:
        assert len(finding.message) > 20, str(finding)


def test_checkov_config_skips_are_few_and_each_has_a_comment() -> None:
    text = lint.CHECKOV_CONFIG.read_text()
    config: dict[str, Any] = yaml.safe_load(text)
    skips = config["skip-check"]
    assert 0 < len(skips) <= 5
    lines = text.splitlines()
    for skip in skips:
        index = lines.index(f"  - {skip}")
        assert lines[index - 1].strip().startswith("#"), f"{skip} has no comment above it"
    assert config.get("skip-download") is True  # offline: never ask Prisma Cloud for anything


@pytest.mark.slow
def test_lint_cli_passes_on_synthesized_templates(synth_root: Path, tmp_path: Path) -> None:
    # Two templates are enough to prove the wiring (every template is linted above).
    for stack in ("data", "auth"):
        (tmp_path / f"{stack}.json").write_bytes((synth_root / "dev" / f"{stack}.json").read_bytes())
    result = run_cli("lint", "--dir", str(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cfn-lint: 2 templates, 0 errors, 0 other findings" in result.stdout
    assert ", 0 failed," in result.stdout


@pytest.mark.slow
def test_lint_cli_fails_on_a_bad_template(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(
        '{"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}\n')
    result = run_cli("lint", "--dir", str(tmp_path))
    assert result.returncode == 1
    assert "E3002" in result.stdout  # cfn-lint: unknown property
    assert "CKV_AWS_" in result.stdout  # checkov: an unprotected bucket fails checks
