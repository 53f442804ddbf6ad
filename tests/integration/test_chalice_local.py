"""``chalice local`` typed at the root, next to a running local stack, with nothing exported.

The process gets only ``PATH``, ``HOME``, ``LOCAL_AWS_PORT`` (the stack's emulator port)
and ``STACK_STATE_FILE`` (where this test's stack wrote its state; ``make dev`` writes
``.local/stack.json``, the default). It serves the contract with local token
verification, and an unknown route with a bearer token is the deployed API's 404
``not_found``, the token never echoed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from infra import package as packaging
from tests.conftest import PROJECT_DIR, LocalStack, free_port


def _env(local_stack: LocalStack, state_file: Path) -> dict[str, str]:
    port = urlparse(local_stack.emulator_url).port
    return {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LOCAL_AWS_PORT": str(port),
            "STACK_STATE_FILE": str(state_file)}


def _call(url: str, token: str | None = None, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="module")
def state_file(local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("chalice-local") / "stack.json"
    path.write_text(json.dumps(local_stack.info))
    return path


@contextlib.contextmanager
def _serving(project_dir: Path, args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """``chalice local --port N ARGS`` in PROJECT_DIR, until it answers /health; stopped after."""
    port = free_port()
    with log.open("wb") as sink:
        proc = subprocess.Popen([packaging.chalice_executable(), "local", "--port", str(port), *args],
                                cwd=project_dir, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"chalice local exited: {log.read_text(errors='replace')[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/health", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(log.read_text(errors="replace")[-3000:]) from None
                time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture(scope="module")
def chalice_local(local_stack: LocalStack, state_file: Path, tmp_path_factory: pytest.TempPathFactory,
                  ) -> Iterator[str]:
    # No autoreload here: Chalice's reloader restarts its worker whenever any file under the
    # project changes, and other tests of the same run write there (logs, caches, bytecode).
    log = tmp_path_factory.mktemp("chalice-local-log") / "chalice.log"
    with _serving(PROJECT_DIR, ["--no-autoreload"], _env(local_stack, state_file), log) as url:
        yield url


def _copy_tracked_files(destination: Path) -> None:
    """The repository's tracked files as they are now (links kept as links)."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_DIR, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source, target = PROJECT_DIR / name, destination / name
        if not source.is_symlink() and not source.exists():
            continue  # deleted in the work tree, not yet committed
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        else:
            shutil.copy2(source, target)


def test_the_literal_command_with_autoreload_serves_the_contract(local_stack: LocalStack, state_file: Path,
                                                                 tmp_path: Path) -> None:
    """``chalice local`` exactly as typed: its autoreload worker loads the app in a server
    thread, where click has no current context. Run in a quiet copy of the tree, so that
    no other test's writes make the reloader restart it mid-test."""
    project = tmp_path / "store"
    _copy_tracked_files(project)
    env = {**_env(local_stack, state_file), "PYTHONDONTWRITEBYTECODE": "1"}
    with _serving(project, [], env, tmp_path / "chalice.log") as url:
        assert _call(f"{url}/products?limit=1")[0] == 200
        token = local_stack.token("shopper")
        assert _call(f"{url}/orders", token)[0] == 200
        status, body = _call(f"{url}/no/such/route", token)
        assert (status, body["error"]["code"]) == (404, "not_found")
        assert token not in json.dumps(body)


def test_chalice_local_serves_the_catalog_from_the_running_stack(chalice_local: str) -> None:
    status, body = _call(f"{chalice_local}/products?limit=2")
    assert status == 200
    assert len(body["items"]) == 2


def test_chalice_local_verifies_tokens_against_the_emulators_cognito(chalice_local: str,
                                                                      local_stack: LocalStack) -> None:
    shopper = local_stack.token("shopper")
    assert _call(f"{chalice_local}/orders", shopper)[0] == 200
    assert _call(f"{chalice_local}/orders")[0] == 401
    assert _call(f"{chalice_local}/orders", shopper[:-4] + "AAAA")[0] == 401
    status, body = _call(f"{chalice_local}/products", shopper, "POST", {"sku": "x"})
    assert (status, body["error"]["code"]) == (403, "forbidden")


def test_an_unknown_route_with_a_bearer_token_is_the_contracts_404(chalice_local: str,
                                                                   local_stack: LocalStack) -> None:
    token = local_stack.token("admin")
    status, body = _call(f"{chalice_local}/no/such/route", token)
    assert status == 404
    assert body["error"]["code"] == "not_found"
    assert token not in json.dumps(body)
    assert _call(f"{chalice_local}/no/such/route")[0] == 404


def test_without_a_running_stack_chalice_local_says_what_to_do(local_stack: LocalStack, state_file: Path) -> None:
    env = {**_env(local_stack, state_file), "LOCAL_AWS_PORT": str(free_port())}
    result = subprocess.run([packaging.chalice_executable(), "local", "--port", str(free_port()), "--no-autoreload"],
                            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "make dev" in result.stderr
