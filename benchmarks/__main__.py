"""``make bench``: Switchboard's performance figures, each with its target, against baselines measured
in the same run, compared with the recorded figures.

    python -m benchmarks            # full size (under 5 minutes on 2 cores); fails on a regression
    python -m benchmarks --record   # the same, then records the figures (make bench RECORD=1)
    python -m benchmarks --tiny     # seconds; what `make test` runs to keep the harness working

Prints a table (value, baseline, ratio, target, met, noise), what each integration's events make AWS
bill, and one JSON line: the run's document (:mod:`benchmarks.figures`). The full run then compares
every figure with the recorded ``benchmarks/results/bench.json`` (:mod:`benchmarks.gate`) and exits
1 when one got worse by more than its noise, or is no longer measured. Without ``--record`` the run's
figures go to ``.switchboard/bench/bench.json`` and the record is left alone; with it they become the
recorded ones, which the docs' performance page is generated from (``make perf-docs``). Every full
run, as before, writes what each integration's events cost AWS to ``benchmarks/results/cost.json``
(what ``switchboard cost`` prices). ``--tiny`` never writes and never compares: its figures are too
small to mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import cold_start, collect, harness
from . import cost as cost_bench
from .figures import RECORDED, TIMES, Bench, BenchInvalid, BenchNotRecorded, Figure, load, save
from .gate import compare, failures

#: Where a run that is not recorded leaves its figures (ignored by git; ``make clean`` removes it).
SCRATCH = harness.REPO / ".switchboard" / "bench"

SIZES = {
    "full": {"cold": 11, "ingest": 5000, "worker": 300, "batch": 5, "cost": 120, "cold_imports": 3},
    "tiny": {"cold": 2, "ingest": 200, "worker": 20, "batch": 2, "cost": 4, "cold_imports": 1},
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="smallest sizes: checks the harness, not the figures"
    )
    parser.add_argument(
        "--record",
        action="store_true",
        help="record this run's figures as the ones later runs are compared with (full run only)",
    )
    parser.add_argument(
        "--recorded",
        type=Path,
        default=RECORDED,
        help="the recorded figures to compare with and, with --record, to write "
        "(default benchmarks/results/bench.json; the full run's cost.json goes beside it)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=SCRATCH,
        help="where a run that is not recorded writes its bench.json (default .switchboard/bench)",
    )
    args = parser.parse_args(argv)
    if args.tiny and args.record:
        parser.error("--record needs the full run: --tiny's figures are too small to compare with")

    bench, cost_results = measure(SIZES["tiny" if args.tiny else "full"])
    print(json.dumps({**bench.to_json(), "tiny": args.tiny}, separators=(",", ":"), ensure_ascii=False))
    if args.tiny:
        return 0
    return finish(bench, cost_results, record=args.record, recorded=args.recorded, out=args.out)


def measure(sizes: dict[str, int]) -> tuple[Bench, dict[str, Any]]:
    """Every measurement at ``sizes``; prints the table and the cost details as it goes."""
    from shared.registry import load_specs

    # Measure what Lambda does: metrics on (EMF lines are log bytes too), no local log files.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    os.environ.pop("SWITCHBOARD_LOG_DIR", None)
    started = time.perf_counter()

    cold = cold_start.cold_starts(sizes["cold"])
    ingest = harness.warm_ingest(sizes["ingest"])
    worker = harness.worker_overhead(sizes["worker"])
    batch = harness.batch_concurrency(sizes["batch"])
    rss = harness.peak_rss_mb()
    measured = cost_bench.measure_all(sizes["cost"], sizes["cold_imports"])
    cost_results: dict[str, Any] = {
        "measured_at": time.strftime("%Y-%m-%d", time.gmtime()),
        "target_call_ms_assumed": cost_bench.TARGET_CALL_MS,
        "tiny": sizes == SIZES["tiny"],
        "integrations": [m.to_json() for m in measured],
    }
    per_million = cost_bench.usd_per_million(cost_results)
    cost_results["usd_per_million"] = per_million
    bench = collect.build(
        cold=cold,
        ingest=ingest,
        worker=worker,
        batch=batch,
        rss_mb=rss,
        measured=measured,
        per_million=per_million,
        sizes=sizes,
        integrations=[s.name for s in load_specs()],
        elapsed_s=time.perf_counter() - started,
    )
    print_table(bench.figures)
    for m in measured:
        print(
            f"  {m.integration} billed requests per event (measured): http_api {m.http_api_requests:g}, "
            f"lambda {m.lambda_invocations:g}, sqs {m.sqs_requests:g}; AWS calls per event (measured): "
            f"{json.dumps({k: round(v, 3) for k, v in m.aws_calls.items()})}; target calls "
            f"{m.target_calls:.2f} (measured) x {cost_bench.TARGET_CALL_MS:.0f} ms each (assumed)"
        )
    for note in bench.notes:
        print(f"  {note}")
    print(
        f"  priced by infra/cost (switchboard cost); measured on {bench.machine.describe()}; "
        f"elapsed {bench.elapsed_s:.0f} s"
    )
    return bench, cost_results


def print_table(figures: Sequence[Figure]) -> None:
    width = min(110, max(len(f.label) for f in figures))
    print(
        f"{'figure':<{width}} {'value':>10} {'baseline':>10} {'ratio':>7} {'target':>9} {'met':>6} {'noise':>7}"
    )
    for f in figures:
        base = f"{f.baseline:10.2f}" if f.baseline is not None else " " * 10
        ratio = f"{f.ratio:7.2f}" if f.ratio is not None else " " * 7
        target = f"≤{f.target:g}{TIMES if f.judge == 'ratio' else ''}" if f.target is not None else ""
        met = {None: "", True: "met", False: "MISSED"}[f.met]
        noise = f"±{f.noise:.1%}" if f.noise is not None else ""
        label = f.label if len(f.label) <= width else f.label[: width - 1] + "…"
        print(f"{label:<{width}} {f.value:10.2f} {base} {ratio} {target:>9} {met:>6} {noise:>7}")


def finish(bench: Bench, cost_results: dict[str, Any], *, record: bool, recorded: Path, out: Path) -> int:
    """Compare with the recorded figures, write the run's, and say what the exit code means."""
    unreadable = ""
    try:
        previous: Bench | None = load(recorded)
    except BenchNotRecorded:
        previous = None
        print(f"\nno recorded figures at {recorded}: nothing to compare with")
    except BenchInvalid as exc:
        previous, unreadable = None, str(exc)
        print(f"\nthe recorded figures are unreadable: {exc}")
    regressions = []
    if previous is not None:
        print(f"\ncompared with the figures recorded {previous.date} on {previous.machine.describe()}:")
        verdicts = compare(previous, bench)
        for verdict in verdicts:
            print(f"  {verdict.line()}")
        regressions = failures(verdicts)

    target = recorded if record else out / "bench.json"
    save(bench, target)
    cost_path = recorded.parent / "cost.json"
    cost_path.parent.mkdir(parents=True, exist_ok=True)
    cost_path.write_text(json.dumps(cost_results, indent=1) + "\n", encoding="utf-8")
    print(f"\nthe cost figures: {cost_path}")
    if record:
        print(f"recorded: {target}; regenerate the page with: make perf-docs")
        return 0
    print(f"this run's figures: {target} (the record is unchanged)")
    if unreadable:
        print(
            f"not compared: the recorded figures are unreadable: {unreadable}; "
            "replace them with: make bench RECORD=1",
            file=sys.stderr,
        )
        return 2
    if regressions:
        print(
            f"{len(regressions)} figure(s) worse than recorded by more than their noise, or no longer "
            "measured:\n" + "\n".join(f"  {v.line()}" for v in regressions) + "\n"
            "if the change is intended, record it: make bench RECORD=1",
            file=sys.stderr,
        )
        return 1
    if previous is None:
        print("record them with: make bench RECORD=1")
    return 0


if __name__ == "__main__":
    sys.exit(main())
