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


# A DynamoDB sort key holds at most 1,024 bytes, and casefolding can make a 200-character
# name's word 1,000 bytes long: the search index keeps words cut to this many characters
# (at most 4 bytes each); search re-checks whole words against the name.
MAX_INDEXED_CHARS = 128


def index_words(text: str) -> list[str]:
    """The distinct words a name is indexed under: its words cut to MAX_INDEXED_CHARS."""
    return list(dict.fromkeys(word[:MAX_INDEXED_CHARS] for word in words(text)))


def name_key(name: str, product_id: str) -> str:
    """Sort key that orders listings by name, ties broken by id."""
    return f"{name.casefold()[:120]}#{product_id}"
