"""``switchboard load`` in miniature: a few seconds of signed webhooks, nothing lost or doubled at the
targets, no 5xx."""

from __future__ import annotations

import io

import pytest

from infra.cli import main
from infra.ops.load import LoadConfig, run_load

pytestmark = pytest.mark.e2e


def test_a_short_load_run_loses_nothing() -> None:
    err = io.StringIO()
    report = run_load(LoadConfig(rps=20, seconds=3), err)
    assert report.requests == 60
    assert report.accepted == 60, report
    assert report.status_5xx == 0 and report.errors == 0
    assert report.drained, err.getvalue()
    # Judged by what the targets hold: every lead's contact, note, emails and Slack message, once.
    assert report.lost == 0 and report.processed == 60, report.failures
    assert report.duplicate_effects == 0 and report.unexpected_effects == 0 and report.dead_lettered == 0
    assert report.effects_expected == report.effects_observed == 60 * 4  # the contact apart: structural
    assert report.structural_expected == report.structural_observed == 60
    assert report.checks_expected == report.checks_passed == 60  # hubspot.qualified, once per lead
    assert 0 < report.latency_ms["p50"] <= report.latency_ms["p95"] <= report.latency_ms["p99"]
    assert report.ok


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["load", "--rps", "0"], "--rps must be"),
        (["load", "--seconds", "-1"], "--seconds must be"),
        (["load", "--senders", "0"], "--senders must be"),
        (["chaos", "--events", "0"], "--events must be"),
        (["chaos", "--faults", "5xx=2"], "between 0 and 1"),
        (["chaos", "--only", "nope"], "no integration 'nope'"),
    ],
)
def test_harness_arguments_are_checked(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert message in capsys.readouterr().err
