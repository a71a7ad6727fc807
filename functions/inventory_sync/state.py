"""What inventory_sync keeps in the ledger table: per SKU, the last quantity it knows on each side.

``<integration>#stock#<sha256 of the SKU>`` holds ``square`` and ``shopify`` - each side's quantity as
last read or written by this integration - and, while a change is being written, ``pending``: the
plan (what was read, the writes with their idempotency keys, what each side holds after). A plan is
saved *before* its writes and cleared when they are done, so an attempt that dies between the two
finishes the same writes with the same keys on the next attempt (the providers answer a repeated key
with the first answer), instead of taking its own write for a new sale. Everything here is read and
written under the SKU's lease (:meth:`shared.ordering.EntityVersions.hold`).

``<integration>#item#<side>#<sha256 of the item id>`` maps a provider's item id (the webhooks name
items, not SKUs) to the SKU; ``<integration>#items#<side>`` says when that side's map was last
rebuilt from the settings' SKUs.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

from shared.errors import TargetUnavailable
from shared.table import ledger_table

from .models import Side

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = ["ItemMap", "Plan", "Record", "Records", "Write"]

T = TypeVar("T")

#: Records outlive a quiet SKU (a seasonal cake): a year after the last change.
KEEP_S: Final = 365 * 24 * 3600
#: An unknown item id rebuilds the side's map at most this often (an item not synced is asked about
#: once an hour, not on every sale).
REFRESH_S: Final = 3600


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class Write:
    """One relative adjustment of one side: ``delta`` units, if ``expected`` is there (compare-and-set)."""

    side: Side
    delta: int
    expected: int
    key: str


@dataclass(frozen=True)
class Plan:
    """Writes decided together, and what each side holds once they are done."""

    id: str
    sku: str
    #: When the plan was made (ISO 8601): Square's ``occurred_at``, the same on every retry.
    at: str
    read: dict[str, int]
    writes: tuple[Write, ...]
    after: dict[str, int]
    #: ``sync`` (a sale propagated) or ``fix`` (drift corrected by the daily check).
    why: str = "sync"

    def as_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Plan:
        data = json.loads(text)
        writes = tuple(Write(**w) for w in data.pop("writes"))
        return cls(writes=writes, **data)


@dataclass(frozen=True)
class Record:
    """The last quantity known on each side, and the plan being written (if any)."""

    square: int
    shopify: int
    pending: Plan | None = None

    def last(self, side: Side) -> int:
        return self.square if side == "square" else self.shopify


class Records:
    """The SKU records of one integration."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def _key(self, sku: str) -> str:
        return f"{self._rt.name}#stock#{_digest(sku.casefold())}"

    def get(self, sku: str) -> Record | None:
        item = _guarded(lambda: ledger_table(self._rt).get(self._key(sku), consistent=True))
        if not item or "square" not in item:
            return None
        pending = item.get("pending")
        return Record(
            square=int(item["square"]),
            shopify=int(item["shopify"]),
            pending=Plan.from_json(str(pending)) if pending else None,
        )

    def put(self, sku: str, square: int, shopify: int, pending: Plan | None = None) -> Record:
        item: dict[str, Any] = {
            "id": self._key(sku),
            "sku": sku,
            "square": square,
            "shopify": shopify,
            "updated_at": int(time.time()),
            "expiration": int(time.time()) + KEEP_S,
        }
        if pending is not None:
            item["pending"] = pending.as_json()
        _guarded(lambda: ledger_table(self._rt).put(item))
        return Record(square, shopify, pending)


class ItemMap:
    """Provider item id -> SKU, per side, learnt from the counts of the settings' SKUs."""

    def __init__(self, rt: Runtime, clock: Callable[[], float] = time.time) -> None:
        self._rt = rt
        self._clock = clock

    def _key(self, side: Side, item_id: str) -> str:
        return f"{self._rt.name}#item#{side}#{_digest(item_id)}"

    def sku_of(self, side: Side, item_id: str) -> str | None:
        item = _guarded(lambda: ledger_table(self._rt).get(self._key(side, item_id)))
        return str(item["sku"]) if item and item.get("sku") else None

    def learn(self, side: Side, pairs: Iterable[tuple[str, str]]) -> None:
        """Record ``(item id, sku)`` pairs, and that the map was rebuilt now."""
        table = ledger_table(self._rt)
        expiration = int(self._clock()) + KEEP_S
        items = [{"id": self._key(side, i), "sku": s, "expiration": expiration} for i, s in pairs]
        items.append(
            {
                "id": f"{self._rt.name}#items#{side}",
                "refreshed_at": int(self._clock()),
                "expiration": expiration,
            }
        )
        _guarded(lambda: table.put_batch(items))

    def due(self, side: Side) -> bool:
        """Whether the side's map may be rebuilt (never, or more than :data:`REFRESH_S` ago)."""
        item = _guarded(lambda: ledger_table(self._rt).get(f"{self._rt.name}#items#{side}"))
        return not item or self._clock() - float(item.get("refreshed_at", 0)) >= REFRESH_S


def _guarded(fn: Callable[[], T]) -> T:
    """A table call; the table out of reach is retryable."""
    try:
        return fn()
    except Exception as exc:  # botocore errors
        if isinstance(exc, TargetUnavailable):
            raise
        raise TargetUnavailable(f"inventory_sync records unavailable: {type(exc).__name__}") from exc
