"""What one event of each integration makes AWS bill, counted in the run: the inputs of the cost model.

For every integration, one of its own samples (``events/<integration>/``) is delivered the way its
source would - a webhook or form as an API Gateway HTTP API event to the function, a bus event as
the message EventBridge's rule sends to the queue, a schedule tick as the message EventBridge
Scheduler sends, a synchronous route as an HTTP API event - and the queue is drained by the local
runtime's :class:`~infra.local.poller.Poller`, the same receive / invoke / delete cycle as Lambda's
SQS event source, against the counting fakes of :mod:`benchmarks.fakes`. Target apps are the
sandboxes, in-process. Counted per event: every AWS request by operation (the function's, the event
source's, EventBridge's and Scheduler's deliveries), Lambda invocations, HTTP API requests, the CPU
of each invocation, the bytes written to stdout (CloudWatch Logs), the EMF metric series emitted,
the calls to target apps, the emails sent; and per integration and path, in fresh processes, what a
cold start imports (billed as INIT since August 2025).

The figures go to ``benchmarks/results/cost.json`` (``make bench``); :mod:`infra.cost` prices them
with the synthesized templates (``switchboard cost``). Nothing here is priced: prices live in
:mod:`infra.cost.prices` only.

Integrations without a sample that succeeds (``mcp``, ``oauth_connect``: only refusals are shipped)
are measured on their first route sample and marked ``outcome: refused``.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.spec import (
    BusTrigger,
    FormTrigger,
    IntegrationSpec,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
)

from .fakes import CallCounter, FakeSESv2, FakeSQS, install
from .noise import relative_iqr

__all__ = [
    "RESULTS",
    "IntegrationMeasure",
    "http_event",
    "measure_all",
    "measure_integration",
    "pick_samples",
    "usd_per_million",
]

#: Assumed latency of one SaaS API call, billed as Lambda wall time while the worker waits. The one
#: assumption in the per-event figures: AWS request counts, CPU and log bytes are measured.
TARGET_CALL_MS = 200.0
SANDBOX = "http://sandbox/_sandbox"
#: The functions' architecture, as ``infra.cdk.bundling.ARCHITECTURE`` declares it (not imported:
#: that would start the CDK's Node runtime in the bench; ``switchboard cost`` reads the template's).
ARCHITECTURE = "arm64"
#: Where ``make bench`` writes the figures for ``switchboard cost``.
RESULTS = Path(__file__).resolve().parent / "results" / "cost.json"
HOST = "bench.example"
QUEUE_ARN = "arn:aws:sqs:us-east-1:000000000000:bench"


@dataclass
class IntegrationMeasure:
    """One integration's measured figures per event (means over ``events`` deliveries of ``sample``)."""

    integration: str
    #: The samples delivered, in rounds; the figures are means over every delivery.
    samples: list[str]
    kinds: list[str]
    #: ``processed`` (the samples' expected outcome) or ``refused`` (no sample that succeeds).
    outcome: str
    events: int
    http_api_requests: float
    lambda_invocations: float
    #: Billed ms per invocation path: CPU measured, rounded up to the ms, + target calls x TARGET_CALL_MS.
    ingress_billed_ms: float
    worker_billed_ms: float
    ingress_invocations: float
    worker_invocations: float
    sqs_requests: float
    scheduler_invocations: float
    eventbridge_events: float
    eventbridge_bytes: float
    dynamodb_wru: float
    dynamodb_rru: float
    dynamodb_bytes_written: float
    #: Secrets Manager calls per event when the secret cache has expired (events minutes apart) ...
    secrets_api_calls: float
    ses_emails: float
    target_calls: float
    log_bytes: float
    #: EMF metric series emitted: ``namespace|dim=value,...|MetricName``.
    metric_series: list[str]
    #: Every AWS request per event, by ``service.Operation``.
    aws_calls: dict[str, float]
    #: ... and when events come back to back and share the cache.
    secrets_api_calls_warm: float = 0.0
    #: Samples left out, with why (they need state another integration's sample makes).
    skipped: list[str] = field(default_factory=list)
    #: Import time of a cold start per path (ms, fastest of a few fresh processes): billed INIT + first call.
    cold_import_ms: dict[str, float] = field(default_factory=dict)
    #: Their noise per path: the relative interquartile spread of the fresh processes' times.
    cold_import_noise: dict[str, float | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class _Sink:
    """Stdout on Lambda is CloudWatch Logs: counts the bytes and keeps the EMF metric series."""

    def __init__(self) -> None:
        self.bytes = 0
        self.series: Counter[str] = Counter()
        self._partial = ""

    def write(self, s: str) -> int:
        self.bytes += len(s.encode("utf-8"))
        self._partial += s
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._emf(line)
        return len(s)

    def flush(self) -> None:
        return None

    def _emf(self, line: str) -> None:
        if '"_aws"' not in line:
            return
        try:
            doc = json.loads(line)
        except ValueError:
            return
        for directive in doc.get("_aws", {}).get("CloudWatchMetrics", []):
            for dims in directive.get("Dimensions", []):
                dim = ",".join(f"{d}={doc.get(d)}" for d in dims)
                for metric in directive.get("Metrics", []):
                    self.series[f"{directive.get('Namespace')}|{dim}|{metric['Name']}"] += 1


def pick_samples(spec: IntegrationSpec) -> tuple[list[Any], str]:
    """The samples normal events of ``spec`` look like: every one meant to be processed (or answered
    200), validly signed, with no sandbox faults - the figures are their mean, so an integration's
    cases (a new contact and a known one, a sale and a refund) count alike. Without any, the first
    route sample, marked ``refused``."""
    from infra.local.samples import load_samples

    samples = load_samples(spec)
    good = [
        s
        for s in samples
        if not s.faults
        and s.sign == "valid"
        and not s.lookups  # aimed from the stand-ins at what another sample made (make dev only)
        and (s.expect == "processed" or (s.expect == "answered" and s.expect_status == 200))
    ]
    if good:
        return good, "processed"
    return [s for s in samples if s.kind == "route" and not s.faults][:1], "refused"


def _secrets(spec: IntegrationSpec) -> dict[str, str]:
    from infra.local.resources import sandbox_secret_value
    from shared import store

    return {
        store.stored_name(c, secret_prefix="switchboard/bench/", parameter_prefix="/switchboard/bench/"): (
            sandbox_secret_value(dict(c.local), SANDBOX)
        )
        for c in (*spec.all_connections, *spec.operator_connections)
    }


def http_event(spec: IntegrationSpec, sample: Any, n: int) -> dict[str, Any]:
    from infra.local.gateway import api_gateway_event
    from infra.local.samples import build_request
    from shared.routes import match

    trigger = spec.trigger(sample.trigger)
    if not isinstance(trigger, WebhookTrigger | FormTrigger | RouteTrigger):
        raise SampleFailed(f"{spec.name}/{sample.name}: trigger {trigger.name} is not reached over HTTP")
    secret = None
    if isinstance(trigger, WebhookTrigger):
        secret = str(trigger.secret.local["secret"])
        if sample.webhook_id:  # a fresh delivery id per event: each is its own event, not a re-send
            sample = type(sample)(**{**sample.__dict__, "webhook_id": f"{sample.webhook_id}_{n}"})
    url, headers, body = build_request(spec, sample, f"https://{HOST}", secret)
    path, _, query = url.removeprefix(f"https://{HOST}").partition("?")
    found, _ = match([spec], trigger.method, path)
    return api_gateway_event(
        method=trigger.method.upper(),
        path=path,
        query=query,
        headers={**headers, "host": HOST, "x-forwarded-proto": "https"},
        body=body,
        route_key=f"{trigger.method.upper()} {trigger.path}",
        path_params=found.path_params if found else None,
    )


def _bus_message(sample: Any) -> str:
    """The body EventBridge's SQS target delivers: the whole event, as the rule matched it."""
    return json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": sample.detail_type,
            "source": sample.source,
            "account": "000000000000",
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": "us-east-1",
            "resources": [],
            "detail": sample.detail,
        }
    )


#: Metrics that say an event did not go through: a measurement that emits one measured a failure.
_FAILURE_METRICS = frozenset(
    {"Retried", "DeadLettered", "DeadLetterFailed", "Waited", "OAuthWriteBackFailed"}
)


def _deliver(
    spec: IntegrationSpec,
    sample: Any,
    n: int,
    outcome: str,
    sqs: FakeSQS,
    rt: Any,
    billed: Counter[str],
    cpu: dict[str, list[float]],
) -> None:
    """One delivery as its source makes it: counted as the source's billed requests."""
    from infra.local.scheduler import schedule_message
    from shared.entry import dispatch

    trigger = spec.trigger(sample.trigger)
    if isinstance(trigger, WebhookTrigger | FormTrigger | RouteTrigger):
        event = http_event(spec, sample, n)
        billed["http_api"] += 1
        billed["ingress"] += 1
        t = time.perf_counter()
        answer = dispatch(rt, event)
        cpu["ingress"].append((time.perf_counter() - t) * 1000)
        if outcome != "refused" and answer.get("statusCode") != sample.expect_status:
            raise SampleFailed(
                f"{spec.name}/{sample.name}: answered {answer.get('statusCode')}, "
                f"expected {sample.expect_status}: {str(answer.get('body'))[:300]}"
            )
    elif isinstance(trigger, BusTrigger):
        sqs.send_message(QueueUrl="q", MessageBody=_bus_message(sample))  # EventBridge's rule target
    elif isinstance(trigger, ScheduleTrigger):
        due = datetime.fromisoformat(sample.scheduled_at) if sample.scheduled_at else datetime.now(UTC)
        billed["scheduler"] += 1
        sqs.send_message(QueueUrl="q", MessageBody=schedule_message(spec.name, trigger, due))


def _requests_to_sandboxes(sandboxes: dict[str, Any]) -> int:
    from sandbox.base import SandboxRequest

    total = 0
    for app in sandboxes.values():
        answer = app.handle(SandboxRequest(method="GET", path="/_requests", query={}, headers={}, body=b""))
        total += len(json.loads(answer.body).get("requests", []))
    return total


class SampleFailed(RuntimeError):
    """A sample meant to succeed did not, under the bench's fakes and sandboxes."""


def measure_integration(spec: IntegrationSpec, events: int) -> IntegrationMeasure | None:
    """Deliver about ``events`` events - ``spec``'s samples in rounds - and count what each costs.

    ``None`` when ``spec`` has no sample. A sample that does not go through on its own (one that
    needs state an earlier sample of another integration made, such as a HubSpot contact) is left
    out and named in ``skipped``.
    """
    samples, outcome = pick_samples(spec)
    if not samples:
        return None
    good, skipped = [], []
    for sample in samples:
        try:
            _run(spec, [sample], 1, outcome)
            good.append(sample)
        except SampleFailed as exc:
            skipped.append(f"{sample.name}: {exc}")
    if not good:
        raise SampleFailed(f"{spec.name}: no sample goes through: {'; '.join(skipped)}")
    measured = _run(spec, good, max(1, math.ceil(events / len(good))), outcome)
    measured.skipped = skipped
    # A small business's events of one integration are minutes apart: each finds the 5-minute secret
    # cache expired. Back to back (above) they share it; the cost model prices the expired case.
    measured.secrets_api_calls_warm = measured.secrets_api_calls
    measured.secrets_api_calls = _run(spec, good, 1, outcome, cold_cache=True).secrets_api_calls
    return measured


def _run(
    spec: IntegrationSpec, samples: list[Any], rounds: int, outcome: str, *, cold_cache: bool = False
) -> IntegrationMeasure:
    import contextlib

    from aws_lambda_powertools.utilities.parameters import clear_caches

    from infra.local.poller import Poller
    from sandbox.base import transport_for
    from sandbox.registry import create_sandboxes
    from shared import runtime as runtime_module
    from shared.entry import dispatch

    from .harness import _runtime

    events = rounds * len(samples)
    counter = CallCounter()
    secrets = _secrets(spec)
    install(counter, secrets)
    sqs = FakeSQS(counter, "sqs", keep=True, queue_url="q")
    runtime_module._shared_clients["sqs"] = sqs
    runtime_module._shared_clients["sesv2"] = FakeSESv2(counter, "sesv2")
    billed = Counter[str]()
    cpu: dict[str, list[float]] = {"ingress": [], "worker": []}
    runtimes: list[Any] = []
    target_requests = 0

    def invoke(_name: str, batch: dict[str, Any]) -> dict[str, Any]:
        billed["worker"] += 1
        t = time.perf_counter()
        result = dispatch(runtimes[-1], batch)
        cpu["worker"].append((time.perf_counter() - t) * 1000)
        return result

    def fail(_name: str, exc: BaseException) -> None:
        raise exc

    source = Poller(
        spec.name, sqs, "q", QUEUE_ARN, spec.batch_size, invoke, region="us-east-1", on_error=fail
    )
    sink = _Sink()
    with contextlib.redirect_stdout(sink):
        for n in range(rounds):
            # Each round is the samples' story afresh (a booking made, moved, cancelled): new
            # sandboxes, so a later round does not meet the state an earlier one left.
            sandboxes = create_sandboxes()
            runtime_module._shared_clients["secretsmanager"].reset(secrets)
            runtime_module._shared_clients["ssm"].reset(secrets)
            clear_caches()  # type: ignore[no-untyped-call]
            runtimes.append(_runtime(spec, http_transport=transport_for(sandboxes)))
            for sample in samples:
                if cold_cache:
                    clear_caches()  # type: ignore[no-untyped-call]
                _deliver(spec, sample, n, outcome, sqs, runtimes[-1], billed, cpu)
                # One event at a time, as a quiet business's queue sees them: no shared batches. The
                # event source's empty polls are the fixed idle cost, not this event's.
                while sqs.pending:
                    source.poll_once()
                failed = sorted({k.rsplit("|", 1)[1] for k in sink.series} & _FAILURE_METRICS)
                if failed and outcome != "refused":
                    raise SampleFailed(
                        f"{sample.name} (round {n + 1}) did not go through ({', '.join(failed)})"
                    )
            target_requests += _requests_to_sandboxes(sandboxes)
    target_calls = target_requests / events
    calls = {op: n / events for op, n in sorted(counter.calls.items())}
    units = counter.units

    # Target calls wait in the worker; a synchronous route makes them inside its one invocation.
    waiting_path = "worker" if billed["worker"] else "ingress"

    def per_path(path: str) -> float:
        if not cpu[path]:
            return 0.0
        waits = target_calls / (billed[path] / events) if path == waiting_path else 0.0
        return float(math.ceil(statistics.median(cpu[path]) + waits * TARGET_CALL_MS))

    return IntegrationMeasure(
        integration=spec.name,
        samples=[s.name for s in samples],
        kinds=sorted({s.kind for s in samples}),
        outcome=outcome,
        events=events,
        http_api_requests=billed["http_api"] / events,
        lambda_invocations=(billed["ingress"] + billed["worker"]) / events,
        ingress_billed_ms=per_path("ingress"),
        worker_billed_ms=per_path("worker"),
        ingress_invocations=billed["ingress"] / events,
        worker_invocations=billed["worker"] / events,
        sqs_requests=sum(v for k, v in calls.items() if k.startswith("sqs.")),
        scheduler_invocations=billed["scheduler"] / events,
        eventbridge_events=calls.get("events.PutEvents.entries", 0.0),
        eventbridge_bytes=counter.item_bytes["events.PutEvents"] / events,
        dynamodb_wru=units["dynamodb.write"] / events,
        dynamodb_rru=units["dynamodb.read"] / events,
        dynamodb_bytes_written=units["dynamodb.bytes_written"] / events,
        secrets_api_calls=sum(v for k, v in calls.items() if k.startswith("secretsmanager.")),
        ses_emails=calls.get("sesv2.recipients", 0.0),
        target_calls=target_calls,
        log_bytes=sink.bytes / events,
        metric_series=sorted(sink.series),
        aws_calls=calls,
    )


_COLD_CHILD = """
import sys, time
t = time.perf_counter()
import shared.entry
from shared.registry import load_spec
spec = load_spec(sys.argv[1])
if sys.argv[2] == "ingress":
    import shared.ingress
else:
    import importlib, shared.worker
    importlib.import_module(spec.worker.partition(":")[0])
print((time.perf_counter() - t) * 1000)
"""


def cold_import_runs(spec: IntegrationSpec, runs: int) -> dict[str, list[float]]:
    """What a cold start imports before it can answer, per path, in fresh processes: the import time
    (ms) of each of ``runs``. The cost model takes the fastest (import time is fixed work, and on a
    shared machine the slower runs measure the neighbours); their spread is the figure's noise.

    Lambda bills the INIT phase (``import shared.entry``) and the first invocation's lazy imports
    (the ingress or worker path) as duration; a warm invocation pays neither.
    """
    from .harness import REPO

    paths = []
    if spec.http_triggers:
        paths.append("ingress")
    if spec.queued_triggers and spec.worker:
        paths.append("worker")
    found: dict[str, list[float]] = {}
    for path in paths:
        times = []
        for _ in range(runs):
            done = subprocess.run(
                [sys.executable, "-c", _COLD_CHILD, spec.name, path],
                cwd=REPO,
                env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise RuntimeError(f"cold import of {spec.name}/{path} failed: {done.stderr[-2000:]}")
            times.append(float(done.stdout.strip().splitlines()[-1]))
        found[path] = times
    return found


def measure_all(events: int, cold_runs: int) -> list[IntegrationMeasure]:
    from shared.registry import load_specs

    measured = []
    for spec in load_specs():
        m = measure_integration(spec, events)
        if m is None:
            continue
        runs = cold_import_runs(spec, cold_runs)
        m.cold_import_ms = {path: round(min(times), 1) for path, times in runs.items()}
        m.cold_import_noise = {path: relative_iqr(times) for path, times in runs.items()}
        measured.append(m)
    return measured


def usd_per_million(results: dict[str, Any]) -> dict[str, float]:
    """Dollars per million events of each integration as the cost model prices what was measured
    (:func:`infra.cost.model.measured_per_million`), at the memory and architecture the stacks give
    its function: the figure ``switchboard cost`` shows as "$/M (bench)"."""
    from infra.cost.measured import parse_bench
    from infra.cost.model import measured_per_million
    from shared.registry import load_spec

    parsed = parse_bench(results)
    return {
        name: round(measured_per_million(m, load_spec(name).memory_mb, ARCHITECTURE), 3)
        for name, m in parsed.integrations.items()
    }
