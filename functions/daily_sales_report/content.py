"""The report as people read it: formatted figures shared by the email templates and Slack.

Formatting happens once, here, from the frozen :class:`~.models.Report`, so the email and the Slack
message cannot disagree on a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .models import Breakdown, Online, Report
from .report import format_money

__all__ = ["OnlineView", "ReportView", "Row", "template_context", "view"]


@dataclass(frozen=True)
class Row:
    label: str
    count: int
    sales: str
    tips: str
    taken: str
    refunds: str
    #: Share of the day's sales, for the hour bars (0-100, whole percent).
    share: int


@dataclass(frozen=True)
class OnlineView:
    """The online shop's row: ``Online (Shopify)``, its orders, sales, refunds, tips and net."""

    label: str
    count: int
    gross: str
    tips: str
    refund_count: int
    refunds: str
    net: str
    not_completed: int


@dataclass(frozen=True)
class ReportView:
    day: str  # "Friday 20 November 2026"
    day_iso: str
    short_day: str  # "Fri 20 Nov"
    timezone: str
    currency: str
    count: int
    gross: str
    tips: str
    refund_count: int
    refunds: str
    #: Net sales of everything reported: the till's plus the online shop's.
    net: str
    #: The till's own net sales (the "In shop" row when there is an online row beside it).
    till_net: str
    fees: str
    not_completed: int
    #: "12 payments", or "12 payments and 5 online orders".
    counted: str
    online: OnlineView | None
    empty: bool
    by_method: tuple[Row, ...]
    by_hour: tuple[Row, ...]
    by_location: tuple[Row, ...]
    busiest_hour: Row | None


def _rows(rows: tuple[Breakdown, ...], currency: str, total_sales: int) -> tuple[Row, ...]:
    return tuple(
        Row(
            label=r.label,
            count=r.count,
            sales=format_money(r.sales, currency),
            tips=format_money(r.tips, currency),
            taken=format_money(r.taken, currency),
            refunds=format_money(r.refunds, currency),
            share=(r.sales * 100 // total_sales) if total_sales > 0 else 0,
        )
        for r in rows
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _online(online: Online, currency: str) -> OnlineView:
    return OnlineView(
        label=online.label,
        count=online.count,
        gross=format_money(online.gross, currency),
        tips=format_money(online.tips, currency),
        refund_count=online.refund_count,
        refunds=format_money(online.refunds, currency),
        net=format_money(online.net, currency),
        not_completed=online.not_completed,
    )


def view(report: Report) -> ReportView:
    c = report.currency
    hours = _rows(report.by_hour, c, report.gross)
    busiest = None
    if report.by_hour:
        top = max(range(len(report.by_hour)), key=lambda i: (report.by_hour[i].sales, -i))
        busiest = hours[top]
    return ReportView(
        day=f"{report.day:%A} {report.day.day} {report.day:%B %Y}",
        day_iso=report.day.isoformat(),
        short_day=f"{report.day:%a} {report.day.day} {report.day:%b}",
        timezone=report.timezone,
        currency=c,
        count=report.count,
        gross=format_money(report.gross, c),
        tips=format_money(report.tips, c),
        refund_count=report.refund_count,
        refunds=format_money(report.refunds, c),
        net=format_money(report.total_net, c),
        till_net=format_money(report.net, c),
        fees=format_money(report.fees, c),
        not_completed=report.not_completed,
        counted=_plural(report.count, "payment")
        + (f" and {_plural(report.online.count, 'online order')}" if report.online else ""),
        online=_online(report.online, c) if report.online else None,
        empty=report.total_count == 0
        and report.refund_count == 0
        and (report.online is None or report.online.refund_count == 0),
        by_method=_rows(report.by_method, c, report.gross),
        by_hour=hours,
        by_location=_rows(report.by_location, c, report.gross),
        busiest_hour=busiest,
    )


def template_context(report: Report, business_name: str) -> dict[str, Any]:
    return {"report": view(report), "business_name": business_name}
