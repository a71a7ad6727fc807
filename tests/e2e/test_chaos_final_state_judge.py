"""The judge of final states, tested: wrong final states planted at the stand-ins fail the run by name.

A small ``switchboard chaos --reorder`` run (contacts submitted several times, payments with
refunds, bookings moved and maybe cancelled, each entity's changes shuffled and duplicated), then,
once the queues are drained and before the judging, the test changes what the targets hold, as a
defect would: a contact given an older submission's surname (``hubspot.latest``), a live booking's
event moved an hour (``gcal.final``), a refund's receipt deleted (``qb.refund_receipt``). Each must
make the run fail with a line naming the entity and the kind.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import pytest

from infra.ops.chaos import ChaosConfig, ChaosRun, parse_faults, plan, print_report, run_chaos
from infra.ops.chaos.discovery import factories, sequences

pytestmark = pytest.mark.e2e

INTEGRATIONS = ("website_to_crm", "pos_to_accounting", "booking_to_calendar")


def _config(events: int, seed: int, faults: str) -> ChaosConfig:
    return ChaosConfig(
        events=events,
        seed=seed,
        faults=parse_faults(faults),
        drain_timeout_s=150,
        integrations=INTEGRATIONS,
        reorder=True,
    )


def _first(events: list[Any], integration: str, want: Any) -> Any:
    return next(p for p in events if p.factory.integration == integration and p.factory.versions and want(p))


def test_a_wrong_final_state_fails_the_judge_by_name() -> None:
    config = _config(24, 7, "dup=0.1")
    events, _ = plan(config, [f for f in (*factories(), *sequences()) if f.integration in INTEGRATIONS])
    contact = _first(events, "website_to_crm", lambda p: p.factory.count(p) >= 2)
    booking = _first(events, "booking_to_calendar", lambda p: ("gcal.booking", p.key) in p.factory.effects(p))
    payment = _first(events, "pos_to_accounting", lambda p: True)

    def plant(run: ChaosRun) -> None:
        hubspot: Any = run.runtime.sandboxes["hubspot"]
        with hubspot.lock:
            found = [
                c
                for c in hubspot.contacts.values()
                if f"{contact.seed}x{contact.index}@" in c.properties["email"]
            ]
            assert len(found) == 1
            found[0].properties["lastname"] = "Version1"  # the first submission's surname, not the latest
        google: Any = run.runtime.sandboxes["google_calendar"]
        attendee = f"seq-{booking.seed}x{booking.index}@"
        with google.lock:
            live = [
                e
                for calendar in google.calendars.values()
                for e in calendar.values()
                if e.get("status") != "cancelled"
                and any(attendee in a.get("email", "") for a in e.get("attendees", []))
            ]
            assert len(live) == 1
            start = datetime.fromisoformat(live[0]["start"]["dateTime"])
            live[0]["start"] = {**live[0]["start"], "dateTime": (start + timedelta(hours=1)).isoformat()}
        expected = run.memory("quickbooks.receipts")
        refund_id = next(r.money_id for r in expected.values() if r.key == f"{payment.key}/refund1")
        quickbooks: Any = run.runtime.sandboxes["quickbooks"]
        with quickbooks.lock:
            gone = [
                k
                for k, r in quickbooks.receipts.items()
                if r.entity == "refundreceipt" and refund_id in str(r.body.get("PrivateNote", ""))
            ]
            assert len(gone) == 1
            del quickbooks.receipts[gone[0]]

    err = io.StringIO()
    report = run_chaos(config, err, before_judging=plant)
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()

    assert report.drained, err.getvalue()[-2000:]
    assert not report.ok and "FAILED" in text
    assert f"{contact.key} (msg_chaos{config.seed}s{contact.index}v0): check failed hubspot.latest" in text
    assert f"{booking.key} (" in text and "): check failed gcal.final" in text.split(booking.key, 1)[1]
    assert f"{payment.key} (" in text and "no qb.refund_receipt" in text.split(payment.key, 1)[1]
