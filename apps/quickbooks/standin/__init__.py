"""QuickBooks Online's Accounting API (sales and refund receipts) and Intuit's OAuth 2.0 token endpoint, offline.

Served (paths as on ``https://quickbooks.api.intuit.com`` and ``https://oauth.platform.intuit.com``,
minor version :data:`apps.quickbooks.MINOR_VERSION`):

* ``GET|POST /connect/oauth2`` - Intuit's consent page (the authorization endpoint on
  ``https://appcenter.intuit.com``): Allow redirects to the ``redirect_uri`` with ``code``, ``state``
  and the company's ``realmId``, Deny with ``error=access_denied``; no PKCE, as Intuit documents none;
* ``POST /oauth2/v1/tokens/bearer`` - the authorization-code and refresh-token grants, HTTP Basic
  client authentication, rotating refresh tokens, one-hour access tokens
  (:class:`sandbox.oauth.OAuthServer`);
* ``POST /v3/company/{realmId}/salesreceipt`` and ``.../refundreceipt`` - create, honouring
  ``?requestid=``: the same id again answers the first (successful) answer and creates nothing - for
  :data:`REQUEST_ID_WINDOW_S` after that answer, not forever (below);
* ``GET /v3/company/{realmId}/salesreceipt/{id}`` and ``.../refundreceipt/{id}`` - read one back;
* ``GET /v3/company/{realmId}/query?query=<select statement>`` - Intuit's query language for the two
  receipt entities: ``SELECT * | count(*) FROM SalesReceipt | RefundReceipt [WHERE <field> <op>
  <value> [AND ...]] [ORDERBY <field> [ASC|DESC]] [STARTPOSITION n] [MAXRESULTS n]``; operators
  ``=``, ``<``, ``>``, ``<=``, ``>=``, ``IN (...)``, ``LIKE`` (``%`` only); no ``OR``; only the
  filterable fields (``Id``, ``DocNumber``, ``TxnDate``, ``MetaData.CreateTime``,
  ``MetaData.LastUpdatedTime``), any other is ``4001 Invalid query`` ("property ... is not
  queryable") and a statement that does not parse ``4000 Error parsing query``; ``MAXRESULTS``
  defaults to 100 and is capped at 1000; the answer is ``{"QueryResponse": {"SalesReceipt": [...],
  "startPosition", "maxResults"}, "time"}`` (``{"QueryResponse": {}}`` when nothing matches,
  ``{"QueryResponse": {"totalCount": n}}`` for ``count(*)``). Queries read an index: with a
  consistency lag (:mod:`sandbox.consistency`, off unless set) a new receipt is missing from them until
  the lag has passed, while reading it by id is immediate - the look-up that replaces a forgotten
  ``requestid`` depends on the query.

How long Intuit keeps a ``requestid`` is not documented: its only statement (the 2015 blog post below)
says a repeated id is answered with the original response, and names no retention. So the stand-in
does not pretend it is forever: it forgets an id :data:`REQUEST_ID_WINDOW_S` after answering it
(``request_id_window_s`` to change it; ``POST /_requestids/expire`` forgets every id now, as once the
window has passed - or, with ``{"older_than_s": N}``, the ids answered at least ``N`` seconds ago). What keeps a receipt single after that is Switchboard's ledger, not the stand-in
(:meth:`apps.quickbooks.client.QuickBooksClient.find_receipt`).

Checks as QuickBooks makes them, each answered with Intuit's ``Fault`` body (HTTP 400,
``"type": "ValidationFault"``): the bearer token (401 with the gateway's lower-case ``fault`` body
and ``WWW-Authenticate``), the realm, ``minorversion`` (below 75 is refused, as after Intuit retired
1-74), a ``requestid`` over 50 characters, references to items, tax codes, accounts, payment methods
and customers the company does not have (2500 "Invalid Reference Id"), ``Amount`` different from
``Qty * UnitPrice`` (6070), a line that is not ``SalesItemLineDetail``, a missing
``DepositToAccountRef`` on a refund receipt (2020 "Required param missing"), a currency other than
the company's home currency (multicurrency off; 6000 business validation), an amount with more
decimals than the currency has, ``PrivateNote`` over 4000 characters, ``DocNumber`` over 21.

Where Intuit documents no exact ``Detail`` text, the text is ours, in Intuit's shape. Faults from
:mod:`sandbox.base` answer in Intuit's shapes too: 429 ``ThrottleExceeded`` (errorCode 003001), 5xx
``SystemFault`` (code 10000). Besides the base control endpoints: ``POST /_oauth/revoke`` (the user
disconnected the app: every token stops working, the next refresh is ``invalid_grant``) and
``POST /_oauth/expire`` (access tokens expire now).

The seeded company is a small UK bakery (:data:`ITEMS`, :data:`TAX_CODES`, :data:`ACCOUNTS`,
:data:`PAYMENT_METHODS`, :data:`CUSTOMERS`), home currency GBP, realm
:data:`apps.quickbooks.LOCAL_REALM_ID`.

Rate limit (:mod:`sandbox.limits`; enforced unless lifted): Intuit throttles the Accounting API at
500 requests per minute per realm (company), per app, on production
(https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles;
https://blogs.intuit.com/2016/08/08/idg-concurrent-api-use-changes-coming-soon/), counted here over a
rolling minute and keyed by the realm in the path (access tokens rotate; the company does not).
Past it: 429 with Intuit's fault body (``ThrottleExceeded``, code 3001). The limit of 10 concurrent
requests per realm is not modelled: the stand-in serves one request at a time under its lock.

Sources: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/salesreceipt,
.../refundreceipt, https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes,
https://blogs.intuit.com/2015/04/06/15346/ (requestid),
https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
(the query operation, its grammar and ``QueryResponse``; the filterable fields are those the entity
references mark "filterable"; 1000 entities at most per answer) and recorded gateway answers quoted in open
source clients (401 ``AuthenticationFailed; errorCode=003200``, 429 ``ThrottleExceeded;
errorCode=003001``).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Unpack

from apps.quickbooks import LOCAL_REALM_ID, MAX_PRIVATE_NOTE, MAX_REQUEST_ID
from apps.quickbooks.standin.query import (
    _ENTITIES,
    _ENTITY_OF_NAME,
    _fault,
    _Invalid,
    _invalid,
    _now_text,
    _parse_query,
    _sort_key,
)
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.expiry import expire
from sandbox.limits import RateLimit
from sandbox.oauth import OAuthServer

__all__ = [
    "ACCOUNTS",
    "CUSTOMERS",
    "HOME_CURRENCY",
    "ITEMS",
    "PAYMENT_METHODS",
    "REQUEST_ID_WINDOW_S",
    "TAX_CODES",
    "QuickBooksSandbox",
]

HOME_CURRENCY: Final = "GBP"
#: Item id -> name (the company's Products and Services list).
ITEMS: Final[Mapping[str, str]] = {
    "11": "Bread",
    "12": "Cakes",
    "13": "Pastries",
    "14": "Flour and baking supplies",
    "19": "Till sales",
}
#: Tax code id -> name, as a UK company has them (VAT).
TAX_CODES: Final[Mapping[str, str]] = {"2": "20.0% S", "4": "0.0% Z", "6": "Exempt", "9": "No VAT"}
#: Account id -> name (bank and clearing accounts money is deposited to or refunded from).
ACCOUNTS: Final[Mapping[str, str]] = {
    "4": "Undeposited Funds",
    "35": "Current account",
    "36": "Square clearing",
    "37": "Stripe clearing",
}
PAYMENT_METHODS: Final[Mapping[str, str]] = {
    "1": "Cash",
    "3": "Visa",
    "4": "MasterCard",
    "5": "American Express",
    "6": "Card (other)",
    "7": "Digital wallet",
}
CUSTOMERS: Final[Mapping[str, str]] = {"58": "Walk-in customer", "59": "Online customer"}
MIN_MINOR_VERSION: Final = 75
#: How long a ``requestid``'s first answer is remembered. Intuit documents no retention, so this is a
#: deliberately short guess - 15 minutes, far inside Switchboard's retry horizon (pos_to_accounting
#: retries for hours, a DLQ redrive comes days later) - so that no test passes on a memory the real
#: service may not have.
REQUEST_ID_WINDOW_S: Final = 15 * 60
#: Digits after the point per currency, for the check on amounts (others: 2).
_DECIMALS: Final[Mapping[str, int]] = {"JPY": 0, "KRW": 0, "ISK": 0, "KWD": 3, "BHD": 3}
_AUTHORIZE_PATH: Final = "/connect/oauth2"
_TOKEN_PATH: Final = "/oauth2/v1/tokens/bearer"
#: Intuit's OAuth scopes (accounting, payments, and the OpenID Connect ones).
_SCOPES: Final = (
    "com.intuit.quickbooks.accounting",
    "com.intuit.quickbooks.payment",
    "openid",
    "profile",
    "email",
    "phone",
    "address",
)


def _reference(ref: Any, known: Mapping[str, str], element: str) -> dict[str, str]:
    if not isinstance(ref, Mapping) or not isinstance(ref.get("value"), str) or not ref["value"]:
        raise _invalid(
            "2020",
            "Required param missing, need to supply the required value for the API",
            f"Required parameter {element} is missing in the request",
            element,
        )
    value = ref["value"]
    if value not in known:
        raise _invalid(
            "2500", "Invalid Reference Id", f"Invalid Reference Id : {element} {value} not found", element
        )
    return {"value": value, "name": known[value]}


def _number(value: Any, element: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise _invalid("2090", "Invalid Number", f"Invalid Number : {element} must be a number", element)
    return Decimal(value)


@dataclass
class _Stored:
    entity: str
    id: str
    body: dict[str, Any]
    request_id: str | None


_REALM = re.compile(r"^/v3/company/([^/]+)/")


def _realm(req: SandboxRequest) -> str | None:
    """The company (realm) an Accounting API request is for: Intuit throttles per realm."""
    match = _REALM.match(req.path.split("?", 1)[0])
    return match.group(1) if match else None


#: Intuit's Accounting API throttle on production: 500 requests per minute per realm ID.
REALM_LIMIT: Final = RateLimit(
    "ThrottleExceeded",
    500,
    60.0,
    scope="realm",
    key=_realm,
    source="https://developer.intuit.com/app/developer/qbo/docs/learn/rest-api-features#limits-and-throttles",
)


class QuickBooksSandbox(SandboxApp):
    """QuickBooks Online stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "quickbooks"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (REALM_LIMIT,)

    def __init__(
        self,
        *,
        realm_id: str = LOCAL_REALM_ID,
        home_currency: str = HOME_CURRENCY,
        clock: Callable[[], float] = time.time,
        request_id_window_s: float = REQUEST_ID_WINDOW_S,
        **options: Unpack[SandboxOptions],
    ) -> None:
        if request_id_window_s < 0:
            raise ValueError("request_id_window_s must be 0 or more seconds")
        self.realm_id = realm_id
        self.home_currency = home_currency
        self.request_id_window_s = request_id_window_s
        self.oauth = OAuthServer(
            "quickbooks",
            client_auth="basic",
            rotate=True,
            access_ttl_s=3600,
            clock=clock,
            provider="Intuit",
            scopes_supported=_SCOPES,
            callback_params=lambda: {"realmId": self.realm_id},
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            *self.oauth.routes(_AUTHORIZE_PATH, _TOKEN_PATH),
            ("POST", "/v3/company/{realm}/{entity}", self._create),
            ("GET", "/v3/company/{realm}/query", self._query),
            ("GET", "/v3/company/{realm}/{entity}/{id}", self._read),
        )

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {**self.oauth.controls(), ("POST", "/_requestids/expire"): self._expire_request_ids}

    def _expire_request_ids(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        """Forget every ``requestid`` now (or those older than ``older_than_s``), as once Intuit's
        (undocumented) retention has passed (:func:`sandbox.expiry.expire`)."""
        return expire(req, self.answered, self.clock())

    def reset_data(self) -> None:
        self.oauth.reset()
        self.receipts: dict[str, _Stored] = {}
        #: requestid -> (when, the answer given to its first successful request), for the window.
        self.answered: dict[str, tuple[float, SandboxResponse]] = {}
        self._next_id = 145

    def state(self) -> Any:
        return {
            "realm_id": self.realm_id,
            "home_currency": self.home_currency,
            "sales_receipts": [
                _jsonable(r.body) for r in self.receipts.values() if r.entity == "salesreceipt"
            ],
            "refund_receipts": [
                _jsonable(r.body) for r in self.receipts.values() if r.entity == "refundreceipt"
            ],
            "request_ids": sorted(self._remembered()),
            "request_id_window_s": self.request_id_window_s,
            "oauth": self.oauth.state(),
        }

    def receipts_of(self, entity: str) -> list[dict[str, Any]]:
        """Created receipts of one kind (``salesreceipt`` or ``refundreceipt``), oldest first."""
        with self.lock:
            return [r.body for r in self.receipts.values() if r.entity == entity]

    def _remembered(self) -> dict[str, SandboxResponse]:
        """The requestids still inside the window, with their answers; older ones are forgotten."""
        now = self.clock()
        for rid in [r for r, (at, _) in self.answered.items() if now - at >= self.request_id_window_s]:
            del self.answered[rid]
        return {rid: answer for rid, (_, answer) in self.answered.items()}

    # --- hooks ---------------------------------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        if req.path.split("?", 1)[0] in (_AUTHORIZE_PATH, _TOKEN_PATH):
            return None  # the consent page is the owner's; the token endpoint checks the client itself
        if self.oauth.bearer_ok(req):
            return None
        header = req.header("authorization") or ""
        detail = "Token expired" if header.lower().startswith("bearer ") else "Authorization header missing"
        body = {
            "warnings": None,
            "intuitObject": None,
            "fault": {
                "error": [
                    {
                        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                        "detail": detail,
                        "code": "3200",
                        "element": None,
                    }
                ],
                "type": "AUTHENTICATION",
            },
            "report": None,
            "requestId": None,
            "time": int(self.clock() * 1000),
        }
        return SandboxResponse.json(
            body, 401, {"www-authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
        )

    def error_response(self, status: int, message: str) -> SandboxResponse:
        if status == 401:
            return _fault(
                401,
                "3200",
                "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                message,
                fault_type="AUTHENTICATION",
            )
        if status >= 500:
            return _fault(
                status,
                "10000",
                "An application error has occurred while processing your request",
                f"System Failure Error: {message}",
                fault_type="SystemFault",
            )
        if status == 404:
            return _fault(404, "610", "Object Not Found", f"Object Not Found : {message}")
        return _fault(
            status,
            "6000",
            "A business validation error has occurred while processing your request",
            f"Business Validation Error: {message}",
        )

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _fault(
            429,
            "3001",
            "message=ThrottleExceeded; errorCode=003001; statusCode=429",
            "The request limit was reached.",
            fault_type="SERVICE",
        )

    # --- the API ---------------------------------------------------------------------------------

    def _check(self, req: SandboxRequest, params: dict[str, str]) -> str:
        if params["realm"] != self.realm_id:
            raise _Invalid(
                _fault(
                    403,
                    "3100",
                    "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    f"The token is not valid for company {params['realm']}",
                    fault_type="AUTHORIZATION",
                )
            )
        entity = params["entity"].lower()
        if entity not in _ENTITIES:
            raise _Invalid(
                _fault(400, "500", "Unsupported Operation", f"Operation {params['entity']} is not supported.")
            )
        minor = req.param("minorversion")
        if minor is not None and (not minor.isdigit() or int(minor) < MIN_MINOR_VERSION):
            raise _invalid(
                "2010",
                "Request has invalid or unsupported property",
                f"minorversion {minor} is not supported; use {MIN_MINOR_VERSION} or later",
            )
        return entity

    def _create(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            entity = self._check(req, params)
            request_id = req.param("requestid")
            if request_id is not None:
                if not 0 < len(request_id) <= MAX_REQUEST_ID:
                    raise _invalid(
                        "1060",
                        "Invalid request ID",
                        f"The request ID {request_id!r} is invalid, possibly too long (the maximum is 50 characters).",
                    )
                first = self._remembered().get(request_id)
                if first is not None:
                    return first
            try:
                body = json.loads(req.body.decode("utf-8"), parse_float=Decimal)
            except (UnicodeDecodeError, ValueError):
                raise _invalid("2310", "Invalid Request", "Request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _invalid("2310", "Invalid Request", "Request body must be a JSON object")
            stored = self._validated(entity, body)
        except _Invalid as exc:
            return exc.response
        self._next_id += 1
        stored["Id"] = str(self._next_id)
        self.receipts[stored["Id"]] = _Stored(entity, stored["Id"], stored, request_id)
        self.visibility.written("receipts", stored["Id"])
        answer = SandboxResponse.json({_ENTITIES[entity]: _jsonable(stored), "time": _now_text(self.clock())})
        if request_id is not None:
            self.answered[request_id] = (self.clock(), answer)
        return answer

    def _read(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            entity = self._check(req, params)
        except _Invalid as exc:
            return exc.response
        stored = self.receipts.get(params["id"])
        if stored is None or stored.entity != entity:
            return _fault(
                400,
                "610",
                "Object Not Found",
                "Object Not Found : Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.",
            )
        return SandboxResponse.json(
            {_ENTITIES[entity]: _jsonable(stored.body), "time": _now_text(self.clock())}
        )

    def _query(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        """Intuit's query operation over the company's receipts (see the module docstring)."""
        try:
            self._check(req, {**params, "entity": "salesreceipt"})  # realm and minorversion
            statement = _parse_query(req.param("query") or "")
        except _Invalid as exc:
            return exc.response
        kind = _ENTITY_OF_NAME[statement.entity]
        rows = [r.body for r in self.receipts.values() if r.entity == kind]
        rows = [row for row in rows if all(c.holds(row) for c in statement.conditions)]
        # The index trails the writes (a lag, if set): asked last, so only matches count as hidden.
        rows = [row for row in rows if self.visibility.visible("receipts", row["Id"])]
        if statement.order is not None:
            field, descending = statement.order
            rows.sort(key=lambda row: _sort_key(field, row), reverse=descending)
        else:
            rows.sort(key=lambda row: int(row["Id"]))
        time_text = _now_text(self.clock())
        if statement.count:
            return SandboxResponse.json({"QueryResponse": {"totalCount": len(rows)}, "time": time_text})
        page = rows[statement.start - 1 : statement.start - 1 + statement.max_results]
        if not page:
            return SandboxResponse.json({"QueryResponse": {}, "time": time_text})
        answer = {
            statement.entity: [_jsonable(row) for row in page],
            "startPosition": statement.start,
            "maxResults": len(page),
        }
        return SandboxResponse.json({"QueryResponse": answer, "time": time_text})

    def _validated(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        decimals = _DECIMALS.get(self.home_currency, 2)
        currency = body.get("CurrencyRef")
        if currency is not None:
            code = currency.get("value") if isinstance(currency, Mapping) else None
            if code != self.home_currency:
                raise _invalid(
                    "6000",
                    "A business validation error has occurred while processing your request",
                    f"Business Validation Error: Multicurrency is not enabled for this company; "
                    f"the currency must be {self.home_currency}, not {code}.",
                    "CurrencyRef",
                )
        lines = body.get("Line")
        if not isinstance(lines, list) or not lines:
            raise _invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter Line is missing in the request",
                "Line",
            )
        out_lines = []
        subtotal = Decimal(0)
        for n, line in enumerate(lines, start=1):
            if not isinstance(line, Mapping) or line.get("DetailType") != "SalesItemLineDetail":
                raise _invalid(
                    "2010",
                    "Request has invalid or unsupported property",
                    f"Line {n}: DetailType must be SalesItemLineDetail",
                    "Line.DetailType",
                )
            detail = line.get("SalesItemLineDetail")
            if not isinstance(detail, Mapping):
                raise _invalid(
                    "2020",
                    "Required param missing, need to supply the required value for the API",
                    f"Required parameter Line.SalesItemLineDetail is missing (line {n})",
                    "Line",
                )
            amount = _number(line.get("Amount"), "Line.Amount")
            _places(amount, decimals, "Line.Amount")
            item = _reference(detail.get("ItemRef"), ITEMS, "ItemRef")
            out_detail: dict[str, Any] = {"ItemRef": item}
            qty, price = detail.get("Qty"), detail.get("UnitPrice")
            if qty is not None and price is not None:
                qty_d, price_d = _number(qty, "Qty"), _number(price, "UnitPrice")
                expected = (qty_d * price_d).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
                if expected != amount:
                    raise _invalid(
                        "6070",
                        "Amount calculation incorrect in the request",
                        f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount}",
                        "Line.Amount",
                    )
                out_detail |= {"Qty": qty_d, "UnitPrice": price_d}
            if detail.get("TaxCodeRef") is not None:
                out_detail["TaxCodeRef"] = _reference(detail.get("TaxCodeRef"), TAX_CODES, "TaxCodeRef")
            out_line: dict[str, Any] = {
                "Id": str(n),
                "LineNum": n,
                "Amount": amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": out_detail,
            }
            if isinstance(line.get("Description"), str):
                out_line["Description"] = line["Description"]
            out_lines.append(out_line)
            subtotal += amount
        tax = Decimal(0)
        tax_detail = body.get("TxnTaxDetail")
        if isinstance(tax_detail, Mapping) and tax_detail.get("TotalTax") is not None:
            tax = _number(tax_detail["TotalTax"], "TxnTaxDetail.TotalTax")
            _places(tax, decimals, "TxnTaxDetail.TotalTax")
        deposit = body.get("DepositToAccountRef")
        if deposit is None and entity == "refundreceipt":
            raise _invalid(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DepositToAccountRef is missing in the request",
                "DepositToAccountRef",
            )
        note = body.get("PrivateNote")
        if note is not None and (not isinstance(note, str) or len(note) > MAX_PRIVATE_NOTE):
            raise _invalid(
                "2050",
                "String length is either shorter or longer than supported by specification",
                f"PrivateNote is longer than {MAX_PRIVATE_NOTE} characters",
                "PrivateNote",
            )
        doc = body.get("DocNumber")
        if doc is not None and (not isinstance(doc, str) or len(doc) > 21):
            raise _invalid(
                "2050",
                "String length is either shorter or longer than supported by specification",
                "DocNumber is longer than 21 characters",
                "DocNumber",
            )
        txn_date = body.get("TxnDate")
        if txn_date is None:
            txn_date = datetime.fromtimestamp(self.clock(), UTC).date().isoformat()
        try:
            date.fromisoformat(str(txn_date))
        except ValueError:
            raise _invalid(
                "2010",
                "Request has invalid or unsupported property",
                f"TxnDate {txn_date!r} is not a date (yyyy-mm-dd)",
                "TxnDate",
            ) from None
        out: dict[str, Any] = {
            "domain": "QBO",
            "sparse": False,
            "SyncToken": "0",
            "MetaData": {"CreateTime": _now_text(self.clock()), "LastUpdatedTime": _now_text(self.clock())},
            "DocNumber": doc if doc is not None else str(self._next_id + 1),
            "TxnDate": str(txn_date),
            "CurrencyRef": {"value": self.home_currency, "name": "British Pound Sterling"},
            "Line": [
                *out_lines,
                {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}},
            ],
            "TxnTaxDetail": {"TotalTax": tax},
            "TotalAmt": subtotal + tax,
            "Balance": Decimal(0),
            "GlobalTaxCalculation": body.get("GlobalTaxCalculation", "TaxExcluded"),
        }
        if deposit is not None:
            out["DepositToAccountRef"] = _reference(deposit, ACCOUNTS, "DepositToAccountRef")
        for field, known in (("CustomerRef", CUSTOMERS), ("PaymentMethodRef", PAYMENT_METHODS)):
            if body.get(field) is not None:
                out[field] = _reference(body[field], known, field)
        if note is not None:
            out["PrivateNote"] = note
        return out


def _places(value: Decimal, decimals: int, element: str) -> None:
    try:
        exact = value == value.quantize(Decimal(1).scaleb(-decimals))
    except InvalidOperation:
        exact = False
    if not exact:
        raise _invalid(
            "2090",
            "Invalid Number",
            f"Invalid Number : {element} {value} has more than {decimals} decimal places",
            element,
        )


def _jsonable(value: Any) -> Any:
    """Stored data as JSON: decimals as exact numbers (Intuit writes ``337.5``, ``0``)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
