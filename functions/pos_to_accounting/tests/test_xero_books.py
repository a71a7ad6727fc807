"""pos_to_accounting booking into Xero (``accounting_app: "xero"``): settings, documents, the start-up check.

Through the production handler on moto, the Xero stand-in as the books: what each sale and refund
becomes is read back from the stand-in's documents (invoices, credit notes, payments).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from apps.xero.standin import XeroSandbox
from functions.pos_to_accounting import xero_check
from functions.pos_to_accounting.models import Settings
from infra.local.runtime import merged_settings
from infra.local.samples import EVENTS_DIR, Sample, SampleError, load_sample, load_samples
from sandbox.base import SandboxApp
from shared.registry import load_spec
from shared.runtime import Runtime
from tests.support import dlq_messages, drain, send_sample

SPEC = load_spec("pos_to_accounting")
FOLDER = EVENTS_DIR / "pos_to_accounting"
LOCAL = json.loads((Path(__file__).parents[1] / "settings.local.json").read_text())
XERO_SAMPLES = [s for s in load_samples(SPEC) if s.settings.get("accounting_app") == "xero"]


def sample(name: str) -> Sample:
    return load_sample(FOLDER / f"{name}.json", SPEC)


def xero_settings(**xero: Any) -> dict[str, Any]:
    return {**LOCAL, "accounting_app": "xero", "xero": {**LOCAL["xero"], **xero}}


@pytest.fixture(autouse=True)
def _new_container() -> None:
    xero_check.forget()


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> XeroSandbox:
    app = sandboxes["xero"]
    assert isinstance(app, XeroSandbox)
    return app


def runtime(make_runtime: Any, settings: dict[str, Any]) -> Runtime:
    rt: Runtime = make_runtime("pos_to_accounting", retry_scale=0, settings_json=json.dumps(settings))
    return rt


def documents(books: XeroSandbox, kind: str) -> list[dict[str, Any]]:
    with books.lock:
        return [d.body for d in books.documents.values() if d.kind == kind]


def lines(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (li.get("ItemCode"), li["AccountCode"], li["LineAmount"], li["TaxType"], li["TaxAmount"])
        for li in doc["LineItems"]
    ]


# --- settings ------------------------------------------------------------------------------------------


def test_the_local_settings_load_for_either_books() -> None:
    assert Settings.model_validate(LOCAL).books().app == "quickbooks"
    books = Settings.model_validate(xero_settings()).books()
    assert (books.app, books.sales_account, books.deposit_account("square")) == ("xero", "200", "091")
    assert books.tax_codes["GB VAT"] == "OUTPUT2" and books.payment_methods == {}


def test_xero_books_need_no_quickbooks_ids() -> None:
    only_xero = {"accounting_app": "xero", "home_currency": "GBP", "xero": LOCAL["xero"]}
    assert Settings.model_validate(only_xero).books().untaxed_tax_code == "ZERORATEDOUTPUT"


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({**LOCAL, "accounting_app": "xero", "xero": None}, "there is no xero mapping"),
        ({**LOCAL, "accounting_app": "sage"}, "accounting_app"),
        ({k: v for k, v in LOCAL.items() if k != "default_item"}, "default_item is required"),
        ({**LOCAL, "deposit_accounts": {"square": "36"}}, "deposit_accounts needs an account for stripe"),
        (
            xero_settings(deposit_accounts={"square": "Square clearing", "stripe": "092"}),
            "xero.deposit_accounts.square",
        ),
        (xero_settings(deposit_accounts={"square": "091"}), "needs an account code for stripe"),
        (xero_settings(sales_account=""), "xero.sales_account"),
        (xero_settings(tax_types={"GB VAT": "20% VAT"}), "xero.tax_types.GB VAT"),
        (xero_settings(customer="58"), "xero.customer"),
        (xero_settings(skus={"LOAF": "X" * 31}), "xero.skus.LOAF"),
        (xero_settings(account_code="200"), "xero.account_code"),
    ],
)
def test_a_wrong_setting_is_refused_at_load_naming_the_field(settings: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(settings)
    assert words in str(caught.value)


# --- what Xero gets ------------------------------------------------------------------------------------


def test_a_square_sale_is_an_itemised_invoice_paid_into_the_square_clearing_account(
    make_runtime: Any, books: XeroSandbox
) -> None:
    rt = runtime(make_runtime, xero_settings())
    for _ in range(2):  # redelivered: booked once
        send_sample(rt, sample("xero_square_payment_completed"))
        drain(rt)
    assert not dlq_messages(rt)
    [invoice] = documents(books, "invoice")
    assert (invoice["Type"], invoice["Status"], invoice["Total"]) == ("ACCREC", "PAID", Decimal("38.50"))
    assert invoice["LineAmountTypes"] == "Exclusive" and invoice["CurrencyCode"] == "GBP"
    assert invoice["Reference"].startswith("Square payment KX4RT9WQ2MBN7CHFE3DJA5YWLPQ2Z")
    assert sum(li["TaxAmount"] for li in invoice["LineItems"]) == invoice["TotalTax"] > 0
    assert {li["AccountCode"] for li in invoice["LineItems"]} == {"200"}
    [payment] = documents(books, "payment")
    assert payment["Account"]["Code"] == "091" and Decimal(str(payment["Amount"])) == Decimal("38.50")


def test_a_square_refund_is_a_credit_note_paid_out_of_the_same_account(
    make_runtime: Any, books: XeroSandbox
) -> None:
    rt = runtime(make_runtime, xero_settings())
    send_sample(rt, sample("xero_square_refund_completed"))
    drain(rt)
    [note] = documents(books, "creditnote")
    assert (note["Type"], note["Status"], note["Total"]) == ("ACCRECCREDIT", "PAID", Decimal("12.00"))
    assert lines(note) == [(None, "200", Decimal("12.00"), "ZERORATEDOUTPUT", Decimal("0.00"))]
    [payment] = documents(books, "payment")
    assert payment["Account"]["Code"] == "091" and Decimal(str(payment["Amount"])) == Decimal("12.00")


def test_a_shopify_order_is_booked_line_by_line_with_item_codes_shipping_and_tip(
    make_runtime: Any, books: XeroSandbox
) -> None:
    rt = runtime(make_runtime, xero_settings())
    send_sample(rt, sample("shopify_orders_paid"))
    drain(rt)
    [invoice] = documents(books, "invoice")
    assert (invoice["Status"], invoice["Total"], invoice["TotalTax"]) == (
        "PAID",
        Decimal("37.65"),
        Decimal("4.86"),
    )
    items = [li.get("ItemCode") for li in invoice["LineItems"]]
    assert items == ["BREAD", "CAKE", "PASTRY", None, None]  # loaves, cake, croissants, shipping, tip
    assert "discount" in invoice["LineItems"][1]["Description"]
    assert invoice["LineItems"][3]["Description"].startswith("Shipping")
    assert invoice["LineItems"][4]["Description"] == "Tip"
    [payment] = documents(books, "payment")
    assert payment["Account"]["Code"] == "090"


def test_a_stripe_charge_carries_its_included_vat_under_the_stripe_tax_type(
    make_runtime: Any, books: XeroSandbox
) -> None:
    rt = runtime(make_runtime, xero_settings())
    send_sample(rt, sample("stripe_charge_succeeded"))
    drain(rt)
    [invoice] = documents(books, "invoice")
    assert lines(invoice) == [(None, "200", Decimal("20.00"), "OUTPUT2", Decimal("4.00"))]
    assert invoice["Total"] == Decimal("24.00") and invoice["Status"] == "PAID"


def test_a_currency_mismatch_names_the_xero_books(make_runtime: Any, books: XeroSandbox) -> None:
    rt = runtime(make_runtime, xero_settings())
    send_sample(rt, sample("stripe_charge_usd_currency_mismatch"))
    drain(rt)
    [dead] = dlq_messages(rt)
    assert "Xero books are in GBP" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert not documents(books, "invoice")


def test_a_code_the_organisation_lacks_is_named_before_anything_is_booked(
    make_runtime: Any, books: XeroSandbox
) -> None:
    settings = xero_settings(sales_account="999", deposit_accounts={"square": "310", "stripe": "092"})
    rt = runtime(make_runtime, settings)
    send_sample(rt, sample("xero_square_payment_completed"))
    drain(rt)
    [dead] = dlq_messages(rt)
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert "xero.sales_account '999': no account has this code" in reason
    assert "xero.deposit_accounts.square '310': payments cannot go to this account" in reason
    assert not documents(books, "invoice") and not documents(books, "payment")


def test_the_organisation_is_checked_once_per_container(make_runtime: Any, books: XeroSandbox) -> None:
    rt = runtime(make_runtime, xero_settings())
    for name in ("xero_square_payment_completed", "xero_square_refund_completed"):
        send_sample(rt, sample(name))
        drain(rt)
    with books.lock:
        reads = [
            r
            for r in books._records
            if r["method"] == "GET" and r["path"].endswith(("/Accounts", "/TaxRates"))
        ]
    # The organisation check reads both once; the VAT split reads the tax rates once more (its own
    # per-container cache in apps/xero/actions.py) - none again for the refund.
    assert sorted(r["path"].rsplit("/", 1)[1] for r in reads) == ["Accounts", "TaxRates", "TaxRates"]


# --- the samples that say "settings": {"accounting_app": "xero"} -------------------------------------------


def test_there_are_xero_samples_of_a_sale_and_a_refund() -> None:
    assert {s.name for s in XERO_SAMPLES} >= {"xero_square_payment_completed", "xero_square_refund_completed"}
    assert all(s.expect == "processed" for s in XERO_SAMPLES)


def test_a_sample_naming_a_setting_the_integration_lacks_is_refused(tmp_path: Path) -> None:
    raw = json.loads((FOLDER / "xero_square_refund_completed.json").read_text())
    (tmp_path / "typo.json").write_text(json.dumps({**raw, "settings": {"accounting_ap": "xero"}}))
    with pytest.raises(
        SampleError, match=r"typo\.json: settings: pos_to_accounting has no setting accounting_ap"
    ):
        load_sample(tmp_path / "typo.json", SPEC)
    (tmp_path / "list.json").write_text(json.dumps({**raw, "settings": ["xero"]}))
    with pytest.raises(SampleError, match="settings must be an object"):
        load_sample(tmp_path / "list.json", SPEC)


def test_a_samples_settings_are_laid_over_the_local_ones_and_validated() -> None:
    merged = merged_settings(SPEC, LOCAL, {"accounting_app": "xero"}, "the settings of x.json")
    assert merged["accounting_app"] == "xero" and merged["xero"] == LOCAL["xero"]
    with pytest.raises(ValueError, match=r"(?s)with the settings of x\.json: .*there is no xero mapping"):
        merged_settings(SPEC, LOCAL, {"accounting_app": "xero", "xero": None}, "the settings of x.json")
