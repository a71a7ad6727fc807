"""``switchboard chaos``: prove on the local runtime that no event is lost or doubled under faults.

One run, in this process, on free ports of 127.0.0.1:

1. start a :class:`~infra.local.runtime.LocalRuntime` (embedded moto, gateway, pollers, sandboxes);
2. prepare what the events need in the sandboxes (contacts "created in HubSpot by hand");
3. make the targets flaky - every sandbox app answers a share of the requests with 5xx, with 429 +
   ``Retry-After``, late (the effect happens, the client times out: ``serve_first`` slow faults), or
   with a crash mark (the worker dies after the target acted and before its step is recorded); the
   poison share is refused with a 400 for good (a marker in the payload, or a contact that does not
   exist);
4. send N signed webhook events spread over the integrations (a table of event factories, one per
   integration trigger: :data:`FACTORIES`), the providers re-sending a share of them - some at the
   same moment from another thread, some later;
5. wait until every queue is empty; clear the faults (poison stays poison: it is the target's
   answer, not a fault); redrive every DLQ; wait again;
6. count the effects the sandboxes and the embedded SES recorded - domain effects, not requests:
   contacts per email, notes per lead, Slack messages per lead, emails per lead - and compare them
   with what every accepted event should have caused, exactly once.

The result is one JSON object (:class:`ChaosReport`); the run fails (exit 1) if an effect is missing
(``lost``), doubled or unexpected, if a poison event is not in a DLQ, if a non-poison event is still
in one after the redrive, or if the queues did not drain in time. Every wait is bounded.

What is counted is what a customer would see: two notes on a contact for one form post are a defect
even when every request was "handled". Identity comes from the events themselves: each event has a
key (``R<seed>N<index>``) that appears in its email address, its name and its message, so an effect
is attributed to its event whatever ids the targets gave it.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from io import StringIO
from typing import TYPE_CHECKING, Any, TextIO

import httpx

from infra.ops.target import CliError, Target
from shared import trace

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime
    from shared.spec import IntegrationSpec

__all__ = [
    "FACTORIES",
    "ChaosConfig",
    "ChaosReport",
    "EventFactory",
    "Planned",
    "parse_faults",
    "run_chaos",
]

#: Fault kinds of ``--faults`` that the target apps inject, and the ones the providers cause.
TARGET_FAULTS = ("5xx", "429", "timeout", "crash")
PROVIDER_FAULTS = ("dup", "poison")
DEFAULT_FAULTS = "5xx=0.2,429=0.05,timeout=0.02,dup=0.1,poison=0.01,crash=0.01"
#: Marks a payload every target refuses (the sandboxes get a permanent 400 rule for it).
POISON_MARK = "chaos-poison"
#: The HubSpot portal of the local settings (``hubspot_portal_id``), as its webhooks carry it.
PORTAL_ID = 24681357
#: The API clients' read timeout during a run, and how late a "timeout" answer comes.
CLIENT_TIMEOUT_S = 2.0
LATE_BY_S = 1.0

EffectKey = tuple[str, str]  # (kind, event key): ("slack.message", "R7N12")
_KEY = re.compile(r"r(\d+)n(\d+)", re.IGNORECASE)


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultRate:
    rate: float
    #: Sandbox apps the fault is limited to; empty: every app.
    apps: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChaosConfig:
    events: int
    seed: int
    faults: Mapping[str, FaultRate]
    #: Seconds to wait for the queues to drain, each time (after sending, after the redrive).
    drain_timeout_s: float = 600.0
    #: Threads sending webhooks, like several providers at once.
    senders: int = 8
    #: Messages allowed to wait in the queues before the providers slow down (moto's SQS scans its
    #: queue on every receive: a backlog of thousands would measure moto, not Switchboard).
    backlog: int = 500
    #: Only these integrations' factories (default: every integration that has one).
    integrations: tuple[str, ...] = ()

    def rate(self, kind: str) -> float:
        fault = self.faults.get(kind)
        return fault.rate if fault else 0.0


def parse_faults(text: str) -> dict[str, FaultRate]:
    """``5xx=0.2,429=0.05,timeout=0.02@hubspot+peopledatalabs,dup=0.1`` -> rates (and app scopes)."""
    known = (*TARGET_FAULTS, *PROVIDER_FAULTS)
    faults: dict[str, FaultRate] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, eq, value = part.partition("=")
        rate_text, _, scope = value.partition("@")
        name = name.strip().lower()
        if not eq or name not in known:
            raise CliError(f"--faults {part!r}: expected kind=rate with kind one of {', '.join(known)}")
        try:
            rate = float(rate_text)
        except ValueError:
            raise CliError(f"--faults {part!r}: {rate_text!r} is not a number between 0 and 1") from None
        if not 0 <= rate <= 1 or math.isnan(rate):
            raise CliError(f"--faults {part!r}: the rate must be between 0 and 1")
        apps = tuple(a.strip() for a in scope.split("+") if a.strip())
        if apps and name in PROVIDER_FAULTS:
            raise CliError(f"--faults {part!r}: {name} is the provider's doing; it takes no @apps")
        faults[name] = FaultRate(rate, apps)
    if sum(faults[k].rate for k in TARGET_FAULTS if k in faults) > 0.9:
        raise CliError("--faults: the target faults add up to more than 0.9; nothing would get through")
    return faults


# --- events --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """One event of the run."""

    index: int
    seed: int
    factory: EventFactory
    poison: bool

    @property
    def key(self) -> str:
        """``R<seed>N<index>``: written into the event so that its effects can be attributed to it."""
        return f"R{self.seed}N{self.index}"


@dataclass(frozen=True)
class Outgoing:
    """What a provider POSTs for one event (signed per delivery: a re-send is signed afresh)."""

    event_id: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventFactory:
    """How one integration trigger's provider makes events, and what each must cause.

    ``build`` makes the request body (and the event id Switchboard will key it on); ``effects`` names
    the effects a non-poison event must cause once each, as ``(kind, key)`` pairs the observers in
    :data:`OBSERVERS` count; ``prepare`` sets the sandboxes up before the faults start (``None``: no
    set-up). A poison event must cause no effect and end in ``dlq`` (the integration's DLQ).
    """

    integration: str
    trigger: str
    weight: float
    build: Callable[[ChaosRun, Planned], Outgoing]
    effects: Callable[[Planned], Sequence[EffectKey]]
    prepare: Callable[[ChaosRun, Sequence[Planned]], None] | None = None
    #: Which DLQ a poison event of this factory must end in (default: the integration's own).
    dlq: str | None = None


def _website_lead(run: ChaosRun, p: Planned) -> Outgoing:
    """A signed lead (Standard Webhooks) from the site's backend; ``webhook-id`` is the event id."""
    local = f"{POISON_MARK}-{p.key}" if p.poison else f"chaos-{p.key}"
    body = {
        "type": "form.submitted",
        "timestamp": "2026-11-20T09:14:03.512Z",
        "data": {
            "form_id": "chaos",
            "name": f"Chaos {p.key}",
            "email": f"{local.lower()}@chaos-test.example",
            "company": "Chaos Monkeys Ltd",
            "message": f"Chaos lead {p.key}: a quote for 40 loaves a week, please.",
            "consent": True,
            "utm_source": "chaos",
        },
    }
    return Outgoing(f"msg_chaos{p.seed}n{p.index}", json.dumps(body).encode())


def _website_effects(p: Planned) -> Sequence[EffectKey]:
    kinds = ("hubspot.contact", "hubspot.qualified", "hubspot.note", "ses.sales", "ses.ack", "slack.message")
    return [(kind, p.key) for kind in kinds]


def _hubspot_contact_ids(run: ChaosRun) -> dict[str, str]:
    return run.scratch.setdefault("hubspot_contacts", {})  # type: ignore[no-any-return]


def _precreate_contacts(run: ChaosRun, planned: Sequence[Planned]) -> None:
    """Contacts someone created in HubSpot by hand; HubSpot's webhook then announces each.

    A poison event's contact is not created: HubSpot sends ``contact.creation`` for a contact that
    was deleted straight after, and reading it answers 404 for good.
    """
    sandbox = run.runtime.sandboxes["hubspot"]
    token = str(getattr(sandbox, "token", "sandbox-hubspot-token"))
    wanted = [p for p in planned if not p.poison]
    ids = _hubspot_contact_ids(run)
    url = f"{run.runtime.url}/_sandbox/hubspot/crm/v3/objects/contacts/batch/upsert"
    for start in range(0, len(wanted), 100):
        chunk = wanted[start : start + 100]
        inputs = [
            {
                "id": f"prep-{p.key.lower()}@chaos-test.example",
                "idProperty": "email",
                "properties": {"firstname": "Chaos", "lastname": p.key, "company": "Chaos Monkeys Ltd"},
            }
            for p in chunk
        ]
        answer = run.http.post(url, json={"inputs": inputs}, headers={"authorization": f"Bearer {token}"})
        if answer.status_code != 200:
            raise RuntimeError(
                f"could not create the HubSpot contacts: {answer.status_code} {answer.text[:200]}"
            )
        for result in answer.json()["results"]:
            ids[result["properties"]["email"]] = result["id"]


def _hubspot_creation(run: ChaosRun, p: Planned) -> Outgoing:
    """HubSpot's ``contact.creation`` webhook (a JSON array, ``X-HubSpot-Signature-v3``)."""
    ids = _hubspot_contact_ids(run)
    contact = ids.get(f"prep-{p.key.lower()}@chaos-test.example") or str(900_000_000 + p.index)
    event = {
        "eventId": 1_000_000 + p.index,
        "subscriptionId": 2981734,
        "portalId": PORTAL_ID,
        "appId": 4127781,
        "occurredAt": int(time.time() * 1000),
        "subscriptionType": "contact.creation",
        "attemptNumber": 0,
        "objectId": int(contact),
        "changeFlag": "CREATED",
        "changeSource": "CRM_UI",
        "sourceId": "userId:41629779",
    }
    # The URL is signed with its scheme; API Gateway tells the function the scheme in this header.
    return Outgoing(
        f"contact:{PORTAL_ID}:{contact}", json.dumps([event]).encode(), {"x-forwarded-proto": "http"}
    )


def _hubspot_effects(p: Planned) -> Sequence[EffectKey]:
    return [("ses.sales", p.key), ("slack.message", p.key)]


#: One entry per integration trigger the harness drives: ``(integration, trigger) -> factory``.
#: Adding an integration to the chaos run is one entry here (and an observer for a new kind of
#: effect in :data:`OBSERVERS`).
FACTORIES: dict[tuple[str, str], EventFactory] = {
    ("website_to_crm", "webhook"): EventFactory(
        "website_to_crm", "webhook", weight=3.0, build=_website_lead, effects=_website_effects
    ),
    ("new_lead_notify", "hubspot"): EventFactory(
        "new_lead_notify",
        "hubspot",
        weight=1.0,
        build=_hubspot_creation,
        effects=_hubspot_effects,
        prepare=_precreate_contacts,
    ),
}


# --- observing effects -----------------------------------------------------------------------------


def _keys(text: str) -> list[str]:
    return [f"R{m.group(1)}N{m.group(2)}" for m in _KEY.finditer(text)]


def _hubspot_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    seen: Counter[EffectKey] = Counter()
    sandbox: Any = run.runtime.sandboxes["hubspot"]
    with sandbox.lock:
        contacts = [dict(c.properties) for c in sandbox.contacts.values()]
        notes = [dict(n.properties) for n in sandbox.notes.values()]
    for props in contacts:
        email = props.get("email", "")
        if email.startswith("chaos-"):  # prepared contacts ("prep-") are set-up, not effects
            seen.update(("hubspot.contact", k) for k in _keys(email)[:1])
            if props.get("hubspot_owner_id"):  # qualified: a new lead gets an owner (round robin)
                seen.update(("hubspot.qualified", k) for k in _keys(email)[:1])
    for props in notes:
        seen.update(("hubspot.note", k) for k in _keys(props.get("hs_note_body", ""))[:1])
    return seen


def _slack_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    sandbox: Any = run.runtime.sandboxes["slack"]
    with sandbox.lock:
        texts = [str(m.get("text", "")) for m in sandbox.messages]
    return Counter(("slack.message", k) for t in texts for k in _keys(t)[:1])


def _ses_effects_seen(run: ChaosRun) -> Counter[EffectKey]:
    """Emails the embedded SES accepted (moto's backend lives in this process with its server)."""
    from moto.ses.models import ses_backends

    seen: Counter[EffectKey] = Counter()
    for regions in ses_backends.values():
        for backend in regions.values():
            for message in list(backend.sent_messages):
                to = " ".join(getattr(message, "destinations", {}).get("ToAddresses", []))
                if "chaos-" in to:
                    seen.update(("ses.ack", k) for k in _keys(to)[:1])
                else:
                    seen.update(("ses.sales", k) for k in _keys(str(getattr(message, "subject", "")))[:1])
    return seen


#: Effect observers, by the sandbox app (or service) whose records they read.
OBSERVERS: dict[str, Callable[[ChaosRun], Counter[EffectKey]]] = {
    "hubspot": _hubspot_effects_seen,
    "slack": _slack_effects_seen,
    "ses": _ses_effects_seen,
}


# --- the run ---------------------------------------------------------------------------------------


@dataclass
class ChaosReport:
    """The run's result; ``ok`` is what the exit status says."""

    ok: bool = False
    events: int = 0
    seed: int = 0
    faults: dict[str, Any] = field(default_factory=dict)
    integrations: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    deliveries: int = 0
    duplicates_sent: int = 0
    accepted: int = 0
    not_accepted: int = 0
    poison_sent: int = 0
    effects_expected: int = 0
    effects_observed: int = 0
    duplicate_effects: int = 0
    unexpected_effects: int = 0
    effects_missing: int = 0
    lost: int = 0
    dlq_poison: int = 0
    poison_missing: int = 0
    dlq_other: int = 0
    dlq_before_redrive: int = 0
    redriven: int = 0
    faults_served: dict[str, int] = field(default_factory=dict)
    crashes: int = 0
    runtime_errors: int = 0
    drained: bool = False
    send_s: float = 0.0
    drain_s: float = 0.0
    elapsed_s: float = 0.0
    events_per_s: float = 0.0
    examples: dict[str, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Progress:
    """Counts what the workers report (``shared.trace``), for the progress line."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.stages: Counter[str] = Counter()

    def __call__(self, entry: dict[str, Any]) -> None:
        stage = str(entry.get("stage"))
        if stage in ("processed", "duplicate", "dlq", "retry"):
            with self.lock:
                self.stages[stage] += 1


class ChaosRun:
    """One run's shared state: the runtime, an HTTP client, scratch space for factories."""

    def __init__(self, runtime: LocalRuntime, config: ChaosConfig, err: TextIO) -> None:
        self.runtime = runtime
        self.config = config
        self.err = err
        self.http = httpx.Client(timeout=15)
        self.scratch: dict[str, Any] = {}
        self.progress = _Progress()
        self.started = time.monotonic()
        self._backlog = 0
        self._lock = threading.Lock()
        self.results: dict[int, list[int]] = {}

    def say(self, text: str) -> None:
        print(f"[chaos {time.monotonic() - self.started:6.1f}s] {text}", file=self.err, flush=True)

    def backlog(self) -> int:
        return sum(q for q, _ in self.runtime.queue_depths().values())


def _choose(factories: Sequence[EventFactory], rng: random.Random) -> EventFactory:
    return rng.choices(list(factories), weights=[f.weight for f in factories])[0]


def plan(
    config: ChaosConfig, factories: Sequence[EventFactory]
) -> tuple[list[Planned], list[tuple[Planned, bool]]]:
    """The events and the order of deliveries (``(event, is_duplicate)``), from the seed alone.

    A duplicate is either sent at the same moment as the first delivery (the next two deliveries run
    on two sender threads at once) or later, after a random number of other deliveries.
    """
    rng = random.Random(config.seed)
    events = [
        Planned(i, config.seed, _choose(factories, rng), rng.random() < config.rate("poison"))
        for i in range(config.events)
    ]
    schedule: list[tuple[Planned, bool]] = []
    later: dict[int, list[Planned]] = {}
    for i, p in enumerate(events):
        schedule.append((p, False))
        if rng.random() < config.rate("dup"):
            if rng.random() < 0.5:
                schedule.append((p, True))  # concurrently
            else:
                later.setdefault(i + rng.randint(5, 300), []).append(p)
        schedule.extend((d, True) for d in later.pop(i, []))
    for pending in later.values():
        schedule.extend((d, True) for d in pending)
    return events, schedule


def _sandbox_faults(config: ChaosConfig, app: str) -> list[dict[str, Any]]:
    """The rate faults one sandbox app gets: poison first (rate 1, by body marker), then the rest."""
    faults: list[dict[str, Any]] = [
        {"kind": "status", "status": 400, "rate": 1, "body_contains": POISON_MARK, "body": _poison_body(app)}
    ]

    def applies(kind: str) -> bool:
        fault = config.faults.get(kind)
        return bool(fault and fault.rate > 0 and (not fault.apps or app in fault.apps))

    if applies("5xx"):
        faults.append({"kind": "status", "status": 503, "rate": config.rate("5xx")})
    if applies("429"):
        faults.append({"kind": "rate_limit", "retry_after": 1, "rate": config.rate("429")})
    if applies("timeout"):
        delay = CLIENT_TIMEOUT_S + LATE_BY_S
        faults.append({"kind": "slow", "delay_s": delay, "serve_first": True, "rate": config.rate("timeout")})
    if applies("crash"):
        faults.append({"kind": "crash", "rate": config.rate("crash")})
    return faults


def _poison_body(app: str) -> dict[str, Any] | None:
    if app == "hubspot":
        return {
            "status": "error",
            "message": "Property values were not valid: the lead is marked as poison by the chaos run",
            "correlationId": "00000000-0000-4000-8000-000000000000",
            "category": "VALIDATION_ERROR",
        }
    if app == "slack":
        return {"ok": False, "error": "invalid_blocks"}
    return None


def _set_faults(run: ChaosRun, *, poison_only: bool) -> None:
    for app, sandbox in run.runtime.sandboxes.items():
        base = f"{run.runtime.url}/_sandbox/{app}/_faults"
        run.http.delete(base).raise_for_status()
        faults = _sandbox_faults(run.config, app)
        if poison_only:
            faults = faults[:1]
        else:
            sandbox.reseed(run.config.seed)
        run.http.post(base, json=faults).raise_for_status()


def _deliver(run: ChaosRun, p: Planned, signing: Mapping[tuple[str, str], tuple[str, str]]) -> int:
    """POST one delivery of ``p``, signed now; re-sent up to 5 times if not answered 2xx (as providers do)."""
    spec_trigger = (p.factory.integration, p.factory.trigger)
    url, secret = signing[spec_trigger]
    out = p.factory.build(run, p)
    trigger: Any = run.scratch["triggers"][spec_trigger]
    status = 0
    for attempt in range(5):
        headers = {"content-type": "application/json", **out.headers}
        headers.update(
            trigger.verifier.sign(
                method=trigger.method,
                url=url,
                body=out.body,
                secret=secret,
                now=time.time(),
                msg_id=out.event_id,
            )
        )
        try:
            status = run.http.post(url, headers=headers, content=out.body).status_code
        except httpx.HTTPError:
            status = 0
        if 200 <= status < 300:
            break
        time.sleep(0.2 * (attempt + 1))
    with run._lock:
        run.results.setdefault(p.index, []).append(status)
    return status


def _send_all(run: ChaosRun, schedule: Sequence[tuple[Planned, bool]], deadline: float) -> None:
    signing: dict[tuple[str, str], tuple[str, str]] = {}
    for (name, trig), trigger in run.scratch["triggers"].items():
        spec = next(s for s in run.runtime.specs if s.name == name)
        secret = run.runtime.signing_secret(spec, trig)
        if not secret:
            raise RuntimeError(f"{name}.{trig} has no signing secret in the local runtime")
        signing[(name, trig)] = (run.runtime.url + trigger.path, secret)
    in_flight = threading.BoundedSemaphore(run.config.senders * 4)
    last_note = 0.0
    with ThreadPoolExecutor(max_workers=run.config.senders, thread_name_prefix="chaos-send") as pool:
        futures: list[Future[int]] = []
        for n, (p, _dup) in enumerate(schedule):
            while run._backlog > run.config.backlog and time.monotonic() < deadline:
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                run.say("send deadline reached; stopping early")
                break
            in_flight.acquire()
            future = pool.submit(_deliver, run, p, signing)
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
        f"{what}; queued {run._backlog}; processed {stages.get('processed', 0)}, "
        f"duplicates {stages.get('duplicate', 0)}, retries {stages.get('retry', 0)}, "
        f"dead-lettered {stages.get('dlq', 0)}, crashes {run.runtime.crashes}"
    )


@contextmanager
def _monitor(run: ChaosRun) -> Iterator[None]:
    """Refresh the backlog every half second (the senders slow down on it)."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(0.5):
            with contextlib.suppress(Exception):  # moto busy: keep the last value
                run._backlog = run.backlog()

    thread = threading.Thread(target=loop, name="chaos-monitor", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _wait(run: ChaosRun, what: str) -> bool:
    deadline = time.monotonic() + run.config.drain_timeout_s
    while time.monotonic() < deadline:
        if run.runtime.wait_drained(timeout_s=min(5.0, deadline - time.monotonic()), settle_s=1.0):
            return True
        _progress_line(run, what)
    return False


def _dlq_letters(run: ChaosRun, target: Target) -> dict[str, list[tuple[str, str]]]:
    """integration -> [(event id, error)] of every message in its DLQ (released again afterwards)."""
    from infra.ops.dlq import DlqScan

    out: dict[str, list[tuple[str, str]]] = {}
    for spec in run.runtime.specs:
        if not spec.queued_triggers:
            continue
        with DlqScan(target, spec.name, limit=max(1000, 4 * run.config.events)) as scan:
            out[spec.name] = [(d.event_id, d.error) for d in scan.letters]
    return out


def _redrive(run: ChaosRun, target: Target, letters: Mapping[str, list[tuple[str, str]]]) -> int:
    from infra.ops import dlq

    moved = 0
    for name, found in letters.items():
        if found:
            log = StringIO()
            dlq.redrive(target, name, log)
            moved += len(found)
    return moved


def run_chaos(config: ChaosConfig, err: TextIO = sys.stderr) -> ChaosReport:
    """One chaos run (see the module docstring). Starts and stops its own local runtime."""
    from infra.local.runtime import LocalRuntime
    from shared.registry import load_specs

    specs = load_specs()
    names = {s.name for s in specs}
    wanted = [
        f
        for f in FACTORIES.values()
        if f.integration in names and (not config.integrations or f.integration in config.integrations)
    ]
    if not wanted:
        raise CliError("no event factory for the integrations asked for; see infra/ops/chaos.py FACTORIES")
    report = ChaosReport(
        events=config.events,
        seed=config.seed,
        faults={
            k: {"rate": v.rate, **({"apps": list(v.apps)} if v.apps else {})}
            for k, v in config.faults.items()
        },
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="switchboard-chaos-") as logs:
        runtime = LocalRuntime(
            port=0,
            retry_scale=0.02,
            invocations=2,
            # Visibility 30 s = the 30 s function timeout: a crashed batch comes back once its
            # in-progress records expired, as on Lambda (visibility = 6 x timeout).
            visibility_scale=0.17,
            http_read_timeout_s=CLIENT_TIMEOUT_S,
            log_dir=logs,
            state_file=None,
        )
        progress = _Progress()
        trace.add_sink(progress)
        try:
            with runtime:
                run = ChaosRun(runtime, config, err)
                run.progress = progress
                _run(run, wanted, report)
        finally:
            trace.remove_sink(progress)
    report.elapsed_s = round(time.monotonic() - started, 1)
    return report


def _run(run: ChaosRun, factories: Sequence[EventFactory], report: ChaosReport) -> None:
    config, runtime = run.config, run.runtime
    specs: dict[str, IntegrationSpec] = {s.name: s for s in runtime.specs}
    run.scratch["triggers"] = {
        (f.integration, f.trigger): specs[f.integration].trigger(f.trigger) for f in factories
    }
    events, schedule = plan(config, factories)
    report.sent = len(events)
    report.deliveries = len(schedule)
    report.duplicates_sent = sum(1 for _, dup in schedule if dup)
    report.poison_sent = sum(1 for p in events if p.poison)
    report.integrations = dict(Counter(f"{p.factory.integration}.{p.factory.trigger}" for p in events))
    run.say(
        f"{len(events)} events ({report.poison_sent} poison), {report.duplicates_sent} re-sends, seed {config.seed}; "
        f"runtime at {runtime.url}"
    )
    for f in factories:
        if f.prepare is not None:
            f.prepare(run, [p for p in events if p.factory is f])
    _set_faults(run, poison_only=False)

    target = Target(
        stage=runtime.stage, region="us-east-1", endpoint=runtime.aws_endpoint, gateway=runtime.url
    )
    send_started = time.monotonic()
    with _monitor(run):
        _send_all(run, schedule, send_started + config.drain_timeout_s)
        report.send_s = round(time.monotonic() - send_started, 1)
        run.say(f"sent {len(schedule)} deliveries in {report.send_s} s; waiting for the queues to drain")
        drained = _wait(run, "draining")
        report.drain_s = round(time.monotonic() - send_started, 1)
        report.faults_served = _served(run)
        _set_faults(run, poison_only=True)
        letters = _dlq_letters(run, target)
        report.dlq_before_redrive = sum(len(v) for v in letters.values())
        run.say(f"drained={drained}; {report.dlq_before_redrive} dead letter(s); faults cleared, redriving")
        report.redriven = _redrive(run, target, letters)
        drained = _wait(run, "draining after the redrive") and drained
    report.drained = drained
    report.crashes = runtime.crashes
    report.runtime_errors = len(runtime.errors)
    for name, exc in runtime.errors[:3]:
        run.say(f"runtime error in {name}: {type(exc).__name__}: {exc}")
    _judge(run, events, _dlq_letters(run, target), report)


def _served(run: ChaosRun) -> dict[str, int]:
    total: Counter[str] = Counter()
    for sandbox in run.runtime.sandboxes.values():
        with sandbox.lock:
            total.update(sandbox.faults_served)
    return dict(total)


def _judge(
    run: ChaosRun,
    events: Sequence[Planned],
    letters: Mapping[str, list[tuple[str, str]]],
    report: ChaosReport,
) -> None:
    observed: Counter[EffectKey] = Counter()
    for observe in OBSERVERS.values():
        observed.update(observe(run))
    accepted = [p for p in events if any(200 <= s < 300 for s in run.results.get(p.index, []))]
    report.accepted = len(accepted)
    report.not_accepted = len(events) - len(accepted)
    in_dlq: dict[str, set[str]] = {name: {e for e, _ in found} for name, found in letters.items()}
    expected: set[EffectKey] = set()
    lost: list[str] = []
    poison_missing: list[str] = []
    for p in accepted:
        event_id = p.factory.build(run, p).event_id
        if p.poison:
            if event_id in in_dlq.get(p.factory.dlq or p.factory.integration, set()):
                report.dlq_poison += 1
            else:
                poison_missing.append(p.key)
            continue
        keys = list(p.factory.effects(p))
        expected.update(keys)
        missing = [k for k in keys if observed[k] == 0]
        report.effects_missing += len(missing)
        if missing:
            lost.append(f"{p.key} ({event_id}): no {', '.join(kind for kind, _ in missing)}")
    report.poison_missing = len(poison_missing)
    poison_ids = {p.factory.build(run, p).event_id for p in events if p.poison}
    report.dlq_other = sum(1 for found in letters.values() for e, _ in found if e not in poison_ids)
    report.lost = len(lost)
    report.effects_expected = len(expected)
    report.effects_observed = sum(observed.values())
    doubled = {k: c for k, c in observed.items() if k in expected and c > 1}
    report.duplicate_effects = sum(c - 1 for c in doubled.values())
    unexpected = {k: c for k, c in observed.items() if k not in expected}
    report.unexpected_effects = sum(unexpected.values())
    examples = {
        "lost": lost[:5],
        "doubled": [f"{kind} {key} x{c}" for (kind, key), c in list(doubled.items())[:5]],
        "unexpected": [f"{kind} {key} x{c}" for (kind, key), c in list(unexpected.items())[:5]],
        "poison_missing": poison_missing[:5],
        "dlq_other": [
            f"{n}: {e} ({err})" for n, found in letters.items() for e, err in found if e not in poison_ids
        ][:5],
    }
    report.examples = {k: v for k, v in examples.items() if v}
    accepted_s = max(report.drain_s, 0.001)
    report.events_per_s = round(report.accepted / accepted_s, 1)
    report.ok = (
        report.drained
        and report.lost == 0
        and report.duplicate_effects == 0
        and report.unexpected_effects == 0
        and report.poison_missing == 0
        and report.dlq_other == 0
        and report.not_accepted == 0
        and report.runtime_errors == 0
    )


def print_report(report: ChaosReport, out: TextIO) -> None:
    """The human-readable form (``--json`` prints :meth:`ChaosReport.as_json` instead)."""
    rows = [
        ("events sent / accepted", f"{report.sent} / {report.accepted}  ({report.duplicates_sent} re-sent)"),
        ("effects expected / observed", f"{report.effects_expected} / {report.effects_observed}"),
        ("lost (events with a missing effect)", str(report.lost)),
        ("duplicate effects", str(report.duplicate_effects)),
        ("unexpected effects", str(report.unexpected_effects)),
        ("poison in DLQ / missing", f"{report.dlq_poison} / {report.poison_missing}"),
        (
            "other dead letters after redrive",
            f"{report.dlq_other} (before redrive: {report.dlq_before_redrive})",
        ),
        ("faults served", ", ".join(f"{k} {v}" for k, v in sorted(report.faults_served.items())) or "-"),
        ("crashed invocations", str(report.crashes)),
        ("elapsed", f"{report.elapsed_s} s ({report.events_per_s} events/s until drained)"),
    ]
    for label, value in rows:
        out.write(f"{label:<38} {value}\n")
    for kind, items in report.examples.items():
        out.write(f"  {kind}: {'; '.join(items)}\n")
    out.write(("OK: nothing lost, nothing doubled\n") if report.ok else "FAILED\n")
