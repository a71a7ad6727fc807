"""Two places a stock answer is kept: this container's memory, and the integration's DynamoDB table.

* :class:`MemoryCache` - per Lambda container (per Runtime locally), bounded, thread-safe. A busy
  product page asks again and again within seconds; those answers never leave the process.
* :class:`TableStore` - the last known value per SKU (``stock_level#sku#<SKU>``), shared by every
  container. It serves two purposes: a cold container reuses a fresh value another one fetched (so N
  containers do not mean N times the Square calls), and while Square is down or rate limited the
  route answers the last known value, marked stale, instead of an error.

Neither is allowed to turn a working Square into an error: a failing table read is treated as "no
copy", a failing write is logged and the answer goes out anyway.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from shared.table import MAX_BATCH_GET, MAX_BATCH_WRITE, Item, ledger_table

from .models import StockLevel

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from shared.runtime import Runtime

__all__ = ["KEY_PREFIX", "MemoryCache", "TableStore"]

KEY_PREFIX: Final = "stock_level#sku#"


class MemoryCache:
    """Least-recently-used answers, at most ``max_entries`` (random SKUs cannot exhaust memory)."""

    def __init__(self, max_entries: int = 5000) -> None:
        self._entries: OrderedDict[str, StockLevel] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: str) -> StockLevel | None:
        with self._lock:
            level = self._entries.get(key)
            if level is not None:
                self._entries.move_to_end(key)
            return level

    def put(self, levels: Iterable[StockLevel]) -> None:
        with self._lock:
            for level in levels:
                current = self._entries.get(level.key)
                if current is not None and current.fetched_at > level.fetched_at:
                    continue  # a concurrent request stored a newer answer meanwhile
                self._entries[level.key] = level
                self._entries.move_to_end(level.key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class TableStore:
    """Last known values in the integration's table (partition key ``id``, TTL attribute ``expiration``).

    Only SKUs Square knows are written: an unknown SKU is cached in memory only, so probing random
    SKUs cannot fill the table.
    """

    def __init__(self, rt: Runtime, logger: Logger, *, keep_s: int) -> None:
        self._rt = rt
        self._logger = logger
        #: Records expire (DynamoDB TTL) once they are too old to be served even as stale.
        self._keep_s = keep_s

    def get_many(self, keys: Sequence[str]) -> dict[str, StockLevel]:
        found: dict[str, StockLevel] = {}
        table = ledger_table(self._rt)
        for start in range(0, len(keys), MAX_BATCH_GET):
            try:
                read = table.get_batch([KEY_PREFIX + k for k in keys[start : start + MAX_BATCH_GET]])
            except Exception as exc:  # botocore errors: no copy is a cache miss, not a failed request
                self._logger.warning("stock table read failed", extra={"error": type(exc).__name__})
                return found
            for item in read.items:
                level = _from_item(item)
                if level is not None:
                    found[level.key] = level
            if read.unprocessed:
                # Throttled reads: those SKUs go to Square like any other miss.
                self._logger.info(
                    "stock table read partly throttled", extra={"unprocessed": len(read.unprocessed)}
                )
        return found

    def put_many(self, levels: Iterable[StockLevel]) -> None:
        items = [_to_item(level, self._keep_s) for level in levels if level.found]
        table = ledger_table(self._rt)
        for start in range(0, len(items), MAX_BATCH_WRITE):
            try:
                left = table.put_batch(items[start : start + MAX_BATCH_WRITE])
            except Exception as exc:  # botocore errors: the answer is still good; only the copy is lost
                self._logger.warning("stock table write failed", extra={"error": type(exc).__name__})
                return
            if left:
                self._logger.info("stock table write partly throttled", extra={"unprocessed": left})


def _to_item(level: StockLevel, keep_s: int) -> Item:
    item: Item = {
        "id": KEY_PREFIX + level.key,
        "sku": level.key,
        "variation_id": level.variation_id or "",
        "available": level.available,
        "fetched_at": level.fetched_at,
        "locations": list(level.locations),
        "expiration": int(level.fetched_at) + keep_s + 3600,
    }
    if level.updated_at is not None:
        item["updated_at"] = level.updated_at
    return item


def _from_item(item: Item) -> StockLevel | None:
    """A stored record, or ``None`` if it is not one this version wrote (a foreign or broken item)."""
    try:
        return StockLevel(
            key=_text(item["sku"]),
            variation_id=_text(item["variation_id"]) or None,
            available=int(item["available"]),
            updated_at=_text(item["updated_at"]) if "updated_at" in item else None,
            fetched_at=float(item["fetched_at"]),
            locations=tuple(_text(v) for v in item["locations"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    """A string attribute; anything else marks an item this version did not write."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {type(value).__name__}")
    return value
