"""ListPaymentRefunds and RefundPayment, offline: the refunds part of the Square stand-in.

``GET /v2/refunds`` (the same time and page rules as ListPayments, but all locations by default;
``status``, ``source_type``) and ``POST /v2/refunds`` (``PENDING`` in the answer, completed at once
after it, with webhooks). A refund is reflected on its payment (``refund_ids``, ``refunded_money``)
and, once completed, on its order; the processing fee is given back in proportion, as Square does.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from sandbox.base import SandboxRequest, SandboxResponse, iso_ms

from .payments import PaymentsApi
from .seed import LOCATIONS, SeedRefund
from .wire import (
    Invalid,
    Page,
    idempotency_key,
    invalid_request,
    json_object,
    money_json,
    not_found_error,
    parse_time,
    square_id,
)

__all__ = ["RefundsApi"]

_REFUND_STATUSES: Final = frozenset({"PENDING", "COMPLETED", "REJECTED", "FAILED"})


class RefundsApi(PaymentsApi):
    """Refunds of payments: seeded, listed and made."""

    #: The refunds seeded on every reset (after the payments they refund).
    seed_refunds: tuple[SeedRefund, ...]
    #: Refund id -> refund, in Square's shape.
    refunds: dict[str, dict[str, Any]]

    def _reset_refunds(self) -> None:
        self.refunds = {}
        for refund in self.seed_refunds:
            payment = self.payments[refund.payment_id]
            when = parse_time(refund.created_at, "created_at")
            self._record_refund(refund.id, payment, refund.amount, refund.reason, refund.status, when)

    def _record_refund(
        self, refund_id: str, payment: dict[str, Any], amount: int, reason: str, status: str, when: float
    ) -> dict[str, Any]:
        """Store a refund and reflect it on its payment and order, as Square does."""
        currency = payment["amount_money"]["currency"]
        refund: dict[str, Any] = {
            "id": refund_id,
            "status": status,
            "amount_money": money_json(amount, currency),
            "payment_id": payment["id"],
            "order_id": square_id("return-order", refund_id, 27),
            "location_id": payment["location_id"],
            "reason": reason,
            "destination_type": payment["source_type"],
            "created_at": iso_ms(when),
            "updated_at": iso_ms(when + (1 if status == "COMPLETED" else 0)),
        }
        fees = sum(int(f["amount_money"]["amount"]) for f in payment.get("processing_fee", ()))
        if fees and status == "COMPLETED":
            # Square gives back the fee in proportion to the amount refunded (a negative fee).
            share = int(
                (Decimal(fees) * amount / int(payment["total_money"]["amount"])).to_integral_value(
                    ROUND_HALF_UP
                )
            )
            refund["processing_fee"] = [
                {
                    "effective_at": iso_ms(when + 1),
                    "type": "INITIAL",
                    "amount_money": money_json(-share, currency),
                }
            ]
        self.refunds[refund_id] = refund
        self._apply_refund(payment, refund)
        return refund

    def _apply_refund(self, payment: dict[str, Any], refund: Mapping[str, Any]) -> None:
        ids = list(payment.get("refund_ids", ()))
        if refund["id"] not in ids:
            ids.append(refund["id"])
        payment["refund_ids"] = ids
        currency = payment["amount_money"]["currency"]
        refunded = sum(
            int(self.refunds[r]["amount_money"]["amount"])
            for r in ids
            if r in self.refunds and self.refunds[r]["status"] in ("PENDING", "COMPLETED")
        )
        if refunded:
            payment["refunded_money"] = money_json(refunded, currency)
        payment["updated_at"] = max(payment["updated_at"], refund["updated_at"])
        order = self.orders.get(str(payment.get("order_id")))
        if order is not None and refund["status"] == "COMPLETED":
            entries = [r for r in order.get("refunds", ()) if r["id"] != refund["id"]]
            entries.append(
                {
                    "id": refund["id"],
                    "location_id": refund["location_id"],
                    "transaction_id": order["id"],
                    "tender_id": payment["id"],
                    "created_at": refund["created_at"],
                    "reason": refund["reason"],
                    "amount_money": refund["amount_money"],
                    "status": "APPROVED",
                }
            )
            order["refunds"] = entries

    def _list_refunds(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            begin, end, order, size = self._list_query(req)
            location, status = req.param("location_id"), req.param("status")  # all locations by default
            if location is not None and location not in LOCATIONS:
                raise not_found_error(f"Location `{location}` not found.", "location_id")
            if status is not None and status not in _REFUND_STATUSES:
                raise invalid_request(
                    "INVALID_ENUM_VALUE", f"`{status}` is not a valid PaymentRefundStatus.", "status"
                )
            source = req.param("source_type")
            found = [
                r
                for r in self.refunds.values()
                if (location is None or r["location_id"] == location)
                and (status is None or r["status"] == status)
                and (source is None or r["destination_type"] == source)
                and begin <= parse_time(r["created_at"], "created_at") < end
            ]
            found.sort(key=lambda r: (r["created_at"], r["id"]), reverse=order == "DESC")
            page = Page.open("refunds", req.param("cursor"), found, size)
        except Invalid as invalid:
            return invalid.response
        return self._list_answer("refunds", page)

    def _refund_payment(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """RefundPayment: ``PENDING`` in the answer, completed at once after it (with webhooks)."""
        try:
            body = json_object(req)
            key = idempotency_key(body)
            replay = self._replay("refunds", key, body)
            if replay is not None:
                return replay
            payment_id = body.get("payment_id")
            if not isinstance(payment_id, str) or not payment_id:
                raise invalid_request(
                    "MISSING_REQUIRED_PARAMETER", "Missing required parameter `payment_id`.", "payment_id"
                )
            payment = self.payments.get(payment_id)
            if payment is None:
                raise not_found_error(f"Payment `{payment_id}` not found.", "payment_id")
            amount, currency = self._money_field(body, "amount_money", required=True)
            if currency != payment["amount_money"]["currency"]:
                raise invalid_request(
                    "CURRENCY_MISMATCH", "The refund currency differs from the payment's.", "amount_money"
                )
            if payment["status"] != "COMPLETED":
                raise invalid_request(
                    "PAYMENT_NOT_REFUNDABLE", "Only COMPLETED payments can be refunded.", "payment_id"
                )
            refunded = int(payment.get("refunded_money", {}).get("amount", 0))
            if amount > int(payment["total_money"]["amount"]) - refunded:
                raise invalid_request(
                    "REFUND_AMOUNT_INVALID",
                    "The refund amount exceeds what remains of the payment.",
                    "amount_money",
                )
        except Invalid as invalid:
            return invalid.response
        self._sequence += 1
        now = self.clock()
        given = body.get("reason")
        reason = given if isinstance(given, str) and given else "Requested by the seller"
        refund_id = f"{payment_id}_{square_id('refund', f'created:{self._sequence}:{key}', 20)}"
        refund = self._record_refund(refund_id, payment, amount, reason, "PENDING", now)
        answer = {"refund": copy.deepcopy(refund)}
        self._notify("refund.created", "refund", refund)
        completed = self._record_refund(refund_id, payment, amount, reason, "COMPLETED", now)
        self._notify("refund.updated", "refund", completed)
        self._notify("payment.updated", "payment", payment)
        self._idempotency[("refunds", key)] = (body, answer)
        return SandboxResponse.json(answer)
