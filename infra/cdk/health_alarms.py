"""One alarm per target app: its circuit is open, so the work that needs it waits.

An app's circuit (:mod:`shared.health`) is shared by every integration that calls it, so its alarm
is the app's, not an integration's: "QuickBooks unavailable" once, however many integrations wait
for it. The workers publish ``TargetUnavailable`` with the single dimension ``app`` each time a
record is held because the circuit is open (and when a probe fails); the alarm fires on one such
datapoint in any of the last three 5-minute periods - waiting records come back at most
``max_wait_s`` (15 minutes) apart, so a long outage with few events does not flap - and clears 15
minutes after the last one, i.e. once the circuit closed and the waiting work went through.

The alarm is named ``switchboard-<stage>-app-<app>-circuit-open`` and links
``docs/runbooks/circuit-open.md``. It does not say "since 09:12, 134 events waiting": an alarm's text
is fixed at deployment. ``switchboard status --stage <stage>`` says it, and so does every worker log
line of a waiting record.
"""

from __future__ import annotations

from collections.abc import Iterable

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.cdk.access import HEALTH_PREFIX, breaker_keys
from infra.cdk.alarms import METRICS_NAMESPACE
from infra.cdk.config import StageConfig
from infra.cdk.naming import pascal, resource_name
from shared.spec import IntegrationSpec

__all__ = [
    "APP_ALARM_KIND",
    "APP_DIMENSION",
    "CIRCUIT_PERIODS",
    "app_alarm_name",
    "app_alarms",
    "called_apps",
]

APP_ALARM_KIND = "circuit-open"
#: The dimension of the per-app health metrics (``shared.health.publish``).
APP_DIMENSION = "app"
#: 5-minute periods looked back over: one datapoint in any of them keeps the alarm on.
CIRCUIT_PERIODS = 3


def called_apps(specs: Iterable[IntegrationSpec]) -> list[str]:
    """Every app some integration's worker calls (the apps that have a circuit), sorted."""
    return sorted({key[len(HEALTH_PREFIX) :] for spec in specs for key in breaker_keys(spec)})


def app_alarm_name(stage: str, app: str) -> str:
    return resource_name(stage, "app", app, APP_ALARM_KIND)


def app_alarms(
    scope: Construct, *, config: StageConfig, specs: Iterable[IntegrationSpec], topic: sns.ITopic
) -> dict[str, cloudwatch.Alarm]:
    """app -> the alarm that its circuit is open."""
    action = cw_actions.SnsAction(topic)
    alarms: dict[str, cloudwatch.Alarm] = {}
    for app in called_apps(specs):
        alarm = cloudwatch.Alarm(
            scope,
            f"CircuitOpen{pascal(app)}Alarm",
            alarm_name=app_alarm_name(config.stage, app),
            alarm_description=(
                f"Switchboard {config.stage}: {app} unavailable - its circuit is open. Events that need "
                "it wait on their queues (no attempts spent, nothing dead-lettered) and go through when "
                f"it answers again. Since when and how many wait: switchboard status --stage "
                f"{config.stage}. Runbook: {config.runbook(APP_ALARM_KIND)}"
            )[:1024],
            metric=cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name="TargetUnavailable",
                dimensions_map={APP_DIMENSION: app},
                statistic=cloudwatch.Stats.SUM,
                period=cdk.Duration.minutes(5),
            ),
            threshold=1,
            evaluation_periods=CIRCUIT_PERIODS,
            datapoints_to_alarm=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        alarms[app] = alarm
    return alarms
