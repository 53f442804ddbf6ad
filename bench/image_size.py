"""The container image's size (a section of ``bench/results.md``), built as ``make image-test`` builds it:
buildah on the debootstrap Debian base (``infra.local.image``). Needs root, as buildah's storage does."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from infra.local.image import ImageTools


@dataclass(frozen=True)
class ImageSize:
    layers: list[int]  # uncompressed, base layers first
    base_layers: int

    @property
    def total(self) -> int:
        return sum(self.layers)

    @property
    def app(self) -> int:
        return sum(self.layers[self.base_layers:])


def measure() -> ImageSize | str:
    """The image's layer sizes, or why they were not measured."""
    if os.geteuid() != 0:
        return "not measured: buildah's storage needs root (run `make bench` as root, as CI does)"
    tools = ImageTools()
    tools.ensure_installed()
    base = tools.ensure_base()
    tag = f"localhost/store-site-server:bench-{uuid.uuid4().hex[:8]}"
    tools.build(tag, base)
    try:
        return ImageSize(tools.layer_sizes(tag), len(tools.layer_sizes(base)))
    finally:
        tools.remove(tag)


def section(result: ImageSize | str) -> list[str]:
    lines = ["## Container image", ""]
    if isinstance(result, str):
        return [*lines, result, ""]
    mb = 1024 * 1024
    return [
        *lines,
        "`site/server/Dockerfile` built with buildah (`--isolation chroot`, vfs) on the local "
        "`debootstrap --variant=minbase` bookworm base with python3, for this machine's architecture "
        "(the deployed image is linux/arm64, of about the same size). Sizes are uncompressed layers; a "
        "registry stores them gzipped.",
        "",
        "| image | size |",
        "| --- | --- |",
        f"| whole image | **{result.total / mb:.0f} MB** ({len(result.layers)} layers) |",
        f"| of which the base (Debian minbase + python3) | {(result.total - result.app) / mb:.0f} MB |",
        f"| of which the app (venv with its dependencies, code) | {result.app / mb:.0f} MB |",
        "",
    ]
