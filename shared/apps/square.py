"""Everything Switchboard knows about Square, written once: auth, version pin, limits, signing, calls.

Sources (Square's own reference and SDKs), for API version :data:`SQUARE_VERSION`:

* Versioning: every request may pin ``Square-Version: YYYY-MM-DD``; without it Square uses the
  version pinned to the application in the Developer Console, which can change under us. 2025-10-16
  is the default of Square's Python SDK 43.2.0.20251016 (``square/square-python-sdk``,
  ``src/square/core/client_wrapper.py``). https://developer.squareup.com/docs/build-basics/versioning-overview
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
* Errors: ``{"errors": [{"category", "code", "detail", "field"}]}``; the status matches the first
  error. https://developer.squareup.com/docs/build-basics/handling-errors
* Rate limits: Square does not publish numbers ("Square does have rate limits but we don't document
  the limits"); it answers ``429`` with code ``RATE_LIMITED`` and asks for exponential back-off with
  jitter (``ErrorCategory.RATE_LIMIT_ERROR``).
* Webhooks: ``x-square-hmacsha256-signature`` is the base64 HMAC-SHA256, keyed with the subscription's
  signature key, of the notification URL followed by the raw body.
  https://developer.squareup.com/docs/webhooks/step3validate

The sandbox environment of Square itself is :data:`SANDBOX_BASE_URL`; locally a connection's
``base_url`` points at Switchboard's own sandbox app instead (``sandbox/square.py``).

Importing this module must stay cheap: specs import it on the ingress path for :data:`CONNECTION`,
:data:`SIGNING` and :data:`VERIFIER`, so httpx (via :mod:`shared.http`) is imported for type checking
only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.apps.base import App
from shared.errors import TargetRejected, TargetUnavailable
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "APP",
    "CONNECTION",
    "MAX_COUNTS_PAGE",
    "MAX_SET_QUERY_VALUES",
    "SANDBOX_BASE_URL",
    "SIGNING",
    "SQUARE_VERSION",
    "VERIFIER",
    "CatalogItem",
    "CatalogItemVariation",
    "CatalogObject",
    "InventoryCount",
    "Money",
    "SquareClient",
    "SquareError",
    "SquareErrorBody",
    "parse_error",
]

#: The API version every request pins (``Square-Version``). Change it deliberately, after reading
#: the release notes between the two versions: it changes shapes for every endpoint at once.
SQUARE_VERSION: Final = "2025-10-16"
#: Square's own test environment (separate sandbox accounts and tokens), for a connection's ``base_url``.
SANDBOX_BASE_URL: Final = "https://connect.squareupsandbox.com"
#: ``CatalogQuerySet.attribute_values``: "A maximum of 250 values may be searched in a request."
MAX_SET_QUERY_VALUES: Final = 250
#: ``BatchRetrieveInventoryCounts.limit`` maximum (and the largest page SearchCatalogObjects honours).
MAX_COUNTS_PAGE: Final = 1000
#: A loop guard: a cursor chain longer than this is a bug on one side, not a catalog.
_MAX_PAGES: Final = 100
_VERSION_FORMAT: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

APP = App(
    name="square",
    base_url="https://connect.squareup.com",
    auth="bearer",
    token_field="token",
    default_headers={"square-version": SQUARE_VERSION},
    # Square documents no Retry-After on its 429s; when a proxy in front of it sends one, it wins
    # over the computed back-off. Without one, a synchronous route answers 503 with a short default.
    retry_after_headers=("retry-after",),
    # Square publishes no numeric limit. Its developer forum reports 429s from as little as ~6
    # requests/s from one application; 3 in flight per client (each call typically 100-300 ms)
    # stays well under that while a stock lookup (catalog search, then counts) runs its 2 calls.
    max_concurrency=3,
    read_timeout_s=8.0,
    idempotency="idempotency_key on writes (CreatePayment, RefundPayment, BatchChangeInventory ...)",
    docs_url="https://developer.squareup.com/reference/square",
)

CONNECTION = APP.connection(
    description=(
        "Square access token (Developer Console > Credentials > Production access token, or an OAuth "
        "token of the seller). Permissions: ITEMS_READ (catalog search), INVENTORY_READ (counts)."
    )
)

SIGNING = Connection(
    name="square_signing",
    app="square",
    description=(
        "Signature key of the Square webhook subscription (Developer Console > Webhooks > "
        "Subscriptions). During a rotation keep the old key as previous_secret until Square has switched."
    ),
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "sandbox-square-signature-key"},
    kind="signing",
)

#: Square signs the notification URL exactly as configured in the subscription, then the raw body.
VERIFIER = HmacVerifier(
    scheme="square", header="x-square-hmacsha256-signature", encoding="base64", content="{url}{body}"
)

if not _VERSION_FORMAT.match(SQUARE_VERSION):  # pragma: no cover - a typo must fail at import
    raise ValueError(f"SQUARE_VERSION {SQUARE_VERSION!r} is not YYYY-MM-DD")

# --- response models -----------------------------------------------------------------------------


class _Model(BaseModel):
    # Square adds fields with every version; ignoring unknown ones keeps old code reading new answers.
    model_config = ConfigDict(frozen=True, extra="ignore")


class SquareError(_Model):
    """One entry of Square's ``errors`` array."""

    category: str
    code: str
    detail: str | None = None
    field: str | None = None


class SquareErrorBody(_Model):
    errors: tuple[SquareError, ...] = ()


def parse_error(text: str | bytes) -> SquareErrorBody | None:
    """Square's error body in ``text``, or ``None`` if it is not one (an edge proxy's HTML page ...)."""
    try:
        body = SquareErrorBody.model_validate_json(text)
    except ValidationError:
        return None
    return body if body.errors else None


class Money(_Model):
    """An amount in the currency's smallest unit (pence, cents)."""

    amount: int | None = None
    currency: str | None = None


class CatalogItemVariation(_Model):
    """``item_variation_data``: the sellable thing a SKU names."""

    item_id: str | None = None
    name: str | None = None
    sku: str | None = None
    upc: str | None = None
    ordinal: int | None = None
    pricing_type: str | None = None
    price_money: Money | None = None
    track_inventory: bool | None = None


class CatalogItem(_Model):
    """``item_data`` of an ``ITEM`` (the product a variation belongs to)."""

    name: str | None = None
    description: str | None = None
    product_type: str | None = None


class CatalogObject(_Model):
    """A catalog object. Only the ``*_data`` member of its ``type`` is set."""

    type: str
    id: str
    updated_at: datetime | None = None
    version: int | None = None
    is_deleted: bool = False
    present_at_all_locations: bool | None = None
    present_at_location_ids: tuple[str, ...] = ()
    item_variation_data: CatalogItemVariation | None = None
    item_data: CatalogItem | None = None

    @property
    def sku(self) -> str | None:
        return self.item_variation_data.sku if self.item_variation_data else None


class InventoryCount(_Model):
    """Square's computed quantity of one variation, in one state, at one location."""

    catalog_object_id: str
    catalog_object_type: str | None = None
    state: str
    location_id: str
    #: A decimal string on the wire (up to 5 places); exact here, never a float.
    quantity: Decimal
    calculated_at: datetime | None = None
    is_estimated: bool | None = None


class _SearchPage(_Model):
    objects: tuple[CatalogObject, ...] = ()
    related_objects: tuple[CatalogObject, ...] = ()
    cursor: str | None = None
    errors: tuple[SquareError, ...] = ()


class _CountsPage(_Model):
    counts: tuple[InventoryCount, ...] = ()
    cursor: str | None = None
    errors: tuple[SquareError, ...] = ()


# --- the client ----------------------------------------------------------------------------------

_M = TypeVar("_M", bound=BaseModel)


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
            for page in self._pages("/v2/catalog/search", body, _SearchPage):
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
            for page in self._pages("/v2/inventory/counts/batch-retrieve", body, _CountsPage):
                counts.extend(page.counts)
        return counts

    # --- plumbing -------------------------------------------------------------------------------

    def _pages(self, path: str, body: Mapping[str, Any], model: type[_M]) -> Iterator[_M]:
        """POST ``body`` and follow ``cursor`` until Square stops sending one."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            request = {**body, "cursor": cursor} if cursor else dict(body)
            response = self._api.request("POST", path, json=request)
            page = self._api.parse(model, response, path)
            errors: tuple[SquareError, ...] = getattr(page, "errors", ())
            if errors:
                # A 2xx carrying errors: Square refused part of the request. Treat it as refused.
                first = errors[0]
                raise TargetRejected(
                    f"square POST {path}: {response.status_code} {first.category} {first.code}: "
                    f"{first.detail or ''}".strip(),
                    status=response.status_code,
                    app=APP.name,
                )
            yield page
            cursor = getattr(page, "cursor", None)
            if not cursor:
                return
            if cursor in seen:
                raise TargetUnavailable(f"square POST {path}: the cursor repeated; pagination is stuck")
            seen.add(cursor)
        raise TargetUnavailable(f"square POST {path}: more than {_MAX_PAGES} pages")
