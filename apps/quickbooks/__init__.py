"""Everything Switchboard knows about QuickBooks Online, written once: OAuth, limits, idempotency, receipts.

Sources (Intuit's own documentation, blog and SDKs), for minor version :data:`MINOR_VERSION`:

* Accounting API base URLs ``https://quickbooks.api.intuit.com`` (production) and
  ``https://sandbox-quickbooks.api.intuit.com`` (Intuit's developer sandbox companies); every entity
  lives under ``/v3/company/{realmId}/``; ``?minorversion=75`` pins the newest minor version (Intuit
  retired minor versions 1-74 on 2025-08-01, so 75 is also the oldest accepted).
  https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/minor-versions,
  ``ej2/python-quickbooks`` ``quickbooks/client.py`` (``api_url_v3``, ``minorversion`` parameter).
* SalesReceipt and RefundReceipt create (``POST .../salesreceipt``, ``POST .../refundreceipt``):
  ``Line`` with ``DetailType: SalesItemLineDetail`` (``ItemRef``, ``Qty``, ``UnitPrice``,
  ``TaxCodeRef``) and ``Amount``; ``TxnTaxDetail.TotalTax``; ``GlobalTaxCalculation``;
  ``PaymentMethodRef``; ``DepositToAccountRef`` (required on a RefundReceipt: the account the money is
  refunded from); ``CustomerRef``; ``CurrencyRef``; ``TxnDate``; ``PrivateNote`` (at most 4000
  characters); ``DocNumber`` (at most 21). The answer is ``{"SalesReceipt": {..., "Id", "SyncToken",
  "TotalAmt"}, "time": ...}``.
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt,
  https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/refundreceipt
* Idempotency: ``?requestid=<id>`` - "If the service receives another request with the same
  RequestID, instead of performing the operation again or returning an error, the service sends the
  same response as it did for the original request"; unique per company, "a maximum of 50 characters
  for all operations except batch". https://blogs.intuit.com/2015/04/06/15346/
* Errors: ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type":
  "ValidationFault"}, "time": ...}``; "200 OK ... the response body may contain a <Fault> element",
  so a 200 is checked too; 6070 "Amount is not equal to Qty * UnitPrice"; 610 "Object Not Found";
  2500 "Invalid Reference Id". A 401 from the gateway is lower-case JSON (``{"fault": {"error":
  [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401", "detail": "Token
  expired: ...", "code": "3200"}], "type": "AUTHENTICATION"}}``), so both casings are read.
  https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes,
  https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/handling-common-errors
* Limits: 500 requests per minute per realm and app, and at most 10 concurrent requests per realm;
  over either, ``429`` with ``message=ThrottleExceeded; errorCode=003001; statusCode=429``.
  https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon/
* OAuth 2.0: token endpoint ``https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer``, client
  authenticated with HTTP Basic (client id : client secret), access tokens live one hour, refresh
  tokens rotate (each refresh may return a new one; the old stops working after a while) and a
  disconnected or expired one answers ``400 {"error": "invalid_grant"}``.
  https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0,
  ``intuit/oauth-pythonclient`` ``intuitlib/client.py`` (``refresh``, ``get_auth_header``).

Amounts are ``Decimal`` throughout and leave as JSON numbers whose text is exactly that decimal (see
:func:`wire`): never a binary float that might print ``19.990000000000002``.

Importing this module must stay cheap: specs import it for :data:`CONNECTION` on the ingress path, so
httpx (via :mod:`shared.http`) is imported for type checking only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.app import App
from shared.errors import TargetRejected, TargetUnavailable

if TYPE_CHECKING:
    from shared.http import ApiClient

__all__ = [
    "APP",
    "CONNECTION",
    "LOCAL_REALM_ID",
    "MAX_REQUEST_ID",
    "MINOR_VERSION",
    "SANDBOX_BASE_URL",
    "Fault",
    "FaultError",
    "Line",
    "QuickBooksClient",
    "Receipt",
    "Ref",
    "SalesItemLineDetail",
    "Transaction",
    "TxnTaxDetail",
    "parse_fault",
    "request_id",
    "wire",
]

#: The minor version every request pins (``?minorversion=``).
MINOR_VERSION: Final = "75"
#: Intuit's developer sandbox companies, for a connection's ``base_url``.
SANDBOX_BASE_URL: Final = "https://sandbox-quickbooks.api.intuit.com"
#: "The RequestID can have a maximum of 50 characters for all operations except batch."
MAX_REQUEST_ID: Final = 50
#: A realm id of the shape Intuit gives sandbox companies (what ``make dev`` stores locally).
LOCAL_REALM_ID: Final = "9341453050224"
#: ``PrivateNote``'s documented maximum length.
MAX_PRIVATE_NOTE: Final = 4000

APP = App(
    name="quickbooks",
    base_url="https://quickbooks.api.intuit.com",
    auth="oauth2",
    token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    token_auth="basic",
    token_field="access_token",
    extra_fields=("realm_id",),
    local_overrides={"realm_id": LOCAL_REALM_ID},
    # Intuit documents no Retry-After on its 429s; one from a proxy in front of it wins.
    retry_after_headers=("retry-after",),
    # 10 concurrent requests per realm is Intuit's hard limit, shared by every app worker and every
    # other integration of the same company; a sale is one or two calls, so 3 in flight per client
    # keeps two workers (the SQS floor) at 6, well inside it.
    max_concurrency=3,
    # Creating a transaction is typically 0.5-2 s; allow for Intuit's slow tail before retrying
    # (requestid makes the retry safe even when the slow request did go through).
    read_timeout_s=20.0,
    idempotency="requestid query parameter on every create (at most 50 characters, unique per company)",
    docs_url="https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt",
)

CONNECTION = APP.connection(
    description=(
        "QuickBooks Online company connection (OAuth 2.0): the Intuit app's client_id and client_secret "
        "(developer.intuit.com > the app > Keys and credentials), the company's realm_id, and a "
        "refresh_token from connecting the company (scope com.intuit.quickbooks.accounting). The "
        "access token and the rotated refresh token are written back here by Switchboard."
    )
)


def request_id(entity: str, key: str) -> str:
    """The ``requestid`` for creating ``entity`` once for ``key`` (a payment or refund id ...).

    A hash, not the key itself: keys such as ``stripe:refund:ch_3Pq...:1200`` can exceed Intuit's
    50 characters, and the same id must never be reused for a *different* create in the same company
    (so the entity is part of it). 50 hex digits of SHA-256 (200 bits) cannot collide in practice.
    """
    return hashlib.sha256(f"{entity}:{key}".encode()).hexdigest()[:MAX_REQUEST_ID]


def wire(value: Any) -> Any:
    """``value`` ready for a JSON body, every ``Decimal`` as a number whose text is that decimal.

    httpx encodes with :func:`json.dumps`, which writes numbers only from ``int`` and ``float``. A
    float's shortest representation (``repr``) round-trips every decimal of up to 15 significant
    digits exactly, which is far beyond any amount; the check below makes sure that holds for each
    value, so ``Decimal("19.99")`` is sent as ``19.99`` and a value that would not survive raises
    instead of being silently changed.
    """
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value() and abs(value) < 2**53:
            return int(value)  # 1 rather than 1.0: the same number, as Intuit writes whole quantities
        number = float(value)
        if not value.is_finite() or Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be written as an exact JSON number")
        return number
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [wire(v) for v in value]
    return value


# --- request models (ours: strict) ---------------------------------------------------------------


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Ref(_Out):
    """A reference to a list entity (item, account, tax code ...) by its id."""

    value: str = Field(min_length=1, max_length=100)
    name: str | None = None


class SalesItemLineDetail(_Out):
    ItemRef: Ref
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    TaxCodeRef: Ref | None = None


_ItemDetail = SalesItemLineDetail  # the field below has the class's name; annotate with an alias


class Line(_Out):
    DetailType: Literal["SalesItemLineDetail"] = "SalesItemLineDetail"
    Amount: Decimal
    Description: str | None = Field(default=None, max_length=4000)
    SalesItemLineDetail: _ItemDetail


class TxnTaxDetail(_Out):
    TotalTax: Decimal
    #: US companies: the combined sales tax rate (``TxnTaxCodeRef``); elsewhere the line codes decide.
    TxnTaxCodeRef: Ref | None = None


_Line = Line
_TaxDetail = TxnTaxDetail


class Receipt(_Out):
    """The body of a SalesReceipt or RefundReceipt create (the two share these fields)."""

    Line: tuple[_Line, ...] = Field(min_length=1)
    TxnDate: date
    CurrencyRef: Ref
    DepositToAccountRef: Ref
    CustomerRef: Ref | None = None
    PaymentMethodRef: Ref | None = None
    TxnTaxDetail: _TaxDetail | None = None
    GlobalTaxCalculation: Literal["TaxExcluded", "TaxInclusive", "NotApplicable"] | None = None
    PrivateNote: str | None = Field(default=None, max_length=MAX_PRIVATE_NOTE)
    DocNumber: str | None = Field(default=None, max_length=21)

    def body(self) -> dict[str, Any]:
        """The JSON body as Intuit takes it (absent fields left out, decimals exact)."""
        return dict(wire(self.model_dump(mode="python", exclude_none=True)))


# --- response models (theirs: tolerant) ----------------------------------------------------------


class Transaction(BaseModel):
    """What a create answers, as far as Switchboard keeps it (ids, not content)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    Id: str
    SyncToken: str | None = None
    TotalAmt: Decimal | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None

    @field_validator("TotalAmt", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Any:
        # A JSON number arrives as float when parsed generically; go through its text, not its binary.
        return Decimal(repr(value)) if isinstance(value, float) else value


class Fault(BaseModel):
    """Intuit's error body, in either casing; ``type`` e.g. ``ValidationFault``, ``AUTHENTICATION``."""

    model_config = ConfigDict(frozen=True)

    type: str = ""
    errors: tuple[dict[str, str], ...] = ()

    def summary(self) -> str:
        """``ValidationFault 6070 Amount calculation incorrect in the request: <detail>``."""
        parts = []
        for e in self.errors:
            text = " ".join(p for p in (e.get("code", ""), e.get("message", "")) if p)
            if e.get("detail"):
                text += f": {e['detail']}"
            if e.get("element"):
                text += f" (element {e['element']})"
            parts.append(text)
        return f"{self.type} {'; '.join(parts)}".strip()

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.get("code", "") for e in self.errors)


def parse_fault(data: Any) -> Fault | None:
    """The fault in a parsed answer (``Fault``/``Error`` or ``fault``/``error``), or ``None``."""
    if not isinstance(data, Mapping):
        return None
    raw = data.get("Fault", data.get("fault"))
    if not isinstance(raw, Mapping):
        return None
    entries = raw.get("Error", raw.get("error")) or []
    errors = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            errors.append({k.lower(): str(v) for k, v in entry.items() if v is not None})
    return Fault(type=str(raw.get("type", "")), errors=tuple(errors))


class FaultError(TargetRejected):
    """QuickBooks refused a request with a Fault (also when it came with HTTP 200)."""

    def __init__(self, message: str, *, status: int, fault: Fault) -> None:
        super().__init__(message, status=status, app=APP.name)
        self.fault = fault


# --- the client ----------------------------------------------------------------------------------

#: Fault types that are Intuit's own failure (``SystemFault`` 10000, the gateway's ``SERVICE``).
_SYSTEM_FAULTS: Final = frozenset({"SystemFault", "SERVICE"})
#: Entities this client creates, with the key of their answer.
_ENTITIES: Final[Mapping[str, str]] = {"salesreceipt": "SalesReceipt", "refundreceipt": "RefundReceipt"}


class QuickBooksClient:
    """Typed QuickBooks Online calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, the bearer token (refreshed by :mod:`shared.oauth`), timeouts and the
    status mapping (429 -> ``RateLimited``, 5xx -> ``TargetUnavailable``, other 4xx ->
    ``TargetRejected`` with Intuit's fault text); this class knows the paths, the minor version,
    ``requestid`` and the fault that can hide in a 200.
    """

    def __init__(self, api: ApiClient, realm_id: str, *, minor_version: str = MINOR_VERSION) -> None:
        if not realm_id.isdigit():
            raise ValueError("a QuickBooks realm id is a number (the company id)")
        self._api = api
        self.realm_id = realm_id
        self.minor_version = minor_version

    def create_sales_receipt(self, receipt: Receipt, *, key: str) -> Transaction:
        """Book a sale, once per ``key`` (the payment's stable id), however often it is retried."""
        return self._create("salesreceipt", receipt, key)

    def create_refund_receipt(self, receipt: Receipt, *, key: str) -> Transaction:
        """Book a refund, once per ``key`` (the refund's stable id)."""
        return self._create("refundreceipt", receipt, key)

    def _create(self, entity: str, receipt: Receipt, key: str) -> Transaction:
        template = f"/v3/company/{{realmId}}/{entity}"
        path = f"/v3/company/{self.realm_id}/{entity}"
        params = {"minorversion": self.minor_version, "requestid": request_id(entity, key)}
        response = self._api.request("POST", path, json=receipt.body(), params=params, template=template)
        where = f"quickbooks POST {template}"
        try:
            data = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body (not JSON)") from exc
        fault = parse_fault(data)
        if fault is not None:
            reason = f"{where}: {response.status_code} {fault.summary()}"
            if fault.type in _SYSTEM_FAULTS:  # Intuit's side failed: a later attempt may succeed
                raise TargetUnavailable(reason)
            raise FaultError(reason, status=response.status_code, fault=fault)
        answer = data.get(_ENTITIES[entity]) if isinstance(data, Mapping) else None
        try:
            return Transaction.model_validate(answer)
        except ValidationError as exc:
            raise TargetUnavailable(f"{where}: unexpected {response.status_code} body") from exc
