"""Payment actions: the payments and refunds of a period, and one order. Reads only.

``payments.list`` answers what the till took: every payment *created* in ``[begin_time, end_time)``
at the given locations, and every refund created in it there, each in Square's own shape
(:class:`apps.square.models.Payment`, :class:`~apps.square.models.PaymentRefund`) with every status -
the caller decides what counts (``daily_sales_report``'s arithmetic keeps ``COMPLETED`` only).
The locations are the deployment's (config ``location_ids``): a model asks "what did we take
yesterday", not "at which Square location id". A period is at most 31 days, so one call stays a
bounded number of pages.

``sales.get_order`` reads one order: its line items, taxes and tenders - what a sale was *for*,
where a payment only says how much.

This module is the contract (inputs, outputs, limits); Square performs both actions
(:mod:`apps.square.actions`), and answers without what identifies a person.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from apps.square.models import Order, Payment, PaymentRefund

__all__ = [
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

    payments: list[Payment] = Field(description="every status; only COMPLETED ones took money")
    refunds: list[PaymentRefund] = Field(description="every status; only COMPLETED ones gave money back")


class GetOrder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    order_id: str = Field(min_length=1, max_length=192, description="Square order id (a payment's order_id)")


class FoundOrder(BaseModel):
    model_config = ConfigDict(frozen=True)

    order: Order
