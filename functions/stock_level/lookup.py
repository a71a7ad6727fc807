"""Finding the stock of some SKUs: memory, then the table, then the stock app - and back when it fails.

The stock app is the settings' ``stock_app``: Square (the till's catalogue, the default) or Shopify
(when the shop's catalogue lives in its web shop); "Square" below means whichever it is -
``shared.actions.provider("stock.get", stock_app)`` answers in the same contract.

For each SKU, the first of these that has a *fresh* answer (younger than ``cache_seconds``, summed
over the currently configured locations) wins:

1. this container's :class:`~functions.stock_level.cache.MemoryCache`;
2. the :class:`~functions.stock_level.cache.TableStore` (another container may have asked recently);
3. Square: one catalog search for all missing SKUs, one inventory batch-retrieve for their
   variations. The answers go back into memory and the table.

When step 3 fails with a retryable error (Square 5xx, timeout, 429), each SKU gets its last known
value from memory or the table, marked stale, if it is at most ``stale_max_seconds`` old; the
others are *unavailable*. A permanent error (Square refused: bad token, missing permission) is not
papered over with old values: it propagates and is answered 502, so the operator sees it.
Unknown SKUs are remembered in memory only, and never served stale.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.actions import provider
from shared.actions.stock import Stock, StockQuery
from shared.errors import RetryableError

from .cache import MemoryCache, TableStore
from .models import Settings, StockLevel

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

    from shared.actions import ActionContext
    from shared.runtime import Runtime

__all__ = ["Found", "StockLookup", "clock", "memory_cache"]

#: The time source (tests replace it; nothing sleeps).
clock: Callable[[], float] = time.time

_MEMORY_SLOT = "stock_level:memory"


def memory_cache(rt: Runtime) -> MemoryCache:
    """The container's cache, kept on the Runtime (one per Lambda container, one per runtime locally)."""
    with rt._lock:
        cache = rt._clients.get(_MEMORY_SLOT)
        if not isinstance(cache, MemoryCache):
            cache = rt._clients[_MEMORY_SLOT] = MemoryCache()
        return cache


@dataclass
class Found:
    """The outcome for a set of SKU keys."""

    levels: dict[str, StockLevel] = field(default_factory=dict)
    #: Keys answered from a last known value because Square failed.
    stale: set[str] = field(default_factory=set)
    #: Keys with no answer at all (Square failed and nothing usable was known).
    unavailable: list[str] = field(default_factory=list)
    #: Square's error, when it failed.
    error: RetryableError | None = None
    #: Where answers came from, for logs and metrics: memory, table, square, stale.
    sources: dict[str, int] = field(default_factory=dict)


class StockLookup:
    """One request's lookup. Cheap to make: the caches and the HTTP client outlive it."""

    def __init__(
        self,
        *,
        settings: Settings,
        memory: MemoryCache,
        store: TableStore,
        ctx: ActionContext,
        logger: Logger,
    ) -> None:
        self._settings = settings
        self._memory = memory
        self._store = store
        self._ctx = ctx
        self._logger = logger

    def find(self, keys: Sequence[str], *, revalidate: bool = False) -> Found:
        """Answers for ``keys``; ``revalidate`` skips fresh cached values (a trusted caller asked)."""
        now = clock()
        found = Found()
        known: dict[str, StockLevel] = {}  # last known values, for when Square fails
        todo: list[str] = []
        for key in dict.fromkeys(keys):
            level = self._memory.get(key)
            if level is not None and self._usable(level):
                if not revalidate and self._fresh(level, now):
                    self._take(found, level, "memory")
                    continue
                known[key] = level
            todo.append(key)
        if todo and not revalidate:
            for key, level in self._store.get_many(todo).items():
                if not self._usable(level):
                    continue
                if self._fresh(level, now):
                    self._take(found, level, "table")
                    self._memory.put([level])
                elif key not in known or known[key].fetched_at < level.fetched_at:
                    known[key] = level
            todo = [k for k in todo if k not in found.levels]
        if not todo:
            return found
        try:
            fetched = self._from_square(todo, now)
        except RetryableError as exc:
            return self._fall_back(found, todo, known, exc, now, read_table=revalidate)
        self._memory.put(fetched)
        self._store.put_many(fetched)
        for level in fetched:
            self._take(found, level, "square")
        return found

    # --- the three outcomes ---------------------------------------------------------------------

    def _from_square(self, keys: list[str], now: float) -> list[StockLevel]:
        query = StockQuery(skus=keys, location_ids=list(self._settings.location_ids))
        answer: Stock = provider("stock.get", self._settings.stock_app)(self._ctx, query)
        return [
            StockLevel(
                key=item.sku,
                variation_id=item.variation_id,
                available=item.available,
                updated_at=item.updated_at,
                fetched_at=now,
                locations=self._settings.cache_locations,
            )
            for item in answer.items
        ]

    def _fall_back(
        self,
        found: Found,
        todo: list[str],
        known: dict[str, StockLevel],
        error: RetryableError,
        now: float,
        *,
        read_table: bool,
    ) -> Found:
        if read_table:  # a revalidating request skipped the table on the way in
            for key, level in self._store.get_many(todo).items():
                if self._usable(level) and (key not in known or known[key].fetched_at < level.fetched_at):
                    known[key] = level
        found.error = error
        for key in todo:
            last = known.get(key)
            if last is not None and last.found and now - last.fetched_at <= self._settings.stale_max_seconds:
                self._take(found, last, "stale")
                found.stale.add(key)
            else:
                found.unavailable.append(key)
        self._logger.warning(
            "square unavailable; serving last known values",
            extra={
                "reason": error.code,
                "stale": len(found.stale),
                "unavailable": len(found.unavailable),
            },
        )
        return found

    # --- rules ----------------------------------------------------------------------------------

    def _usable(self, level: StockLevel) -> bool:
        """Summed over the locations configured now (a settings change must not serve old sums)."""
        return level.locations == self._settings.cache_locations

    def _fresh(self, level: StockLevel, now: float) -> bool:
        return now - level.fetched_at < self._settings.cache_seconds

    @staticmethod
    def _take(found: Found, level: StockLevel, source: str) -> None:
        found.levels[level.key] = level
        found.sources[source] = found.sources.get(source, 0) + 1
