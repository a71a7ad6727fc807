"""The start-up check: do the accounts and tax types the settings name exist, active, in the organisation?

A sale booked to an account code Xero does not have is refused (``ValidationException``) - but only
when the first sale comes, and every sale after it lands in the DLQ. Checking the settings against
the organisation first turns that into one clear line before anything is booked: which code is
missing, archived, or of the wrong kind (a deposit account that takes no payments). Two reads -
``GET /Accounts`` and ``GET /TaxRates`` (``accounting.settings.read``).

What is checked, from Xero's ``Account`` and ``TaxRate`` (``xero_accounting.yaml``):

* every account code exists and its ``Status`` is ``ACTIVE`` (``ARCHIVED`` accounts take no new
  transactions);
* a deposit account - where payments go, or refunds come from - is a ``BANK`` account or has
  ``EnablePaymentsToAccount`` (Xero refuses a payment to any other);
* a sales account is of class ``REVENUE`` (a sale booked elsewhere would not show as income);
* every tax type exists with ``Status`` ``ACTIVE`` and ``CanApplyToRevenue`` (Xero refuses a sales
  line with a purchase-only rate).

Called where a flow starts using Xero (the first booking of a worker container, or a doctor-style
check): :func:`check_organisation` returns the problems, :func:`require_organisation` raises
:class:`~shared.errors.ConfigurationError` with all of them; :func:`require_organisation_of` does so
for a flow's action context (pos_to_accounting calls it before its first Xero booking).

Worker path only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ConfigurationError

from .client import XeroClient

if TYPE_CHECKING:
    from shared.actions.base import ActionContext

__all__ = [
    "OrganisationMismatch",
    "Problem",
    "check_organisation",
    "require_organisation",
    "require_organisation_of",
]


@dataclass(frozen=True)
class Problem:
    """One setting the organisation does not match: which, what value, and why."""

    setting: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.setting} {self.value!r}: {self.reason}"


class OrganisationMismatch(ConfigurationError):
    """The settings name accounts or tax types the Xero organisation lacks (or cannot use)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("Xero settings do not match the organisation: " + "; ".join(map(str, problems)))
        self.problems = problems


def check_organisation(
    client: XeroClient,
    *,
    deposit_accounts: Iterable[tuple[str, str]] = (),
    sales_accounts: Iterable[tuple[str, str]] = (),
    tax_types: Iterable[tuple[str, str]] = (),
) -> list[Problem]:
    """What does not match; empty when everything does.

    Each argument is ``(setting name, value)`` pairs, so a problem names the setting to fix
    (``deposit_accounts.square``, ``tax_codes.VAT``) and not just a code.
    """
    deposits, sales, taxes = list(deposit_accounts), list(sales_accounts), list(tax_types)
    problems: list[Problem] = []
    if deposits or sales:
        by_code = {a.Code: a for a in client.accounts() if a.Code}
        for setting, code in deposits + sales:
            account = by_code.get(code)
            if account is None:
                problems.append(Problem(setting, code, "no account has this code"))
            elif account.Status != "ACTIVE":
                problems.append(Problem(setting, code, f"the account is {account.Status or 'not active'}"))
            elif (setting, code) in deposits and not (
                account.Type == "BANK" or account.EnablePaymentsToAccount
            ):
                problems.append(
                    Problem(
                        setting,
                        code,
                        "payments cannot go to this account (not a bank account, payments not enabled)",
                    )
                )
            elif (setting, code) in sales and account.Class != "REVENUE":
                problems.append(Problem(setting, code, f"not a revenue account (class {account.Class})"))
    if taxes:
        by_type = {t.TaxType: t for t in client.tax_rates()}
        for setting, tax_type in taxes:
            rate = by_type.get(tax_type)
            if rate is None:
                problems.append(Problem(setting, tax_type, "no tax rate has this tax type"))
            elif rate.Status != "ACTIVE":
                problems.append(Problem(setting, tax_type, f"the tax rate is {rate.Status or 'not active'}"))
            elif rate.CanApplyToRevenue is False:
                problems.append(Problem(setting, tax_type, "this tax rate cannot be used on sales"))
    return problems


def require_organisation(
    client: XeroClient,
    *,
    deposit_accounts: Iterable[tuple[str, str]] = (),
    sales_accounts: Iterable[tuple[str, str]] = (),
    tax_types: Iterable[tuple[str, str]] = (),
) -> None:
    """:func:`check_organisation`, raising :class:`OrganisationMismatch` with every problem found."""
    problems = check_organisation(
        client, deposit_accounts=deposit_accounts, sales_accounts=sales_accounts, tax_types=tax_types
    )
    if problems:
        raise OrganisationMismatch(problems)


def require_organisation_of(
    ctx: ActionContext,
    *,
    deposit_accounts: Iterable[tuple[str, str]] = (),
    sales_accounts: Iterable[tuple[str, str]] = (),
    tax_types: Iterable[tuple[str, str]] = (),
) -> None:
    """:func:`require_organisation` for a flow: the organisation of the Xero connection ``ctx`` reaches
    (its tenant as the actions find it), so a flow needs no Xero client of its own."""
    from .actions import _client

    require_organisation(
        _client(ctx), deposit_accounts=deposit_accounts, sales_accounts=sales_accounts, tax_types=tax_types
    )
