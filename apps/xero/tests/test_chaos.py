"""The chaos hooks: Xero's poison body is a permanent refusal to the client, and the observer counts
one invoice per sale and one credit note per refund, each attributed to its event."""

from __future__ import annotations

import json
import threading
from datetime import date
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from apps.xero import actions as xero_actions
from apps.xero.chaos import CHAOS, ExpectedDocument, effects_seen, expect_document
from apps.xero.client import XeroRejected
from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxApp, SandboxRequest
from shared.actions.accounting import RecordReceipt

from .support import client
from .test_actions import Ctx
from .test_oauth import store_local_connection


class Run:
    """The parts of :class:`infra.ops.chaos.state.ChaosRun` the observer uses."""

    def __init__(self, sandboxes: dict[str, SandboxApp]) -> None:
        self.runtime = SimpleNamespace(sandboxes=sandboxes)
        self.lock = threading.Lock()
        self._memory: dict[str, dict[Any, Any]] = {}

    def memory(self, name: str) -> dict[Any, Any]:
        return self._memory.setdefault(name, {})

    def remember(self, name: str, key: Any, make: Any) -> Any:
        return self.memory(name).setdefault(key, make())


def test_poison_is_a_permanent_refusal_naming_the_chaos_run() -> None:
    books = XeroSandbox(limits=False)
    fault = {
        "kind": "status",
        "status": 400,
        "rate": 1,
        "body_contains": "chaos-poison",
        "body": CHAOS.poison_body,
    }
    books.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode()))
    from apps.xero.models import ContactRef, Invoice, LineItem

    poison = Invoice(
        Contact=ContactRef(Name="x"),
        LineItems=(LineItem(Description="chaos-poison", UnitAmount=Decimal(1), AccountCode="200"),),
        Date=date(2026, 11, 20),
        DueDate=date(2026, 11, 20),
    )
    with pytest.raises(XeroRejected, match="marked as poison"):
        client(books).create_invoice(poison, key="p")


def test_the_observer_counts_documents_per_event(
    make_runtime: Any, aws: Any, sandboxes: dict[str, SandboxApp]
) -> None:
    rt = make_runtime("pos_to_accounting")
    store_local_connection(aws, rt)
    ctx = Ctx(rt)
    run = Run(sandboxes)
    expect_document(run, ExpectedDocument("invoice", "P1", "square:payment:P1"))  # type: ignore[arg-type]
    expect_document(run, ExpectedDocument("creditnote", "R1", "square:refund:R1"))  # type: ignore[arg-type]
    common = {"date": "2026-11-20", "deposit_account": "091", "currency": "GBP", "sales_account": "200"}
    sale = RecordReceipt(
        key="square:payment:P1",
        lines=[{"amount": "12.00", "tax_code": "NONE"}],
        note="Square payment P1",
        **common,
    )
    refund = RecordReceipt(
        key="square:refund:R1",
        lines=[{"amount": "4.00", "tax_code": "NONE"}],
        note="Square refund R1 of payment P1",
        **common,
    )
    xero_actions.RECORD_SALE(ctx, sale)
    xero_actions.RECORD_REFUND(ctx, refund)
    xero_actions.RECORD_SALE(ctx, sale)  # a retry: nothing new, nothing counted twice
    seen = effects_seen(run)  # type: ignore[arg-type]
    assert seen == {("xero.invoice", "square:payment:P1"): 1, ("xero.credit_note", "square:refund:R1"): 1}
