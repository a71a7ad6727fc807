"""The judge's counts without a runtime: structural kinds apart from the headline, and the load
report's printout of what each target allowed.

A structural kind (a contact upserted by email, a calendar event under a client-chosen id) cannot be
doubled by Switchboard - the target refuses a second - so counting it among the effects would inflate
the proof. It is still judged: a missing or doubled one fails the run as any effect does.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from infra.ops.chaos import judge
from infra.ops.chaos.discovery import app_hooks, check_kinds, structural_kinds
from infra.ops.chaos.protocol import EffectKey, EventFactory, Outgoing, Planned
from infra.ops.chaos.report import ChaosReport, print_report
from infra.ops.load import LoadReport
from infra.ops.load import print_report as print_load_report

KINDS = ("crm.contact", "crm.qualified", "crm.note", "chat.message")
CHECKS = frozenset({"crm.qualified"})
STRUCTURAL = frozenset({"crm.contact"})


def _factory() -> EventFactory:
    def effects(p: Planned) -> Sequence[EffectKey]:
        return [(kind, p.key) for kind in KINDS]

    return EventFactory(
        "demo", "webhook", 1.0, build=lambda _run, p: Outgoing(f"evt-{p.index}", b"{}"), effects=effects
    )


def _verdict(monkeypatch: pytest.MonkeyPatch, observed: Counter[EffectKey], events: int = 3) -> judge.Verdict:
    factory = _factory()
    planned = [Planned(i, 7, factory, poison=False) for i in range(events)]
    run: Any = SimpleNamespace(results={i: [202] for i in range(events)}, versions_ok={})
    monkeypatch.setattr(judge, "observe", lambda _run: observed)
    return judge.verdict(run, planned, {}, checks=CHECKS, structural=STRUCTURAL)


def _all_once(events: int = 3) -> Counter[EffectKey]:
    return Counter({(kind, f"R7N{i}"): 1 for i in range(events) for kind in KINDS})


def test_structural_kinds_are_counted_apart_from_the_headline(monkeypatch: pytest.MonkeyPatch) -> None:
    found = _verdict(monkeypatch, _all_once())
    assert found.clean
    assert (found.effects_expected, found.effects_observed) == (6, 6)  # notes and messages only
    assert (found.structural_expected, found.structural_observed) == (3, 3)
    assert (found.checks_expected, found.checks_passed) == (3, 3)
    assert found.by_kind["crm.contact"] == {"expected": 3, "observed": 3, "check": False, "structural": True}
    assert found.by_kind["crm.note"] == {"expected": 3, "observed": 3, "check": False, "structural": False}


def test_a_structural_kind_is_still_judged_lost_and_doubled(monkeypatch: pytest.MonkeyPatch) -> None:
    observed = _all_once()
    observed[("crm.contact", "R7N0")] = 2  # a defect the target should have made impossible
    del observed[("crm.contact", "R7N1")]
    found = _verdict(monkeypatch, observed)
    assert not found.clean
    assert found.duplicate_effects == 1 and found.lost == 1
    assert "R7N0 (evt-0): crm.contact 2 times, expected once" in found.failures
    assert "R7N1 (evt-1): no crm.contact" in found.failures
    assert (found.structural_expected, found.structural_observed) == (3, 3)
    assert (found.effects_expected, found.effects_observed) == (6, 6)


def test_the_report_names_the_structural_kinds_and_keeps_them_out_of_the_effects(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = _verdict(monkeypatch, _all_once())
    report = ChaosReport(ok=True, drained=True)
    for name in ("effects_expected", "effects_observed", "structural_expected", "structural_observed"):
        setattr(report, name, getattr(found, name))
    report.by_kind = found.by_kind
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()
    assert re.search(r"^effects expected / observed +6 / 6$", text, re.MULTILINE), text
    assert re.search(r"^structural expected / observed +3 / 3 ", text, re.MULTILINE), text
    assert "3 / 3  (not in the effects above: the target itself keeps them single - crm.contact)" in text
    assert "crm.contact 3/3 (structural)" in text and "crm.qualified 3/3 (check)" in text


def test_the_repository_names_its_structural_kinds_and_none_is_a_check() -> None:
    assert structural_kinds() == {"hubspot.contact", "gcal.event"}
    assert not structural_kinds() & check_kinds()
    assert app_hooks()["slack"].structural == ()  # a Slack post has no key: it can double


def test_the_load_report_prints_what_each_target_allowed() -> None:
    report = LoadReport(
        rate_limits=[
            "hubspot: enforced - TEN_SECONDLY_ROLLING 100 per 10 s per token (rolling), 300 counted, 4 refused",
            "slack: enforced - chat.postMessage 60 per 1 min per token and channel (rolling), 60 counted, 0 refused",
        ]
    )
    out = io.StringIO()
    print_load_report(report, out)
    text = out.getvalue()
    assert "rates each target allowed\n  hubspot: enforced - TEN_SECONDLY_ROLLING" in text
    assert "  slack: enforced - chat.postMessage 60 per 1 min" in text
    assert report.as_json()["rate_limits"] == report.rate_limits


def test_a_run_without_lag_tells_the_flows_so_and_a_run_with_one_tests_their_own_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from apps.slack.actions import HISTORY_LAG_ENV
    from infra.ops.chaos.run import lag_told

    monkeypatch.setenv(HISTORY_LAG_ENV, "5")
    with lag_told(0.0):
        assert os.environ[HISTORY_LAG_ENV] == "0"  # the stand-ins' history does not lag: no wait
    with lag_told(8.0):
        assert HISTORY_LAG_ENV not in os.environ  # the flows' own assumption (10 s) is under test
    assert os.environ[HISTORY_LAG_ENV] == "5"
