"""Run cfn-lint and checkov over synthesized templates and report their findings.

cfn-lint runs in-process. checkov pins an old boto3 that conflicts with the app's, so
it lives in its own virtualenv (``.venv-tools``, created by ``make tools``) and runs as
a subprocess; ``CHECKOV_BIN`` overrides where it is found. checkov is told never to
download anything (``--skip-download``, ``BC_SKIP_MAPPING``): the scan is offline.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
CHECKOV_CONFIG = PROJECT_DIR / ".checkov.yaml"
TOOLS_VENV = PROJECT_DIR / ".venv-tools"
ENV_CHECKOV_BIN = "CHECKOV_BIN"


class LintError(RuntimeError):
    """A linter could not run (not installed, crashed, unreadable output)."""


@dataclass(frozen=True)
class Finding:
    tool: str
    check: str
    severity: str  # error | warning | info | failed
    file: str
    resource: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.resource}" if self.resource else self.file
        return f"[{self.tool}] {self.check} {self.severity} {where}: {self.message}"


@dataclass(frozen=True)
class CheckovReport:
    passed: int
    failed: tuple[Finding, ...]
    skipped: tuple[Finding, ...]
    parsing_errors: int = 0
    resources: int = 0


def cfn_lint(paths: Iterable[Path], regions: Iterable[str] = ("us-east-1",)) -> list[Finding]:
    from cfnlint.api import decode_str
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    # One runner for every template: loading the rules is most of cfn-lint's cost.
    runner = Runner(ConfigMixIn(regions=list(regions)))
    findings = []
    for path in sorted(paths):
        template, errors = decode_str(path.read_text(encoding="utf-8"))
        matches = list(errors) if errors or template is None else list(runner.validate_template(template))
        for match in matches:
            rule_id = str(match.rule.id)
            severity = {"E": "error", "W": "warning"}.get(rule_id[:1], "info")
            findings.append(Finding("cfn-lint", rule_id, severity, path.name,
                                    f"line {match.linenumber}", str(match.message)))
    return findings


def checkov_binary() -> str:
    explicit = os.environ.get(ENV_CHECKOV_BIN)
    candidates = [explicit] if explicit else [str(TOOLS_VENV / "bin" / "checkov"), shutil.which("checkov") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise LintError("checkov is not installed: run `make tools` (creates .venv-tools) or set CHECKOV_BIN")


def checkov(directory: Path, config: Path = CHECKOV_CONFIG) -> CheckovReport:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
           "LOG_LEVEL": "ERROR"}
    argv = [checkov_binary(), "--directory", str(directory), "--config-file", str(config),
            "--framework", "cloudformation", "--skip-download", "--output", "json"]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=600)
    if proc.returncode not in (0, 1):
        raise LintError(f"checkov exited with {proc.returncode}: {proc.stderr[-2000:]}")
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError as error:
        raise LintError(f"checkov printed no JSON report: {proc.stdout[-500:]} {proc.stderr[-2000:]}") from error
    reports = data if isinstance(data, list) else [data]
    passed = parsing_errors = resources = 0
    failed: list[Finding] = []
    skipped: list[Finding] = []
    for report in reports:
        summary = report.get("summary", report)
        passed += int(summary.get("passed", 0))
        parsing_errors += int(summary.get("parsing_errors", 0))
        resources += int(summary.get("resource_count", 0))
        results = report.get("results", {})
        failed += [_checkov_finding(r, "failed") for r in results.get("failed_checks", [])]
        skipped += [_checkov_finding(r, "skipped") for r in results.get("skipped_checks", [])]
    return CheckovReport(passed, tuple(failed), tuple(skipped), parsing_errors, resources)


def _checkov_finding(result: dict[str, object], severity: str) -> Finding:
    suppress = result.get("check_result") or {}
    comment = suppress.get("suppress_comment", "") if isinstance(suppress, dict) else ""
    return Finding("checkov", str(result.get("check_id")), severity, str(result.get("file_path", "")),
                   str(result.get("resource", "")), str(comment or result.get("check_name", "")))
