"""``switchboard invoke``: one event through the integration here - ingress, queue, worker - and a report.

Each run is a fresh process (as a developer types it) with its own throwaway runtime; nothing needs
to be running. The report says what came of the event: the answer, each event's final status and
steps, the domain events it emitted and who consumes them; the exit status says whether it ended
well.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra.local.samples import EVENTS_DIR
from tests.support import cli

pytestmark = pytest.mark.e2e


def report(done: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


def test_a_webhook_sample_runs_through_ingress_queue_and_worker(tmp_path: Path) -> None:
    done = cli(tmp_path, "invoke", "website_to_crm", str(EVENTS_DIR / "website_to_crm" / "webhook_lead.json"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "→ queued" in out and "▶ processing" in out and "✓ upsert_contact" in out and "✔ processed" in out
    assert "event    msg_2pQ8vXh1kLmN3oR5sT7uW9yZ0a  processed\n" in out
    assert "  steps  upsert_contact, qualify, note, emit.lead.created\n" in out
    assert "emitted  lead.created -> lead_enrichment, new_lead_notify" in out
    assert out.rstrip().endswith("result   processed  (webhook sample)")

    only = cli(
        tmp_path,
        "invoke",
        "website_to_crm",
        str(EVENTS_DIR / "website_to_crm" / "webhook_lead.json"),
        "--ingress-only",
        "--json",
    )
    assert only.returncode == 0, only.stderr[-3000:]
    left = report(only)
    assert left["status"] == "queued" and left["pending"] == 1 and left["batches"] == []
    assert left["answer"]["statusCode"] == 202
    assert left["events"] == {"msg_2pQ8vXh1kLmN3oR5sT7uW9yZ0a": {"status": "queued", "steps": []}}


def test_a_sample_with_faults_ends_as_the_sample_says_and_exits_1_when_dead_lettered(tmp_path: Path) -> None:
    sample = EVENTS_DIR / "website_to_crm" / "form_post_hubspot_rejects.json"
    done = cli(tmp_path, "invoke", "website_to_crm", str(sample), "--json")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    result = report(done)
    assert result["status"] == "dlq" and result["ok"] is False
    [(event_id, event)] = result["events"].items()
    assert event_id.startswith("sha256-") and event == {"status": "dlq", "steps": []}
    assert result["emitted"] == {} and result["pending"] == 0


def test_a_schedule_or_bus_sample_runs_the_worker_directly(tmp_path: Path) -> None:
    tick = cli(
        tmp_path,
        "invoke",
        "daily_sales_report",
        str(EVENTS_DIR / "daily_sales_report" / "daily_tick.json"),
        "--json",
    )
    assert tick.returncode == 0, tick.stdout[-3000:] + tick.stderr[-3000:]
    ran = report(tick)
    assert ran["answer"] is None and ran["status"] == "processed"
    assert ran["events"]["report:all:2026-11-20"]["steps"] == [
        "square.snapshot",
        "email.report",
        "slack.post",
    ]

    bus = EVENTS_DIR / "lead_enrichment" / "lead_known_company.json"
    no_ingress = cli(tmp_path, "invoke", "lead_enrichment", str(bus), "--ingress-only")
    assert no_ingress.returncode == 2 and no_ingress.stderr == (
        "switchboard: --ingress-only: a bus sample has no ingress (it goes to the queue)\n"
    )
