"""``switchboard chaos --outage`` and ``--reorder``, without a runtime: parsing, the time compression,
when outages start, how sequences are planned, and the sequences each integration brings.

The runs themselves are in ``tests/e2e/test_chaos_outage.py`` and ``tests/e2e/test_chaos_reorder.py``.
"""

from __future__ import annotations

import io
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from infra.cli import main
from infra.ops.chaos import ChaosConfig, parse_faults, plan
from infra.ops.chaos.config import OUTAGE_WALL_S, Outage, parse_duration, parse_outage
from infra.ops.chaos.discovery import factories, sequences
from infra.ops.chaos.outage import GAP_S, Outages, WaitLog
from infra.ops.chaos.report import ChaosReport, print_report
from infra.ops.chaos.run import compression
from infra.ops.target import CliError

LOCAL = Path(__file__).resolve().parents[2] / "functions" / "lead_followup" / "settings.local.json"


@pytest.mark.parametrize(
    ("text", "seconds"), [("3d", 259_200), ("6h", 21_600), ("90m", 5_400), ("45s", 45), ("30", 30)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("quickbooks", "expected app=DURATION"),
        ("=3d", "expected app=DURATION"),
        ("quickbooks=soon", "not a duration"),
        ("quickbooks=0s", "more than 0 s"),
        ("quickbooks=40d", "at most 30 days"),
    ],
)
def test_bad_outages_are_refused_naming_the_problem(text: str, message: str) -> None:
    with pytest.raises(CliError, match=message):
        parse_outage(text)


def test_the_cli_refuses_two_outages_of_one_app_and_an_unknown_scale(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["chaos", "--outage", "hubspot=1h", "--outage", "hubspot=2h"]) != 0
    assert "one outage per app" in capsys.readouterr().err
    assert main(["chaos", "--time-scale", "5"]) != 0
    assert "--time-scale must be" in capsys.readouterr().err


def test_a_three_day_outage_is_compressed_into_minutes_and_the_compression_is_stated() -> None:
    config = ChaosConfig(events=1, seed=1, faults={}, outages=(parse_outage("quickbooks=3d"),))
    assert config.scale == OUTAGE_WALL_S / 259_200
    assert 60 <= 259_200 * config.scale <= 300  # minutes, not days
    text = compression(config)
    assert "time compressed 1,080x" in text and "quickbooks down 3d = 240 s of wall time" in text
    # Without outages the back-offs keep the harness's usual scale; an explicit scale wins.
    assert ChaosConfig(events=1, seed=1, faults={}).scale == 0.02
    explicit = ChaosConfig(events=1, seed=1, faults={}, outages=(Outage("slack", 7200),), time_scale=0.005)
    assert explicit.scale == 0.005 and "slack down 7200s = 36 s" in compression(explicit)


def test_outages_start_spread_over_the_deliveries_and_each_ends_after_its_wall_time() -> None:
    calls: list[tuple[str, bool]] = []
    outages = Outages(
        (Outage("hubspot", 100), Outage("slack", 100)),
        deliveries=300,
        scale=0.001,
        down=lambda a, on: calls.append((a, on)),
        gap_s=0,
    )
    assert [r.start_at for r in outages.runs] == [100, 200]
    assert [round(r.wall_s, 3) for r in outages.runs] == [0.1, 0.1]
    outages.at(99)
    assert calls == []
    outages.at(100)
    assert calls == [("hubspot", True)]
    outages.at(150)
    assert calls == [("hubspot", True)]
    outages.at(250)  # slack is due, but hubspot is still down: the sending waits for slack's start
    # Never overlapping (slack's own 0.1 s may already be over by now on a busy machine).
    assert calls[:3] == [("hubspot", True), ("hubspot", False), ("slack", True)]
    assert outages.finish(5.0)  # slack ends
    assert calls == [("hubspot", True), ("hubspot", False), ("slack", True), ("slack", False)]
    first, second = outages.runs
    assert first.ended is not None and second.started is not None and second.started >= first.ended
    assert second.ended is not None and second.ended >= second.started


def test_the_next_outage_starts_a_gap_after_the_last_one_ended() -> None:
    """Back to back, two outages on one flow's path are one longer outage for it (new_lead_notify
    reads HubSpot, then posts to Slack): three simulated days between them by default, the retry
    horizon less a three-day outage and a day more."""
    assert GAP_S == 3 * 24 * 3600
    calls: list[tuple[str, bool, float]] = []
    outages = Outages(
        (Outage("hubspot", 100), Outage("slack", 100)),
        deliveries=2,
        scale=0.001,
        down=lambda a, on: calls.append((a, on, time.time())),
        gap_s=300,  # 0.3 s of wall time at this scale
    )
    assert outages.wall_s == pytest.approx(0.5)
    assert outages.finish(5.0)
    assert [(a, on) for a, on, _ in calls] == [
        ("hubspot", True),
        ("hubspot", False),
        ("slack", True),
        ("slack", False),
    ]
    assert calls[2][2] - calls[1][2] >= 0.3


def test_events_that_waited_are_those_held_during_the_outage_and_processed_after_it() -> None:
    log = WaitLog()
    log({"time": 5.0, "integration": "website_to_crm", "event_id": "before", "stage": "queued"})
    log({"time": 6.0, "integration": "website_to_crm", "event_id": "before", "stage": "processed"})
    log({"time": 11.0, "integration": "website_to_crm", "event_id": "waited", "stage": "queued"})
    log({"time": 12.0, "integration": "website_to_crm", "event_id": "waited", "stage": "retry"})
    log({"time": 25.0, "integration": "website_to_crm", "event_id": "waited", "stage": "processed"})
    log({"time": 12.0, "integration": "website_to_crm", "event_id": "dead", "stage": "retry"})
    log({"time": 12.0, "integration": "pos_to_accounting", "event_id": "other", "stage": "retry"})
    log({"time": 26.0, "integration": "pos_to_accounting", "event_id": "other", "stage": "processed"})
    assert log.waited(["website_to_crm"], 10.0, 20.0) == 1
    assert log.waited(["website_to_crm", "pos_to_accounting"], 10.0, 20.0) == 2


def test_sequences_take_part_only_under_reorder_and_leave_the_one_change_plan_as_it_was() -> None:
    every = [*factories(), *sequences()]
    faults = parse_faults("dup=0.1,poison=0.05")
    plain = plan(ChaosConfig(events=200, seed=7, faults=faults), every)
    alone = plan(ChaosConfig(events=200, seed=7, faults=faults), list(factories()))
    assert all(p.factory.versions is None for p in plain[0])
    assert [(p.index, p.factory.trigger, p.poison) for p in plain[0]] == [
        (p.index, p.factory.trigger, p.poison) for p in alone[0]
    ]
    assert [(d.event.index, d.duplicate, d.version) for d in plain[1]] == [
        (d.event.index, d.duplicate, d.version) for d in alone[1]
    ]


def test_every_version_of_every_entity_is_delivered_some_shuffled_some_twice() -> None:
    config = ChaosConfig(events=300, seed=11, faults=parse_faults("dup=0.1,poison=0.05"), reorder=True)
    events, schedule = plan(config, [*factories(), *sequences()])
    entities = [p for p in events if p.factory.versions is not None]
    assert {(p.factory.integration, p.factory.trigger) for p in entities} == {
        ("website_to_crm", "webhook"),
        ("pos_to_accounting", "square"),
        ("pos_to_accounting", "stripe"),
        ("booking_to_calendar", "calendly"),
        ("booking_to_calendar", "calcom"),
    }
    assert not any(p.poison for p in entities)
    firsts = Counter((d.event.index, d.version) for d in schedule if not d.duplicate)
    for p in entities:
        versions = p.factory.count(p)
        assert versions >= 2
        assert {firsts[(p.index, v)] for v in range(versions)} == {1}  # each version sent once first
    order = {
        p.index: [d.version for d in schedule if d.event.index == p.index and not d.duplicate]
        for p in entities
    }
    assert sum(1 for seen in order.values() if seen != sorted(seen)) > len(entities) / 3
    assert (
        sum(1 for d in schedule if d.duplicate and d.event.factory.versions is not None) > len(entities) / 2
    )


def test_the_report_says_the_compression_the_outages_and_the_rates_allowed() -> None:
    report = ChaosReport(
        compression="time compressed 1,080x: ...; quickbooks down 3d = 240 s of wall time",
        outages=[
            {
                "app": "quickbooks",
                "duration": "3d",
                "simulated_s": 259_200,
                "wall_s": 240.0,
                "events_waited": 41,
            }
        ],
        redrives_needed=2,
        redrives_needed_why={"pos_to_accounting: target_unavailable": 2},
        rate_limits=[
            "quickbooks: enforced - ThrottleExceeded 500 per 1 min per realm (rolling), 9 counted, 0 refused"
        ],
    )
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()
    assert "quickbooks down 3d = 240 s of wall time" in text
    assert "quickbooks 3d = 240 s wall (41)" in text
    assert "redrives needed: 2, pressed: 0" in text
    assert "pos_to_accounting: target_unavailable 2" in text.split("why (redrives needed)", 1)[1]
    assert "rates each target allowed\n  quickbooks: enforced - ThrottleExceeded 500" in text


def test_a_factory_that_cannot_make_poison_gets_none_and_the_rest_of_the_plan_stays() -> None:
    import dataclasses

    every = list(factories())
    faults = parse_faults("dup=0.1,poison=0.2")
    poisonable = [dataclasses.replace(f, poisonable=True) for f in every]
    before = plan(ChaosConfig(events=300, seed=5, faults=faults), poisonable)[0]
    assert any(p.poison and p.factory.integration == "inventory_sync" for p in before), "seed makes none"
    after = plan(ChaosConfig(events=300, seed=5, faults=faults), every)[0]
    assert not any(p.poison for p in after if p.factory.integration == "inventory_sync")
    assert [
        (p.index, p.factory.trigger, p.poison) for p in after if p.factory.integration != "inventory_sync"
    ] == [(p.index, p.factory.trigger, p.poison) for p in before if p.factory.integration != "inventory_sync"]
    assert all(not f.poisonable for f in every if f.integration == "inventory_sync")


def test_factories_settings_go_under_the_runs_own_and_are_valid_settings() -> None:
    from functions.lead_followup.models import Settings as FollowupSettings
    from infra.ops.chaos.run import with_factory_settings

    every = list(factories())
    config = ChaosConfig(
        events=10, seed=1, faults={}, settings={"lead_followup": {"horizon_days": 30}, "x": {"y": 1}}
    )
    merged = with_factory_settings(every, config).settings
    assert merged["lead_followup"] == {"horizon_days": 30, "buffer_minutes": 0, "meeting_minutes": 15}
    assert merged["x"] == {"y": 1}
    needed = {k: v for f in every for k, v in f.settings.get("lead_followup", {}).items()}
    FollowupSettings.model_validate({**json.loads(LOCAL.read_text()), **needed})
    plain = ChaosConfig(events=10, seed=1, faults={})
    assert with_factory_settings([f for f in every if not f.settings], plain) is plain
