"""ListPayments, GetPayment and CreatePayment, offline: the payments part of the Square stand-in.

``GET /v2/payments`` (``begin_time`` inclusive, ``end_time`` exclusive, on ``created_at``;
``sort_order``; ``location_id`` - without it the seller's main location only, as Square does;
``limit`` at most 100; ``cursor``; an empty result is ``{}``), ``GET /v2/payments/{payment_id}``
and a minimal ``POST /v2/payments`` (Square's sandbox card nonces, ``CASH``, ``EXTERNAL``; an
``idempotency_key`` replays the first answer). A payment is created ``COMPLETED`` without its fee,
then updated with it, each step sending its webhook, as Square does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Final

from apps.square import MAX_PAYMENTS_PAGE
from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .notifications import NotificationsApi
from .orders import OrdersApi
from .seed import HIGH_STREET, LOCATIONS, SeedLine, SeedPayment, card_fee
from .wire import (
    Invalid,
    Page,
    idempotency_key,
    invalid_request,
    json_object,
    money_json,
    not_found_error,
    parse_time,
    square_error,
    square_id,
)

__all__ = ["PaymentsApi"]

#: ``card_details.status`` for each payment status.
_CARD_STATUS: Final[Mapping[str, str]] = {
    "COMPLETED": "CAPTURED",
    "APPROVED": "AUTHORIZED",
    "PENDING": "AUTHORIZED",
    "CANCELED": "VOIDED",
    "FAILED": "FAILED",
}
#: Last four digits of Square's sandbox test cards, per brand.
_LAST_4: Final[Mapping[str, str]] = {
    "VISA": "1111",
    "MASTERCARD": "5100",
    "MAESTRO": "0004",
    "AMERICAN_EXPRESS": "0009",
    "DISCOVER": "0004",
    "JCB": "5841",
}
#: Square's sandbox payment tokens ("Payment tokens for testing the Payments API",
#: https://developer.squareup.com/docs/devtools/sandbox/payments) that succeed, and their brand.
_NONCE_BRANDS: Final[Mapping[str, str]] = {"cnon:card-nonce-ok": "VISA", "ccof:customer-card-id-ok": "VISA"}
#: ... and those that fail: code and Square's "Authorization error" detail.
_DECLINING_NONCES: Final[Mapping[str, tuple[str, str]]] = {
    "cnon:card-nonce-declined": ("GENERIC_DECLINE", "Authorization error: 'GENERIC_DECLINE'"),
    "cnon:card-nonce-rejected-cvv": ("CVV_FAILURE", "Authorization error: 'CVV_FAILURE'"),
    "cnon:card-nonce-rejected-postalcode": (
        "ADDRESS_VERIFICATION_FAILURE",
        "Authorization error: 'ADDRESS_VERIFICATION_FAILURE'",
    ),
}
#: CreatePayment / RefundPayment ``idempotency_key``: "The maximum length is 45 characters."


class PaymentsApi(OrdersApi, NotificationsApi):
    """Payments (each with its order), their listing, creation and idempotency."""

    #: The payments (and their orders) seeded on every reset.
    seed_payments: tuple[SeedPayment, ...]
    #: Payment id -> payment, in Square's shape.
    payments: dict[str, dict[str, Any]]
    #: CreatePayment / RefundPayment idempotency: key -> (request body, answer).
    _idempotency: dict[tuple[str, str], tuple[Any, dict[str, Any]]]

    def _reset_payments(self) -> None:
        self.payments = {}
        self._idempotency = {}
        variations = {
            o.data["sku"]: o for o in self.catalog.values() if o.type == "ITEM_VARIATION" and not o.is_deleted
        }
        for seed in self.seed_payments:
            when = parse_time(seed.created_at, "created_at")
            lines = [(variations.get(line.sku), line) for line in seed.lines]
            order = self._order_json(seed.order_id, seed.location_id, lines, seed.currency, when - 30)
            self.orders[order["id"]] = order
            payment = self._payment_json(
                payment_id=seed.id,
                created=when,
                location_id=seed.location_id,
                amount=seed.amount,
                tip=seed.tip,
                currency=seed.currency,
                source_type=seed.source_type,
                card_brand=seed.card_brand,
                status=seed.status,
                order_id=order["id"],
            )
            self.payments[seed.id] = payment
            self._settle_order(order, payment)

    def _payment_json(
        self,
        *,
        payment_id: str,
        created: float,
        location_id: str,
        amount: int,
        tip: int,
        currency: str,
        source_type: str,
        card_brand: str | None,
        status: str,
        order_id: str | None,
        note: str | None = None,
        reference_id: str | None = None,
        buyer_supplied: int | None = None,
        external: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A payment in Square's shape (Payments API, Square-Version 2025-10-16)."""
        total = amount + tip
        updated = created + (2 if status != "COMPLETED" or source_type != "CARD" else 600)
        payment: dict[str, Any] = {
            "id": payment_id,
            "created_at": iso_ms(created),
            "updated_at": iso_ms(updated),
            "amount_money": money_json(amount, currency),
            "total_money": money_json(total, currency),
            "approved_money": money_json(0 if status in ("FAILED", "CANCELED") else total, currency),
            "status": status,
            "source_type": source_type,
            "location_id": location_id,
            "receipt_number": payment_id[:4],
            "receipt_url": f"https://squareup.com/receipt/preview/{payment_id}",
            "application_details": {"square_product": "SQUARE_POS", "application_id": "sq0idp-BrambleTill"},
            "version_token": square_id("version", f"{payment_id}:{updated}", 43),
        }
        if tip:
            payment["tip_money"] = money_json(tip, currency)
        if order_id:
            payment["order_id"] = order_id
        if note:
            payment["note"] = note
        if reference_id:
            payment["reference_id"] = reference_id
        if source_type == "CARD":
            brand = card_brand or "VISA"
            payment["delay_duration"] = "PT168H"
            payment["delay_action"] = "CANCEL"
            payment["card_details"] = {
                "status": _CARD_STATUS.get(status, "AUTHORIZED"),
                "card": {
                    "card_brand": brand,
                    "last_4": _LAST_4.get(brand, "0000"),
                    "exp_month": 11,
                    "exp_year": 2028,
                    "fingerprint": "sq-1-" + square_id("fingerprint", payment_id, 40),
                    "card_type": "CREDIT" if brand == "AMERICAN_EXPRESS" else "DEBIT",
                    "prepaid_type": "NOT_PREPAID",
                    "bin": _LAST_4.get(brand, "0000") + "00",
                },
                "entry_method": "CONTACTLESS",
                "cvv_status": "CVV_NOT_CHECKED",
                "avs_status": "AVS_NOT_CHECKED",
                "statement_description": "SQ *BRAMBLE BAKERY",
            }
            if status == "COMPLETED":
                payment["processing_fee"] = [
                    {
                        "effective_at": iso_ms(created + 600),
                        "type": "INITIAL",
                        "amount_money": money_json(card_fee(total), currency),
                    }
                ]
        elif source_type == "CASH":
            given = buyer_supplied if buyer_supplied is not None else -(-total // 500) * 500
            payment["cash_details"] = {
                "buyer_supplied_money": money_json(given, currency),
                "change_back_money": money_json(given - total, currency),
            }
        elif source_type == "EXTERNAL":
            payment["external_details"] = dict(
                external or {"type": "OTHER", "source": "Bramble gift voucher"}
            )
        return payment

    # ListPayments (its query rules and answer shape serve ListPaymentRefunds too)

    def _list_payments(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            begin, end, order, size = self._list_query(req)
            location = req.param("location_id") or HIGH_STREET  # the seller's main location
            if location not in LOCATIONS:
                raise not_found_error(f"Location `{location}` not found.", "location_id")
            brand, last_4, total = req.param("card_brand"), req.param("last_4"), req.param("total")
            found = [
                p
                for p in self.payments.values()
                if p["location_id"] == location
                and begin <= parse_time(p["created_at"], "created_at") < end
                and (brand is None or p.get("card_details", {}).get("card", {}).get("card_brand") == brand)
                and (last_4 is None or p.get("card_details", {}).get("card", {}).get("last_4") == last_4)
                and (total is None or str(p["total_money"]["amount"]) == total)
            ]
            found.sort(key=lambda p: (p["created_at"], p["id"]), reverse=order == "DESC")
            page = Page.open("payments", req.param("cursor"), found, size)
        except Invalid as invalid:
            return invalid.response
        return self._list_answer("payments", page)

    def _list_query(self, req: SandboxRequest) -> tuple[float, float, str, int]:
        """``begin_time`` (inclusive, default a year ago), ``end_time`` (exclusive, default now),
        ``sort_order`` (default ``DESC``), ``limit`` (default and maximum 100; more is ignored)."""
        now = self.clock()
        begin_text, end_text = req.param("begin_time"), req.param("end_time")
        begin = parse_time(begin_text, "begin_time") if begin_text is not None else now - 365 * 86_400
        end = parse_time(end_text, "end_time") if end_text is not None else now
        if begin > end:
            raise invalid_request(
                "INVALID_TIME_RANGE", "`begin_time` must be before `end_time`.", "begin_time"
            )
        order = req.param("sort_order") or "DESC"
        if order not in ("ASC", "DESC"):
            raise invalid_request("INVALID_ENUM_VALUE", f"`{order}` is not a valid SortOrder.", "sort_order")
        limit_text = req.param("limit")
        size = MAX_PAYMENTS_PAGE
        if limit_text is not None:
            try:
                limit = int(limit_text)
            except ValueError:
                raise invalid_request(
                    "EXPECTED_INTEGER", "Expected an integer value for `limit`.", "limit"
                ) from None
            if limit < 1:
                raise invalid_request("VALUE_TOO_LOW", "`limit` must be at least 1.", "limit")
            size = limit if limit <= MAX_PAYMENTS_PAGE else MAX_PAYMENTS_PAGE
        return begin, end, order, min(size, self.max_page_size)

    @staticmethod
    def _list_answer(key: str, page: Page) -> SandboxResponse:
        cursor = page.take()
        out: dict[str, Any] = {}  # an empty result is {} - no empty array
        if page.out:
            out[key] = copy.deepcopy(page.out)
        if cursor:
            out["cursor"] = cursor
        return SandboxResponse.json(out)

    # GetPayment

    def _get_payment(self, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
        payment = self.payments.get(params["payment_id"])
        if payment is None:
            return not_found_error(f"Payment `{params['payment_id']}` not found.", "payment_id").response
        return SandboxResponse.json({"payment": payment})

    # CreatePayment (its idempotency and money checks serve RefundPayment too)

    def _create_payment(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """A minimal CreatePayment: card (sandbox nonces), ``CASH`` or ``EXTERNAL`` sources."""
        try:
            body = json_object(req)
            key = idempotency_key(body)
            replay = self._replay("payments", key, body)
            if replay is not None:
                return replay
            source = body.get("source_id")
            if not isinstance(source, str) or not source:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER", "Missing required parameter `source_id`.", "source_id"
                )
            amount, currency = self._money_field(body, "amount_money", required=True)
            tip, tip_currency = self._money_field(body, "tip_money", required=False)
            if tip and tip_currency != currency:
                raise invalid_request(
                    "CURRENCY_MISMATCH", "`tip_money` must be in the currency of `amount_money`.", "tip_money"
                )
            location = body.get("location_id") or HIGH_STREET
            if location not in LOCATIONS:
                raise not_found_error(f"Location `{location}` not found.", "location_id")
            order_id = body.get("order_id")
            if order_id is not None and order_id not in self.orders:
                raise not_found_error(f"Order `{order_id}` not found.", "order_id")
            autocomplete = body.get("autocomplete", True) is not False
            buyer_supplied: int | None = None
            external: Mapping[str, Any] | None = None
            brand: str | None = None
            if source == "CASH":
                kind = "CASH"
                buyer_supplied, _c = self._money_field(
                    body.get("cash_details") or {},
                    "buyer_supplied_money",
                    required=True,
                    prefix="cash_details.",
                )
                if buyer_supplied < amount + tip:
                    raise invalid_request(
                        "INVALID_VALUE", "`buyer_supplied_money` is less than the total.", "cash_details"
                    )
            elif source == "EXTERNAL":
                kind = "EXTERNAL"
                external = body.get("external_details")
                if not isinstance(external, dict) or not external.get("type") or not external.get("source"):
                    raise invalid_request(
                        "MISSING_REQUIRED_PARAMETER",
                        "`external_details` with `type` and `source` is required for EXTERNAL.",
                        "external_details",
                    )
            elif source in _DECLINING_NONCES:
                code, detail = _DECLINING_NONCES[source]
                return square_error(400, "PAYMENT_METHOD_ERROR", code, detail)
            elif source.startswith(("cnon:", "ccof:")):
                kind = "CARD"
                brand = _NONCE_BRANDS.get(source, "VISA")
            else:
                raise invalid_request(
                    "INVALID_CARD_DATA", "The `source_id` is not a valid card nonce.", "source_id"
                )
        except Invalid as invalid:
            return invalid.response
        self._sequence += 1
        now = self.clock()
        payment_id = square_id("payment", f"created:{self._sequence}:{key}", 29)
        if order_id is None:
            order_id = square_id("order", payment_id, 27)
            self.orders[order_id] = self._order_json(
                order_id, location, [(None, SeedLine("CUSTOM-AMOUNT", "1", amount))], currency, now
            )
            self.orders[order_id]["line_items"][0]["name"] = "Custom amount"
            self.orders[order_id]["line_items"][0]["item_type"] = "CUSTOM_AMOUNT"
        payment = self._payment_json(
            payment_id=payment_id,
            created=now,
            location_id=location,
            amount=amount,
            tip=tip,
            currency=currency,
            source_type=kind,
            card_brand=brand,
            status="COMPLETED" if autocomplete else "APPROVED",
            order_id=order_id,
            note=body.get("note") if isinstance(body.get("note"), str) else None,
            reference_id=body.get("reference_id") if isinstance(body.get("reference_id"), str) else None,
            buyer_supplied=buyer_supplied,
            external=external,
        )
        # Square computes the fee a little later: created without it, updated with it.
        fee = payment.pop("processing_fee", None)
        payment["updated_at"] = payment["created_at"]
        self.payments[payment_id] = payment
        self._settle_order(self.orders[order_id], payment)
        self._notify("payment.created", "payment", payment)
        if payment["status"] == "COMPLETED":
            payment = self.payments[payment_id] = {
                **payment,
                **({"processing_fee": fee} if fee else {}),
                "updated_at": iso_ms(now + 1),
                "version_token": square_id("version", f"{payment_id}:{now + 1}", 43),
            }
            self._notify("payment.updated", "payment", payment)
        answer = {"payment": copy.deepcopy(payment)}
        self._idempotency[("payments", key)] = (body, answer)
        return SandboxResponse.json(answer)

    def _replay(self, kind: str, key: str, body: Mapping[str, Any]) -> SandboxResponse | None:
        """Square's idempotency: the same key and body answers the first answer, another body is refused."""
        seen = self._idempotency.get((kind, key))
        if seen is None:
            return None
        first_body, answer = seen
        if first_body != body:
            raise invalid_request(
                "IDEMPOTENCY_KEY_REUSED",
                "The idempotency key was already used with another request.",
                "idempotency_key",
            )
        return SandboxResponse.json(answer)

    @staticmethod
    def _money_field(
        body: Mapping[str, Any], name: str, *, required: bool, prefix: str = ""
    ) -> tuple[int, str]:
        value = body.get(name)
        if value is None and not required:
            return 0, ""
        if not isinstance(value, dict):
            raise invalid_request(
                "MISSING_REQUIRED_PARAMETER", f"Missing required parameter `{prefix}{name}`.", prefix + name
            )
        amount, currency = value.get("amount"), value.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool):
            raise invalid_request(
                "EXPECTED_INTEGER", f"Expected an integer value for `{prefix}{name}.amount`.", prefix + name
            )
        if amount < (1 if name == "amount_money" else 0):
            raise invalid_request(
                "INVALID_VALUE", f"`{prefix}{name}.amount` must be positive.", prefix + name
            )
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise invalid_request(
                "INVALID_ENUM_VALUE", f"`{prefix}{name}.currency` is not a currency code.", prefix + name
            )
        return amount, currency
