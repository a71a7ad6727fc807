"""The arithmetic of the daily report: which payments and refunds count, and how they add up.

Pure functions over the payments domain's models (:mod:`shared.actions.payments`; no I/O), so the
rules are tested on their own:

* The day is the *local* business day ``[00:00, next 00:00)`` in the report's time zone, converted to
  UTC for the till (a summer day in London starts at 23:00 UTC the day before; a DST-change day is 23
  or 25 hours long, which the conversion handles). Square documents ``begin_time`` as inclusive and
  says nothing of ``end_time``; the day is re-checked here on each object's ``created_at``, so an
  inclusive end at the till can never count the next day's first sale twice.
* Only ``completed`` payments are sales. ``authorized`` (not captured), ``pending``, ``canceled`` and
  ``failed`` payments - and any status the domain does not know - moved no money; they are counted
  as ``not_completed`` only.
* Refunds count on the day *they* were made (``Refund.created_at``), only when ``completed`` - a
  refund of yesterday's cake made today lowers today's net, as Square's own sales summary does. A
  refund does not split sale from tip, so refunds are one figure.
* Tips are not sales (they are owed to staff) and fees are not a reduction of sales (they are a
  cost): both are shown beside net sales, never mixed into it. Net = gross - refunds.
* Fees are the processing fees the till's provider reports on each payment (``Payment.fees``:
  Square's ``INITIAL`` plus any ``ADJUSTMENT``), less the (negative) fee share a card refund gives
  back (``Refund.fees``). A payment's fee can appear minutes after the payment; the report runs the
  next morning, when it is there.
* One currency per report: any amount in another currency raises :class:`MixedCurrency` (permanent:
  the report goes to the DLQ with the reason instead of adding pence to cents).
* Online sales (:func:`build_online`, when the settings name a shop) follow the same rules: paid
  orders *processed* in the day are sales, refunds *made* in the day lower it, tips are apart, and
  their amounts must be in the report's currency too (:class:`MixedCurrency` otherwise). They are
  one row beside the till's - online orders have no till location, card brand or till hour - and the
  totals add both.
* Amounts are integer minor units (``Money.amount``); formatting uses :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo

from shared.actions.payments import Money, Payment, Refund, iso_exponent
from shared.errors import PermanentError

from .models import Breakdown, Online, Report

__all__ = ["MixedCurrency", "build_online", "build_report", "day_bounds", "format_money", "method_label"]

_SYMBOLS: Final[Mapping[str, str]] = {
    "GBP": "£",
    "EUR": "€",
    "USD": "$",
    "AUD": "A$",
    "CAD": "C$",
    "JPY": "¥",
}
CASH: Final = "Cash"
OTHER: Final = "Other"


class MixedCurrency(PermanentError):
    """A payment or refund is not in the report's currency: sums would be meaningless."""


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """Local midnight of ``day`` and of the next day, as aware UTC times.

    Built from the calendar date at midnight in the zone, not ``begin + 24 h``: on the day clocks
    change the local day is 23 or 25 hours long.
    """
    tz = ZoneInfo(timezone)
    begin = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return begin.astimezone(UTC), end.astimezone(UTC)


def method_label(payment: Payment) -> str:
    """``Visa``, ``Mastercard`` ... for cards; ``Cash``; ``Other`` for every other source."""
    if payment.source == "cash":
        return CASH
    if payment.source == "card":
        return payment.card_brand or "Card"
    return OTHER


def format_money(amount: int, currency: str) -> str:
    """``123450, "GBP"`` -> ``£1,234.50``; ``-120`` -> ``-£1.20``. Exact (Decimal), never a float."""
    exponent = iso_exponent(currency)
    value = Decimal(abs(amount)).scaleb(-exponent)
    number = f"{value:,.{exponent}f}"
    symbol = _SYMBOLS.get(currency)
    text = f"{symbol}{number}" if symbol else f"{number} {currency}"
    return f"-{text}" if amount < 0 else text


@dataclass
class _Row:
    count: int = 0
    sales: int = 0
    tips: int = 0
    refunds: int = 0

    def row(self, label: str) -> Breakdown:
        return Breakdown(
            label=label, count=self.count, sales=self.sales, tips=self.tips, refunds=self.refunds
        )


@dataclass
class _Currency:
    expected: str
    seen: dict[str, list[str]] = field(default_factory=dict)

    def amount(self, money: Money | None, what: str) -> int:
        if money is None:
            return 0
        if money.currency != self.expected:
            self.seen.setdefault(money.currency, []).append(what)
        return money.amount

    def check(self, day: date, where: str = "Square") -> None:
        if self.seen:
            found = ", ".join(
                f"{c} ({len(ids)}: {', '.join(ids[:3])})" for c, ids in sorted(self.seen.items())
            )
            raise MixedCurrency(
                f"the report for {day.isoformat()} is in {self.expected}, but {where} has amounts in {found}; "
                "one report covers one currency - set `currency` or `locations` to match"
            )


def _utc_text(when: datetime) -> str:
    """``2026-11-20T00:00:00Z``: a day's bound in UTC, to the second (local midnights are whole seconds)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _within(when: datetime | None, begin: datetime, end: datetime) -> bool:
    return when is not None and begin <= when < end


def build_report(
    *,
    day: date,
    timezone: str,
    currency: str,
    payments: Iterable[Payment],
    refunds: Iterable[Refund],
    locations: Mapping[str, str],
) -> Report:
    """Sum one local day's payments and refunds (see the module docstring for the rules)."""
    begin, end = day_bounds(day, timezone)
    tz = ZoneInfo(timezone)
    money = _Currency(currency)
    seen: set[str] = set()
    count = gross = tips = fees = not_completed = 0
    methods: dict[str, _Row] = {}
    hours: dict[int, _Row] = {}
    places: dict[str, _Row] = {loc: _Row() for loc in locations}
    for p in payments:
        if p.id in seen or not _within(p.created_at, begin, end) or p.location_id not in locations:
            continue
        seen.add(p.id)
        if p.status != "completed":
            not_completed += 1
            continue
        assert p.created_at is not None  # _within checked it
        sale = money.amount(p.amount, p.id)
        tip = money.amount(p.tip, p.id)
        fees += sum(money.amount(f, p.id) for f in p.fees)
        count += 1
        gross += sale
        tips += tip
        for row in (
            methods.setdefault(method_label(p), _Row()),
            hours.setdefault(p.created_at.astimezone(tz).hour, _Row()),
            places[str(p.location_id)],
        ):
            row.count += 1
            row.sales += sale
            row.tips += tip
    refund_count = refunded = 0
    seen_refunds: set[str] = set()
    for r in refunds:
        if (
            r.id in seen_refunds
            or r.status != "completed"
            or not _within(r.created_at, begin, end)
            or r.location_id not in locations
        ):
            continue
        seen_refunds.add(r.id)
        amount = money.amount(r.amount, r.id)
        fees += sum(money.amount(f, r.id) for f in r.fees)
        refund_count += 1
        refunded += amount
        places[str(r.location_id)].refunds += amount
    money.check(day)
    return Report(
        day=day,
        timezone=timezone,
        currency=currency,
        begin=_utc_text(begin),
        end=_utc_text(end),
        count=count,
        gross=gross,
        tips=tips,
        refund_count=refund_count,
        refunds=refunded,
        fees=fees,
        not_completed=not_completed,
        by_method=_sorted_rows(methods),
        by_hour=tuple(hours[h].row(f"{h:02d}:00-{(h + 1) % 24:02d}:00") for h in sorted(hours)),
        by_location=tuple(places[loc].row(name) for loc, name in locations.items()),
    )


def _sorted_rows(rows: Mapping[str, _Row]) -> tuple[Breakdown, ...]:
    """Biggest first; Cash and Other after the card brands would be arbitrary, so plain by takings."""
    ordered: Sequence[tuple[str, _Row]] = sorted(
        rows.items(), key=lambda kv: (-(kv[1].sales + kv[1].tips), kv[0])
    )
    return tuple(row.row(label) for label, row in ordered)


def build_online(
    *,
    day: date,
    timezone: str,
    currency: str,
    label: str,
    where: str,
    payments: Iterable[Payment],
    refunds: Iterable[Refund],
) -> Online:
    """Sum one local day of an online shop's orders and refunds (see the module docstring)."""
    begin, end = day_bounds(day, timezone)
    money = _Currency(currency)
    seen: set[str] = set()
    count = gross = tips = not_completed = 0
    for p in payments:
        if p.id in seen or not _within(p.created_at, begin, end):
            continue
        seen.add(p.id)
        if p.status != "completed":
            not_completed += 1
            continue
        count += 1
        gross += money.amount(p.amount, p.id)
        tips += money.amount(p.tip, p.id)
    refund_count = refunded = 0
    seen_refunds: set[str] = set()
    for r in refunds:
        if r.id in seen_refunds or r.status != "completed" or not _within(r.created_at, begin, end):
            continue
        seen_refunds.add(r.id)
        refund_count += 1
        refunded += money.amount(r.amount, r.id)
    money.check(day, where)
    return Online(
        label=label,
        count=count,
        gross=gross,
        tips=tips,
        refund_count=refund_count,
        refunds=refunded,
        not_completed=not_completed,
    )
