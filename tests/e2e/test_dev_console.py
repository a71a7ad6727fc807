"""What ``make dev`` prints, from a real replay of website_to_crm's samples through the local runtime.

One runtime for the module (a replay takes seconds): its samples replayed once, with one sample's
expectation turned wrong on purpose, so the same run shows a failing sample's details, the
``--verbose`` steps, the live console's order and ids that ``switchboard trace`` accepts.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infra.cli import main
from infra.local import replay as replay_module
from infra.local.console import PLAIN_WIDTH, TracePrinter, format_entry
from infra.local.deliveries import ingress_triggers
from infra.local.runtime import LocalRuntime
from infra.local.samples import Sample, load_samples
from shared import trace
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

SPEC = load_spec("website_to_crm")
WRONG = "form_post"  # processed, but its file is made to say dlq


@dataclasses.dataclass
class Replayed:
    runtime: LocalRuntime
    printer: TracePrinter
    results: list[replay_module.ReplayResult]
    drained: bool
    live: str
    state_dir: Path

    def summary(self, *, verbose: bool) -> tuple[str, bool]:
        out = io.StringIO()
        self.printer.console = Console(file=out, highlight=False)
        ok = replay_module.summarise(self.results, self.printer, self.drained, self.runtime, verbose=verbose)
        return out.getvalue(), ok


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replayed]:
    state_dir = tmp_path_factory.mktemp("dev")
    live = io.StringIO()
    printer = TracePrinter(Console(file=live, highlight=False), ingress=ingress_triggers([SPEC]))

    def with_one_wrong(spec: Any) -> list[Sample]:
        return [dataclasses.replace(s, expect="dlq") if s.name == WRONG else s for s in load_samples(spec)]

    runtime = LocalRuntime(
        port=0,
        specs=(SPEC,),
        retry_scale=0.02,
        log_dir=str(state_dir / ".switchboard" / "logs"),
        state_file=state_dir / ".switchboard" / "local.json",
    )
    trace.add_sink(printer)
    try:
        with pytest.MonkeyPatch.context() as patch, runtime:
            patch.setattr(replay_module, "load_samples", with_one_wrong)
            results = replay_module.replay(runtime, printer)
            drained = runtime.wait_drained(60)
            printer.live = False
            yield Replayed(runtime, printer, results, drained, live.getvalue(), state_dir)
    finally:
        trace.remove_sink(printer)
    assert runtime.errors == [], runtime.errors


def first_lines(text: str) -> dict[tuple[str, str], int]:
    """(event id, mark) -> the line number it first appears on."""
    seen: dict[tuple[str, str], int] = {}
    for n, line in enumerate(text.splitlines()):
        fields = line.split()
        for mark in ("→ queued", "▶ processing"):
            if mark in line and len(fields) > 2:
                seen.setdefault((fields[2], mark), n)
    return seen


def test_the_default_summary_is_one_line_per_sample_with_details_only_for_the_failing_one(
    replayed: Replayed,
) -> None:
    text, ok = replayed.summary(verbose=False)
    lines = text.splitlines()
    names = [s.name for s in load_samples(SPEC)]
    rows = [line.split() for line in lines if re.match(r"  (ok |BAD) ", line)]
    assert [row[2] for row in rows] == names
    assert not ok and [row[2] for row in rows if row[0] == "BAD"] == [WRONG]
    assert "processed (expected dlq)" in text
    bad = next(i for i, line in enumerate(lines) if line.startswith("  BAD"))
    details = []
    for line in lines[bad + 1 :]:
        if not line.startswith(" " * 7):
            break
        details.append(line)
    assert any("→ queued" in d for d in details) and any("✔ processed" in d for d in details)
    assert "▶ processing" not in "\n".join(lines[:bad])  # nothing of the samples that did as expected
    assert len(lines) <= len(names) + len(details) + 8
    assert max(len(line) for line in lines) <= PLAIN_WIDTH


def test_verbose_prints_every_step_under_its_sample_in_event_order(replayed: Replayed) -> None:
    text, _ = replayed.summary(verbose=True)
    lines = text.splitlines()
    headings = [line for line in lines if line.startswith("── website_to_crm/")]
    assert [h.split(":")[0].removeprefix("── website_to_crm/") for h in headings] == [
        s.name for s in load_samples(SPEC)
    ]
    with replayed.printer.lock:
        entries = list(replayed.printer.entries)
    for entry in entries:  # every step of every event is there
        assert format_entry(entry, integration_width=16) in lines, entry
    order = first_lines(text)
    processed = [
        (e, n) for (e, mark), n in order.items() if mark == "▶ processing" and (e, "→ queued") in order
    ]
    assert processed, text  # an empty replay must not pass the ordering check below
    for event_id, n in processed:
        assert order[(event_id, "→ queued")] < n
    spam = lines.index(next(h for h in headings if "/form_post_spam:" in h))
    assert "· spam dropped" in lines[spam + 1]


def test_the_live_console_prints_queued_before_processing_for_every_event(replayed: Replayed) -> None:
    order = first_lines(replayed.live)
    queued = {event_id for event_id, mark in order if mark == "→ queued"}
    assert queued, replayed.live
    for event_id in queued:
        assert (event_id, "▶ processing") in order, event_id
        assert order[(event_id, "→ queued")] < order[(event_id, "▶ processing")]


def test_an_id_the_console_prints_is_accepted_by_trace(
    replayed: Replayed, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lead = next(r for r in replayed.results if r.sample.name == "webhook_lead")
    printed = {line.split()[2] for line in replayed.live.splitlines() if "→ queued" in line}
    assert lead.event_ids[0] in printed  # the whole id, as the gateway answered it
    monkeypatch.chdir(replayed.state_dir)
    capsys.readouterr()
    code = main(["trace", lead.event_ids[0]])
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert lead.event_ids[0] in out
