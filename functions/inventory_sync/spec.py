"""inventory_sync: a sale at the till (Square) or online (Shopify) changes the other side's stock, by SKU.

Three ways in:

* Square (``POST /hooks/inventory_sync/square``, ``x-square-hmacsha256-signature``):
  ``inventory.count.updated`` - one work item per ``IN_STOCK`` count it carries, keyed
  ``square:<event_id>:<variation>:<location>`` (Square re-sends an event with its ``event_id``).
* Shopify (``POST /hooks/inventory_sync/shopify``, ``X-Shopify-Hmac-Sha256``): ``inventory_levels/update``,
  keyed ``shopify:<X-Shopify-Webhook-Id>`` (a re-send keeps its webhook id). Other topics are answered
  202 and ignored.
* A daily schedule (05:00 in :data:`TIMEZONE`): the reconciliation, keyed ``reconcile:<day>``.

The webhooks' quantities are hints only: the worker reads both sides itself under the SKU's lease
(see ``README.md`` for set vs adjust, echo prevention and the reconciliation).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from apps import shopify, square
from apps.shopify.webhooks import TOPIC_INVENTORY_LEVELS_UPDATE, InventoryLevel, ShopifyPayload
from apps.square.webhooks import InventoryCountUpdatedEvent, SquareNotification
from shared.errors import InvalidPayload
from shared.spec import (
    Accepted,
    Connection,
    IntegrationSpec,
    RetryPolicy,
    ScheduledRun,
    ScheduleTrigger,
    WebhookTrigger,
)
from shared.webhooks.base import WebhookRequest

from .models import Settings, SyncRequest

SQUARE_TYPE: Final = "inventory.count.updated"
CHANGE_TYPE: Final = "stock.changed"
RECONCILE_TYPE: Final = "stock.reconcile"
#: The business's time zone: the daily check runs at 05:00 in it, before the shop opens.
TIMEZONE: Final = "Europe/London"
EXPRESSION: Final = "cron(0 5 * * ? *)"


#: Square gives every webhook subscription its own signature key, so this trigger's subscription has a
#: signing connection of its own (pos_to_accounting's is ``square_signing``).
SQUARE_SIGNING: Final = Connection(
    name="square_inventory_signing",
    app="square",
    description=(
        "Signature key of inventory_sync's Square webhook subscription (inventory.count.updated; "
        "switchboard webhooks register stores it, or Developer Console > Webhooks > Subscriptions). "
        "During a rotation keep the old key as previous_secret until Square has switched. "
        "notification_url pins the URL Square signs (set by webhooks register)."
    ),
    fields=("secret",),
    optional=("previous_secret", "notification_url"),
    local={"secret": "sandbox-square-inventory-signature-key"},
    kind="signing",
)


def _invalid(field: str, message: str) -> InvalidPayload:
    return InvalidPayload([{"field": field, "message": message}])


def _whole(text: str | None) -> int | None:
    """Square's decimal string as whole units; ``None`` if absent or fractional (then it is only read)."""
    try:
        value = Decimal(text) if text is not None else None
    except InvalidOperation:
        return None
    return int(value) if value is not None and value == value.to_integral_value() else None


def accept_square(event: SquareNotification, request: WebhookRequest) -> Sequence[Accepted]:
    """Each ``IN_STOCK`` count of ``inventory.count.updated`` is one possible change; other types are ignored."""
    if event.type != SQUARE_TYPE:
        return []
    try:
        parsed = InventoryCountUpdatedEvent.model_validate(event.model_dump(mode="json"))
    except ValidationError as exc:
        raise _invalid(
            "data.object.inventory_counts", f"is not Square's ({exc.error_count()} error(s))"
        ) from exc
    out = []
    for n in parsed.data.object.inventory_counts:
        if n.state != "IN_STOCK":
            continue
        work = SyncRequest(
            kind="change",
            side="square",
            item_id=n.catalog_object_id,
            location_id=n.location_id,
            quantity=_whole(n.quantity),
        )
        key = f"square:{event.event_id}:{n.catalog_object_id}:{n.location_id}"
        out.append(Accepted(event_id=key, type=CHANGE_TYPE, data=work))
    return out


def accept_shopify(payload: ShopifyPayload, request: WebhookRequest) -> Sequence[Accepted]:
    """``inventory_levels/update``: one possible change of one item at one location."""
    if (request.header("x-shopify-topic") or "") != TOPIC_INVENTORY_LEVELS_UPDATE:
        return []
    try:
        level = InventoryLevel.model_validate(payload.model_dump())
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        raise _invalid(",".join(fields) or "body", "is not an inventory level") from exc
    webhook_id = request.header("x-shopify-webhook-id") or hashlib.sha256(request.body).hexdigest()[:32]
    work = SyncRequest(
        kind="change",
        side="shopify",
        item_id=f"gid://shopify/InventoryItem/{level.inventory_item_id}",
        location_id=str(level.location_id),
        quantity=level.available,
    )
    return [Accepted(event_id=f"shopify:{webhook_id}", type=CHANGE_TYPE, data=work)]


def accept_tick(run: ScheduledRun) -> Sequence[Accepted]:
    """One reconciliation per local day."""
    due = datetime.fromisoformat(run.scheduled_at.replace("Z", "+00:00"))
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    day = due.astimezone(ZoneInfo(run.timezone)).date()
    request = SyncRequest(kind="reconcile", day=day)
    return [Accepted(event_id=f"reconcile:{day.isoformat()}", type=RECONCILE_TYPE, data=request)]


SPEC = IntegrationSpec(
    name="inventory_sync",
    description="One stock figure: a sale at the till (Square) or online (Shopify) adjusts the other side, by SKU",
    input_model=SyncRequest,
    settings=Settings,
    worker="functions.inventory_sync.worker:process",
    triggers=(
        WebhookTrigger(
            name="square",
            path="/hooks/inventory_sync/square",
            verifier=square.VERIFIER,
            secret=SQUARE_SIGNING,
            model=SquareNotification,
            accept=accept_square,
            description="Square webhook: inventory.count.updated",
            events=(SQUARE_TYPE,),
            registration=square.CONNECTION,
        ),
        WebhookTrigger(
            name="shopify",
            path="/hooks/inventory_sync/shopify",
            verifier=shopify.VERIFIER,
            secret=shopify.SIGNING,
            model=ShopifyPayload,
            accept=accept_shopify,
            description="Shopify webhook: inventory_levels/update (the topic in X-Shopify-Topic)",
            # Set up by hand, as Shopify's other subscriptions (apps/shopify/subscriptions.py).
            events=(TOPIC_INVENTORY_LEVELS_UPDATE,),
        ),
        ScheduleTrigger(
            name="daily",
            expression=EXPRESSION,
            accept=accept_tick,
            timezone=TIMEZONE,
            description="Every morning at 05:00 local time: compare both sides per SKU, report (and fix) drift",
        ),
    ),
    connections=(square.CONNECTION, shopify.CONNECTION),
    # A change is a few reads and two writes. The timeout is also the SKU's lease (no invocation
    # outlives it, so no two hold a SKU at once): a worker that dies holding it blocks that SKU's
    # changes until then, so it is kept short. The daily check runs each SKU as a ledger step of its
    # own: one cut short by the timeout resumes at the next SKU on the retry.
    timeout_s=30,
    memory_mb=256,
    batch_size=10,
    # Changes of one SKU wait for its lease anyway; a few at a time keep Shopify's cost bucket full.
    max_concurrency=4,
    max_invocations=2,
    # A busy SKU (another change holds its lease) comes back in seconds; outages are ridden out for
    # about an hour and a half before the DLQ.
    retry=RetryPolicy(max_attempts=12, base_delay_s=2, max_delay_s=900),
)
