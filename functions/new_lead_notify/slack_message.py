"""The Slack announcement of a lead: fallback text and Block Kit blocks.

Everything a visitor typed is escaped for ``mrkdwn`` or put in ``plain_text`` objects, and cut to
Block Kit's limits, by the builders of :mod:`apps.slack.blocks`; this module says only what the
announcement shows. The visitor's message is quoted up to 1,500 characters: enough to read, short
enough to keep the announcement a glance.
"""

from __future__ import annotations

from typing import Final

from apps.slack.blocks import (
    Block,
    context,
    cut,
    field,
    fields_section,
    header,
    link,
    mrkdwn_escape,
    quote,
    text_section,
)

from .content import LeadView

__all__ = ["lead_message"]

_QUOTE_MAX: Final = 1500


def lead_message(lead: LeadView) -> tuple[str, list[Block]]:
    """``(text, blocks)`` for ``chat.postMessage``: the text is what notifications show."""
    company = f" ({lead.company})" if lead.company else ""
    text = mrkdwn_escape(f"{lead.headline}: {lead.name}{company}, via {lead.source}")
    fields = [field("Name", lead.name)]
    if lead.company:
        fields.append(field("Company", lead.company))
    if lead.email:
        fields.append(field("Email", lead.email))
    if lead.phone:
        fields.append(field("Phone", lead.phone))
    fields.append(field("Source", lead.source))
    blocks = [header(f"{lead.headline}: {lead.name}"), fields_section(fields)]
    if lead.message:
        blocks.append(text_section(quote(cut(lead.message, _QUOTE_MAX))))
    if lead.crm_url:
        blocks.append(text_section(link(lead.crm_url, "Open the contact in HubSpot")))
    where = f"Received {lead.received} \u00b7 HubSpot contact {mrkdwn_escape(lead.contact_id)}"
    blocks.append(context(where))
    return text, blocks
