"""``switchboard cost``: what a synthesized stage costs a month, per integration and in total.

    switchboard cost [--events-per-month N] [--stage STAGE] [--integration NAME] [--free-tier]
                     [--json | --markdown] [--cdk-out DIR] [--bench FILE]

Reads the stage's templates (``make synth STAGE=<stage>``) and the bench's measured figures
(``make bench``); see :mod:`infra.cost`. Either one missing is a one-line error naming the command
that makes it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from infra.cli.core import Commands
from infra.ops.target import CliError

__all__ = ["DOCS_COMMAND", "register"]

#: How docs/cost.md is generated (``make cost-docs``); the page names it in its header.
DOCS_COMMAND = "switchboard cost --events-per-month 10000 --stage dev --markdown > docs/cost.md"
ROOT = Path(__file__).resolve().parents[2]


def register(commands: Commands) -> None:
    cost = commands.add_parser(
        "cost",
        help="what a synthesized stage costs a month at N events, per integration and in total",
        description="The cost model: the stage's synthesized templates (make synth) x the bench's "
        "measured figures per event (make bench) x AWS list prices (infra/cost/prices.py).",
    )
    cost.add_argument(
        "--events-per-month",
        type=_events,
        default=10_000.0,
        metavar="N",
        help="events a month over the whole deployment, split evenly over the integrations that take "
        "events (default 10000)",
    )
    cost.add_argument("--stage", default="dev", help="the synthesized stage to price (default dev)")
    cost.add_argument("--integration", metavar="NAME", help="price this integration only (all N events)")
    cost.add_argument("--free-tier", action="store_true", help="take the always-free monthly allowances off")
    out = cost.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the model as JSON")
    out.add_argument("--markdown", action="store_true", help="print docs/cost.md")
    cost.add_argument(
        "--cdk-out", type=Path, default=ROOT / "cdk.out", help="where make synth wrote the templates"
    )
    cost.add_argument(
        "--bench", type=Path, default=None, help="bench results (default benchmarks/results/cost.json)"
    )
    cost.set_defaults(func=_cost)


def _events(text: str) -> float:
    try:
        value = float(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--events-per-month {text!r} is not a number") from None
    if not 0 <= value < float("inf"):  # also refuses NaN
        raise argparse.ArgumentTypeError(f"--events-per-month {text!r} must be a number of events >= 0")
    return value


def _cost(args: argparse.Namespace) -> int:
    from infra.cost.inventory import TemplatesMissing, load_stage
    from infra.cost.measured import BENCH_RESULTS, BenchMissing, load_bench
    from infra.cost.model import ModelError, deployment_cost
    from infra.cost.render import render_json, render_markdown, render_text
    from infra.cost.savings import savings

    try:
        stage = load_stage(args.cdk_out, args.stage)
        bench = load_bench(args.bench or BENCH_RESULTS)
        found = deployment_cost(
            stage, bench, args.events_per_month, only=args.integration, free_tier=args.free_tier
        )
    except (TemplatesMissing, BenchMissing, ModelError) as exc:
        raise CliError(str(exc)) from None
    found_savings = savings(found, stage, bench) if args.integration is None else []
    if bench.tiny:
        print(
            "switchboard: warning: the bench results are from `--tiny` (checks, not figures)", file=sys.stderr
        )
    if args.json:
        render_json(found, sys.stdout, found_savings)
    elif args.markdown:
        render_markdown(found, sys.stdout, command=DOCS_COMMAND, savings=found_savings)
    else:
        render_text(found, sys.stdout, savings=found_savings)
    return 0
