"""``switchboard``: run Switchboard locally, send sample events, invoke a handler.

    switchboard dev [--port 8787] [--once] [--no-replay]
    switchboard send <integration> <event-file> [--url URL] [--stage STAGE]
    switchboard invoke <integration> <event-file>
    switchboard urls

Every error a user can cause is a one-line message that says what to fix, and a non-zero exit.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from shared.registry import load_spec, load_specs
from shared.spec import FormTrigger, IntegrationSpec, WebhookTrigger

__all__ = ["main"]


class CliError(Exception):
    """A mistake the user can fix; printed as ``switchboard: <message>``, exit status 2."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except CliError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="switchboard", description="Serverless connectors for a small business's tools."
    )
    sub = p.add_subparsers(dest="command", required=True)

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

    invoke = sub.add_parser("invoke", help="run an integration's handler once with an event file")
    invoke.add_argument("integration")
    invoke.add_argument("event_file", type=Path)
    invoke.set_defaults(func=_cmd_invoke)

    urls = sub.add_parser("urls", help="print the webhook URLs of the running local runtime")
    urls.set_defaults(func=_cmd_urls)
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
    try:
        raw = json.loads(args.event_file.read_text())
    except (OSError, ValueError) as exc:
        raise CliError(f"{args.event_file}: not a readable JSON file ({exc})") from exc
    printer = TracePrinter()
    trace.add_sink(printer)
    with LocalRuntime(port=0, pollers=False, state_file=None) as runtime:
        if isinstance(raw, dict) and "trigger" in raw:  # a sample: build the signed API Gateway request
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


def _cmd_urls(args: argparse.Namespace) -> int:
    state = _local_state()
    if not state:
        raise CliError(
            "no local runtime is running; start one with `make dev` (deployed stages: see cdk outputs)"
        )
    for spec in load_specs():
        for t in spec.http_triggers:
            print(f"{t.method:<5} {state['gateway']}{t.path:<40} {spec.name}.{t.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
