"""Before the first Xero booking: do the settings' account codes and tax types exist in the organisation?

A sale booked to an account code the organisation lacks is refused only when it comes - and so is
every sale after it, each to the DLQ. So the worker asks :func:`apps.xero.setup.require_organisation_of`
once per container (and settings) before it books anything in Xero: a wrong ``xero.sales_account``,
a deposit account that takes no payments, an archived or purchase-only tax type is one
:class:`~apps.xero.setup.OrganisationMismatch` naming each setting (``xero.deposit_accounts.square
'099': no account has this code``) - a configuration error, retried (the operator fixes the settings)
and dead-lettered with that reason if nobody does, before any sale was booked with the wrong code.

A check that passed is remembered for the container's life (two reads, ``GET /Accounts`` and ``GET
/TaxRates``, per container); one that failed is asked again on the next event. Item codes are not
checked here: Xero names an unknown one in its refusal of the line, and items are optional.

Worker path only.
"""

from __future__ import annotations

import threading
from typing import Final

from shared.worker import WorkContext

from .models import Settings

__all__ = ["forget", "organisation_settings", "require_xero_organisation"]

_lock: Final = threading.Lock()
#: The Xero mappings (as JSON) this container has found the organisation to match.
_checked: set[str] = set()


def organisation_settings(
    settings: Settings,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """``(deposit accounts, sales accounts, tax types)`` as ``(setting, value)`` pairs to check."""
    xero = settings.xero
    if xero is None:
        return [], [], []
    deposits = [(f"xero.deposit_accounts.{p}", code) for p, code in sorted(xero.deposit_accounts.items())]
    sales = [("xero.sales_account", xero.sales_account)]
    taxes = [(f"xero.tax_types.{name}", tax) for name, tax in sorted(xero.tax_types.items())]
    if xero.untaxed_tax_type:
        taxes.append(("xero.untaxed_tax_type", xero.untaxed_tax_type))
    if xero.stripe_tax:
        taxes.append(("xero.stripe_tax.tax_type", xero.stripe_tax.tax_type))
    return deposits, sales, taxes


def require_xero_organisation(ctx: WorkContext, settings: Settings) -> None:
    """Raise :class:`~apps.xero.setup.OrganisationMismatch` if the Xero mapping does not match."""
    from apps.xero.setup import require_organisation_of

    if settings.xero is None:
        return
    marker = settings.xero.model_dump_json()
    with _lock:
        if marker in _checked:
            return
    deposits, sales, taxes = organisation_settings(settings)
    require_organisation_of(ctx, deposit_accounts=deposits, sales_accounts=sales, tax_types=taxes)
    ctx.logger.info("Xero settings match the organisation", extra={"checked": len(deposits + sales + taxes)})
    with _lock:
        _checked.add(marker)


def forget() -> None:
    """Forget every check (tests: a new container)."""
    with _lock:
        _checked.clear()
