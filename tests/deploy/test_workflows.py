"""The GitHub workflows: valid against GitHub's schema, clean under zizmor, and keeping the house rules.

check-jsonschema's built-in ``vendor.github-workflows`` schema and zizmor (offline: no
GitHub API calls) both come from requirements-dev.txt. The rules checked by hand:
every action pinned to a full commit SHA, no AWS credential variables anywhere (only
OIDC roles, whose ARNs are repository variables), ``id-token: write`` only where a role
is assumed, one deploy at a time per stage, every prod deploy in the protected ``prod``
environment, and infrastructure deployed only by hand through the stage's environment.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]
WORKFLOWS_DIR = PROJECT_DIR / ".github" / "workflows"
WORKFLOWS = sorted(WORKFLOWS_DIR.glob("*.yml"))
BIN = Path(sys.executable).parent
CREDENTIAL_NAMES = re.compile(r"AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|aws-access-key-id|"
                              r"aws-secret-access-key|aws-session-token|secrets\.AWS_", re.IGNORECASE)
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
CONFIGURE_AWS = "aws-actions/configure-aws-credentials"


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in document:
        document["on"] = document.pop(True)
    return dict(document)


def steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


def test_the_expected_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "deploy-code.yml", "deploy-infra.yml", "deploy-site.yml",
                                           "deploy-server.yml"}


def test_workflows_validate_against_githubs_workflow_schema() -> None:
    result = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                             *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def zizmor_findings(directory: Path) -> list[tuple[str, str, str]]:
    """zizmor's findings of medium severity or above: (audit, severity, where)."""
    result = subprocess.run([str(BIN / "zizmor"), "--offline", "--no-progress", "--format", "json",
                             "--min-severity", "medium", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode in (0, *range(10, 20)), result.stderr  # 10-19: findings, by highest severity
    return [(f["ident"], f["determinations"]["severity"],
             f"{f['locations'][0]['symbolic']['key']}: {f['locations'][0]['symbolic']['annotation']}")
            for f in json.loads(result.stdout or "[]")]


def test_zizmor_finds_nothing_of_medium_severity_or_above() -> None:
    assert zizmor_findings(WORKFLOWS_DIR) == []


def test_the_zizmor_check_does_catch_a_bad_workflow(tmp_path: Path) -> None:
    directory = tmp_path / ".github" / "workflows"
    directory.mkdir(parents=True)
    (directory / "bad.yml").write_text(
        "name: bad\non:\n  workflow_dispatch:\n    inputs:\n      x: {type: string}\njobs:\n  a:\n"
        "    runs-on: ubuntu-24.04\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - run: echo ${{ inputs.x }}\n")
    audits = {audit for audit, _, _ in zizmor_findings(directory)}
    assert {"template-injection", "unpinned-uses", "artipacked"} <= audits


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_aws_credential_variables(path: Path) -> None:
    assert not CREDENTIAL_NAMES.search(path.read_text())


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_full_commit_sha(path: Path) -> None:
    for _, _, step in steps(load(path)):
        if "uses" in step:
            assert PINNED.match(step["uses"]), step["uses"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_only_jobs_that_assume_a_role_get_an_oidc_token(path: Path) -> None:
    workflow = load(path)
    assert "id-token" not in (workflow.get("permissions") or {})
    for name, job in workflow["jobs"].items():
        assumes = any(CONFIGURE_AWS in step.get("uses", "") for step in job.get("steps", []))
        assert ((job.get("permissions") or {}).get("id-token") == "write") == assumes, name
        for step in job.get("steps", []):
            if CONFIGURE_AWS in step.get("uses", ""):
                assert set(step["with"]) <= {"role-to-assume", "role-session-name", "aws-region"}
                assert "vars." in step["with"]["role-to-assume"]  # role ARNs are repository variables


@pytest.mark.parametrize("name", ["deploy-code.yml", "deploy-site.yml", "deploy-server.yml"])
def test_push_deploys_run_one_at_a_time_per_stage_after_main(name: str) -> None:
    workflow = load(WORKFLOWS_DIR / name)
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["on"]["push"]["paths"]
    deploys = {job_name: job for job_name, job in workflow["jobs"].items() if job_name.startswith("deploy-")}
    assert set(deploys) == {"deploy-dev", "deploy-prod"}
    for stage in ("dev", "prod"):
        job = deploys[f"deploy-{stage}"]
        assert job["concurrency"] == {"group": f"{name[:-4]}-{stage}", "cancel-in-progress": False}
        assert job["steps"][-1]["run"].startswith("make deploy")
        assert f"STAGE={stage}" in job["steps"][-1]["run"]
        # prod waits for a reviewer: its job runs in the `prod` environment, whose OIDC subject
        # (environment:prod) is the only one prod's code role trusts; dev deploys on every push.
        if stage == "prod":
            assert job["environment"] == "prod"
        else:
            assert "environment" not in job
    if "test" in workflow["jobs"]:
        assert "test" in deploys["deploy-dev"]["needs"] and "test" in deploys["deploy-prod"]["needs"]


def test_prods_roles_trust_exactly_the_environment_its_jobs_run_in() -> None:
    from infra.config import stage_config
    from infra.stacks.ci import code_deploy_subject

    assert code_deploy_subject(stage_config("prod")) == "environment:prod"
    assert code_deploy_subject(stage_config("dev")) == "ref:refs/heads/main"
    for name in ("deploy-code.yml", "deploy-site.yml", "deploy-server.yml"):
        assert load(WORKFLOWS_DIR / name)["jobs"]["deploy-prod"]["environment"] == "prod"


def test_deploy_code_runs_on_app_code_and_tests_first() -> None:
    workflow = load(WORKFLOWS_DIR / "deploy-code.yml")
    paths = workflow["on"]["push"]["paths"]
    assert {"app.py", "api/**", "catalog_lambda/**", "requirements.txt", ".chalice/**"} <= set(paths)
    assert workflow["jobs"]["test"]["steps"][-1]["run"] == "make test"


def test_deploy_infra_is_manual_with_a_stage_input_and_the_stage_environment() -> None:
    workflow = load(WORKFLOWS_DIR / "deploy-infra.yml")
    assert set(workflow["on"]) == {"workflow_dispatch"}
    stage = workflow["on"]["workflow_dispatch"]["inputs"]["stage"]
    assert stage["type"] == "choice" and stage["options"] == ["dev", "prod"]
    assert workflow["concurrency"]["group"] == "deploy-infra-${{ inputs.stage }}"
    change_set, deploy = workflow["jobs"]["change-set"], workflow["jobs"]["deploy"]
    assert deploy["needs"] == "change-set"
    for job in (change_set, deploy):
        assert job["environment"] == "${{ inputs.stage }}"  # `prod` carries the required reviewers
    assert "make diff-infra" in change_set["steps"][-1]["run"]
    assert "GITHUB_STEP_SUMMARY" in change_set["steps"][-1]["run"]
    assert "make deploy-infra" in deploy["steps"][-1]["run"]
    for job in (change_set, deploy):  # inputs reach the shell through the environment, never inline
        assert "${{" not in job["steps"][-1]["run"]
