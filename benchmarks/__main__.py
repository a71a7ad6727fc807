"""``make bench``: Switchboard's performance figures, each against a baseline measured in this run.

    python -m benchmarks           # full size (under 5 minutes on 2 cores)
    python -m benchmarks --tiny    # seconds; what `make test` runs to keep the harness working

Prints a table, then one JSON line with every figure (keys listed in the README).
"""

from __future__ import annotations

import argparse
import json
import os
import time

from . import cold_start, harness, prices

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
    args = parser.parse_args()
    # Measure what Lambda does: metrics on (EMF lines are log bytes too), no local log files.
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "false"
    os.environ.pop("SWITCHBOARD_LOG_DIR", None)
    sizes = (
        {"cold": 3, "ingest": 200, "worker": 20, "batch": 2, "cost": 10}
        if args.tiny
        else {"cold": 11, "ingest": 5000, "worker": 300, "batch": 5, "cost": 200}
    )
    started = time.perf_counter()

    cold = cold_start.cold_starts(sizes["cold"])
    ingest = harness.warm_ingest(sizes["ingest"])
    worker = harness.worker_overhead(sizes["worker"])
    batch = harness.batch_concurrency(sizes["batch"])
    rss = harness.peak_rss_mb()
    costs = [harness.website_cost(sizes["cost"], ingest)]

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
            f"$ per million events, {c.integration} (billed {c.billed_ms:.0f} ms)",
            c.usd_per_million,
            None,
            None,
        )
        for c in costs
    ]
    print(f"{'figure':<92} {'switchboard':>12} {'baseline':>10} {'ratio':>7}")
    for name, ours, base, ratio in rows:
        b = f"{base:10.2f}" if base is not None else " " * 10
        r = f"{ratio:7.2f}" if ratio is not None else " " * 7
        print(f"{name:<92} {ours:12.2f} {b} {r}")
    for c in costs:
        print(f"  {c.integration}: " + ", ".join(f"{k} ${v}" for k, v in c.breakdown.items()))
        print(
            "  billed requests per event (measured): "
            + ", ".join(f"{k} {v:g}" for k, v in c.requests_per_event.items())
        )
        print(
            f"  AWS calls per event (measured): {json.dumps(c.calls_per_event)}; target calls "
            f"{c.target_calls:.1f} (measured) x {harness.TARGET_CALL_MS:.0f} ms each (assumed)"
        )
    print(
        f"  prices: AWS list, {prices.REGION}, as of {prices.PRICES_AS_OF}; elapsed {time.perf_counter() - started:.0f} s"
    )
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
        "usd_per_million": {c.integration: c.usd_per_million for c in costs},
        "requests_per_event": {c.integration: c.requests_per_event for c in costs},
        "target_call_ms_assumed": harness.TARGET_CALL_MS,
        "usd_per_million_max": max(c.usd_per_million for c in costs),
        "tiny": args.tiny,
    }
    figures["targets_met"] = {
        key: (figures[key] <= limit)
        for key, limit in TARGETS.items()
        if isinstance(figures.get(key), int | float)
    }
    print(json.dumps(figures, separators=(",", ":")))


if __name__ == "__main__":
    main()
