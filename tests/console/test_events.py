"""The events search over a stage on in-process moto: more events than a page holds, the pager that
keeps the search, and the explicit ``from``/``to`` beside the windows - with an error the page shows
(400) when one cannot be read, and JSON for a client that asks for it.

Seventy website_to_crm events came one a minute over the last 70 minutes (``evt_page_000`` is the
newest), all processed; five lead_enrichment events came in the same hour.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import httpx
import pytest

from conftest import REGION
from infra.cdk.naming import log_group_name
from infra.console import events
from infra.console.server import ConsoleServer
from infra.local.resources import LocalResources
from infra.ops.target import Target

NOW = time.time()
COUNT = 70


def ident(i: int) -> str:
    return f"evt_page_{i:03d}"


def put_lines(
    session: boto3.session.Session, stage: str, name: str, lines: list[tuple[float, dict[str, Any]]]
) -> None:
    logs = session.client("logs")
    group = log_group_name(stage, name)
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": int(at * 1000), "message": json.dumps({"level": "INFO", "timestamp": "", **line})}
            for at, line in sorted(lines, key=lambda x: x[0])
        ],
    )


@pytest.fixture
def client(resources: LocalResources, aws: boto3.session.Session) -> Iterator[httpx.Client]:
    lines: list[tuple[float, dict[str, Any]]] = []
    for i in range(COUNT):
        at = NOW - (i + 1) * 60
        lines.append((at, {"message": "accepted", "trigger": "webhook", "event_ids": [ident(i)]}))
        lines.append(
            (at + 1, {"message": "processed", "event_id": ident(i), "attempt": 1, "steps": ["note"]})
        )
    put_lines(aws, resources.stage, "website_to_crm", lines)
    others = [
        (NOW - 90 - i * 60, {"message": "processed", "event_id": f"enrich:{i}", "attempt": 1})
        for i in range(5)
    ]
    put_lines(aws, resources.stage, "lead_enrichment", others)
    with (
        ConsoleServer(Target(stage=resources.stage, region=REGION), port=0) as server,
        httpx.Client(base_url=server.url, timeout=60) as browser,
    ):
        assert browser.get(f"/?token={server.guard.token}").status_code == 303
        yield browser


def listed(page: str) -> list[str]:
    return re.findall(r'data-testid="event-row" data-event-id="([^"]+)"', page)


def link(page: str, which: str) -> str | None:
    found = re.search(rf'<a id="{which}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_page_two_shows_the_next_events_and_the_pager_keeps_the_search(client: httpx.Client) -> None:
    first = client.get("/events?integration=website_to_crm&status=processed&window=24h")
    assert first.status_code == 200, first.text
    assert 'data-total="70"' in first.text
    assert listed(first.text) == [ident(i) for i in range(50)]  # newest first
    assert link(first.text, "page-prev") is None
    older = link(first.text, "page-next")
    assert older is not None
    assert parse_qs(urlsplit(older).query) == {
        "integration": ["website_to_crm"],
        "status": ["processed"],
        "window": ["24h"],
        "page": ["2"],
    }

    second = client.get(older)
    assert second.status_code == 200
    assert listed(second.text) == [ident(i) for i in range(50, COUNT)]  # the next ones, none twice
    assert "page 2 of 2" in second.text and link(second.text, "page-next") is None
    newer = link(second.text, "page-prev")
    assert newer is not None and parse_qs(urlsplit(newer).query)["integration"] == ["website_to_crm"]
    assert listed(client.get(newer).text) == listed(first.text)

    everything = client.get("/events?window=24h")
    assert 'data-total="75"' in everything.text  # the other integration's five are there without the filter


def test_from_and_to_keep_the_events_that_came_between(client: httpx.Client) -> None:
    start, end = iso(NOW - 30.5 * 60), iso(NOW - 10.5 * 60)
    between = client.get("/events", params={"from": start, "to": end, "integration": "website_to_crm"})
    assert between.status_code == 200, between.text
    assert listed(between.text) == [ident(i) for i in range(10, 30)]
    assert f'value="{start}"' in between.text and f'value="{end}"' in between.text  # the form keeps them

    since = client.get("/events", params={"from": iso(NOW - 65.5 * 60), "integration": "website_to_crm"})
    assert 'data-total="65"' in since.text  # from alone: until now
    nxt = link(since.text, "page-next")
    assert nxt is not None
    kept = parse_qs(urlsplit(nxt).query)
    assert kept["from"] == [iso(NOW - 65.5 * 60)] and kept["integration"] == ["website_to_crm"]
    assert listed(client.get(nxt).text) == [ident(i) for i in range(50, 65)]

    before = client.get(
        "/events", params={"to": iso(NOW - 60.5 * 60), "window": "1h", "integration": "website_to_crm"}
    )
    assert listed(before.text) == [ident(i) for i in range(60, COUNT)]  # to alone: the window before it

    today = datetime.fromtimestamp(NOW, UTC).date()
    by_date = client.get("/events", params={"from": "2000-01-01", "to": today.isoformat()})
    assert 'data-total="75"' in by_date.text  # a date as to: the whole of that day


def test_a_time_that_cannot_be_read_is_shown_on_the_page_and_refused_400(client: httpx.Client) -> None:
    page = client.get("/events", params={"from": "yesterday", "integration": "website_to_crm"})
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    error = re.search(r'id="search-error" data-testid="search-error">([^<]+)<', page.text)
    assert error is not None and "from &#39;yesterday&#39; is not a date or a date-time" in error.group(1)
    assert 'value="yesterday"' in page.text and listed(page.text) == []

    htmx = client.post(
        "/events",
        data={"from": iso(NOW - 60), "to": iso(NOW - 3600)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)},
    )
    assert htmx.status_code == 400
    assert 'id="event-results"' in htmx.text and "is not before to" in htmx.text

    as_json = client.get("/events?to=13/12/2026", headers={"Accept": "application/json"})
    assert as_json.status_code == 400
    assert as_json.json()["error"] == "unreadable_time" and "13/12/2026" in as_json.json()["detail"]


def csrf(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', client.get("/events").text)
    assert found is not None
    return found.group(1)


def test_the_range_a_search_covers() -> None:
    now = datetime(2026, 12, 5, 19, 0, tzinfo=UTC).timestamp()
    day = events.time_range("24h", "2026-12-05", "2026-12-05", now)
    assert (day.start, day.end) == (
        datetime(2026, 12, 5, tzinfo=UTC).timestamp(),
        datetime(2026, 12, 6, tzinfo=UTC).timestamp(),
    )
    shifted = events.time_range("24h", "2026-12-05T10:00+02:00", "", now)
    assert shifted.start == datetime(2026, 12, 5, 8, tzinfo=UTC).timestamp() and shifted.end == now
    naive = events.time_range("1h", "", "2026-12-05T12:00", now)  # no offset: UTC; the window before it
    assert naive.holds(datetime(2026, 12, 5, 12, tzinfo=UTC).timestamp())  # to includes its instant
    assert naive.start == datetime(2026, 12, 5, 11, tzinfo=UTC).timestamp()
    assert events.time_range("7d", "", "", now).start == now - 7 * 86_400
    with pytest.raises(events.UnreadableTime, match="'tomorrow' is not a date"):
        events.time_range("24h", "", "tomorrow", now)
    with pytest.raises(events.ReversedRange, match="is not before"):
        events.time_range("24h", "2026-12-06", "2026-12-05", now)
