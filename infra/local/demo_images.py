"""Demo product images, drawn at seed time without network access: a PNG per product.

A pure-Python PNG writer (zlib from the standard library): a soft two-colour
gradient in the category's colours with a disc whose size and place vary per product,
so each demo product looks distinct and no page shows a broken image.
"""

from __future__ import annotations

import struct
import zlib

WIDTH, HEIGHT = 480, 360  # 4:3, the shape of the storefront's image boxes

# Category slug -> (top colour, bottom colour, disc colour).
PALETTES: dict[str, tuple[tuple[int, int, int], tuple[int, int, int], tuple[int, int, int]]] = {
    "coffee": ((122, 75, 48), (224, 187, 150), (62, 36, 22)),
    "tea": ((94, 140, 84), (222, 236, 196), (48, 92, 52)),
    "kitchen": ((70, 110, 150), (210, 226, 240), (230, 160, 60)),
    "books": ((140, 60, 70), (240, 214, 200), (250, 244, 230)),
    "apparel": ((60, 60, 90), (200, 200, 230), (240, 120, 110)),
    "outdoor": ((40, 100, 110), (200, 232, 220), (245, 200, 80)),
}
DEFAULT_PALETTE = ((90, 90, 90), (220, 220, 220), (40, 40, 40))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int, height: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG from ``height`` rows of ``width * 3`` bytes."""
    raw = b"".join(b"\x00" + row for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(
        b"IEND", b"")


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> bytes:
    return bytes(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def product_image(category: str, index: int, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """The demo image of the category's ``index``-th product (deterministic)."""
    top, bottom, disc = PALETTES.get(category, DEFAULT_PALETTE)
    radius = height * (0.2 + 0.04 * (index % 4))
    cx = width * (0.3 + 0.1 * (index % 5))
    cy = height * (0.42 + 0.05 * (index % 4))
    disc_px = bytes(disc)
    rows = []
    for y in range(height):
        row = bytearray(_mix(top, bottom, y / (height - 1)) * width)
        dy = y + 0.5 - cy
        if abs(dy) < radius:
            half = (radius * radius - dy * dy) ** 0.5
            start, end = max(0, round(cx - half)), min(width, round(cx + half))
            if end > start:
                row[start * 3:end * 3] = disc_px * (end - start)
        rows.append(bytes(row))
    return png(width, height, rows)
