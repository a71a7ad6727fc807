"""Slack message formatting: ``mrkdwn`` escaping, Block Kit's limits, and the blocks integrations post.

An integration decides what its message says; this module knows how Slack takes it. Text someone
else typed goes through :func:`mrkdwn_escape` (or into ``plain_text``), so a name like ``<!channel>``
is shown, not obeyed; text that could pass a Block Kit limit is cut (:func:`cut`) rather than making
Slack refuse the whole message with ``invalid_blocks``.

Sources: escaping in ``mrkdwn`` (``&``, ``<`` and ``>``, nothing else):
https://docs.slack.dev/messaging/formatting-message-text#escaping-text; the block limits (header text
150 characters, a section's ``fields`` at most 10 of 2000 each):
https://docs.slack.dev/reference/block-kit/blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "FIELD_MAX_CHARS",
    "HEADER_MAX_CHARS",
    "SECTION_MAX_FIELDS",
    "SECTION_TEXT_MAX_CHARS",
    "Block",
    "actions",
    "button",
    "context",
    "cut",
    "field",
    "fields_section",
    "header",
    "link",
    "mrkdwn_escape",
    "quote",
    "text_section",
]

#: A header block's ``plain_text``.
HEADER_MAX_CHARS: Final = 150
#: Each text object of a section's ``fields``.
FIELD_MAX_CHARS: Final = 2000
#: A section's ``fields``.
SECTION_MAX_FIELDS: Final = 10
#: A section's ``text`` (Slack refuses the whole message with ``invalid_blocks`` past it).
SECTION_TEXT_MAX_CHARS: Final = 3000

#: A button's ``text`` (``plain_text``) and its ``value``.
BUTTON_TEXT_MAX_CHARS: Final = 75
BUTTON_VALUE_MAX_CHARS: Final = 2000

#: One Block Kit block, as ``chat.postMessage`` takes it in ``blocks``.
Block = dict[str, Any]


def mrkdwn_escape(text: str) -> str:
    """Text as Slack shows it literally in ``mrkdwn``: ``&``, ``<`` and ``>`` escaped, nothing else.

    Slack reads ``<...>`` as links and mentions: unescaped, a lead who calls themselves
    ``<!channel>`` would notify the whole channel. Slack documents exactly these three escapes (an
    HTML escaper would also turn quotes into entities that Slack shows as typed).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """``text`` at most ``limit`` characters long, an ellipsis marking where it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def header(text: str) -> Block:
    """A header block: ``text`` as ``plain_text`` (shown as typed), cut to the header's limit."""
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": cut(text, HEADER_MAX_CHARS), "emoji": True},
    }


def field(label: str, value: str) -> dict[str, str]:
    """One of a section's fields: the label in bold over the value, both escaped, cut to the limit."""
    return {
        "type": "mrkdwn",
        "text": cut(f"*{mrkdwn_escape(label)}*\n{mrkdwn_escape(value)}", FIELD_MAX_CHARS),
    }


def fields_section(fields: Sequence[dict[str, str]]) -> Block:
    """A section of fields (two columns in Slack); beyond Block Kit's ten, fields are left out."""
    return {"type": "section", "fields": list(fields[:SECTION_MAX_FIELDS])}


def text_section(mrkdwn: str) -> Block:
    """A section of ``mrkdwn`` text, as given: the caller has escaped what needs it."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def context(mrkdwn: str) -> Block:
    """A context block (small grey text under the message) of ``mrkdwn`` text, as given."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def quote(text: str, limit: int = SECTION_TEXT_MAX_CHARS) -> str:
    """``text`` as a ``mrkdwn`` block quote: every line escaped and marked with ``>``, at most
    ``limit`` characters *after* escaping, cut between characters (never inside ``&amp;``) with an
    ellipsis - escaping can make a text up to five times longer, and a section over Slack's limit
    makes Slack refuse the whole message."""
    quoted = ""
    for i, line in enumerate(text.splitlines() or [""]):
        piece = ("\n" if i else "") + "> " + mrkdwn_escape(line)
        if len(quoted) + len(piece) <= limit:
            quoted += piece
            continue
        room = limit - len(quoted) - 1  # the ellipsis
        start = ("\n" if i else "") + "> "
        if len(start) <= room:
            quoted += start
            for char in line:
                escaped = mrkdwn_escape(char)
                if len(quoted) + len(escaped) > limit - 1:
                    break
                quoted += escaped
        return quoted + "\u2026"
    return quoted


def link(url: str, label: str) -> str:
    """A ``mrkdwn`` link showing ``label``. ``url`` must hold nothing that ends a link (``|``, ``>``).

    A link rather than a link button: a button makes Slack send an interaction payload, which would
    need a request URL configured on the Slack app just to open a page.
    """
    return f"<{url}|{mrkdwn_escape(label)}>"


def button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """A button element. Clicking it makes Slack post a ``block_actions`` payload (with ``action_id``
    and ``value``) to the app's interactivity Request URL - so ``value`` must hold nothing secret:
    whoever can see the message can read it. ``style``: ``primary`` (green) or ``danger`` (red).

    Source: https://docs.slack.dev/reference/block-kit/block-elements/button-element (text at most 75
    characters, ``value`` at most 2000, ``action_id`` at most 255).
    """
    if len(value) > BUTTON_VALUE_MAX_CHARS or not 0 < len(action_id) <= 255:
        raise ValueError("a button's value is at most 2000 characters and its action_id 1-255")
    element: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": cut(text, BUTTON_TEXT_MAX_CHARS), "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        element["style"] = style
    return element


def actions(*elements: dict[str, Any]) -> Block:
    """An actions block: the buttons side by side (Block Kit allows up to 25 elements)."""
    return {"type": "actions", "elements": list(elements[:25])}
