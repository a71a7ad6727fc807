"""Several apps performing one action: QuickBooks and Xero both ``accounting.record_sale``.

The catalogue knows each action by name and app; a flow chooses the app by its settings
(:func:`shared.actions.provider`), the tool surfaces by the deployment's choices
(:func:`shared.actions.catalogue`), and a domain's ``DEFAULT_PROVIDER`` decides where nothing chose.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from apps.quickbooks import actions as qb_actions
from apps.quickbooks.actions import receipt as qb_receipt
from apps.xero import actions as xero_actions
from shared import actions as catalogue_module
from shared.actions import catalogue, crm, every_action, function_schemas, get, provider, providers
from shared.actions.accounting import DEFAULT_PROVIDER, RecordReceipt, WrongIdShape
from shared.actions.base import Action
from shared.errors import InvalidEvent

SALE = "accounting.record_sale"


def test_both_books_perform_the_accounting_actions_on_one_contract() -> None:
    for name in (SALE, "accounting.record_refund"):
        found = providers(name)
        assert set(found) == {"quickbooks", "xero"}
        assert found["quickbooks"].input is found["xero"].input is RecordReceipt
        assert found["quickbooks"].output is found["xero"].output
    keys = [(a.name, a.app) for a in every_action()]
    assert len(keys) == len(set(keys)) and keys == sorted(keys)


def test_a_flow_chooses_the_app_by_its_settings() -> None:
    assert provider(SALE, "xero") is xero_actions.RECORD_SALE
    assert provider("accounting_record_refund", "quickbooks") is qb_actions.RECORD_REFUND  # tool names too
    assert get(SALE, app="xero") is xero_actions.RECORD_SALE
    with pytest.raises(
        KeyError, match=r"'sage' does not perform accounting\.record_sale; quickbooks, xero do"
    ):
        provider(SALE, "sage")
    with pytest.raises(KeyError, match="no action"):
        provider("accounting.record_nothing", "xero")


def test_the_tools_offer_one_app_per_action_the_default_or_the_chosen() -> None:
    names = [a.name for a in catalogue()]
    assert len(names) == len(set(names))
    assert DEFAULT_PROVIDER == "quickbooks" and get(SALE) is qb_actions.RECORD_SALE
    by_domain = {a.name: a for a in catalogue({"accounting": "xero"})}
    assert by_domain[SALE] is xero_actions.RECORD_SALE
    assert by_domain["accounting.record_refund"] is xero_actions.RECORD_REFUND
    by_name = {a.name: a for a in catalogue({SALE: "xero", "accounting": "quickbooks"})}
    assert by_name[SALE].app == "xero" and by_name["accounting.record_refund"].app == "quickbooks"
    with pytest.raises(KeyError, match="'sage' performs no action of 'accounting'"):
        catalogue({"accounting": "sage"})
    with pytest.raises(KeyError, match="no action or domain 'ledger'"):
        catalogue({"ledger": "xero"})


def test_each_apps_tool_hides_what_the_deployment_decides_and_what_it_does_not_take() -> None:
    xero = {s["name"]: s for s in function_schemas({"accounting": "xero"})}["accounting_record_sale"]
    quickbooks = {s["name"]: s for s in function_schemas()}["accounting_record_sale"]
    hidden = {"deposit_account", "currency", "sales_account", "payment_method_id"}
    assert not hidden & set(xero["parameters"]["properties"])
    assert not {"deposit_account", "currency", "default_item", "sales_account"} & set(
        quickbooks["parameters"]["properties"]
    )
    assert "payment_method_id" in quickbooks["parameters"]["properties"]
    assert xero["parameters"]["required"] == quickbooks["parameters"]["required"] == ["key", "date", "lines"]


def _sale(**changes: Any) -> RecordReceipt:
    fields: dict[str, Any] = {
        "key": "k",
        "date": "2026-11-20",
        "lines": [{"amount": "1.00"}],
        "deposit_account": "36",
        "currency": "GBP",
        "default_item": "19",
        **changes,
    }
    return RecordReceipt(**fields)


def test_quickbooks_checks_its_own_id_shapes_and_refuses_what_it_does_not_take() -> None:
    assert qb_receipt(_sale()).DepositToAccountRef.value == "36"
    with pytest.raises(WrongIdShape, match="deposit_account '091-SQ' is not a quickbooks id"):
        qb_receipt(_sale(deposit_account="091-SQ"))
    with pytest.raises(WrongIdShape, match="customer_id"):
        qb_receipt(_sale(customer_id="3f1c1b2a-7d4e-4c55-9a0e-5b8f2d6c4e10"))
    with pytest.raises(WrongIdShape, match="default_item"):
        qb_receipt(_sale(default_item=None))
    with pytest.raises(InvalidEvent, match="takes no sales_account"):
        qb_actions.RECORD_SALE(None, _sale(sales_account="200"))  # type: ignore[arg-type]  # refused before any call


def test_discovery_refuses_two_apps_with_different_contracts(monkeypatch: pytest.MonkeyPatch) -> None:
    def action(app: str, model: Any) -> Action[Any, Any]:
        return Action(
            name="crm.upsert_contact",
            description="x",
            input=model,
            output=crm.ContactRef,
            app=app,
            connections=(),
            run=lambda c, d: crm.ContactRef(id="1"),
        )

    module = types.ModuleType("fake_actions")
    module.ACTIONS = (action("a", crm.UpsertContact), action("b", RecordReceipt))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_actions", module)
    monkeypatch.setattr(catalogue_module, "_action_modules", lambda: ["fake_actions"])
    with pytest.raises(TypeError, match="must take and give the same contract models"):
        every_action.__wrapped__()
    module.ACTIONS = (action("a", crm.UpsertContact), action("a", crm.UpsertContact))  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="of a is declared twice"):
        every_action.__wrapped__()
