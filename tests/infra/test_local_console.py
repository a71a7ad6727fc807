"""The local console and the replay summary, fed trace entries directly (no runtime).

What a person reads in ``make dev``: events in the order they happened (``queued`` before
``processing``, whatever thread recorded first), ids printed whole, lines that fit, a summary table
that stays aligned and queue counts in words.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from infra.local.console import PLAIN_WIDTH, TracePrinter, format_entry
from infra.local.deliveries import DeliveryLog, ingress_triggers
from infra.local.replay import ReplayResult, SampleOutcome
from infra.local.report import Summary, queue_line
from infra.local.samples import Sample
from shared.registry import load_spec

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
