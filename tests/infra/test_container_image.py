"""site/server/Dockerfile, read as data (no Docker engine here): multi-stage, slim base,
runs as a non-root user, has a HEALTHCHECK on /healthz, and runs the same gunicorn app
the local stack runs; everything it copies exists and every requirement is pinned."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "site" / "server" / "Dockerfile"


def instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def test_is_multi_stage_on_a_slim_base() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2
    args = dict(rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest)
    for stage in all_stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        assert "slim" in image or "distroless" in image, image
    final = all_stages[-1]
    assert any(k == "COPY" and rest.startswith("--from=") for k, rest in final), "the final stage copies the build"
    assert not any(k == "RUN" and "pip install" in rest for k, rest in final), "no installs in the final stage"


def test_final_stage_runs_as_a_non_root_user() -> None:
    final = stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")


def test_has_a_healthcheck_on_healthz() -> None:
    final = stages()[-1]
    checks = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "CMD" in checks[0] and "/healthz" in checks[0]
    assert re.search(r"--timeout=\d+s", checks[0]) and re.search(r"--interval=\d+s", checks[0])


def test_runs_the_app_under_gunicorn_like_the_local_stack() -> None:
    import json

    final = stages()[-1]
    [cmd] = [rest for keyword, rest in final if keyword == "CMD"]
    argv = json.loads(cmd)  # exec form: signals reach gunicorn directly
    assert argv[0] == "gunicorn"
    assert argv[-1] == "storefront_server.app:create_app()"
    assert "--no-control-socket" in argv
    assert "--bind" not in argv, "gunicorn binds 0.0.0.0:$PORT itself"
    assert argv[argv.index("--worker-tmp-dir") + 1] == "/dev/shm", "ECS gives a read-only root"
    from infra.local.stack import image_command

    assert image_command() == argv, "the local stack runs the image's own command"
    env = [rest for keyword, rest in final if keyword == "ENV"]
    assert any(re.search(r"\bPORT=8080\b", rest) for rest in env)


def test_takes_a_ca_bundle_only_as_a_build_secret() -> None:
    text = DOCKERFILE.read_text()
    assert "--mount=type=secret,id=ca_bundle" in text
    for keyword, rest in instructions():
        if keyword in ("COPY", "ADD", "ENV"):
            assert "ca_bundle" not in rest and "PIP_CERT" not in rest and ".crt" not in rest, rest


def test_copies_only_what_exists_and_pins_every_requirement() -> None:
    for keyword, rest in instructions():
        if keyword == "COPY" and not rest.startswith("--from="):
            sources = shlex.split(rest)[:-1]
            for source in sources:
                assert (ROOT / source).exists(), source
    for requirements in (ROOT / "requirements.txt", ROOT / "site" / "server" / "requirements.txt"):
        for line in requirements.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                assert re.fullmatch(r"[A-Za-z0-9_.\-\[\],]+==[0-9][A-Za-z0-9.]*", line), line
    ignore = (ROOT / "site" / "server" / "Dockerfile.dockerignore").read_text().splitlines()
    assert next(line for line in ignore if not line.startswith("#")) == "*"
