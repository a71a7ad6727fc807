"""shared.ics: RFC 5545 line folding, CRLF, escaping, UTC times, UID/SEQUENCE/METHOD.

The output is parsed back by a small reader written here from RFC 5545 section 3.1 (unfold: a CRLF
followed by one space or tab is removed) and section 3.3.11 (TEXT unescaping), not by shared.ics.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared import ics

STAMP = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def event(**changes: object) -> ics.CalendarEvent:
    fields: dict[str, object] = {
        "uid": "abc123@google.com",
        "start": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "end": datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
        "summary": "Cake tasting",
        "stamp": STAMP,
    }
    fields.update(changes)
    return ics.CalendarEvent(**fields)  # type: ignore[arg-type]


def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n")
    body = text[: -len("\r\n")]
    assert "\n" not in body.replace("\r\n", "") and "\r" not in body.replace("\r\n", "")
    return body.replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


def unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def props(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in unfold(text):
        name, _, value = line.partition(":")
        found.setdefault(name, value)
    return found


def test_a_request_has_the_structure_clients_need() -> None:
    text = ics.to_ics(event(sequence=3), method="REQUEST")
    lines = unfold(text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR"
    assert lines.index("BEGIN:VEVENT") < lines.index("END:VEVENT")
    p = props(text)
    assert (p["VERSION"], p["METHOD"], p["UID"], p["SEQUENCE"]) == (
        "2.0",
        "REQUEST",
        "abc123@google.com",
        "3",
    )
    assert (p["DTSTART"], p["DTEND"], p["DTSTAMP"]) == (
        "20261201T100000Z",
        "20261201T103000Z",
        "20261120T090000Z",
    )
    assert p["STATUS"] == "CONFIRMED" and "PRODID" in p


def test_a_cancel_says_cancelled() -> None:
    p = props(ics.to_ics(event(sequence=2), method="CANCEL"))
    assert (p["METHOD"], p["STATUS"], p["SEQUENCE"]) == ("CANCEL", "CANCELLED", "2")
    assert ics.content_type("CANCEL") == "text/calendar; charset=UTF-8; method=CANCEL"


def test_times_are_written_in_utc_whatever_zone_they_come_in() -> None:
    warsaw = timezone(timedelta(hours=1))
    p = props(
        ics.to_ics(
            event(
                start=datetime(2026, 12, 1, 11, 0, tzinfo=warsaw),
                end=datetime(2026, 12, 1, 12, 0, tzinfo=warsaw),
            ),
            method="REQUEST",
        )
    )
    assert (p["DTSTART"], p["DTEND"]) == ("20261201T100000Z", "20261201T110000Z")


def test_text_is_escaped_and_comes_back_unchanged() -> None:
    summary = "Tasting; cake, \\ and\nmore\r\nlines"
    p = props(ics.to_ics(event(summary=summary, location="12 Mill Lane, Bath; BA1"), method="REQUEST"))
    assert p["SUMMARY"] == "Tasting\\; cake\\, \\\\ and\\nmore\\nlines"
    assert unescape(p["SUMMARY"]) == "Tasting; cake, \\ and\nmore\nlines"
    assert unescape(p["LOCATION"]) == "12 Mill Lane, Bath; BA1"


def test_long_lines_are_folded_at_75_octets_without_splitting_a_character() -> None:
    summary = "Tort urodzinowy dla Zofii — żółć, gęślą jaźń — " * 6
    text = ics.to_ics(event(summary=summary, description="é" * 300), method="REQUEST")
    for raw in text.split("\r\n"):
        assert len(raw.encode("utf-8")) <= 75
        raw.encode("utf-8").decode("utf-8")  # every physical line is whole UTF-8
    p = props(text)
    assert unescape(p["SUMMARY"]) == summary and unescape(p["DESCRIPTION"]) == "é" * 300


def test_fold_leaves_short_lines_alone_and_continues_with_one_space() -> None:
    assert ics.fold("SUMMARY:short") == "SUMMARY:short"
    folded = ics.fold("X:" + "a" * 200)
    parts = folded.split("\r\n")
    assert len(parts[0]) == 75 and all(p.startswith(" ") and len(p) <= 75 for p in parts[1:])
    assert folded.replace("\r\n ", "") == "X:" + "a" * 200


def test_organizer_and_attendees_are_cal_addresses_with_safe_names() -> None:
    text = ics.to_ics(
        event(
            organizer=ics.Organizer("owner@bramble.example", "Bramble Bakery, Bath"),
            attendees=[ics.Attendee("ada@example.org", 'Ada "The Countess" Lovelace', partstat="ACCEPTED")],
        ),
        method="REQUEST",
    )
    lines = unfold(text)
    [organizer] = [line for line in lines if line.startswith("ORGANIZER")]
    [attendee] = [line for line in lines if line.startswith("ATTENDEE")]
    assert organizer == 'ORGANIZER;CN="Bramble Bakery, Bath":mailto:owner@bramble.example'
    assert "CN=Ada 'The Countess' Lovelace" in attendee and attendee.endswith(":mailto:ada@example.org")
    assert "PARTSTAT=ACCEPTED" in attendee


def test_a_bad_event_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event(start=datetime(2026, 12, 1, 10, 0))
    with pytest.raises(ValueError, match="before start"):
        event(end=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    with pytest.raises(ValueError, match="CAL-ADDRESS"):
        ics.to_ics(event(attendees=[ics.Attendee("not an address")]), method="REQUEST")
