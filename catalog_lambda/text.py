"""Word splitting shared by indexing and search (one rule, so they always agree)."""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Distinct words in order of first appearance: split on non-alphanumerics, casefolded."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.casefold()):
        seen.setdefault(word, None)
    return list(seen)


def name_key(name: str, product_id: str) -> str:
    """Sort key that orders listings by name, ties broken by id."""
    return f"{name.casefold()[:120]}#{product_id}"
