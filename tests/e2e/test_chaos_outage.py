"""An outage longer than the retry budget needs nobody: HubSpot down, then back, and every lead done.

A small ``switchboard chaos --outage hubspot=2h`` run of the lead chain (website_to_crm, then
new_lead_notify): halfway through the sending HubSpot answers every request with 503 - for two hours
of simulated time, more than three times website_to_crm's whole retry budget (eight attempts backing
off from 10 s to 15 min: about 36 min) - then comes back. Time is compressed 200x, so the outage
lasts 36 s of wall time and the back-offs as much less.

Before the per-app circuit breaker, every lead that met the outage spent its attempts on it and was
dead-lettered; the harness used to press the redrive for it. An outage run presses none: it must end
with every effect once, nothing in a DLQ but poison, and zero redrives needed.
"""

from __future__ import annotations

import io

import pytest

from infra.ops.chaos import ChaosConfig, parse_faults, run_chaos
from infra.ops.chaos.config import parse_outage
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

INTEGRATIONS = ("website_to_crm", "new_lead_notify")
OUTAGE = "hubspot=2h"
SCALE = 0.005


def _retry_budget_s(name: str) -> float:
    """The longest a message can back off in total before its attempts run out (no jitter)."""
    retry = load_spec(name).retry
    total = 0.0
    for n in range(1, retry.max_attempts):
        total += min(retry.max_delay_s, retry.base_delay_s * float(2 ** (n - 1)))
    return total


def test_an_outage_longer_than_the_retry_budget_ends_with_no_dead_letter_and_no_redrive() -> None:
    outage = parse_outage(OUTAGE)
    assert all(outage.duration_s > 3 * _retry_budget_s(name) for name in INTEGRATIONS)
    err = io.StringIO()
    config = ChaosConfig(
        events=30,
        seed=5,
        faults=parse_faults("dup=0.2,poison=0.05"),
        drain_timeout_s=150,
        integrations=INTEGRATIONS,
        outages=(outage,),
        time_scale=SCALE,
    )
    report = run_chaos(config, err)

    assert report.drained, err.getvalue()[-2000:]
    assert "hubspot down 2h = 36 s of wall time" in report.compression
    assert report.faults_by_app["hubspot"]["status"] > 0  # the outage was served
    assert report.accepted == report.sent == 30
    assert report.poison_sent > 0 and report.dlq_poison == report.poison_sent, report.examples
    assert report.redrives_needed == 0 and report.redriven == 0, report.failures
    assert report.dlq_other == 0, report.examples
    assert report.lost == 0 and report.duplicate_effects == 0 and report.unexpected_effects == 0, (
        report.failures
    )
    assert report.outages[0]["app"] == "hubspot" and report.outages[0]["events_waited"] > 0
    assert report.ok, report.failures
