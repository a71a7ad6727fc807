"""iCalendar (RFC 5545) invitations and cancellations, written by hand: one VCALENDAR, one VEVENT.

Why not a library: what an emailed invitation needs is small (one event, UTC times, an organizer and
attendees) and fully specified, while the rules that make or break it in mail clients are exactly the
ones worth owning and testing here:

* lines end in CRLF (RFC 5545 section 3.1) and are folded at 75 *octets* with CRLF + one space,
  never inside a UTF-8 sequence (a folded multi-byte character corrupts the event in Outlook);
* TEXT values escape backslash, semicolon, comma and newlines (section 3.3.11); parameter values
  (``CN=``) are quoted when they hold ``:``, ``;`` or ``,`` and cannot hold ``"`` at all (section 3.2);
* times are UTC (``DTSTART:20261201T100000Z``, section 3.3.5 form #2), so no VTIMEZONE is needed and
  every client shows the same instant in its own zone;
* ``UID`` stays the same for the whole life of a booking and ``SEQUENCE`` grows with each revision
  (section 3.8.7.4): that is how a client replaces the event it already has instead of adding a
  second one;
* ``METHOD:REQUEST`` for a new or moved event, ``METHOD:CANCEL`` with ``STATUS:CANCELLED`` to remove
  it (iTIP, RFC 5546 sections 3.2.2 and 3.2.5); the MIME part carries the same method
  (``text/calendar; method=REQUEST``, RFC 6047 section 2.4).

Sources: RFC 5545 https://www.rfc-editor.org/rfc/rfc5545, RFC 5546 https://www.rfc-editor.org/rfc/rfc5546,
RFC 6047 https://www.rfc-editor.org/rfc/rfc6047.

Standard library only; nothing here knows about bookings or any provider.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

__all__ = [
    "CRLF",
    "Attendee",
    "CalendarEvent",
    "Organizer",
    "content_type",
    "escape_text",
    "fold",
    "format_utc",
    "to_ics",
]

CRLF: Final = "\r\n"
#: RFC 5545 section 3.1: "Lines of text SHOULD NOT be longer than 75 octets, excluding the line break."
MAX_LINE_OCTETS: Final = 75
DEFAULT_PRODID: Final = "-//Switchboard//Switchboard 0.1//EN"

Method = Literal["REQUEST", "CANCEL", "PUBLISH"]
Status = Literal["CONFIRMED", "TENTATIVE", "CANCELLED"]

# Control characters other than HTAB are not allowed in a content line (section 3.1, "CONTROL").
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NEEDS_QUOTES: Final = re.compile(r"[:;,]")
_ADDRESS: Final = re.compile(r"^[^@\s:;,\"<>]+@[^@\s:;,\"<>]+$")


@dataclass(frozen=True)
class Organizer:
    email: str
    name: str | None = None


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str | None = None
    role: str = "REQ-PARTICIPANT"
    partstat: str = "NEEDS-ACTION"
    rsvp: bool = False


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT. ``start``/``end`` must be timezone-aware; they are written in UTC."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    #: When this revision was made (``DTSTAMP``); it must not change between retries of one email.
    stamp: datetime
    sequence: int = 0
    description: str | None = None
    location: str | None = None
    url: str | None = None
    organizer: Organizer | None = None
    attendees: Sequence[Attendee] = field(default_factory=tuple)
    status: Status = "CONFIRMED"

    def __post_init__(self) -> None:
        for name in ("start", "end", "stamp"):
            if getattr(self, name).tzinfo is None:
                raise ValueError(f"CalendarEvent.{name} must be timezone-aware")
        if self.end < self.start:
            raise ValueError("CalendarEvent.end is before start")
        if self.sequence < 0:
            raise ValueError("CalendarEvent.sequence must be >= 0")
        if not self.uid or _CONTROL.search(self.uid):
            raise ValueError("CalendarEvent.uid must be a non-empty line of text")


def format_utc(value: datetime) -> str:
    """``20261201T100000Z``: DATE-TIME in UTC ("form #2"), seconds precision."""
    return value.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def escape_text(value: str) -> str:
    """A TEXT value (section 3.3.11): ``\\`` ``;`` ``,`` escaped, any line break as ``\\n``."""
    text = value.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _param(value: str) -> str:
    """A parameter value (section 3.2): DQUOTE is not allowed inside, quoted if it holds ``:;,``."""
    clean = _CONTROL.sub("", value.replace("\r", " ").replace("\n", " ")).replace('"', "'").strip()
    return f'"{clean}"' if _NEEDS_QUOTES.search(clean) else clean


def _mailto(email: str) -> str:
    address = email.strip()
    if not _ADDRESS.match(address):
        raise ValueError("not an email address usable in a CAL-ADDRESS")
    return f"mailto:{address}"


def fold(line: str) -> str:
    """Fold one content line at 75 octets (continuations start with a space, so carry 74)."""
    data = line.encode("utf-8")
    if len(data) <= MAX_LINE_OCTETS:
        return line
    parts: list[str] = []
    start, limit = 0, MAX_LINE_OCTETS
    while start < len(data):
        end = min(start + limit, len(data))
        # Never cut a UTF-8 sequence: back off while the next byte is a continuation byte.
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        parts.append(data[start:end].decode("utf-8"))
        start, limit = end, MAX_LINE_OCTETS - 1
    return (CRLF + " ").join(parts)


def content_type(method: Method) -> str:
    """The MIME type of an attachment carrying this method (RFC 6047 section 2.4)."""
    return f"text/calendar; charset=UTF-8; method={method}"


def to_ics(event: CalendarEvent, *, method: Method, prodid: str = DEFAULT_PRODID) -> str:
    """A complete VCALENDAR with one VEVENT, CRLF line ends and folded lines."""
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{escape_text(prodid)}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{format_utc(event.stamp)}",
        f"DTSTART:{format_utc(event.start)}",
        f"DTEND:{format_utc(event.end)}",
        f"SEQUENCE:{event.sequence}",
        f"STATUS:{'CANCELLED' if method == 'CANCEL' else event.status}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.url:
        lines.append(f"URL:{_CONTROL.sub('', event.url).strip()}")
    if event.organizer is not None:
        cn = f";CN={_param(event.organizer.name)}" if event.organizer.name else ""
        lines.append(f"ORGANIZER{cn}:{_mailto(event.organizer.email)}")
    for attendee in event.attendees:
        params = [
            "CUTYPE=INDIVIDUAL",
            f"ROLE={attendee.role}",
            f"PARTSTAT={attendee.partstat}",
            f"RSVP={'TRUE' if attendee.rsvp else 'FALSE'}",
        ]
        if attendee.name:
            params.append(f"CN={_param(attendee.name)}")
        lines.append(f"ATTENDEE;{';'.join(params)}:{_mailto(attendee.email)}")
    lines += ["TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold(line) + CRLF for line in lines)
