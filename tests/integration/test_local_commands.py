"""The local commands a newcomer types, run as documented: ``make token``, ``make import``.

``make token`` must ignore the login name that make takes from the environment as
``USER``, and a stack that is not running (no state file, or one left behind) is one
line saying to start it. ``make import`` imports the documented example files
(``docs/examples/``) into the running stack with nothing exported, and the bulk import
CLI names what it lacks instead of failing with a traceback.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
import requests

from infra.local.stack import STACK_DOWN
from tests.conftest import PROJECT_DIR, LocalStack, free_port

pytestmark = pytest.mark.integration

EXAMPLES = PROJECT_DIR / "docs" / "examples"


def make(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``make -s <args>`` with this interpreter (STAMP= skips the venv install step)."""
    return subprocess.run(["make", "-s", "--no-print-directory", *args, f"PY={sys.executable}", "STAMP="],
                          cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=180)


def _env(state_file: Path, **extra: str) -> dict[str, str]:
    # As a user types it at a shell: not as a sub-make of `make test` (which would print
    # ``make[1]: ***`` and pass the outer make's flags down).
    outer_make = {"AWS_ENDPOINT_URL", "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    env = {k: v for k, v in os.environ.items() if k not in outer_make}
    env.update({"STACK_STATE_FILE": str(state_file), **extra})
    return env


@pytest.fixture
def state_file(local_stack: LocalStack, tmp_path: Path) -> Path:
    """A state file naming the session's stack, as `make dev` writes one."""
    path = tmp_path / "stack.json"
    path.write_text(json.dumps(local_stack.info))
    return path


def _claims(token: str) -> dict[str, object]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def test_make_token_without_user_ignores_the_login_name_and_prints_the_shoppers_token(
        state_file: Path, local_stack: LocalStack) -> None:
    made = make("token", env=_env(state_file, USER="alice", LOGNAME="alice"))
    assert made.returncode == 0, made.stderr
    assert "alice" not in made.stderr
    assert "USER=admin" in made.stderr  # the usage, on stderr: stdout's last line is the token
    claims = _claims(made.stdout.strip().splitlines()[-1])
    assert claims["email"] == local_stack.info["shopper_email"]
    assert claims["token_use"] == "id"


def test_make_token_user_admin_prints_the_admins_token(state_file: Path, local_stack: LocalStack) -> None:
    made = make("token", "USER=admin", env=_env(state_file, USER="alice"))
    assert made.returncode == 0, made.stderr
    claims = _claims(made.stdout.strip().splitlines()[-1])
    assert claims["email"] == local_stack.info["admin_email"]
    assert "admin" in claims["cognito:groups"]  # type: ignore[operator]


def test_make_token_refuses_an_unknown_user_in_one_line(state_file: Path) -> None:
    made = make("token", "USER=bob", env=_env(state_file))
    assert made.returncode != 0
    ours = [line for line in made.stderr.splitlines() if not line.startswith("make:")]
    assert len(ours) == 1 and "'bob'" in ours[0] and "USER=admin|shopper" in ours[0]


@pytest.mark.parametrize("leftover", [False, True], ids=["no state file", "stale state file"])
def test_make_token_when_the_stack_is_down_says_to_start_it_in_one_line(tmp_path: Path, leftover: bool) -> None:
    state = tmp_path / "stack.json"
    if leftover:  # what a stack that was killed leaves behind: its emulator no longer answers
        dead = f"http://127.0.0.1:{free_port()}"
        state.write_text(json.dumps({"emulator_url": dead, "api_url": dead, "client_id": "gone",
                                     "admin_email": "admin@example.com", "shopper_email": "shopper@example.com"}))
    for args in (("token",), ("token", "USER=admin"), ("import", f"FILE={EXAMPLES / 'products.csv'}")):
        made = make(*args, env=_env(state, USER="alice"))
        assert made.returncode != 0
        assert made.stdout == ""
        ours = [line for line in made.stderr.splitlines() if not line.startswith("make:")]
        assert ours == [STACK_DOWN], made.stderr


def _rows(path: Path) -> list[dict[str, str]]:
    """The example's records, read independently of the importer."""
    if path.suffix == ".csv":
        return list(csv.DictReader(path.read_text().splitlines()))
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("example", ["products.csv", "products.jsonl"])
def test_make_import_imports_the_documented_example(state_file: Path, local_stack: LocalStack, tmp_path: Path,
                                                    example: str) -> None:
    path = EXAMPLES / example
    rows = _rows(path)
    report_path = tmp_path / "report.json"
    made = make("import", f"FILE={path}", f"REPORT={report_path}", env=_env(state_file))
    assert made.returncode == 0, made.stderr
    report = json.loads(report_path.read_text())
    assert report["failed"] == 0 and report["rows"] == len(rows)
    for row in rows:  # every row is in the catalog, found through the API
        found = requests.get(f"{local_stack.api_url}/products", timeout=10,
                             params={"q": row["name"], "category": row["category"], "limit": 100}).json()["items"]
        assert row["sku"] in {item["sku"] for item in found}, (row, found)
    again = make("import", f"FILE={path}", f"REPORT={report_path}", env=_env(state_file))
    assert again.returncode == 0, again.stderr
    assert json.loads(report_path.read_text())["unchanged"] == len(rows)  # an upsert: nothing changes twice


def _catalog_import(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "catalog_lambda", "import", str(EXAMPLES / "products.csv"),
                           "--report", str(tmp_path / "r.json")], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_import_cli_names_missing_credentials_without_a_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"})
    result = _catalog_import(env, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("no AWS credentials") and "make import" in result.stderr


def test_the_import_cli_names_an_unreachable_endpoint_without_a_traceback(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    result = _catalog_import({**os.environ, "AWS_ENDPOINT_URL": endpoint}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and f"cannot reach {endpoint}" in result.stderr


def test_make_dev_on_a_port_in_use_names_the_port_and_its_variable(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "LOCAL_AWS_PORT": str(free_port()), "API_PORT": str(port),
               "SITE_PORT": str(free_port()), "SERVER_PORT": str(free_port()),
               "STACK_STATE_FILE": str(tmp_path / "stack.json")}
        result = subprocess.run([sys.executable, "-m", "infra.local.stack", "up"], cwd=PROJECT_DIR, env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"port {port} (api) is in use: stop what listens there (`ss -ltnp 'sport = :{port}'` shows it) "
        f"or choose another with API_PORT=..."]
    assert not (tmp_path / "stack.json").exists()
