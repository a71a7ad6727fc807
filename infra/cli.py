"""``switchboard``: run Switchboard locally, send sample events, invoke a handler, and operate it.

    switchboard dev [--port 8787] [--once] [--no-replay]
    switchboard send <integration> <event-file> [--url URL] [--stage STAGE]
    switchboard invoke <integration> <event-file> | --date YYYY-MM-DD [--resend]
    switchboard urls                                   [--stage STAGE] [--region REGION]
    switchboard secrets list | show <connection> | set <connection> key=value …
    switchboard dlq list [<integration>] | show <id> | replay <id> | redrive <integration>
    switchboard trace <event-id> [--since 7d]
    switchboard openapi [--server URL] [--tools]
    switchboard keys create --name N --tools a,b [--per-minute 30] [--per-day 1000] | list | revoke <id>
    switchboard new <name> --trigger webhook|schedule|event --app <app>
    switchboard chaos [--events N] [--seed S] [--faults 5xx=0.2,…] [--json]
    switchboard load [--rps R] [--seconds T] [--json]

The operations commands (``urls``, ``secrets``, ``dlq``, ``trace``; :mod:`infra.ops`) act on the
running local runtime, or with ``--stage <name>`` on that deployed stage. Every error a user can cause
is a one-line ``switchboard: ...`` message that says what to fix, and exit status 2; an operation that
was understood but failed exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any, NoReturn

from infra.ops.target import CliError, OperationFailed, Target, resolve
from shared.registry import load_spec, load_specs
from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger

__all__ = ["CliError", "main"]


class _Parser(argparse.ArgumentParser):
    """argparse, with its usage errors as one line that says where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"switchboard: {message} (see `{self.prog} --help`)\n")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except CliError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except OperationFailed as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="switchboard", description="Serverless connectors for a small business's tools.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    where = _Parser(add_help=False)
    where.add_argument(
        "--stage", help="act on this deployed stage (AWS credentials needed); default: the local runtime"
    )
    where.add_argument("--region", help="AWS region of the stage (default: AWS_REGION / your profile's)")

    dev = sub.add_parser("dev", help="run locally: embedded AWS, sandbox apps, webhook URLs, sample replay")
    dev.add_argument("--port", type=int, default=int(os.environ.get("SWITCHBOARD_PORT", "8787")))
    dev.add_argument(
        "--once", action="store_true", help="replay the samples, wait for the queues, summarise, exit"
    )
    dev.add_argument("--no-replay", action="store_true", help="do not replay the sample events on start")
    dev.add_argument(
        "--timeout", type=float, default=120.0, help="--once: seconds to wait for the queues to drain"
    )
    dev.set_defaults(func=_cmd_dev)

    send = sub.add_parser("send", help="sign a sample event with its connection's secret and POST it")
    send.add_argument("integration")
    send.add_argument("event_file", type=Path)
    send.add_argument("--url", help="base URL (default: the running local gateway)")
    send.add_argument("--stage", help="read the signing secret from this deployed stage's Secrets Manager")
    send.set_defaults(func=_cmd_send)

    invoke = sub.add_parser(
        "invoke",
        parents=[where],
        help="run an integration's handler once with an event file, or a schedule tick for --date",
    )
    invoke.add_argument("integration")
    invoke.add_argument("event_file", type=Path, nargs="?")
    invoke.add_argument(
        "--date",
        help="run the integration's schedule for this day (YYYY-MM-DD): the first tick after the day ended",
    )
    invoke.add_argument(
        "--resend",
        action="store_true",
        help="with --date: a new event id, so steps already done for that day run again",
    )
    invoke.add_argument(
        "--queue",
        action="store_true",
        help="with --date: put the tick on the integration's queue of the running local runtime (or of "
        "--stage) instead of running it here; a day already sent there sends nothing again",
    )
    invoke.set_defaults(func=_cmd_invoke)

    urls = sub.add_parser("urls", parents=[where], help="webhook, form and route URLs (local or --stage)")
    urls.set_defaults(func=_cmd_urls)

    secrets = sub.add_parser("secrets", help="set or inspect a connection's secret (values never shown)")
    secrets_sub = secrets.add_subparsers(dest="action", required=True, parser_class=_Parser)
    s_list = secrets_sub.add_parser("list", parents=[where], help="every connection and its secret's name")
    s_list.set_defaults(func=_cmd_secrets_list)
    s_show = secrets_sub.add_parser("show", parents=[where], help="a connection's fields, values masked")
    s_show.add_argument("connection")
    s_show.set_defaults(func=_cmd_secrets_show)
    s_set = secrets_sub.add_parser(
        "set", parents=[where], help="merge key=value pairs into a connection's secret (key=- to type it)"
    )
    s_set.add_argument("connection")
    s_set.add_argument("assignments", nargs="*", metavar="key=value")
    s_set.set_defaults(func=_cmd_secrets_set)

    dlq = sub.add_parser("dlq", help="dead letters: list, show, replay one, redrive all")
    dlq_sub = dlq.add_subparsers(dest="action", required=True, parser_class=_Parser)
    d_list = dlq_sub.add_parser(
        "list", parents=[where], help="an integration's dead letters (or counts of all)"
    )
    d_list.add_argument("integration", nargs="?")
    d_list.set_defaults(func=_cmd_dlq_list)
    d_show = dlq_sub.add_parser("show", parents=[where], help="one dead letter: attributes and body, masked")
    d_show.add_argument("id", help="event id or message id (or a unique prefix of 6+ characters)")
    d_show.add_argument("--integration", help="look only in this integration's DLQ")
    d_show.set_defaults(func=_cmd_dlq_show)
    d_replay = dlq_sub.add_parser("replay", parents=[where], help="put one dead letter back on its queue")
    d_replay.add_argument("id", help="event id or message id (or a unique prefix of 6+ characters)")
    d_replay.add_argument("--integration", help="look only in this integration's DLQ")
    d_replay.set_defaults(func=_cmd_dlq_replay)
    d_redrive = dlq_sub.add_parser("redrive", parents=[where], help="move all dead letters back to the queue")
    d_redrive.add_argument("integration")
    d_redrive.add_argument("--rate", type=int, help="messages per second (default: as fast as SQS goes)")
    d_redrive.set_defaults(func=_cmd_dlq_redrive)

    setup = sub.add_parser("setup", help="one-time set-up a SaaS needs before going live")
    setup_sub = setup.add_subparsers(dest="app", required=True)
    s_hubspot = setup_sub.add_parser(
        "hubspot", parents=[where], help="create the custom contact properties the integrations write"
    )
    s_hubspot.set_defaults(func=_cmd_setup_hubspot)

    trace = sub.add_parser("trace", parents=[where], help="where one event went: ledger steps, DLQ, logs")
    trace.add_argument("event_id")
    trace.add_argument("--since", default="7d", help="how far back to search logs: 30m, 12h, 7d (default 7d)")
    trace.set_defaults(func=_cmd_trace)
    _add_harness_commands(sub)
    _add_ai_commands(sub, where)
    return p


# --- helpers ---------------------------------------------------------------------------------------


def _spec(name: str) -> IntegrationSpec:
    names = [s.name for s in load_specs()]
    if name not in names:
        raise CliError(f"no integration {name!r}; there are: {', '.join(names)}")
    return load_spec(name)


def _local_state() -> dict[str, Any] | None:
    from infra.local.runtime import STATE_FILE

    if not STATE_FILE.exists():
        return None
    state: dict[str, Any] = json.loads(STATE_FILE.read_text())
    return state


def _target(args: argparse.Namespace) -> Target:
    return resolve(args.stage, args.region)


def _duration_s(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value, unit = text[:-1], text[-1:]
    if unit not in units or not value.isdigit() or int(value) == 0:
        raise CliError(f"--since {text!r}: say how far back as a number and a unit, e.g. 30m, 12h or 7d")
    return int(value) * units[unit]


def _read_secret(name: str) -> dict[str, Any]:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        value = boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except (ClientError, BotoCoreError) as exc:
        raise CliError(f"cannot read secret {name}: {exc}") from exc
    parsed: dict[str, Any] = json.loads(value)
    return parsed


# --- dev ---------------------------------------------------------------------------------------------


def _cmd_dev(args: argparse.Namespace) -> int:
    from infra.local.replay import replay, summarise
    from infra.local.runtime import LocalRuntime
    from shared import trace

    from .local.console import TracePrinter

    printer = TracePrinter()
    trace.add_sink(printer)
    try:
        runtime = LocalRuntime(port=args.port, on_error=_print_error)
    except OSError as exc:
        raise CliError(
            f"cannot listen on 127.0.0.1:{args.port} ({exc.strerror}); choose another --port"
        ) from exc
    with runtime:
        print(f"Switchboard local runtime (embedded AWS at {runtime.aws_endpoint})")
        print(f"Gateway: {runtime.url}   (route index: {runtime.url}/)")
        for route in runtime.gateway.routes():
            print(f"  {route['method']:<5} {route['url']:<56} {route['integration']}.{route['trigger']}")
        for name in sorted(runtime.sandboxes):
            print(f"  sandbox {name:<10} {runtime.url}/_sandbox/{name}/   (inspect: GET .../_requests)")
        print(
            f"JSON logs: {os.environ.get('SWITCHBOARD_LOG_DIR', '.switchboard/logs')}/<integration>.jsonl\n"
        )
        results = [] if args.no_replay else replay(runtime, printer)
        if args.once:
            drained = runtime.wait_drained(args.timeout)
            ok = summarise(results, printer, drained, runtime)
            return 0 if ok else 1
        if results:
            runtime.wait_drained(args.timeout)
            summarise(results, printer, True, runtime)
        stop = threading.Event()
        # Explicit handlers: a process started in the background inherits an *ignored* SIGINT, and
        # Python then never raises KeyboardInterrupt.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        print("\nServing the webhook URLs above. Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
        print("\nstopping")
    return 0


def _print_error(integration: str, exc: BaseException) -> None:
    print(f"!! {integration}: {type(exc).__name__}: {exc}", file=sys.stderr)


# --- send ----------------------------------------------------------------------------------------------


def _cmd_send(args: argparse.Namespace) -> int:
    import httpx

    from infra.local.samples import SampleError, build_request, load_sample

    spec = _spec(args.integration)
    if not args.event_file.exists():
        raise CliError(f"{args.event_file}: no such file")
    try:
        sample = load_sample(args.event_file, spec)
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    trigger = spec.trigger(sample.trigger)
    state = _local_state()
    base_url = args.url or (state or {}).get("gateway")
    if not base_url:
        raise CliError("no --url given and no local runtime is running (start one with `make dev`)")
    secret = None
    if isinstance(trigger, WebhookTrigger):
        if args.stage:
            name = f"switchboard/{args.stage}/{trigger.secret.name}"
        elif state:
            os.environ.setdefault("AWS_ENDPOINT_URL", state["aws_endpoint"])
            os.environ.setdefault("AWS_DEFAULT_REGION", state["region"])
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
            name = state["secret_prefix"] + trigger.secret.name
        else:
            raise CliError("to sign for a deployed URL, say which stage holds the secret: --stage prod")
        secret = _read_secret(name).get("secret")
    try:
        url, headers, body = build_request(spec, sample, base_url, secret)
    except SampleError as exc:
        raise CliError(str(exc)) from exc
    try:
        response = httpx.post(url, headers=headers, content=body, timeout=10)
    except httpx.HTTPError as exc:
        raise CliError(f"POST {url} failed: {exc}") from exc
    print(f"{response.status_code} {url}")
    print(response.text)
    return 0 if response.is_success else 1


# --- invoke ----------------------------------------------------------------------------------------------


def _cmd_invoke(args: argparse.Namespace) -> int:
    from infra.local.runtime import LocalRuntime
    from infra.local.samples import SampleError, build_request, load_sample
    from shared import trace

    from .local.console import TracePrinter
    from .local.gateway import api_gateway_event

    spec = _spec(args.integration)
    ticks = _date_ticks(spec, args) if args.date is not None else None
    if args.queue or args.stage:
        if ticks is None:
            raise CliError("--queue (and --stage) go with --date: only a schedule tick can be queued")
        return _queue_ticks(_target(args), spec, args.date, ticks)
    raw: Any = None
    if ticks is None:
        if args.event_file is None:
            raise CliError(
                "invoke needs an event file, or --date YYYY-MM-DD for an integration with a schedule"
            )
        if args.resend:
            raise CliError("--resend goes with --date")
        try:
            raw = json.loads(args.event_file.read_text())
        except (OSError, ValueError) as exc:
            raise CliError(f"{args.event_file}: not a readable JSON file ({exc})") from exc
    printer = TracePrinter()
    trace.add_sink(printer)
    with LocalRuntime(port=0, pollers=False, state_file=None) as runtime:
        if ticks is not None:  # --date: the schedule tick(s) as one SQS batch, as Lambda gets them
            raw = _sqs_batch(runtime, spec.name, ticks)
        elif isinstance(raw, dict) and "trigger" in raw:  # a sample: build the signed API Gateway request
            try:
                sample = load_sample(args.event_file, spec)
                url, headers, body = build_request(
                    spec, sample, runtime.url, runtime.signing_secret(spec, sample.trigger)
                )
            except SampleError as exc:
                raise CliError(str(exc)) from exc
            trigger = spec.trigger(sample.trigger)
            assert isinstance(trigger, WebhookTrigger | FormTrigger)  # load_sample checked it
            path = url[len(runtime.url) :]
            headers["host"] = runtime.url.split("//", 1)[1]
            headers.setdefault("x-forwarded-proto", "http")
            raw = api_gateway_event(
                method=trigger.method,
                path=path,
                query="",
                headers=headers,
                body=body,
                route_key=f"{trigger.method} {path}",
            )
        if not isinstance(raw, dict) or not ("requestContext" in raw or "Records" in raw):
            raise CliError(
                f"{args.event_file}: expected a sample, an API Gateway HTTP API event or an SQS batch"
            )
        result = runtime.dispatch(spec.name, raw)
    print(json.dumps(result, indent=2))
    return 0


def _queue_ticks(target: Target, spec: IntegrationSpec, day: str, ticks: list[str]) -> int:
    """The tick(s) on the integration's own queue, where its function processes them as usual.

    Unlike running the handler here (a throwaway runtime), the ledger of that runtime or stage is the
    one that knows which days were already sent: a day sent before sends nothing again.
    """
    from infra.ops.target import aws_errors

    url = target.queue_url(spec.name)
    with aws_errors(target, f"queueing the tick on {target.queue_name(spec.name)}"):
        for body in ticks:
            target.client("sqs").send_message(QueueUrl=url, MessageBody=body)
    print(
        f"queued {len(ticks)} schedule tick(s) for {day} on {target.queue_name(spec.name)} ({target.where})"
    )
    stage = "" if target.is_local else f" --stage {target.stage}"
    for event_id in _tick_event_ids(spec, ticks):
        print(f"follow it: switchboard trace {event_id}{stage}")
    return 0


def _tick_event_ids(spec: IntegrationSpec, ticks: list[str]) -> list[str]:
    """The event ids the worker will give the queued tick(s): what ``trace`` takes."""
    from shared.envelope import Envelope
    from shared.spec import ScheduledRun, ScheduleTrigger

    ids: list[str] = []
    for body in ticks:
        raw = json.loads(body)
        if Envelope.looks_like(raw):
            ids.append(str(raw["event_id"]))
            continue
        trigger = spec.trigger(str(raw["switchboard_schedule"]))
        assert isinstance(trigger, ScheduleTrigger)  # _date_ticks made it from one
        run = ScheduledRun(trigger.name, str(raw["scheduled_at"]), trigger.timezone)
        ids.extend(a.event_id for a in trigger.accept(run))
    return ids


def _date_ticks(spec: IntegrationSpec, args: argparse.Namespace) -> list[str]:
    """Queue message(s) of the schedule tick that covers ``--date``.

    The tick is the schedule's first after the day ended, in the schedule's own time zone: for a
    daily 07:00 report on "yesterday", ``--date 2026-11-20`` is the 07:00 tick of the 21st. Its event
    id is the one the real tick had, so a day already processed is not processed again (idempotency);
    ``--resend`` appends ``:resend:<UTC time>`` to the id, so every step runs again on purpose.
    """
    from dataclasses import replace
    from datetime import UTC, date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from infra.local.scheduler import next_fire, schedule_message
    from shared.envelope import Envelope
    from shared.spec import ScheduledRun, ScheduleTrigger

    if args.event_file is not None:
        raise CliError("give an event file or --date, not both")
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        raise CliError(f"--date {args.date!r} is not a date; expected YYYY-MM-DD") from None
    schedules = [t for t in spec.triggers if isinstance(t, ScheduleTrigger)]
    if len(schedules) != 1:
        raise CliError(
            f"--date runs a schedule, and {spec.name} has {len(schedules)} schedule triggers (needs one)"
        )
    trigger = schedules[0]
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(trigger.timezone))
    due = next_fire(trigger.expression, trigger.timezone, day_end - timedelta(minutes=1))
    if not args.resend:
        return [schedule_message(spec.name, trigger, due)]
    run = ScheduledRun(trigger=trigger.name, scheduled_at=due.isoformat(), timezone=trigger.timezone)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return [
        Envelope.wrap(
            spec.name, trigger.name, replace(a, event_id=f"{a.event_id}:resend:{stamp}")
        ).to_message()
        for a in trigger.accept(run)
    ]


def _sqs_batch(runtime: Any, integration: str, bodies: list[str]) -> dict[str, Any]:
    """An ``aws:sqs`` event carrying ``bodies``, for the integration's own queue."""
    import uuid

    from infra.local.poller import sqs_event

    rt = runtime.runtimes[integration]
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["QueueArn"])
    arn = attrs["Attributes"]["QueueArn"]
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": "switchboard-invoke", "Body": b} for b in bodies
    ]
    return sqs_event(messages, arn, arn.split(":")[3])


def _cmd_urls(args: argparse.Namespace) -> int:
    from infra.ops.urls import print_urls

    print_urls(_target(args), sys.stdout)
    return 0


# --- secrets ---------------------------------------------------------------------------------------


def _cmd_secrets_list(args: argparse.Namespace) -> int:
    from infra.ops.secrets import list_connections

    list_connections(_target(args), sys.stdout)
    return 0


def _cmd_secrets_show(args: argparse.Namespace) -> int:
    from infra.ops.secrets import show_secret

    show_secret(_target(args), args.connection, sys.stdout)
    return 0


def _cmd_secrets_set(args: argparse.Namespace) -> int:
    from infra.ops.secrets import set_secret

    set_secret(_target(args), args.connection, args.assignments, sys.stdout)
    return 0


# --- dead letters ----------------------------------------------------------------------------------


def _cmd_dlq_list(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    target = _target(args)
    if args.integration:
        dlq.list_dlq(target, args.integration, sys.stdout)
        return 0
    for name, count in dlq.counts(target, [s.name for s in load_specs()]):
        print(f"{name:<28} {count:>5} dead letter(s)   {target.queue_name(name, dlq=True)}")
    return 0


def _cmd_dlq_show(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    dlq.show(_target(args), args.id, args.integration, sys.stdout)
    return 0


def _cmd_dlq_replay(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    dlq.replay(_target(args), args.id, args.integration, sys.stdout)
    return 0


def _cmd_dlq_redrive(args: argparse.Namespace) -> int:
    from infra.ops import dlq

    if args.rate is not None and not 1 <= args.rate <= 500:
        raise CliError("--rate must be 1..500 messages per second (SQS's limit for a move task)")
    dlq.redrive(_target(args), args.integration, sys.stdout, rate=args.rate)
    return 0


# --- trace -----------------------------------------------------------------------------------------


def _cmd_setup_hubspot(args: argparse.Namespace) -> int:
    from infra.ops.setup import setup_hubspot

    setup_hubspot(_target(args), sys.stdout)
    return 0


def _cmd_trace(args: argparse.Namespace) -> int:
    from infra.ops.trace import trace

    since_s = _duration_s(args.since)
    found = trace(_target(args), args.event_id, sys.stdout, since_s=since_s)
    return 0 if found else 1


# --- harnesses: chaos and load ---------------------------------------------------------------------


def _add_harness_commands(sub: Any) -> None:
    from infra.ops.chaos import DEFAULT_FAULTS

    chaos = sub.add_parser(
        "chaos", help="prove nothing is lost or doubled: N events against flaky sandboxes (own runtime)"
    )
    chaos.add_argument("--events", type=int, default=300, help="events to send (default 300)")
    chaos.add_argument("--seed", type=int, default=1, help="seed of the plan and of the faults (default 1)")
    chaos.add_argument(
        "--faults",
        default=DEFAULT_FAULTS,
        help=f"kind=rate[@app+app],… of 5xx, 429, timeout, crash, dup, poison (default {DEFAULT_FAULTS})",
    )
    chaos.add_argument(
        "--only",
        default="",
        help="comma-separated integrations to send events to (default: all with a factory)",
    )
    chaos.add_argument(
        "--timeout", type=float, default=900.0, help="seconds each wait for the queues may take (default 900)"
    )
    chaos.add_argument(
        "--token-endpoint-faults",
        action="store_true",
        help="also give OAuth token endpoints late answers and crashes (a rotated refresh token in a lost "
        "answer is gone for good: expect connection_revoked)",
    )
    chaos.add_argument("--json", action="store_true", help="print the result as one JSON object")
    chaos.set_defaults(func=_cmd_chaos)

    load = sub.add_parser("load", help="signed webhooks at a fixed rate against a local runtime of its own")
    load.add_argument("--rps", type=float, default=20.0, help="requests per second (default 20)")
    load.add_argument("--seconds", type=float, default=10.0, help="how long to send (default 10)")
    load.add_argument("--senders", type=int, default=8, help="sending threads (default 8)")
    load.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the queues to drain (default 300)"
    )
    load.add_argument("--json", action="store_true", help="print the result as one JSON object")
    load.set_defaults(func=_cmd_load)


def _cmd_chaos(args: argparse.Namespace) -> int:
    from infra.ops.chaos import ChaosConfig, parse_faults, print_report, run_chaos

    if not 1 <= args.events <= 1_000_000:
        raise CliError("--events must be 1..1000000")
    if not 1 <= args.timeout <= 86_400:
        raise CliError("--timeout must be 1..86400 seconds")
    config = ChaosConfig(
        events=args.events,
        seed=args.seed,
        faults=parse_faults(args.faults),
        drain_timeout_s=args.timeout,
        integrations=tuple(n.strip() for n in args.only.split(",") if n.strip()),
        token_endpoint_faults=args.token_endpoint_faults,
    )
    for name in config.integrations:
        _spec(name)
    report = run_chaos(config)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 0 if report.ok else 1


def _cmd_load(args: argparse.Namespace) -> int:
    from infra.ops.load import LoadConfig, print_report, run_load

    if not 0 < args.rps <= 10_000:
        raise CliError("--rps must be more than 0 and at most 10000")
    if not 0 < args.seconds <= 3_600:
        raise CliError("--seconds must be more than 0 and at most 3600")
    if not 1 <= args.senders <= 256:
        raise CliError("--senders must be 1..256")
    report = run_load(
        LoadConfig(rps=args.rps, seconds=args.seconds, senders=args.senders, drain_timeout_s=args.timeout)
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        print_report(report, sys.stdout)
    return 0 if report.ok else 1


# --- AI-ready: openapi, keys, new ------------------------------------------------------------------


def _add_ai_commands(sub: Any, where: argparse.ArgumentParser) -> None:
    openapi = sub.add_parser(
        "openapi", help="the OpenAPI 3.1 document of every route and the MCP endpoint (or --tools)"
    )
    openapi.add_argument("--server", help="server URL to put in the document (e.g. the API's URL)")
    openapi.add_argument(
        "--tools", action="store_true", help="print the actions as function-calling tool definitions instead"
    )
    openapi.set_defaults(func=_cmd_openapi)

    keys = sub.add_parser("keys", help="API keys of the MCP endpoint: create (shown once), list, revoke")
    keys_sub = keys.add_subparsers(dest="action", required=True, parser_class=_Parser)
    k_create = keys_sub.add_parser("create", parents=[where], help="a new key; printed once, stored hashed")
    k_create.add_argument("--name", required=True, help="who or what uses it, e.g. claude-desktop-anna")
    k_create.add_argument(
        "--tools",
        required=True,
        help="comma-separated tools it may call (stock.get,crm.upsert_contact; * = all)",
    )
    k_create.add_argument("--per-minute", type=int, default=30, help="calls per minute (default 30)")
    k_create.add_argument("--per-day", type=int, default=1000, help="calls per day (default 1000)")
    k_create.set_defaults(func=_cmd_keys_create)
    k_list = keys_sub.add_parser("list", parents=[where], help="every key: id, name, tools, quota, status")
    k_list.set_defaults(func=_cmd_keys_list)
    k_revoke = keys_sub.add_parser("revoke", parents=[where], help="refuse a key from now on")
    k_revoke.add_argument("key", help="the key's id (see keys list) or the key itself")
    k_revoke.set_defaults(func=_cmd_keys_revoke)

    new = sub.add_parser("new", help="scaffold an integration: function, sample event, tests")
    new.add_argument("name", help="lower-case identifier, e.g. booking_reminders")
    new.add_argument("--trigger", required=True, choices=["webhook", "schedule", "event"])
    new.add_argument("--app", required=True, help="the app it calls (a package of apps/: hubspot, slack …)")
    new.add_argument("--description", help="one line for the spec and the README")
    new.set_defaults(func=_cmd_new)


def _cmd_openapi(args: argparse.Namespace) -> int:
    if args.tools:
        from shared.actions import function_schemas

        print(json.dumps(function_schemas(), indent=2))
        return 0
    from shared.openapi import openapi_document

    server = args.server or (_local_state() or {}).get("gateway")
    print(json.dumps(openapi_document(load_specs(), server_url=server), indent=2))
    return 0


def _cmd_keys_create(args: argparse.Namespace) -> int:
    from infra.ops import keys

    tools = [t for t in args.tools.split(",") if t.strip()]
    keys.create(
        _target(args),
        name=args.name,
        tools=tools,
        per_minute=args.per_minute,
        per_day=args.per_day,
        out=sys.stdout,
    )
    return 0


def _cmd_keys_list(args: argparse.Namespace) -> int:
    from infra.ops import keys

    keys.list_(_target(args), sys.stdout)
    return 0


def _cmd_keys_revoke(args: argparse.Namespace) -> int:
    from infra.ops import keys

    keys.revoke(_target(args), args.key, sys.stdout)
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    from infra.ops.scaffold import scaffold

    scaffold(args.name, args.trigger, args.app, sys.stdout, description=args.description)
    return 0


if __name__ == "__main__":
    sys.exit(main())
