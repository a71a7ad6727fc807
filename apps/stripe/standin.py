"""Stripe, offline: a few Charges and Refunds API calls, and the signed webhooks Stripe sends about them.

Stripe is a *webhook sender* here (see :mod:`sandbox.sender`): creating a charge or a refund through
the API sends ``charge.succeeded`` / ``charge.refunded`` events, in Stripe's event shape
(``evt_...``, ``api_version``, ``data.object`` = the Charge, ``data.previous_attributes`` on
``charge.refunded``, ``pending_webhooks``, ``request {id, idempotency_key}``), to every subscribed URL.

Served (paths as on ``https://api.stripe.com``, form-encoded bodies as Stripe takes them, secret key
as ``Authorization: Bearer sk_test_...`` or HTTP Basic user):

* ``POST /v1/charges`` - ``amount``, ``currency``, ``source`` (a test token: ``tok_visa``,
  ``tok_mastercard``, ``tok_amex``, ``tok_jcb`` ...), ``description``, ``capture``, ``metadata[k]``;
* ``POST /v1/refunds`` - ``charge``, ``amount`` (default: what is left), ``reason``;
* ``GET /v1/charges/{id}``.

``Idempotency-Key`` is honoured as Stripe does: the same key again answers the first answer and
creates (and sends) nothing. Errors are Stripe's ``{"error": {"type", "code", "message", "param"}}``.

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
import secrets
import string
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs

from apps.stripe import STRIPE_API_VERSION, THREE_DECIMAL_CURRENCIES
from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse
from sandbox.sender import WebhookSender

__all__ = ["DEFAULT_SECRET_KEY", "TEST_TOKENS", "StripeSandbox", "stripe_signature"]

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


class StripeSandbox(SandboxApp):
    """Stripe stand-in. See the module docstring for what it serves and sends."""

    name: ClassVar[str] = "stripe"

    def __init__(
        self, *, secret_key: str = DEFAULT_SECRET_KEY, clock: Callable[[], float] = time.time
    ) -> None:
        self.secret_key = secret_key
        self.webhooks = WebhookSender(
            lambda _url, body, secret, now: {"stripe-signature": stripe_signature(body, secret, now)},
            clock=clock,
        )
        super().__init__(clock=clock)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/v1/charges", self._create_charge),
            ("GET", "/v1/charges/{id}", self._get_charge),
            ("POST", "/v1/refunds", self._create_refund),
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
            "pending_webhooks": len(self.webhooks.subscriptions) if self.webhooks else 0,
            "request": {"id": request_id, "idempotency_key": idempotency_key},
            "type": kind,
        }
        self.events.append(event)
        if self.webhooks is not None:
            self.webhooks.send(event)


def _amount(value: str | None, param: str) -> int:
    if value is None or value == "":
        raise _invalid(f"Missing required param: {param}.", code="parameter_missing", param=param)
    if not value.isdigit() or len(value) > 12:
        raise _invalid(f"Invalid integer: {value}", code="parameter_invalid_integer", param=param)
    return int(value)
