"""`make bench` keeps working, its gate judges figures as it says, and the performance page is the
recorded run's.

The harness runs end to end at its tiny size - only that it runs and reports every figure, never the
figures themselves: this machine is shared and noisy. The regression gate, the bench.json document
and the page generator are tested on figures made up here, and the committed page against the
committed record.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks import __main__ as bench_main
from benchmarks import report
from benchmarks.figures import (
    RECORDED,
    TIMES,
    Bench,
    BenchInvalid,
    BenchNotRecorded,
    Figure,
    Machine,
    _cpu_model,
    load,
    parse,
    save,
)
from benchmarks.gate import NOISE_FLOOR, compare, failures
from benchmarks.noise import block_noise, combined, relative_iqr

REPO = Path(__file__).resolve().parents[1]
HERE = Machine(cpu="Test CPU 3000", cores=2, python="3.11.7", system="Linux")


def bench(*figures: Figure, machine: Machine = HERE, at: str = "2026-12-01T10:00:00Z") -> Bench:
    return Bench(measured_at=at, machine=machine, figures=figures, elapsed_s=120.0, sizes={"cold": 11})


def ms(key: str, value: float, noise: float | None = 0.05) -> Figure:
    return Figure(key=key, label=f"{key} (ms)", unit="ms", value=value, noise=noise, repeats=11)


# --- the harness, tiny ------------------------------------------------------------------------------------


def test_bench_runs_at_tiny_size_reports_every_figure_and_writes_nothing(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT", "POWERTOOLS_METRICS_DISABLED"))
    }
    recorded, out = tmp_path / "results" / "bench.json", tmp_path / "scratch"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--tiny", "--recorded", str(recorded), "--out", str(out)],
        cwd=REPO,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(tmp_path.iterdir()) == [], "--tiny wrote figures"
    assert "compared with" not in done.stdout, "--tiny compared its figures with a record"
    doc = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert doc["tiny"] is True
    tiny = parse(doc)
    assert tiny.machine.cores >= 1 and tiny.machine.python and tiny.machine.cpu
    figures = tiny.by_key()
    for key in ("ingest", "ingest_own", "worker_overhead", "batch_ratio", "peak_rss"):
        assert key in figures, key
        assert figures[key].target is not None and figures[key].met is not None, key
    # Every timed figure carries the noise measured in its run.
    for key in ("ingest", "ingest_own", "worker_overhead", "batch_ratio"):
        assert figures[key].noise is not None, key
    from shared.registry import load_specs

    names = [s.name for s in load_specs()]
    for name in names:
        cold = figures.get(f"cold_start.{name}") or figures.get(f"cold_start_worker.{name}")
        assert cold is not None, f"no cold start figure for {name}"
        if cold.judge == "ratio":  # answered a request, against the baseline
            assert cold.baseline and cold.noise is not None and cold.met is not None, name
        assert f"usd_per_million.{name}" in figures, name
        assert f"dynamodb_requests.{name}" in figures, name
    answered = [k for k in figures if k.startswith("cold_start.")]
    assert {"cold_start.website_to_crm", "cold_start.stock_level", "cold_start.mcp"} <= set(answered)
    assert figures["cold_start.stock_level"].label.startswith("cold start, fresh process → 200 to a route")
    assert figures["batch_ratio"].baseline and figures["batch_ratio"].unit == TIMES
    assert figures["dynamodb_requests.mcp"].value == 0
    assert figures["dynamodb_requests.website_to_crm"].value > 0
    # The billed request counts are counted in the run, not fixed numbers, for every integration with
    # a sample: a webhook is one HTTP API request and two Lambda invocations (ingress, worker) and SQS
    # counts the function's send and the event source's receive and delete (the poller's, against the
    # counting fake); a bus event or a schedule tick is one invocation and the same three SQS requests.
    counted = dict(
        re.findall(r"^  (\w+) billed requests per event \(measured\): ([^;]+);", done.stdout, re.M)
    )
    assert counted["website_to_crm"] == "http_api 1, lambda 2, sqs 3"
    assert counted["lead_enrichment"] == "http_api 0, lambda 1, sqs 3"
    assert counted["daily_sales_report"] == "http_api 0, lambda 1, sqs 3"
    assert counted["stock_level"] == "http_api 1, lambda 1, sqs 0"  # a synchronous route
    for key, fig in figures.items():
        if key.startswith("usd_per_million."):
            assert fig.value > 0, key
    assert "sqs.ReceiveMessage" in done.stdout and "sqs.DeleteMessageBatch" in done.stdout
    # The one assumption, stated once: the latency of a SaaS call.
    assert re.search(r"x \d+ ms each \(assumed\)", done.stdout)
    assert any("assumed to take" in note for note in tiny.notes)


def test_peak_rss_is_the_childs_own_not_its_parents() -> None:
    """A parent far bigger than a worker batch must not lend the child its high-water mark."""
    child = """
from benchmarks.harness import peak_rss_mb
held = bytearray(400 * 1024 * 1024)
for i in range(0, len(held), 4096):
    held[i] = 1
print(peak_rss_mb())
"""
    done = subprocess.run(
        [sys.executable, "-c", child],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert 20 < float(done.stdout.strip().splitlines()[-1]) < 400


def test_tiny_cannot_record() -> None:
    with pytest.raises(SystemExit):
        bench_main.main(["--tiny", "--record"])


# --- noise --------------------------------------------------------------------------------------------------


def test_noise_is_the_relative_interquartile_spread() -> None:
    assert relative_iqr([10.0, 10.0, 10.0]) == 0
    assert relative_iqr([8.0, 9.0, 10.0, 11.0, 12.0]) == pytest.approx(2 / 10)
    assert relative_iqr([5.0]) is None
    assert relative_iqr([0.0, 0.0]) is None
    # Blocks: ten blocks of equal medians have no spread, however wide each request's own.
    samples = [1.0, 100.0] * 50
    assert relative_iqr(samples) == pytest.approx(99 / 50.5)
    assert block_noise(samples) == 0
    assert block_noise([1.0] * 5) is None  # fewer samples than blocks
    drift = [float(i // 10) + 10 for i in range(100)]  # a neighbour's load, growing through the run
    assert block_noise(drift) == pytest.approx(relative_iqr([10.0 + i for i in range(10)]))
    assert combined(0.03, 0.04) == pytest.approx(0.05)
    assert combined(None, 0.04) == pytest.approx(0.04)
    assert combined(None, None) is None


# --- the document -------------------------------------------------------------------------------------------


def test_bench_json_round_trips_with_date_machine_targets_and_noise(tmp_path: Path) -> None:
    cold = Figure(
        key="cold_start.hook",
        label="cold start",
        unit="ms",
        value=480.0,
        judge="ratio",
        baseline=300.0,
        target=1.3,
        noise=0.06,
        repeats=11,
        portable=True,
    )
    original = bench(cold, ms("worker_overhead", 0.3))
    save(original, tmp_path / "bench.json")
    raw = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert raw["date"] == "2026-12-01"
    assert raw["machine"] == {"cpu": "Test CPU 3000", "cores": 2, "python": "3.11.7", "system": "Linux"}
    assert raw["figures"][0] | {"ratio": 1.6, "met": False} == raw["figures"][0]
    assert load(tmp_path / "bench.json") == original


def test_a_missing_or_malformed_record_is_named(tmp_path: Path) -> None:
    with pytest.raises(BenchNotRecorded, match=r"no recorded figures yet .* `make bench RECORD=1`"):
        load(tmp_path / "bench.json")
    (tmp_path / "bench.json").write_text("{", encoding="utf-8")
    with pytest.raises(BenchInvalid, match="not JSON"):
        load(tmp_path / "bench.json")
    good = bench(ms("a", 1.0)).to_json()
    with pytest.raises(BenchInvalid, match="schema 0"):
        parse({**good, "schema": 0})
    with pytest.raises(BenchInvalid, match="figure 'a' lacks value"):
        parse({**good, "figures": [{k: v for k, v in good["figures"][0].items() if k != "value"}]})
    with pytest.raises(BenchInvalid, match="machine"):
        parse({k: v for k, v in good.items() if k != "machine"})
    with pytest.raises(BenchInvalid, match="named twice: a"):
        bench(ms("a", 1.0), ms("a", 2.0))
    with pytest.raises(BenchInvalid, match="judged on its ratio but has no baseline"):
        Figure(key="r", label="r", unit="ms", value=1.0, judge="ratio")


def test_the_machine_is_read_from_the_standard_library(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Example CPU @ 2.0GHz\n", encoding="utf-8")
    assert _cpu_model(cpuinfo) == "Example CPU @ 2.0GHz"
    assert _cpu_model(tmp_path / "absent")  # platform's answer, never empty
    here = Machine.here()
    assert here.cores == os.cpu_count() and here.python == sys.version.split()[0]


# --- the gate -----------------------------------------------------------------------------------------------


def test_the_gate_tells_better_same_worse_missing_and_new() -> None:
    recorded = bench(
        ms("better", 100.0),
        ms("within_noise", 100.0, noise=0.10),
        ms("past_noise", 100.0, noise=0.10),
        ms("gone", 100.0),
    )
    new = bench(
        ms("better", 80.0),
        ms("within_noise", 109.0, noise=0.02),  # the recorded run's 10% is the margin
        ms("past_noise", 111.0, noise=0.02),
        ms("added", 5.0),
    )
    verdicts = {v.key: v for v in compare(recorded, new)}
    assert {k: v.outcome for k, v in verdicts.items()} == {
        "better": "better",
        "within_noise": "same",
        "past_noise": "worse",
        "added": "new",
        "gone": "missing",
    }
    assert [v.key for v in failures(verdicts.values())] == ["past_noise", "gone"]
    line = verdicts["past_noise"].line()
    assert line.startswith("WORSE") and "past_noise" in line
    assert "recorded 100 ms" in line and "now 111 ms" in line and "margin 10.0%" in line
    assert "recorded 100 ms, not measured in this run" in verdicts["gone"].line()


def test_the_margin_is_the_larger_noise_never_below_the_floor() -> None:
    recorded = bench(ms("quiet", 100.0, noise=0.001), ms("count", 10.0, noise=None))
    slower = bench(ms("quiet", 100.0 * (1 + NOISE_FLOOR) + 0.5, noise=0.002), ms("count", 10.2, noise=None))
    verdicts = {v.key: v for v in compare(recorded, slower)}
    assert verdicts["quiet"].outcome == "worse" and verdicts["quiet"].margin == NOISE_FLOOR
    assert verdicts["count"].outcome == "same"  # 2% more: within the floor
    noisier = bench(ms("quiet", 120.0, noise=0.25), ms("count", 11.0, noise=None))
    verdicts = {v.key: v for v in compare(recorded, noisier)}
    assert verdicts["quiet"].outcome == "same" and verdicts["quiet"].margin == 0.25
    assert verdicts["count"].outcome == "worse"
    # A figure that was zero and is not any more got worse, whatever the margin.
    assert compare(bench(ms("z", 0.0)), bench(ms("z", 1.0)))[0].outcome == "worse"


def test_a_ratio_figure_is_judged_on_its_ratio_and_compared_across_machines() -> None:
    def cold(value: float, baseline: float) -> Figure:
        return Figure(
            key="cold_start.hook",
            label="cold start",
            unit="ms",
            value=value,
            judge="ratio",
            baseline=baseline,
            target=1.3,
            noise=0.04,
            portable=True,
        )

    elsewhere = Machine(cpu="Other CPU", cores=8, python="3.12.1")
    recorded = bench(cold(400.0, 300.0), ms("worker_overhead", 0.3))
    # Twice as slow on both sides on another machine: the same ratio, no regression; the absolute
    # figure is not compared at all.
    slower_machine = bench(cold(800.0, 600.0), ms("worker_overhead", 0.9), machine=elsewhere)
    verdicts = {v.key: v for v in compare(recorded, slower_machine)}
    assert verdicts["cold_start.hook"].outcome == "same"
    assert verdicts["worker_overhead"].outcome == "not compared"
    assert "another machine" in verdicts["worker_overhead"].line()
    assert failures(verdicts.values()) == []
    # Only Switchboard's side slower: the ratio got worse.
    worse = compare(recorded, bench(cold(480.0, 300.0), ms("worker_overhead", 0.3)))
    assert worse[0].outcome == "worse" and worse[0].unit == TIMES


def test_the_full_run_fails_on_a_regression_and_records_only_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded, out = tmp_path / "results" / "bench.json", tmp_path / "scratch"
    cost: dict[str, Any] = {"integrations": [], "measured_at": "2026-12-02"}
    first = bench(ms("worker_overhead", 0.30, noise=0.05))
    # Nothing recorded: nothing to compare with; the run's figures go to the scratch folder only, the
    # cost figures (what `switchboard cost` prices) beside the record, as every full run writes them.
    assert bench_main.finish(first, cost, record=False, recorded=recorded, out=out) == 0
    assert not recorded.exists() and load(out / "bench.json") == first
    assert json.loads((recorded.parent / "cost.json").read_text(encoding="utf-8")) == cost
    assert "make bench RECORD=1" in capsys.readouterr().out
    # Recorded.
    assert bench_main.finish(first, cost, record=True, recorded=recorded, out=out) == 0
    assert load(recorded) == first
    assert "make perf-docs" in capsys.readouterr().out
    # A regression past the noise: exit 1 after printing everything, the record unchanged.
    slower = bench(ms("worker_overhead", 0.40, noise=0.05), ms("peak_rss", 150.0))
    assert bench_main.finish(slower, cost, record=False, recorded=recorded, out=out) == 1
    printed = capsys.readouterr()
    assert "new      peak_rss" in printed.out
    assert "WORSE    worker_overhead: recorded 0.3 ms, now 0.4 ms (+33.3%; margin 5.0%)" in printed.err
    assert "make bench RECORD=1" in printed.err
    assert load(recorded) == first and load(out / "bench.json") == slower
    # Recording it accepts it.
    assert bench_main.finish(slower, cost, record=True, recorded=recorded, out=out) == 0
    assert load(recorded) == slower
    # An unreadable record is said, not compared past.
    recorded.write_text("{}", encoding="utf-8")
    assert bench_main.finish(slower, cost, record=False, recorded=recorded, out=out) == 2
    assert "unreadable" in capsys.readouterr().err


# --- the page -----------------------------------------------------------------------------------------------

PAGE = f"""# Performance

Prose before, kept.

{report.BEGIN}
hand-copied figures, replaced
{report.END}

Prose after, kept.
"""


def _page_bench() -> Bench:
    return bench(
        Figure(
            key="cold_start.website_to_crm",
            label="cold start, fresh process → 202 to a webhook: website_to_crm (ms, median of 11)",
            unit="ms",
            value=484.0,
            judge="ratio",
            baseline=279.0,
            target=1.3,
            noise=0.061,
            repeats=11,
            portable=True,
        ),
        Figure(
            key="ingest_own",
            label="… of which Switchboard's own work (µs, median of 5000)",
            unit="µs",
            value=83.2,
            baseline=11.0,
            target=100.0,
            noise=0.012,
        ),
        Figure(
            key="usd_per_million.mcp", label="$ per million events, mcp", unit="$", value=1.309, target=5.0
        ),
        Figure(key="something_else", label="a figure of no section", unit="MB", value=139.0),
    )


def test_the_page_is_written_between_its_markers_from_the_record() -> None:
    written = report.rewrite(PAGE, _page_bench())
    assert written.startswith("# Performance\n\nProse before, kept.\n\n" + report.BEGIN)
    assert written.endswith(report.END + "\n\nProse after, kept.\n")
    assert "hand-copied" not in written
    assert (
        "Measured 2026-12-01 on Test CPU 3000, 2 cores, Python 3.11.7, Linux; the full run took 120 s"
        in written
    )
    rows = [line for line in written.splitlines() if line.startswith("| ")]
    assert (
        "| cold start, fresh process → 202 to a webhook: website_to_crm (ms, median of 11) | 484 ms | 279 ms "
        f"| 1.73 | ≤ 1.30{TIMES} | **missed** | ±6.1% |"
    ) in rows
    assert (
        "| … of which Switchboard's own work (µs, median of 5000) | 83.2 µs | 11.0 µs | 7.56 | ≤ 100 µs | met | ±1.2% |"
        in rows
    )
    assert "| $ per million events, mcp | $1.31 |  |  | ≤ $5.00 | met | — |" in rows
    assert "### Other" in written and "| a figure of no section | 139 MB |" in written
    assert report.rewrite(written, _page_bench()) == written  # idempotent


def test_a_page_without_its_markers_is_refused() -> None:
    for page in ("# no markers\n", f"{report.END}\n{report.BEGIN}\n", PAGE + report.BEGIN):
        with pytest.raises(report.PageMarkersMissing, match="exactly one figures block"):
            report.rewrite(page, _page_bench())


def test_the_generator_says_when_there_is_no_record_and_checks_a_stale_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "performance.md"
    page.write_text(PAGE, encoding="utf-8")
    absent = tmp_path / "bench.json"
    assert report.main(["--bench", str(absent), "--page", str(page)]) == 2
    assert "no recorded figures yet" in capsys.readouterr().err
    assert page.read_text(encoding="utf-8") == PAGE
    save(_page_bench(), absent)
    assert report.main(["--bench", str(absent), "--page", str(page), "--check"]) == 1
    assert page.read_text(encoding="utf-8") == PAGE
    assert report.main(["--bench", str(absent), "--page", str(page)]) == 0
    assert report.main(["--bench", str(absent), "--page", str(page), "--check"]) == 0


def test_the_committed_page_is_what_the_committed_record_makes() -> None:
    page = report.PAGE.read_text(encoding="utf-8")
    assert page.count(report.BEGIN) == 1 and page.count(report.END) == 1
    if not RECORDED.exists():
        pytest.skip("no recorded bench.json yet: `make bench RECORD=1`, then `make perf-docs`")
    assert page == report.rewrite(page, load(RECORDED)), "docs/performance.md is stale: run make perf-docs"
