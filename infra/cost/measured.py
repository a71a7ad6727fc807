"""The per-event figures ``make bench`` measured, read back from ``benchmarks/results/cost.json``.

The bench (:mod:`benchmarks.cost`) counts per event of each integration every billed request, the
CPU of each invocation, the log bytes, the metric series and the cold-start imports; this module only
reads and checks that file, so a renamed or missing figure is a clear error, not a zero.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

__all__ = [
    "BENCH_RESULTS",
    "BenchMissing",
    "BenchResults",
    "Measured",
    "load_bench",
    "parse_bench",
]

BENCH_RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "cost.json"


class BenchMissing(FileNotFoundError):
    """There are no bench results to price, or they are not in the shape this model reads."""


@dataclass(frozen=True)
class Measured:
    """One integration's figures per event, as :class:`benchmarks.cost.IntegrationMeasure` wrote them."""

    integration: str
    samples: list[str]
    outcome: str
    events: int
    http_api_requests: float
    lambda_invocations: float
    ingress_billed_ms: float
    worker_billed_ms: float
    ingress_invocations: float
    worker_invocations: float
    sqs_requests: float
    scheduler_invocations: float
    eventbridge_events: float
    eventbridge_bytes: float
    dynamodb_wru: float
    dynamodb_rru: float
    dynamodb_bytes_written: float
    secrets_api_calls: float
    ses_emails: float
    target_calls: float
    log_bytes: float
    metric_series: list[str]
    cold_import_ms: dict[str, float]


@dataclass(frozen=True)
class BenchResults:
    measured_at: str
    target_call_ms: float
    tiny: bool
    integrations: dict[str, Measured]
    source: str = ""


_NAMES = [f.name for f in fields(Measured)]


def parse_bench(raw: Any, source: str = "") -> BenchResults:
    if not isinstance(raw, dict) or not isinstance(raw.get("integrations"), list):
        raise BenchMissing(f"{source or 'bench results'}: no 'integrations' list - run `make bench` again")
    found: dict[str, Measured] = {}
    for entry in raw["integrations"]:
        missing = [n for n in _NAMES if n not in entry]
        if missing:
            raise BenchMissing(
                f"{source or 'bench results'}: {entry.get('integration', '?')} lacks {', '.join(missing)} "
                "- written by an older bench; run `make bench` again"
            )
        found[str(entry["integration"])] = Measured(**{n: entry[n] for n in _NAMES})
    return BenchResults(
        measured_at=str(raw.get("measured_at", "")),
        target_call_ms=float(raw.get("target_call_ms_assumed", 0.0)),
        tiny=bool(raw.get("tiny", False)),
        integrations=found,
        source=source,
    )


def load_bench(path: Path = BENCH_RESULTS) -> BenchResults:
    if not path.exists():
        raise BenchMissing(
            f"no bench results at {path}: run `make bench` (writes {BENCH_RESULTS.name}) first"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BenchMissing(f"{path} is not JSON ({exc}): run `make bench` again") from exc
    return parse_bench(raw, str(path))
