"""``make bench``: Switchboard's performance figures, each against a baseline measured in this run.

    python -m benchmarks           # full size (under 5 minutes on 2 cores)
    python -m benchmarks --tiny    # seconds; what `make test` runs to keep the harness working

Prints a table, then one JSON line with every figure (keys listed in the README). The full run also
writes what each integration's events cost AWS, measured (``cost.py``), to
``benchmarks/results/cost.json``: ``switchboard cost`` prices it with the synthesized templates.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from . import cold_start, harness
from . import cost as cost_bench

TARGETS = {
    "cold_start_ratio_max": 1.3,
    "ingest_us_median": 500.0,
    "ingest_ratio": 1.5,
    "worker_overhead_ms": 1.0,
    "batch_ratio": 1.5,
    "peak_rss_mb": 192.0,  # "well inside a 256 MB function": three quarters of it
    "usd_per_million_max": 5.0,
}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="smallest sizes: checks the harness, not the figures"
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="write the cost figures there (default: benchmarks/results/cost.json, not with --tiny)",
    )
    args = parser.parse_args()
    # Measure what Lambda does: metrics on (EMF lines are log bytes too), no local log files.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    os.environ.pop("SWITCHBOARD_LOG_DIR", None)
    sizes = (
        {"cold": 3, "ingest": 200, "worker": 20, "batch": 2, "cost": 4, "cold_imports": 1}
        if args.tiny
        else {"cold": 11, "ingest": 5000, "worker": 300, "batch": 5, "cost": 120, "cold_imports": 3}
    )
    started = time.perf_counter()

    cold = cold_start.cold_starts(sizes["cold"])
    ingest = harness.warm_ingest(sizes["ingest"])
    worker = harness.worker_overhead(sizes["worker"])
    batch = harness.batch_concurrency(sizes["batch"])
    rss = harness.peak_rss_mb()
    measured = cost_bench.measure_all(sizes["cost"], sizes["cold_imports"])
    results = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "target_call_ms_assumed": cost_bench.TARGET_CALL_MS,
        "tiny": args.tiny,
        "integrations": [m.to_json() for m in measured],
    }
    per_million = cost_bench.usd_per_million(results)

    rows = [
        (f"cold start {c.integration} (ms, median of {sizes['cold']})", c.median_ms, c.baseline_ms, c.ratio)
        for c in cold
    ]
    rows += [
        (
            f"ingest CPU per warm request, boto3 SQS answered locally (µs, median of {sizes['ingest']})",
            ingest.median_us,
            ingest.baseline_us,
            ingest.ratio,
        ),
        (
            "  of which Switchboard's own work: SQS client faked (µs)",
            ingest.own_us,
            ingest.baseline_own_us,
            ingest.own_us / ingest.baseline_own_us,
        ),
        ("worker overhead per record (ms, median)", worker.overhead_ms, None, None),
        (
            f"batch of 10, 100 ms target: time / single record (cap {batch.cap}, max in flight {batch.max_inflight})",
            batch.ratio,
            batch.sequential_ratio,
            batch.ratio / batch.sequential_ratio,
        ),
        ("peak RSS, worker batch of 10 (MB)", rss, None, None),
    ]
    rows += [
        (
            f"$ per million events, {m.integration} ({'+'.join(m.kinds)}, billed {m.worker_billed_ms or m.ingress_billed_ms:.0f} ms)",
            per_million[m.integration],
            None,
            None,
        )
        for m in measured
    ]
    print(f"{'figure':<92} {'switchboard':>12} {'baseline':>10} {'ratio':>7}")
    for name, ours, base, ratio in rows:
        b = f"{base:10.2f}" if base is not None else " " * 10
        r = f"{ratio:7.2f}" if ratio is not None else " " * 7
        print(f"{name:<92} {ours:12.2f} {b} {r}")
    for m in measured:
        print(
            f"  {m.integration} billed requests per event (measured): http_api {m.http_api_requests:g}, "
            f"lambda {m.lambda_invocations:g}, sqs {m.sqs_requests:g}; AWS calls per event (measured): "
            f"{json.dumps({k: round(v, 3) for k, v in m.aws_calls.items()})}; target calls "
            f"{m.target_calls:.2f} (measured) x {cost_bench.TARGET_CALL_MS:.0f} ms each (assumed)"
        )
    print(f"  priced by infra/cost (switchboard cost); elapsed {time.perf_counter() - started:.0f} s")
    figures = {
        "cold_start_ratio_max": round(max(c.ratio for c in cold), 3),
        "cold_start_ms": {c.integration: round(c.median_ms, 1) for c in cold},
        "cold_start_baseline_ms": round(cold[0].baseline_ms, 1) if cold else None,
        "ingest_us_median": round(ingest.median_us, 1),
        "ingest_baseline_us": round(ingest.baseline_us, 1),
        "ingest_ratio": round(ingest.ratio, 3),
        "ingest_own_us_median": round(ingest.own_us, 1),
        "ingest_own_baseline_us": round(ingest.baseline_own_us, 1),
        "worker_overhead_ms": round(worker.overhead_ms, 3),
        "worker_aws_calls_per_record": worker.aws_calls_per_record,
        "batch_ratio": round(batch.ratio, 3),
        "batch_ratio_sequential": round(batch.sequential_ratio, 3),
        "batch_max_inflight": batch.max_inflight,
        "batch_cap": batch.cap,
        "peak_rss_mb": round(rss, 1),
        "usd_per_million": per_million,
        "requests_per_event": {
            m.integration: {
                "http_api": m.http_api_requests,
                "lambda": m.lambda_invocations,
                "sqs": m.sqs_requests,
            }
            for m in measured
        },
        "target_call_ms_assumed": cost_bench.TARGET_CALL_MS,
        "usd_per_million_max": max(per_million.values()),
        "tiny": args.tiny,
    }
    figures["targets_met"] = {
        key: (figures[key] <= limit)
        for key, limit in TARGETS.items()
        if isinstance(figures.get(key), int | float)
    }
    out = args.out or (None if args.tiny else cost_bench.RESULTS)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**results, "usd_per_million": per_million}, indent=1) + "\n")
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
