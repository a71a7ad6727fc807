"""Cold start: a fresh process answering a request, against the hand-written baseline.

Every integration reached over HTTP is measured: a signed webhook sample where it has one (answered
202, or the trigger's ``accepted_status``), else its first form or route sample that stands alone (a
route may be a refusal where no sample that succeeds stands alone, as for ``mcp``). Integrations
reached only through their queue (a bus event, a schedule) answer no request; their cold start is
the worker's imports, measured with the cost figures (:func:`benchmarks.cost.cold_import_runs`).

The moto world it builds (every spec's resources on a moto server, a signed sample per webhook) is
also how the test of the ingress path's imports runs each integration as Lambda would.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.spec import IntegrationSpec, WebhookTrigger

from .harness import BASELINE_SECRET, REPO, baseline_event, signed_event, webhook_samples
from .noise import combined, relative_iqr

__all__ = ["ColdStart", "IngressChild", "IngressWorld", "cold_starts", "ingress_world"]

#: What a child prints, on a line of its own, the moment its handler has answered. The clock stops
#: there: on Lambda the caller has its answer when the handler returns, and the process is frozen for
#: the next request - never torn down on the request's time. Interpreter teardown (module cleanup and
#: the final garbage collections, 50-150 ms for a process that imported boto3) is no part of a cold
#: start, and timing to the process's exit counted it, the bigger the heap the more.
ANSWERED = "\x1ecold-start-answered"

_SWITCHBOARD_CHILD = (
    "import json, sys\n"
    "event = json.load(open(sys.argv[1]))\n"
    "from shared.entry import handler\n"
    "result = handler(event, None)\n"
    f"print({ANSWERED!r}, result['statusCode'], flush=True)\n"
    "assert result['statusCode'] == int(sys.argv[2]), result\n"
)
_BASELINE_CHILD = (
    "import json, sys\n"
    "event = json.load(open(sys.argv[1]))\n"
    "from benchmarks.baseline_handler import handler\n"
    "result = handler(event, None)\n"
    f"print({ANSWERED!r}, result['statusCode'], flush=True)\n"
    "assert result['statusCode'] == int(sys.argv[2]), result\n"
)


@dataclass
class ColdStart:
    integration: str
    #: Wall time of each fresh process, request to answer (ms).
    runs_ms: list[float]
    baseline_runs_ms: list[float]
    #: What the process answered, and to what: ``202 to a webhook``.
    answer: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    @property
    def baseline_ms(self) -> float:
        return statistics.median(self.baseline_runs_ms)

    @property
    def ratio(self) -> float:
        return self.median_ms / self.baseline_ms

    @property
    def noise(self) -> float | None:
        """The ratio's: both sides' spreads over their runs, in quadrature."""
        return combined(relative_iqr(self.runs_ms), relative_iqr(self.baseline_runs_ms))


@dataclass(frozen=True)
class IngressChild:
    """One integration's ingress as Lambda would run it in a fresh process: env and a signed event."""

    spec: IntegrationSpec
    env: dict[str, str]
    make_event: Callable[[], dict[str, Any]]
    #: The status the ingress answers a delivery taken with (the trigger's ``accepted_status``), or
    #: the status a form or route sample expects.
    accepted: int = 202
    #: The kind of request: ``webhook``, ``form`` or ``route``.
    kind: str = "webhook"


@dataclass(frozen=True)
class IngressWorld:
    baseline_env: dict[str, str]
    children: list[IngressChild]


@contextlib.contextmanager
def ingress_world(*, per_trigger: bool = False, every_http: bool = False) -> Iterator[IngressWorld]:
    """A moto server with every spec's resources, and per webhook integration what a fresh
    process needs to answer a signed sample as taken - 202, or its trigger's ``accepted_status`` (the
    cold-start benchmark, and the test that the ingress path imports no app client or API model).

    ``every_http`` adds, for each integration with no such webhook sample, its first form or route
    sample that stands alone, and serves the sandbox apps over HTTP so that a route can call its
    targets as it would in production."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from infra.local.resources import create_resources
    from infra.local.runtime import _free_port, local_settings
    from shared.registry import load_specs

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stack = contextlib.ExitStack()
    endpoint = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    try:
        sandbox_url = stack.enter_context(_sandbox_server()) if every_http else "http://127.0.0.1:9/_sandbox"
        session = boto3.session.Session(
            region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        specs = load_specs()
        settings = {s.name: local_settings(s) for s in specs}
        with _endpoint(endpoint):
            res = create_resources(
                specs,
                session,
                stage="bench",
                sandbox_url=sandbox_url,
                visibility_scale=1,
                settings=settings,
            )
            session.client("secretsmanager", endpoint_url=endpoint).create_secret(
                Name="bench/baseline", SecretString=json.dumps({"secret": BASELINE_SECRET})
            )
            parameters = session.client("ssm", endpoint_url=endpoint)

            def secret_of(name: str) -> str:
                """A webhook's signing secret: an SSM parameter (:mod:`shared.store`)."""
                found = parameters.get_parameter(Name=res.parameter_prefix + name, WithDecryption=True)
                return str(json.loads(found["Parameter"]["Value"])["secret"])

            baseline_env = {
                **env,
                "BASELINE_SECRET_ID": "bench/baseline",
                "SWITCHBOARD_QUEUE_URL": res.queues[specs[0].name][0],
            }

            def child_env(spec: IntegrationSpec) -> dict[str, str]:
                queues = {}
                if spec.name in res.queues:  # a route-only integration has none, as deployed
                    queue_url, dlq_url = res.queues[spec.name]
                    queues = {"SWITCHBOARD_QUEUE_URL": queue_url, "SWITCHBOARD_DLQ_URL": dlq_url}
                return {
                    **env,
                    "SWITCHBOARD_INTEGRATION": spec.name,
                    "SWITCHBOARD_STAGE": "bench",
                    **queues,
                    "SWITCHBOARD_TABLE": res.table,
                    "SWITCHBOARD_BUS": res.bus,
                    "SWITCHBOARD_SECRET_PREFIX": res.secret_prefix,
                    "SWITCHBOARD_SETTINGS": settings[spec.name],
                    "POWERTOOLS_SERVICE_NAME": spec.name,
                    "POWERTOOLS_METRICS_NAMESPACE": "Switchboard",
                }

            children = []
            for spec, sample in webhook_samples(per_trigger=per_trigger):
                trigger = spec.trigger(sample.trigger)
                assert isinstance(trigger, WebhookTrigger)
                secret = secret_of(trigger.secret.name)
                children.append(
                    IngressChild(
                        spec,
                        child_env(spec),
                        functools.partial(signed_event, spec, sample, secret),
                        trigger.accepted_status,
                    )
                )
            if every_http:
                covered = {c.spec.name for c in children}
                for spec in specs:
                    if spec.name not in covered and (child := _http_child(spec, child_env(spec))):
                        children.append(child)
                children.sort(key=lambda c: c.spec.name)
            yield IngressWorld(baseline_env, children)
    finally:
        stack.close()
        server.stop()


def _http_child(spec: IntegrationSpec, env: dict[str, str]) -> IngressChild | None:
    """``spec``'s first form or route sample that stands alone, as a fresh process's request; ``None``
    for an integration reached only through its queue."""
    from .cost import http_event, pick_samples

    if not spec.http_triggers:
        return None
    samples, _ = pick_samples(spec)
    for sample in samples:
        trigger = spec.trigger(sample.trigger)
        if trigger not in spec.http_triggers:
            continue
        return IngressChild(
            spec,
            env,
            functools.partial(http_event, spec, sample, 0),
            sample.expect_status,
            type(trigger).__name__.removesuffix("Trigger").lower(),
        )
    return None


@contextlib.contextmanager
def _sandbox_server() -> Iterator[str]:
    """The sandbox apps over HTTP on a free local port, as ``make dev``'s gateway serves them; yields
    the base URL the connections' secrets point at."""
    from infra.local.gateway import Gateway
    from infra.local.runtime import _free_port
    from sandbox.registry import create_sandboxes

    def no_routes(name: str, event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError(f"the bench's sandbox server serves no integration ({name})")

    gateway = Gateway((), no_routes, create_sandboxes(), port=_free_port(), cors_origins=lambda _: ())
    gateway.start()
    try:
        yield f"{gateway.url}/_sandbox"
    finally:
        gateway.stop()


def cold_starts(runs: int) -> list[ColdStart]:
    """Fresh process -> its answer, for every integration reached over HTTP, against the baseline,
    with SQS, DynamoDB and Secrets Manager on a moto server and the target apps' sandboxes served
    locally. The baseline's runs and each integration's alternate, so that a neighbour's load falls
    on both sides alike."""
    compile_sources()
    with ingress_world(every_http=True) as world:
        baseline: list[float] = []
        found = []
        per_child = max(1, math.ceil(runs / max(1, len(world.children))))
        for child in world.children:
            baseline += _run_times(_BASELINE_CHILD, baseline_event, world.baseline_env, per_child)
            times = _run_times(_SWITCHBOARD_CHILD, child.make_event, child.env, runs, child.accepted)
            found.append((child, times))
        return [
            ColdStart(child.spec.name, times, baseline, f"{child.accepted} to a {child.kind}")
            for child, times in found
        ]


#: The packages a cold-start child imports from the repository.
SOURCES = ("shared", "functions", "apps", "benchmarks")


def compile_sources(root: Path = REPO) -> None:
    """Bring the repository's bytecode caches up to date before timing fresh processes.

    The children run with ``PYTHONDONTWRITEBYTECODE``, so a module edited since its cache was written
    is compiled again in every child: a figure would then depend on which files someone edited last
    (a few ms each), not on what a cold start does. Both sides load the same kind of bytecode.
    """
    import compileall

    for package in SOURCES:
        compileall.compile_dir(str(root / package), quiet=2, workers=1)


@contextlib.contextmanager
def _endpoint(url: str) -> Iterator[None]:
    old = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = url
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("AWS_ENDPOINT_URL", None)
        else:
            os.environ["AWS_ENDPOINT_URL"] = old


def _run_times(
    code: str, make_event: Callable[[], dict[str, Any]], env: dict[str, str], runs: int, accepted: int = 202
) -> list[float]:
    """Wall time (ms) of ``runs`` fresh processes, each answering a new event with ``accepted``: from
    the process's start to its handler's answer (:data:`ANSWERED`), interpreter start-up included and
    teardown not."""
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.json"
        for _ in range(runs):
            path.write_text(json.dumps(make_event()))
            elapsed, done = _answer_time(
                [sys.executable, "-c", code, str(path), str(accepted)], env, Path(tmp)
            )
            if done.returncode != 0:
                raise RuntimeError(f"cold-start child failed: {done.stderr[-2000:]}")
            times.append(elapsed * 1000)
    return times


def _answer_time(
    argv: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Seconds from starting ``argv`` to its :data:`ANSWERED` line, and the finished process.

    The child's log lines go to stdout before its answer, so stdout is read line by line; stderr goes
    to a file, so that a chatty child can never fill a pipe nobody reads yet.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True)
        assert proc.stdout is not None
        answered_at = None
        lines = []
        for line in proc.stdout:
            if answered_at is None and line.startswith(ANSWERED):
                answered_at = time.perf_counter()
            lines.append(line)
        proc.wait()
        err.seek(0)
        stderr = err.read()
    if answered_at is None and proc.returncode == 0:
        proc.returncode = 1
        stderr += "\nthe child exited without printing its answer"
    done = subprocess.CompletedProcess(argv, proc.returncode, "".join(lines), stderr)
    return (answered_at or time.perf_counter()) - started, done
