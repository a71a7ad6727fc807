"""The chaos harness, small: every effect exactly once under 5xx, 429, timeouts, crashes, re-sends.

``switchboard chaos`` in miniature (the same code path, in-process): a seeded run of signed webhooks
over website_to_crm and new_lead_notify against flaky sandbox apps. Timeouts and crashes hit HubSpot,
People Data Labs and Slack: a Slack post whose answer is lost (or whose worker dies before the ledger
records it) is found again by its message metadata on the retry (``shared.actions.chat``), so it is
posted once. Each crash costs its message a 30 s visibility timeout (chains of them make the tail
of the run), so the crash rate is ``switchboard chaos``'s default and 60 events (three of them
poison, in both integrations, with seed 22) keep the run under ~100 s.
"""

from __future__ import annotations

import io

import pytest

from infra.ops.chaos import FACTORIES, ChaosConfig, parse_faults, plan, run_chaos

pytestmark = pytest.mark.e2e

#: The lead chain only: event factories for other integrations (``FACTORIES``) do not change what
#: this test exercises or how long it takes; ``switchboard chaos`` runs them all.
INTEGRATIONS = ("website_to_crm", "new_lead_notify")
#: A seed whose poison reaches both integrations (a refused lead, a contact that no longer exists).
SEED = 22
#: Timeouts and crashes on every app of the lead chain's path, Slack included.
FAULTS = (
    "5xx=0.15,429=0.05,timeout=0.03@hubspot+peopledatalabs+slack,crash=0.01@hubspot+peopledatalabs+slack,"
    "dup=0.15,poison=0.06"
)


def test_nothing_is_lost_or_doubled_under_faults() -> None:
    err = io.StringIO()
    config = ChaosConfig(
        events=60, seed=SEED, faults=parse_faults(FAULTS), drain_timeout_s=150, integrations=INTEGRATIONS
    )
    events, _ = plan(config, [f for f in FACTORIES.values() if f.integration in INTEGRATIONS])
    assert {p.factory.integration for p in events if p.poison} == set(INTEGRATIONS)
    report = run_chaos(config, err)

    assert report.drained, err.getvalue()[-2000:]
    assert report.accepted == report.sent == 60
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
    assert [(d.event.index, d.duplicate) for d in first[1]] == [
        (d.event.index, d.duplicate) for d in second[1]
    ]
    assert sum(1 for d in first[1] if d.duplicate) > 0


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
