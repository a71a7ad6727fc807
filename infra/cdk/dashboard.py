"""The stage's CloudWatch dashboard: the alarms on top, then one row per integration.

A row reads left to right the way an event travels: what came in and what became of it (received,
processed, retried, dead-lettered; requests to synchronous routes), what is waiting (queue and DLQ depth, age of the oldest message),
how long the function takes (p50/p99), and how the target API behaves (latency p50/p99, 429s). The
rows are built by :func:`integration_row` from an integration's resources; the stack only loops.

Every custom metric name is a billed series, so the graphs read what a count already is rather than
a series of its own: received is ``Accepted + Rejected`` (every request that reaches the ingress is
one or the other), route requests the function's own ``AWS/Lambda`` ``Invocations`` (free).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.alarms import PERIOD, oldest_message_threshold_s, switchboard_metric
from infra.cdk.config import StageConfig
from infra.cdk.naming import dashboard_name
from shared.spec import IntegrationSpec, RouteTrigger

__all__ = [
    "ROUTE_ROW_WIDGETS",
    "ROW_WIDGETS",
    "SwitchboardDashboard",
    "dashboard_url",
    "integration_row",
    "received",
    "route_requests",
]

#: Titles of the graphs of one integration's row, in order (after its name).
ROW_WIDGETS = (
    "events",
    "queue depth",
    "oldest message age",
    "duration",
    "target API latency",
    "target 429s",
)
#: The row of a route-only integration: it has no queue, so no queue graphs.
ROUTE_ROW_WIDGETS = tuple(t for t in ROW_WIDGETS if t not in {"queue depth", "oldest message age"})
_HEIGHT = 6
#: CloudWatch's alarm status widget shows at most 100 alarms.
_ALARMS_PER_WIDGET = 100


def integration_row(
    spec: IntegrationSpec,
    *,
    function: lambda_.IFunction,
    queues: tuple[sqs.IQueue, sqs.IQueue] | None,
) -> list[cloudwatch.IWidget]:
    """The 24-column row of one integration: its name, then the graphs of :data:`ROW_WIDGETS` - or of
    :data:`ROUTE_ROW_WIDGETS`, wider, when ``queues`` (``(dlq, queue)``) is ``None`` (route-only)."""
    name = spec.name
    sum_ = cloudwatch.Stats.SUM
    maximum = cloudwatch.Stats.MAXIMUM
    events: list[cloudwatch.IMetric] = [
        received(name),
        switchboard_metric("Processed", name, label="processed"),
        switchboard_metric("Retried", name, label="retried"),
        switchboard_metric("DeadLettered", name, label="failed (DeadLettered)"),
    ]
    if any(isinstance(t, RouteTrigger) for t in spec.triggers):
        events.append(route_requests(spec, function))
    # Widths: header 3, events 5, queue graphs 3 + 3, duration 4, target 3 + 3 = 24; without the
    # queue graphs their 6 columns go to events (+2), duration (+2) and the target graphs (+1 each).
    wide = queues is None
    queue_graphs: list[cloudwatch.IWidget] = []
    if queues is not None:
        dlq, queue = queues
        queue_graphs = [
            cloudwatch.GraphWidget(
                title=f"{name}: {ROW_WIDGETS[1]}",
                left=[
                    queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=maximum, label="queue"
                    ),
                    dlq.metric_approximate_number_of_messages_visible(
                        period=PERIOD, statistic=maximum, label="DLQ"
                    ),
                ],
                width=3,
                height=_HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title=f"{name}: {ROW_WIDGETS[2]}",
                left=[
                    queue.metric_approximate_age_of_oldest_message(
                        period=PERIOD, statistic=maximum, label="oldest message (s)"
                    )
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=oldest_message_threshold_s(spec), label="alarm")
                ],
                width=3,
                height=_HEIGHT,
            ),
        ]
    return [
        cloudwatch.TextWidget(
            markdown=f"### {name}\n{spec.description}", width=3, height=_HEIGHT, background=None
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: {ROW_WIDGETS[0]}",
            left=events,
            width=5 + 2 * wide,
            height=_HEIGHT,
            statistic=sum_,
        ),
        *queue_graphs,
        cloudwatch.GraphWidget(
            title=f"{name}: {ROW_WIDGETS[3]}",
            left=[
                function.metric_duration(period=PERIOD, statistic="p50", label="p50 (ms)"),
                function.metric_duration(period=PERIOD, statistic="p99", label="p99 (ms)"),
            ],
            width=4 + 2 * wide,
            height=_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: {ROW_WIDGETS[4]}",
            left=[
                switchboard_metric("TargetLatency", name, statistic="p50", label="p50 (ms)"),
                switchboard_metric("TargetLatency", name, statistic="p99", label="p99 (ms)"),
            ],
            width=3 + wide,
            height=_HEIGHT,
        ),
        cloudwatch.GraphWidget(
            title=f"{name}: {ROW_WIDGETS[5]}",
            left=[switchboard_metric("TargetRateLimited", name, label="429 answers")],
            width=3 + wide,
            height=_HEIGHT,
            statistic=sum_,
        ),
    ]


def received(integration: str) -> cloudwatch.MathExpression:
    """Requests received: each one the ingress takes is counted ``Accepted`` (per event queued) or
    ``Rejected`` (refused, with its reason in the log), so their sum is what a ``Received`` series
    of its own would repeat. A period with only one of them still counts (``FILL``)."""
    return cloudwatch.MathExpression(
        expression="FILL(accepted, 0) + FILL(rejected, 0)",
        using_metrics={
            "accepted": switchboard_metric("Accepted", integration),
            "rejected": switchboard_metric("Rejected", integration),
        },
        label="received (accepted + rejected)",
        period=PERIOD,
    )


def route_requests(spec: IntegrationSpec, function: lambda_.IFunction) -> cloudwatch.IMetric:
    """Requests to the integration's synchronous routes: its function's invocations (a free metric).

    A function that also works a queue is invoked for each batch too, and the label says so."""
    only_routes = not spec.queued_triggers
    return function.metric_invocations(
        period=PERIOD,
        statistic=cloudwatch.Stats.SUM,
        label="route requests" if only_routes else "invocations (route requests + queue batches)",
    )


def dashboard_url(name: str) -> str:
    """Console URL of a dashboard in the stack's region (a token until deployment)."""
    region = cdk.Aws.REGION
    return f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards:name={name}"


class SwitchboardDashboard(Construct):
    """``switchboard-<stage>``: alarm status on top, then one row per integration."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        alarms: Sequence[cloudwatch.IAlarm],
        rows: Iterable[Sequence[cloudwatch.IWidget]],
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = dashboard_name(config.stage)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=self.name,
            default_interval=cdk.Duration.hours(24),
        )
        for start in range(0, len(alarms), _ALARMS_PER_WIDGET):
            chunk = list(alarms[start : start + _ALARMS_PER_WIDGET])
            self.dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title=f"Switchboard {config.stage}: alarms",
                    alarms=chunk,
                    width=24,
                    height=min(12, 2 + (len(chunk) + 3) // 4),
                    sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
                )
            )
        for row in rows:
            self.dashboard.add_widgets(*row)
        self.url = dashboard_url(self.name)
