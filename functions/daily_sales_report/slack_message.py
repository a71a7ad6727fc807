"""The Slack summary of a day: fallback text and Block Kit blocks (chat.postMessage).

Short on purpose - the headline figures, the payment methods and the busiest hour; the email has
the full tables. Labels come from the settings (location names) and Square (card brands), so they
are escaped for ``mrkdwn`` (:func:`apps.slack.mrkdwn_escape`). A section's fields are at most
10 (Block Kit), so long lists are cut with a count of what was left out.
https://api.slack.com/reference/block-kit/blocks#section
"""

from __future__ import annotations

from typing import Any, Final

from apps.slack import mrkdwn_escape

from .content import ReportView, Row

__all__ = ["report_message"]

_MAX_FIELDS: Final = 10
_MAX_LINES: Final = 12


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{mrkdwn_escape(label)}*\n{mrkdwn_escape(value)}"}


def _lines(rows: tuple[Row, ...]) -> str:
    shown = [f"\u2022 {mrkdwn_escape(r.label)}: {r.taken} ({r.count})" for r in rows[:_MAX_LINES]]
    if len(rows) > _MAX_LINES:
        shown.append(f"\u2026 and {len(rows) - _MAX_LINES} more")
    return "\n".join(shown)


def report_message(report: ReportView, business_name: str) -> tuple[str, list[dict[str, Any]]]:
    """``(text, blocks)``: the text is what notifications and screen readers show."""
    title = f"{business_name} sales, {report.short_day}"
    summary = "no sales" if report.empty else f"net {report.net} from {report.count} payments"
    text = f"{title}: {summary}"
    fields = [
        _field("Net sales", report.net),
        _field("Payments", str(report.count)),
        _field("Gross sales", report.gross),
        _field("Refunds", f"{report.refunds} ({report.refund_count})"),
        _field("Tips", report.tips),
        _field("Square fees", report.fees),
    ][:_MAX_FIELDS]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150], "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    if report.by_method:
        method_text = "*By payment method* (sales + tips)\n" + _lines(report.by_method)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": method_text}})
    if len(report.by_location) > 1:
        location_text = "*By location*\n" + _lines(report.by_location)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": location_text}})
    notes = [f"{report.day} ({mrkdwn_escape(report.timezone)})"]
    if report.busiest_hour is not None:
        notes.append(f"busiest {report.busiest_hour.label}: {report.busiest_hour.sales}")
    if report.not_completed:
        notes.append(f"{report.not_completed} payment(s) not completed, not counted")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " \u00b7 ".join(notes)}]})
    return mrkdwn_escape(text), blocks
