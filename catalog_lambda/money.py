"""Prices as people read them: integer minor units to "$16.50" (exact, no floats)."""

from __future__ import annotations

# ISO 4217 currencies whose minor unit is not 1/100.
_ZERO_DECIMAL = frozenset({"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX",
                           "UYI", "VND", "VUV", "XAF", "XOF", "XPF"})
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}


def minor_digits(currency: str) -> int:
    if currency in _ZERO_DECIMAL:
        return 0
    return 3 if currency in _THREE_DECIMAL else 2


def decimal_amount(minor_units: int, currency: str) -> str:
    """``1650, "USD"`` -> ``"16.50"`` (schema.org wants a plain decimal, no symbol)."""
    digits = minor_digits(currency)
    sign = "-" if minor_units < 0 else ""
    whole, frac = divmod(abs(minor_units), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def display_price(minor_units: int, currency: str) -> str:
    amount = decimal_amount(minor_units, currency)
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{amount}" if symbol else f"{amount} {currency}"
