"""What would lower a deployment's bill, each saving computed from the same model, and what it costs
in safety: ``none`` (nothing a person or an alarm relies on is lost) or ``trade-off`` (named).

The candidates are facts about what is deployed and measured (which metric series the bench saw that
only repeat another or a free AWS metric, which secrets of the templates no function may read); the
dollars come from the deployment as priced. A saving already made offers nothing: the code emits no
repeating series and the stacks keep no unread secret since issue 18, so neither row appears for
figures measured and templates synthesized from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infra.cost.inventory import StageInventory
from infra.cost.measured import BenchResults
from infra.cost.model import Deployment, idle_polls_per_month, metric_hours_fraction
from infra.cost.prices import FREE_TIER, price

__all__ = ["REDUNDANT_SERIES", "Saving", "savings"]

#: Metric names that would only repeat another series or a free AWS metric, and what the dashboard
#: reads instead (series nobody alarms on). The code emits none of them (tests/shared/
#: test_ingress_metrics.py, test_oauth.py, functions/stock_level/tests); bench figures that list one
#: were measured from older code, or from a regression - either way the row says what to drop.
REDUNDANT_SERIES = {
    "Received": "Accepted + Rejected, which every request also emits",
    "RouteRequests": "the route function's own AWS/Lambda Invocations (free)",
    "OAuthRefreshed": "a log line; a failed refresh has its own metric and alarm",
    "StockMemory": "a log field (where an answer came from)",
    "StockSquare": "a log field (where an answer came from)",
}


@dataclass(frozen=True)
class Saving:
    title: str
    usd_per_month: float
    safety: Literal["none", "trade-off"]
    why: str


def savings(d: Deployment, stage: StageInventory, bench: BenchResults) -> list[Saving]:
    found: list[Saving] = []
    unread = sorted(set(stage.secret_names) - set(stage.read_secrets))
    secret = price("secrets.secrets").usd
    if unread:
        found.append(
            Saving(
                f"Do not keep the {len(unread)} operator-only secrets ({', '.join(unread)})",
                len(unread) * secret,
                "none",
                "no function may read them: they hold the provider API keys `switchboard webhooks register` "
                "uses once; asking for the key when registering stores one credential fewer",
            )
        )
    redundant = 0.0
    names: set[str] = set()
    for cost in d.integrations:
        measured = bench.integrations[cost.name]
        series = [s.rsplit("|", 1)[-1] for s in measured.metric_series]
        extra = [s for s in series if s in REDUNDANT_SERIES]
        names.update(extra)
        happen = cost.events + sum(
            i.quantity for i in cost.items if i.meter == "scheduler.invocations" and i.group
        )
        redundant += len(extra) * metric_hours_fraction(happen) * price("cloudwatch.metrics").usd
    if redundant:
        found.append(
            Saving(
                f"Stop emitting {len(names)} metric names that repeat others ({', '.join(sorted(names))})",
                redundant,
                "none",
                "; ".join(f"{n}: {REDUNDANT_SERIES[n]}" for n in sorted(names))
                + " - no alarm reads them, the dashboard can read what they repeat",
            )
        )
    if stage.dashboards:
        free = next(v for k, v in FREE_TIER.items() if k == ("cloudwatch.dashboards",))
        found.append(
            Saving(
                "The dashboard: nothing to change, an account's first 3 are free",
                min(stage.dashboards, free) * price("cloudwatch.dashboards").usd,
                "none",
                "in an account with no more than 3 dashboards it costs nothing (`switchboard cost --free-tier`)",
            )
        )
    functions = len(d.integrations)
    if functions > 1:
        found.append(
            Saving(
                f"One account-wide Lambda throttles alarm instead of {functions} per-function ones",
                (functions - 1) * price("cloudwatch.alarm_metrics").usd,
                "trade-off",
                "any throttle still alarms, but the notification no longer names the integration (the "
                "dashboard does)",
            )
        )
    five = sum(p for i in stage.integrations.values() for p in i.event_source_pollers if p == 5)
    if five:
        fewer = sum(1 for i in stage.integrations.values() for p in i.event_source_pollers if p == 5)
        found.append(
            Saving(
                "Let Lambda scale idle event sources back to 2 long polls (no maximum concurrency)",
                fewer * (idle_polls_per_month(5) - idle_polls_per_month(2)) * price("sqs.requests").unit_usd,
                "trade-off",
                "Lambda only scales back without maximum concurrency, which is what keeps a burst from "
                "flooding a rate-limited app",
            )
        )
    if len(stage.secret_names) > 1:
        found.append(
            Saving(
                "One secret per stage holding every connection",
                (len(stage.secret_names) - 1) * secret,
                "trade-off",
                "IAM grants whole secrets: every function could then read every credential",
            )
        )
    if stage.kms_keys:
        found.append(
            Saving(
                "An unencrypted alarm topic instead of its customer managed key",
                stage.kms_keys * price("kms.keys").usd,
                "trade-off",
                "alarm texts carry no personal data, but CloudWatch cannot publish to a topic under the "
                "AWS-managed key, so encryption needs this key (secrets already share the free AWS-managed key)",
            )
        )
    return sorted(found, key=lambda s: (s.safety != "none", -s.usd_per_month))
