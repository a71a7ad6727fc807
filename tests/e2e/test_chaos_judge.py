"""The judge itself, tested: a doubled or a lost effect planted at a stand-in makes the run fail.

A small chaos run of website_to_crm leads without faults (every effect happens once), then, once the
queues are drained and before the judging, the test changes what the targets hold, as a defect would:

* a second HubSpot note for one lead, created directly at the stand-in (a double);
* one lead's Slack message deleted at the stand-in (a loss);
* one new contact's lifecycle stage cleared at the stand-in (``hubspot.qualified`` is owner *and*
  stage, as website_to_crm's ``qualify`` step sets both - before, the judge looked at the owner only).

Each must make the run FAIL with a line naming the event and the effect kind; the untouched lead is
named nowhere. The counts keep effects and checks apart.

``switchboard load`` judges the same way: a short load run with a planted double and loss fails too.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from infra.ops.chaos import ChaosConfig, ChaosRun, print_report, run_chaos
from infra.ops.load import LoadConfig, run_load
from infra.ops.load import print_report as print_load_report

pytestmark = pytest.mark.e2e

SEED = 31


def _plant_double_note(run: ChaosRun, key: str) -> None:
    """A second note mentioning ``key``, written at the HubSpot stand-in as any API client would."""
    hubspot: Any = run.runtime.sandboxes["hubspot"]
    answer = run.http.post(
        f"{run.runtime.url}/_sandbox/hubspot/crm/v3/objects/notes",
        json={
            "properties": {"hs_note_body": f"Chaos lead {key}: again", "hs_timestamp": "2026-11-20T09:14:03Z"}
        },
        headers={"authorization": f"Bearer {hubspot.token}"},
    )
    assert answer.status_code == 201, answer.text


def _delete_slack_message(run: ChaosRun, key: str) -> None:
    slack: Any = run.runtime.sandboxes["slack"]
    with slack.lock:
        before = len(slack.messages)
        slack.messages[:] = [m for m in slack.messages if key not in str(m.get("text", ""))]
        assert len(slack.messages) == before - 1


def _clear_lifecycle_stage(run: ChaosRun, key: str) -> None:
    hubspot: Any = run.runtime.sandboxes["hubspot"]
    with hubspot.lock:
        found = [c for c in hubspot.contacts.values() if key.lower() in c.properties.get("email", "")]
        assert len(found) == 1 and found[0].properties.get("lifecyclestage")
        assert found[0].properties.get("hubspot_owner_id")  # the owner stays: only the stage is gone
        del found[0].properties["lifecyclestage"]


def test_planted_doubles_and_losses_fail_the_chaos_run_naming_event_and_kind() -> None:
    key = [f"R{SEED}N{i}" for i in range(4)]

    def plant(run: ChaosRun) -> None:
        _plant_double_note(run, key[0])
        _delete_slack_message(run, key[1])
        _clear_lifecycle_stage(run, key[2])

    err = io.StringIO()
    config = ChaosConfig(
        events=4, seed=SEED, faults={}, drain_timeout_s=120, integrations=("website_to_crm",)
    )
    report = run_chaos(config, err, before_judging=plant)
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()

    assert report.drained and report.accepted == 4, err.getvalue()[-2000:]
    assert not report.ok
    assert "FAILED" in text
    assert f"{key[0]} (msg_chaos{SEED}n0): hubspot.note 2 times, expected once" in text
    assert f"{key[1]} (msg_chaos{SEED}n1): no slack.message" in text
    assert f"{key[2]} (msg_chaos{SEED}n2): check failed hubspot.qualified" in text
    assert key[3] not in text  # the untouched lead is fine
    assert report.duplicate_effects == 1 and report.lost == 2 and report.unexpected_effects == 0
    assert len(report.failures) == 3, report.failures
    # Effects, structural effects and checks apart: 4 leads x (note, 2 emails, Slack message), the
    # contact each (upserted by email: HubSpot keeps it single) and one qualification check each;
    # the planted note is observed, the deleted message is not.
    assert report.effects_expected == 16 and report.effects_observed == 16
    assert report.structural_expected == 4 and report.structural_observed == 4
    assert report.checks_expected == 4 and report.checks_passed == 3
    assert report.by_kind["hubspot.qualified"] == {
        "expected": 4,
        "observed": 3,
        "check": True,
        "structural": False,
    }
    assert report.by_kind["hubspot.contact"] == {
        "expected": 4,
        "observed": 4,
        "check": False,
        "structural": True,
    }
    assert report.by_kind["hubspot.note"] == {
        "expected": 4,
        "observed": 5,
        "check": False,
        "structural": False,
    }
    assert report.by_kind["slack.message"] == {
        "expected": 4,
        "observed": 3,
        "check": False,
        "structural": False,
    }


def test_planted_doubles_and_losses_fail_a_load_run_too() -> None:
    config = LoadConfig(rps=5, seconds=1, seed=SEED)
    key = [f"R{SEED}N{i}" for i in range(5)]

    def plant(run: ChaosRun) -> None:
        _plant_double_note(run, key[3])
        _delete_slack_message(run, key[4])

    err = io.StringIO()
    report = run_load(config, err, before_judging=plant)
    out = io.StringIO()
    print_load_report(report, out)
    text = out.getvalue()

    assert report.accepted == report.requests == 5 and report.drained, err.getvalue()[-2000:]
    assert not report.ok and "FAILED" in text
    assert f"{key[3]} (msg_chaos{SEED}n3): hubspot.note 2 times, expected once" in text
    assert f"{key[4]} (msg_chaos{SEED}n4): no slack.message" in text
    assert report.lost == 1 and report.duplicate_effects == 1 and report.processed == 4
    assert len(report.failures) == 2, report.failures
    # What each target allowed, as the chaos report says it: HubSpot's published limits, enforced.
    hubspot = next(line for line in report.rate_limits if line.startswith("hubspot: "))
    assert hubspot.startswith("hubspot: enforced - TEN_SECONDLY_ROLLING 100 per 10 s per token")
    assert "rates each target allowed\n" in text
