"""The checkout's Country select offers exactly the codes the API accepts."""

from __future__ import annotations

import re
from pathlib import Path

from catalog_lambda.countries import assigned_codes

COUNTRIES_JS = Path(__file__).resolve().parents[2] / "site" / "static" / "js" / "countries.js"


def test_storefront_countries_are_the_assigned_iso_codes() -> None:
    text = COUNTRIES_JS.read_text(encoding="utf-8")
    body = text[text.index("export const COUNTRIES = {"):text.index("};")]
    codes = re.findall(r"^  ([A-Z]{2}): ", body, re.M)
    assert len(codes) == len(set(codes))
    assert set(codes) == set(assigned_codes())
