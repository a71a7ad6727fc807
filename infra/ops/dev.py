"""``switchboard dev``: the local runtime in the foreground, with its URLs and a readable trace.

It replays the sample events on start (unless told not to), then either summarises and stops
(``once``, what CI runs) or serves the webhook URLs until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, TextIO

from infra.ops.target import CliError

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime

__all__ = ["serve"]


def serve(
    port: int, out: TextIO, *, once: bool = False, replay: bool = True, timeout_s: float = 120.0
) -> bool:
    """Run the local runtime on ``port``; with ``once`` whether the replayed samples all did as expected."""
    from infra.local import replay as samples
    from infra.local.console import TracePrinter
    from infra.local.runtime import LocalRuntime
    from shared import trace

    printer = TracePrinter()
    trace.add_sink(printer)
    try:
        runtime = LocalRuntime(port=port, on_error=_print_error)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from exc
    with runtime:
        _print_banner(runtime, out)
        results = samples.replay(runtime, printer) if replay else []
        if once:
            drained = runtime.wait_drained(timeout_s)
            return samples.summarise(results, printer, drained, runtime)
        if results:
            runtime.wait_drained(timeout_s)
            samples.summarise(results, printer, True, runtime)
        _wait_for_a_stop_signal(out)
    return True


def _print_banner(runtime: LocalRuntime, out: TextIO) -> None:
    print(f"Switchboard local runtime (embedded AWS at {runtime.aws_endpoint})", file=out)
    print(f"Gateway: {runtime.url}   (route index: {runtime.url}/)", file=out)
    for route in runtime.gateway.routes():
        print(
            f"  {route['method']:<5} {route['url']:<56} {route['integration']}.{route['trigger']}", file=out
        )
    for name in sorted(runtime.sandboxes):
        print(f"  sandbox {name:<10} {runtime.url}/_sandbox/{name}/   (inspect: GET .../_requests)", file=out)
    print(
        f"JSON logs: {os.environ.get('SWITCHBOARD_LOG_DIR', '.switchboard/logs')}/<integration>.jsonl\n",
        file=out,
    )


def _wait_for_a_stop_signal(out: TextIO) -> None:
    stop = threading.Event()
    # Explicit handlers: a process started in the background inherits an *ignored* SIGINT, and
    # Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print("\nServing the webhook URLs above. Ctrl-C to stop.", file=out, flush=True)
    while not stop.wait(0.5):
        pass
    print("\nstopping", file=out)


def _print_error(integration: str, exc: BaseException) -> None:
    print(f"!! {integration}: {type(exc).__name__}: {exc}", file=sys.stderr)
