"""HubSpot down for longer than eight attempts' worth of back-off, then back: nothing dead-lettered.

Through the local runtime (moto, pollers, the HubSpot stand-in), the way ``make dev`` runs: the
stand-in answers every request 503 until the fault is cleared. Before target health, each lead spent
one of its eight attempts per receive and was dead-lettered after the eighth; now HubSpot's circuit
opens after five failures in a row, the leads wait on their queue without spending attempts (one
probe a minute, scaled), and when HubSpot answers again every lead is done exactly once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from shared import health, trace
from shared.registry import load_spec
from shared.table import ledger_table
from tests.e2e.test_local_runtime import post_sample, sandbox

pytestmark = pytest.mark.e2e

SCALE = 0.005
LEADS = 4
SPEC = load_spec("website_to_crm")


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    rt = LocalRuntime(
        port=0,
        retry_scale=SCALE,
        log_dir=str(tmp_path / ".switchboard" / "logs"),
        state_file=tmp_path / ".switchboard" / "local.json",
    )
    rt.trace = entries  # type: ignore[attr-defined]
    with rt:
        yield rt
    trace.remove_sink(entries.append)
    assert rt.errors == [], rt.errors


def _form(i: int) -> bytes:
    return (
        f"name=Lead+{i}&email=outage.lead{i}%40example.org&phone=&company=&message=Cake+{i}%3F"
        "&consent=on&utm_source=&utm_medium=&utm_campaign=&website="
    ).encode()


def test_an_outage_longer_than_the_retry_budget_dead_letters_nothing(runtime: LocalRuntime, cli: Any) -> None:
    entries: list[dict[str, Any]] = runtime.trace  # type: ignore[attr-defined]
    fault = {"kind": "status", "status": 503, "rate": 1}
    assert httpx.post(f"{runtime.url}/_sandbox/hubspot/_faults", json=fault, timeout=5).status_code < 300
    ids = []
    for i in range(LEADS):
        answer = post_sample(runtime, "form_post", body=_form(i))
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])

    # Down until every lead was received more often than it has attempts, and for longer than the
    # whole back-off of those attempts (scaled): before, each would now be in the DLQ.
    retry = SPEC.retry
    budget_s = sum(retry.window_s(n) for n in range(1, retry.max_attempts + 1)) * SCALE
    started = time.monotonic()
    deadline = started + 180
    while time.monotonic() < deadline:
        receives = Counter(e["event_id"] for e in list(entries) if e["stage"] == "retry")
        if all(receives[i] > retry.max_attempts for i in ids) and time.monotonic() - started > budget_s:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the leads were not retried past their attempts in time: {receives}")

    rt = runtime.runtimes["website_to_crm"]
    breaker = ledger_table(rt).get(health.health_key("hubspot")) or {}
    assert breaker.get("state") == health.OPEN
    status = cli("status")
    assert status.returncode == 0, status.stderr
    [line] = [ln for ln in status.stdout.splitlines() if ln.strip().startswith("hubspot")]
    assert "OPEN" in line and "Hubspot unavailable since" in line and "events waiting" in line
    assert runtime.queue_depths()["website_to_crm"][1] == 0  # nothing dead-lettered while down

    assert httpx.delete(f"{runtime.url}/_sandbox/hubspot/_faults", timeout=5).status_code < 300
    assert runtime.wait_drained(180)

    assert all(dead == 0 for _, dead in runtime.queue_depths().values()), runtime.queue_depths()
    state = sandbox(runtime, "_state")
    emails = Counter(c["properties"].get("email") for c in state["contacts"])
    assert emails == Counter({f"outage.lead{i}@example.org": 1 for i in range(LEADS)})
    assert len(state["notes"]) == LEADS  # every effect once
    processed = Counter(
        e["event_id"] for e in entries if e["stage"] == "processed" and e["integration"] == rt.name
    )
    assert all(processed[i] == 1 for i in ids), processed
    assert (ledger_table(rt).get(health.health_key("hubspot")) or {}).get("state") == health.CLOSED
    waits = [e for e in entries if e["stage"] == "retry" and e.get("waiting") and e["event_id"] in ids]
    assert waits and all("no attempt spent" in e["reason"] for e in waits)
