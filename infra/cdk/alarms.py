"""Alarms of one integration, each pointing at the runbook an operator follows when it fires.

:func:`alarm_kinds` decides from the spec alone which alarms an integration gets;
:func:`integration_alarms` builds them. Every alarm notifies the stage's alarm topic when it fires and
when it clears, treats missing data as "not breaching" (an idle integration publishes nothing), and is
named ``switchboard-<stage>-<integration>-<kind>`` so that the notification alone tells which
integration and which stage is affected. Its description links ``docs/runbooks/<kind>.md``.

Custom metrics are Switchboard's own EMF metrics (:mod:`shared.observability`): namespace
``Switchboard`` and exactly one dimension, ``integration``. A CloudWatch metric is identified by its
full dimension set, so an alarm on ``{integration}`` would never see data published with
``{integration, service}`` - which is what Powertools emits when ``POWERTOOLS_SERVICE_NAME`` is set.
The function construct therefore does not set it (a test checks the two agree).
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.config import VISIBILITY_FACTOR, StageConfig
from infra.cdk.naming import resource_name
from shared.spec import IntegrationSpec, WebhookTrigger

__all__ = [
    "ALARM_KINDS",
    "METRICS_DIMENSION",
    "METRICS_NAMESPACE",
    "RUNBOOKS",
    "alarm_kinds",
    "integration_alarms",
    "oldest_message_threshold_s",
    "switchboard_metric",
]

METRICS_NAMESPACE = "Switchboard"
METRICS_DIMENSION = "integration"
PERIOD = cdk.Duration.minutes(5)

#: Every alarm kind, in the order they appear on the dashboard's alarm widget.
ALARM_KINDS = (
    "dlq-not-empty",
    "oldest-message-age",
    "function-errors",
    "function-throttles",
    "target-rate-limited",
    "oauth-refresh-failed",
    "signature-rejections",
)
#: Runbook per alarm kind, relative to the repository root.
RUNBOOKS = {kind: f"docs/runbooks/{kind}.md" for kind in ALARM_KINDS}

#: ``target-rate-limited``: share of target calls answered 429, in percent, ...
RATE_LIMITED_PERCENT = 20
#: ... in this many consecutive 5-minute periods.
RATE_LIMITED_PERIODS = 3
#: ``signature-rejections``: rejected signatures in 5 minutes that make a spike.
SIGNATURE_REJECTIONS = 10


def alarm_kinds(spec: IntegrationSpec) -> tuple[str, ...]:
    """The alarms ``spec`` gets: function errors and throttles and the target's 429 rate always; the
    queue alarms (DLQ not empty, oldest message age) if anything is queued; the OAuth and signature
    alarms if it has an OAuth 2.0 connection or a webhook trigger."""
    kinds = ["function-errors", "function-throttles", "target-rate-limited"]
    if spec.queued_triggers:
        kinds += ["dlq-not-empty", "oldest-message-age"]
    if any(c.kind == "oauth2" for c in spec.all_connections):
        kinds.append("oauth-refresh-failed")
    if any(isinstance(t, WebhookTrigger) for t in spec.triggers):
        kinds.append("signature-rejections")
    return tuple(k for k in ALARM_KINDS if k in kinds)


def oldest_message_threshold_s(spec: IntegrationSpec) -> int:
    """Age (s) past which the oldest queued message means "work is stuck", not "backing off".

    One maximal back-off plus one visibility window: a message older than that has waited through the
    longest single retry delay and still not been processed. (SQS stops counting a message for this
    metric after its third receive, so one poison message retrying does not hold the alarm.)
    """
    return max(300, int(spec.retry.max_delay_s) + VISIBILITY_FACTOR * spec.timeout_s)


def switchboard_metric(
    name: str, integration: str, *, statistic: str = cloudwatch.Stats.SUM, label: str | None = None
) -> cloudwatch.Metric:
    """One of Switchboard's EMF metrics, with exactly the dimensions the runtime publishes."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={METRICS_DIMENSION: integration},
        statistic=statistic,
        period=PERIOD,
        label=label,
    )


@dataclass(frozen=True)
class _Alarm:
    construct_id: str
    metric: cloudwatch.IMetric
    meaning: str
    threshold: float
    #: Breaching periods in a row that fire the alarm (evaluation periods = datapoints to alarm).
    periods: int = 1
    #: ``>=`` threshold by default; ``>`` where the threshold is "anything above normal".
    strictly_greater: bool = False


def integration_alarms(
    scope: Construct,
    *,
    config: StageConfig,
    spec: IntegrationSpec,
    function: lambda_.IFunction,
    queues: tuple[sqs.IQueue, sqs.IQueue] | None,
    topic: sns.ITopic,
) -> dict[str, cloudwatch.Alarm]:
    """The alarms of :func:`alarm_kinds`, keyed by kind. ``queues`` is ``(dlq, queue)``, or ``None``
    for a route-only integration, which has no queue and so no queue alarm."""
    name = spec.name
    definitions: dict[str, _Alarm] = {}
    if queues is not None:
        dlq, queue = queues
        definitions |= {
            # A single dead event is worth a look: Maximum over one minute, one datapoint.
            "dlq-not-empty": _Alarm(
                "DlqNotEmptyAlarm",
                dlq.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                "messages in the dead-letter queue: an event was not processed and needs a person",
                threshold=0,
                strictly_greater=True,
            ),
            "oldest-message-age": _Alarm(
                "OldestMessageAgeAlarm",
                queue.metric_approximate_age_of_oldest_message(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                ),
                f"a queued message is older than {oldest_message_threshold_s(spec)} s (longest back-off + "
                "one visibility window): the target is down for a while, or nothing is consuming the queue",
                threshold=oldest_message_threshold_s(spec),
                strictly_greater=True,
            ),
        }
    definitions |= {
        # The handler answers refusals and reports failed records itself: a Lambda error is a crash,
        # a timeout or an out-of-memory - each one is worth a look.
        "function-errors": _Alarm(
            "FunctionErrorsAlarm",
            function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "the function crashed, timed out or ran out of memory",
            threshold=1,
        ),
        "function-throttles": _Alarm(
            "FunctionThrottlesAlarm",
            function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "Lambda refused invocations (account or reserved concurrency exhausted): webhook senders "
            "got errors and had to re-send",
            threshold=1,
        ),
        "target-rate-limited": _Alarm(
            "TargetRateLimitedAlarm",
            cloudwatch.MathExpression(
                expression="IF(calls > 0, 100 * FILL(limited, 0) / calls, 0)",
                using_metrics={
                    "limited": switchboard_metric("TargetRateLimited", name),
                    "calls": switchboard_metric(
                        "TargetLatency", name, statistic=cloudwatch.Stats.SAMPLE_COUNT
                    ),
                },
                label="target calls answered 429 (%)",
                period=PERIOD,
            ),
            f"at least {RATE_LIMITED_PERCENT}% of target API calls were answered 429 (rate limited) for "
            f"{RATE_LIMITED_PERIODS * 5} minutes",
            threshold=RATE_LIMITED_PERCENT,
            periods=RATE_LIMITED_PERIODS,
        ),
        "oauth-refresh-failed": _Alarm(
            "OAuthRefreshFailedAlarm",
            switchboard_metric("OAuthRefreshFailed", name),
            "an OAuth 2.0 token refresh failed: the connection must be re-authorised before its "
            "access token expires",
            threshold=1,
        ),
        "signature-rejections": _Alarm(
            "SignatureRejectionsAlarm",
            switchboard_metric("SignatureRejected", name),
            f"{SIGNATURE_REJECTIONS} or more webhook requests with a bad signature in 5 minutes: a "
            "rotated signing secret, or someone probing the URL",
            threshold=SIGNATURE_REJECTIONS,
        ),
    }
    action = cw_actions.SnsAction(topic)
    alarms: dict[str, cloudwatch.Alarm] = {}
    for kind in alarm_kinds(spec):
        if kind not in definitions:
            raise ValueError(f"{name}: alarm {kind} needs the queues of a queued trigger")
        d = definitions[kind]
        alarm = cloudwatch.Alarm(
            scope,
            d.construct_id,
            alarm_name=resource_name(config.stage, name, kind),
            alarm_description=(
                f"Switchboard {config.stage}/{name}: {d.meaning}. Runbook: {config.runbook(kind)}"
            )[:1024],
            metric=d.metric,
            threshold=d.threshold,
            evaluation_periods=d.periods,
            datapoints_to_alarm=d.periods,
            comparison_operator=(
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
                if d.strictly_greater
                else cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
            ),
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)  # so whoever was paged also learns that it cleared
        alarms[kind] = alarm
    return alarms
