"""Build and run the container image with no daemon and no image registry (``make image-test``).

- **Base**: ``debootstrap --variant=minbase`` of Debian bookworm with python3, imported
  into buildah's storage as ``localhost/store-base:<recipe hash>``; the Dockerfile's
  ``PYTHON_IMAGE`` argument takes it. Made once and cached under ``.cache/image/``
  (gitignored), so later runs skip the two minutes debootstrap takes.
- **Build**: ``buildah bud --isolation chroot`` with the vfs storage driver (no
  overlay, no daemon, no user namespaces needed), from ``site/server/Dockerfile``. A CA
  bundle for a TLS-intercepting proxy goes in as the build secret ``ca_bundle``
  (``IMAGE_CA_BUNDLE``, default: the bundle ``SSL_CERT_FILE`` or ``PIP_CERT`` names), never
  into a layer.
- **Run**: as ECS Fargate runs it: the image's user, command, working directory and
  environment, a **read-only root filesystem**, ``/tmp`` a root-owned directory the user
  cannot write (Fargate's bind mount), ``/dev/shm`` a fresh tmpfs, and the settings in
  the process environment. It is a chroot in new mount and PID namespaces (util-linux's
  ``unshare``), on the host's network so the emulator on 127.0.0.1 is reachable;
  gunicorn gets ``GUNICORN_CMD_ARGS=--bind 127.0.0.1:<port>`` so nothing listens beyond
  loopback. It needs root, as buildah's storage does.

Every command is printed before it runs. ``ImageTools.ensure_installed()`` installs
buildah and debootstrap with apt-get when missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parents[2]
CACHE_DIR = PROJECT_DIR / ".cache" / "image"
DOCKERFILE = PROJECT_DIR / "site" / "server" / "Dockerfile"
IGNOREFILE = PROJECT_DIR / "site" / "server" / "Dockerfile.dockerignore"
SUITE = "bookworm"
# Only what the Dockerfile needs beyond minbase: python3 (3.11), venv for the build
# stage, and the public CA roots the app needs to reach AWS over HTTPS.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Dropped from the base: nothing in the image reads them.
BASE_EXCLUDES = ("./var/cache/apt/archives", "./var/lib/apt/lists", "./usr/share/doc", "./usr/share/man",
                 "./usr/share/locale", "./usr/share/info")
ENV_MIRROR = "DEBIAN_MIRROR"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ENV_CA_BUNDLE = "IMAGE_CA_BUNDLE"
APT_PACKAGES = {"buildah": "buildah", "debootstrap": "debootstrap", "unshare": "util-linux"}


class ImageError(RuntimeError):
    """A build or run step failed; the message holds the command and its output's tail."""


def _run(argv: list[str], *, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    print("+", " ".join(argv), file=sys.stderr, flush=True)
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        tail = (done.stdout + done.stderr)[-4000:]
        raise ImageError(f"{' '.join(argv[:4])} ... exited with {done.returncode}:\n{tail}")
    if not quiet and done.stderr:
        print(done.stderr[-2000:], file=sys.stderr, flush=True)
    return done


def ca_bundle() -> Path | None:
    for name in (ENV_CA_BUNDLE, "PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"):
        value = os.environ.get(name, "")
        if value and Path(value).is_file():
            return Path(value)
    return None


@dataclass(frozen=True)
class ImageTools:
    cache_dir: Path = CACHE_DIR

    @staticmethod
    def ensure_installed() -> None:
        missing = [package for tool, package in APT_PACKAGES.items() if shutil.which(tool) is None]
        if not missing:
            return
        if os.geteuid() != 0:
            raise ImageError(f"missing {', '.join(missing)}: install them (apt-get install {' '.join(missing)})")
        env_apt = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
        _run([*env_apt, "update", "-qq"], quiet=True)
        _run([*env_apt, "install", "-y", "-qq", "--no-install-recommends", *missing], quiet=True)

    def buildah(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        storage = ["--root", str(self.cache_dir / "storage"), "--runroot", str(self.cache_dir / "run"),
                   "--storage-driver", "vfs"]
        return _run(["buildah", *storage, *args], check=check)

    # --- base -----------------------------------------------------------------------

    @staticmethod
    def base_tag() -> str:
        recipe = json.dumps([SUITE, "minbase", BASE_PACKAGES, BASE_EXCLUDES])
        return f"localhost/store-base:{SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"

    def has_image(self, name: str) -> bool:
        return self.buildah("inspect", "--type", "image", name, check=False).returncode == 0

    def ensure_base(self) -> str:
        tag = self.base_tag()
        if self.has_image(tag):
            return tag
        rootfs = self.cache_dir / "rootfs"
        archive = self.cache_dir / "base.tar"
        shutil.rmtree(rootfs, ignore_errors=True)
        mirror = os.environ.get(ENV_MIRROR, DEFAULT_MIRROR)
        _run(["debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", SUITE, str(rootfs),
              mirror], quiet=True)
        _run(["tar", "-C", str(rootfs), *[f"--exclude={path}" for path in BASE_EXCLUDES], "-cf", str(archive), "."])
        container = self.buildah("from", "scratch").stdout.strip()
        try:
            self.buildah("add", container, str(archive), "/")
            self.buildah("config", "--cmd", "/usr/bin/python3", container)
            self.buildah("commit", "--rm", container, tag)
        finally:
            self.buildah("rm", container, check=False)
            archive.unlink(missing_ok=True)
            shutil.rmtree(rootfs, ignore_errors=True)
        return tag

    # --- the image ----------------------------------------------------------------------

    def build(self, tag: str, base: str) -> None:
        args = ["bud", "--isolation", "chroot", "--format", "docker", "--layers=false", "--pull=never",
                "-f", str(DOCKERFILE), "--ignorefile", str(IGNOREFILE), "--build-arg", f"PYTHON_IMAGE={base}",
                "-t", tag]
        bundle = ca_bundle()
        if bundle is not None:
            args += ["--secret", f"id=ca_bundle,src={bundle}"]
        self.buildah(*args, str(PROJECT_DIR))

    def config(self, tag: str) -> dict[str, Any]:
        """The image's OCI config: ``User``, ``Env``, ``Cmd``, ``WorkingDir``, ..."""
        inspected = json.loads(self.buildah("inspect", "--type", "image", tag).stdout)
        return dict(inspected["OCIv1"]["config"])

    def layer_sizes(self, tag: str) -> list[int]:
        """Each layer's size in bytes, uncompressed (the tar a registry would gzip), base layers first."""
        manifest = json.loads(json.loads(self.buildah("inspect", "--type", "image", tag).stdout)["Manifest"])
        return [int(layer["size"]) for layer in manifest["layers"]]

    def remove(self, tag: str) -> None:
        self.buildah("rmi", "--force", tag, check=False)

    @contextmanager
    def rootfs(self, tag: str) -> Iterator[Path]:
        """A working container's root filesystem, mounted (on the host) while the block runs."""
        container = self.buildah("from", "--pull-never", tag).stdout.strip()
        try:
            yield Path(self.buildah("mount", container).stdout.strip())
        finally:
            self.buildah("umount", container, check=False)
            self.buildah("rm", container, check=False)


def fargate_argv(rootfs: Path, config: Mapping[str, Any], settings: Mapping[str, str],
                 command: list[str] | None = None, scratch_tmp: Path | None = None) -> list[str]:
    """argv that runs the image's command (or ``command``) the way a Fargate task does.

    Read-only root, ``/tmp`` bound to ``scratch_tmp`` (root-owned, mode 755: Fargate's mount
    is not the user's), a private tmpfs on ``/dev/shm``, ``/proc``; then a chroot as the
    image's ``User``, in its ``WorkingDir``, with exactly the image's ``Env`` plus ``settings``.
    """
    user = str(config.get("User") or "0:0")
    env = dict(entry.split("=", 1) for entry in config.get("Env") or [])
    env.update(settings)
    argv = command or [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    workdir = str(config.get("WorkingDir") or "/")
    mounts = "\n".join([
        'mount --bind "$R" "$R"', 'mount -o remount,bind,ro "$R"',
        'mount --rbind /dev "$R/dev"', 'mount -t tmpfs -o mode=1777,size=64m,nosuid,nodev tmpfs "$R/dev/shm"',
        'mount -t proc proc "$R/proc"',
        *(['mount --bind "$T" "$R/tmp"'] if scratch_tmp is not None else []),
        'cd "$R"',
        f'exec chroot --userspec={user} "$R" /usr/bin/env -i -C {workdir} "$@"',
    ])
    return ["unshare", "--mount", "--pid", "--fork", "--kill-child=SIGTERM", "--propagation", "private",
            "env", f"R={rootfs}", f"T={scratch_tmp or ''}", "sh", "-ec", mounts, "fargate",
            *[f"{key}={value}" for key, value in sorted(env.items())], *argv]
