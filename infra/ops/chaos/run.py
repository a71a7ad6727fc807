"""The run: start a runtime, prepare, make the stand-ins flaky, send, drain, redrive, judge.

Every wait is bounded (``drain_timeout_s``); the providers slow down while the work queues hold
more than ``backlog`` messages, as the monitor thread reads them every second.

Time is compressed (``ChaosConfig.scale``): the runtime's back-offs and the outages last that share
of their real length, and the report says so. Besides the OAuth apps' access tokens, the apps that keep
idempotency keys forget them every ``key_expiry_s`` (those older than the lag), and with ``--lag`` every
stand-in's list and search reads trail its writes by that many wall seconds; the report states both. A run with outages (``--outage``) presses no redrive:
a dead letter other than poison fails it, since waiting out an outage must need nobody.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from io import StringIO
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from infra.local.delivery import post_status, signed_request
from infra.ops.chaos.config import CLIENT_TIMEOUT_S, ChaosConfig
from infra.ops.chaos.discovery import app_hooks, factories, sequences
from infra.ops.chaos.faults import set_faults
from infra.ops.chaos.judge import judge
from infra.ops.chaos.outage import Outages, WaitLog
from infra.ops.chaos.plan import Delivery, plan
from infra.ops.chaos.protocol import AppChaos, EventFactory, Planned
from infra.ops.chaos.report import ChaosReport
from infra.ops.chaos.state import ChaosRun, Progress
from infra.ops.target import CliError, Target
from sandbox import limits
from shared import trace
from shared.spec import WebhookTrigger

if TYPE_CHECKING:
    from shared.spec import IntegrationSpec

__all__ = [
    "configured",
    "deliver",
    "dlq_letters",
    "expire_keys",
    "lag_told",
    "run_chaos",
    "with_factory_settings",
]

#: How often a provider tries one delivery that is not answered 2xx.
ATTEMPTS = 5


def run_chaos(
    config: ChaosConfig,
    err: TextIO = sys.stderr,
    *,
    before_judging: Callable[[ChaosRun], None] | None = None,
) -> ChaosReport:
    """One chaos run (see :mod:`infra.ops.chaos`). Starts and stops its own local runtime.

    ``before_judging`` runs once the queues are drained, just before the targets are judged: the
    tests plant a doubled or a lost effect at a stand-in there to show that the judge catches it.
    """
    from infra.local.runtime import LocalRuntime
    from shared.registry import load_specs

    names = {s.name for s in load_specs()}
    wanted = [
        f
        for f in (*factories(), *(sequences() if config.reorder else ()))
        if f.integration in names and (not config.integrations or f.integration in config.integrations)
    ]
    if not wanted:
        raise CliError(
            "no event factory for the integrations asked for; factories live in functions/<name>/chaos.py"
        )
    config = with_factory_settings(wanted, config)
    wanted = configured(wanted, config)
    report = ChaosReport(
        events=config.events,
        seed=config.seed,
        faults={
            k: {"rate": v.rate, **({"apps": list(v.apps)} if v.apps else {})}
            for k, v in config.faults.items()
        },
        time_scale=config.scale,
        reorder=config.reorder,
    )
    started = time.monotonic()
    with _logs_dir(config) as logs:
        runtime = LocalRuntime(
            port=0,
            retry_scale=config.scale,
            invocations=2,
            # Visibility 30 s = the 30 s function timeout: a crashed batch comes back once its
            # in-progress records expired, as on Lambda (visibility = 6 x timeout).
            visibility_scale=0.17,
            http_read_timeout_s=CLIENT_TIMEOUT_S,
            log_dir=logs,
            state_file=None,
            aws_process=True,  # the emulation on the second core: the run is bound by interpreter time
            settings_overrides=config.settings,
        )
        progress, waits = Progress(), WaitLog()
        trace.add_sink(progress)
        trace.add_sink(waits)
        try:
            with runtime, lag_told(config.lag_s):
                run = ChaosRun(runtime, config, err)
                run.progress = progress
                run.waits = waits
                _run(run, wanted, report, before_judging)
        finally:
            trace.remove_sink(waits)
            trace.remove_sink(progress)
    report.elapsed_s = round(time.monotonic() - started, 1)
    return report


def with_factory_settings(wanted: Sequence[EventFactory], config: ChaosConfig) -> ChaosConfig:
    """``config`` with the settings its factories need laid under the run's own ``--setting``."""
    import dataclasses

    settings: dict[str, dict[str, Any]] = {}
    for f in wanted:
        for integration, fields in f.settings.items():
            settings.setdefault(integration, {}).update(fields)
    if not settings:
        return config
    for integration, fields in config.settings.items():
        settings.setdefault(integration, {}).update(fields)
    return dataclasses.replace(config, settings=settings)


@contextmanager
def _logs_dir(config: ChaosConfig) -> Iterator[str]:
    """The folder the functions log into: the one asked for (kept), else a temporary one."""
    if config.logs_dir is not None:
        os.makedirs(config.logs_dir, exist_ok=True)
        yield config.logs_dir
        return
    with tempfile.TemporaryDirectory(prefix="switchboard-chaos-") as logs:
        yield logs


def configured(factories: Sequence[EventFactory], config: ChaosConfig) -> list[EventFactory]:
    """Each factory as it must be under its integration's settings for the run (local settings with
    the run's ``--setting`` overrides, validated: a bad one is refused naming the field)."""
    import json

    from infra.local.runtime import local_settings, merged_settings
    from shared.registry import load_spec

    out: list[EventFactory] = []
    for f in factories:
        if f.configure is None:
            out.append(f)
            continue
        spec = load_spec(f.integration)
        settings = json.loads(local_settings(spec))
        try:
            settings = merged_settings(spec, settings, config.settings.get(f.integration, {}), "--setting")
        except ValueError as exc:
            raise CliError(str(exc)) from None
        out.append(f.configure(settings))
    return out


def _webhook_triggers(
    specs: Mapping[str, IntegrationSpec], factories: Sequence[EventFactory]
) -> dict[tuple[str, str], WebhookTrigger]:
    out: dict[tuple[str, str], WebhookTrigger] = {}
    for f in factories:
        trigger = specs[f.integration].trigger(f.trigger)
        if not isinstance(trigger, WebhookTrigger):
            raise CliError(f"{f.integration}.{f.trigger}: the chaos harness sends signed webhooks only")
        out[(f.integration, f.trigger)] = trigger
    return out


def _run(
    run: ChaosRun,
    factories: Sequence[EventFactory],
    report: ChaosReport,
    before_judging: Callable[[ChaosRun], None] | None,
) -> None:
    config, runtime = run.config, run.runtime
    specs: dict[str, IntegrationSpec] = {s.name: s for s in runtime.specs}
    run.triggers = _webhook_triggers(specs, factories)
    hooks = app_hooks()
    unknown = sorted({o.app for o in config.outages} - set(runtime.sandboxes))
    if unknown:
        raise CliError(
            f"--outage {', '.join(unknown)}: no such target app; the stand-ins are "
            f"{', '.join(sorted(runtime.sandboxes))}"
        )
    events, schedule = plan(config, factories)
    report.sent = len(events)
    report.deliveries = len(schedule)
    report.duplicates_sent = sum(1 for d in schedule if d.duplicate)
    report.poison_sent = sum(1 for p in events if p.poison)
    report.integrations = dict(Counter(_label(p.factory) for p in events))
    entities = [p for p in events if p.factory.versions is not None]
    report.entities = len(entities)
    report.entity_versions = sum(p.factory.count(p) for p in entities)
    report.compression = compression(config)
    report.lag_s = config.lag_s
    if config.lag_s:
        # Eventual consistency: list and search reads trail the writes (sandbox.consistency).
        for sandbox in runtime.sandboxes.values():
            with sandbox.lock:
                sandbox.visibility.lag_s = config.lag_s
        run.say(f"eventual consistency: list and search reads trail writes by {config.lag_s:g} s")
    if config.outages:
        # Days of outage in minutes: the providers' limits hold per simulated second too, or the
        # backlog an outage leaves would drain 1/scale times too slowly against the retry horizon.
        for sandbox in runtime.sandboxes.values():
            with sandbox.lock:
                sandbox.limiter.time_scale = config.scale
    run.say(
        f"{len(events)} events ({report.poison_sent} poison), {report.duplicates_sent} re-sends, seed {config.seed}; "
        f"runtime at {runtime.url}"
    )
    run.say(report.compression)
    if entities:
        run.say(
            f"{len(entities)} entities changed {report.entity_versions} times, delivered shuffled and duplicated"
        )
    for f in factories:
        if f.prepare is not None:
            f.prepare(run, [p for p in events if p.factory is f])
    used = {c.app for f in factories for c in specs[f.integration].connections}
    run.oauth_apps = tuple(
        sorted(a for a, s in runtime.sandboxes.items() if a in used and getattr(s, "oauth", None) is not None)
    )
    run.key_apps = {
        a: hooks[a].key_expiry or ""
        for a in sorted(runtime.sandboxes)
        if a in used and a in hooks and hooks[a].key_expiry
    }
    set_faults(run, hooks, poison_only=False)
    users: dict[str, list[str]] = {}
    for spec in runtime.specs:
        for c in spec.connections:
            users.setdefault(c.app, []).append(spec.name)
    lock = threading.Lock()

    def down(app: str, on: bool) -> None:
        with lock:
            set_faults(run, hooks, poison_only=False, down=(app,) if on else (), apps=(app,), reseed=False)
        run.say(f"outage: {app} {'down (503 to every request)' if on else 'back'}")

    outages = Outages(config.outages, len(schedule), config.scale, down)

    target = Target(
        stage=runtime.stage, region="us-east-1", endpoint=runtime.aws_endpoint, gateway=runtime.url
    )
    send_started = time.monotonic()
    try:
        with _monitor(run):
            _send_all(run, schedule, send_started + config.drain_timeout_s, outages)
            report.send_s = round(time.monotonic() - send_started, 1)
            run.say(f"sent {len(schedule)} deliveries in {report.send_s} s; waiting for the queues to drain")
            drained = _wait(run, "draining")
            if outages.runs:
                if not outages.finish(outages.wall_s + 60):
                    run.say("an outage did not end in time")
                drained = _wait(run, "draining after the outages") and drained
            report.drain_s = round(time.monotonic() - send_started, 1)
            report.faults_served = _served(run)
            report.faults_by_app = _served_by_app(run)
            set_faults(run, hooks, poison_only=True)
            letters = dlq_letters(run, target)
            report.dlq_before_redrive = sum(len(v) for v in letters.values())
            poison_ids = {p.factory.build(run, p).event_id for p in events if p.poison}
            report.redrives_needed = sum(1 for v in letters.values() for e, _ in v if e not in poison_ids)
            report.redrives_needed_why = dict(
                Counter(
                    f"{name}: {error}" for name, v in letters.items() for e, error in v if e not in poison_ids
                )
            )
            if config.outages:
                run.say(
                    f"drained={drained}; {report.dlq_before_redrive} dead letter(s), "
                    f"{report.redrives_needed} not poison; no redrive (outage run)"
                )
            else:
                run.say(
                    f"drained={drained}; {report.dlq_before_redrive} dead letter(s); faults cleared, redriving"
                )
                report.redriven = _redrive(target, letters)
                drained = _wait(run, "draining after the redrive") and drained
    finally:
        outages.cancel()
    outages.count_waits(run.waits, users)
    report.outages = [r.as_json() for r in outages.runs]
    report.rate_limits = limits.describe(runtime.sandboxes)
    report.drained = drained
    report.crashes = runtime.crashes
    report.runtime_errors = len(runtime.errors)
    report.oauth = _oauth_report(run)
    report.keys = _keys_report(run, hooks)
    report.hidden_reads = _hidden_reads(run)
    for name, exc in runtime.errors[:3]:
        run.say(f"runtime error in {name}: {type(exc).__name__}: {exc}")
    if before_judging is not None:
        before_judging(run)
    judge(run, events, dlq_letters(run, target), report)


def _signing_secrets(run: ChaosRun) -> dict[tuple[str, str], str]:
    secrets: dict[tuple[str, str], str] = {}
    for name, trig in run.triggers:
        spec = next(s for s in run.runtime.specs if s.name == name)
        secret = run.runtime.signing_secret(spec, trig)
        if not secret:
            raise RuntimeError(f"{name}.{trig} has no signing secret in the local runtime")
        secrets[(name, trig)] = secret
    return secrets


def deliver(run: ChaosRun, p: Planned, secrets: Mapping[tuple[str, str], str], version: int = 0) -> int:
    """POST one delivery of ``p`` (its ``version``), signed now; re-sent up to 5 times if not answered
    2xx (as providers do)."""
    which = (p.factory.integration, p.factory.trigger)
    out = p.factory.outgoing(run, p, version)
    status = 0
    for attempt in range(ATTEMPTS):
        request = signed_request(
            run.triggers[which],
            run.runtime.url,
            out.body,
            secrets[which],
            headers=out.headers,
            msg_id=out.event_id,
        )
        status = post_status(request, run.http)
        if 200 <= status < 300:
            break
        time.sleep(0.2 * (attempt + 1))
    with run.lock:
        run.results.setdefault(p.index, []).append(status)
        if 200 <= status < 300:
            run.versions_ok.setdefault(p.index, set()).add(version)
    return status


def _label(f: EventFactory) -> str:
    return f"{f.integration}.{f.trigger}" + (" (sequences)" if f.versions is not None else "")


def compression(config: ChaosConfig) -> str:
    """The time compression in words: what one wall second stands for, and each outage's wall time."""
    scale = config.scale
    line = f"time compressed {1 / scale:,.0f}x: back-offs last {scale:g} of their length"
    if config.outages:
        line += ", and so do the providers' rate-limit windows"
        line += "; " + ", ".join(
            f"{o.app} down {o.text or f'{o.duration_s:g}s'} = {o.duration_s * scale:,.0f} s of wall time"
            for o in config.outages
        )
    return line


def _send_all(
    run: ChaosRun, schedule: Sequence[Delivery], deadline: float, outages: Outages | None = None
) -> None:
    secrets = _signing_secrets(run)
    in_flight = threading.BoundedSemaphore(run.config.senders * 4)
    last_note = 0.0
    with ThreadPoolExecutor(max_workers=run.config.senders, thread_name_prefix="chaos-send") as pool:
        futures: list[Future[int]] = []
        for n, (p, _dup, version) in enumerate(schedule):
            if outages is not None:
                outages.at(n)
            while run.backlog > run.config.backlog and time.monotonic() < deadline:
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                run.say("send deadline reached; stopping early")
                break
            in_flight.acquire()
            future = pool.submit(deliver, run, p, secrets, version)
            future.add_done_callback(lambda _f: in_flight.release())
            futures.append(future)
            if time.monotonic() - last_note > 2:
                last_note = time.monotonic()
                _progress_line(run, f"sending {n}/{len(schedule)}")
        for future in futures:
            future.result()


def _progress_line(run: ChaosRun, what: str) -> None:
    with run.progress.lock:
        stages = dict(run.progress.stages)
    run.say(
        f"{what}; queued {run.backlog}; processed {stages.get('processed', 0)}, "
        f"duplicates {stages.get('duplicate', 0)}, retries {stages.get('retry', 0)}, "
        f"dead-lettered {stages.get('dlq', 0)}, crashes {run.runtime.crashes}"
    )


@contextmanager
def _monitor(run: ChaosRun) -> Iterator[None]:
    """Refresh the backlog every second (the senders slow down on it); expire the OAuth apps'
    access tokens every ``token_expiry_s`` and the idempotency keys every ``key_expiry_s``."""
    stop = threading.Event()
    every = run.config.token_expiry_s
    next_expiry = time.monotonic() + every
    keys_every = run.config.key_expiry_s
    next_keys = time.monotonic() + keys_every

    def loop() -> None:
        nonlocal next_expiry, next_keys
        while not stop.wait(1.0):
            with contextlib.suppress(Exception):  # moto busy: keep the last value
                run.backlog = run.read_backlog()
            if every > 0 and run.oauth_apps and time.monotonic() >= next_expiry:
                next_expiry = time.monotonic() + every
                for app in run.oauth_apps:
                    with contextlib.suppress(httpx.HTTPError):
                        run.http.post(f"{run.runtime.url}/_sandbox/{app}/_oauth/expire")
                run.token_expiries += 1
            if keys_every > 0 and run.key_apps and time.monotonic() >= next_keys:
                next_keys = time.monotonic() + keys_every
                expire_keys(run)

    thread = threading.Thread(target=loop, name="chaos-monitor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


@contextmanager
def lag_told(lag_s: float, hooks: Mapping[str, AppChaos] | None = None) -> Iterator[None]:
    """While the block runs, the flows of apps that take an assumed lag from the environment
    (:attr:`AppChaos.lag_env`) are told 0 when the stand-ins do not lag (``lag_s`` 0); with a lag the
    variable is unset, so that the flows' own assumption is what the run tests. The environment is
    restored afterwards."""
    names = [h.lag_env for h in (hooks if hooks is not None else app_hooks()).values() if h.lag_env]
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        if lag_s:
            os.environ.pop(name, None)
        else:
            os.environ[name] = "0"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def expire_keys(run: ChaosRun) -> None:
    """Every app's idempotency keys answered at least the lag ago are forgotten now."""
    for app, path in run.key_apps.items():
        with contextlib.suppress(httpx.HTTPError, ValueError):
            answer = run.http.post(
                f"{run.runtime.url}/_sandbox/{app}{path}", json={"older_than_s": run.config.lag_s}
            )
            answer.raise_for_status()
            run.keys_forgotten[app] += int(answer.json().get("forgotten", 0))
    run.key_expiries += 1


def _keys_report(run: ChaosRun, hooks: Mapping[str, Any]) -> dict[str, Any]:
    """Per app with idempotency keys: how often they were forgotten, how many, and what the ledger's
    look-ups did (:mod:`infra.ops.chaos.lookups`)."""
    out: dict[str, Any] = {}
    for app in run.key_apps:
        look = hooks[app].lookups
        found = dict(look(run)) if look is not None else {}
        if run.keys_forgotten[app] or any(found.values()):  # an app the run's events never reached: none
            out[app] = {"expiries": run.key_expiries, "forgotten": run.keys_forgotten[app], **found}
    return out


def _hidden_reads(run: ChaosRun) -> dict[str, int]:
    """Per stand-in: list and search reads that left a record out because it was too new."""
    out: dict[str, int] = {}
    for app, sandbox in sorted(run.runtime.sandboxes.items()):
        with sandbox.lock:
            if sandbox.visibility.hidden:
                out[app] = sandbox.visibility.hidden
    return out


def _wait(run: ChaosRun, what: str) -> bool:
    deadline = time.monotonic() + run.config.drain_timeout_s
    while time.monotonic() < deadline:
        if run.runtime.wait_drained(
            timeout_s=min(5.0, deadline - time.monotonic()), settle_s=1.0, poll_s=0.5
        ):
            return True
        _progress_line(run, what)
    return False


def dlq_letters(run: ChaosRun, target: Target) -> dict[str, list[tuple[str, str]]]:
    """integration -> [(event id, error)] of every message in its DLQ (released again afterwards)."""
    from infra.ops.dlq import DlqScan

    out: dict[str, list[tuple[str, str]]] = {}
    for spec in run.runtime.specs:
        if not spec.queued_triggers:
            continue
        with DlqScan(target, spec.name, limit=max(1000, 4 * run.config.events)) as scan:
            out[spec.name] = [(d.event_id, d.error) for d in scan.letters]
    return out


def _redrive(target: Target, letters: Mapping[str, list[tuple[str, str]]]) -> int:
    from infra.ops import dlq

    moved = 0
    for name, found in letters.items():
        if found:
            log = StringIO()
            dlq.redrive(target, name, log)
            moved += len(found)
    return moved


def _oauth_report(run: ChaosRun) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for app in run.oauth_apps:
        sandbox: Any = run.runtime.sandboxes[app]
        with sandbox.lock:
            state = sandbox.oauth.state()
        out[app] = {
            "access_token_expiries": run.token_expiries,
            "refreshes": state["refresh_calls"],
            "refused": state["refused"],
        }
    return out


def _served_by_app(run: ChaosRun) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for app, sandbox in run.runtime.sandboxes.items():
        with sandbox.lock:
            if sandbox.faults_served:
                out[app] = dict(sorted(sandbox.faults_served.items()))
    return out


def _served(run: ChaosRun) -> dict[str, int]:
    total: Counter[str] = Counter()
    for sandbox in run.runtime.sandboxes.values():
        with sandbox.lock:
            total.update(sandbox.faults_served)
    return dict(total)
