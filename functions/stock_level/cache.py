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
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from .models import StockLevel

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from shared.runtime import Runtime

__all__ = ["KEY_PREFIX", "MemoryCache", "TableStore"]

KEY_PREFIX: Final = "stock_level#sku#"
#: DynamoDB BatchGetItem takes at most 100 keys, BatchWriteItem at most 25 items.
_GET_BATCH: Final = 100
_WRITE_BATCH: Final = 25


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
        ddb = self._rt.aws("dynamodb")
        for start in range(0, len(keys), _GET_BATCH):
            wanted = {"Keys": [{"id": {"S": KEY_PREFIX + k}} for k in keys[start : start + _GET_BATCH]]}
            try:
                result = ddb.batch_get_item(RequestItems={self._rt.table: wanted})
            except Exception as exc:  # botocore errors: no copy is a cache miss, not a failed request
                self._logger.warning("stock table read failed", extra={"error": type(exc).__name__})
                return found
            for item in result.get("Responses", {}).get(self._rt.table, []):
                level = _from_item(item)
                if level is not None:
                    found[level.key] = level
            unprocessed = result.get("UnprocessedKeys", {}).get(self._rt.table, {}).get("Keys", [])
            if unprocessed:
                # Throttled reads: those SKUs go to Square like any other miss.
                self._logger.info(
                    "stock table read partly throttled", extra={"unprocessed": len(unprocessed)}
                )
        return found

    def put_many(self, levels: Iterable[StockLevel]) -> None:
        items = [_to_item(level, self._keep_s) for level in levels if level.found]
        ddb = self._rt.aws("dynamodb")
        for start in range(0, len(items), _WRITE_BATCH):
            batch = [{"PutRequest": {"Item": item}} for item in items[start : start + _WRITE_BATCH]]
            try:
                result = ddb.batch_write_item(RequestItems={self._rt.table: batch})
            except Exception as exc:  # botocore errors: the answer is still good; only the copy is lost
                self._logger.warning("stock table write failed", extra={"error": type(exc).__name__})
                return
            left = result.get("UnprocessedItems", {}).get(self._rt.table, [])
            if left:
                self._logger.info("stock table write partly throttled", extra={"unprocessed": len(left)})


def _to_item(level: StockLevel, keep_s: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": {"S": KEY_PREFIX + level.key},
        "sku": {"S": level.key},
        "variation_id": {"S": level.variation_id or ""},
        "available": {"N": str(level.available)},
        "fetched_at": {"N": str(Decimal(repr(level.fetched_at)))},
        "locations": {"L": [{"S": loc} for loc in level.locations]},
        "expiration": {"N": str(int(level.fetched_at) + keep_s + 3600)},
    }
    if level.updated_at is not None:
        item["updated_at"] = {"S": level.updated_at}
    return item


def _from_item(item: Mapping[str, Any]) -> StockLevel | None:
    """A stored record, or ``None`` if it is not one this version wrote (a foreign or broken item)."""
    try:
        return StockLevel(
            key=item["sku"]["S"],
            variation_id=item["variation_id"]["S"] or None,
            available=int(item["available"]["N"]),
            updated_at=item["updated_at"]["S"] if "updated_at" in item else None,
            fetched_at=float(item["fetched_at"]["N"]),
            locations=tuple(v["S"] for v in item["locations"]["L"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
