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
* ListPayments ``GET /v2/payments`` and ListPaymentRefunds ``GET /v2/refunds``: ``begin_time``
  (RFC 3339, inclusive) and ``end_time`` on the object's ``created_at``, ``sort_order``,
  ``location_id``, ``limit`` (default and maximum 100), ``cursor``; answers ``payments`` /
  ``refunds`` and ``cursor``, or ``{}`` when nothing matches. Without ``location_id`` ListPayments
  covers the seller's default location only, ListPaymentRefunds all locations.
  https://developer.squareup.com/reference/square/payments-api/list-payments,
  https://developer.squareup.com/reference/square/refunds-api/list-payment-refunds
  (field texts as in ``square/square-python-sdk`` ``reference.md`` and
  ``legacy/doc/models/list-payments-request.md``).
* RetrieveOrder ``GET /v2/orders/{order_id}``: answer ``{"order": {...}}``.
  https://developer.squareup.com/reference/square/orders-api/retrieve-order
* Webhooks ``payment.created``/``payment.updated``/``refund.created``/``refund.updated``: envelope
  ``merchant_id``, ``type``, ``event_id``, ``created_at``, ``data`` {``type``, ``id``, ``object``}.
  https://developer.squareup.com/reference/square/payments-api/webhooks/payment.updated
* Errors: ``{"errors": [{"category", "code", "detail", "field"}]}``; the status matches the first
  error. https://developer.squareup.com/docs/build-basics/handling-errors
* Rate limits: Square does not publish numbers ("Square does have rate limits but we don't document
  the limits"); it answers ``429`` with code ``RATE_LIMITED`` and asks for exponential back-off with
  jitter (``ErrorCategory.RATE_LIMIT_ERROR``).
* Webhooks: ``x-square-hmacsha256-signature`` is the base64 HMAC-SHA256, keyed with the subscription's
  signature key, of the notification URL followed by the raw body.
  https://developer.squareup.com/docs/webhooks/step3validate

The sandbox environment of Square itself is :data:`SANDBOX_BASE_URL`; locally a connection's
``base_url`` points at Switchboard's own sandbox app instead (``apps/square/standin.py``).

Importing this module must stay cheap: specs import it on the ingress path for :data:`CONNECTION`,
:data:`SIGNING` and :data:`VERIFIER`, so httpx (via :mod:`shared.http`) is imported for type checking
only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.app import App
from shared.errors import TargetRejected, TargetUnavailable
from shared.pagination import cursor_pages
from shared.spec import Connection
from shared.webhooks.hmac import HmacVerifier

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "APP",
    "CONNECTION",
    "MAX_COUNTS_PAGE",
    "MAX_PAYMENTS_PAGE",
    "MAX_SET_QUERY_VALUES",
    "SANDBOX_BASE_URL",
    "SIGNING",
    "SQUARE_VERSION",
    "VERIFIER",
    "Card",
    "CardPaymentDetails",
    "CashPaymentDetails",
    "CatalogItem",
    "CatalogItemVariation",
    "CatalogObject",
    "InventoryCount",
    "Money",
    "Order",
    "OrderLineItem",
    "OrderLineItemTax",
    "OrderRefund",
    "Payment",
    "PaymentCreatedEvent",
    "PaymentRefund",
    "PaymentUpdatedEvent",
    "ProcessingFee",
    "RefundCreatedEvent",
    "RefundUpdatedEvent",
    "SquareClient",
    "SquareError",
    "SquareErrorBody",
    "Tender",
    "parse_error",
    "rfc3339",
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
#: ListPayments / ListPaymentRefunds ``limit``: "The default value of 100 is also the maximum".
MAX_PAYMENTS_PAGE: Final = 100
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
        "token of the seller). Permissions: ITEMS_READ (catalog search), INVENTORY_READ (counts), "
        "PAYMENTS_READ (payments, refunds), ORDERS_READ (orders)."
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


# --- payments, refunds, orders -------------------------------------------------------------------
#
# Shapes of Square-Version 2025-10-16 (``square/square-python-sdk`` 43.2.0.20251016,
# ``src/square/types/payment.py``, ``payment_refund.py``, ``order.py``, ``order_line_item.py``,
# ``order_line_item_tax.py``, ``tender.py``, ``refund.py``, ``card.py``). Every field is optional
# except the id: Square omits fields it has no value for (a cash payment has no ``card_details``, a
# payment without a tip has no ``tip_money``), and versions add fields, which are ignored.


class ProcessingFee(_Model):
    """Square's fee on a payment or refund (``type`` ``INITIAL`` or ``ADJUSTMENT``).

    It is usually absent at first and appears within minutes of the payment (Square: "there can be
    a delay"), so a report made the next morning sees it, and one made at once may not.
    https://developer.squareup.com/reference/square/objects/ProcessingFee
    """

    effective_at: datetime | None = None
    type: str | None = None
    amount_money: Money | None = None


class Card(_Model):
    """The card of a card payment (never the number: brand, last 4, expiry, fingerprint)."""

    id: str | None = None
    #: ``VISA``, ``MASTERCARD``, ``AMERICAN_EXPRESS``, ``DISCOVER``, ``JCB``, ``INTERAC``,
    #: ``SQUARE_GIFT_CARD``, ``OTHER_BRAND`` ... (``CardBrand``).
    card_brand: str | None = None
    last_4: str | None = None
    exp_month: int | None = None
    exp_year: int | None = None
    cardholder_name: str | None = None
    fingerprint: str | None = None
    card_type: str | None = None
    prepaid_type: str | None = None
    bin: str | None = None


class CardPaymentDetails(_Model):
    """``card_details``: ``status`` is ``AUTHORIZED``, ``CAPTURED``, ``VOIDED`` or ``FAILED``."""

    status: str | None = None
    card: Card | None = None
    entry_method: str | None = None
    cvv_status: str | None = None
    avs_status: str | None = None
    auth_result_code: str | None = None
    statement_description: str | None = None


class CashPaymentDetails(_Model):
    """``cash_details``: what the buyer handed over and the change given back."""

    buyer_supplied_money: Money | None = None
    change_back_money: Money | None = None


class ExternalPaymentDetails(_Model):
    """``external_details``: a payment taken outside Square (cheque, bank transfer, other gift card)."""

    type: str | None = None
    source: str | None = None
    source_id: str | None = None
    source_fee_money: Money | None = None


class DigitalWalletDetails(_Model):
    """``wallet_details``: ``brand`` is e.g. ``CASH_APP``, ``PAYPAY``, ``ALIPAY``."""

    status: str | None = None
    brand: str | None = None


class Payment(_Model):
    """A payment (Payments API). ``total_money`` = ``amount_money`` + ``tip_money``; ``status`` is
    ``APPROVED``, ``PENDING``, ``COMPLETED``, ``CANCELED`` or ``FAILED`` - only ``COMPLETED`` is money
    taken. ``source_type``: ``CARD``, ``BANK_ACCOUNT``, ``WALLET``, ``BUY_NOW_PAY_LATER``,
    ``SQUARE_ACCOUNT``, ``CASH``, ``EXTERNAL``.
    https://developer.squareup.com/reference/square/objects/Payment
    """

    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    total_money: Money | None = None
    app_fee_money: Money | None = None
    approved_money: Money | None = None
    refunded_money: Money | None = None
    processing_fee: tuple[ProcessingFee, ...] = ()
    status: str | None = None
    delay_duration: str | None = None
    source_type: str | None = None
    card_details: CardPaymentDetails | None = None
    cash_details: CashPaymentDetails | None = None
    external_details: ExternalPaymentDetails | None = None
    wallet_details: DigitalWalletDetails | None = None
    location_id: str | None = None
    order_id: str | None = None
    reference_id: str | None = None
    customer_id: str | None = None
    employee_id: str | None = None
    team_member_id: str | None = None
    refund_ids: tuple[str, ...] = ()
    buyer_email_address: str | None = None
    note: str | None = None
    statement_description_identifier: str | None = None
    capabilities: tuple[str, ...] = ()
    receipt_number: str | None = None
    receipt_url: str | None = None
    version_token: str | None = None


class PaymentRefund(_Model):
    """A refund of a payment (Refunds API). ``status``: ``PENDING``, ``COMPLETED``, ``REJECTED``,
    ``FAILED``; ``amount_money`` is positive, the amount given back.
    https://developer.squareup.com/reference/square/objects/PaymentRefund
    """

    id: str
    status: str | None = None
    location_id: str | None = None
    unlinked: bool | None = None
    destination_type: str | None = None
    amount_money: Money | None = None
    app_fee_money: Money | None = None
    processing_fee: tuple[ProcessingFee, ...] = ()
    payment_id: str | None = None
    order_id: str | None = None
    reason: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    team_member_id: str | None = None


class OrderLineItemAppliedTax(_Model):
    uid: str | None = None
    tax_uid: str
    applied_money: Money | None = None


class OrderLineItemTax(_Model):
    """A tax of an order. ``percentage`` is a decimal string ("20" is 20 %); ``type`` ``ADDITIVE``
    or ``INCLUSIVE`` (UK VAT is usually inclusive); ``scope`` ``ORDER`` or ``LINE_ITEM``."""

    uid: str | None = None
    catalog_object_id: str | None = None
    name: str | None = None
    percentage: Decimal | None = None
    type: str | None = None
    scope: str | None = None
    applied_money: Money | None = None


class OrderLineItem(_Model):
    """One line of an order. ``quantity`` is a decimal string on the wire ("1", "0.75" kg)."""

    uid: str | None = None
    name: str | None = None
    quantity: Decimal
    catalog_object_id: str | None = None
    catalog_version: int | None = None
    variation_name: str | None = None
    item_type: str | None = None
    note: str | None = None
    base_price_money: Money | None = None
    variation_total_price_money: Money | None = None
    gross_sales_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_money: Money | None = None
    applied_taxes: tuple[OrderLineItemAppliedTax, ...] = ()


class TenderCardDetails(_Model):
    status: str | None = None
    card: Card | None = None
    entry_method: str | None = None


class TenderCashDetails(_Model):
    buyer_tendered_money: Money | None = None
    change_back_money: Money | None = None


class Tender(_Model):
    """How (part of) an order was paid; ``payment_id`` links it to the Payments API."""

    id: str | None = None
    location_id: str | None = None
    transaction_id: str | None = None
    created_at: datetime | None = None
    note: str | None = None
    amount_money: Money | None = None
    tip_money: Money | None = None
    processing_fee_money: Money | None = None
    customer_id: str | None = None
    type: str | None = None
    card_details: TenderCardDetails | None = None
    cash_details: TenderCashDetails | None = None
    payment_id: str | None = None


class OrderRefund(_Model):
    """``Order.refunds[]`` (Square's ``Refund`` object): a refund as the order records it."""

    id: str
    location_id: str | None = None
    transaction_id: str | None = None
    tender_id: str | None = None
    created_at: datetime | None = None
    reason: str | None = None
    amount_money: Money | None = None
    status: str | None = None
    processing_fee_money: Money | None = None


class Order(_Model):
    """An order (Orders API): line items, taxes, tenders. ``state``: ``OPEN``, ``COMPLETED``,
    ``CANCELED``, ``DRAFT``.
    https://developer.squareup.com/reference/square/objects/Order
    """

    id: str
    location_id: str | None = None
    reference_id: str | None = None
    customer_id: str | None = None
    line_items: tuple[OrderLineItem, ...] = ()
    taxes: tuple[OrderLineItemTax, ...] = ()
    tenders: tuple[Tender, ...] = ()
    refunds: tuple[OrderRefund, ...] = ()
    total_money: Money | None = None
    total_tax_money: Money | None = None
    total_discount_money: Money | None = None
    total_tip_money: Money | None = None
    total_service_charge_money: Money | None = None
    state: str | None = None
    version: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None


# --- webhook notifications -----------------------------------------------------------------------
#
# Every Square notification is ``{"merchant_id", "type", "event_id", "created_at", "data": {"type",
# "id", "object": {<type>: {...}}}}``; ``event_id`` is unique per event and is the idempotency key
# (Square re-sends an event it got no 2xx for, with the same ``event_id``).
# https://developer.squareup.com/reference/square/payments-api/webhooks/payment.updated
# https://developer.squareup.com/reference/square/refunds-api/webhooks/refund.updated


class _PaymentObject(_Model):
    payment: Payment


class _RefundObject(_Model):
    refund: PaymentRefund


class PaymentEventData(_Model):
    type: str = "payment"
    id: str
    object: _PaymentObject


class RefundEventData(_Model):
    type: str = "refund"
    id: str
    object: _RefundObject


class _WebhookEvent(_Model):
    merchant_id: str | None = None
    type: str
    event_id: str
    created_at: datetime | None = None


class PaymentCreatedEvent(_WebhookEvent):
    """``payment.created``: a payment was created (any status, often ``APPROVED`` or ``COMPLETED``)."""

    data: PaymentEventData


class PaymentUpdatedEvent(_WebhookEvent):
    """``payment.updated``: a payment changed (completed, tip added, fee known, refunded ...)."""

    data: PaymentEventData


class RefundCreatedEvent(_WebhookEvent):
    """``refund.created``: a refund was requested (usually ``PENDING``)."""

    data: RefundEventData


class RefundUpdatedEvent(_WebhookEvent):
    """``refund.updated``: a refund changed status (``COMPLETED``, ``REJECTED``, ``FAILED``)."""

    data: RefundEventData


# --- pages -----------------------------------------------------------------------------------------


class _Page(_Model):
    cursor: str | None = None
    errors: tuple[SquareError, ...] = ()


class _SearchPage(_Page):
    objects: tuple[CatalogObject, ...] = ()
    related_objects: tuple[CatalogObject, ...] = ()


class _CountsPage(_Page):
    counts: tuple[InventoryCount, ...] = ()


class _PaymentsPage(_Page):
    # An empty result is ``{}``: no ``payments`` key at all.
    payments: tuple[Payment, ...] = ()


class _RefundsPage(_Page):
    refunds: tuple[PaymentRefund, ...] = ()


class _OrderAnswer(_Model):
    order: Order | None = None
    errors: tuple[SquareError, ...] = ()


# --- the client ----------------------------------------------------------------------------------

_P = TypeVar("_P", bound=_Page)


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
        answer = self._api.parse(_OrderAnswer, response, "/v2/orders/{order_id}")
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
        for page in self._get_pages("/v2/payments", params, _PaymentsPage):
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
        for page in self._get_pages("/v2/refunds", params, _RefundsPage):
            yield from page.refunds

    # --- plumbing -------------------------------------------------------------------------------

    def _pages(self, path: str, body: Mapping[str, Any], model: type[_P]) -> Iterator[_P]:
        """POST ``body`` and follow ``cursor`` (in the body) until Square stops sending one."""

        def fetch(cursor: str | None) -> tuple[_P, str | None]:
            request = {**body, "cursor": cursor} if cursor else dict(body)
            response = self._api.request("POST", path, json=request)
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
