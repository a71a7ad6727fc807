"""Alarms of one integration, each pointing at the runbook an operator follows when it fires.

Each builder takes the integration's resources and returns the alarm, so the integrations stack (or a
later dashboard) can list them. Alarm names are ``switchboard-<stage>-<integration>-<what>`` so that
the SNS notification alone tells which integration and which stage is affected.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.cdk.naming import resource_name

__all__ = ["RUNBOOKS", "dlq_not_empty"]

#: Runbook per alarm kind, relative to the repository root.
RUNBOOKS = {"dlq-not-empty": "docs/runbooks/dlq-not-empty.md"}


def _notify(alarm: cloudwatch.Alarm, topic: sns.ITopic) -> cloudwatch.Alarm:
    action = cw_actions.SnsAction(topic)
    alarm.add_alarm_action(action)
    alarm.add_ok_action(action)  # so whoever was paged also learns that it cleared
    return alarm


def dlq_not_empty(
    scope: Construct, *, stage: str, integration: str, dlq: sqs.IQueue, topic: sns.ITopic
) -> cloudwatch.Alarm:
    """Any message in the DLQ: an event was not processed and needs a person (inspect, fix, redrive).

    ``Maximum`` over one minute with one datapoint, because a single dead event is already worth a
    look; missing data (an idle queue publishes nothing) is not breaching.
    """
    metric = dlq.metric_approximate_number_of_messages_visible(
        period=cdk.Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
    )
    alarm = cloudwatch.Alarm(
        scope,
        "DlqNotEmptyAlarm",
        alarm_name=resource_name(stage, integration, "dlq-not-empty"),
        alarm_description=(
            f"Switchboard {stage}/{integration}: messages in the dead-letter queue. "
            f"Runbook: {RUNBOOKS['dlq-not-empty']}"
        ),
        metric=metric,
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    return _notify(alarm, topic)
