"""A crash ends the whole invocation, as a Lambda timeout does - not only the record that hit it.

Three leads in one batch of website_to_crm, on the local runtime (moto, the HubSpot stand-in, the real
worker path). The HubSpot stand-in holds the first requests of leads 1 and 2 until lead 0's first
request has answered with a crash mark; then it lets them through (HubSpot acts: the contacts are
created). The invocation is over by then, so neither answer may be used: leads 1 and 2 must not
carry on to their later steps in the dead invocation. All three messages come back after their
visibility timeout (nothing acknowledged, nothing reported as a failed item) and are processed then
- each exactly once, with one contact (owner and lifecycle stage set) and one note.

Before crashes ended the invocation, leads 1 and 2 finished in the crashed invocation (their steps
recorded, their events completed) and their second delivery was only a duplicate.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from apps.hubspot.chaos import effects_seen
from infra.local.delivery import post_status, signed_request
from infra.local.poller import Poller
from infra.local.runtime import LocalRuntime
from infra.ops.chaos import ChaosConfig, ChaosRun, Planned
from infra.ops.chaos.discovery import factory
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse
from shared import trace
from shared.registry import load_spec
from shared.spec import WebhookTrigger

pytestmark = pytest.mark.e2e

SEED = 4242
#: The function timeout of this test's website_to_crm: how long a crashed invocation's in-progress
#: records last, and (at visibility scale 1/6) the queue's visibility timeout.
TIMEOUT_S = 4
#: Bounds every wait of the test (a hung gate or a batch that never comes back fails it).
WAIT_S = 60.0


class Gate:
    """Holds the first HubSpot request of the held leads until the crashing lead's request is in."""

    def __init__(self, app: SandboxApp, crashing: str, held: tuple[str, ...]) -> None:
        self._handle = app.handle
        self.crashing, self.held = crashing, held
        self.arrived = {email: threading.Event() for email in held}
        self.release = threading.Event()
        self.served: list[str] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, req: SandboxRequest, *, read_timeout: float | None = None) -> SandboxResponse:
        body = req.body.decode("utf-8", "replace")
        email = next((e for e in (self.crashing, *self.held) if e in body), None)
        with self._lock:
            first = email is not None and email not in self._seen
            if first and email is not None:
                self._seen.add(email)
        if first and email in self.arrived:
            self.arrived[email].set()
            assert self.release.wait(WAIT_S), "the gate was never released"
        elif first and email == self.crashing:
            for event in self.arrived.values():
                assert event.wait(WAIT_S), "the held leads never reached HubSpot in the same batch"
        answer = self._handle(req, read_timeout=read_timeout)
        if first and email in self.arrived:
            with self._lock:
                self.served.append(email)
        return answer


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    spec = dataclasses.replace(load_spec("website_to_crm"), timeout_s=TIMEOUT_S)
    rt = LocalRuntime(
        port=0,
        specs=(spec,),
        pollers=False,
        retry_scale=0.02,
        visibility_scale=1 / 6,  # visibility = the function timeout, as a crashed batch needs
        log_dir=str(tmp_path / "logs"),
        state_file=None,
    )
    with rt:
        yield rt


def test_a_crash_in_one_record_ends_the_batch_and_every_record_comes_back(runtime: LocalRuntime) -> None:
    made = factory("website_to_crm", "webhook")
    run = ChaosRun(runtime, ChaosConfig(events=0, seed=SEED, faults={}), io.StringIO())
    leads = [Planned(i, SEED, made, poison=False) for i in range(3)]
    emails = [f"chaos-{p.key.lower()}@" for p in leads]
    spec = runtime.runtimes["website_to_crm"].spec
    trigger = spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    secret = runtime.signing_secret(spec, "webhook") or ""
    ids = []
    for p in leads:
        out = made.build(run, p)
        request = signed_request(
            trigger, runtime.url, out.body, secret, headers=out.headers, msg_id=out.event_id
        )
        assert post_status(request, run.http) == 202
        ids.append(out.event_id)

    hubspot = runtime.sandboxes["hubspot"]
    crash = {"kind": "crash", "count": 1, "body_contains": emails[0]}
    run.http.post(f"{runtime.url}/_sandbox/hubspot/_faults", json=[crash]).raise_for_status()
    gate = Gate(hubspot, emails[0], tuple(emails[1:]))
    hubspot.handle = gate  # type: ignore[method-assign]
    stages: dict[str, list[tuple[str, Any]]] = {e: [] for e in ids}

    def sink(entry: dict[str, Any]) -> None:
        if entry.get("event_id") in stages:
            stages[entry["event_id"]].append((str(entry["stage"]), entry.get("attempt")))

    trace.add_sink(sink)
    try:
        queue_url = runtime.runtimes["website_to_crm"].queue_url
        assert queue_url is not None
        sqs = boto3.client("sqs", endpoint_url=runtime.aws_endpoint, region_name="us-east-1")
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        errors: list[BaseException] = []
        poller = Poller(
            "website_to_crm",
            sqs,
            queue_url,
            arn,
            10,
            runtime.dispatch,
            region="us-east-1",
            on_error=lambda _n, e: errors.append(e),
        )
        assert poller.poll_once() == 3  # one batch of the three leads
        assert poller.crashes == 1 and errors == []
        gate.release.set()  # HubSpot now acts on the held requests; their invocation is gone
        deadline = time.monotonic() + WAIT_S
        while not all(any(s == "processed" for s, _ in stages[e]) for e in ids):
            assert time.monotonic() < deadline, stages
            poller.poll_once(wait_s=1)
        assert errors == []
    finally:
        trace.remove_sink(sink)

    assert sorted(gate.served) == sorted(emails[1:])  # the held requests did reach HubSpot
    for event_id in ids:
        seen = stages[event_id]
        # Processed once, on a later delivery: the crashed invocation neither finished nor
        # acknowledged any of the three, and none was a mere duplicate when it came back.
        assert [s for s, _ in seen].count("processed") == 1, seen
        assert "duplicate" not in [s for s, _ in seen], seen
        attempts = [a for s, a in seen if s == "processing"]
        assert attempts[0] == 1 and max(attempts) >= 2, seen
    # The held leads stopped at their first call in the crashed invocation: nothing after it ran.
    for event_id in ids[1:]:
        names = [s for s, _ in stages[event_id]]
        retried_at = names.index("processing", 1)
        assert names[:retried_at] == ["processing"], stages[event_id]
    effects = effects_seen(run)
    for p in leads:
        for kind in ("hubspot.contact", "hubspot.qualified", "hubspot.note"):
            assert effects[(kind, p.key)] == 1, (kind, p.key, effects)
    assert sum(effects.values()) == 9, Counter(k for k, _ in effects.elements())
