"""The Slack summary of a day: fallback text and Block Kit blocks (chat.postMessage).

Short on purpose - the headline figures (with an online shop: the till's and the shop's net beside the
total), the payment methods and the busiest hour; the email has
the full tables. Labels come from the settings (location names) and Square (card brands), so they
are escaped for ``mrkdwn``; the builders of :mod:`apps.slack.blocks` escape and keep to Block Kit's
limits, and this module says only what the summary shows. A list longer than a glance is cut with
a count of what was left out.
"""

from __future__ import annotations

from typing import Final

from apps.slack.blocks import Block, context, field, fields_section, header, mrkdwn_escape, text_section

from .content import ReportView, Row

__all__ = ["report_message"]

_MAX_LINES: Final = 12


def _lines(rows: tuple[Row, ...]) -> str:
    shown = [f"\u2022 {mrkdwn_escape(r.label)}: {r.taken} ({r.count})" for r in rows[:_MAX_LINES]]
    if len(rows) > _MAX_LINES:
        shown.append(f"\u2026 and {len(rows) - _MAX_LINES} more")
    return "\n".join(shown)


def report_message(report: ReportView, business_name: str) -> tuple[str, list[Block]]:
    """``(text, blocks)``: the text is what notifications and screen readers show."""
    title = f"{business_name} sales, {report.short_day}"
    summary = "no sales" if report.empty else f"net {report.net} from {report.counted}"
    text = f"{title}: {summary}"
    fields = [
        field("Net sales", report.net),
        field("Payments", str(report.count)),
        field("Gross sales", report.gross),
        field("Refunds", f"{report.refunds} ({report.refund_count})"),
        field("Tips", report.tips),
        field("Square fees", report.fees),
    ]
    if report.online is not None:
        fields[1:2] = [field("In shop (Square)", f"{report.till_net} ({report.count} payments)")]
        fields.insert(2, field(report.online.label, f"{report.online.net} ({report.online.count} orders)"))
        fields.append(field("Online refunds", f"{report.online.refunds} ({report.online.refund_count})"))
    blocks = [header(title), fields_section(fields)]
    if report.by_method:
        blocks.append(text_section("*By payment method* (sales + tips)\n" + _lines(report.by_method)))
    if len(report.by_location) > 1:
        blocks.append(text_section("*By location*\n" + _lines(report.by_location)))
    notes = [f"{report.day} ({mrkdwn_escape(report.timezone)})"]
    if report.busiest_hour is not None:
        notes.append(f"busiest {report.busiest_hour.label}: {report.busiest_hour.sales}")
    if report.not_completed:
        notes.append(f"{report.not_completed} payment(s) not completed, not counted")
    if report.online is not None and report.online.not_completed:
        notes.append(f"{report.online.not_completed} online order(s) not paid, not counted")
    blocks.append(context(" \u00b7 ".join(notes)))
    return mrkdwn_escape(text), blocks
