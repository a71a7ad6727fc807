"""Integer minor units -> exact decimals, per the provider's own idea of a currency's minor unit.

Square states amounts "in the smallest denomination of the currency" following ISO 4217 (JPY has
none: ``1500`` is ¥1500); Stripe mostly agrees but keeps ISK two-decimal and lists its own
zero-decimal set (see :mod:`apps.stripe`). So the exponent is decided where the amount is
read, by the provider, and travels with the work item: the worker never guesses.

ISO 4217 exponents other than 2 (the currencies Square or a till could plausibly see), from the ISO
4217 list of codes (SIX, "Current currency & funds code list", column "Minor unit").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

__all__ = ["ISO_EXPONENTS", "iso_exponent", "to_decimal"]

ISO_EXPONENTS: Final = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}


def iso_exponent(currency: str) -> int:
    """Digits after the point of ``currency`` (ISO 4217 code, any case); 2 for the rest."""
    return ISO_EXPONENTS.get(currency.upper(), 2)


def to_decimal(minor: int, exponent: int) -> Decimal:
    """``(1999, 2)`` -> ``Decimal("19.99")``; ``(1500, 0)`` -> ``Decimal("1500")``. Exact, never a float."""
    return Decimal(minor).scaleb(-exponent)
