"""Payment actions (Square): the payments and refunds of a period, and one order. Reads only.

``payments.list`` answers what the till took: every payment *created* in ``[begin_time, end_time)``
at the given locations, and every refund created in it there, each in Square's own shape
(:class:`apps.square.Payment`, :class:`~apps.square.PaymentRefund`) with every status -
the caller decides what counts (``daily_sales_report``'s arithmetic keeps ``COMPLETED`` only).
ListPayments without a location answers the seller's *main* location only, so it is asked once per
location; ListPaymentRefunds answers every location at once, so the refunds are filtered here. The
locations are the deployment's (config ``location_ids``): a model asks "what did we take yesterday",
not "at which Square location id". A period is at most 31 days, so one call stays a bounded number
of pages.

``sales.get_order`` reads one order (RetrieveOrder): its line items, taxes and tenders - what a sale
was *for*, where a payment only says how much.

Both answer in Square's shapes minus what identifies a person: the buyer's email address, the
cardholder's name, the card's fingerprint and BIN, and free-text notes are removed before anything
leaves the action (an AI tool's answer goes to a model; nothing Switchboard does with these needs
them). The card brand and last four digits stay: they are how a person finds a payment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from apps import square
from shared.actions.base import Action, ActionContext

__all__ = [
    "ACTIONS",
    "GET_ORDER",
    "LIST",
    "FoundOrder",
    "GetOrder",
    "ListPayments",
    "PaymentList",
]

#: The longest period one call lists (a month: bounded pages, a clear answer).
MAX_PERIOD: Final = timedelta(days=31)


class ListPayments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    begin_time: AwareDatetime = Field(description="start of the period, inclusive (RFC 3339 with offset)")
    end_time: AwareDatetime = Field(description="end of the period, exclusive (RFC 3339 with offset)")
    #: Config: the Square locations whose payments are listed.
    location_ids: list[str] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _period(self) -> ListPayments:
        if self.end_time <= self.begin_time:
            raise ValueError("end_time must be after begin_time")
        if self.end_time - self.begin_time > MAX_PERIOD:
            raise ValueError("the period can be at most 31 days; list a long range month by month")
        return self


class PaymentList(BaseModel):
    model_config = ConfigDict(frozen=True)

    payments: list[square.Payment] = Field(description="every status; only COMPLETED ones took money")
    refunds: list[square.PaymentRefund] = Field(
        description="every status; only COMPLETED ones gave money back"
    )


class GetOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    order_id: str = Field(min_length=1, max_length=192, description="Square order id (a payment's order_id)")


class FoundOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: square.Order


def _card(card: square.Card | None) -> square.Card | None:
    if card is None:
        return None
    return card.model_copy(update={"cardholder_name": None, "fingerprint": None, "bin": None})


def _payment(payment: square.Payment) -> square.Payment:
    details = payment.card_details
    if details is not None:
        details = details.model_copy(update={"card": _card(details.card)})
    return payment.model_copy(update={"buyer_email_address": None, "note": None, "card_details": details})


def _order(order: square.Order) -> square.Order:
    tenders = tuple(
        t.model_copy(
            update={
                "note": None,
                "card_details": t.card_details.model_copy(update={"card": _card(t.card_details.card)})
                if t.card_details
                else None,
            }
        )
        for t in order.tenders
    )
    lines = tuple(li.model_copy(update={"note": None}) for li in order.line_items)
    return order.model_copy(update={"tenders": tenders, "line_items": lines})


def _client(ctx: ActionContext) -> square.SquareClient:
    return square.SquareClient(ctx.api(square.APP, square.CONNECTION))


def _list(ctx: ActionContext, data: ListPayments) -> PaymentList:
    client = _client(ctx)
    wanted = set(data.location_ids)
    payments = [
        _payment(p)
        for location in data.location_ids
        for p in client.list_payments(
            begin_time=data.begin_time, end_time=data.end_time, location_id=location
        )
    ]
    refunds = [
        r
        for r in client.list_refunds(begin_time=data.begin_time, end_time=data.end_time)
        if r.location_id in wanted
    ]
    return PaymentList(payments=payments, refunds=refunds)


def _get_order(ctx: ActionContext, data: GetOrder) -> FoundOrder:
    return FoundOrder(order=_order(_client(ctx).retrieve_order(data.order_id)))


LIST: Final = Action(
    name="payments.list",
    description="List the shop's till payments and refunds of a period, up to 31 days (Square).",
    input=ListPayments,
    output=PaymentList,
    app=square.APP.name,
    connections=(square.CONNECTION,),
    run=_list,
    effect=False,
    config={"location_ids": "sales_location_ids"},
)
GET_ORDER: Final = Action(
    name="sales.get_order",
    description="Read a till order by id: its items, quantities, taxes and totals (Square).",
    input=GetOrder,
    output=FoundOrder,
    app=square.APP.name,
    connections=(square.CONNECTION,),
    run=_get_order,
    effect=False,
)

ACTIONS: Final = (LIST, GET_ORDER)
