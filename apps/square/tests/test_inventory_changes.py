"""BatchChangeInventory on the Square stand-in, and the stock actions on top of it.

The stand-in's answers are checked against Square's documented rules (see
:mod:`apps.square.standin.inventory_changes`); the actions ``stock.count`` / ``stock.adjust`` run
through the production client against it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from apps.square.actions import ADJUST_STOCK, COUNT_STOCK
from apps.square.standin import DEFAULT_TOKEN, SquareSandbox
from apps.square.webhooks import InventoryCountUpdatedEvent
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse
from shared.actions.stock import Adjust, CountQuery, StockChanged
from shared.app import App
from shared.clients import api_client
from shared.errors import PermanentError
from shared.http import ApiClient
from shared.runtime import Runtime
from shared.spec import Connection

MARKET = "LQ7T4N1V6K2RD"
SOURDOUGH = "GZ4BN6QYT2XWCM7RLVKP3HDJ"


class Ctx:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def api(self, app: App, connection: Connection) -> ApiClient:
        return api_client(self.rt, app, connection)


@pytest.fixture
def square(sandboxes: dict[str, SandboxApp]) -> SquareSandbox:
    app = sandboxes["square"]
    assert isinstance(app, SquareSandbox)
    return app


@pytest.fixture
def ctx(make_runtime: Any) -> Ctx:
    return Ctx(make_runtime("inventory_sync"))


def change(square: SquareSandbox, body: dict[str, Any]) -> SandboxResponse:
    return square.handle(
        SandboxRequest(
            method="POST",
            path="/v2/inventory/changes/batch-create",
            headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
            body=json.dumps(body).encode(),
        )
    )


def sale(key: str, quantity: str = "2", **extra: Any) -> dict[str, Any]:
    adjustment = {
        "catalog_object_id": SOURDOUGH,
        "location_id": MARKET,
        "from_state": "IN_STOCK",
        "to_state": "SOLD",
        "quantity": quantity,
        "occurred_at": "2026-11-21T10:00:00Z",
        **extra,
    }
    return {"idempotency_key": key, "changes": [{"type": "ADJUSTMENT", "adjustment": adjustment}]}


def in_stock(square: SquareSandbox) -> Decimal:
    return square.counts[(SOURDOUGH, MARKET, "IN_STOCK")].quantity


def test_an_adjustment_moves_units_and_sends_inventory_count_updated(square: SquareSandbox) -> None:
    answer = change(square, sale("sale-0001"))
    assert answer.status == 200
    [count] = answer.parsed()["counts"]
    assert (count["state"], count["quantity"], count["location_id"]) == ("IN_STOCK", "4", MARKET)
    assert in_stock(square) == 4
    note = square.notifications[-1]
    assert note["type"] == "inventory.count.updated" and note["data"]["type"] == "inventory"
    event = InventoryCountUpdatedEvent.model_validate(note)
    assert [(c.catalog_object_id, c.quantity) for c in event.data.object.inventory_counts] == [
        (SOURDOUGH, "4")
    ]


def test_a_repeated_key_answers_the_first_answer_and_another_body_is_refused(square: SquareSandbox) -> None:
    first = change(square, sale("sale-0002"))
    again = change(square, sale("sale-0002"))
    assert again.parsed() == first.parsed() and in_stock(square) == 4
    other = change(square, sale("sale-0002", quantity="1"))
    assert other.status == 400 and other.parsed()["errors"][0]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_what_square_requires_is_required(square: SquareSandbox) -> None:
    body = sale("sale-0003")
    del body["changes"][0]["adjustment"]["occurred_at"]
    missing = change(square, body)
    assert missing.status == 400 and missing.parsed()["errors"][0]["field"].endswith("occurred_at")
    backwards = change(square, sale("sale-0004", quantity="-1"))
    assert backwards.status == 400
    assert (
        change(square, {"changes": sale("x")["changes"]}).parsed()["errors"][0]["field"] == "idempotency_key"
    )
    assert in_stock(square) == 6


def test_count_and_adjust_through_the_client(square: SquareSandbox, ctx: Ctx) -> None:
    count = COUNT_STOCK(ctx, CountQuery(sku="LOAF-SOURDOUGH", location_id=MARKET))
    assert (count.found, count.item_id, count.quantity) == (True, SOURDOUGH, 6)
    done = ADJUST_STOCK(
        ctx, Adjust(sku="LOAF-SOURDOUGH", location_id=MARKET, delta=-2, expected=6, key="test-adjust-1")
    )
    assert done.quantity_after == 4
    up = ADJUST_STOCK(ctx, Adjust(sku="LOAF-SOURDOUGH", location_id=MARKET, delta=3, key="test-adjust-2"))
    assert up.quantity_after == 7
    assert COUNT_STOCK(ctx, CountQuery(sku="NOPE-1", location_id=MARKET)).found is False


def test_an_unexpected_count_refuses_the_adjustment(square: SquareSandbox, ctx: Ctx) -> None:
    with pytest.raises(StockChanged, match="6 in stock, not the 5 expected"):
        ADJUST_STOCK(
            ctx, Adjust(sku="LOAF-SOURDOUGH", location_id=MARKET, delta=-1, expected=5, key="test-adjust-3")
        )
    assert in_stock(square) == 6


def test_fractional_counts_are_refused_not_rounded(ctx: Ctx) -> None:
    with pytest.raises(PermanentError, match="counted in fractions"):
        COUNT_STOCK(ctx, CountQuery(sku="FLOUR-RYE-KG", location_id="L8M2Q9ZB3XW1P"))


def test_an_adjustment_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="adjustment of 0"):
        Adjust(sku="LOAF-SOURDOUGH", location_id=MARKET, delta=0)
