"""The local console and the replay summary, fed trace entries directly (no runtime).

What a person reads in ``make dev``: events in the order they happened (``queued`` before
``processing``, whatever thread recorded first), ids printed whole, lines that fit, a summary table
that stays aligned, queue counts in words, a progress bar on a terminal only, and hints that work
as given (a kept state is not replayed, so "every step" starts fresh).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infra.local import persist
from infra.local import replay as replay_module
from infra.local.console import PLAIN_WIDTH, TracePrinter, format_entry
from infra.local.deliveries import DeliveryLog, ingress_triggers
from infra.local.replay import ReplayResult, SampleOutcome
from infra.local.report import HINTS, Summary, queue_line
from infra.local.samples import Sample
from infra.ops import dev
from shared.registry import load_spec
from tests.support import REPO

INGRESS = {("website_to_crm", "webhook")}
LONG_ID = "square:refund:PDBVH6FZ4QAQHXNCPCPVBU7HHXHH4_D5XQ23OASE5DRVY4XRYZ"  # 64 characters, a real one


def entry(stage: str, event_id: str | None = "msg_1", **detail: Any) -> dict[str, Any]:
    return {
        "time": 1_700_000_000.0,
        "integration": "website_to_crm",
        "event_id": event_id,
        "stage": stage,
        **detail,
    }


def printer(**kwargs: Any) -> tuple[TracePrinter, io.StringIO]:
    out = io.StringIO()
    return TracePrinter(Console(file=out), ingress=INGRESS, **kwargs), out


def stages_printed(text: str) -> list[str]:
    marks = {"→ queued": "queued", "▶ processing": "processing", "✓": "effect", "✔ processed": "processed"}
    return [next(s for m, s in marks.items() if m in line) for line in text.splitlines()]


def test_a_processing_line_recorded_before_its_queued_line_is_printed_after_it() -> None:
    sink, out = printer()
    sink(entry("processing", attempt=1, trigger="webhook"))  # the poller's thread was quicker
    sink(entry("effect", step="upsert_contact"))
    assert out.getvalue() == ""  # held until the gateway's line
    sink(entry("queued", trigger="webhook"))
    sink(entry("processed"))
    assert stages_printed(out.getvalue()) == ["queued", "processing", "effect", "processed"]


def test_events_the_gateway_does_not_queue_are_printed_at_once() -> None:
    sink, out = printer()
    sink({**entry("processing", attempt=1, trigger="leads"), "integration": "lead_enrichment"})  # a bus event
    sink(entry("processing", attempt=2, trigger="webhook"))  # a later attempt: its queued line was long ago
    assert stages_printed(out.getvalue()) == ["processing", "processing"]


def test_a_delivery_whose_queued_line_never_comes_is_released() -> None:
    """A message put back by ``dlq replay`` has no ``queued`` line; the console shows it anyway."""
    log = DeliveryLog(INGRESS)
    assert log.add(entry("processing", attempt=1, trigger="webhook")) == []
    held = log.new_hold
    assert held is not None
    assert log.add(entry("processed")) == []
    assert [e["stage"] for e in log.release(held)] == ["processing", "processed"]
    assert log.add(entry("queued", trigger="webhook")) == [entry("queued", trigger="webhook")]  # a new trip


def test_a_resent_webhook_in_flight_with_the_first_is_told_apart_by_thread() -> None:
    """Two messages with one event id in one batch: each keeps its own steps and outcome."""
    log = DeliveryLog(INGRESS)
    log.add(entry("queued", trigger="webhook"))
    log.add(entry("queued", trigger="webhook"))
    log.add(entry("processing", attempt=1, trigger="webhook"), thread=1)
    log.add(entry("processing", attempt=1, trigger="webhook"), thread=2)
    log.add(entry("retry", reason="another worker is processing this event"), thread=2)
    log.add(entry("effect", step="upsert_contact"), thread=1)
    log.add(entry("processed"), thread=1)
    log.add(entry("processing", attempt=2, trigger="webhook"), thread=1)
    log.add(entry("duplicate"), thread=1)
    first, second = log.deliveries
    assert first.stages == ["queued", "processing", "effect", "processed"]
    assert second.stages == ["queued", "processing", "retry", "processing", "duplicate"]


def test_the_console_prints_whole_event_ids_and_fits_the_line() -> None:
    summary = ", ".join(f"field_{n}=value-{n}" for n in range(40))
    line = format_entry(
        {
            **entry("effect", LONG_ID, step="quickbooks.refund", summary=summary),
            "integration": "pos_to_accounting",
        }
    )
    assert LONG_ID in line.split()
    assert len(line) <= PLAIN_WIDTH and line.endswith("…")
    short = format_entry(entry("queued", "sha256-d28e72aeaf615714640184743e750c96935d5073", trigger="form"))
    assert "sha256-d28e72aeaf615714640184743e750c96935d5073" in short.split()


def test_no_colour_codes_when_not_a_terminal() -> None:
    sink, out = printer()
    sink(entry("dlq", error="target_rejected", reason="400"))
    assert "\x1b" not in out.getvalue() and "✖ DLQ" in out.getvalue()
    coloured = io.StringIO()
    TracePrinter(Console(file=coloured, force_terminal=True))(
        entry("dlq", error="target_rejected", reason="x")
    )
    assert "\x1b[" in coloured.getvalue()  # the same line on a terminal is coloured


def test_ingress_triggers_are_the_webhook_and_form_triggers() -> None:
    assert ingress_triggers([load_spec("website_to_crm")]) == {
        ("website_to_crm", "webhook"),
        ("website_to_crm", "tally"),
        ("website_to_crm", "form"),
    }


def test_queue_counts_are_words_not_json() -> None:
    line = queue_line({"website_to_crm": (0, 1), "pos_to_accounting": (2, 3), "mcp": (0, 0)}, drained=False)
    assert not set('{}[]"') & set(line)
    assert "pos_to_accounting 2" in line and "did not drain" in line
    assert "pos_to_accounting 3, website_to_crm 1" in line and "mcp" not in line
    assert queue_line({"a": (0, 0)}, drained=True) == "queues drained; dead-letter queues empty"


def outcome(integration: str, name: str, observed: str, *, expect: str = "processed") -> SampleOutcome:
    sample = Sample(
        path=Path(f"events/{integration}/{name}.json"),
        integration=integration,
        trigger="webhook",
        description=f"what {name} should do",
        expect=expect,  # type: ignore[arg-type]
        expect_status=202,
    )
    event_id = f"id-of-{name}"
    result = ReplayResult(sample, 202, [event_id])
    log = DeliveryLog(INGRESS)
    for stage in ("queued", "processing", observed):
        log.add({**entry(stage, event_id, trigger="webhook"), "integration": integration})
    return SampleOutcome(result, list(log.deliveries), [], observed)


def summary_text(outcomes: list[SampleOutcome]) -> tuple[str, bool]:
    sink, out = printer()
    ok = Summary(outcomes, drained=True, depths={"website_to_crm": (0, 0)}).print(sink)
    return out.getvalue(), ok


def test_the_summary_table_stays_aligned_with_long_names() -> None:
    text, ok = summary_text(
        [
            outcome("website_to_crm", "form_post", "processed"),
            outcome("an_integration_with_a_much_longer_name_than_usual", "x", "processed"),
            outcome("crm", "a_sample_with_a_long_and_descriptive_file_name_indeed", "processed"),
        ]
    )
    lines = text.splitlines()
    header = next(line for line in lines if line.rstrip().endswith("outcome"))
    rows = [line for line in lines if line.startswith("  ok ")]
    assert ok and len(rows) == 3
    # every row's status ends where the header's does, and every outcome starts under "outcome"
    assert {row.index(" 202 ") + 4 for row in rows} == {header.index("status") + len("status")}
    assert {row.index("processed") for row in rows} == {header.index("outcome")}
    sample_col = header.index("sample")
    assert [row[sample_col:].split()[0] for row in rows] == [
        "form_post",
        "x",
        "a_sample_with_a_long_and_descriptive_file_name_indeed",
    ]


def test_a_sample_that_did_not_end_as_expected_shows_its_details() -> None:
    text, ok = summary_text(
        [
            outcome("website_to_crm", "form_post", "processed"),
            outcome("website_to_crm", "bad", "processed", expect="dlq"),
        ]
    )
    assert not ok
    lines = text.splitlines()
    bad = next(i for i, line in enumerate(lines) if line.startswith("  BAD"))
    assert "processed (expected dlq)" in lines[bad]
    details = lines[bad + 1 : bad + 5]
    assert "what bad should do" in details[0]
    assert [re.search(r"(→ queued|▶ processing|✔ processed)", d).group(1) for d in details[1:]] == [  # type: ignore[union-attr]
        "→ queued",
        "▶ processing",
        "✔ processed",
    ]
    assert all("id-of-bad" in d for d in details[1:])
    assert "id-of-form_post" not in text  # the good sample's steps stay out of the way
    assert "1 of 2 samples did not end as expected" in text


@pytest.mark.parametrize("verbose", [False, True])
def test_no_line_is_wider_than_a_plain_line(verbose: bool) -> None:
    long_desc = outcome("website_to_crm", "form_post", "processed", expect="dlq")
    object.__setattr__(long_desc.result.sample, "description", "x" * 400)
    sink, out = printer()
    summary = Summary([long_desc], drained=True, depths={})
    if verbose:
        summary.print_steps(sink, [], [])
    summary.print(sink)
    assert max(len(line) for line in out.getvalue().splitlines()) <= PLAIN_WIDTH


class _Runtime:
    """What the replay step asks of a runtime: only whether the queues drained."""

    def wait_drained(self, timeout_s: float) -> bool:
        return True


def replay_through_dev(console: Console, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """``switchboard dev``'s replay step, with two samples that each report their progress."""
    reported: list[tuple[int, int]] = []

    def two_samples(runtime: object, printer: TracePrinter, *, progress: Any) -> list[ReplayResult]:
        for done in (1, 2):
            progress(done, 2)
            reported.append((done, 2))
        return []

    monkeypatch.setattr(replay_module, "replay", two_samples)
    monkeypatch.setattr(replay_module, "summarise", lambda *args, **kwargs: True)
    ok = dev._replay(_Runtime(), TracePrinter(console), 5.0, samples=True, verbose=False)  # type: ignore[arg-type]
    assert ok and reported == [(1, 2), (2, 2)]
    return reported


def test_the_replay_shows_a_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    replay_through_dev(Console(file=out, force_terminal=True, width=100), monkeypatch)
    drawn = out.getvalue()
    assert "replaying the samples 1/2" in drawn and "replaying the samples 2/2" in drawn
    assert "waiting for the queues to drain" in drawn
    assert "Replaying the sample events" not in drawn  # the bar says it; no plain line besides


def test_no_progress_bar_when_the_output_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    replay_through_dev(Console(file=out), monkeypatch)
    assert out.getvalue() == "Replaying the sample events (events/<integration>/*.json) …\n"


def test_the_every_step_hint_starts_fresh_and_one_line_fits_or_one_per_hint() -> None:
    """A kept state is not replayed, so ``switchboard dev --verbose`` alone would print no step."""
    text, _ = summary_text([outcome("website_to_crm", "form_post", "processed")])
    last = text.splitlines()[-1]
    assert last == " · ".join(HINTS)
    assert "make dev FRESH=1 VERBOSE=1" in last and "switchboard dev --fresh --verbose" in last
    narrow = io.StringIO()
    sink = TracePrinter(Console(file=narrow, force_terminal=True, width=80, color_system=None))
    Summary([], drained=True, depths={}).print(sink)
    assert narrow.getvalue().splitlines()[-2:] == list(HINTS)  # neither cut off on 80 columns


def test_the_make_command_of_the_hint_runs_the_switchboard_command_it_names() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    make, named = re.fullmatch(r"every step: (make dev .+) \((switchboard dev .+)\)", HINTS[0]).groups()  # type: ignore[union-attr]
    ran = subprocess.run(
        [*make.split(), "-n", "--no-print-directory", "PORT=8787"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()[-1]
    assert ran.split() == [".venv/bin/switchboard", "dev", "--port", "8787", *named.split()[2:]]


def saved_state() -> persist.StateChoice:
    snap = persist.Snapshot(
        saved_at="2026-12-05 18:54:14",
        stage="local",
        sandbox_url="http://127.0.0.1:8787/_sandbox",
        table="ledger",
        items=[],
        secrets={},
        queues={},
        standins={},
    )
    return persist.StateChoice(keep=True, path=persist.SNAPSHOT_FILE, saved=snap)


def test_a_kept_state_that_skips_the_replay_says_how_to_run_a_new_sample() -> None:
    state = saved_state()
    lines = dev.state_lines(state, replay=True, verbose=False)
    assert lines == [state.banner(), dev.NEW_SAMPLES]
    assert "switchboard invoke <integration> events/<integration>/<sample>.json" in lines[1]
    assert "switchboard send <integration> <file>" in lines[1]
    assert dev.state_lines(state, replay=False, verbose=False) == [
        state.banner()
    ]  # --no-replay: asked for none


def test_verbose_on_a_kept_state_says_why_it_prints_no_step_and_what_does() -> None:
    lines = dev.state_lines(saved_state(), replay=True, verbose=True)
    assert lines[-1] == dev.VERBOSE_NOT_REPLAYED
    assert "switchboard dev --fresh --verbose" in lines[-1] and "make dev FRESH=1 VERBOSE=1" in lines[-1]


@pytest.mark.parametrize("once", [False, True])
def test_a_fresh_start_replays_and_needs_no_such_line(once: bool) -> None:
    state = persist.StateChoice(keep=False, path=persist.SNAPSHOT_FILE, once=once)
    assert state.replay
    assert dev.state_lines(state, replay=True, verbose=True) == [state.banner()]
