"""A new user's first session, scripted: only the contract and the local stack contract.

Start the stack with one command on non-default ports given through the documented
environment variables, wait for /health, read the banner, sign in through Cognito's
InitiateAuth against the emulator and through ``make token``, create a product and
find it, then stop the stack with SIGTERM: every process it started must be gone
within 10 s.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin

import boto3
import jwt
import pytest
import requests

from infra.local.processes import ServerExitedError, wait_http
from tests.conftest import DEV_PORT_VARS, PROJECT_DIR, free_port

DEFAULT_PORTS = {5000, 8000, 8080, 8081}
STOP_DEADLINE_SECONDS = 10.0


@dataclass
class Walkthrough:
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    ports: dict[str, int]
    state_file: Path
    log_file: Path
    groups: set[int] = field(default_factory=set)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['API_PORT']}"

    @property
    def emulator(self) -> str:
        return f"http://127.0.0.1:{self.ports['LOCAL_AWS_PORT']}"

    def output(self) -> str:
        return self.log_file.read_text(errors="replace")


def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, pgid, start time, state) of a live process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), int(fields[19]), fields[0]


def _all_processes() -> dict[int, tuple[int, int, int, str]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                found[int(entry)] = stat
    return found


def _tree(root: int) -> dict[int, int]:
    """pid -> start time of root and every descendant."""
    processes = _all_processes()
    tree = {root: processes[root][2]} if root in processes else {}
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _pgid, start, _state) in processes.items():
            if ppid in tree and pid not in tree:
                tree[pid] = start
                grew = True
    return tree


def _survivors(started: dict[int, int], groups: set[int]) -> list[int]:
    """Processes the stack started that still run (a reused pid is not a survivor), and
    anything left in their process groups (workers started after we looked)."""
    alive = []
    for pid, (_ppid, pgid, start, state) in _all_processes().items():
        if state == "Z":
            continue
        if started.get(pid) == start or (pgid in groups and pid != os.getpid()):
            alive.append(pid)
    return alive


@pytest.fixture
def walkthrough(tmp_path: Path) -> Iterator[Walkthrough]:
    ports = {name: free_port() for name in DEV_PORT_VARS}
    assert not set(ports.values()) & DEFAULT_PORTS
    state_file = tmp_path / "stack.json"
    log_file = tmp_path / "stack.log"
    env = {k: v for k, v in os.environ.items() if k not in DEV_PORT_VARS}
    env.update({name: str(port) for name, port in ports.items()})
    env["STACK_STATE_FILE"] = str(state_file)
    env["API_ACCESS_LOG"] = "0"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local.stack", "up"], cwd=PROJECT_DIR, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    run = Walkthrough(proc, env, ports, state_file, log_file)
    try:
        yield run
    except BaseException:
        sys.stderr.write(run.output()[-5000:])
        raise
    finally:
        # Whatever the test saw fail, leave nothing running.
        for group in {proc.pid, *run.groups}:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait()


def _wait_for_health(run: Walkthrough, timeout: float = 300) -> None:
    try:
        wait_http(f"{run.api}/health", timeout, run.proc)
    except (ServerExitedError, TimeoutError) as error:
        raise AssertionError(f"{error}:\n{run.output()[-3000:]}") from error


def _banner_value(output: str, pattern: str) -> str:
    match = re.search(pattern, output)
    assert match, f"the banner should show {pattern!r}:\n{output[-2000:]}"
    return match.group(1)


def test_a_new_user_can_start_use_and_stop_the_stack(walkthrough: Walkthrough) -> None:
    run = walkthrough
    _wait_for_health(run)
    health = requests.get(f"{run.api}/health", timeout=10)
    assert health.json()["status"] == "ok"

    # The banner lists every URL (on the ports asked for) and the demo credentials.
    deadline = time.monotonic() + 10
    while "demo admin" not in run.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    output = run.output()
    for name, port in run.ports.items():
        assert f"http://127.0.0.1:{port}" in output, name
    admin_email = _banner_value(output, r"demo admin\s+(\S+) /")
    admin_password = _banner_value(output, r"demo admin\s+\S+ / (\S+)")
    shopper_email = _banner_value(output, r"demo shopper\s+(\S+) /")
    shopper_password = _banner_value(output, r"demo shopper\s+\S+ / (\S+)")
    client_id = _banner_value(output, r"app client (\S+)")
    assert admin_email == "admin@example.com" and shopper_email == "shopper@example.com"
    assert json.loads(run.state_file.read_text())["client_id"] == client_id

    # Every service answers on its own non-default port.
    for name in ("SITE_PORT", "SERVER_PORT"):
        response = requests.get(f"http://127.0.0.1:{run.ports[name]}/", timeout=10)
        assert response.status_code < 500, name

    # Sign in as a storefront would: Cognito InitiateAuth (USER_PASSWORD_AUTH) on the emulator.
    cognito = boto3.client("cognito-idp", region_name="us-east-1", endpoint_url=run.emulator,
                           aws_access_key_id="testing", aws_secret_access_key="testing")

    def sign_in(email: str, password: str) -> str:
        result = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                       AuthParameters={"USERNAME": email, "PASSWORD": password})
        return str(result["AuthenticationResult"]["IdToken"])

    shopper_token = sign_in(shopper_email, shopper_password)
    admin_token = sign_in(admin_email, admin_password)
    assert "admin" in jwt.decode(admin_token, options={"verify_signature": False})["cognito:groups"]

    # `make token USER=admin` prints an ID token as the last line of its output. (-o: the
    # test run must not reinstall the virtualenv because a requirements file is newer.)
    made = subprocess.run(["make", "-s", "-o", ".venv/.installed", "token", "USER=admin"], cwd=PROJECT_DIR,
                          env=run.env, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    make_token = made.stdout.strip().splitlines()[-1]
    claims = jwt.decode(make_token, options={"verify_signature": False})
    assert claims["email"] == admin_email and claims["token_use"] == "id"
    assert claims["aud"] == client_id  # from this stack's pool, found through STACK_STATE_FILE

    # A shopper may not create products; the admin's token from `make token` may.
    word = f"walkthrough{uuid.uuid4().hex[:8]}"
    product = {"sku": f"WALK-{uuid.uuid4().hex[:8]}", "name": f"First {word} Product", "category": "tea",
               "price_cents": 1999, "currency": "EUR", "stock": 4}
    refused = requests.post(f"{run.api}/products", json=product, timeout=10,
                            headers={"Authorization": f"Bearer {shopper_token}"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    created = requests.post(f"{run.api}/products", json=product, timeout=10,
                            headers={"Authorization": f"Bearer {make_token}"})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    assert requests.get(urljoin(f"{run.api}/products", created.headers["Location"]),
                        timeout=10).json()["id"] == product_id

    listed = requests.get(f"{run.api}/products", params={"q": word}, timeout=10).json()
    assert [p["id"] for p in listed["items"]] == [product_id]
    in_tea = requests.get(f"{run.api}/products", params={"category": "tea", "limit": 100}, timeout=10).json()
    assert product_id in {p["id"] for p in in_tea["items"]}
    categories = requests.get(f"{run.api}/categories", timeout=10).json()["items"]
    assert {c["slug"]: c["product_count"] for c in categories}["tea"] == len(in_tea["items"])

    # SIGTERM: every process the stack started is gone within 10 s.
    started = _tree(run.proc.pid)
    assert len(started) >= 3, started  # the launcher, the emulator, the API at least
    processes = _all_processes()
    groups = {processes[pid][1] for pid in started if pid in processes}
    run.groups.update(groups)
    signalled = time.monotonic()
    run.proc.send_signal(signal.SIGTERM)
    run.proc.wait(timeout=STOP_DEADLINE_SECONDS)
    while _survivors(started, groups) and time.monotonic() - signalled < STOP_DEADLINE_SECONDS:
        time.sleep(0.1)
    elapsed = time.monotonic() - signalled
    assert _survivors(started, groups) == [], f"still running {elapsed:.1f}s after SIGTERM"
    assert elapsed < STOP_DEADLINE_SECONDS
    for port in run.ports.values():
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/", timeout=2)
