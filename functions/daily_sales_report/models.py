"""daily_sales_report's models: the work item, the settings, and the report it computes.

Money is integer minor units (pence) everywhere, as Square sends it (``Money.amount``); nothing here
is ever a float. The report is a plain JSON-able model because it is frozen in the effects ledger
(step ``square.snapshot``) and both the email and the Slack message are rendered from that one copy.
"""

from __future__ import annotations

import email.utils
import re
from datetime import date, datetime
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["ONLINE_LABELS", "Breakdown", "Online", "Report", "ReportRequest", "Settings"]

#: The online shops the report can include (``Settings.online``), and the row's label.
ONLINE_LABELS: Final = {"shopify": "Online (Shopify)"}

_ADDRESS: Final = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
#: Square location ids are upper-case letters and digits (``L8M2Q9ZB3XW1P``).
_LOCATION_ID: Final = re.compile(r"^[A-Z0-9]{6,32}$")


def _email_address(value: str, *, display_name: bool) -> str:
    name, address = email.utils.parseaddr(value)
    if not _ADDRESS.match(address) or (name and not display_name):
        raise ValueError("is not an email address")
    return value.strip()


class ReportRequest(BaseModel):
    """One report to make: a business day in a time zone. Ours, so strict (``extra="forbid"``).

    The time zone travels with the work item (it is the schedule's, :data:`spec.TIMEZONE`), so a
    report redriven from the DLQ later covers exactly the day the tick meant.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The local business day reported on ("yesterday" as seen at the tick).
    day: date
    #: IANA time zone the day is counted in (``Europe/London``).
    timezone: str
    #: ``all``: every location in the settings, in one report.
    scope: str = Field(default="all", pattern=r"^all$")
    #: When the schedule fired (for the trace; not used in the sums).
    scheduled_at: datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class Settings(BaseModel):
    """daily_sales_report's configuration, per stage (CDK context ``settings.daily_sales_report``)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Who gets the email (the owner, a bookkeeper ...): one to ten addresses.
    report_to: tuple[str, ...] = Field(min_length=1, max_length=10)
    #: The sender, with a display name if wanted; its domain must be verified in SES.
    from_address: str
    #: Shown in the subject and the header ("Bramble Bakery").
    business_name: str = Field(min_length=1, max_length=100)
    #: Channel name (``#sales``) or id (``C0123ABCDEF``); the Slack app must be in it.
    slack_channel: str = Field(default="#sales", min_length=2, max_length=80)
    #: Square location id -> the name the report shows. ListPayments answers one location per call
    #: (its default is the seller's *main* location, not all), so the report asks for each of these.
    locations: dict[str, str] = Field(min_length=1, max_length=50)
    #: The one currency the report is in (ISO 4217). A payment or refund in any other currency stops
    #: the report with a clear error instead of adding pence to cents.
    currency: str = Field(default="GBP", pattern=r"^[A-Z]{3}$")
    #: The online shop whose sales the report adds beside the till's: ``none``, or ``shopify`` (the
    #: ``shopify`` connection must then hold the shop's Admin API token, scope ``read_orders``). Its
    #: amounts must be in :attr:`currency` too.
    online: Literal["none", "shopify"] = "none"

    _report_to = field_validator("report_to")(
        lambda cls, v: tuple(_email_address(a, display_name=False) for a in v)
    )
    _from_address = field_validator("from_address")(lambda cls, v: _email_address(v, display_name=True))

    @field_validator("locations")
    @classmethod
    def _location_ids(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _LOCATION_ID.match(k)]
        if bad:
            raise ValueError(f"not Square location ids: {bad}")
        return value


class Breakdown(BaseModel):
    """One row of a breakdown (a payment method, an hour, a location)."""

    model_config = ConfigDict(frozen=True)

    label: str
    count: int = 0
    #: ``amount_money`` of the completed payments: sales before tips.
    sales: int = 0
    tips: int = 0
    refunds: int = 0

    @property
    def taken(self) -> int:
        """What changed hands: sales plus tips."""
        return self.sales + self.tips


class Online(BaseModel):
    """The online shop's day, beside the till's: orders paid and refunds made. Minor units."""

    model_config = ConfigDict(frozen=True)

    #: ``Online (Shopify)``.
    label: str
    #: Paid orders processed that day, and the sum of their totals less tips (tax and shipping in).
    count: int
    gross: int
    tips: int
    #: Refunds made that day (whatever day the order was), and their sum.
    refund_count: int
    refunds: int
    #: Orders of the day not paid (pending, authorised only, voided, expired): not counted.
    not_completed: int

    @property
    def net(self) -> int:
        return self.gross - self.refunds


class Report(BaseModel):
    """One day's takings. All amounts in minor units of :attr:`currency`."""

    model_config = ConfigDict(frozen=True)

    day: date
    timezone: str
    currency: str
    #: RFC 3339 bounds the day was read with: ``[begin, end)``.
    begin: str
    end: str
    #: Completed payments created that day.
    count: int
    #: Sum of their ``amount_money``: what was sold, tax included, tips excluded.
    gross: int
    #: Sum of their ``tip_money`` (owed to staff, so not sales).
    tips: int
    #: Completed refunds created that day (whatever day the payment was), and their sum.
    refund_count: int
    refunds: int
    #: Square's processing fees of those payments, less the fee share refunds gave back.
    fees: int
    #: Payments created that day that are not COMPLETED (failed, canceled, still only approved).
    not_completed: int
    by_method: tuple[Breakdown, ...] = ()
    by_hour: tuple[Breakdown, ...] = ()
    by_location: tuple[Breakdown, ...] = ()
    #: The online shop's day when the settings include one (``None``: the till only - and every
    #: report recorded before online sales existed).
    online: Online | None = None

    @property
    def net(self) -> int:
        """The till's net sales: gross less refunds (tips and fees shown separately, never mixed in)."""
        return self.gross - self.refunds

    @property
    def total_net(self) -> int:
        """Net sales of the till and the online shop together."""
        return self.net + (self.online.net if self.online else 0)

    @property
    def total_count(self) -> int:
        """Payments at the till and paid online orders."""
        return self.count + (self.online.count if self.online else 0)
