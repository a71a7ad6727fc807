"""Switchboard on one machine, in one process: the embedded default behind ``make dev``.

It starts, on 127.0.0.1 only: a moto server (SQS, DynamoDB, Secrets Manager, EventBridge, SES) with
``AWS_ENDPOINT_URL`` pointing at it; the resources the CDK app would create, from the same specs;
the gateway (API Gateway stand-in) that also serves the sandbox SaaS apps; one SQS poller per
integration invoking its handler as Lambda would; and a scheduler for the specs' schedules. Every
handler runs the production code path (``shared.entry.dispatch``) unchanged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared import trace
from shared.entry import dispatch
from shared.ledger import DeadlineContext
from shared.registry import FUNCTIONS_DIR, load_specs
from shared.runtime import Runtime, reset_process_state
from shared.spec import IntegrationSpec

from .aws_process import AwsProcess
from .gateway import Gateway
from .locate import remove_record, write_record
from .poller import Poller
from .resources import LocalResources, create_resources
from .scheduler import Scheduler
from .transport import LocalTransport

if TYPE_CHECKING:
    from .persist import Snapshot

__all__ = ["STATE_FILE", "LocalRuntime", "local_settings", "merged_settings"]

STATE_FILE = Path(".switchboard") / "local.json"
REGION = "us-east-1"


def local_settings(spec: IntegrationSpec, functions_dir: Path = FUNCTIONS_DIR) -> str:
    """``functions/<name>/settings.local.json``: the integration's settings for ``make dev``."""
    path = functions_dir / spec.name / "settings.local.json"
    if not path.exists():
        return "{}"
    text = path.read_text(encoding="utf-8")
    spec.settings.model_validate_json(text)  # fail at start, naming the file, not on the first event
    return text


def merged_settings(
    spec: IntegrationSpec, settings: Mapping[str, Any], overrides: Mapping[str, Any], why: str
) -> dict[str, Any]:
    """``settings`` with ``overrides``' top-level fields laid over them, validated; a bad field is a
    ``ValueError`` naming ``why`` (the file or flag that asked) and pydantic's field path."""
    merged = {**settings, **overrides}
    try:
        spec.settings.model_validate(merged)
    except ValidationError as exc:
        raise ValueError(f"{spec.name} settings with {why}: {exc}") from None
    return merged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRuntime:
    def __init__(
        self,
        *,
        port: int = 8787,
        aws_port: int | None = None,
        stage: str = "local",
        specs: tuple[IntegrationSpec, ...] | None = None,
        retry_scale: float = 0.05,
        visibility_scale: float | None = None,
        http_read_timeout_s: float | None = None,
        invocations: int = 1,
        log_dir: str | None = ".switchboard/logs",
        state_file: Path | None = STATE_FILE,
        pollers: bool = True,
        on_error: Callable[[str, BaseException], None] | None = None,
        aws_process: bool = False,
        restore: Snapshot | None = None,
        settings_overrides: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        from sandbox.registry import create_sandboxes

        self.specs = specs if specs is not None else load_specs()
        self.stage = stage
        self.retry_scale = retry_scale
        #: Queue visibility timeouts are ``6 x function timeout x visibility_scale`` (default: the
        #: retry scale). At ``>= 1/6`` a crashed invocation's messages come back only after its
        #: in-progress records expired (at the function timeout), as on Lambda.
        self.visibility_scale = max(retry_scale, 0.02) if visibility_scale is None else visibility_scale
        #: Caps the API clients' read timeout (see :class:`~infra.local.transport.LocalTransport`).
        self.http_read_timeout_s = http_read_timeout_s
        self.transports: list[LocalTransport] = []
        #: Concurrent invocations per queue, up to each spec's ``max_invocations`` (Lambda's SQS event
        #: source runs at least 2); 1 keeps a demo's trace in order.
        self.invocations = max(1, invocations)
        self._state_file = state_file
        self._state: dict[str, Any] | None = None
        #: A saved state (``switchboard dev --keep``) put back once the resources exist.
        self._restore = restore
        #: integration -> settings fields laid over its ``settings.local.json`` (``switchboard chaos
        #: --setting pos_to_accounting.accounting_app=xero``).
        self.settings_overrides = {k: dict(v) for k, v in (settings_overrides or {}).items()}
        self._working = False
        self._want_pollers = pollers
        self._aws_port = aws_port or _free_port()
        self._log_dir = log_dir
        self.errors: list[tuple[str, BaseException]] = []
        self._on_error = on_error or (lambda name, exc: self.errors.append((name, exc)))
        self.sandboxes = create_sandboxes()
        self.runtimes: dict[str, Runtime] = {}
        self.pollers: list[Poller] = []
        self.gateway = Gateway(
            self.specs, self.dispatch, self.sandboxes, port=port, cors_origins=self._cors_origins
        )
        self._moto: Any = None
        #: moto in a child process (:mod:`infra.local.aws_process`) rather than on a thread: for
        #: chaos and load runs, which are bound by one process's interpreter time.
        self.aws_process: AwsProcess | None = None
        self._want_aws_process = aws_process
        self.resources: LocalResources | None = None
        self.scheduler: Scheduler | None = None
        self._inflight = 0
        self._inflight_lock = threading.Lock()

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.gateway.url

    @property
    def aws_endpoint(self) -> str:
        return f"http://127.0.0.1:{self._aws_port}"

    @property
    def region(self) -> str:
        return REGION

    @property
    def sandbox_url(self) -> str:
        """Where the stand-ins are mounted; the local secrets' base URLs point here."""
        return f"{self.url}/_sandbox"

    def start(self) -> LocalRuntime:
        """Start everything; if a part fails, the moto child process (if any) does not outlive it."""
        try:
            return self._start()
        except BaseException:
            if self.aws_process is not None:
                self.aws_process.stop()
            raise

    def _start(self) -> LocalRuntime:
        from moto.server import ThreadedMotoServer

        from infra.local.emulation import make_dynamodb_atomic

        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.aws_endpoint,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",  # moto's convention; nothing real
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                # EMF lines would bury the trace; the local runtime is not where metrics are read.
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            }
        )
        if self._log_dir:
            os.environ["SWITCHBOARD_LOG_DIR"] = self._log_dir
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's access log would drown the trace
        reset_process_state()
        if self._want_aws_process:
            self.aws_process = AwsProcess(self._aws_port).start()
        else:
            make_dynamodb_atomic()
            self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self._aws_port, verbose=False)
            self._moto.start()
        # moto keeps its state per process, not per server: start from an empty AWS every time.
        import httpx

        httpx.post(f"{self.aws_endpoint}/moto-api/reset", timeout=10).raise_for_status()
        import boto3

        session = boto3.session.Session(region_name=REGION)
        settings = {spec.name: self._settings_with_own_origin(spec) for spec in self.specs}
        self.resources = create_resources(
            self.specs,
            session,
            stage=self.stage,
            sandbox_url=self.sandbox_url,
            visibility_scale=self.visibility_scale,
            settings=settings,
        )
        if self._restore is not None:
            from .persist import restore

            restore(self._restore, self)  # before anything reads a secret or a stand-in
        sqs = session.client("sqs")
        for spec in self.specs:
            queue_url, dlq_url = self.resources.queue_urls(spec.name)
            self.runtimes[spec.name] = Runtime(
                spec=spec,
                stage=self.stage,
                queue_url=queue_url,
                dlq_url=dlq_url,
                table=self.resources.table,
                bus=self.resources.bus,
                secret_prefix=self.resources.secret_prefix,
                parameter_prefix=self.resources.parameter_prefix,
                settings_json=settings[spec.name],
                secret_max_age_s=2,
                retry_scale=self.retry_scale,
                http_transport=self._transport(),
            )
            if self._want_pollers and queue_url is not None:
                arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                    "QueueArn"
                ]
                self.pollers.extend(
                    Poller(
                        spec.name,
                        sqs,
                        queue_url,
                        arn,
                        spec.batch_size,
                        self._invoke_worker,
                        region=REGION,
                        on_error=self._on_error,
                    )
                    for _ in range(min(self.invocations, spec.max_invocations))
                )
        self.scheduler = Scheduler(self.specs, self.send_to_queue, lambda: datetime.now(UTC))
        self.gateway.start()
        self._working = True
        self._subscribe_senders()
        for poller in self.pollers:
            poller.start()
        self.scheduler.start()
        self._write_state()
        return self

    def stop_work(self) -> None:
        """Stop what changes state (scheduler, pollers, gateway) and leave the embedded AWS up: a
        clean stop reads the state from it (:mod:`infra.local.persist`). :meth:`stop` does the rest."""
        if self.scheduler:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        if self._working:
            self._working = False
            self.gateway.stop()

    def stop(self) -> None:
        try:
            self.stop_work()
            for transport in self.transports:
                transport.shutdown()
            if self._moto is not None:
                self._moto.stop()
        finally:
            if self.aws_process is not None:
                self.aws_process.stop()  # a child process outlives a failed stop otherwise
            if self._state_file and self._state is not None:
                remove_record(self._state_file, self._state)

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _transport(self) -> LocalTransport:
        """An integration's outbound HTTP: httpx's transport, plus crash faults (see its module)."""
        transport = LocalTransport(read_timeout_s=self.http_read_timeout_s)
        self.transports.append(transport)
        return transport

    @property
    def crashes(self) -> int:
        """Invocations that crashed on a sandbox ``crash`` fault (their batches come back later)."""
        return sum(p.crashes for p in self.pollers)

    # --- invoking ---------------------------------------------------------------------------------

    def dispatch(self, integration: str, event: dict[str, Any]) -> dict[str, Any]:
        rt = self.runtimes[integration]
        return dispatch(
            rt, event, DeadlineContext(rt.spec.timeout_s, f"switchboard-{self.stage}-{integration}")
        )

    def _invoke_worker(self, integration: str, event: dict[str, Any]) -> dict[str, Any]:
        with self._inflight_lock:
            self._inflight += 1
        try:
            return self.dispatch(integration, event)
        finally:
            with self._inflight_lock:
                self._inflight -= 1

    def send_to_queue(self, integration: str, body: str) -> None:
        rt = self.runtimes[integration]
        rt.aws("sqs").send_message(QueueUrl=rt.queue_url, MessageBody=body)
        trace.record(integration, None, "scheduled", body=body)

    def _settings_with_own_origin(self, spec: IntegrationSpec) -> str:
        """Local settings (with the run's overrides), the gateway's own origin allowed (a test page
        served on any port)."""
        settings = json.loads(local_settings(spec))
        overrides = self.settings_overrides.get(spec.name)
        if overrides:
            settings = merged_settings(spec, settings, overrides, "the run's settings overrides")
        if "allowed_origins" in spec.settings.model_fields:
            port = self.url.rsplit(":", 1)[1]
            own = [self.url, f"http://localhost:{port}"]
            settings["allowed_origins"] = [*settings.get("allowed_origins", []), *own]
        return json.dumps(settings)

    @contextlib.contextmanager
    def settings_overridden(self, integration: str, overrides: Mapping[str, Any], why: str) -> Iterator[None]:
        """``integration``'s settings with ``overrides`` laid over them while the block runs (a sample
        that says ``"settings": {"accounting_app": "xero"}``); the caller waits for the queues to drain
        around it, so no other event is processed under them."""
        rt = self.runtimes[integration]
        saved = rt.settings_json
        rt.settings_json = json.dumps(merged_settings(rt.spec, json.loads(saved), overrides, why))
        rt.__dict__.pop("settings", None)  # the cached, validated settings
        try:
            yield
        finally:
            rt.settings_json = saved
            rt.__dict__.pop("settings", None)

    def signing_secret(self, spec: IntegrationSpec, trigger_name: str) -> str | None:
        """The current signing secret of a webhook trigger, as a provider would hold it."""
        from shared.secrets import signing_secrets
        from shared.spec import WebhookTrigger

        trigger = spec.trigger(trigger_name)
        if not isinstance(trigger, WebhookTrigger):
            return None
        return signing_secrets(self.runtimes[spec.name], trigger.secret)[0]

    def _subscribe_senders(self) -> None:
        """Point each sandbox that sends webhooks (Square, Stripe, Calendly ...) at its triggers.

        A trigger belongs to a sandbox when its signing connection is that app's: the sandbox then
        signs with the same local secret the trigger verifies with, as the provider would after the
        webhook subscription was set up in its dashboard.
        """
        from shared.spec import WebhookTrigger

        for spec in self.specs:
            for trigger in spec.triggers:
                if not isinstance(trigger, WebhookTrigger):
                    continue
                sandbox = self.sandboxes.get(trigger.secret.app)
                if sandbox is None or sandbox.webhooks is None:
                    continue
                secret = self.signing_secret(spec, trigger.name)
                if secret:
                    with sandbox.lock:
                        sandbox.webhooks.subscribe(
                            self.url + trigger.path, secret, events=trigger.events or None
                        )

    def _cors_origins(self, integration: str) -> tuple[str, ...]:
        settings = self.runtimes[integration].settings
        return tuple(getattr(settings, "allowed_origins", ()) or ())

    # --- observing --------------------------------------------------------------------------------

    def queue_depths(self) -> dict[str, tuple[int, int]]:
        """integration -> (messages in its queue incl. in flight, messages in its DLQ), for every
        integration that has a queue (a route-only one has none)."""
        depths = {}
        for name, rt in self.runtimes.items():
            if rt.dlq_url is None:
                continue
            d = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.dlq_url, AttributeNames=["All"])["Attributes"]
            depths[name] = (_in_queue(rt), int(d["ApproximateNumberOfMessages"]))
        return depths

    def queued(self) -> dict[str, int]:
        """integration -> messages in its queue, visible, in flight or delayed (DLQs not read).

        One ``GetQueueAttributes`` per queue that triggers feed: moto counts by scanning the queue,
        so callers that poll (drain waits, the chaos monitor) ask no more than they need.
        """
        return {name: _in_queue(rt) for name, rt in self.runtimes.items() if rt.spec.queued_triggers}

    def wait_drained(self, timeout_s: float = 60.0, settle_s: float = 0.5, poll_s: float = 0.1) -> bool:
        """True once every queue is empty (nothing visible, in flight or delayed) and stays so."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            idle = self._inflight == 0 and not any(self.queued().values())
            if idle:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle_s:
                    return True
            else:
                quiet_since = None
            time.sleep(poll_s)
        return False

    def _write_state(self) -> None:
        """Record the running runtime for the ``switchboard`` commands (see :mod:`infra.local.locate`)."""
        if not self._state_file or self.resources is None:
            return
        self._state_file = self._state_file.absolute()
        self._state = {
            "pid": os.getpid(),
            "gateway": self.url,
            "aws_endpoint": self.aws_endpoint,
            "region": REGION,
            "stage": self.stage,
            "secret_prefix": self.resources.secret_prefix,
            "parameter_prefix": self.resources.parameter_prefix,
            "project": str(Path.cwd()),
            "state_file": str(self._state_file),
            "log_dir": str(Path(self._log_dir).absolute()) if self._log_dir else None,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_record(self._state_file, self._state)


def _in_queue(rt: Runtime) -> int:
    """Messages in ``rt``'s queue: visible, in flight or delayed."""
    q = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["All"])["Attributes"]
    return (
        int(q["ApproximateNumberOfMessages"])
        + int(q["ApproximateNumberOfMessagesNotVisible"])
        + int(q.get("ApproximateNumberOfMessagesDelayed", 0))
    )
