"""Helpers every integration's tests share: run the worker like the Lambda event source, read the DLQ."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from infra.local.gateway import api_gateway_event
from infra.local.poller import Poller
from infra.local.samples import Sample, build_request
from shared import store
from shared.entry import dispatch
from shared.runtime import Runtime
from shared.secrets import signing_secrets, stored_name
from shared.spec import Connection, WebhookTrigger

REGION = "us-east-1"
REPO = Path(__file__).resolve().parents[1]
HOST = "hooks.example.test"


def store_value(rt: Runtime, connection: Connection, value: dict[str, Any] | str) -> None:
    """Write ``connection``'s value where the runtime reads it (its store), leaving caches alone."""
    import json

    text = value if isinstance(value, str) else json.dumps(value)
    store.write_value(rt.aws(store.service(connection)), connection, stored_name(rt, connection), text)


def delete_value(rt: Runtime, connection: Connection) -> None:
    """Remove ``connection``'s value from its store (the secret, or the parameter)."""
    name = stored_name(rt, connection)
    if store.store_of(connection) == "ssm":
        rt.aws("ssm").delete_parameter(Name=name)
    else:
        rt.aws("secretsmanager").delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def send_sample(rt: Runtime, sample: Sample, *, host: str = HOST) -> dict[str, Any]:
    """Deliver an HTTP sample through the production handler as API Gateway would, signed if it signs."""
    trigger = rt.spec.trigger(sample.trigger)
    secret = signing_secrets(rt, trigger.secret)[0] if isinstance(trigger, WebhookTrigger) else None
    url, headers, body = build_request(rt.spec, sample, f"https://{host}", secret)
    path = url.removeprefix(f"https://{host}")
    event = api_gateway_event(
        method="POST",
        path=path,
        query="",
        headers={**headers, "host": host},
        body=body,
        route_key=f"POST {path}",
    )
    return dispatch(rt, event)


def poller(rt: Runtime) -> Poller:
    """The local runtime's SQS poller for ``rt``, invoking the production handler; errors raise."""
    sqs = rt.aws("sqs")
    assert rt.queue_url is not None, f"{rt.name} has no queue (a route-only integration)"
    arn = sqs.get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]

    def fail(_name: str, exc: BaseException) -> None:
        raise exc

    return Poller(
        rt.name,
        sqs,
        rt.queue_url,
        arn,
        rt.spec.batch_size,
        lambda _n, ev: dispatch(rt, ev),
        region=REGION,
        on_error=fail,
    )


def drain(rt: Runtime, *, timeout_s: float = 30.0) -> None:
    """Run the worker until the queue is empty, waiting out back-off visibility (SQS does the waiting)."""
    sqs = rt.aws("sqs")
    worker = poller(rt)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if worker.poll_once() == 0:
            attrs = sqs.get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["All"])["Attributes"]
            if (
                attrs["ApproximateNumberOfMessages"] == "0"
                and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
            ):
                return
            time.sleep(0.05)  # a retried message is invisible until its back-off ends
    raise AssertionError("queue did not drain")


def dlq_messages(rt: Runtime) -> list[dict[str, Any]]:
    out = rt.aws("sqs").receive_message(
        QueueUrl=rt.dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
    )
    return list(out.get("Messages", []))


def cli(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``switchboard <args>`` in a fresh process in ``cwd`` (where ``.switchboard/local.json`` is).

    AWS settings are left out of its environment: the command must find the local runtime from the
    state file, as a developer's shell would.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python_child(
    code: str, *args: str, env: dict[str, str], cwd: Path | str = REPO, timeout: float = 60
) -> Any:
    """Run ``code`` in a fresh interpreter; what its last line printed, as JSON.

    For what only a new process shows: a cold start's imports, the collector's state, module-level
    caches. A child that fails fails the test with the end of its stderr.
    """
    import json

    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class ShortReads(httpx.BaseTransport):
    """The sandboxes' transport with the clients' read timeout cut short, as the chaos harness does.

    A late answer (a ``slow`` fault served first) then costs a fraction of a second instead of the
    app's read timeout; what a timeout means is unchanged: the target acted, the worker gave up.
    """

    def __init__(self, inner: httpx.BaseTransport, read_s: float) -> None:
        self._inner = inner
        self._read_s = read_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.extensions["timeout"] = {**(request.extensions.get("timeout") or {}), "read": self._read_s}
        return self._inner.handle_request(request)
