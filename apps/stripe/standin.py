"""Stripe, offline: a few Charges and Refunds API calls, the webhook endpoints API, and the signed
webhooks Stripe sends.

Stripe is a *webhook sender* here (see :mod:`sandbox.sender`): creating a charge or a refund through
the API sends ``charge.succeeded`` / ``charge.refunded`` events, in Stripe's event shape
(``evt_...``, ``api_version``, ``data.object`` = the Charge, ``data.previous_attributes`` on
``charge.refunded``, ``pending_webhooks``, ``request {id, idempotency_key}``), to every webhook
endpoint whose ``enabled_events`` name the type (or ``*``), signed with that endpoint's secret.

Served (paths as on ``https://api.stripe.com``, form-encoded bodies as Stripe takes them, secret key
as ``Authorization: Bearer sk_test_...`` or HTTP Basic user):

* ``POST /v1/charges`` - ``amount``, ``currency``, ``source`` (a test token: ``tok_visa``,
  ``tok_mastercard``, ``tok_amex``, ``tok_jcb`` ...), ``description``, ``capture``, ``metadata[k]``;
* ``POST /v1/refunds`` - ``charge``, ``amount`` (default: what is left), ``reason``;
* ``GET /v1/charges/{id}``;
* the webhook endpoints API - ``POST /v1/webhook_endpoints`` (``url``, ``enabled_events[]``,
  ``description``, ``metadata[k]``, ``api_version``; the answer carries the ``whsec_...`` secret,
  "Only returned at creation"), ``GET /v1/webhook_endpoints`` (a list object, newest first, ``limit``
  1-100 default 10, ``starting_after``, ``ending_before``), ``GET|POST|DELETE
  /v1/webhook_endpoints/{id}`` (retrieve; update ``url``, ``enabled_events``, ``description``,
  ``metadata``, ``disabled``; delete answers ``{"id", "object", "deleted": true}``).
  The WebhookEndpoint object: ``id`` (``we_...``), ``object``, ``api_version``, ``application``,
  ``created``, ``description``, ``enabled_events``, ``livemode``, ``metadata``, ``secret`` (create
  only), ``status`` (``enabled``/``disabled``), ``url`` - https://docs.stripe.com/api/webhook_endpoints
  and the SDKs' ``WebhookEndpoint`` (``stripe/stripe-ruby`` ``lib/stripe/resources/webhook_endpoint.rb``).
  Events are rendered in this stand-in's one API version whatever an endpoint's ``api_version``.

``Idempotency-Key`` is honoured as Stripe does: the same key again answers the first answer and
creates (and sends) nothing. Errors are Stripe's ``{"error": {"type", "code", "message", "param"}}``.

Rate limit (:mod:`sandbox.limits`; enforced unless lifted): Stripe's basic rate limiter allows 25
operations per second in test mode (a ``sk_test_`` key; 100 in live mode), per account - counted here
per secret key over a rolling second (https://docs.stripe.com/rate-limits). Past it: 429 with
Stripe's ``rate_limit`` error ("Too many requests hit the API too quickly."). The stricter
per-endpoint limits (Search, Files, a PaymentIntent's updates) are for endpoints the stand-in does not
serve.

The signature is written here from Stripe's documentation, independently of
:mod:`shared.webhooks.hmac`: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`` and,
as Stripe adds for test-mode events, a ``v0`` signature made with a different key that a correct
verifier ignores. https://docs.stripe.com/webhooks#verify-manually,
https://docs.stripe.com/api/charges/create, https://docs.stripe.com/api/refunds/create,
https://docs.stripe.com/api/events/object, https://docs.stripe.com/error-handling.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final, Unpack
from urllib.parse import parse_qs, urlsplit

from apps.stripe import STRIPE_API_VERSION, THREE_DECIMAL_CURRENCIES
from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import RateLimit
from sandbox.sender import Subscription, WebhookSender

__all__ = ["DEFAULT_SECRET_KEY", "EVENT_TYPES", "TEST_TOKENS", "StripeSandbox", "stripe_signature"]

DEFAULT_SECRET_KEY: Final = "sk_test_sandbox"
#: Test tokens -> (card brand, last4, funding, country), as Stripe's test cards.
TEST_TOKENS: Final[Mapping[str, tuple[str, str, str, str]]] = {
    "tok_visa": ("visa", "4242", "credit", "US"),
    "tok_visa_debit": ("visa", "5556", "debit", "US"),
    "tok_mastercard": ("mastercard", "4444", "credit", "US"),
    "tok_amex": ("amex", "8431", "credit", "US"),
    "tok_jcb": ("jcb", "0505", "credit", "JP"),
    "tok_gb": ("visa", "0002", "credit", "GB"),
}
_ALNUM: Final = string.ascii_letters + string.digits
#: Event types a webhook endpoint may enable here (Stripe's names; ``*`` is every event).
EVENT_TYPES: Final = (
    "*",
    "charge.captured",
    "charge.expired",
    "charge.failed",
    "charge.pending",
    "charge.refunded",
    "charge.succeeded",
    "charge.updated",
    "charge.dispute.created",
    "checkout.session.completed",
    "customer.created",
    "customer.updated",
    "invoice.paid",
    "payment_intent.created",
    "payment_intent.payment_failed",
    "payment_intent.succeeded",
    "refund.created",
    "refund.updated",
)
_ENDPOINTS_URL: Final = "/v1/webhook_endpoints"
#: ``2026-04-22.dahlia`` (or an older plain ``2020-08-27``).
_API_VERSION: Final = re.compile(r"\d{4}-\d{2}-\d{2}(\.[a-z]+)?")


def stripe_signature(body: bytes, secret: str, now: float) -> str:
    """``t=...,v1=...,v0=...`` as Stripe sends it (v0: a decoy made with another key)."""
    t = str(int(now))
    signed = t.encode() + b"." + body
    v1 = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    v0 = hmac.new(b"stripe-test-mode-v0", signed, hashlib.sha256).hexdigest()
    return f"t={t},v1={v1},v0={v0}"


def _id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(24))


def _error(
    status: int, kind: str, message: str, *, code: str | None = None, param: str | None = None
) -> SandboxResponse:
    error: dict[str, Any] = {"type": kind, "message": message}
    if code:
        error["code"] = code
    if param:
        error["param"] = param
    return SandboxResponse.json({"error": error}, status, {"request-id": _id("req_")})


class _Invalid(Exception):
    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _invalid(message: str, *, code: str = "parameter_invalid", param: str | None = None) -> _Invalid:
    return _Invalid(_error(400, "invalid_request_error", message, code=code, param=param))


def _secret_key(req: SandboxRequest) -> str | None:
    """The secret key a request carries, as a bearer token or the HTTP Basic user (Stripe takes both)."""
    scheme, _, credential = (req.header("authorization") or "").partition(" ")
    key = credential.strip()
    if scheme.lower() == "basic":
        try:
            key = base64.b64decode(key, validate=True).decode().split(":", 1)[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return key or None


#: Stripe's basic rate limiter in test mode: 25 operations per second (live: 100).
TEST_MODE_LIMIT: Final = RateLimit(
    "rate_limit", 25, 1.0, scope="secret key", key=_secret_key, source="https://docs.stripe.com/rate-limits"
)


class StripeSandbox(SandboxApp):
    """Stripe stand-in. See the module docstring for what it serves and sends."""

    name: ClassVar[str] = "stripe"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (TEST_MODE_LIMIT,)

    def __init__(
        self,
        *,
        secret_key: str = DEFAULT_SECRET_KEY,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.secret_key = secret_key
        self.webhooks = WebhookSender(
            lambda _url, body, secret, now: {"stripe-signature": stripe_signature(body, secret, now)},
            new_id=lambda: _id("we_"),
            clock=clock,
        )
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v1/charges", self._create_charge),
            ("GET", "/v1/charges/{id}", self._get_charge),
            ("POST", "/v1/refunds", self._create_refund),
            ("POST", _ENDPOINTS_URL, self._create_endpoint),
            ("GET", _ENDPOINTS_URL, self._list_endpoints),
            ("GET", _ENDPOINTS_URL + "/{id}", self._get_endpoint),
            ("POST", _ENDPOINTS_URL + "/{id}", self._update_endpoint),
            ("DELETE", _ENDPOINTS_URL + "/{id}", self._delete_endpoint),
        )

    def reset_data(self) -> None:
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        #: Idempotency-Key -> the first answer.
        self.idempotent: dict[str, SandboxResponse] = {}

    def state(self) -> Any:
        return {
            "charges": list(self.charges.values()),
            "refunds": list(self.refunds.values()),
            "events": [{"id": e["id"], "type": e["type"]} for e in self.events],
        }

    # --- hooks -----------------------------------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        header = req.header("authorization") or ""
        scheme, _, credential = header.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key, validate=True).decode().split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        if not header:
            return _error(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if key != self.secret_key:
            shown = key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else "***"
            return _error(
                401, "invalid_request_error", f"Invalid API Key provided: {shown}", code="api_key_invalid"
            )
        return None

    def error_response(self, status: int, message: str) -> SandboxResponse:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        return _error(status, kind, message)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return _error(
            429, "invalid_request_error", "Too many requests hit the API too quickly.", code="rate_limit"
        )

    # --- API -------------------------------------------------------------------------------------

    def _idempotent(
        self, req: SandboxRequest, make: Callable[[dict[str, str], str], SandboxResponse]
    ) -> SandboxResponse:
        key = req.header("idempotency-key")
        if key and key in self.idempotent:
            return self.idempotent[key].with_headers({"idempotent-replayed": "true"})
        form = {
            k: v[-1] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        request_id = _id("req_")
        try:
            answer = make(form, request_id).with_headers({"request-id": request_id})
        except _Invalid as exc:
            return exc.response
        if key:
            self.idempotent[key] = answer
        return answer

    def _create_charge(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        return self._idempotent(req, lambda form, rid: self._charge(form, rid, req.header("idempotency-key")))

    def _charge(self, form: dict[str, str], request_id: str, idempotency_key: str | None) -> SandboxResponse:
        amount = _amount(form.get("amount"), "amount")
        currency = (form.get("currency") or "").lower()
        if len(currency) != 3 or not currency.isalpha():
            raise _invalid("Missing required param: currency.", code="parameter_missing", param="currency")
        if currency in THREE_DECIMAL_CURRENCIES and amount % 10:
            raise _invalid(
                "Amounts in three-decimal currencies must end in 0 (round to the nearest ten).",
                param="amount",
            )
        if amount < 1:
            raise _invalid("Amount must be at least 1.", code="amount_too_small", param="amount")
        source = form.get("source", "tok_visa")
        if source not in TEST_TOKENS:
            raise _invalid(f"No such token: '{source}'", code="resource_missing", param="source")
        brand, last4, funding, country = TEST_TOKENS[source]
        capture = form.get("capture", "true") != "false"
        now = int(self.clock())
        charge_id = _id("ch_3")
        metadata = {
            k[len("metadata[") : -1]: v
            for k, v in form.items()
            if k.startswith("metadata[") and k.endswith("]")
        }
        charge = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if capture else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee_amount": None,
            "balance_transaction": _id("txn_3") if capture else None,
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "calculated_statement_descriptor": "BRAMBLE BAKERY",
            "captured": capture,
            "created": now,
            "currency": currency,
            "customer": None,
            "description": form.get("description"),
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": metadata,
            "outcome": {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": True,
            "payment_intent": _id("pi_3"),
            "payment_method": _id("pm_1"),
            "payment_method_details": {
                "card": {
                    "brand": brand,
                    "country": country,
                    "exp_month": 12,
                    "exp_year": 2030,
                    "funding": funding,
                    "last4": last4,
                    "network": brand,
                },
                "type": "card",
            },
            "receipt_email": None,
            "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
            "refunded": False,
            "status": "succeeded",
        }
        self.charges[charge_id] = charge
        self._send("charge.succeeded", charge, None, request_id, idempotency_key)
        return SandboxResponse.json(charge)

    def _get_charge(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        charge = self.charges.get(params["id"])
        if charge is None:
            return _error(
                404,
                "invalid_request_error",
                f"No such charge: '{params['id']}'",
                code="resource_missing",
                param="id",
            )
        return SandboxResponse.json(charge)

    def _create_refund(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        return self._idempotent(req, lambda form, rid: self._refund(form, rid, req.header("idempotency-key")))

    def _refund(self, form: dict[str, str], request_id: str, idempotency_key: str | None) -> SandboxResponse:
        charge = self.charges.get(form.get("charge", ""))
        if charge is None:
            raise _invalid(
                f"No such charge: '{form.get('charge', '')}'", code="resource_missing", param="charge"
            )
        left = charge["amount_captured"] - charge["amount_refunded"]
        amount = _amount(form["amount"], "amount") if "amount" in form else left
        if left <= 0:
            raise _invalid(
                f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
            )
        if not 0 < amount <= left:
            raise _invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        refund = {
            "id": _id("re_3"),
            "object": "refund",
            "amount": amount,
            "balance_transaction": _id("txn_3"),
            "charge": charge["id"],
            "created": int(self.clock()),
            "currency": charge["currency"],
            "metadata": {},
            "payment_intent": charge["payment_intent"],
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        if charge["refunded"] == previous["refunded"]:
            del previous["refunded"]  # previous_attributes lists only what changed
        self._send("charge.refunded", charge, previous, request_id, idempotency_key)
        return SandboxResponse.json(refund)

    def _send(
        self,
        kind: str,
        obj: Mapping[str, Any],
        previous: Mapping[str, Any] | None,
        request_id: str,
        idempotency_key: str | None,
    ) -> None:
        data: dict[str, Any] = {"object": dict(obj)}
        if previous is not None:
            data["previous_attributes"] = dict(previous)
        event = {
            "id": _id("evt_3"),
            "object": "event",
            "api_version": STRIPE_API_VERSION,
            "created": int(self.clock()),
            "data": data,
            "livemode": False,
            "pending_webhooks": sum(s.wants(kind) for s in self.webhooks.subscriptions)
            if self.webhooks
            else 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": kind,
        }
        self.events.append(event)
        if self.webhooks is not None:
            self.webhooks.send(event)

    # --- webhook endpoints -------------------------------------------------------------------------

    def _sender(self) -> WebhookSender:
        if self.webhooks is None:  # pragma: no cover - StripeSandbox always has its sender
            raise RuntimeError("the Stripe stand-in has no webhook sender")
        return self.webhooks

    @staticmethod
    def _endpoint_json(sub: Subscription, *, with_secret: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": sub.id,
            "object": "webhook_endpoint",
            "api_version": sub.fields.get("api_version"),
            "application": None,
            "created": int(sub.created_at),
            "description": sub.fields.get("description"),
            "enabled_events": list(sub.events or ()),
            "livemode": False,
            "metadata": dict(sub.fields.get("metadata", {})),
        }
        if with_secret:
            out["secret"] = sub.secret
        out["status"] = "enabled" if sub.enabled else "disabled"
        out["url"] = sub.url
        return out

    def _endpoint(self, endpoint_id: str) -> Subscription:
        found = self._sender().find(endpoint_id)
        if found is None:
            raise _Invalid(
                _error(
                    404,
                    "invalid_request_error",
                    f"No such webhook endpoint: '{endpoint_id}'",
                    code="resource_missing",
                    param="id",
                )
            )
        return found

    def _create_endpoint(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        def make(_form: dict[str, str], request_id: str) -> SandboxResponse:
            form = _form_lists(req)
            url = _endpoint_url(form, required=True)
            events = _enabled_events(form, required=True)
            version = _last(form, "api_version")
            if version is not None and not _API_VERSION.fullmatch(version):
                raise _invalid(f"Invalid API version: {version}", param="api_version")
            sub = self._sender().add(
                url or "",
                "whsec_" + "".join(secrets.choice(_ALNUM) for _ in range(32)),
                events=events,
                fields={
                    "api_version": version,
                    "description": _last(form, "description") or None,
                    "metadata": _metadata(form, {}),
                },
            )
            return SandboxResponse.json(self._endpoint_json(sub, with_secret=True))

        return self._idempotent(req, make)

    def _list_endpoints(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            limit = _limit(req.param("limit"))
            newest_first = sorted(self._sender().subscriptions, key=lambda s: s.created_at, reverse=True)
            after, before = req.param("starting_after"), req.param("ending_before")
            if after is not None:
                start = newest_first.index(self._endpoint(after)) + 1
                page, more = newest_first[start : start + limit], len(newest_first) > start + limit
            elif before is not None:
                end = newest_first.index(self._endpoint(before))
                page, more = newest_first[max(0, end - limit) : end], end - limit > 0
            else:
                page, more = newest_first[:limit], len(newest_first) > limit
        except _Invalid as exc:
            return exc.response
        return SandboxResponse.json(
            {
                "object": "list",
                "data": [self._endpoint_json(s) for s in page],
                "has_more": more,
                "url": _ENDPOINTS_URL,
            }
        )

    def _get_endpoint(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            return SandboxResponse.json(self._endpoint_json(self._endpoint(params["id"])))
        except _Invalid as exc:
            return exc.response

    def _update_endpoint(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            sub = self._endpoint(params["id"])
            form = _form_lists(req)
            url = _endpoint_url(form, required=False)
            events = _enabled_events(form, required=False)
            disabled = _last(form, "disabled")
            if disabled not in (None, "true", "false"):
                raise _invalid(f"Invalid boolean: {disabled}", param="disabled")
        except _Invalid as exc:
            return exc.response
        if url is not None:
            sub.url = url
        if events is not None:
            sub.events = events
        if disabled is not None:
            sub.enabled = disabled == "false"
        if "description" in form:
            sub.fields["description"] = form["description"][-1] or None
        sub.fields["metadata"] = _metadata(form, sub.fields.get("metadata", {}))
        self._sender().touch(sub)
        return SandboxResponse.json(self._endpoint_json(sub))

    def _delete_endpoint(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        try:
            sub = self._endpoint(params["id"])
        except _Invalid as exc:
            return exc.response
        self._sender().remove(sub.id)
        return SandboxResponse.json({"id": sub.id, "object": "webhook_endpoint", "deleted": True})


def _form_lists(req: SandboxRequest) -> dict[str, list[str]]:
    return parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)


def _last(form: Mapping[str, list[str]], name: str) -> str | None:
    """A scalar parameter (the last one sent wins, as Stripe's form decoding does)."""
    values = form.get(name)
    return values[-1] if values else None


def _indexed(form: Mapping[str, list[str]], name: str) -> list[tuple[str, str]] | None:
    """An array parameter as Stripe takes it: ``name[]=a&name[]=b`` or ``name[0]=a&name[1]=b``."""
    items: list[tuple[str, str]] = [(f"{name}[{i}]", v) for i, v in enumerate(form.get(f"{name}[]", []))]
    numbered = sorted(
        (int(k[len(name) + 1 : -1]), v[-1])
        for k, v in form.items()
        if k.startswith(f"{name}[") and k.endswith("]") and k[len(name) + 1 : -1].isdigit()
    )
    items += [(f"{name}[{i}]", v) for i, v in numbered]
    return items if items or any(k.startswith(f"{name}[") for k in form) else None


def _enabled_events(form: Mapping[str, list[str]], *, required: bool) -> tuple[str, ...] | None:
    items = _indexed(form, "enabled_events")
    if items is None:
        if required:
            raise _invalid(
                "Missing required param: enabled_events.", code="parameter_missing", param="enabled_events"
            )
        return None
    for param, value in items:
        if value not in EVENT_TYPES:
            raise _invalid(f"Invalid {param}: must be one of {', '.join(EVENT_TYPES)}", param=param)
    return tuple(dict.fromkeys(v for _, v in items))


def _endpoint_url(form: Mapping[str, list[str]], *, required: bool) -> str | None:
    url = _last(form, "url")
    if url is None:
        if required:
            raise _invalid("Missing required param: url.", code="parameter_missing", param="url")
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _invalid("Invalid URL: An explicit scheme (such as https) must be provided.", param="url")
    return url


def _metadata(form: Mapping[str, list[str]], current: Mapping[str, str]) -> dict[str, str]:
    """``metadata[k]=v`` sets a key, ``metadata[k]=`` unsets it, ``metadata=`` unsets them all."""
    out = {} if form.get("metadata") == [""] else dict(current)
    for key, values in form.items():
        if key.startswith("metadata[") and key.endswith("]"):
            name = key[len("metadata[") : -1]
            if values[-1]:
                out[name] = values[-1]
            else:
                out.pop(name, None)
    return out


def _limit(value: str | None) -> int:
    if value is None:
        return 10
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise _invalid(
            "This value must be greater than or equal to 1 and less than or equal to 100.", param="limit"
        )
    return int(value)


def _amount(value: str | None, param: str) -> int:
    if value is None or value == "":
        raise _invalid(f"Missing required param: {param}.", code="parameter_missing", param=param)
    if not value.isdigit() or len(value) > 12:
        raise _invalid(f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)
    return int(value)
