"""What the pages are built from, without a server: the event index from log lines, the search, the
consumers' derived ids, the flow map's counts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from infra.console import events, logs
from infra.console.flowmap import flow_map
from infra.console.story import derived_prefixes
from infra.ops.target import Target
from shared.registry import load_spec

NOW = time.time()


def stamp(age_s: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S,000+0000", time.gmtime(NOW - age_s))


def local(tmp_path: Path, lines: dict[str, list[dict[str, object]]]) -> Target:
    folder = tmp_path / "logs"
    folder.mkdir()
    for name, entries in lines.items():
        text = "".join(json.dumps(e) + "\n" for e in entries) + "not json\n"
        (folder / f"{name}.jsonl").write_text(text)
    return Target(stage="local", region="us-east-1", endpoint="http://127.0.0.1:1", log_dir=folder)


def test_the_index_follows_each_event_to_its_end(tmp_path: Path) -> None:
    target = local(
        tmp_path,
        {
            "website_to_crm": [
                {
                    "message": "accepted",
                    "timestamp": stamp(7200),
                    "trigger": "form",
                    "event_ids": ["evt_old"],
                },
                {
                    "message": "accepted",
                    "timestamp": stamp(50),
                    "trigger": "webhook",
                    "event_ids": ["evt_ok"],
                },
                {
                    "message": "retrying later",
                    "timestamp": stamp(40),
                    "event_id": "evt_ok",
                    "attempt": 1,
                    "reason": "hubspot 503 for jo@example.com",
                },
                {
                    "message": "processed",
                    "timestamp": stamp(30),
                    "event_id": "evt_ok",
                    "attempt": 2,
                    "steps": ["upsert_contact", "emit.lead.created"],
                },
                {"message": "accepted", "timestamp": stamp(20), "trigger": "form", "event_ids": ["evt_bad"]},
                {
                    "message": "sent to DLQ",
                    "timestamp": stamp(10),
                    "event_id": "evt_bad",
                    "error": "target_rejected",
                    "reason": "400",
                },
                {"message": "company lookup", "timestamp": stamp(5), "event_id": "evt_other"},
            ]
        },
    )
    rows = events.index(target, ["website_to_crm"], 3600, now=NOW)
    assert [(r.event_id, r.status) for r in rows] == [("evt_bad", "dead-lettered"), ("evt_ok", "processed")]
    ok = rows[1]
    assert (ok.trigger, ok.attempts, ok.retries) == ("webhook", 2, 1)
    assert ok.steps == ["upsert_contact", "emit.lead.created"]
    assert "jo@example.com" not in ok.reason and "j***@example.com" in ok.reason
    assert [r.event_id for r in events.index(target, ["website_to_crm"], 86_400, now=NOW)][-1] == "evt_old"

    def search(q: str = "", integration: str = "", status: str = "") -> list[str]:
        query = events.Query(q=q, integration=integration, status=status)
        return [r.event_id for r in events.search(target, rows, query)]

    assert search(q="evt_ok") == ["evt_ok"]
    assert search(q="evt_") == []  # a prefix needs 6+ characters
    assert search(q="evt_ba") == ["evt_bad"]
    assert search(status="dead-lettered") == ["evt_bad"]
    assert search(integration="lead_enrichment") == []

    graph = flow_map(rows)
    counts = {(e.source.id, e.target.id): e.count for e in graph.edges}
    assert counts[("trigger:website_to_crm.webhook", "integration:website_to_crm")] == 1
    assert counts[("integration:website_to_crm", "event:lead.created")] == 1
    assert counts[("integration:website_to_crm", "app:hubspot")] == 1
    route = next(e for e in graph.edges if e.source.id.startswith("trigger:stock_level"))
    assert route.count is None  # a synchronous route queues no events to count


def test_a_local_log_is_read_from_its_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs, "TAIL_BYTES", 400)
    entries: list[dict[str, object]] = [
        {"message": "accepted", "timestamp": stamp(60 - i), "trigger": "form", "event_ids": [f"evt_{i:04d}"]}
        for i in range(20)
    ]
    target = local(tmp_path, {"website_to_crm": entries})
    seen = [logs.event_ids(line)[0] for line in logs.lines(target, "website_to_crm", 3600, now=NOW)]
    assert seen and seen[-1] == "evt_0019" and len(seen) < 20  # the newest, not the whole file


def test_log_times_in_every_shape_the_lines_have() -> None:
    assert logs.parse_time("2026-12-05 19:00:24,377+0000") == 1796497224.377
    assert logs.parse_time("2026-12-05 19:00:24") == 1796497224.0
    assert logs.parse_time("2026-12-05T19:00:24Z") == 1796497224.0
    assert logs.parse_time("yesterday") is None


def test_consumers_derive_their_work_ids_from_the_source_event() -> None:
    assert derived_prefixes(load_spec("lead_enrichment")) == ("enrich",)
    assert set(derived_prefixes(load_spec("new_lead_notify"))) == {"lead", "ack"}
    assert derived_prefixes(load_spec("website_to_crm")) == ()


def test_an_email_is_compared_by_its_hash() -> None:
    assert events.email_hash("  Jo@Example.COM ") == events.email_hash("jo@example.com")
    assert len(events.email_hash("jo@example.com")) == 64


def test_step_durations_read_as_an_operator_reads_them() -> None:
    from infra.console.story import fmt_duration

    assert fmt_duration(None) == "-"
    assert fmt_duration(0.0123) == "12 ms"  # not "0 s"
    assert fmt_duration(0.9994) == "999 ms"
    assert fmt_duration(0.9996) == "1.0 s"  # not "1000 ms"
    assert fmt_duration(1.4) == "1.4 s"
    assert fmt_duration(42) == "42.0 s"
    assert fmt_duration(125) == "2 min 05 s"
