"""The events page: every event of the chosen window, newest first, with where it stands.

An event is one ``(integration, event id)``: its lines (:mod:`infra.console.logs`) say when it came
(``accepted``, or its first worker line for bus and schedule events), each attempt, each retry and its
end. What the dead-letter queues hold now overrides the lines (a redriven letter that failed again is
dead-lettered, whatever the older lines say). The search narrows by event id (whole, or a prefix as
:mod:`infra.ops.event_ids` takes them), integration, status, the time the event came (a window - the
last hour, day or week - or an explicit ``from``/``to``, :func:`time_range`) and the contact's email - matched
by its SHA-256 against the emails in the ledger's saved results and the dead letters' bodies, so the
typed address is neither echoed nor compared in clear and the list itself shows ids, never people.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from infra.console import logs
from infra.ops.dlq import DeadLetter, DlqScan
from infra.ops.event_ids import MIN_PREFIX
from infra.ops.target import NotDeployed, Target, aws_errors
from shared.ledger import ledger_hash
from shared.redact import redact_text
from shared.table import Table

__all__ = [
    "PAGE_SIZE",
    "STATUSES",
    "WINDOWS",
    "EventRow",
    "Query",
    "ReversedRange",
    "TimeRange",
    "TimeRangeError",
    "UnreadableTime",
    "dead_letters",
    "email_hash",
    "index",
    "search",
    "time_range",
]

#: The windows the pages offer, in seconds.
WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400}
STATUSES = ("processed", "duplicate", "retrying", "queued", "dead-lettered")
PAGE_SIZE = 50
#: Ledger items read at most for an email search.
EMAIL_SCAN_LIMIT = 20_000
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@dataclass
class EventRow:
    integration: str
    event_id: str
    #: First and last line about it (seconds since the epoch).
    first: float
    last: float
    trigger: str = ""
    status: str = "queued"
    attempts: int = 0
    retries: int = 0
    steps: list[str] = field(default_factory=list)
    #: The last failure's error code and reason (masked), if any.
    error: str = ""
    reason: str = ""
    #: The dead letter holding it now, if any.
    letter: DeadLetter | None = None


def index(
    target: Target,
    names: Sequence[str],
    since_s: float,
    *,
    now: float | None = None,
    letters: Iterable[DeadLetter] = (),
) -> list[EventRow]:
    """Every event of ``names`` seen in the last ``since_s`` seconds, newest first."""
    rows: dict[tuple[str, str], EventRow] = {}
    for name in names:
        for line in logs.lines(target, name, since_s, now=now):
            for ident in logs.event_ids(line):
                row = rows.get((name, ident))
                if row is None:
                    row = rows[(name, ident)] = EventRow(name, ident, line["_at"], line["_at"])
                _apply(row, line)
    for letter in letters:
        key = (letter.integration, letter.event_id or letter.message_id)
        row = rows.get(key)
        if row is None:
            failed = logs.parse_time(letter.failed_at) or 0.0
            row = rows[key] = EventRow(letter.integration, key[1], failed, failed)
        row.status, row.letter = "dead-lettered", letter
        row.error, row.reason = letter.error, str(redact_text(letter.reason))
    return sorted(rows.values(), key=lambda r: (r.first, r.event_id), reverse=True)


def _apply(row: EventRow, line: logs.Line) -> None:
    message = line.get("message")
    row.last = max(row.last, line["_at"])
    attempt = line.get("attempt")
    if isinstance(attempt, int):
        row.attempts = max(row.attempts, attempt)
    if message == "accepted":
        row.trigger = str(line.get("trigger") or "")
    elif message == "processed":
        row.status = "processed"
        row.steps = [str(s) for s in line.get("steps") or []]
    elif message == "duplicate event skipped":
        if row.status != "processed":
            row.status = "duplicate"
    elif message == "retrying later":
        row.retries += 1
        if row.status not in ("processed", "dead-lettered"):
            row.status = "retrying"
        row.reason = str(redact_text(str(line.get("reason") or "")))
    elif message == "sent to DLQ":
        row.status = "dead-lettered"
        row.error = str(line.get("error") or "")
        row.reason = str(redact_text(str(line.get("reason") or "")))


def dead_letters(target: Target, names: Sequence[str]) -> list[DeadLetter]:
    """What every DLQ of ``names`` holds now (each scan releases its messages at once)."""
    found: list[DeadLetter] = []
    for name in names:
        try:
            with DlqScan(target, name) as scan:
                found.extend(scan.letters)
        except NotDeployed:
            continue  # not deployed on this stage
    return found


def email_hash(email: str) -> str:
    """The SHA-256 of an address as compared here: trimmed, lower-cased."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()


def _hashes(text: str) -> set[str]:
    return {email_hash(m) for m in _EMAIL.findall(text)}


class TimeRangeError(ValueError):
    """A ``from``/``to`` of the events search that cannot be used; the message says why."""

    code = "bad_time_range"


class UnreadableTime(TimeRangeError):
    """``from`` or ``to`` is neither an ISO 8601 date nor a date-time."""

    code = "unreadable_time"


class ReversedRange(TimeRangeError):
    """``from`` is not before ``to``: the range holds nothing."""

    code = "reversed_range"


@dataclass(frozen=True)
class TimeRange:
    """When the events searched for came: ``start <= first < end`` (seconds since the epoch), or
    ``<= end`` when ``to`` named an instant (a date-time) rather than a day."""

    start: float
    end: float
    end_included: bool = False

    def holds(self, at: float) -> bool:
        return self.start <= at < self.end or (self.end_included and at == self.end)


def _moment(text: str, what: str, *, end: bool) -> tuple[float, bool]:
    """``2026-12-05`` (a whole day, UTC), ``2026-12-05T19:00``, ``2026-12-05 19:00:24Z``, ``…+02:00``.

    Seconds since the epoch, and whether it is a date-time (an instant) rather than a date. A date as
    ``to`` means the end of that day; a date-time without an offset is UTC.
    """
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + (
                timedelta(days=1) if end else timedelta()
            )
            return moment.timestamp(), False
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise UnreadableTime(
            f"{what} {value!r} is not a date or a date-time: write 2026-12-05, 2026-12-05T19:00 or "
            "2026-12-05T19:00:00+02:00 (UTC when no offset is given)"
        ) from exc
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return moment.timestamp(), True


def time_range(window: str, start: str, end: str, now: float) -> TimeRange:
    """The range a search covers: explicit ``from``/``to`` where given, the window otherwise.

    Neither: the window up to now. ``from`` alone: from then until now. ``to`` alone: the window
    before it. Both: exactly them.
    """
    width = WINDOWS.get(window, WINDOWS["24h"])
    until, instant = _moment(end, "to", end=True) if end.strip() else (now, True)
    since = _moment(start, "from", end=False)[0] if start.strip() else until - width
    if since >= until:
        raise ReversedRange(
            f"from {start.strip()!r} is not before to {end.strip() or 'now'!r}: nothing lies between"
        )
    return TimeRange(since, until, end_included=instant)


@dataclass(frozen=True)
class Query:
    """A search of the events page, as its form sends it (every field optional)."""

    q: str = ""
    integration: str = ""
    status: str = ""
    window: str = "24h"
    #: The SHA-256 of the contact's email (:func:`email_hash`): the address itself never travels in a URL.
    email_sha256: str = ""
    page: int = 1
    #: ``from`` and ``to`` as typed (ISO 8601 dates or date-times), and the range they and the window make.
    start: str = ""
    end: str = ""
    span: TimeRange | None = None

    @property
    def since_s(self) -> int:
        return WINDOWS.get(self.window, WINDOWS["24h"])

    def read_since_s(self, now: float) -> float:
        """How far back the lines must be read for this search."""
        return max(0.0, now - self.span.start) if self.span else float(self.since_s)


def search(target: Target, rows: list[EventRow], query: Query) -> list[EventRow]:
    """The rows the query keeps, in the same order."""
    kept = rows
    if query.span is not None:
        span = query.span
        kept = [r for r in kept if span.holds(r.first)]
    if query.integration:
        kept = [r for r in kept if r.integration == query.integration]
    if query.status:
        kept = [r for r in kept if r.status == query.status]
    ident = query.q.strip()
    if ident:
        exact = [r for r in kept if r.event_id == ident]
        kept = exact or (
            [r for r in kept if r.event_id.startswith(ident)] if len(ident) >= MIN_PREFIX else []
        )
    if query.email_sha256:
        wanted = query.email_sha256.lower()
        held = _event_hashes(target, kept)
        kept = [r for r in kept if wanted in held.get((r.integration, r.event_id), set())]
    return kept


def _event_hashes(target: Target, rows: list[EventRow]) -> dict[tuple[str, str], set[str]]:
    """The email hashes each row's dead letter and ledger results hold."""
    found: dict[tuple[str, str], set[str]] = {}
    by_hash: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        key = (r.integration, r.event_id)
        found[key] = _hashes(r.letter.body) if r.letter else set()
        by_hash.setdefault(ledger_hash(r.event_id), []).append(key)
    table = Table(target.client("dynamodb"), target.table)
    with aws_errors(target, f"reading table {target.table}"):
        items = table.scan(where="contains(#d, :at)", names={"#d": "data"}, values={":at": "@"})
        for count, item in enumerate(items):
            if count >= EMAIL_SCAN_LIMIT:
                break
            _, _, digest = str(item.get("id", "")).rpartition("#")
            for key in by_hash.get(digest, []):
                if key[0] == str(item["id"]).partition("#")[0]:
                    found[key] |= _hashes(_text(item.get("data")))
    return found


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)
