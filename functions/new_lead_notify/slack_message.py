"""The Slack announcement of a lead: fallback text and Block Kit blocks.

Everything a visitor typed is escaped for ``mrkdwn`` (:func:`apps.slack.mrkdwn_escape`) or
put in ``plain_text`` objects, so a name like ``<!channel>`` is shown, not obeyed. Lengths are cut to
Block Kit's limits (header 150, field 2000, section 3000 characters) so a long message can never
make Slack refuse the whole announcement.
"""

from __future__ import annotations

from typing import Any, Final

from apps.slack import mrkdwn_escape

from .content import LeadView

__all__ = ["lead_message"]

_HEADER_MAX: Final = 150
_FIELD_MAX: Final = 2000
_QUOTE_MAX: Final = 1500


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _cut(f"*{label}*\n{mrkdwn_escape(value)}", _FIELD_MAX)}


def _quote(message: str) -> str:
    lines = _cut(message, _QUOTE_MAX).splitlines() or [""]
    return "\n".join("> " + mrkdwn_escape(line) for line in lines)


def lead_message(lead: LeadView) -> tuple[str, list[dict[str, Any]]]:
    """``(text, blocks)`` for ``chat.postMessage``: the text is what notifications show."""
    company = f" ({lead.company})" if lead.company else ""
    text = mrkdwn_escape(f"{lead.headline}: {lead.name}{company}, via {lead.source}")
    fields = [_field("Name", lead.name)]
    if lead.company:
        fields.append(_field("Company", lead.company))
    if lead.email:
        fields.append(_field("Email", lead.email))
    if lead.phone:
        fields.append(_field("Phone", lead.phone))
    fields.append(_field("Source", lead.source))
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _cut(f"{lead.headline}: {lead.name}", _HEADER_MAX),
                "emoji": True,
            },
        },
        {"type": "section", "fields": fields},
    ]
    if lead.message:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _quote(lead.message)}})
    if lead.crm_url:
        # A mrkdwn link, not a button: a link button makes Slack send an interaction payload, which
        # would need a request URL configured on the Slack app just to open a page.
        link = f"<{lead.crm_url}|Open the contact in HubSpot>"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": link}})
    where = f"Received {lead.received} \u00b7 HubSpot contact {mrkdwn_escape(lead.contact_id)}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": where}]})
    return text, blocks
