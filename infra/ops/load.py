"""``switchboard load``: signed webhooks at a fixed rate against a local runtime of its own.

Open loop, as the internet sends: request ``i`` is due at ``start + i / rps`` whether or not the
earlier ones have been answered, and its latency is measured from that due time - so a gateway that
falls behind shows up as latency (and as ``late``), not as a politely slower client. A small pool
of sender threads does the sending on 127.0.0.1 only.

The events are website_to_crm's signed leads (Standard Webhooks, the chaos harness's factory), which
run the whole chain behind them (HubSpot sandbox, ``lead.created``, email, Slack, enrichment). After
the sending, the queues are drained and the run is judged as a chaos run is, by what the targets
hold (:func:`infra.ops.chaos.judge.verdict`): each accepted lead's contact (with owner and stage),
note, emails and Slack message, once each - not by the ledger, which records what the system
believes it did. The run fails on any 5xx, any lost, doubled or unexpected effect, any dead letter,
or queues that did not drain in time; each failure names the event and the effect kind.

The stand-ins enforce their providers' published rate limits (:mod:`sandbox.limits`, on unless
lifted), and the report says what rate each target allowed and how many requests it counted and
refused (:func:`sandbox.limits.describe`), so that a rate held is read against the limits it met.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from infra.local.delivery import post_status, signed_request
from infra.ops.chaos import ChaosConfig, ChaosRun, Planned
from infra.ops.chaos.discovery import factory as chaos_factory
from infra.ops.chaos.report import by_kind, print_verdict, structural_line
from sandbox import limits as sandbox_limits
from shared.spec import WebhookTrigger

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime

__all__ = ["LoadConfig", "LoadReport", "print_report", "run_load"]

INTEGRATION, TRIGGER = "website_to_crm", "webhook"


@dataclass(frozen=True)
class LoadConfig:
    rps: float
    seconds: float
    senders: int = 8
    drain_timeout_s: float = 300.0
    #: Seed of the event keys (two runs in one runtime never share event ids).
    seed: int = 1


@dataclass
class LoadReport:
    ok: bool = False
    rps_target: float = 0.0
    seconds: float = 0.0
    requests: int = 0
    accepted: int = 0
    accepted_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    late: int = 0
    status_5xx: int = 0
    other_status: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    #: Accepted leads whose every effect the targets hold (``accepted - lost``).
    processed: int = 0
    #: Dead letters in any queue of the chain (there is no poison in a load run).
    dead_lettered: int = 0
    #: Leads with a missing effect or a failed check, by the targets' state.
    lost: int = 0
    duplicate_effects: int = 0
    unexpected_effects: int = 0
    #: Effects the targets hold, against those expected (checks and structural kinds apart: see the
    #: chaos report).
    effects_expected: int = 0
    effects_observed: int = 0
    structural_expected: int = 0
    structural_observed: int = 0
    checks_expected: int = 0
    checks_passed: int = 0
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: What each stand-in allowed (its provider's published rate limits, enforced or lifted) and how
    #: many requests it counted and refused, one line per stand-in (:func:`sandbox.limits.describe`).
    rate_limits: list[str] = field(default_factory=list)
    #: Every failure, naming the event and the effect kind (the first 20).
    failures: list[str] = field(default_factory=list)
    drained: bool = False
    drain_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    index = min(len(sorted_ms) - 1, max(0, round(q * (len(sorted_ms) - 1))))
    return round(sorted_ms[index], 1)


def run_load(
    config: LoadConfig,
    err: TextIO = sys.stderr,
    *,
    before_judging: Callable[[ChaosRun], None] | None = None,
) -> LoadReport:
    """One load run (see the module docstring). Starts and stops its own local runtime.

    ``before_judging`` runs once the queues are drained, just before the targets are judged (the
    tests plant a doubled or a lost effect there), as in :func:`infra.ops.chaos.run_chaos`.
    """
    from infra.local.runtime import LocalRuntime
    from infra.ops.chaos.run import lag_told

    report = LoadReport(rps_target=config.rps, seconds=config.seconds)
    with tempfile.TemporaryDirectory(prefix="switchboard-load-") as logs:
        # moto on the second core, as under chaos: the run measures Switchboard, not one busy process.
        runtime = LocalRuntime(port=0, log_dir=logs, state_file=None, invocations=2, aws_process=True)
        with runtime, lag_told(0.0):  # the stand-ins' reads do not lag: the flows wait for nothing
            _run(runtime, config, report, err, before_judging)
    return report


def _run(
    runtime: LocalRuntime,
    config: LoadConfig,
    report: LoadReport,
    err: TextIO,
    before_judging: Callable[[ChaosRun], None] | None,
) -> None:
    factory = chaos_factory(INTEGRATION, TRIGGER)
    spec = next(s for s in runtime.specs if s.name == INTEGRATION)
    trigger = spec.trigger(TRIGGER)
    assert isinstance(trigger, WebhookTrigger)  # website_to_crm's leads are signed webhooks
    secret = runtime.signing_secret(spec, TRIGGER) or ""
    url = runtime.url + trigger.path
    total = max(1, int(config.rps * config.seconds))
    run = ChaosRun(runtime, ChaosConfig(events=total, seed=config.seed, faults={}), err)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    late = 0

    def send(i: int, due: float) -> None:
        out = factory.build(run, Planned(i, config.seed, factory, poison=False))
        request = signed_request(
            trigger, runtime.url, out.body, secret, headers=out.headers, msg_id=out.event_id
        )
        status = post_status(request, client)
        elapsed_ms = (time.monotonic() - due) * 1000
        with lock:
            statuses[status] += 1
            latencies.append(elapsed_ms)
            run.results.setdefault(i, []).append(status)

    print(f"[load] {total} requests at {config.rps:g}/s to {url}", file=err, flush=True)
    limits = httpx.Limits(max_connections=config.senders, max_keepalive_connections=config.senders)
    with (
        httpx.Client(timeout=30, limits=limits) as client,
        ThreadPoolExecutor(max_workers=config.senders, thread_name_prefix="load-send") as pool,
    ):
        start = time.monotonic() + 0.2
        for i in range(total):
            due = start + i / config.rps
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            elif wait < -0.05:
                late += 1  # the sender itself fell behind: the pool is saturated
            pool.submit(send, i, due)
        pool.shutdown(wait=True)
    sent_s = max(config.seconds, time.monotonic() - start)
    ordered = sorted(latencies)
    report.requests = total
    report.accepted = statuses.get(202, 0)
    report.accepted_per_s = round(report.accepted / sent_s, 1)
    report.latency_ms = {
        "p50": _percentile(ordered, 0.50),
        "p95": _percentile(ordered, 0.95),
        "p99": _percentile(ordered, 0.99),
        "max": round(ordered[-1], 1) if ordered else 0.0,
    }
    report.late = late
    report.status_5xx = sum(c for s, c in statuses.items() if s >= 500)
    report.errors = statuses.get(0, 0)
    report.other_status = {str(s): c for s, c in statuses.items() if s not in (0, 202) and s < 500}
    print(
        f"[load] sent in {sent_s:.1f} s: {report.accepted} accepted, p99 {report.latency_ms['p99']} ms; draining",
        file=err,
        flush=True,
    )
    drain_started = time.monotonic()
    report.drained = runtime.wait_drained(timeout_s=config.drain_timeout_s, settle_s=1.0)
    report.drain_s = round(time.monotonic() - drain_started, 1)
    report.rate_limits = sandbox_limits.describe(runtime.sandboxes)
    if before_judging is not None:
        before_judging(run)
    events = [Planned(i, config.seed, factory, poison=False) for i in range(total)]
    _judge(run, events, report)
    report.ok = (
        report.drained
        and report.status_5xx == 0
        and report.errors == 0
        and report.lost == 0
        and report.duplicate_effects == 0
        and report.unexpected_effects == 0
        and report.dead_lettered == 0
        and report.accepted == report.requests
    )


def _judge(run: ChaosRun, events: list[Planned], report: LoadReport) -> None:
    """The accepted leads judged by the targets' state (the chaos judge), and every DLQ of the chain."""
    from infra.ops.chaos.judge import verdict
    from infra.ops.chaos.run import dlq_letters
    from infra.ops.target import Target

    runtime = run.runtime
    target = Target(
        stage=runtime.stage, region="us-east-1", endpoint=runtime.aws_endpoint, gateway=runtime.url
    )
    found = verdict(run, events, dlq_letters(run, target))
    report.lost = found.lost
    report.processed = found.accepted - found.lost
    report.dead_lettered = found.dlq_other
    report.duplicate_effects = found.duplicate_effects
    report.unexpected_effects = found.unexpected_effects
    report.effects_expected = found.effects_expected
    report.effects_observed = found.effects_observed
    report.structural_expected = found.structural_expected
    report.structural_observed = found.structural_observed
    report.checks_expected = found.checks_expected
    report.checks_passed = found.checks_passed
    report.by_kind = found.by_kind
    report.failures = list(found.failures)
    if not report.drained:
        report.failures.insert(0, "the queues did not drain in time: what is still queued was not judged")


def print_report(report: LoadReport, out: TextIO) -> None:
    lat = report.latency_ms
    out.write(
        f"requests {report.requests} at {report.rps_target:g}/s for {report.seconds:g} s: "
        f"{report.accepted} accepted ({report.accepted_per_s}/s), 5xx {report.status_5xx}, "
        f"errors {report.errors}, other {json.dumps(report.other_status)}\n"
        f"latency p50 {lat.get('p50')} ms, p95 {lat.get('p95')} ms, p99 {lat.get('p99')} ms, "
        f"max {lat.get('max')} ms; {report.late} sent late\n"
        f"after draining ({report.drain_s} s, drained={report.drained}), judged by what the targets hold: "
        f"{report.processed} leads with every effect, {report.lost} lost, "
        f"{report.duplicate_effects} doubled, {report.unexpected_effects} unexpected, "
        f"{report.dead_lettered} dead-lettered\n"
        f"effects {report.effects_observed:,} of {report.effects_expected:,} expected; checks passed "
        f"{report.checks_passed:,} of {report.checks_expected:,} (at most 1 per event)\n"
        f"structural effects (expected / observed): {structural_line(report)}\n"
        f"by kind (observed / expected): {by_kind(report.by_kind)}\n"
    )
    if report.rate_limits:
        out.write("rates each target allowed\n")
        for line in report.rate_limits:
            out.write(f"  {line}\n")
    print_verdict(report.ok, report.failures, out)
