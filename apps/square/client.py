"""Square's typed client: the calls Switchboard makes, over :class:`shared.http.ApiClient`.

Sources (Square's own reference and SDKs), for API version :data:`~apps.square.SQUARE_VERSION`:

* SearchCatalogObjects ``POST /v2/catalog/search``: ``object_types``, ``query.set_query``
  (``attribute_name``, ``attribute_values``: "exact and case insensitive", at most 250 values),
  ``limit`` (advisory, at most 1,000), ``cursor``; answer ``objects``, ``related_objects``,
  ``cursor``, ``latest_time``. ``sku`` is a searchable attribute of ``CatalogItemVariation``.
  https://developer.squareup.com/reference/square/catalog-api/search-catalog-objects,
  https://developer.squareup.com/reference/square/objects/CatalogQuerySet
* BatchRetrieveInventoryCounts ``POST /v2/inventory/counts/batch-retrieve`` (the pre-2021-06-16 path
  ``/v2/inventory/batch-retrieve-counts`` is retired): ``catalog_object_ids``, ``location_ids``,
  ``states``, ``updated_after``, ``cursor``, ``limit`` (1-1000); answer ``counts`` (newest
  ``calculated_at`` first) and ``cursor``. ``InventoryCount.quantity`` is a decimal string with up to
  5 digits after the point.
  https://developer.squareup.com/reference/square/inventory-api/batch-retrieve-inventory-counts
* ListPayments ``GET /v2/payments`` and ListPaymentRefunds ``GET /v2/refunds``: ``begin_time``
  (RFC 3339, inclusive) and ``end_time`` on the object's ``created_at``, ``sort_order``,
  ``location_id``, ``limit`` (default and maximum 100), ``cursor``; answers ``payments`` /
  ``refunds`` and ``cursor``, or ``{}`` when nothing matches. Without ``location_id`` ListPayments
  covers the seller's default location only, ListPaymentRefunds all locations.
  https://developer.squareup.com/reference/square/payments-api/list-payments,
  https://developer.squareup.com/reference/square/refunds-api/list-payment-refunds
  (field texts as in ``square/square-python-sdk`` ``reference.md`` and
  ``legacy/doc/models/list-payments-request.md``).
* BatchChangeInventory ``POST /v2/inventory/changes/batch-create``: ``idempotency_key``, ``changes``
  (``ADJUSTMENT`` from one state to another, ``PHYSICAL_COUNT``; at most 100),
  ``ignore_unchanged_counts``; answer ``counts``.
  https://developer.squareup.com/reference/square/inventory-api/batch-change-inventory
* RetrieveOrder ``GET /v2/orders/{order_id}``: answer ``{"order": {...}}``.
  https://developer.squareup.com/reference/square/orders-api/retrieve-order
* Errors: ``{"errors": [{"category", "code", "detail", "field"}]}``; the status matches the first
  error. https://developer.squareup.com/docs/build-basics/handling-errors

Worker path only. httpx (via :mod:`shared.http`) is imported for type checking only, so importing
the client is still cheap for the action catalogue.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from shared.errors import TargetRejected, TargetUnavailable
from shared.pagination import cursor_pages

from . import APP, MAX_COUNTS_PAGE, MAX_PAYMENTS_PAGE, MAX_SET_QUERY_VALUES
from .models import (
    CatalogObject,
    ChangesAnswer,
    CountsPage,
    InventoryCount,
    Order,
    OrderAnswer,
    Page,
    Payment,
    PaymentRefund,
    PaymentsPage,
    RefundsPage,
    SearchPage,
    SquareError,
)

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = ["SquareClient", "rfc3339"]

#: A loop guard: a cursor chain longer than this is a bug on one side, not a catalog.
_MAX_PAGES: Final = 100

_P = TypeVar("_P", bound=Page)


def _chunks(values: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _pick(sku: str, matches: Sequence[CatalogObject]) -> CatalogObject:
    """One variation for a SKU several share: the exact spelling first, then the lowest id (stable)."""
    return min(matches, key=lambda o: (o.sku != sku, o.id))


class SquareClient:
    """Typed Square calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, bearer auth, the ``Square-Version`` pin, timeouts and the error mapping
    (429 -> ``RateLimited``, 5xx -> ``TargetUnavailable``, other 4xx -> ``TargetRejected`` with
    Square's error text); this class knows Square's paths, JSON shapes and cursor pagination.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    # --- catalog --------------------------------------------------------------------------------

    def search_variations_by_sku(self, skus: Sequence[str]) -> dict[str, CatalogObject]:
        """The live (not deleted) item variation of each SKU that has one, keyed by the SKU as given.

        SearchCatalogObjects with a ``set_query`` on ``sku`` answers many SKUs in one call and matches
        them exactly, case-insensitively. (SearchCatalogItems was the alternative: its ``text_filter``
        is a word search over names, SKUs and UPCs - "LOAF" would match every loaf - and it answers
        items with ``matched_variation_ids``, one lookup per SKU.) Square does not enforce unique
        SKUs; when several variations match one SKU the one whose SKU has the exact case wins, then
        the lowest id, so the answer is stable between calls.
        """
        wanted = list(dict.fromkeys(s for s in skus if s))
        spellings: dict[str, list[str]] = {}  # casefolded SKU -> the SKUs asked for that match it
        for sku in wanted:
            spellings.setdefault(sku.casefold(), []).append(sku)
        found: dict[str, list[CatalogObject]] = {}
        for chunk in _chunks(wanted, MAX_SET_QUERY_VALUES):
            body: dict[str, Any] = {
                "object_types": ["ITEM_VARIATION"],
                "query": {"set_query": {"attribute_name": "sku", "attribute_values": list(chunk)}},
                "limit": MAX_COUNTS_PAGE,
            }
            for page in self._pages("/v2/catalog/search", body, SearchPage):
                for obj in page.objects:
                    if obj.type != "ITEM_VARIATION" or obj.is_deleted or not obj.sku:
                        continue
                    for sku in spellings.get(obj.sku.casefold(), ()):
                        found.setdefault(sku, []).append(obj)
        return {sku: _pick(sku, matches) for sku, matches in found.items()}

    # --- inventory ------------------------------------------------------------------------------

    def batch_retrieve_counts(
        self,
        variation_ids: Sequence[str],
        location_ids: Sequence[str],
        *,
        states: Sequence[str] | None = None,
    ) -> list[InventoryCount]:
        """Current counts of the variations at the locations, every page of them.

        ``states`` filters server-side (``["IN_STOCK"]`` for what can be sold now); ``None`` returns
        every tracked state. An empty ``location_ids`` would mean *all* locations to Square, so it is
        refused here: a caller that forgot its configuration must not silently count the warehouse.
        """
        ids = list(dict.fromkeys(variation_ids))
        if not ids:
            return []
        if not location_ids:
            raise ValueError("batch_retrieve_counts needs at least one location id")
        counts: list[InventoryCount] = []
        # Square documents no cap on catalog_object_ids; chunks of the page size keep requests bounded.
        for chunk in _chunks(ids, MAX_COUNTS_PAGE):
            body: dict[str, Any] = {
                "catalog_object_ids": list(chunk),
                "location_ids": list(location_ids),
                "limit": MAX_COUNTS_PAGE,
            }
            if states is not None:
                body["states"] = list(states)
            for page in self._pages("/v2/inventory/counts/batch-retrieve", body, CountsPage):
                counts.extend(page.counts)
        return counts

    def batch_change_inventory(
        self, changes: Sequence[Mapping[str, Any]], *, idempotency_key: str
    ) -> list[InventoryCount]:
        """Apply adjustments / physical counts (BatchChangeInventory); the counts after them.

        ``POST /v2/inventory/changes/batch-create`` with ``idempotency_key`` (the same key and body
        answers the first answer: a retry after a timeout changes nothing twice) and
        ``ignore_unchanged_counts: true``. Each change is ``{"type": "ADJUSTMENT", "adjustment":
        {...}}`` or ``{"type": "PHYSICAL_COUNT", "physical_count": {...}}``, at most 100.
        https://developer.squareup.com/reference/square/inventory-api/batch-change-inventory
        """
        if not changes:
            raise ValueError("batch_change_inventory needs at least one change")
        if not idempotency_key:
            raise ValueError("batch_change_inventory needs an idempotency key")
        path = "/v2/inventory/changes/batch-create"
        body = {"idempotency_key": idempotency_key, "changes": list(changes), "ignore_unchanged_counts": True}
        response = self._api.request("POST", path, json=body)
        answer = self._api.parse(ChangesAnswer, response, path)
        _raise_errors(answer.errors, response.status_code, f"POST {path}")
        return list(answer.counts)

    # --- orders ---------------------------------------------------------------------------------

    def retrieve_order(self, order_id: str) -> Order:
        """One order by id (RetrieveOrder, ``GET /v2/orders/{order_id}``).

        A payment's ``order_id`` names the order that holds its line items and taxes; an unknown id
        is Square's 404 ``NOT_FOUND``, a permanent :class:`~shared.errors.TargetRejected`.
        https://developer.squareup.com/reference/square/orders-api/retrieve-order
        """
        if not order_id:
            raise ValueError("retrieve_order needs an order id")
        path = f"/v2/orders/{quote(order_id, safe='')}"
        response = self._api.request("GET", path, template="/v2/orders/{order_id}")
        answer = self._api.parse(OrderAnswer, response, "/v2/orders/{order_id}")
        _raise_errors(answer.errors, response.status_code, "GET /v2/orders/{order_id}")
        if answer.order is None:
            raise TargetUnavailable("square GET /v2/orders/{order_id}: a 2xx answer without an order")
        return answer.order

    # --- payments and refunds -------------------------------------------------------------------

    def list_payments(
        self,
        *,
        begin_time: datetime,
        end_time: datetime,
        location_id: str | None = None,
        sort_order: str = "ASC",
        limit: int = MAX_PAYMENTS_PAGE,
    ) -> Iterator[Payment]:
        """Payments *created* in ``[begin_time, end_time)``, every page (ListPayments, ``GET /v2/payments``).

        Square: ``begin_time`` is inclusive, the range is on ``created_at``, the page size is at most
        100 (:data:`MAX_PAYMENTS_PAGE`). Without ``location_id`` Square answers for the seller's
        *default (main) location only* - not all locations - so a report across locations asks once
        per location. Every status comes back (APPROVED, PENDING, COMPLETED, CANCELED, FAILED); the
        caller filters. Times go out as UTC RFC 3339 with a ``Z`` (an offset's ``+`` would need
        escaping in a query string). ``sort_order`` ``ASC`` (oldest first) so a report reads in order.
        https://developer.squareup.com/reference/square/payments-api/list-payments
        """
        params = _list_params(begin_time, end_time, location_id, sort_order, limit)
        for page in self._get_pages("/v2/payments", params, PaymentsPage):
            yield from page.payments

    def list_refunds(
        self,
        *,
        begin_time: datetime,
        end_time: datetime,
        location_id: str | None = None,
        sort_order: str = "ASC",
        limit: int = MAX_PAYMENTS_PAGE,
        status: str | None = None,
    ) -> Iterator[PaymentRefund]:
        """Refunds *created* in ``[begin_time, end_time)``, every page (ListPaymentRefunds, ``GET /v2/refunds``).

        Same time and page rules as :meth:`list_payments`, but without ``location_id`` Square answers
        for *all* locations. A refund of yesterday's sale made today belongs to today's report: the
        range is on the refund's own ``created_at``. ``status`` (e.g. ``COMPLETED``) filters server-side.
        https://developer.squareup.com/reference/square/refunds-api/list-payment-refunds
        """
        params = _list_params(begin_time, end_time, location_id, sort_order, limit)
        if status is not None:
            params["status"] = status
        for page in self._get_pages("/v2/refunds", params, RefundsPage):
            yield from page.refunds

    # --- plumbing -------------------------------------------------------------------------------

    def _pages(self, path: str, body: Mapping[str, Any], model: type[_P]) -> Iterator[_P]:
        """POST ``body`` and follow ``cursor`` (in the body) until Square stops sending one."""

        def fetch(cursor: str | None) -> tuple[_P, str | None]:
            request = {**body, "cursor": cursor} if cursor else dict(body)
            response = self._api.request("POST", path, json=request, safe=True)  # searches: reads
            page = self._api.parse(model, response, path)
            _raise_errors(page.errors, response.status_code, f"POST {path}")
            return page, page.cursor

        return cursor_pages(fetch, what=f"square POST {path}", max_pages=_MAX_PAGES)

    def _get_pages(self, path: str, params: Mapping[str, str], model: type[_P]) -> Iterator[_P]:
        """GET with ``params`` and follow ``cursor`` (a query parameter) until Square stops sending one."""

        def fetch(cursor: str | None) -> tuple[_P, str | None]:
            query = {**params, "cursor": cursor} if cursor else dict(params)
            response = self._api.request("GET", path, params=query)
            page = self._api.parse(model, response, path)
            _raise_errors(page.errors, response.status_code, f"GET {path}")
            return page, page.cursor

        return cursor_pages(fetch, what=f"square GET {path}", max_pages=_MAX_PAGES)


def _raise_errors(errors: Sequence[SquareError], status: int, where: str) -> None:
    """A 2xx carrying errors: Square refused part of the request. Treat it as refused."""
    if errors:
        first = errors[0]
        raise TargetRejected(
            f"square {where}: {status} {first.category} {first.code}: {first.detail or ''}".strip(),
            status=status,
            app=APP.name,
        )


def rfc3339(when: datetime) -> str:
    """``2026-11-20T00:00:00Z``: an aware time in UTC, as Square's time filters take it.

    A naive time is refused: whether it meant UTC or the shop's local time decides which sales a
    report counts, so the caller must say.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{when!r} has no time zone; Square's time filters need one")
    utc = when.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond // 1000:03d}"
    return text + "Z"


def _list_params(
    begin_time: datetime, end_time: datetime, location_id: str | None, sort_order: str, limit: int
) -> dict[str, str]:
    begin, end = rfc3339(begin_time), rfc3339(end_time)  # refuses naive times first
    if end_time <= begin_time:
        raise ValueError("end_time must be after begin_time")
    if sort_order not in ("ASC", "DESC"):
        raise ValueError("sort_order must be ASC or DESC")
    if not 1 <= limit <= MAX_PAYMENTS_PAGE:
        raise ValueError(f"limit must be 1-{MAX_PAYMENTS_PAGE}")
    params = {
        "begin_time": begin,
        "end_time": end,
        "sort_order": sort_order,
        "limit": str(limit),
    }
    if location_id:
        params["location_id"] = location_id
    return params
