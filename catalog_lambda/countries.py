"""Assigned ISO 3166-1 alpha-2 country codes, from the pinned ``iso3166`` package.

``iso3166`` also lists ``XK`` (Kosovo), a user-assigned code that ISO has not
assigned: codes in ISO's user-assigned ranges (``AA``, ``QM``-``QZ``, ``XA``-``XZ``,
``ZZ``) are refused here, leaving the 249 officially assigned codes.
"""

from __future__ import annotations

from functools import lru_cache


def _user_assigned(code: str) -> bool:
    return code == "AA" or code == "ZZ" or code[0] == "X" or (code[0] == "Q" and code[1] >= "M")


@lru_cache(maxsize=1)
def assigned_codes() -> frozenset[str]:
    import iso3166

    return frozenset(code for code in iso3166.countries_by_alpha2 if not _user_assigned(code))


def is_assigned(code: str) -> bool:
    return code in assigned_codes()
