"""The start-up check: the settings' accounts and tax types against the organisation's, one line each."""

from __future__ import annotations

import pytest

from apps.xero.setup import OrganisationMismatch, Problem, check_organisation, require_organisation
from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxRequest
from shared.errors import ConfigurationError

from .support import client


@pytest.fixture
def books() -> XeroSandbox:
    return XeroSandbox(limits=False)


def test_settings_that_match_the_organisation_pass(books: XeroSandbox) -> None:
    xero = client(books)
    assert not check_organisation(
        xero,
        deposit_accounts=[("deposit_accounts.square", "091"), ("deposit_accounts.stripe", "092")],
        sales_accounts=[("sales_account", "200")],
        tax_types=[("tax_codes.VAT", "OUTPUT2"), ("untaxed_tax_code", "ZERORATEDOUTPUT")],
    )
    require_organisation(xero, deposit_accounts=[("deposit_accounts.square", "091")])


def test_every_mismatch_is_named_by_its_setting(books: XeroSandbox) -> None:
    problems = check_organisation(
        client(books),
        deposit_accounts=[("deposit_accounts.square", "36"), ("deposit_accounts.stripe", "200")],
        sales_accounts=[("sales_account", "270"), ("tip_account", "610")],
        tax_types=[("tax_codes.VAT", "OUTPUT"), ("stripe_tax", "INPUT2"), ("untaxed", "4")],
    )
    assert problems == [
        Problem("deposit_accounts.square", "36", "no account has this code"),
        Problem(
            "deposit_accounts.stripe",
            "200",
            "payments cannot go to this account (not a bank account, payments not enabled)",
        ),
        Problem("sales_account", "270", "the account is ARCHIVED"),
        Problem("tip_account", "610", "not a revenue account (class ASSET)"),
        Problem("tax_codes.VAT", "OUTPUT", "the tax rate is ARCHIVED"),
        Problem("stripe_tax", "INPUT2", "this tax rate cannot be used on sales"),
        Problem("untaxed", "4", "no tax rate has this tax type"),
    ]
    with pytest.raises(OrganisationMismatch, match=r"deposit_accounts\.square '36': no account") as caught:
        require_organisation(client(books), deposit_accounts=[("deposit_accounts.square", "36")])
    assert isinstance(caught.value, ConfigurationError) and len(caught.value.problems) == 1


def test_the_check_reads_only_what_it_needs(books: XeroSandbox) -> None:
    check_organisation(client(books), tax_types=[("t", "NONE")])
    log = books.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"]
    paths = [r["path"] for r in log if r["path"].startswith("/api.xro")]
    assert paths == ["/api.xro/2.0/TaxRates"]
