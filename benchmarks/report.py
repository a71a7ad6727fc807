"""``make perf-docs``: docs/performance.md's figures, written from the recorded bench.json.

    python -m benchmarks.report            # rewrite the figures block of docs/performance.md
    python -m benchmarks.report --check    # exit 1 if the page is not what the record makes

Only the block between the page's two markers is written; the prose around it is the page's own.
The block says when and where the figures were measured, and every figure comes with its target,
whether it is met, and the noise measured in its run - so nothing on the page is copied by hand,
and ``tests/test_benchmarks.py`` fails when the page and the record differ.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .figures import RECORDED, TIMES, Bench, BenchInvalid, BenchNotRecorded, Figure, load
from .gate import NOISE_FLOOR

__all__ = ["BEGIN", "END", "PAGE", "PageMarkersMissing", "render", "rewrite"]

PAGE = Path(__file__).resolve().parents[1] / "docs" / "performance.md"
BEGIN = (
    "<!-- BEGIN FIGURES: make perf-docs writes from here to END FIGURES, from the recorded "
    "benchmarks/results/bench.json. Edits here are overwritten, and the test of the page fails. -->"
)
END = "<!-- END FIGURES -->"

#: The page's sections, by the figure keys' first part; a key of no section goes under "Other".
SECTIONS = (
    ("Cold start", ("cold_start", "cold_start_worker")),
    (
        "Warm path, concurrency and memory",
        ("ingest", "ingest_own", "worker_overhead", "batch_ratio", "peak_rss"),
    ),
    ("Dollars per million events", ("usd_per_million",)),
    ("DynamoDB requests per event", ("dynamodb_requests",)),
)


class PageMarkersMissing(ValueError):
    """The page has not exactly one BEGIN FIGURES and one END FIGURES marker, in that order."""


def render(bench: Bench) -> str:
    """The figures block, markers included."""
    lines = [
        BEGIN,
        "",
        f"Measured {bench.date} on {bench.machine.describe()}; the full run took "
        f"{bench.elapsed_s:.0f} s. Noise is the interquartile spread of a figure's repeats relative to "
        f"their median, measured in that run (— where the figure is one measurement or a count); the regression gate "
        f"allows the larger of the recorded and the new noise, at least {NOISE_FLOOR:.0%}. "
        "Where a figure has a ratio target, the ratio to the baseline is what is judged.",
    ]
    placed: set[str] = set()
    for title, prefixes in SECTIONS:
        figures = [f for f in bench.figures if f.key.split(".", 1)[0] in prefixes]
        placed |= {f.key for f in figures}
        lines += _table(title, figures)
    lines += _table("Other", [f for f in bench.figures if f.key not in placed])
    if bench.notes:
        lines += ["", *(f"- {note}" for note in bench.notes)]
    lines += ["", END]
    return "\n".join(lines)


def _table(title: str, figures: Sequence[Figure]) -> list[str]:
    if not figures:
        return []
    lines = [
        "",
        f"### {title}",
        "",
        "| figure | Switchboard | baseline | ratio | target | met | noise |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for f in figures:
        label = f.label.replace("|", "\\|") + (f" — {f.note}" if f.note else "")
        cells = [
            label,
            _amount(f.value, f.unit),
            "" if f.baseline is None else _amount(f.baseline, f.unit),
            "" if f.ratio is None else f"{f.ratio:.2f}",
            "" if f.target is None else f"≤ {_amount(f.target, f.judged_unit)}",
            {None: "", True: "met", False: "**missed**"}[f.met],
            "—" if f.noise is None else f"±{f.noise:.1%}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _amount(value: float, unit: str) -> str:
    if unit == "$":
        return f"${value:,.2f}"
    if unit == TIMES:
        return f"{value:.2f}{TIMES}"
    if unit == "requests":
        return f"{value:g}"
    digits = 0 if abs(value) >= 100 else 2 if abs(value) < 10 else 1
    return f"{value:,.{digits}f} {unit}"


def rewrite(page: str, bench: Bench) -> str:
    """``page`` with its figures block replaced by :func:`render`'s."""
    start, end = page.find(BEGIN), page.find(END)
    if page.count(BEGIN) != 1 or page.count(END) != 1 or end < start:
        raise PageMarkersMissing(
            "the page needs exactly one figures block: a line '" + BEGIN + "' and, after it, '" + END + "'"
        )
    return page[:start] + render(bench) + page[end + len(END) :]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, default=RECORDED, help="default benchmarks/results/bench.json")
    parser.add_argument("--page", type=Path, default=PAGE, help="default docs/performance.md")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if the page is stale")
    args = parser.parse_args(argv)
    try:
        bench = load(args.bench)
        page = args.page.read_text(encoding="utf-8")
        wanted = rewrite(page, bench)
    except BenchNotRecorded as exc:
        print(f"{exc}; {args.page} keeps the figures it has", file=sys.stderr)
        return 2
    except (BenchInvalid, PageMarkersMissing, FileNotFoundError) as exc:
        print(f"{args.page}: {exc}", file=sys.stderr)
        return 2
    if wanted == page:
        print(f"{args.page}: up to date with the figures of {bench.date}")
        return 0
    if args.check:
        print(f"{args.page} is not what {args.bench} makes: run make perf-docs", file=sys.stderr)
        return 1
    args.page.write_text(wanted, encoding="utf-8")
    print(f"{args.page}: figures of {bench.date} written from {args.bench}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
