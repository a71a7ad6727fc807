"""The integrations' recent workflow log lines: what the console counts and lists events from.

Every event leaves JSON log lines (:mod:`shared.ingress`, :mod:`shared.worker`): ``accepted`` (the
ingress queued it, with its trigger), ``processed`` (with the steps it ran), ``duplicate event
skipped``, ``retrying later`` (attempt, back-off, reason), ``sent to DLQ`` (error and reason) and
``step already done``; for a webhook, the ingress's ``inbound request`` line beside ``accepted``
(:mod:`shared.inbound`: the headers that matter and the masked body, which only a story reads).
Locally they are ``<log dir>/<integration>.jsonl``; on a stage they are the
function's CloudWatch log group, read with ``FilterLogEvents`` and a JSON filter pattern that asks for
these messages only. The logs are the only source that names every event: the ledger keys hold a hash
of the id, and processed messages leave no queue.

Reading is bounded, whatever the traffic: the local file is read from its last :data:`TAIL_BYTES`,
and a log group yields at most :data:`MAX_LINES` lines per read.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from infra.ops.target import NotDeployed, Target, aws_errors
from shared import inbound

__all__ = ["INBOUND", "MAX_LINES", "TAIL_BYTES", "WORKFLOW", "Line", "event_ids", "lines", "parse_time"]

#: The messages the console reads (every other line is an integration's own detail).
WORKFLOW = (
    "accepted",
    "processed",
    "duplicate event skipped",
    "retrying later",
    "sent to DLQ",
    "step already done",
)
#: The ingress's record of a webhook request: read for a story only (the index need not fetch bodies).
INBOUND = inbound.MESSAGE
#: At most this many lines per integration and read.
MAX_LINES = 20_000
#: A local log file is read from this many bytes before its end.
TAIL_BYTES = 16 * 1024 * 1024

#: One log line: its JSON fields plus ``_at`` (seconds since the epoch, UTC).
Line = dict[str, Any]

_FORMATS = ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S,%f", "%Y-%m-%d %H:%M:%S")


def parse_time(text: str) -> float | None:
    """A log line's ``timestamp`` (Powertools' ``2026-12-05 19:00:24,377+0000``, ISO 8601) in seconds."""
    for fmt in _FORMATS:
        with contextlib.suppress(ValueError):
            moment = datetime.strptime(text, fmt)
            return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    with contextlib.suppress(ValueError):
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None


def event_ids(line: Line) -> list[str]:
    """The event ids a line is about (``event_id``, or the ingress ``accepted`` line's ``event_ids``)."""
    listed = line.get("event_ids")
    if isinstance(listed, list):
        return [str(i) for i in listed if i]
    found = line.get("event_id") or line.get("correlation_id")
    return [str(found)] if found else []


def lines(
    target: Target,
    integration: str,
    since_s: float,
    *,
    now: float | None = None,
    messages: tuple[str, ...] = WORKFLOW,
) -> list[Line]:
    """The integration's lines with one of ``messages`` of the last ``since_s`` seconds, oldest first."""
    start = (time.time() if now is None else now) - since_s
    found = (
        _local(target, integration) if target.is_local else _cloudwatch(target, integration, start, messages)
    )
    kept = [line for line in found if line.get("message") in messages and line["_at"] >= start]
    kept.sort(key=lambda line: line["_at"])
    return kept[-MAX_LINES:]


def _local(target: Target, integration: str) -> Iterator[Line]:
    path = (target.log_dir or Path(".switchboard/logs")) / f"{integration}.jsonl"
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - TAIL_BYTES))
            data = fh.read()
    except FileNotFoundError:
        return
    if len(data) >= TAIL_BYTES:
        data = data.split(b"\n", 1)[-1]  # the first line was cut in the middle
    yield from _parsed(data.decode("utf-8", "replace").splitlines(), None)


def _parsed(texts: Iterable[str], stamps: Iterable[float] | None) -> Iterator[Line]:
    times = iter(stamps) if stamps is not None else None
    for text in texts:
        stamp = next(times) if times is not None else None
        if '"message"' not in text:
            continue
        with contextlib.suppress(ValueError):
            entry = json.loads(text)
            if not isinstance(entry, dict):
                continue
            at = stamp if stamp is not None else parse_time(str(entry.get("timestamp", "")))
            if at is None:
                continue
            entry["_at"] = at
            yield entry


def _pattern(messages: tuple[str, ...]) -> str:
    return "{ " + " || ".join(f'($.message = "{m}")' for m in messages) + " }"


def _cloudwatch(target: Target, integration: str, start: float, messages: tuple[str, ...]) -> Iterator[Line]:
    group = target.log_group(integration)
    texts: list[str] = []
    stamps: list[float] = []
    try:
        with aws_errors(target, f"reading log group {group}"):
            pages = (
                target.client("logs")
                .get_paginator("filter_log_events")
                .paginate(logGroupName=group, startTime=int(start * 1000), filterPattern=_pattern(messages))
            )
            for page in pages:
                for event in page.get("events", []):
                    texts.append(str(event.get("message", "")))
                    stamps.append(int(event.get("timestamp", 0)) / 1000)
                if len(texts) >= MAX_LINES:
                    break
    except NotDeployed:
        return  # no log group: the function never ran on this stage
    yield from _parsed(texts, stamps)
