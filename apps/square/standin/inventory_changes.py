"""BatchChangeInventory, offline: adjustments and physical counts, and the ``inventory.count.updated`` webhook.

``POST /v2/inventory/changes/batch-create`` - ``idempotency_key`` (required here, as Switchboard always
sends one; at most 128 characters), ``changes`` (at most 100, each ``{"type": "ADJUSTMENT",
"adjustment": {...}}`` or ``{"type": "PHYSICAL_COUNT", "physical_count": {...}}``),
``ignore_unchanged_counts``; answers ``{"counts": [...]}`` - the counts after the change, as
BatchRetrieveInventoryCounts renders them. Square's field texts (square/square-python-sdk
``doc/models/batch-change-inventory-request.md``, ``inventory-adjustment.md``,
``inventory-physical-count.md``; https://developer.squareup.com/reference/square/inventory-api/batch-change-inventory):

* an adjustment moves ``quantity`` (a positive decimal string) from ``from_state`` to ``to_state`` at
  ``location_id``: ``IN_STOCK`` -> ``SOLD`` takes units out of stock, ``NONE`` -> ``IN_STOCK`` adds
  received units; a physical count sets ``state``'s quantity. ``occurred_at`` (RFC 3339) is required;
  ``reference_id`` is kept as given.
  Adjustments are relative: two of them at once both apply, whatever their order.
* Square's idempotency: the same key with the same body answers the first answer and changes
  nothing; the same key with another body is refused (``IDEMPOTENCY_KEY_REUSED``).

Every change sends ``inventory.count.updated`` (https://developer.squareup.com/reference/square/webhooks/inventory.count.updated,
https://developer.squareup.com/docs/inventory-api/webhooks): ``data`` is ``{"type": "inventory",
"id": <uuid>, "object": {"inventory_counts": [<InventoryCount>, ...]}}`` - the new counts only, with no
idempotency key or reference of the change that caused them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final

from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .inventory import _QUANTITY, _STATES, _UNTRACKED, InventoryApi, _Count
from .notifications import NotificationsApi
from .seed import LOCATIONS, MERCHANT_ID
from .wire import Invalid, invalid_request, json_object, parse_time, square_error

__all__ = ["MAX_CHANGES", "InventoryChangesApi"]

#: "Max size is 100 changes."
MAX_CHANGES: Final = 100
_MAX_KEY: Final = 128
_SOURCE_STATES: Final = _STATES | {"NONE"}


class InventoryChangesApi(InventoryApi, NotificationsApi):
    """Adjustments and physical counts, with Square's idempotency, each sending ``inventory.count.updated``."""

    #: idempotency key -> (the body as JSON, the answer).
    _inventory_keys: dict[str, tuple[str, dict[str, Any]]]

    def _reset_counts(self, now: float) -> None:
        super()._reset_counts(now)
        self._inventory_keys = {}

    def _batch_change_inventory(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            body = json_object(req)
            key = body.get("idempotency_key")
            if not isinstance(key, str) or not key:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER",
                    "Missing required parameter `idempotency_key`.",
                    "idempotency_key",
                )
            if len(key) > _MAX_KEY:
                raise invalid_request(
                    "VALUE_TOO_LONG",
                    f"`idempotency_key` must be at most {_MAX_KEY} characters.",
                    "idempotency_key",
                )
            fingerprint = json.dumps(body, sort_keys=True)
            earlier = self._inventory_keys.get(key)
            if earlier is not None:
                if earlier[0] != fingerprint:
                    return square_error(
                        400,
                        "INVALID_REQUEST_ERROR",
                        "IDEMPOTENCY_KEY_REUSED",
                        "The idempotency key can only be retried with the same request data.",
                        "idempotency_key",
                    )
                return SandboxResponse.json(earlier[1])
            changes = body.get("changes")
            if not isinstance(changes, list) or not changes:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER", "Missing required parameter `changes`.", "changes"
                )
            if len(changes) > MAX_CHANGES:
                raise invalid_request(
                    "VALUE_TOO_HIGH", f"At most {MAX_CHANGES} changes per request.", "changes"
                )
            planned = [self._planned(i, c) for i, c in enumerate(changes)]
        except Invalid as invalid:
            return invalid.response
        now = self.clock()
        touched: dict[tuple[str, str, str], _Count] = {}
        for variation, location, moves in planned:
            for state, amount, absolute in moves:
                count = self.counts.setdefault(
                    (variation, location, state), _Count(variation, location, state, Decimal(0), now)
                )
                count.quantity = amount if absolute else count.quantity + amount
                count.calculated_at = now
                if state not in _UNTRACKED:
                    touched[(variation, location, state)] = count
        counts = [c.as_json() for c in touched.values()]
        answer: dict[str, Any] = {"counts": counts}
        self._inventory_keys[key] = (fingerprint, answer)
        if counts:
            self._notify_inventory(counts)
        return SandboxResponse.json(answer)

    def _planned(self, i: int, change: Any) -> tuple[str, str, list[tuple[str, Decimal, bool]]]:
        """(variation, location, [(state, amount, absolute?)]) of one change, or :class:`Invalid`."""
        at = f"changes[{i}]"
        if not isinstance(change, Mapping):
            raise invalid_request("EXPECTED_OBJECT", f"Expected `{at}` to be an object.", at)
        kind = change.get("type")
        if kind == "ADJUSTMENT":
            data = change.get("adjustment")
            where = f"{at}.adjustment"
        elif kind == "PHYSICAL_COUNT":
            data = change.get("physical_count")
            where = f"{at}.physical_count"
        else:
            raise invalid_request(
                "INVALID_ENUM_VALUE", f"`{kind}` is not a valid InventoryChangeType.", f"{at}.type"
            )
        if not isinstance(data, Mapping):
            raise invalid_request(
                "MISSING_REQUIRED_PARAMETER", f"Missing required parameter `{where}`.", where
            )
        variation = data.get("catalog_object_id")
        if not any(
            o.id == variation and o.type == "ITEM_VARIATION" and not o.is_deleted
            for o in self.catalog.values()
        ):
            raise invalid_request(
                "INVALID_VALUE", f"`{variation}` is not a live item variation.", f"{where}.catalog_object_id"
            )
        location = data.get("location_id")
        if location not in LOCATIONS:
            raise invalid_request(
                "INVALID_VALUE", f"Location `{location}` not found.", f"{where}.location_id"
            )
        quantity = str(data.get("quantity", ""))
        if not _QUANTITY.match(quantity):
            raise invalid_request(
                "INVALID_VALUE",
                "`quantity` must be a decimal string with at most 5 places.",
                f"{where}.quantity",
            )
        amount = Decimal(quantity)
        if not isinstance(data.get("occurred_at"), str):
            raise invalid_request(
                "MISSING_REQUIRED_PARAMETER",
                "Missing required parameter `occurred_at`.",
                f"{where}.occurred_at",
            )
        parse_time(data["occurred_at"], f"{where}.occurred_at")
        if kind == "PHYSICAL_COUNT":
            state = data.get("state")
            if state not in _STATES - _UNTRACKED:
                raise invalid_request(
                    "INVALID_ENUM_VALUE", f"`{state}` is not a valid InventoryState.", f"{where}.state"
                )
            return str(variation), str(location), [(str(state), amount, True)]
        source, target = data.get("from_state"), data.get("to_state")
        for name, state in (("from_state", source), ("to_state", target)):
            if state not in _SOURCE_STATES:
                raise invalid_request(
                    "INVALID_ENUM_VALUE", f"`{state}` is not a valid InventoryState.", f"{where}.{name}"
                )
        if amount <= 0 or source == target:
            raise invalid_request(
                "INVALID_VALUE",
                "An adjustment moves a positive quantity between two states.",
                f"{where}.quantity",
            )
        return str(variation), str(location), [(str(source), -amount, False), (str(target), amount, False)]

    def _notify_inventory(self, counts: list[dict[str, Any]]) -> None:
        """``inventory.count.updated`` with the new counts, in the envelope :meth:`_notify` builds."""
        self._sequence += 1
        payload = {
            "merchant_id": MERCHANT_ID,
            "type": "inventory.count.updated",
            "event_id": str(uuid.uuid4()),
            "created_at": iso_ms(self.clock()),
            "data": {"type": "inventory", "id": str(uuid.uuid4()), "object": {"inventory_counts": counts}},
        }
        self.notifications.append(payload)
        self._outbox.append(payload)
