"""inventory_sync through the production handler, with the Square and Shopify stand-ins.

A till sale is a Square ``IN_STOCK -> SOLD`` adjustment made on the stand-in (which sends
``inventory.count.updated``), an online sale an ``inventoryAdjustQuantities`` on the Shopify stand-in
(which sends ``inventory_levels/update``). Webhooks are held back (``conftest.py``) and delivered when
the test says: the final counts are read from the stand-ins' own data.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from functions.inventory_sync.models import Settings, SyncRequest
from functions.inventory_sync.spec import accept_tick
from functions.inventory_sync.tests.conftest import SPEC, Hook, Shops
from infra.local.runtime import local_settings
from infra.local.scheduler import schedule_message
from sandbox.base import SandboxRequest, SandboxResponse
from shared.spec import ScheduledRun, ScheduleTrigger
from tests.support import dlq_messages, drain

TRIGGER = next(t for t in SPEC.triggers if isinstance(t, ScheduleTrigger))


def settle(shops: Shops, rounds: int = 6) -> None:
    """Deliver every held webhook (our own writes' too) and run the worker, until none is left."""
    for _ in range(rounds):
        drain(shops.rt)
        hooks = shops.take()
        if not hooks:
            assert dlq_messages(shops.rt) == []
            return
        for hook in hooks:
            shops.deliver(hook)
    raise AssertionError("the webhooks did not settle: an echo loop?")


def processed(traced: list[dict[str, Any]]) -> list[str]:
    return [e["summary"] for e in traced if e["stage"] == "processed"]


def tick(shops: Shops, scheduled_at: str = "2026-11-21T05:00:00+00:00") -> None:
    due = datetime.fromisoformat(scheduled_at)
    shops.rt.aws("sqs").send_message(
        QueueUrl=shops.rt.queue_url, MessageBody=schedule_message(SPEC.name, TRIGGER, due)
    )


# --- one sale ------------------------------------------------------------------------------------


def test_a_till_sale_takes_the_unit_off_the_web_shop(shops: Shops) -> None:
    shops.till_sale()
    [hook] = shops.take()
    assert hook.side == "square" and hook.payload["type"] == "inventory.count.updated"
    shops.deliver(hook)
    drain(shops.rt)
    assert shops.counts() == (9, 9)


def test_an_online_sale_takes_the_unit_off_the_till(shops: Shops) -> None:
    shops.online_sale(2)
    [hook] = shops.take()
    assert hook.side == "shopify" and hook.headers["x-shopify-topic"] == "inventory_levels/update"
    shops.deliver(hook)
    drain(shops.rt)
    assert shops.counts() == (8, 8)


def test_our_own_adjustment_coming_back_changes_nothing(shops: Shops, traced: list[dict[str, Any]]) -> None:
    shops.till_sale()
    shops.deliver(shops.take()[0])
    drain(shops.rt)
    [echo] = shops.take()  # Shopify's inventory_levels/update for the unit we took off
    assert echo.side == "shopify" and echo.payload["available"] == 9
    shops.deliver(echo)
    drain(shops.rt)
    assert shops.counts() == (9, 9)
    assert shops.take() == []  # nothing written: no webhook from either side
    assert "result=echo" in processed(traced)[-1]


def test_our_writes_carry_their_key_and_reference(shops: Shops) -> None:
    shops.online_sale()
    shops.deliver(shops.take()[0])
    drain(shops.rt)
    [ours] = [k for k in shops.square._inventory_keys if k.startswith("sb-isync-")]
    body = json.loads(shops.square._inventory_keys[ours][0])
    adjustment = body["changes"][0]["adjustment"]
    assert adjustment["reference_id"].startswith("switchboard://inventory_sync/")
    assert (adjustment["from_state"], adjustment["to_state"], adjustment["quantity"]) == (
        "IN_STOCK",
        "SOLD",
        "1",
    )


# --- repeats, late deliveries, concurrent sales ----------------------------------------------------


def test_a_repeated_and_a_late_webhook_change_nothing_twice(shops: Shops) -> None:
    shops.till_sale()
    [first] = shops.take()
    shops.till_sale()
    [second] = shops.take()
    shops.deliver(second)  # the newer count (8) first
    shops.deliver(first)  # then the older one (9), late
    shops.deliver(first)  # and again, as Square re-sends
    settle(shops)
    assert shops.counts() == (8, 8)


def test_sales_on_both_sides_at_once_are_all_kept(shops: Shops) -> None:
    shops.till_sale(2)
    shops.online_sale(1)
    shops.till_sale(1)
    shops.online_sale(3)
    for hook in reversed(shops.take()):
        shops.deliver(hook)
    settle(shops)
    assert shops.counts() == (3, 3)


def test_a_sale_between_our_read_and_our_write_is_not_lost(
    shops: Shops, monkeypatch: pytest.MonkeyPatch, traced: list[dict[str, Any]]
) -> None:
    """Shopify's changeFromQuantity refuses our write (a checkout landed after we read): read again."""
    handle = shops.shopify.handle
    ours: list[bytes] = []

    def racing(req: SandboxRequest, **kw: Any) -> SandboxResponse:
        if b"SwitchboardAdjust" in req.body:
            ours.append(req.body)
            if len(ours) == 1:
                shops.online_sale()  # lands between the worker's read and its write
        return handle(req, **kw)

    monkeypatch.setattr(shops.shopify, "handle", racing)
    shops.till_sale()
    shops.deliver(shops.take()[0])
    settle(shops)
    assert shops.counts() == (8, 8)
    first, again = (json.loads(b)["variables"]["input"]["changes"][0] for b in ours[:2])
    assert (first["changeFromQuantity"], again["changeFromQuantity"]) == (10, 9)  # refused, read again


def test_a_sale_while_another_change_of_the_sku_is_written_waits_for_it(shops: Shops) -> None:
    """Two deliveries of one SKU never write at once: the second waits for the lease, then reads."""
    from shared.ordering import EntityVersions

    shops.till_sale()
    [hook] = shops.take()
    with EntityVersions(shops.rt, "sku").hold(["LOAF-SOURDOUGH"]):
        shops.deliver(hook)
        from tests.support import poller

        poller(shops.rt).poll_once()  # EntityBusy: back on the queue, nothing written
        assert shops.counts() == (9, 10)
    settle(shops)
    assert shops.counts() == (9, 9)


def test_a_sale_at_a_location_not_synced_is_left_alone(shops: Shops, traced: list[dict[str, Any]]) -> None:
    body = {
        "idempotency_key": "till-at-high-street",
        "changes": [
            {
                "type": "ADJUSTMENT",
                "adjustment": {
                    "catalog_object_id": "GZ4BN6QYT2XWCM7RLVKP3HDJ",
                    "location_id": "L8M2Q9ZB3XW1P",
                    "from_state": "IN_STOCK",
                    "to_state": "SOLD",
                    "quantity": "1",
                    "occurred_at": "2026-11-21T10:00:00Z",
                },
            }
        ],
    }
    from apps.square.standin import DEFAULT_TOKEN

    res = shops.square.handle(
        SandboxRequest(
            method="POST",
            path="/v2/inventory/changes/batch-create",
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
            body=json.dumps(body).encode(),
        )
    )
    assert res.status == 200
    settle(shops)
    assert shops.counts() == (10, 10)
    assert "ignored=square location L8M2Q9ZB3XW1P is not synced" in processed(traced)


# --- the daily check -------------------------------------------------------------------------------


def test_the_daily_check_reports_drift_and_changes_nothing(
    new_shops: Shops, traced: list[dict[str, Any]]
) -> None:
    shops = new_shops
    shops.stock(10, 7)  # the two sides were apart before the sync was installed
    tick(shops)
    drain(shops.rt)
    assert shops.counts() == (10, 7)
    [summary] = processed(traced)
    assert "in_step=0" in summary and "'drift': 3" in summary and "'fixed': False" in summary


def test_the_daily_check_fixes_drift_from_the_source_of_truth_when_asked(
    new_shops: Shops, make_runtime: Any, traced: list[dict[str, Any]]
) -> None:
    shops = new_shops
    settings = {**json.loads(local_settings(SPEC)), "fix_drift": True, "source_of_truth": "shopify"}
    shops.rt = make_runtime("inventory_sync", retry_scale=0, settings_json=json.dumps(settings))
    shops.stock(10, 7)
    tick(shops)
    drain(shops.rt)
    assert shops.counts() == (7, 7)
    assert "'fixed': True" in processed(traced)[0]
    settle(shops)  # the fix's own webhook is an echo
    assert shops.counts() == (7, 7)
    shops.till_sale()  # and the sync carries on from the fixed counts
    settle(shops)
    assert shops.counts() == (6, 6)


def test_a_sale_not_yet_propagated_is_not_taken_for_drift(shops: Shops, traced: list[dict[str, Any]]) -> None:
    shops.till_sale()  # its webhook is late
    shops.take()
    tick(shops)
    drain(shops.rt)
    assert "in_step=1" in processed(traced)[-1]
    assert shops.counts() == (9, 9)  # the check propagated it


def test_a_count_taken_on_one_side_while_in_step_is_a_change(shops: Shops) -> None:
    """A recount online (no webhook in the stand-in) is found by the next check and carried over."""
    shops.stock(10, 7)
    tick(shops)
    drain(shops.rt)
    assert shops.counts() == (7, 7)


def test_the_check_runs_once_a_day() -> None:
    run = ScheduledRun(trigger="daily", scheduled_at="2026-11-21T05:00:00+00:00", timezone="Europe/London")
    [accepted] = accept_tick(run)
    assert accepted.event_id == "reconcile:2026-11-21"
    assert isinstance(accepted.data, SyncRequest) and accepted.data.kind == "reconcile"


# --- settings and work items ---------------------------------------------------------------------


def test_settings_say_what_is_wrong() -> None:
    base = json.loads(local_settings(SPEC))
    assert Settings.model_validate(base).shopify_location_id == "71834255449"
    with pytest.raises(ValueError, match="not a Shopify location id"):
        Settings.model_validate({**base, "shopify_location_id": "Mill Road"})
    with pytest.raises(ValueError, match="renames SKUs that skus does not list"):
        Settings.model_validate({**base, "shopify_skus": {"NOPE": "X"}})
    with pytest.raises(ValueError, match="lists a SKU twice"):
        Settings.model_validate({**base, "skus": ["A-1", "a-1"]})


def test_a_change_names_what_changed() -> None:
    with pytest.raises(ValueError, match="names its side"):
        SyncRequest(kind="change", side="square")
    with pytest.raises(ValueError, match="names its day"):
        SyncRequest(kind="reconcile")


def test_held_hooks_are_signed_as_the_providers_sign(shops: Shops) -> None:
    shops.till_sale()
    [hook] = shops.take()
    assert isinstance(hook, Hook) and "x-square-hmacsha256-signature" in hook.headers
