"""Fixtures shared by every kind of test, and the markers that name each kind.

The directory a test lives in names its kind, and the kind is its marker (so
``pytest -m functional`` or ``-m "not e2e"`` select by kind; no module marks itself):

- ``unit/``: no I/O at all (a unit test that opens a connection fails);
- ``functional/``: in process, over moto's in-process AWS (``mock_aws``);
- ``integration/``: real HTTP against the local stack (:func:`local_stack`);
- ``e2e/``: headless Chromium against the local stack;
- ``infra/``: the CloudFormation templates (and the container image) read as data, plus
  deploys of them to the emulator;
- ``deploy/``: the delivery commands against a recording emulator;
- ``package/``: the Lambda deployment package;
- ``docs/``: the docs against the code;
- ``image/``: the container image, built and run.

A test that starts a server (one of :data:`SERVER_FIXTURES`) is also marked ``server``;
``make check`` runs every other test.

Nothing here may reach real AWS: fake credentials are set for the whole run, and the
dev stack's port variables are ignored (tests choose free ports of their own).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from infra.local.processes import free_port, start_server, stop_group

PROJECT_DIR = Path(__file__).resolve().parents[1]
TESTS_DIR = Path(__file__).resolve().parent
# Every directory of tests/ holding tests, which is also the marker of its tests
# (registered in pyproject.toml, where ``--strict-markers`` makes a typo an error).
KINDS = ("unit", "functional", "integration", "e2e", "infra", "deploy", "package", "docs", "image")
# The fixtures that start a server: a test using one (directly or through another fixture)
# is also marked ``server``, and ``make check`` runs every test not so marked.
SERVER_FIXTURES = frozenset({"local_stack", "emulator_url", "emulator", "rehearsal", "rehearsal_workdir"})
DEV_PORT_VARS = ("LOCAL_AWS_PORT", "API_PORT", "SITE_PORT", "SERVER_PORT")

# Set before any test module imports boto3: fake credentials, a fixed region, and no
# endpoint override leaking in from a developer's shell.
for _name in (*DEV_PORT_VARS, "AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_METRICS_NAMESPACE": "Store",
    "POWERTOOLS_SERVICE_NAME": "store-tests",
})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        kind = item.path.resolve().relative_to(TESTS_DIR).parts[0]
        if kind not in KINDS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of tests/{{{','.join(KINDS)}}}/")
        item.add_marker(kind)
        if SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker("server")


def _refuse_network(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("a unit test opened a network connection: it belongs in tests/functional")


@pytest.fixture(autouse=True)
def _unit_tests_do_no_io(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A unit test that opens a network connection fails."""
    if request.node.get_closest_marker("unit"):
        monkeypatch.setattr(socket.socket, "connect", _refuse_network)
        monkeypatch.setattr(socket.socket, "connect_ex", _refuse_network)
        monkeypatch.setattr(socket, "create_connection", _refuse_network)


@dataclass(frozen=True)
class LocalStack:
    """A running local stack (``python -m infra.local.stack up``) on free ports."""

    api_url: str
    site_url: str
    server_url: str
    emulator_url: str
    client_id: str
    user_pool_id: str
    info: dict[str, str]

    def token(self, user: str) -> str:
        from infra.local import bootstrap

        email = self.info["admin_email"] if user == "admin" else self.info["shopper_email"]
        password = bootstrap.DEFAULT_ADMIN_PASSWORD if user == "admin" else bootstrap.DEFAULT_SHOPPER_PASSWORD
        return bootstrap.sign_in(self.emulator_url, self.client_id, email, password)["IdToken"]


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    """The whole local stack, started once per test session on ports of its own."""
    ports = {name: free_port() for name in ("emulator", "api", "site", "server")}
    state_dir = tempfile.mkdtemp(prefix="store-stack-")
    state_file = Path(state_dir) / "stack.json"
    log_path = Path(state_dir) / "stack.log"
    env = {k: v for k, v in os.environ.items() if k not in DEV_PORT_VARS}
    env["API_ACCESS_LOG"] = "0"
    # Many tests order as the demo shopper and leave orders unpaid: the shared stack lifts
    # the hold limit (tests/integration/test_sell_concurrency.py runs an API with the
    # default of 3), and sweeps every second so expiry tests wait little.
    env["MAX_PENDING_ORDERS"] = "100000"
    env["EXPIRY_SWEEP_SECONDS"] = "1"
    argv = [sys.executable, "-m", "infra.local.stack", "up", "--state-file", str(state_file)]
    for name, port in ports.items():
        argv += [f"--{name}-port", str(port)]
    try:
        with open(log_path, "wb") as log:  # the child writes to its own copy of the descriptor
            proc = start_server(argv, f"http://127.0.0.1:{ports['api']}/health", timeout=240, env=env, output=log)
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-5000:])
        raise
    try:
        info = json.loads(state_file.read_text())
        yield LocalStack(
            api_url=info["api_url"], site_url=info["site_url"], server_url=info["server_url"],
            emulator_url=info["emulator_url"], client_id=info["client_id"],
            user_pool_id=info["user_pool_id"], info=info,
        )
    except BaseException:
        sys.stderr.write(log_path.read_text(errors="replace")[-5000:])
        raise
    finally:
        stop_group(proc)
