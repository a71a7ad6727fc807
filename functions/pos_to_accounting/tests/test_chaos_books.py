"""pos_to_accounting's chaos factories for either books, the Shopify events they make, and the books'
observers: a Shopify sale is seen by QuickBooks' observer, a Xero document is checked for its total.

Unit-level: the factories' bodies go through the production Shopify ``accept``; the observers read
stand-ins the production handler booked into (no chaos run here: ``switchboard chaos`` is the run).
"""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace
from typing import Any

import pytest

from apps.quickbooks.chaos import effects_seen as qb_seen
from apps.shopify.webhooks import ShopifyPayload
from apps.xero.chaos import effects_seen as xero_seen
from functions.pos_to_accounting import chaos, xero_check
from functions.pos_to_accounting.shopify import accept_shopify
from infra.local.samples import EVENTS_DIR, load_sample
from infra.ops.chaos.config import ChaosConfig
from infra.ops.chaos.protocol import EventFactory, Planned
from infra.ops.chaos.run import configured
from sandbox.base import SandboxApp
from shared.registry import load_spec
from shared.webhooks.base import WebhookRequest
from tests.support import drain, send_sample

SPEC = load_spec("pos_to_accounting")
LOCAL = json.loads(
    (EVENTS_DIR.parent / "functions" / "pos_to_accounting" / "settings.local.json").read_text()
)


class Run:
    """The parts of :class:`infra.ops.chaos.state.ChaosRun` the factories and observers use."""

    def __init__(self, sandboxes: dict[str, SandboxApp] | None = None) -> None:
        self.runtime = SimpleNamespace(sandboxes=sandboxes or {})
        self.lock = threading.Lock()
        self.t0 = 1_795_000_000.0
        self._memory: dict[str, dict[Any, Any]] = {}

    def memory(self, name: str) -> dict[Any, Any]:
        return self._memory.setdefault(name, {})

    def remember(self, name: str, key: Any, make: Any) -> Any:
        found = self.memory(name).get(key)
        return found if found is not None else self.memory(name).setdefault(key, make())


def factory(trigger: str, books: str = "quickbooks") -> EventFactory:
    made = configured(
        [f for f in chaos.FACTORIES if f.trigger == trigger],
        ChaosConfig(events=1, seed=1, faults={}, settings={"pos_to_accounting": {"accounting_app": books}}),
    )
    return made[0]


def planned(f: EventFactory, *, refund: bool, poison: bool = False) -> Planned:
    """The first event of ``f`` that is (or is not) a refund."""
    return next(p for i in range(200) if chaos._is_refund(p := Planned(i, 3, f, poison)) == refund)


def accepted(f: EventFactory, p: Planned, run: Run) -> Any:
    out = f.build(run, p)
    request = WebhookRequest("POST", SPEC.trigger("shopify").path, dict(out.headers), out.body)  # type: ignore[union-attr]
    [work] = accept_shopify(ShopifyPayload.model_validate_json(out.body), request)
    assert work.event_id == out.event_id  # the key the DLQ and the judge know it by
    return work.data


def test_the_factories_expect_the_entries_of_the_books_chosen() -> None:
    triggers = {f.trigger for f in chaos.FACTORIES}
    assert triggers == {"square", "stripe", "shopify"}
    for books, kinds in (
        ("quickbooks", {"qb.sales_receipt", "qb.refund_receipt", "qb.total"}),
        ("xero", {"xero.invoice", "xero.credit_note", "xero.total"}),
    ):
        for trigger in triggers:
            f = factory(trigger, books)
            assert {k for i in range(30) for k, _ in f.effects(Planned(i, 3, f, False))} == kinds
    sequences = [f.configure({"accounting_app": "xero"}) for f in chaos.SEQUENCES if f.configure]
    assert {k for f in sequences for k, _ in f.effects(Planned(1, 3, f, False))} >= {
        "xero.invoice",
        "xero.total",
    }


def test_an_unknown_books_setting_is_refused_naming_it() -> None:
    from infra.ops.target import CliError

    with pytest.raises(CliError, match="accounting_app"):
        configured(
            list(chaos.FACTORIES),
            ChaosConfig(
                events=1, seed=1, faults={}, settings={"pos_to_accounting": {"accounting_app": "sage"}}
            ),
        )


def test_a_shopify_sale_event_is_an_order_booked_under_its_own_key() -> None:
    f, run = factory("shopify", "xero"), Run()
    p = planned(f, refund=False)
    booking = accepted(f, p, run)
    assert (booking.kind, booking.amount, booking.tip) == ("sale", 3765, 200)
    assert booking.key == f"shopify:order:{booking.payment_id}" and len(booking.lines) == 4
    [expected] = run.memory("xero.documents").values()
    assert (expected.kind, expected.money_id, expected.key, expected.total) == (
        "invoice",
        booking.payment_id,
        p.key,
        3765,
    )
    assert accepted(f, planned(f, refund=False), Run()).payment_id == booking.payment_id  # from the seed


def test_a_shopify_refund_event_gives_back_its_drawn_amount_and_poison_is_in_dollars() -> None:
    f, run = factory("shopify"), Run()
    p = planned(f, refund=True)
    booking = accepted(f, p, run)
    [expected] = run.memory("quickbooks.receipts").values()
    assert booking.kind == "refund" and booking.currency == "GBP"
    assert (expected.entity, expected.money_id, expected.total) == (
        "refundreceipt",
        booking.refund_id,
        booking.amount,
    )
    poison = accepted(f, planned(f, refund=True, poison=True), Run())
    assert poison.currency == "USD"


def test_a_poison_shopify_sale_carries_the_mark_in_a_line_the_books_see() -> None:
    f = factory("shopify")
    booking = accepted(f, planned(f, refund=False, poison=True), Run())
    assert any("chaos-poison" in line.description for line in booking.lines)


def test_the_quickbooks_observer_sees_a_shopify_sale_and_refund(
    make_runtime: Any, sandboxes: dict[str, SandboxApp]
) -> None:
    rt = make_runtime("pos_to_accounting", retry_scale=0)
    for name in ("shopify_orders_paid", "shopify_refunds_create"):
        send_sample(rt, load_sample(EVENTS_DIR / "pos_to_accounting" / f"{name}.json", SPEC))
        drain(rt)
    run = Run(sandboxes)
    chaos._expect(run, "quickbooks", False, "5923412345678", "R3N1", 3765)  # type: ignore[arg-type]
    chaos._expect(run, "quickbooks", True, "1023456789012", "R3N2", 1620)  # type: ignore[arg-type]
    assert qb_seen(run) == {  # type: ignore[arg-type]
        ("qb.sales_receipt", "R3N1"): 1,
        ("qb.total", "R3N1"): 1,
        ("qb.refund_receipt", "R3N2"): 1,
        ("qb.total", "R3N2"): 1,
    }


def test_the_xero_observer_checks_each_documents_total(
    make_runtime: Any, sandboxes: dict[str, SandboxApp]
) -> None:
    xero_check.forget()
    settings = {**LOCAL, "accounting_app": "xero"}
    rt = make_runtime("pos_to_accounting", retry_scale=0, settings_json=json.dumps(settings))
    for name in ("shopify_orders_paid", "shopify_refunds_create"):
        send_sample(rt, load_sample(EVENTS_DIR / "pos_to_accounting" / f"{name}.json", SPEC))
        drain(rt)
    run = Run(sandboxes)
    chaos._expect(run, "xero", False, "5923412345678", "R3N1", 3765)  # type: ignore[arg-type]
    chaos._expect(run, "xero", True, "1023456789012", "R3N2", 1621)  # type: ignore[arg-type] # a penny off
    assert xero_seen(run) == {  # type: ignore[arg-type]
        ("xero.invoice", "R3N1"): 1,
        ("xero.total", "R3N1"): 1,
        ("xero.credit_note", "R3N2"): 1,
    }
