"""The events page: every event of the chosen window, newest first, with where it stands.

An event is one ``(integration, event id)``: its lines (:mod:`infra.console.logs`) say when it came
(``accepted``, or its first worker line for bus and schedule events), each attempt, each retry and its
end. What the dead-letter queues hold now overrides the lines (a redriven letter that failed again is
dead-lettered, whatever the older lines say). The search narrows by event id (whole, or a prefix as
:mod:`infra.ops.event_ids` takes them), integration, status, window and the contact's email - matched
by its SHA-256 against the emails in the ledger's saved results and the dead letters' bodies, so the
typed address is neither echoed nor compared in clear and the list itself shows ids, never people.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    "dead_letters",
    "email_hash",
    "index",
    "search",
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

    @property
    def since_s(self) -> int:
        return WINDOWS.get(self.window, WINDOWS["24h"])


def search(target: Target, rows: list[EventRow], query: Query) -> list[EventRow]:
    """The rows the query keeps, in the same order."""
    kept = rows
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
