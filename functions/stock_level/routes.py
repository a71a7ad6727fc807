"""The route handlers: ``GET /stock/{sku}`` and ``GET /stock?skus=A,B,C``.

Each is ``fn(ctx, request, path_params) -> (status, body, headers)`` (see :mod:`shared.sync`). They
check who is asking (:mod:`.access`), parse the SKUs (400 on a malformed one), find the stock
(:mod:`.lookup`) and shape the answer. Refusals are raised as ingress errors and answered by the
ingress path; Square being unavailable with nothing known to fall back on is raised as the
client's retryable error and answered ``503`` with ``Retry-After``.

Answers (one SKU)::

    200 {"sku": "LOAF-RYE", "available": 3, "in_stock": true, "updated_at": "2026-...Z",
         "stale": false, "age_s": 4}
    404 {"error": "sku_not_found", "message": "...", "sku": "LOAF-XYZ"}

and for several: ``200 {"items": [<one answer per known SKU, in the order asked>],
"not_found": [...], "unavailable": [...]}`` - ``unavailable`` lists SKUs that Square could not be
asked about just now and that have no last known value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared import trace

from . import lookup
from .access import Access, check_access
from .cache import TableStore
from .models import Settings, parse_sku, parse_skus, sku_key

if TYPE_CHECKING:
    from shared.sync import RouteContext
    from shared.webhooks.base import WebhookRequest

__all__ = ["get_many", "get_one"]

Answer = tuple[int, Any, Mapping[str, str]]

#: The sources counted as metrics: a container that read the table (another one asked the stock app)
#: and a last known value served while the stock app is down. Answers from memory or from the stock
#: app itself are the normal path: the ``sources`` field of the ``stock answered`` line says where
#: each answer came from, and the function's own Invocations metric (free) counts the requests - a
#: billed metric series of their own would only repeat that.
COUNTED_SOURCES = frozenset({"table", "stale"})


def get_one(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """``GET /stock/{sku}``: one SKU's stock, 404 if the stock app's catalog has no live variation for it."""
    settings, access = _admit(ctx, request)
    sku = parse_sku(params.get("sku", ""), "sku")
    key = sku_key(sku)
    found = _lookup(ctx, settings).find([key], revalidate=_revalidate(request, access))
    if key in found.unavailable and found.error is not None:
        raise found.error  # nothing known: 503 with Retry-After
    level = found.levels[key]
    now = lookup.clock()
    stale = key in found.stale
    headers = {**access.headers, **_cache_headers(settings, [level.age(now)], stale=stale)}
    _log(ctx, "one", access, found.sources, status=404 if not level.found else 200)
    if not level.found:
        catalogue = "Square" if settings.stock_app == "square" else "Shopify"
        message = f"no item variation has SKU {sku} in the {catalogue} catalog"
        return 404, {"error": "sku_not_found", "message": message, "sku": sku}, headers
    return 200, level.answer(sku, now, stale=stale), headers


def get_many(ctx: RouteContext, request: WebhookRequest, params: Mapping[str, str]) -> Answer:
    """``GET /stock?skus=A,B,C``: several SKUs at once (at most 100), in the order asked."""
    settings, access = _admit(ctx, request)
    skus = parse_skus(request.query.get("skus"))
    found = _lookup(ctx, settings).find([sku_key(s) for s in skus], revalidate=_revalidate(request, access))
    if found.error is not None and not found.levels:
        raise found.error  # Square down and nothing known about any of them: 503
    now = lookup.clock()
    items, not_found, unavailable, ages = [], [], [], []
    for sku in skus:
        key = sku_key(sku)
        level = found.levels.get(key)
        if level is None:
            unavailable.append(sku)
        elif not level.found:
            not_found.append(sku)
            ages.append(level.age(now))
        else:
            items.append(level.answer(sku, now, stale=key in found.stale))
            ages.append(level.age(now))
    stale = bool(found.stale) or bool(unavailable)
    headers = {**access.headers, **_cache_headers(settings, ages, stale=stale)}
    _log(ctx, "many", access, found.sources, status=200)
    return 200, {"items": items, "not_found": not_found, "unavailable": unavailable}, headers


# --- helpers --------------------------------------------------------------------------------------


def _admit(ctx: RouteContext, request: WebhookRequest) -> tuple[Settings, Access]:
    settings = ctx.settings
    if not isinstance(settings, Settings):  # pragma: no cover - the spec declares Settings
        raise TypeError(f"stock_level settings must be Settings, not {type(settings).__name__}")
    return settings, check_access(ctx.rt, settings, request)


def _lookup(ctx: RouteContext, settings: Settings) -> lookup.StockLookup:
    return lookup.StockLookup(
        settings=settings,
        memory=lookup.memory_cache(ctx.rt),
        store=TableStore(ctx.rt, ctx.logger, keep_s=settings.stale_max_seconds),
        ctx=ctx,
        logger=ctx.logger,
    )


def _revalidate(request: WebhookRequest, access: Access) -> bool:
    """A server caller with a valid key may insist on asking Square (``Cache-Control: no-cache``).

    Browsers send ``no-cache`` on a hard reload; honouring that from keyless callers would let one
    impatient visitor - or a script - bypass the cache that protects Square's rate limit.
    """
    directives = {d.strip().lower() for d in (request.header("cache-control") or "").split(",")}
    return access.trusted and bool(directives & {"no-cache", "max-age=0"})


def _cache_headers(settings: Settings, ages: Sequence[int], *, stale: bool) -> dict[str, str]:
    """Let browsers reuse an answer for what is left of its freshness; never a stale one."""
    if stale or not ages:
        return {"cache-control": "no-cache"}
    left = max(0, settings.cache_seconds - max(ages))
    return {"cache-control": f"public, max-age={left}"}


def _log(ctx: RouteContext, route: str, access: Access, sources: Mapping[str, int], *, status: int) -> None:
    for source, n in sources.items():
        if source in COUNTED_SOURCES:
            ctx.metrics.add_metric(name=f"Stock{source.capitalize()}", unit="Count", value=n)
    ctx.logger.info(
        "stock answered",
        extra={"route": route, "status": status, "via": access.via, "sources": dict(sources)},
    )
    trace.record(ctx.rt.name, None, "answered", status=status, route=route, **dict(sources))
