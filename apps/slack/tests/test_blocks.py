"""Slack message formatting: mrkdwn escaping and the Block Kit builders, checked by the stand-in."""

from __future__ import annotations

import json

from apps.slack.blocks import (
    FIELD_MAX_CHARS,
    HEADER_MAX_CHARS,
    SECTION_MAX_FIELDS,
    SECTION_TEXT_MAX_CHARS,
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
from apps.slack.standin import DEFAULT_TOKEN, SlackSandbox
from sandbox.base import SandboxRequest


def test_mrkdwn_escape_escapes_exactly_what_slack_documents() -> None:
    assert mrkdwn_escape("<!channel> & <@U123|x> \"quoted\" 'single'") == (
        "&lt;!channel&gt; &amp; &lt;@U123|x&gt; \"quoted\" 'single'"
    )
    assert mrkdwn_escape("&lt;") == "&amp;lt;"  # escaped once, so shown as typed


def test_cut_marks_where_it_cut() -> None:
    assert cut("short", 10) == "short"
    assert cut("x" * 11, 10) == "x" * 9 + "\u2026"
    assert len(cut("x" * 11, 10)) == 10


def test_a_header_is_plain_text_within_its_limit() -> None:
    block = header("<!channel> " + "y" * 500)
    assert block["type"] == "header" and block["text"]["type"] == "plain_text"
    assert block["text"]["text"].startswith("<!channel>")  # plain_text is shown as typed
    assert len(block["text"]["text"]) == HEADER_MAX_CHARS


def test_a_field_escapes_label_and_value_and_keeps_to_its_limit() -> None:
    assert field("A & B", "<@U1>") == {"type": "mrkdwn", "text": "*A &amp; B*\n&lt;@U1&gt;"}
    assert len(field("Message", "z" * 5000)["text"]) == FIELD_MAX_CHARS


def test_a_fields_section_holds_at_most_what_block_kit_takes() -> None:
    many = [field(f"F{n}", str(n)) for n in range(SECTION_MAX_FIELDS + 3)]
    section = fields_section(many)
    assert section["type"] == "section" and section["fields"] == many[:SECTION_MAX_FIELDS]


def test_quote_link_and_context() -> None:
    assert quote("one <b>\ntwo") == "> one &lt;b&gt;\n> two"
    assert quote("") == "> "
    assert link("https://app.hubspot.com/contacts/1/record/0-1/2", "Open <it>") == (
        "<https://app.hubspot.com/contacts/1/record/0-1/2|Open &lt;it&gt;>"
    )
    assert text_section("*x*") == {"type": "section", "text": {"type": "mrkdwn", "text": "*x*"}}
    assert context("small") == {"type": "context", "elements": [{"type": "mrkdwn", "text": "small"}]}


def test_slack_takes_the_blocks_at_their_limits() -> None:
    """The stand-in checks Block Kit's documented limits as Slack does: what the builders make passes."""
    blocks = [
        header("h" * 1000),
        fields_section([field("Label", "v" * 5000) for _ in range(SECTION_MAX_FIELDS + 2)]),
        text_section(quote("q" * 1500)),
        context("c"),
    ]
    body = json.dumps({"channel": "#new-leads", "text": "t", "blocks": blocks}).encode()
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json; charset=utf-8"}
    answer = SlackSandbox().handle(SandboxRequest("POST", "/chat.postMessage", headers=headers, body=body))
    assert answer.parsed()["ok"] is True, answer.parsed()


def test_a_quote_stays_inside_slacks_section_limit_after_escaping() -> None:
    """1,500 typed "&" become 7,500 characters escaped: the quote is cut, never mid-entity."""
    quoted = quote("&" * 1500)
    assert len(quoted) <= SECTION_TEXT_MAX_CHARS
    assert quoted.startswith("> &amp;") and quoted.endswith("&amp;\u2026")
    assert quote("ab\ncd", limit=6) == "> ab\u2026"
    assert quote("abcd", limit=5) == "> ab\u2026"
    assert quote("a" * 10, limit=12) == "> " + "a" * 10
