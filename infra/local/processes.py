"""Starting local servers and waiting until they answer HTTP: the one place that does it.

The local stack (:mod:`infra.local.stack`), the test fixtures and the benchmarks all
start children (the emulator, the API, a stack) on free ports (:func:`free_port`) and
must not use them before they answer. :func:`wait_http` polls a URL until it answers below 500, failing early when the
child has exited; :func:`start_server` starts a child and waits for it, stopping it
again if it never answers; :func:`start_emulator` is that for the emulator.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
POLL_SECONDS = 0.1


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServerExitedError(RuntimeError):
    """The child exited before it answered."""


def wait_http(url: str, timeout: float = 60, proc: subprocess.Popen[Any] | None = None) -> None:
    """Return once ``url`` answers with a status below 500.

    Raises :class:`ServerExitedError` as soon as ``proc`` (the server's process, when
    given) has exited, and :class:`TimeoutError` after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerExitedError(f"the process serving {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except urllib.error.HTTPError as error:
            if error.code < 500:
                return
            last = error
        except OSError as error:
            last = error
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s ({last})")


def start_server(argv: list[str], url: str, *, timeout: float = 60, env: Mapping[str, str] | None = None,
                 output: IO[bytes] | int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a process group of its own and return once ``url`` answers.

    ``output`` receives the child's stdout and stderr. If the child exits or never
    answers, its whole group is killed before the error is raised.
    """
    proc = subprocess.Popen(argv, cwd=PROJECT_DIR, env=None if env is None else dict(env), stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(url, timeout, proc)
    except BaseException:
        stop_group(proc)
        raise
    return proc


def emulator_argv(port: int, latency_ms: float = 0.0) -> list[str]:
    """The command that runs the local AWS emulator on 127.0.0.1:``port``."""
    argv = [sys.executable, "-m", "infra.local.emulator", "--port", str(port)]
    return [*argv, "--latency-ms", str(latency_ms)] if latency_ms else argv


def start_emulator(port: int, *, latency_ms: float = 0.0, timeout: float = 60,
                   output: IO[bytes] | int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    """Start the emulator (:mod:`infra.local.emulator`) and return once it answers."""
    return start_server(emulator_argv(port, latency_ms), f"http://127.0.0.1:{port}/moto-api/", timeout=timeout,
                        output=output)


def stop_group(proc: subprocess.Popen[Any], grace: float = 20.0) -> None:
    """SIGTERM the child's process group, SIGKILL it after ``grace`` seconds; always reaps."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
