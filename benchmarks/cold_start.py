"""Cold start: a fresh process answering a signed webhook with 202, against the hand-written baseline.

The moto world it builds (every spec's resources on a moto server, a signed sample per webhook) is
also how the test of the ingress path's imports runs each integration as Lambda would.
"""

from __future__ import annotations

import contextlib
import json
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

__all__ = ["ColdStart", "IngressChild", "IngressWorld", "cold_starts", "ingress_world"]

_SWITCHBOARD_CHILD = (
    "import json, sys\n"
    "event = json.load(open(sys.argv[1]))\n"
    "from shared.entry import handler\n"
    "result = handler(event, None)\n"
    "assert result['statusCode'] == int(sys.argv[2]), result\n"
)
_BASELINE_CHILD = (
    "import json, sys\n"
    "event = json.load(open(sys.argv[1]))\n"
    "from benchmarks.baseline_handler import handler\n"
    "result = handler(event, None)\n"
    "assert result['statusCode'] == int(sys.argv[2]), result\n"
)


@dataclass
class ColdStart:
    integration: str
    median_ms: float
    baseline_ms: float

    @property
    def ratio(self) -> float:
        return self.median_ms / self.baseline_ms


@dataclass(frozen=True)
class IngressChild:
    """One integration's ingress as Lambda would run it in a fresh process: env and a signed event."""

    spec: IntegrationSpec
    env: dict[str, str]
    make_event: Callable[[], dict[str, Any]]
    #: The status the ingress answers a delivery taken with (the trigger's ``accepted_status``).
    accepted: int = 202


@dataclass(frozen=True)
class IngressWorld:
    baseline_env: dict[str, str]
    children: list[IngressChild]


@contextlib.contextmanager
def ingress_world(*, per_trigger: bool = False) -> Iterator[IngressWorld]:
    """A moto server with every spec's resources, and per webhook integration what a fresh
    process needs to answer a signed sample as taken - 202, or its trigger's ``accepted_status`` (the
    cold-start benchmark, and the test that the ingress path imports no app client or API model)."""
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
                sandbox_url="http://127.0.0.1:9/_sandbox",
                visibility_scale=1,
                settings=settings,
            )
            session.client("secretsmanager", endpoint_url=endpoint).create_secret(
                Name="bench/baseline", SecretString=json.dumps({"secret": BASELINE_SECRET})
            )
            secrets = session.client("secretsmanager", endpoint_url=endpoint)

            def secret_of(name: str) -> str:
                return str(
                    json.loads(secrets.get_secret_value(SecretId=res.secret_prefix + name)["SecretString"])[
                        "secret"
                    ]
                )

            baseline_env = {
                **env,
                "BASELINE_SECRET_ID": "bench/baseline",
                "SWITCHBOARD_QUEUE_URL": res.queues[specs[0].name][0],
            }
            children = []
            for spec, sample in webhook_samples(per_trigger=per_trigger):
                trigger = spec.trigger(sample.trigger)
                assert isinstance(trigger, WebhookTrigger)
                secret = secret_of(trigger.secret.name)
                queue_url, dlq_url = res.queues[spec.name]
                child_env = {
                    **env,
                    "SWITCHBOARD_INTEGRATION": spec.name,
                    "SWITCHBOARD_STAGE": "bench",
                    "SWITCHBOARD_QUEUE_URL": queue_url,
                    "SWITCHBOARD_DLQ_URL": dlq_url,
                    "SWITCHBOARD_TABLE": res.table,
                    "SWITCHBOARD_BUS": res.bus,
                    "SWITCHBOARD_SECRET_PREFIX": res.secret_prefix,
                    "SWITCHBOARD_SETTINGS": settings[spec.name],
                    "POWERTOOLS_SERVICE_NAME": spec.name,
                    "POWERTOOLS_METRICS_NAMESPACE": "Switchboard",
                }
                children.append(
                    IngressChild(
                        spec,
                        child_env,
                        lambda spec=spec, sample=sample, secret=secret: signed_event(spec, sample, secret),
                        trigger.accepted_status,
                    )
                )
            yield IngressWorld(baseline_env, children)
    finally:
        server.stop()


def cold_starts(runs: int) -> list[ColdStart]:
    """Fresh process -> 202, against the baseline, with SQS and Secrets Manager on a moto server."""
    with ingress_world() as world:
        baseline = _median_run(_BASELINE_CHILD, baseline_event, world.baseline_env, runs)
        return [
            ColdStart(
                child.spec.name,
                _median_run(_SWITCHBOARD_CHILD, child.make_event, child.env, runs, child.accepted),
                baseline,
            )
            for child in world.children
        ]


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


def _median_run(
    code: str, make_event: Callable[[], dict[str, Any]], env: dict[str, str], runs: int, accepted: int = 202
) -> float:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "event.json"
        for _ in range(runs):
            path.write_text(json.dumps(make_event()))
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", code, str(path), str(accepted)],
                env=env,
                cwd=tmp,
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"cold-start child failed: {done.stderr[-2000:]}")
            times.append(elapsed * 1000)
    return statistics.median(times)
