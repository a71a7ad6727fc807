"""``switchboard dev``: the local runtime in the foreground, with its URLs and a readable trace.

It replays the sample events on start (unless told not to), then either summarises and stops
(``once``, what CI runs) or serves the webhook URLs until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

from infra.ops.target import CliError

if TYPE_CHECKING:
    from infra.console.server import ConsoleServer
    from infra.local.console import TracePrinter
    from infra.local.persist import StateChoice
    from infra.local.runtime import LocalRuntime

__all__ = ["NEW_SAMPLES", "VERBOSE_NOT_REPLAYED", "serve", "state_lines"]


def serve(
    port: int,
    out: TextIO,
    *,
    once: bool = False,
    replay: bool = True,
    timeout_s: float = 120.0,
    verbose: bool = False,
    keep: bool | None = None,
) -> bool:
    """Run the local runtime on ``port``; with ``once`` whether the replayed samples all did as expected.

    The replay prints one line per sample (``verbose``: every step of every sample); once serving,
    every event that comes in prints one line per step as it happens.
    """
    from infra.local import persist
    from infra.local.console import TracePrinter
    from infra.local.deliveries import ingress_triggers
    from infra.local.runtime import LocalRuntime
    from shared import trace

    console = Console(file=out, highlight=False)
    errors: list[tuple[str, BaseException]] = []

    def on_error(integration: str, exc: BaseException) -> None:
        errors.append((integration, exc))  # for the summary (and the exit status of --once)
        _print_error(integration, exc)

    try:
        state = persist.choose(keep=keep, once=once)  # --keep (default) / --fresh: see persist's docstring
    except persist.SnapshotError as exc:
        raise CliError(str(exc)) from exc
    replay_asked, replay = replay, replay and state.replay
    try:
        runtime = LocalRuntime(port=port, on_error=on_error, restore=state.saved)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{port} ({exc.strerror}); choose another --port") from exc
    runtime.errors = errors
    printer = TracePrinter(
        console,
        quiet=True,
        ingress=ingress_triggers(runtime.specs),
        integration_width=max((len(spec.name) for spec in runtime.specs), default=16),
    )
    trace.add_sink(printer)
    try:
        with runtime:
            console.print(
                f"Switchboard local runtime: gateway {runtime.url}, embedded AWS {runtime.aws_endpoint}",
                soft_wrap=True,
            )
            for line in state_lines(state, replay=replay_asked, verbose=verbose):
                console.print(line, soft_wrap=True)
            ok = (
                _replay(runtime, printer, timeout_s, samples=replay, verbose=verbose)
                if replay or once
                else True
            )
            if once:
                return ok
            _print_urls(runtime, console)
            web = _start_console(runtime, port, console)
            try:
                printer.live = True
                _wait_for_a_stop_signal(console)
            finally:
                if web is not None:
                    web.stop()
            state.save(runtime, lambda line: console.print(line, soft_wrap=True))
    except persist.SnapshotError as exc:
        raise CliError(str(exc)) from exc
    finally:
        trace.remove_sink(printer)
    return True


#: Under a kept state's banner: the samples are not replayed, so this is how a new one is run.
NEW_SAMPLES = (
    "New or changed samples: `switchboard invoke <integration> events/<integration>/<sample>.json` runs one "
    "through a throwaway runtime; `switchboard send <integration> <file>` posts one to this runtime."
)
#: ``--verbose`` on a kept state: nothing is replayed, so it would print nothing without this line.
VERBOSE_NOT_REPLAYED = (
    "--verbose: nothing to show, the samples are not replayed on a kept state; "
    "`make dev FRESH=1 VERBOSE=1` (switchboard dev --fresh --verbose) replays them and prints every step."
)


def state_lines(state: StateChoice, *, replay: bool, verbose: bool) -> list[str]:
    """The banner of the state in effect and, when a kept state skips the replay someone expected,
    what to run instead: a newcomer who restarts ``make dev`` (or adds ``--verbose``) and sees no
    replay must not be left to guess why, nor how to run the sample just written."""
    lines = [state.banner()]
    if replay and not state.replay:
        lines.append(NEW_SAMPLES)
        if verbose:
            lines.append(VERBOSE_NOT_REPLAYED)
    return lines


def _replay(
    runtime: LocalRuntime, printer: TracePrinter, timeout_s: float, *, samples: bool, verbose: bool
) -> bool:
    """Replay the samples (unless not wanted), wait for the queues, print the summary."""
    from infra.local import replay

    console = printer.console
    if samples and not console.is_terminal:
        console.print("Replaying the sample events (events/<integration>/*.json) …", soft_wrap=True)
    with _progress(console) as progress:
        results = []
        if samples:
            task = progress.add_task("replaying the samples", total=None)

            def advance(done: int, total: int) -> None:
                # Drawn at once: the count moves with each sample, not at the next tick of the timer.
                progress.update(
                    task,
                    description=f"replaying the samples {done}/{total}",
                    completed=done,
                    total=total,
                    refresh=True,
                )

            results = replay.replay(runtime, printer, progress=advance)
            progress.update(task, visible=False)
        progress.add_task("waiting for the queues to drain", total=None)
        drained = runtime.wait_drained(timeout_s)
    return replay.summarise(results, printer, drained, runtime, verbose=verbose)


@contextlib.contextmanager
def _progress(console: Console) -> Iterator[Progress]:
    """A progress bar that vanishes when done, on a terminal; elsewhere one that shows nothing."""
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        yield progress


def _print_urls(runtime: LocalRuntime, console: Console) -> None:
    routes = runtime.gateway.routes()
    method_w = max((len(r["method"]) for r in routes), default=4)
    url_w = max((len(r["url"]) for r in routes), default=0)
    console.print(Text(f"Routes (index: {runtime.url}/)", style="bold"), soft_wrap=True)
    for route in routes:
        console.print(
            f"  {route['method']:<{method_w}}  {route['url']:<{url_w}}  {route['integration']}.{route['trigger']}",
            soft_wrap=True,
        )
    names = sorted(runtime.sandboxes)
    name_w = max((len(n) for n in names), default=0)
    console.print(
        Text("Sandbox apps (each: GET …/_state, …/_requests; POST …/_faults)", style="bold"), soft_wrap=True
    )
    for name in names:
        console.print(f"  {name:<{name_w}}  {runtime.url}/_sandbox/{name}/", soft_wrap=True)
    console.print(
        f"JSON logs: {os.environ.get('SWITCHBOARD_LOG_DIR', '.switchboard/logs')}/<integration>.jsonl",
        soft_wrap=True,
    )


def _start_console(runtime: LocalRuntime, port: int, console: Console) -> ConsoleServer | None:
    """The operator console (``switchboard console``) beside the gateway, on the next port (any
    free one when the gateway's is); its URL, with the access token, printed once. A console that
    cannot start costs a line, not the runtime."""
    from pathlib import Path

    from infra.console.server import ConsoleServer
    from infra.ops.target import Target

    log_dir = Path(os.environ.get("SWITCHBOARD_LOG_DIR", ".switchboard/logs")).absolute()
    target = Target(
        stage=runtime.stage,
        region=runtime.region,
        endpoint=runtime.aws_endpoint,
        gateway=runtime.url,
        log_dir=log_dir,
    )
    wanted = port + 1 if port else 0
    try:
        web = ConsoleServer(target, port=wanted).start()
    except (OSError, CliError) as exc:
        console.print(
            f"Console not started ({exc}); start it with `switchboard console --port <free port>`",
            soft_wrap=True,
        )
        return None
    console.print(Text("Console (the link carries its access token)", style="bold"), soft_wrap=True)
    console.print(f"  {web.login_url}", soft_wrap=True)
    return web


def _wait_for_a_stop_signal(console: Console) -> None:
    stop = threading.Event()
    # Explicit handlers: a process started in the background inherits an *ignored* SIGINT, and
    # Python then never raises KeyboardInterrupt.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(
        "\nServing the webhook URLs above; each event prints one line per step below. Ctrl-C to stop.",
        soft_wrap=True,
    )
    console.file.flush()
    while not stop.wait(0.5):
        pass
    console.print("\nstopping", soft_wrap=True)


def _print_error(integration: str, exc: BaseException) -> None:
    print(f"!! {integration}: {type(exc).__name__}: {exc}", file=sys.stderr)
