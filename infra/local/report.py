"""The replay summary a person reads in one screen: one aligned line per sample with its outcome.

A sample that did not end as its file says gets its details right under its line (what it should
have done, the error, every trace line of its events); ``--verbose`` prints every sample's steps,
each under its own heading, before the table. Queue counts are words, not JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text

from .console import fit, line_width

if TYPE_CHECKING:
    from .console import TracePrinter
    from .deliveries import Delivery
    from .replay import SampleOutcome

__all__ = ["HINTS", "Summary", "queue_line"]

#: Details under a sample's line start under its integration column.
_INDENT = " " * 7
#: The replay runs on a fresh start only (a kept state is not replayed), so the way to see every
#: step of it starts fresh: a bare ``--verbose`` after a clean stop would print nothing.
HINTS = (
    "every step: make dev FRESH=1 VERBOSE=1 (switchboard dev --fresh --verbose)",
    "one event: switchboard trace <event id>",
)


def queue_line(depths: Mapping[str, tuple[int, int]], drained: bool) -> str:
    """What is left in the queues and the dead-letter queues, in words."""
    pending = ", ".join(f"{name} {n}" for name, (n, _) in sorted(depths.items()) if n)
    dead = ", ".join(f"{name} {n}" for name, (_, n) in sorted(depths.items()) if n)
    queues = f"queues still hold messages: {pending}" if pending else "queues drained"
    if not drained:
        queues += " (they did not drain in time)"
    letters = f"dead-letter queues hold {dead} (switchboard dlq list)" if dead else "dead-letter queues empty"
    return f"{queues}; {letters}"


class Summary:
    """The judged samples and the state of the queues, ready to print."""

    def __init__(
        self,
        outcomes: Sequence[SampleOutcome],
        *,
        drained: bool,
        depths: Mapping[str, tuple[int, int]],
        errors: Sequence[str] = (),
    ) -> None:
        self.outcomes = list(outcomes)
        self.drained = drained
        self.depths = depths
        self.errors = list(errors)

    @property
    def ok(self) -> bool:
        return self.drained and not self.errors and all(o.good for o in self.outcomes)

    def print(self, printer: TracePrinter) -> bool:
        """The table, the queues and the verdict; True if every sample ended as expected."""
        console = printer.console
        width = line_width(console)
        bad = [o for o in self.outcomes if not o.good]
        console.print(Text(f"Sample replay: {len(self.outcomes)} samples", style="bold"), soft_wrap=True)
        integration_w = max([len("integration")] + [len(o.result.sample.integration) for o in self.outcomes])
        sample_w = max([len("sample")] + [len(o.result.sample.name) for o in self.outcomes])
        # On a narrow terminal the sample names give way, not the outcomes.
        said_w = max([len("outcome")] + [len(_said(o)) for o in self.outcomes])
        sample_w = max(12, min(sample_w, width - (7 + integration_w + 2 + 2 + 6 + 2 + said_w)))
        header = (
            f"  {'':<3}  {'integration':<{integration_w}}  {'sample':<{sample_w}}  {'status':>6}  outcome"
        )
        console.print(Text(header, style="dim"), soft_wrap=True)
        for outcome in self.outcomes:
            row = (
                f"  {'ok' if outcome.good else 'BAD':<3}  {outcome.result.sample.integration:<{integration_w}}"
                f"  {fit(outcome.result.sample.name, sample_w):<{sample_w}}  {_status(outcome):>6}  {_said(outcome)}"
            )
            console.print(Text(row, style="" if outcome.good else "bold red"), soft_wrap=True)
            if not outcome.good:
                for line in _details(outcome, printer, width - len(_INDENT)):
                    console.print(Text(_INDENT) + line, soft_wrap=True)
        console.print(fit(queue_line(self.depths, self.drained), width), soft_wrap=True)
        if self.errors:
            console.print(
                Text(
                    fit(f"{len(self.errors)} poller/handler error(s): {self.errors[0]}", width), style="red"
                ),
                soft_wrap=True,
            )
        if self.ok:
            verdict = Text(f"result: all {len(self.outcomes)} samples ended as expected", style="bold green")
        else:
            n = len(bad) or "some"
            verdict = Text(
                f"result: {n} of {len(self.outcomes)} samples did not end as expected", style="bold red"
            )
        console.print(verdict, soft_wrap=True)
        hint = " · ".join(HINTS)
        # One line where it fits; on a narrow terminal one per hint, so none is cut off.
        for tip in [hint] if len(hint) <= width else HINTS:
            console.print(Text(fit(tip, width), style="dim"), soft_wrap=True)
        return self.ok

    def print_steps(
        self,
        printer: TracePrinter,
        other_deliveries: Sequence[Delivery],
        other_loose: Sequence[dict[str, Any]],
    ) -> None:
        """Every trace line, under the heading of the sample it belongs to, each event in order."""
        console = printer.console
        width = line_width(console)
        for outcome in self.outcomes:
            sample = outcome.result.sample
            heading = fit(f"── {sample.integration}/{sample.name}: {sample.description}", width)
            console.print(Text(heading, style="bold"), soft_wrap=True)
            for entry in outcome.entries:
                console.print(printer.line(entry, width), soft_wrap=True)
        if other_deliveries or other_loose:
            heading = "── other events: put on the bus by the workers, or fired by a schedule"
            console.print(Text(fit(heading, width), style="bold"), soft_wrap=True)
            for entry in [*other_loose, *(e for d in other_deliveries for e in d.entries)]:
                console.print(printer.line(entry, width), soft_wrap=True)


def _status(outcome: SampleOutcome) -> str:
    """The HTTP status of a request; '-' for samples put on the bus or a queue (no request)."""
    if outcome.result.error or outcome.result.sample.kind in ("bus", "schedule"):
        return "-"
    return str(outcome.result.status)


def _said(outcome: SampleOutcome) -> str:
    sample, result = outcome.result.sample, outcome.result
    if outcome.good:
        return outcome.observed
    expected_status = sample.expect_status or 202
    wanted = sample.expect + (f", status {expected_status}" if result.status != expected_status else "")
    return f"{outcome.observed} (expected {wanted})"


def _details(outcome: SampleOutcome, printer: TracePrinter, width: int) -> list[Text]:
    sample = outcome.result.sample
    lines = [Text(fit(f"should: {sample.description}", width), style="dim")]
    if outcome.result.error:
        lines.append(Text(fit(f"error: {outcome.result.error}", width), style="red"))
    lines += [printer.line(entry, width) for entry in outcome.entries]
    if len(lines) == 1 and not outcome.result.error:
        lines.append(Text("no trace line: nothing reached a queue or a handler", style="dim"))
    return lines
