"""Xero's Accounting API, its identity (OAuth 2.0) endpoints and ``/connections``, offline.

Served (paths as on ``https://api.xero.com``, ``https://identity.xero.com`` and
``https://login.xero.com``):

* ``GET|POST /identity/connect/authorize`` - Xero's consent page; ``POST /connect/token`` - the
  authorization-code and refresh-token grants, HTTP Basic client authentication, 30-minute access
  tokens, rotating refresh tokens (:class:`sandbox.oauth.OAuthServer`; the old refresh token is
  refused at once, stricter than Xero's 30-minute grace period);
* ``GET /connections`` - the organisations the token reaches (``[{"id", "authEventId", "tenantId",
  "tenantType", "tenantName", "createdDateUtc", "updatedDateUtc"}]``);
* ``PUT /api.xro/2.0/Invoices``, ``/CreditNotes``, ``/Payments``, ``/Contacts`` - create (the body is
  ``{"Invoices": [...]}`` or one object), honouring ``Idempotency-Key``; ``GET
  /api.xro/2.0/Invoices[?where=Reference.Contains("...")]`` (and ``/CreditNotes``), ``/Invoices/{id}``,
  ``/CreditNotes/{id}``, ``/Contacts[?where=Name=="..."]``, ``/Accounts``, ``/TaxRates`` - Xero's
  ``where`` filter (https://developer.xero.com/documentation/api/accounting/requests-and-responses),
  served for the expressions the client sends, refused otherwise.

Every answer is in Xero's envelope: ``{"Id", "Status": "OK", "ProviderName", "DateTimeUTC":
"/Date(<ms>)/", "<Collection>": [...]}`` (the ``createInvoices`` example of ``xero_accounting.yaml``);
documents carry their ``/Date(<ms>+0000)/`` dates and ``DateString`` twins. Refusals are HTTP 400 with
``ValidationException`` (:mod:`.books`).

Checks as Xero makes them: the bearer token (``401`` with Xero's problem-details body,
``"Detail": "AuthenticationUnsuccessful"``); the ``xero-tenant-id`` header - missing, or an
organisation the token does not reach, is ``403`` (``"Detail": "AuthorizationUnsuccessful"``);
``Idempotency-Key`` (at most 128 characters): the same key with the same method, path and body
answers the first answer and writes nothing; the same key with a *different* request is refused
(``400``; Xero's guide names the rule, the text here is ours). Answers to a key are remembered for
:data:`IDEMPOTENCY_WINDOW_S` (the retention Xero documents is not in our sources, so it is a setting,
``idempotency_window_s``; ``POST /_idempotency/expire`` forgets every key now, or with
``{"older_than_s": N}`` those answered at least ``N`` seconds ago).

Listing invoices and credit notes (``where=Reference.Contains(...)``: what the look-up that replaces a
forgotten key reads) reads an index: with a consistency lag (:mod:`sandbox.consistency`, off unless
set) a new document is missing from it until the lag has passed; reading one by id is immediate.

Rate limits (:mod:`sandbox.limits`; enforced unless lifted), per organisation - counted by the
``xero-tenant-id`` header - on the Accounting API: 60 calls in a rolling minute and 5,000 in a
rolling day. Past one: ``429`` with ``Retry-After`` (seconds) and ``X-Rate-Limit-Problem: minute`` or
``day``; every answer carries ``X-MinLimit-Remaining`` and ``X-DayLimit-Remaining``. The limit of 5
concurrent calls is not modelled (the stand-in serves one request at a time under its lock), nor the
app-wide 10,000 a minute. https://developer.xero.com/documentation/guides/oauth2/limits/

Besides the base control endpoints: ``POST /_oauth/revoke`` and ``/_oauth/expire`` (the OAuth
server's), ``POST /_idempotency/expire``.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Final, Unpack

from apps.xero import LOCAL_TENANT_ID, MAX_IDEMPOTENCY_KEY, TENANT_HEADER
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.expiry import expire
from sandbox.limits import Hit, RateLimit
from sandbox.oauth import OAuthServer

from .books import (
    ACCOUNTS,
    BASE_CURRENCY,
    ORGANISATION_NAME,
    TAX_RATES,
    Invalid,
    Stored,
    cents,
    day,
    line_items,
    money,
    totals,
    validation_error,
)

__all__ = ["DAY_LIMIT", "IDEMPOTENCY_WINDOW_S", "MINUTE_LIMIT", "XeroSandbox"]

_AUTHORIZE_PATH: Final = "/identity/connect/authorize"
_TOKEN_PATH: Final = "/connect/token"
_API: Final = "/api.xro/2.0"
#: How long an idempotency key's answer is kept (a setting: Xero's retention is not in our sources).
IDEMPOTENCY_WINDOW_S: Final = 24 * 3600.0
_SCOPES: Final = (
    "openid",
    "profile",
    "email",
    "offline_access",
    "accounting.invoices",
    "accounting.invoices.read",
    "accounting.payments",
    "accounting.payments.read",
    "accounting.contacts",
    "accounting.contacts.read",
    "accounting.settings",
    "accounting.settings.read",
    "accounting.transactions",
)


def _tenant(req: SandboxRequest) -> str | None:
    """What Xero counts Accounting API calls by: the organisation named in ``xero-tenant-id``."""
    return (req.header(TENANT_HEADER) or "").strip() or None


_LIMITS_SOURCE: Final = "https://developer.xero.com/documentation/guides/oauth2/limits/"
MINUTE_LIMIT: Final = RateLimit(
    "minute", 60, 60.0, scope="tenant", key=_tenant, path=_API, source=_LIMITS_SOURCE
)
DAY_LIMIT: Final = RateLimit(
    "day", 5000, 86_400.0, scope="tenant", key=_tenant, path=_API, source=_LIMITS_SOURCE
)


_CONTAINS: Final = re.compile(r'^Reference\.Contains\("([^"\\]*)"\)$')


def _ms(epoch: float) -> str:
    return f"/Date({round(epoch * 1000)})/"


def _ms_day(value: date) -> str:
    return (
        f"/Date({round(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)}+0000)/"
    )


def _jsonable(value: Any) -> Any:
    """Decimals as JSON numbers with their exact text (via float: every value here has few digits)."""
    if isinstance(value, Decimal):
        return (
            int(value)
            if value == value.to_integral_value() and value.as_tuple().exponent == 0
            else float(value)
        )
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _problem(status: int, title: str, detail: str) -> SandboxResponse:
    """Xero's problem-details body for 401 and 403."""
    body: dict[str, Any] = {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": str(uuid.uuid4()),
        "Extensions": {},
    }
    return SandboxResponse.json(body, status)


class XeroSandbox(SandboxApp):
    """Xero stand-in. See the module docstring for what it serves and checks."""

    name: ClassVar[str] = "xero"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (MINUTE_LIMIT, DAY_LIMIT)

    def __init__(
        self,
        *,
        tenant_id: str = LOCAL_TENANT_ID,
        clock: Callable[[], float] = time.time,
        idempotency_window_s: float = IDEMPOTENCY_WINDOW_S,
        **options: Unpack[SandboxOptions],
    ) -> None:
        if idempotency_window_s < 0:
            raise ValueError("idempotency_window_s must be 0 or more seconds")
        self.tenant_id = tenant_id
        self.idempotency_window_s = idempotency_window_s
        #: Further organisations the token reaches (``/connections`` lists them; their API answers 403:
        #: the stand-in keeps one organisation's books). Tests add some to make the choice ambiguous.
        self.other_tenants: dict[str, str] = {}
        self.oauth = OAuthServer(
            "xero",
            client_auth="basic",
            rotate=True,
            access_ttl_s=1800,
            refresh_ttl_s=60 * 86_400,
            clock=clock,
            provider="Xero",
            scopes_supported=_SCOPES,
            bearer_spelling="Bearer",
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            *self.oauth.routes(_AUTHORIZE_PATH, _TOKEN_PATH),
            ("GET", "/connections", self._connections),
            ("PUT", f"{_API}/Invoices", self._put_invoices),
            ("PUT", f"{_API}/CreditNotes", self._put_credit_notes),
            ("PUT", f"{_API}/Payments", self._put_payments),
            ("PUT", f"{_API}/Contacts", self._put_contacts),
            ("GET", f"{_API}/Contacts", self._get_contacts),
            ("GET", f"{_API}/Invoices", self._list_documents),
            ("GET", f"{_API}/CreditNotes", self._list_documents),
            ("GET", f"{_API}/Invoices/{{id}}", self._get_document),
            ("GET", f"{_API}/CreditNotes/{{id}}", self._get_document),
            ("GET", f"{_API}/Accounts", self._get_accounts),
            ("GET", f"{_API}/TaxRates", self._get_tax_rates),
        )

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {**self.oauth.controls(), ("POST", "/_idempotency/expire"): self._expire_keys}

    def reset_data(self) -> None:
        self.oauth.reset()
        #: InvoiceID / CreditNoteID / PaymentID -> the stored document.
        self.documents: dict[str, Stored] = {}
        #: ContactID -> contact JSON.
        self.contacts: dict[str, dict[str, Any]] = {}
        #: Idempotency-Key -> (when, request fingerprint, the first answer).
        self.answered: dict[str, tuple[float, str, SandboxResponse]] = {}
        self.numbers: dict[str, int] = {"INV": 0, "CN": 0}

    def state(self) -> Any:
        return {
            "tenant_id": self.tenant_id,
            "invoices": self.documents_of("invoice"),
            "credit_notes": self.documents_of("creditnote"),
            "payments": self.documents_of("payment"),
            "contacts": [_jsonable(c) for c in self.contacts.values()],
            "idempotency_keys": len(self.answered),
            "oauth": self.oauth.state(),
        }

    def documents_of(self, kind: str) -> list[dict[str, Any]]:
        """Booked documents of one kind (``invoice``, ``creditnote``, ``payment``), oldest first, as JSON."""
        with self.lock:
            return [_jsonable(d.body) for d in self.documents.values() if d.kind == kind]

    # --- hooks ---------------------------------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        path = req.path.split("?", 1)[0]
        if path in (_AUTHORIZE_PATH, _TOKEN_PATH):
            return None
        if not self.oauth.bearer_ok(req):
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful").with_headers(
                {"www-authenticate": 'Bearer error="invalid_token"'}
            )
        if path.startswith(_API) and _tenant(req) != self.tenant_id:
            return _problem(403, "Forbidden", "AuthorizationUnsuccessful")
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        if req.path.split("?", 1)[0] == _TOKEN_PATH and resp.status == 200:
            body = resp.parsed()
            body.pop("x_refresh_token_expires_in", None)  # Intuit's field; Xero's answer has none
            return SandboxResponse.json(
                body, 200, {k: v for k, v in resp.headers.items() if k != "content-type"}
            )
        return resp

    def error_response(self, status: int, message: str) -> SandboxResponse:
        if status == 401:
            return _problem(401, "Unauthorized", "AuthenticationUnsuccessful")
        if status == 403:
            return _problem(403, "Forbidden", "AuthorizationUnsuccessful")
        if status == 404:
            return SandboxResponse(
                404, {"content-type": "text/html"}, b"The resource you're looking for cannot be found"
            )
        if status >= 500:
            return SandboxResponse.json(
                {"Title": "An error occurred", "Status": status, "Detail": message}, status
            )
        return SandboxResponse.json(validation_error([message]), status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return SandboxResponse(429, {"x-rate-limit-problem": "minute"}, b"")

    def limited_response(self, hit: Hit) -> SandboxResponse:
        return SandboxResponse(
            429, {"retry-after": str(hit.retry_after_s), "x-rate-limit-problem": hit.limit.name}, b""
        )

    def limit_headers(self, hits: list[Hit], refused: Hit | None) -> Mapping[str, str]:
        names = {"minute": "x-minlimit-remaining", "day": "x-daylimit-remaining"}
        return {names[h.limit.name]: str(h.remaining) for h in hits if h.limit.name in names}

    # --- envelope, idempotency -------------------------------------------------------------------

    def _envelope(self, collection: str, rows: list[Any]) -> SandboxResponse:
        body = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": "Switchboard",
            "DateTimeUTC": _ms(self.clock()),
            collection: [_jsonable(r) for r in rows],
        }
        return SandboxResponse.json(body)

    def _idempotent(self, req: SandboxRequest, write: Callable[[], SandboxResponse]) -> SandboxResponse:
        key = req.header("idempotency-key")
        if key is None:
            return write()
        if not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
            return SandboxResponse.json(
                validation_error([f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters"]), 400
            )
        now = self.clock()
        for old in [k for k, (at, _, _) in self.answered.items() if now - at >= self.idempotency_window_s]:
            del self.answered[old]
        fingerprint = hashlib.sha256(
            b"\0".join((req.method.encode(), req.path.split("?", 1)[0].encode(), req.body))
        ).hexdigest()
        first = self.answered.get(key)
        if first is not None:
            if first[1] != fingerprint:
                return SandboxResponse.json(
                    validation_error(["The Idempotency-Key has already been used with a different request"]),
                    400,
                )
            return first[2]
        answer = write()
        if answer.status < 500:  # a server failure is not remembered: the retry may succeed
            self.answered[key] = (now, fingerprint, answer)
        return answer

    def _expire_keys(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        """Forget every key now (or those older than ``older_than_s``): :func:`sandbox.expiry.expire`."""
        return expire(req, self.answered, self.clock())

    @staticmethod
    def _rows(req: SandboxRequest, collection: str) -> list[Any]:
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            raise Invalid(["The request body is not valid JSON"]) from None
        rows = body[collection] if isinstance(body, Mapping) and collection in body else [body]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, Mapping) for r in rows):
            raise Invalid([f"The request must hold {collection} objects"])
        return rows

    def _write(
        self, req: SandboxRequest, collection: str, one: Callable[[Mapping[str, Any], int], dict[str, Any]]
    ) -> SandboxResponse:
        def write() -> SandboxResponse:
            try:
                rows = self._rows(req, collection)
            except Invalid as exc:
                return SandboxResponse.json(validation_error(exc.messages), 400)
            unitdp = 4 if req.param("unitdp") == "4" else 2
            booked = []
            for row in rows:
                try:
                    booked.append(one(row, unitdp))
                except Invalid as exc:
                    return SandboxResponse.json(validation_error(exc.messages, _jsonable(row)), 400)
            return self._envelope(collection, booked)

        return self._idempotent(req, write)

    # --- the API ---------------------------------------------------------------------------------

    def _connections(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        stamp = datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        tenants = {self.tenant_id: ORGANISATION_NAME, **self.other_tenants}
        rows = [
            {
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-connection-{tid}")),
                "authEventId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"xero-auth-{tid}")),
                "tenantId": tid,
                "tenantType": "ORGANISATION",
                "tenantName": name,
                "createdDateUtc": stamp,
                "updatedDateUtc": stamp,
            }
            for tid, name in tenants.items()
        ]
        return SandboxResponse.json(rows)

    def _contact(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping) or not (raw.get("ContactID") or raw.get("Name")):
            raise Invalid(["A Contact must be specified for this type of transaction"])
        if raw.get("ContactID"):
            found = self.contacts.get(str(raw["ContactID"]))
            if found is None:
                raise Invalid([f"The contact with ContactID {raw['ContactID']} could not be found"])
            return found
        name = str(raw["Name"])
        same = [c for c in self.contacts.values() if c["Name"].lower() == name.lower()]
        return same[0] if same else self._new_contact(name)

    def _new_contact(self, name: str) -> dict[str, Any]:
        contact: dict[str, Any] = {
            "ContactID": str(uuid.uuid4()),
            "ContactStatus": "ACTIVE",
            "Name": name,
            "Addresses": [],
            "Phones": [],
            "UpdatedDateUTC": _ms(self.clock()).replace(")/", "+0000)/"),
            "ContactGroups": [],
            "IsSupplier": False,
            "IsCustomer": True,
            "HasValidationErrors": False,
        }
        self.contacts[contact["ContactID"]] = contact
        return contact

    def _document(self, row: Mapping[str, Any], unitdp: int, *, credit: bool) -> dict[str, Any]:
        kind, prefix = ("creditnote", "CN") if credit else ("invoice", "INV")
        wanted = "ACCRECCREDIT" if credit else "ACCREC"
        if row.get("Type") != wanted:
            raise Invalid([f"The stand-in books {wanted} documents only (Type {row.get('Type')!r})"])
        status = row.get("Status", "DRAFT")
        if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
            raise Invalid([f"Status {status!r} cannot be set on a new document"])
        currency = row.get("CurrencyCode", BASE_CURRENCY)
        if currency != BASE_CURRENCY:
            raise Invalid([f"Organisation is not subscribed to currency {currency}"])
        amount_types = row.get("LineAmountTypes", "Exclusive")
        if amount_types not in ("Exclusive", "Inclusive", "NoTax"):
            raise Invalid([f"LineAmountTypes {amount_types!r} is not Exclusive, Inclusive or NoTax"])
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        issued = day(row.get("Date"), "Date", today)
        problems: list[str] = []
        contact: dict[str, Any] = {}
        try:
            contact = self._contact(row.get("Contact"))
        except Invalid as exc:
            problems.extend(exc.messages)
        lines, line_problems = line_items(
            row.get("LineItems"), amount_types=amount_types, credit=credit, unitdp=unitdp
        )
        problems.extend(line_problems)
        due = row.get("DueDate")
        if not credit and status == "AUTHORISED" and due is None:
            problems.append("Due Date is required for an approved invoice")
        reference = row.get("Reference")
        if reference is not None and len(str(reference)) > 255:
            problems.append("Reference must not be more than 255 characters long")
        if problems:
            raise Invalid(problems)
        self.numbers[prefix] += 1
        doc_id = str(uuid.uuid4())
        sums = totals(lines, amount_types)
        body: dict[str, Any] = {
            "Type": wanted,
            f"{'CreditNote' if credit else 'Invoice'}ID": doc_id,
            f"{'CreditNote' if credit else 'Invoice'}Number": f"{prefix}-{self.numbers[prefix]:04d}",
            "Reference": reference or "",
            "Contact": {k: contact[k] for k in ("ContactID", "ContactStatus", "Name")},
            "DateString": f"{issued.isoformat()}T00:00:00",
            "Date": _ms_day(issued),
            "Status": status,
            "LineAmountTypes": amount_types,
            "LineItems": lines,
            **sums,
            "UpdatedDateUTC": _ms(self.clock()).replace(")/", "+0000)/"),
            "CurrencyCode": currency,
            "CurrencyRate": Decimal("1.000000"),
            "Payments": [],
            "HasErrors": False,
            "StatusAttributeString": "OK",
        }
        if credit:
            body.update(RemainingCredit=sums["Total"], Allocations=[], AppliedAmount=Decimal("0.00"))
        else:
            due_day = day(due, "DueDate", today)
            body.update(
                DueDateString=f"{due_day.isoformat()}T00:00:00",
                DueDate=_ms_day(due_day),
                AmountDue=sums["Total"],
                AmountPaid=Decimal("0.00"),
                AmountCredited=Decimal("0.00"),
                CreditNotes=[],
                Prepayments=[],
                Overpayments=[],
                IsDiscounted=any("DiscountRate" in li or "DiscountAmount" in li for li in lines),
                HasAttachments=False,
                SentToContact=False,
            )
        self.documents[doc_id] = Stored(kind, body)
        self.visibility.written("documents", doc_id)
        return body

    def _put_invoices(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        return self._write(req, "Invoices", lambda row, dp: self._document(row, dp, credit=False))

    def _put_credit_notes(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        return self._write(req, "CreditNotes", lambda row, dp: self._document(row, dp, credit=True))

    def _payment(self, row: Mapping[str, Any], unitdp: int) -> dict[str, Any]:
        target = row.get("Invoice") or row.get("CreditNote")
        id_field = "InvoiceID" if row.get("Invoice") else "CreditNoteID"
        doc_id = target.get(id_field) if isinstance(target, Mapping) else None
        stored = self.documents.get(str(doc_id)) if doc_id else None
        if stored is None or stored.kind not in ("invoice", "creditnote"):
            raise Invalid(["Invoice or credit note could not be found"])
        doc = stored.body
        if doc["Status"] != "AUTHORISED":
            raise Invalid(
                [f"Payments can only be made against Authorised documents (this one is {doc['Status']})"]
            )
        account_ref = row.get("Account")
        code = account_ref.get("Code") if isinstance(account_ref, Mapping) else None
        account = ACCOUNTS.get(str(code)) if code else None
        if account is None:
            raise Invalid([f"Account code '{code}' is not a valid code for this document."])
        if account.status != "ACTIVE" or not (account.type == "BANK" or account.payments):
            raise Invalid([f"Account code '{code}' is not a bank account and does not allow payments"])
        amount = cents(money(row.get("Amount"), "Amount"))
        outstanding = doc["AmountDue"] if stored.kind == "invoice" else doc["RemainingCredit"]
        if amount <= 0 or amount > outstanding:
            raise Invalid(["Payment amount exceeds the amount outstanding on this document"])
        paid_on = day(row.get("Date"), "Date", datetime.fromtimestamp(self.clock(), UTC).date())
        payment_id = str(uuid.uuid4())
        if stored.kind == "invoice":
            doc["AmountDue"] = outstanding - amount
            doc["AmountPaid"] = doc["AmountPaid"] + amount
        else:
            doc["RemainingCredit"] = outstanding - amount
        if outstanding - amount == 0:
            doc["Status"] = "PAID"
            doc["FullyPaidOnDate"] = _ms_day(paid_on)
        doc["Payments"].append(
            {
                "PaymentID": payment_id,
                "Date": _ms_day(paid_on),
                "Amount": amount,
                "Reference": row.get("Reference", ""),
            }
        )
        number_field = "InvoiceNumber" if stored.kind == "invoice" else "CreditNoteNumber"
        body = {
            "PaymentID": payment_id,
            "Date": _ms_day(paid_on),
            "BankAmount": amount,
            "Amount": amount,
            "Reference": row.get("Reference", ""),
            "CurrencyRate": Decimal("1.000000"),
            "PaymentType": "ACCRECPAYMENT" if stored.kind == "invoice" else "ARCREDITPAYMENT",
            "Status": "AUTHORISED",
            "UpdatedDateUTC": _ms(self.clock()).replace(")/", "+0000)/"),
            "HasAccount": True,
            "IsReconciled": False,
            "Account": {"AccountID": account.as_json()["AccountID"], "Code": account.code},
            ("Invoice" if stored.kind == "invoice" else "CreditNote"): {
                "Type": doc["Type"],
                id_field: doc_id,
                number_field: doc[number_field],
                "Contact": doc["Contact"],
                "CurrencyCode": doc["CurrencyCode"],
            },
            "HasValidationErrors": False,
        }
        self.documents[payment_id] = Stored("payment", body)
        return body

    def _put_payments(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        return self._write(req, "Payments", self._payment)

    def _put_contacts(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        def one(row: Mapping[str, Any], unitdp: int) -> dict[str, Any]:
            name = str(row.get("Name") or "").strip()
            if not name or len(name) > 255:
                raise Invalid(["The contact name must be 1 to 255 characters long"])
            if any(c["Name"].lower() == name.lower() for c in self.contacts.values()):
                raise Invalid(
                    [
                        f"The contact name {name} is already assigned to another contact. The contact name must be unique across all active contacts."
                    ]
                )
            return self._new_contact(name)

        return self._write(req, "Contacts", one)

    def _get_contacts(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        where = req.param("where")
        rows = list(self.contacts.values())
        if where is not None:
            prefix = 'Name=="'
            if not (where.startswith(prefix) and where.endswith('"')):
                return SandboxResponse.json(
                    validation_error([f'The stand-in filters on Name=="..." only, not {where!r}']), 400
                )
            name = where[len(prefix) : -1].replace('\\"', '"').replace("\\\\", "\\")
            rows = [c for c in rows if c["Name"] == name]
        return self._envelope("Contacts", rows)

    def _list_documents(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        """Invoices or credit notes, all or ``where=Reference.Contains("...")`` (the one filter served)."""
        collection = "CreditNotes" if req.path.rstrip("/").endswith("/CreditNotes") else "Invoices"
        kind = "creditnote" if collection == "CreditNotes" else "invoice"
        rows = [d.body for d in self.documents.values() if d.kind == kind]
        where = req.param("where")
        if where is not None:
            match = _CONTAINS.match(where)
            if match is None:
                message = f'The stand-in filters on Reference.Contains("...") only, not {where!r}'
                return SandboxResponse.json(validation_error([message]), 400)
            rows = [r for r in rows if match.group(1) in str(r.get("Reference") or "")]
        # The index trails the writes (a lag, if set): asked last, so only matches count as hidden.
        rows = [r for r in rows if self.visibility.visible("documents", _document_id(r))]
        return self._envelope(collection, rows)

    def _get_document(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        collection = "CreditNotes" if "/CreditNotes/" in req.path else "Invoices"
        stored = self.documents.get(params["id"])
        if stored is None or stored.kind != ("creditnote" if collection == "CreditNotes" else "invoice"):
            return self.error_response(404, "not found")
        return self._envelope(collection, [stored.body])

    def _get_accounts(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        return self._envelope("Accounts", [a.as_json() for a in ACCOUNTS.values()])

    def _get_tax_rates(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        return self._envelope("TaxRates", [t.as_json() for t in TAX_RATES.values()])


def _document_id(body: Mapping[str, Any]) -> str:
    """An invoice's ``InvoiceID`` or a credit note's ``CreditNoteID``."""
    return str(body.get("InvoiceID") or body.get("CreditNoteID") or "")
