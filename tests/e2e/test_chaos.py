"""The chaos harness, small: every effect exactly once under 5xx, 429, timeouts, crashes, re-sends.

``switchboard chaos`` in miniature (the same code path, in-process): a seeded run of signed webhooks
over website_to_crm and new_lead_notify against flaky sandbox apps. Timeouts and crashes are limited
to HubSpot and People Data Labs: a Slack post whose answer is lost is posted again on the retry
(Slack's ``chat.postMessage`` has no idempotency key and new_lead_notify does not reconcile yet) -
``switchboard chaos`` with its default faults shows it as duplicate ``slack.message`` effects.
"""

from __future__ import annotations

import io

import pytest

from infra.ops.chaos import FACTORIES, ChaosConfig, parse_faults, plan, run_chaos

pytestmark = pytest.mark.e2e

FAULTS = (
    "5xx=0.15,429=0.05,timeout=0.03@hubspot+peopledatalabs,crash=0.02@hubspot+peopledatalabs,"
    "dup=0.15,poison=0.03"
)


def test_nothing_is_lost_or_doubled_under_faults() -> None:
    err = io.StringIO()
    report = run_chaos(ChaosConfig(events=80, seed=7, faults=parse_faults(FAULTS), drain_timeout_s=150), err)

    assert report.drained, err.getvalue()[-2000:]
    assert report.accepted == report.sent == 80
    assert report.lost == 0, report.examples
    assert report.duplicate_effects == 0, report.examples
    assert report.unexpected_effects == 0, report.examples
    assert report.poison_sent > 0 and report.dlq_poison == report.poison_sent
    assert report.dlq_other == 0, report.examples
    # The faults really happened, the crash path included.
    assert report.faults_served.get("crash", 0) > 0 and report.crashes > 0
    assert report.faults_served.get("slow", 0) > 0
    assert report.faults_served.get("status", 0) > 0 and report.faults_served.get("rate_limit", 0) > 0
    assert report.duplicates_sent > 0
    assert report.ok


def test_the_plan_is_fixed_by_the_seed() -> None:
    config = ChaosConfig(events=50, seed=3, faults=parse_faults("dup=0.3,poison=0.1"))
    factories = list(FACTORIES.values())
    first, second = plan(config, factories), plan(config, factories)
    assert [(p.index, p.factory.trigger, p.poison) for p in first[0]] == [
        (p.index, p.factory.trigger, p.poison) for p in second[0]
    ]
    assert [(p.index, dup) for p, dup in first[1]] == [(p.index, dup) for p, dup in second[1]]
    assert sum(1 for _, dup in first[1] if dup) > 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5xx", "expected kind=rate"),
        ("boom=0.1", "expected kind=rate"),
        ("5xx=x", "not a number"),
        ("5xx=1.5", "between 0 and 1"),
        ("dup=0.1@slack", "takes no @apps"),
        ("5xx=0.5,429=0.5", "more than 0.9"),
    ],
)
def test_fault_specs_are_checked(text: str, message: str) -> None:
    from infra.ops.target import CliError

    with pytest.raises(CliError, match=message):
        parse_faults(text)


def test_fault_scopes() -> None:
    faults = parse_faults("timeout=0.02@hubspot+slack,5xx=0.2")
    assert faults["timeout"].apps == ("hubspot", "slack")
    assert faults["5xx"].apps == ()
