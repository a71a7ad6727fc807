"""Integer minor units -> exact decimals, per the provider's own idea of a currency's minor unit.

Square states amounts "in the smallest denomination of the currency" following ISO 4217 (JPY has
none: ``1500`` is ¥1500); Stripe mostly agrees but keeps ISK two-decimal and lists its own
zero-decimal set (see :mod:`apps.stripe`). So the exponent is decided where the amount is
read, by the provider, and travels with the work item: the worker never guesses.

The ISO 4217 exponents are the payments domain's (:data:`shared.actions.payments.ISO_EXPONENTS`).
"""

from __future__ import annotations

from decimal import Decimal

from shared.actions.payments import iso_exponent

__all__ = ["iso_exponent", "to_decimal"]


def to_decimal(minor: int, exponent: int) -> Decimal:
    """``(1999, 2)`` -> ``Decimal("19.99")``; ``(1500, 0)`` -> ``Decimal("1500")``. Exact, never a float."""
    return Decimal(minor).scaleb(-exponent)
