"""The container image, built and run as ECS runs it (``make image-test``; part of ``make test``).

Built daemonless by Debian's buildah (``--isolation chroot``, vfs storage) from
``site/server/Dockerfile`` on a Debian bookworm base made locally by debootstrap (no
image registry is reachable), then run (``infra.local.image.fargate_argv``) as its own
non-root user with a read-only root filesystem, a root-owned ``/tmp`` and every setting
in the process environment, against the emulator on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.local.image import ImageTools, fargate_argv
from infra.local.processes import ServerExitedError, wait_http
from infra.local.stack import emulator_env, image_command, stop_process

PROJECT_DIR = Path(__file__).resolve().parents[2]
STAGE = "imagetest"
PUBLIC_BASE_URL = "https://shop.example.test"
SITEMAP_NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
START_TIMEOUT_SECONDS = 60.0

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0,
                       reason="buildah's storage and the read-only run need root on Linux"),
    # A fresh machine makes the base first (debootstrap, about 2 minutes) and then builds.
    pytest.mark.timeout(1200),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    try:
        wait_http(url, START_TIMEOUT_SECONDS, proc)
    except (ServerExitedError, TimeoutError) as error:
        raise AssertionError(f"{error}:\n{log.read_text()[-3000:]}") from error


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole process group: gunicorn runs under a changed uid, so unshare's
    parent-death signal never reaches it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        proc.wait()


@dataclass(frozen=True)
class Built:
    tools: ImageTools
    tag: str
    config: dict[str, Any]
    rootfs: Path


@pytest.fixture(scope="module")
def image() -> Iterator[Built]:
    tools = ImageTools()
    tools.ensure_installed()
    base = tools.ensure_base()
    tag = f"localhost/store-site-server:test-{uuid.uuid4().hex[:8]}"
    tools.build(tag, base)
    try:
        with tools.rootfs(tag) as rootfs:
            yield Built(tools, tag, tools.config(tag), rootfs)
    finally:
        tools.remove(tag)


@dataclass(frozen=True)
class Emulator:
    url: str
    settings: dict[str, str]
    product: dict[str, Any]


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local.emulator", "--port", str(port)], cwd=PROJECT_DIR,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(f"{url}/moto-api/", proc, log)
        os.environ.update(emulator_env(url))
        from catalog_lambda.services import catalog_service
        from catalog_lambda.settings import Settings
        from infra.local import bootstrap
        from infra.local.stack import server_environment

        secret = bootstrap.ensure_cursor_secret(url, STAGE)
        settings = Settings(stage=STAGE, region="us-east-1", endpoint_url=url, cursor_secret_name=secret)
        bootstrap.create_tables(settings)
        service = catalog_service(settings)
        service.create_category("tea", "Tea")
        product = service.create_product({
            "sku": "IMG-TEST-1", "name": "Image Test Sencha", "category": "tea", "price_cents": 1250,
            "currency": "USD", "description": "Proven in the image.", "stock": 3})
        yield Emulator(url, {**emulator_env(url), **server_environment(STAGE, PUBLIC_BASE_URL, secret)}, product)
    finally:
        stop_process(proc)


@pytest.fixture
def scratch_tmp(tmp_path: Path) -> Path:
    """Stands for Fargate's /tmp mount: owned by root, not writable by the image's user."""
    path = tmp_path / "fargate-tmp"
    path.mkdir(mode=0o755)
    return path


def test_image_is_configured_as_ecs_needs_it(image: Built) -> None:
    config = image.config
    assert config["User"] == "10001:10001"
    assert config["Cmd"] == image_command(), "the image's command is the Dockerfile's whole CMD"
    assert not config.get("Entrypoint")
    assert config["Cmd"][0] == "gunicorn" and "--bind" not in config["Cmd"], "it listens on $PORT"
    cmd = config["Cmd"]
    assert cmd[cmd.index("--worker-tmp-dir") + 1] == "/dev/shm", "the root filesystem is read-only on ECS"
    env = dict(entry.split("=", 1) for entry in config["Env"])
    assert env["PORT"] == "8080"
    assert not {"PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"} & set(env), "no build-time CA setting kept"
    assert not (image.rootfs / "run" / "secrets" / "ca_bundle").exists()
    assert (image.rootfs / "app" / "storefront_server" / "app.py").stat().st_uid == 0, "code owned by root"


def test_serves_pages_as_its_user_on_a_read_only_root(
    image: Built, emulator: Emulator, scratch_tmp: Path, tmp_path: Path
) -> None:
    port = _free_port()
    settings = {**emulator.settings, "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}"}
    log = tmp_path / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(fargate_argv(image.rootfs, image.config, settings, scratch_tmp=scratch_tmp),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(f"{base}/healthz", proc, log)
        status, _, body = _get(f"{base}/healthz")
        assert (status, json.loads(body)) == (200, {"status": "ok"})

        product = emulator.product
        status, headers, body = _get(f"{base}/p/{product['id']}")
        assert status == 200, body[-500:]
        assert headers["Content-Type"].startswith("text/html")
        [block] = re.findall(rb'<script type="application/ld\+json">(.*?)</script>', body, re.S)
        data = json.loads(block)
        url = f"{PUBLIC_BASE_URL}/p/{product['id']}"
        assert (data["@type"], data["name"], data["url"]) == ("Product", "Image Test Sencha", url)
        assert data["offers"]["price"] == "12.50"

        status, _, body = _get(f"{base}/sitemap.xml")
        assert status == 200
        locs = [loc.text for loc in ET.fromstring(body).iter(f"{SITEMAP_NS}loc")]
        assert url in locs
        assert all(loc and loc.startswith(PUBLIC_BASE_URL + "/") for loc in locs)
    finally:
        _stop(proc)
    access = log.read_text()
    assert f"/p/{product['id']}" in access, "gunicorn's access log goes to stdout"


def test_the_root_filesystem_is_really_read_only_for_it(image: Built, scratch_tmp: Path) -> None:
    probe = ["sh", "-c", "id -u; for p in /app/x /x /tmp/x /dev/shm/x; do "
                         "if touch $p 2>/dev/null; then echo writable $p; else echo refused $p; fi; done"]
    done = subprocess.run(fargate_argv(image.rootfs, image.config, {}, command=probe, scratch_tmp=scratch_tmp),
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["10001", "refused", "/app/x", "refused", "/x", "refused", "/tmp/x",
                                   "writable", "/dev/shm/x"]


def test_refuses_to_start_without_its_settings(image: Built, scratch_tmp: Path) -> None:
    port = _free_port()
    done = subprocess.run(
        fargate_argv(image.rootfs, image.config, {"GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port}"},
                     scratch_tmp=scratch_tmp),
        capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode != 0
    output = done.stdout + done.stderr
    for name in ("PUBLIC_BASE_URL", "PRODUCTS_TABLE", "AWS_REGION", "CURSOR_SECRET_NAME"):
        assert name in output, output[-2000:]
