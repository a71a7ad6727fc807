"""The measurements behind ``make bench``; each returns plain numbers, measured in this run.

Every figure is measured against a baseline measured in the same run, on the same machine, so a
noisy shared machine moves both sides: cold start and warm ingest against the hand-written
stdlib+boto3 handler (``baseline_handler.py``); batch concurrency against Powertools' sequential
batch processor. AWS is answered in-process with zero latency (``fakes.py``) wherever Switchboard's
own overhead is measured. What each integration's events cost is measured in ``cost.py``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.spec import Accepted, BusTrigger, IntegrationSpec, WebhookTrigger

from .fakes import CallCounter, install
from .noise import block_noise, relative_iqr

REPO = Path(__file__).resolve().parents[1]
BASELINE_SECRET = "whsec_" + "YmVuY2htYXJrLWJhc2VsaW5lLXNpZ25pbmcta2V5"
HOST = "bench.example"

# --- helpers ------------------------------------------------------------------------------------------


class _ByteSink(io.TextIOBase):
    """Counts what would be written to stdout (= CloudWatch Logs on Lambda) and drops it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, s: str) -> int:
        self.bytes += len(s.encode("utf-8"))
        return len(s)


@contextlib.contextmanager
def quiet_stdout() -> Iterator[_ByteSink]:
    sink = _ByteSink()
    with contextlib.redirect_stdout(sink):  # type: ignore[type-var]
        yield sink


def signed_event(spec: IntegrationSpec, sample: Any, secret: str | None) -> dict[str, Any]:
    from infra.local.gateway import api_gateway_event
    from infra.local.samples import build_request

    url, headers, body = build_request(spec, sample, f"https://{HOST}", secret)
    path = url.removeprefix(f"https://{HOST}")
    return api_gateway_event(
        method="POST",
        path=path,
        query="",
        headers={**headers, "host": HOST, "x-forwarded-proto": "https"},
        body=body,
        route_key=f"POST {path}",
    )


def baseline_event() -> dict[str, Any]:
    from infra.local.gateway import api_gateway_event
    from shared.webhooks.standard import StandardWebhooks

    body = json.dumps(
        {
            "type": "form.submitted",
            "timestamp": "2026-11-20T09:14:03Z",
            "data": {"name": "A B", "email": "a@b.example"},
        }
    ).encode()
    url = f"https://{HOST}/hooks/baseline"
    headers = StandardWebhooks().sign(
        method="POST",
        url=url,
        body=body,
        secret=BASELINE_SECRET,
        now=time.time(),
        msg_id=f"msg_{uuid.uuid4().hex}",
    )
    return api_gateway_event(
        method="POST",
        path="/hooks/baseline",
        query="",
        headers={**headers, "content-type": "application/json", "host": HOST},
        body=body,
        route_key="POST /hooks/baseline",
    )


def webhook_samples(*, per_trigger: bool = False) -> list[tuple[IntegrationSpec, Any]]:
    """Per integration with a signed webhook (or per webhook trigger): its first sample meant to be
    processed that stands alone (one whose placeholders come from the stand-ins needs a runtime)."""
    from infra.local.samples import load_samples
    from shared.registry import load_specs

    found = []
    for spec in load_specs():
        seen: set[str] = set()
        for sample in load_samples(spec):
            trigger = spec.trigger(sample.trigger)
            key = sample.trigger if per_trigger else spec.name
            if (
                isinstance(trigger, WebhookTrigger)
                and sample.expect == "processed"
                and sample.sign == "valid"
                and not sample.lookups
                and key not in seen
            ):
                found.append((spec, sample))
                seen.add(key)
    return found


# --- 2. warm ingest -----------------------------------------------------------------------------------------


@dataclass
class Ingest:
    #: CPU per request with a real boto3 SQS client whose requests a local server answers.
    median_us: float
    baseline_us: float
    #: The same, with the SQS client replaced by an in-process fake: Switchboard's own share.
    own_us: float
    baseline_own_us: float
    log_bytes_per_request: float
    #: Each median's noise (:func:`benchmarks.noise.block_noise`), keyed like the fields above.
    noise: dict[str, float | None] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.median_us / self.baseline_us


class _SQSResponder:
    """A local HTTP server answering SQS SendMessage (JSON protocol) like SQS does, on its own thread.

    Its CPU is not on the measuring thread, so the figure is the client's cost: boto3 serialisation,
    SigV4 signing and the HTTP exchange, as a real handler pays them.
    """

    def __init__(self) -> None:
        import http.server

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms stalls

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                body = json.dumps({"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": "0" * 32}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/x-amz-json-1.0")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "sqs",
            region_name="us-east-1",
            endpoint_url=f"http://127.0.0.1:{self.server.server_address[1]}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def close(self) -> None:
        self.server.shutdown()


def warm_ingest(requests: int) -> Ingest:
    """CPU per warm request (verify + validate + enqueue) on the request's thread, median."""
    from benchmarks import baseline_handler
    from shared import runtime as runtime_module
    from shared.entry import dispatch
    from shared.registry import load_spec

    spec = load_spec("website_to_crm")
    sample = next(s for sp, s in webhook_samples() if sp.name == spec.name)
    trigger = spec.trigger(sample.trigger)
    assert isinstance(trigger, WebhookTrigger)
    counter = CallCounter()
    secret_value = json.dumps({"secret": _local_secret(trigger)})
    # A signing secret is an SSM parameter (shared.store): the fake SSM answers for it.
    install(counter, {f"/switchboard/bench/{trigger.secret.name}": secret_value})
    rt = _runtime(spec, queue_url="http://127.0.0.1/000000000000/bench")
    os.environ["SWITCHBOARD_QUEUE_URL"] = rt.queue_url
    baseline_handler._secret.update({"secret": BASELINE_SECRET})
    responder = _SQSResponder()
    figures: dict[str, list[float]] = {}
    log_bytes = 0.0
    try:
        for label, sqs in (("real", responder.client()), ("fake", install_sqs(counter))):
            runtime_module._shared_clients["sqs"] = sqs
            rt._clients.pop("sqs", None)  # the runtime keeps its own reference too
            baseline_handler._clients["sqs"] = sqs
            # Signed afresh per phase: a signature older than the tolerance would be refused early.
            event = signed_event(spec, sample, _local_secret(trigger))
            base_event = baseline_event()
            with quiet_stdout() as sink:
                assert dispatch(rt, event)["statusCode"] == 202
                assert baseline_handler.handler(base_event, None)["statusCode"] == 202
                for _ in range(50):  # warm: imports, clients, caches
                    dispatch(rt, event)
                    baseline_handler.handler(base_event, None)
                start_bytes = sink.bytes
                figures[label] = _cpu_per_call(functools.partial(dispatch, rt, event), requests)
                if label == "real":
                    log_bytes = (sink.bytes - start_bytes) / requests
                figures[f"{label}_baseline"] = _cpu_per_call(
                    functools.partial(baseline_handler.handler, base_event, None), requests
                )
    finally:
        responder.close()
    median = {label: statistics.median(samples) for label, samples in figures.items()}
    names = {
        "real": "median_us",
        "real_baseline": "baseline_us",
        "fake": "own_us",
        "fake_baseline": "baseline_own_us",
    }
    return Ingest(
        median["real"],
        median["real_baseline"],
        median["fake"],
        median["fake_baseline"],
        log_bytes,
        {names[label]: block_noise(samples) for label, samples in figures.items()},
    )


def install_sqs(counter: CallCounter) -> Any:
    from .fakes import FakeSQS

    return FakeSQS(counter, "sqs")


def _local_secret(trigger: WebhookTrigger) -> str:
    return str(trigger.secret.local["secret"])


def _cpu_per_call(fn: Callable[[], Any], n: int) -> list[float]:
    """The CPU (µs, this thread) of each of ``n`` calls, in order."""
    samples = []
    for _ in range(n):
        t = time.thread_time_ns()
        fn()
        samples.append((time.thread_time_ns() - t) / 1000)
    return samples


# --- 3/4. worker overhead and batch concurrency ----------------------------------------------------------------


class Item(BaseModel):
    n: int


def _accept(detail: Item, event: Any) -> list[Accepted]:
    return [Accepted(event_id=event.id, type="bench", data=detail)]


_INFLIGHT = {"now": 0, "max": 0}
_INFLIGHT_LOCK = threading.Lock()
TARGET_SECONDS = 0.1


def noop_worker(item: Item, ctx: Any) -> dict[str, int]:
    """One recorded step, no target: what is left is Switchboard's per-record machinery."""
    return ctx.step("effect", lambda: {"n": item.n})  # type: ignore[no-any-return]


def slow_target_worker(item: Item, ctx: Any) -> dict[str, int]:
    """A target call that takes 100 ms, counted for the concurrency cap."""

    def call() -> dict[str, int]:
        with _INFLIGHT_LOCK:
            _INFLIGHT["now"] += 1
            _INFLIGHT["max"] = max(_INFLIGHT["max"], _INFLIGHT["now"])
        try:
            time.sleep(TARGET_SECONDS)
        finally:
            with _INFLIGHT_LOCK:
                _INFLIGHT["now"] -= 1
        return {"n": item.n}

    return ctx.step("call", call)  # type: ignore[no-any-return]


def _bench_spec(name: str, worker: str, concurrency: int) -> IntegrationSpec:
    return IntegrationSpec(
        name=name,
        description="benchmark",
        input_model=Item,
        triggers=(BusTrigger(name="bench", detail_types=("bench",), model=Item, accept=_accept),),
        worker=worker,
        max_concurrency=concurrency,
    )


def sqs_batch(spec: IntegrationSpec, size: int, prefix: str) -> dict[str, Any]:
    from shared.envelope import Envelope

    records = []
    for i in range(size):
        event_id = f"{prefix}-{i}-{uuid.uuid4().hex[:8]}"
        envelope = Envelope.wrap(
            spec.name, "bench", Accepted(event_id=event_id, type="bench", data=Item(n=i))
        )
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "rh",
                "body": envelope.to_message(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {"event_id": {"stringValue": event_id, "dataType": "String"}},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:bench",
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


def _runtime(spec: IntegrationSpec, **overrides: Any) -> Any:
    """A Runtime for benchmarks: AWS names are placeholders for the fakes, settings are the local ones."""
    from infra.local.runtime import local_settings
    from shared.runtime import Runtime

    fields: dict[str, Any] = {
        "spec": spec,
        "stage": "bench",
        "queue_url": "q",
        "dlq_url": "dlq",
        "table": "t",
        "bus": "b",
        "secret_prefix": "switchboard/bench/",
        "settings_json": local_settings(spec),
    }
    return Runtime(**{**fields, **overrides})


@dataclass
class Worker:
    overhead_ms: float
    aws_calls_per_record: dict[str, float]
    #: Relative spread of the per-record time over the batches.
    noise: float | None = None


def worker_overhead(batches: int) -> Worker:
    from shared.entry import dispatch

    counter = CallCounter()
    install(counter, {})
    spec = _bench_spec("bench_noop", "benchmarks.harness:noop_worker", 10)
    rt = _runtime(spec)
    per_record = []
    with quiet_stdout():
        for _ in range(5):
            dispatch(rt, sqs_batch(spec, 10, "warm"))
        counter.reset()
        for b in range(batches):
            event = sqs_batch(spec, 10, f"b{b}")
            started = time.perf_counter()
            result = dispatch(rt, event)
            per_record.append((time.perf_counter() - started) * 1000 / 10)
            assert result == {"batchItemFailures": []}, result
    calls = {op: n / (batches * 10) for op, n in sorted(counter.calls.items())}
    return Worker(statistics.median(per_record), calls, relative_iqr(per_record))


@dataclass
class Batch:
    ratio: float
    sequential_ratio: float
    max_inflight: int
    cap: int
    #: Relative spread of the ratio over the repeats (each repeat's batch over its single record).
    noise: float | None = None


def _sleep_record(record: Any) -> None:
    """Powertools' sequential processor, with the same 100 ms target per record."""
    time.sleep(TARGET_SECONDS)


def batch_concurrency(repeats: int) -> Batch:
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    from shared.entry import dispatch

    counter = CallCounter()
    install(counter, {})
    cap = 10
    spec = _bench_spec("bench_batch", "benchmarks.harness:slow_target_worker", cap)
    rt = _runtime(spec)
    _INFLIGHT.update(now=0, max=0)
    ours, single, sequential = [], [], []
    with quiet_stdout():
        for r in range(repeats):
            t = time.perf_counter()
            dispatch(rt, sqs_batch(spec, 1, f"s{r}"))
            single.append(time.perf_counter() - t)
            t = time.perf_counter()
            dispatch(rt, sqs_batch(spec, 10, f"c{r}"))
            ours.append(time.perf_counter() - t)

            processor = BatchProcessor(event_type=EventType.SQS)
            event = sqs_batch(spec, 10, f"p{r}")
            t = time.perf_counter()
            process_partial_response(event=event, record_handler=_sleep_record, processor=processor)
            sequential.append(time.perf_counter() - t)
    one = statistics.median(single)
    return Batch(
        statistics.median(ours) / one,
        statistics.median(sequential) / one,
        _INFLIGHT["max"],
        cap,
        relative_iqr([o / s for o, s in zip(ours, single, strict=True)]),
    )


# --- 5. peak memory ---------------------------------------------------------------------------------------------

#: The child reads its own address space's high-water mark (VmHWM), not ``getrusage``'s
#: ``ru_maxrss``: Linux carries the parent's peak into a child started by vfork + exec (subprocess's
#: way since 3.10), so a child of the 260 MB bench process reported 266 MB for a 82 MB batch.
_RSS_CHILD = """
import json, sys
from benchmarks.fakes import CallCounter, install
from benchmarks.harness import quiet_stdout, website_batch
install(CallCounter(), json.loads(sys.argv[1]))
with quiet_stdout():
    website_batch()
with open("/proc/self/status") as status:
    kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(kb / 1024)
"""


def website_batch() -> None:
    """website_to_crm's real worker on a batch of 10 leads; HubSpot is the sandbox, in-process."""
    from sandbox.base import transport_for
    from sandbox.registry import create_sandboxes
    from shared.entry import dispatch
    from shared.envelope import Envelope
    from shared.registry import load_spec

    spec = load_spec("website_to_crm")
    rt = _runtime(spec, http_transport=transport_for(create_sandboxes()))
    from functions.website_to_crm.models import Lead

    records = []
    for i in range(10):
        lead = Lead(
            email=f"lead{i}@example.com",
            first_name=f"Lead{i}",
            message="Hello",
            source="bench",
            submitted_at="2026-11-20T09:00:00Z",
        )  # type: ignore[arg-type]
        env = Envelope.wrap(
            spec.name, "form", Accepted(event_id=f"rss-{i}", type="form.submitted", data=lead)
        )
        records.append(
            {
                "messageId": f"m{i}",
                "receiptHandle": "rh",
                "body": env.to_message(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {"event_id": {"stringValue": f"rss-{i}", "dataType": "String"}},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn",
                "awsRegion": "us-east-1",
            }
        )
    result = dispatch(rt, {"Records": records})
    assert result == {"batchItemFailures": []}, result


def peak_rss_mb() -> float:
    from shared.registry import load_spec

    hubspot = next(c for c in load_spec("website_to_crm").connections if c.app == "hubspot")
    secrets = {
        f"switchboard/bench/{hubspot.name}": json.dumps(
            {"token": "sandbox-hubspot-token", "base_url": "http://sandbox/_sandbox/hubspot"}
        )
    }
    done = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, json.dumps(secrets)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed: {done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])
