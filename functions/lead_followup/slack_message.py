"""The Slack messages of lead_followup: the offer (lead, score, reason, two buttons) and its outcome.

Text from the CRM goes through the escaping builders of :mod:`apps.slack.blocks`. The buttons carry
``contact:<id>`` only: anyone who sees the message can read a button's value.
"""

from __future__ import annotations

from apps.slack.blocks import (
    Block,
    actions,
    button,
    context,
    field,
    fields_section,
    header,
    link,
    mrkdwn_escape,
)

from .models import BOOK, NOT_NOW, contact_value

__all__ = ["offer_message", "outcome_message"]


def offer_message(
    *, name: str, company: str | None, score: int, reason: str | None, crm_url: str | None, contact_id: str
) -> tuple[str, list[Block]]:
    """``(text, blocks)`` of the offer: the text is what the notification shows."""
    text = mrkdwn_escape(f"Hot lead: {name} scored {score}")
    fields = [field("Lead", name), field("Score", f"{score} / 100")]
    if company:
        fields.append(field("Company", company))
    if reason:
        fields.append(field("Why", reason))
    blocks: list[Block] = [header(f"Hot lead: {name}"), fields_section(fields)]
    if crm_url and crm_url.startswith("https://") and not any(c in crm_url for c in "|<> "):
        blocks.append(context(link(crm_url, "Open the contact in HubSpot")))
    value = contact_value(contact_id)
    blocks.append(
        actions(
            button("Book them in", BOOK, value, style="primary"),
            button("Not now", NOT_NOW, value),
        )
    )
    return text, blocks


def outcome_message(headline: str, detail: str) -> tuple[str, list[Block]]:
    """The offer replaced by what became of it (no buttons left to click)."""
    text = mrkdwn_escape(headline)
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{mrkdwn_escape(headline)}*"}},
        context(mrkdwn_escape(detail)),
    ]
