"""The CDK app, synthesized in-process: resources per spec, alarms, dashboard, cdk-nag, cfn-lint.

The apps (``real``, ``synthetic``, ``prod``) are described in :mod:`tests.infra.cdk_apps` and
synthesized once per session (``tests/infra/conftest.py``). Every per-spec test is parametrized over
all specs of both the real and the synthetic app, so a new integration is covered without a new test.
The template pitfalls a first deployment would hit are in ``test_template_pitfalls.py``; what each
function's role may do, derived from its spec and code, in ``test_iam.py``.
"""

from __future__ import annotations

import email.utils
import fnmatch
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Match
from pydantic import BaseModel, ValidationError

from infra.cdk import access, health_alarms, nag
from infra.cdk.alarms import (
    ALARM_KINDS,
    RUNBOOKS,
    alarm_kinds,
    oldest_message_threshold_s,
)
from infra.cdk.app import build_app
from infra.cdk.bundling import (
    PIP_PLATFORM,
    FunctionCodeBundler,
    LayerBundler,
    function_files,
    lock_pins,
    runtime_dependencies,
)
from infra.cdk.config import StageConfig
from infra.cdk.core import connections_of
from infra.cdk.dashboard import ROUTE_ROW_WIDGETS, ROW_WIDGETS
from infra.cdk.integration import sender_address
from infra.cdk.naming import pascal, resource_name
from shared import store
from shared.registry import load_specs
from shared.spec import (
    BusTrigger,
    Connection,
    FormTrigger,
    IntegrationSpec,
    RetryPolicy,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
)
from tests.infra.cdk_apps import (
    ALPHA,
    BETA,
    GAMMA,
    REAL_CONTEXT,
    ROOT,
    SKIP_BUNDLING,
    SYNTHETIC,
    SYNTHETIC_SETTINGS,
    Synth,
    arn,
    inline_code,
    listify,
    origin_list,
    parameter_names,
    parts,
    referenced_ids,
    rendered,
    role_statements,
    secret_names,
    synthesize,
)
from tests.infra.conftest import CDK_ENV

pytestmark = pytest.mark.cdk


@dataclass(frozen=True)
class Case:
    app: str  # fixture name
    spec: IntegrationSpec

    def __str__(self) -> str:
        return f"{self.app}-{self.spec.name}"


CASES = [Case("real", s) for s in load_specs()] + [Case("synthetic", s) for s in SYNTHETIC]


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> tuple[Synth, IntegrationSpec]:
    c: Case = request.param
    return request.getfixturevalue(c.app), c.spec


# -- per spec ------------------------------------------------------------------------------------


def test_function(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    fn = synth.integrations["Resources"][p.function]["Properties"]
    assert fn["Runtime"] == "python3.14"
    assert fn["Architectures"] == ["arm64"]
    assert fn["Handler"] == "shared.entry.handler"
    assert fn["MemorySize"] == spec.memory_mb
    assert fn["Timeout"] == spec.timeout_s
    assert fn["TracingConfig"] == {"Mode": "Active"}  # the default (cdk.json does not choose another)
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": p.log_group}
    (layer,) = fn["Layers"]
    assert synth.integrations["Resources"][layer["Ref"]]["Type"] == "AWS::Lambda::LayerVersion"

    env = fn["Environment"]["Variables"]
    assert env["SWITCHBOARD_INTEGRATION"] == spec.name
    assert env["SWITCHBOARD_STAGE"] == synth.stage
    if spec.queued_triggers:
        assert env["SWITCHBOARD_QUEUE_URL"] == {"Ref": p.queue}
        assert env["SWITCHBOARD_DLQ_URL"] == {"Ref": p.dlq}
    else:  # no queue, and no empty variables standing in for one
        assert "SWITCHBOARD_QUEUE_URL" not in env and "SWITCHBOARD_DLQ_URL" not in env
    assert "Table" in json.dumps(env["SWITCHBOARD_TABLE"])
    assert "Bus" in json.dumps(env["SWITCHBOARD_BUS"])
    assert env["SWITCHBOARD_SECRET_PREFIX"] == f"switchboard/{synth.stage}/"
    assert env["SWITCHBOARD_PARAMETER_PREFIX"] == f"/switchboard/{synth.stage}/"
    # Powertools would add it to every metric as a second dimension, and the alarms would see nothing.
    assert "POWERTOOLS_SERVICE_NAME" not in env
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Switchboard"
    assert env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    settings = json.loads(env["SWITCHBOARD_SETTINGS"])
    try:
        spec.settings.model_validate(settings)
    except ValidationError:
        # Required settings not in this dev context: synthesized with a warning saying so.
        assert settings == {} and synth.stage != "prod"
        assert f"{spec.name} has required settings" in json.dumps(synth.warnings())
    if spec is ALPHA:
        assert settings["allowed_origins"] == SYNTHETIC_SETTINGS["alpha_flow"]["allowed_origins"]

    log_group = synth.integrations["Resources"][p.log_group]
    assert log_group["Properties"]["RetentionInDays"] == 14
    assert log_group["DeletionPolicy"] == "Delete"
    role = synth.integrations["Resources"][p.role]["Properties"]
    assert "ManagedPolicyArns" not in role, "the function role must not get AWSLambdaBasicExecutionRole"


def test_queue_and_dlq(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)  # a route-only integration is checked there to have no queue
    if p.queue is None or p.dlq is None:
        assert not spec.queued_triggers
        return
    queue = synth.integrations["Resources"][p.queue]["Properties"]
    dlq = synth.integrations["Resources"][p.dlq]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * spec.timeout_s
    # maxReceiveCount is the backstop derived from the declared horizon, not max_attempts: waits
    # (429s, an open circuit) are receives too, and they must not dead-letter an event.
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": arn(p.dlq),
        "maxReceiveCount": spec.retry.max_receives,
    }
    assert spec.retry.max_attempts < spec.retry.max_receives <= 1000
    assert queue["MessageRetentionPeriod"] == spec.retry.retention_s
    assert spec.retry.horizon_s >= 3 * 24 * 3600  # past the providers' own re-send windows
    assert queue["SqsManagedSseEnabled"] is True
    assert dlq["SqsManagedSseEnabled"] is True
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    for queue_id in (p.queue, p.dlq):
        synth.template("integrations").has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": queue_id}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {
                                    "Effect": "Deny",
                                    "Action": "sqs:*",
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                                    "Resource": arn(queue_id),
                                }
                            )
                        ]
                    )
                },
            },
        )


def test_event_source_mapping(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    if p.queue is None:
        consumers = [
            m
            for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
            if referenced_ids(m) & {p.function}
        ]
        assert not consumers, "a route-only integration has no queue and no event source"
        return
    synth.template("integrations").has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": {"Ref": p.function},
            "EventSourceArn": arn(p.queue),
            "BatchSize": spec.batch_size,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": spec.max_invocations},
        },
    )
    mappings = [
        m for m in synth.resources("AWS::Lambda::EventSourceMapping").values() if referenced_ids(m) & {p.dlq}
    ]
    assert not mappings, "nothing may consume the DLQ automatically: dead events wait for a person"


def test_one_route_per_http_trigger(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    integrations = {
        k
        for k, r in synth.resources("AWS::ApiGatewayV2::Integration").items()
        if p.function in referenced_ids(r["Properties"]["IntegrationUri"])
    }
    for i in integrations:
        props = synth.integrations["Resources"][i]["Properties"]
        assert props["PayloadFormatVersion"] == "2.0"
        assert props["IntegrationType"] == "AWS_PROXY"
    routes = sorted(
        r["Properties"]["RouteKey"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
        if referenced_ids(r["Properties"]["Target"]) & integrations
    )
    assert routes == sorted(f"{t.method.upper()} {t.path}" for t in spec.http_triggers)
    # Synchronous routes and browser forms have their own throttle; webhooks share the stage's.
    (stage,) = [r["Properties"] for r in synth.resources("AWS::ApiGatewayV2::Stage").values()]
    for t in spec.http_triggers:
        settings = stage.get("RouteSettings", {}).get(f"{t.method.upper()} {t.path}")
        if isinstance(t, RouteTrigger):
            assert settings == {
                "ThrottlingRateLimit": t.throttle_rate,
                "ThrottlingBurstLimit": t.throttle_burst,
            }
        elif isinstance(t, FormTrigger):
            assert settings == {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10}
        else:
            assert settings is None


def test_one_rule_per_bus_trigger(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    rules = [
        r["Properties"]
        for r in synth.resources("AWS::Events::Rule").values()
        if any(t["Arn"] == arn(p.queue) for t in r["Properties"]["Targets"])
    ]
    expected = [t for t in spec.triggers if isinstance(t, BusTrigger)]
    assert len(rules) == len(expected)
    for trigger in expected:
        (rule,) = [r for r in rules if r["EventPattern"]["detail-type"] == list(trigger.detail_types)]
        assert rule["EventPattern"] == {
            "source": list(trigger.sources),
            "detail-type": list(trigger.detail_types),
        }
        assert "Bus" in json.dumps(rule["EventBusName"]), (
            "rules listen on the Switchboard bus, not the default"
        )
        (target,) = rule["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": arn(p.dlq)}


def test_one_schedule_per_schedule_trigger(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    schedules = [
        r["Properties"]
        for r in synth.resources("AWS::Scheduler::Schedule").values()
        if r["Properties"]["Target"]["Arn"] == arn(p.queue)
    ]
    expected = [t for t in spec.triggers if isinstance(t, ScheduleTrigger)]
    assert len(schedules) == len(expected)
    for trigger in expected:
        (schedule,) = [
            s for s in schedules if json.loads(s["Target"]["Input"])["switchboard_schedule"] == trigger.name
        ]
        assert schedule["ScheduleExpression"] == trigger.expression
        assert schedule["ScheduleExpressionTimezone"] == trigger.timezone
        assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
        assert schedule["Target"]["DeadLetterConfig"] == {"Arn": arn(p.dlq)}
        assert json.loads(schedule["Target"]["Input"]) == {
            "switchboard_schedule": trigger.name,
            "integration": spec.name,
            "scheduled_at": "<aws.scheduler.scheduled-time>",
        }
        role = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
        statements = role_statements(synth, role)
        assert all(listify(s["Action"]) == ["sqs:SendMessage"] for s in statements)
        assert referenced_ids(statements) == {p.queue, p.dlq}
        trust = synth.integrations["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
        assert trust["Statement"][0]["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert "aws:SourceAccount" in trust["Statement"][0]["Condition"]["StringEquals"]


def alarms_of(synth: Synth, spec: IntegrationSpec) -> dict[str, dict[str, Any]]:
    """The integration's alarms by kind (the name ``switchboard-<stage>-<integration>-<kind>``)."""
    prefix = resource_name(synth.stage, spec.name) + "-"
    found = {}
    for r in synth.resources("AWS::CloudWatch::Alarm").values():
        name = r["Properties"]["AlarmName"]
        if name.startswith(prefix) and name[len(prefix) :] in ALARM_KINDS:
            found[name[len(prefix) :]] = r["Properties"]
    return found


def _switchboard_dimensions(spec: IntegrationSpec) -> list[dict[str, str]]:
    return [{"Name": "integration", "Value": spec.name}]


def test_alarms(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    alarms = alarms_of(synth, spec)
    expected = {"function-errors", "function-throttles", "target-rate-limited"}
    if spec.queued_triggers:
        expected |= {"dlq-not-empty", "oldest-message-age"}
    if any(c.kind == "oauth2" for c in spec.all_connections):
        expected.add("oauth-refresh-failed")
    if any(isinstance(t, WebhookTrigger) for t in spec.triggers):
        expected.add("signature-rejections")
    assert set(alarms) == expected == set(alarm_kinds(spec))

    for kind, alarm in alarms.items():
        assert f"Runbook: {RUNBOOKS[kind]}" in alarm["AlarmDescription"]
        assert (ROOT / RUNBOOKS[kind]).is_file(), f"{RUNBOOKS[kind]} is missing"
        assert f"{synth.stage}/{spec.name}" in alarm["AlarmDescription"]
        (action,) = alarm["AlarmActions"]
        assert "AlarmTopic" in json.dumps(action)
        assert alarm["OKActions"] == alarm["AlarmActions"]
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"]

    def single(kind: str) -> tuple[str, str, Any, str]:
        a = alarms[kind]
        return a["Namespace"], a["MetricName"], a["Dimensions"], a["Statistic"]

    if spec.queued_triggers:  # a route-only integration has nothing queued to alarm on
        dlq = alarms["dlq-not-empty"]
        assert single("dlq-not-empty") == (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [p.dlq, "QueueName"]}}],
            "Maximum",
        )
        assert (dlq["ComparisonOperator"], dlq["Threshold"], dlq["Period"]) == ("GreaterThanThreshold", 0, 60)

        age = alarms["oldest-message-age"]
        assert single("oldest-message-age") == (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": [p.queue, "QueueName"]}}],
            "Maximum",
        )
        assert age["Threshold"] == oldest_message_threshold_s(spec)
        assert age["Threshold"] >= spec.retry.max_delay_s + 6 * spec.timeout_s

    for kind, metric in (("function-errors", "Errors"), ("function-throttles", "Throttles")):
        assert single(kind) == (
            "AWS/Lambda",
            metric,
            [{"Name": "FunctionName", "Value": {"Ref": p.function}}],
            "Sum",
        )
        assert (alarms[kind]["ComparisonOperator"], alarms[kind]["Threshold"]) == (
            "GreaterThanOrEqualToThreshold",
            1,
        )

    rate = alarms["target-rate-limited"]
    stats = {m["Id"]: m["MetricStat"] for m in rate["Metrics"] if "MetricStat" in m}
    assert {k: (v["Metric"]["MetricName"], v["Stat"]) for k, v in stats.items()} == {
        "limited": ("TargetRateLimited", "Sum"),
        "calls": ("TargetLatency", "SampleCount"),
    }
    for stat in stats.values():
        assert stat["Metric"]["Namespace"] == "Switchboard"
        assert stat["Metric"]["Dimensions"] == _switchboard_dimensions(spec)
    (expression,) = [m for m in rate["Metrics"] if "Expression" in m]
    assert expression["ReturnData"] is True and "limited" in expression["Expression"]

    for kind, metric in (
        ("oauth-refresh-failed", "OAuthRefreshFailed"),
        ("signature-rejections", "SignatureRejected"),
    ):
        if kind in alarms:
            assert single(kind) == ("Switchboard", metric, _switchboard_dimensions(spec), "Sum")


def test_each_app_a_worker_calls_has_a_circuit_open_alarm(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    alarms = {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in synth.resources("AWS::CloudWatch::Alarm").values()
    }
    for key in access.breaker_keys(spec):
        app = key[len(access.HEALTH_PREFIX) :]
        alarm = alarms[health_alarms.app_alarm_name(synth.stage, app)]
        assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
            "Switchboard",
            "TargetUnavailable",
            "Sum",
        )
        assert alarm["Dimensions"] == [{"Name": "app", "Value": app}]  # what shared.health.publish emits
        assert (alarm["Threshold"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 3, 1)
        assert alarm["TreatMissingData"] == "notBreaching"
        assert alarm["OKActions"] == alarm["AlarmActions"] and "AlarmTopic" in json.dumps(
            alarm["AlarmActions"]
        )
        assert f"{app} unavailable" in alarm["AlarmDescription"]
        assert f"switchboard status --stage {synth.stage}" in alarm["AlarmDescription"]
        assert "Runbook: docs/runbooks/circuit-open.md" in alarm["AlarmDescription"]
    assert (ROOT / "docs/runbooks/circuit-open.md").is_file()
    named = {n for n in alarms if n.endswith("-circuit-open")}
    assert named == {
        health_alarms.app_alarm_name(synth.stage, a) for a in health_alarms.called_apps(synth.specs)
    }


def test_the_circuit_metric_is_published_with_the_alarms_dimensions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.health import publish

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
    capsys.readouterr()
    publish("quickbooks", "TargetUnavailable", 1)
    emf = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Switchboard"
    assert directive["Dimensions"] == [[health_alarms.APP_DIMENSION]]
    assert emf["app"] == "quickbooks" and emf["TargetUnavailable"] == [1.0]


def test_every_runbook_is_written() -> None:
    for kind, path in RUNBOOKS.items():
        text = (ROOT / path).read_text()
        assert text.startswith("# Runbook"), path
        assert f"switchboard-<stage>-<integration>-{kind}" in text, path
        assert "## What it means" in text and "## What to do" in text, path
        assert "switchboard " in text, f"{path} shows no switchboard command"


def test_alarm_dimensions_match_what_the_runtime_publishes(
    real: Synth, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Run the metrics code under the function's own environment and compare its EMF dimensions."""
    from shared.observability import new_metrics

    for spec in real.specs:
        p = parts(real, spec)
        env = real.integrations["Resources"][p.function]["Properties"]["Environment"]["Variables"]
        monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)
        for key, value in env.items():
            if isinstance(value, str):
                monkeypatch.setenv(key, value)
        metrics = new_metrics(spec.name)
        metrics.add_metric(name="TargetRateLimited", unit="Count", value=1)
        metrics.flush_metrics()
        (line,) = [ln for ln in capsys.readouterr().out.splitlines() if '"_aws"' in ln]
        emf = json.loads(line)
        (directive,) = emf["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"] == "Switchboard"
        assert directive["Dimensions"] == [["integration"]]
        assert {d: emf[d] for d in directive["Dimensions"][0]} == {"integration": spec.name}
        rate = alarms_of(real, spec)["target-rate-limited"]
        for m in rate["Metrics"]:
            if "MetricStat" in m:
                published = [{"Name": d, "Value": emf[d]} for d in directive["Dimensions"][0]]
                assert m["MetricStat"]["Metric"]["Dimensions"] == published


def test_url_output_per_http_trigger(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    outputs = synth.integrations["Outputs"]
    for trigger in spec.http_triggers:
        key = f"{pascal(spec.name, trigger.name)}Url"
        assert key.isalnum()
        value = outputs[key]["Value"]["Fn::Join"][1]
        assert value[-1] == trigger.path
        assert "ApiEndpoint" in json.dumps(value[0])


def dashboard_body(synth: Synth) -> dict[str, Any]:
    """The dashboard's JSON, with CloudFormation tokens rendered as ``<logical id>`` / ``<AWS::Region>``."""
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == f"switchboard-{synth.stage}"
    body = dashboard["Properties"]["DashboardBody"]
    text = "".join(
        part
        if isinstance(part, str)
        else f"<{part['Fn::GetAtt'][0]}>"
        if "Fn::GetAtt" in part
        else f"<{part['Ref']}>"
        for part in body["Fn::Join"][1]
    )
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def test_dashboard_row(case: tuple[Synth, IntegrationSpec]) -> None:
    synth, spec = case
    p = parts(synth, spec)
    widgets = dashboard_body(synth)["widgets"]
    row = [w for w in widgets if w["properties"].get("title", "").startswith(f"{spec.name}: ")]
    (header,) = [w for w in widgets if w["properties"].get("markdown", "").startswith(f"### {spec.name}\n")]
    titles = ROW_WIDGETS if spec.queued_triggers else ROUTE_ROW_WIDGETS  # no queue, no queue graphs
    assert [w["properties"]["title"] for w in row] == [f"{spec.name}: {t}" for t in titles]
    assert {w["y"] for w in [header, *row]} == {header["y"]}, "one row per integration"
    assert sum(w["width"] for w in [header, *row]) == 24

    def series(title: str) -> list[tuple[Any, ...]]:
        (w,) = [w for w in row if w["properties"]["title"] == f"{spec.name}: {title}"]
        out = []
        for m in w["properties"]["metrics"]:
            opts = m[-1] if isinstance(m[-1], dict) else {}
            out.append(
                (*[x for x in m if not isinstance(x, dict)], opts.get("stat", w["properties"].get("stat")))
            )
        return out

    dims = ("integration", spec.name)
    (events,) = [w for w in row if w["properties"]["title"] == f"{spec.name}: events"]
    drawn = events["properties"]["metrics"]
    # Received is what Accepted + Rejected count (no series of its own: it would only repeat them).
    assert drawn[0] == [
        {"label": "received (accepted + rejected)", "expression": "FILL(accepted, 0) + FILL(rejected, 0)"}
    ]
    assert drawn[1:3] == [
        ["Switchboard", name, *dims, {"id": name.lower(), "visible": False, "stat": "Sum"}]
        for name in ("Accepted", "Rejected")
    ]
    counted = [("Switchboard", name, *dims, "Sum") for name in ("Processed", "Retried", "DeadLettered")]
    if any(isinstance(t, RouteTrigger) for t in spec.triggers):
        # Route requests are the function's own invocations (free), with or without a queue's batches.
        counted.append(("AWS/Lambda", "Invocations", "FunctionName", f"<{p.function}>", "Sum"))
        label = (
            "route requests" if not spec.queued_triggers else "invocations (route requests + queue batches)"
        )
        assert drawn[-1][-1]["label"] == label
    assert series("events")[3:] == counted
    if p.queue is not None:
        assert series("queue depth") == [
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"<{p.queue}>", "Maximum"),
            ("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", f"<{p.dlq}>", "Maximum"),
        ]
        assert series("oldest message age") == [
            ("AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", f"<{p.queue}>", "Maximum")
        ]
    assert series("duration") == [
        ("AWS/Lambda", "Duration", "FunctionName", f"<{p.function}>", stat) for stat in ("p50", "p99")
    ]
    assert series("target API latency") == [
        ("Switchboard", "TargetLatency", *dims, stat) for stat in ("p50", "p99")
    ]
    assert series("target 429s") == [("Switchboard", "TargetRateLimited", *dims, "Sum")]


#: Metric names the runtime no longer emits, each a billed series that only repeated another (issue 18).
NO_LONGER_EMITTED = {"Received", "RouteRequests", "OAuthRefreshed", "StockMemory", "StockSquare"}


def test_no_alarm_or_graph_reads_a_metric_the_runtime_no_longer_emits(synthetic: Synth, real: Synth) -> None:
    for synth in (synthetic, real):
        read: set[str] = set()
        for alarm in synth.resources("AWS::CloudWatch::Alarm").values():
            props = alarm["Properties"]
            read.add(props.get("MetricName", ""))
            read.update(
                m["MetricStat"]["Metric"]["MetricName"] for m in props.get("Metrics", []) if "MetricStat" in m
            )
        for widget in dashboard_body(synth)["widgets"]:
            for m in widget["properties"].get("metrics", []):
                if isinstance(m[0], str):
                    read.add(m[1])
        assert "Accepted" in read and "Processed" in read  # what was looked at is the whole set
        assert read & NO_LONGER_EMITTED == set()


def test_dashboard_shows_every_alarm_and_its_url_is_an_output(synthetic: Synth, real: Synth) -> None:
    for synth in (synthetic, real):
        widgets = dashboard_body(synth)["widgets"]
        shown = {a for w in widgets if w["type"] == "alarm" for a in w["properties"]["alarms"]}
        all_alarms = {f"<{k}>" for k in synth.resources("AWS::CloudWatch::Alarm")}
        assert shown == all_alarms
        assert widgets[0]["type"] == "alarm" and widgets[0]["y"] == 0
        url = synth.integrations["Outputs"]["DashboardUrl"]["Value"]["Fn::Join"][1]
        assert url[-1].endswith(f"#dashboards:name=switchboard-{synth.stage}")
        assert "console.aws.amazon.com/cloudwatch" in json.dumps(url)


def test_ses_is_granted_only_with_the_senders_from_address(case: tuple[Synth, IntegrationSpec]) -> None:
    """Sending is allowed on every identity of the account (the sender's, and in the SES sandbox the
    recipients'), only while the From address is the function's own sender."""
    synth, spec = case
    statements = role_statements(synth, parts(synth, spec).role)
    ses = [s for s in statements if any(a.startswith("ses:") for a in listify(s["Action"]))]
    settings = (SYNTHETIC_SETTINGS if spec in SYNTHETIC else REAL_CONTEXT["settings"]).get(spec.name)
    if spec.email is None:
        assert ses == []
        return
    address = sender_address(spec, settings)
    assert address is not None, f"{spec.name} sends email: the app under test must give it a sender"
    (statement,) = ses
    assert sorted(listify(statement["Action"])) == ["ses:SendEmail", "ses:SendRawEmail"]
    assert [rendered(r) for r in listify(statement["Resource"])] == [
        "arn:{AWS::Partition}:ses:{AWS::Region}:{AWS::AccountId}:identity/*"
    ]
    written = email.utils.parseaddr(settings[spec.email.from_setting])[1]
    assert statement["Condition"] == {"StringEquals": {"ses:FromAddress": sorted({written, address})}}
    if spec is GAMMA:  # as written (what send_email sends) and normalised: the same mailbox
        assert statement["Condition"]["StringEquals"]["ses:FromAddress"] == [
            "Hello@Bramble-Bakery.example",
            "Hello@bramble-bakery.example",
        ]


def test_sender_address_is_the_bare_address_of_the_from_setting() -> None:
    assert sender_address(GAMMA, {"from_address": "Bramble <Hello@Bramble-Bakery.Example>"}) == (
        "Hello@bramble-bakery.example"
    )
    assert sender_address(GAMMA, {"from_address": "hello@bramble.example"}) == "hello@bramble.example"
    assert sender_address(GAMMA, {"from_address": ""}) is None
    assert sender_address(GAMMA, None) is None
    assert sender_address(ALPHA, {"from_address": "x@y.example"}) is None  # ALPHA sends no email
    with pytest.raises(ValueError, match="not an email address"):
        sender_address(GAMMA, {"from_address": "Bramble Bakery"})


def test_prod_refuses_an_email_sender_without_a_from_address() -> None:
    with pytest.raises(ValueError, match=r"settings\.gamma_mail\.from_address"):
        build_app({**SKIP_BUNDLING, "stage": "prod"}, (GAMMA,), code=inline_code)


def test_dev_refuses_an_email_sender_without_a_from_address(tmp_path: Path) -> None:
    """Not a warning: the synthesis fails (so `cdk synth` exits non-zero and `cdk deploy` refuses),
    naming the integration and the context key to set."""
    synth = synthesize(tmp_path, (GAMMA,), {}, code=inline_code)
    assert synth.error is not None and "ValidationFailed" in synth.error
    (error,) = synth.annotations("error")
    assert "gamma_mail sends email" in error
    assert "settings.gamma_mail.from_address" in error
    assert "-c settings=" in error
    assert "ses:" not in json.dumps(role_statements(synth, parts(synth, GAMMA).role))


def test_dev_warns_about_missing_required_settings(tmp_path: Path) -> None:
    """Settings without defaults may still be unknown on a dev stage: a warning, and the function
    answers with a configuration error until they are set (prod refuses: below)."""

    class Required(BaseModel):
        owner: str

    spec = replace(BETA, settings=Required)
    synth = synthesize(tmp_path, (spec,), {}, code=inline_code)
    assert synth.error is None, synth.error
    assert "beta_flow has required settings" in json.dumps(synth.warnings())


def owned_resources(synth: Synth, spec: IntegrationSpec) -> dict[str, str]:
    """Logical id -> type of the resources the spec's Integration construct made (``<Pascal>...``)."""
    mine = pascal(spec.name)
    longer = [
        pascal(o.name) for o in synth.specs if pascal(o.name) != mine and pascal(o.name).startswith(mine)
    ]
    return {
        k: r["Type"]
        for k, r in synth.integrations["Resources"].items()
        if k.startswith(mine) and not any(k.startswith(o) for o in longer)
    }


def test_integration_has_exactly_its_resources(case: tuple[Synth, IntegrationSpec]) -> None:
    """Every resource the spec calls for, and nothing else, in the integration's construct."""
    synth, spec = case
    schedules = sum(isinstance(t, ScheduleTrigger) for t in spec.triggers)
    queued = bool(spec.queued_triggers)  # a route-only integration has no queues
    expected = {
        "AWS::SQS::Queue": 2 * queued,
        "AWS::SQS::QueuePolicy": 2 * queued,
        "AWS::Logs::LogGroup": 1,
        "AWS::IAM::Role": 1 + bool(schedules),
        "AWS::IAM::Policy": 1 + bool(schedules),
        "AWS::Lambda::Function": 1,
        "AWS::Lambda::EventSourceMapping": int(queued),
        "AWS::CloudWatch::Alarm": len(alarm_kinds(spec)),
        "AWS::Events::Rule": sum(isinstance(t, BusTrigger) for t in spec.triggers),
        "AWS::Scheduler::Schedule": schedules,
    }
    counted: dict[str, int] = {}
    for type_ in owned_resources(synth, spec).values():
        counted[type_] = counted.get(type_, 0) + 1
    assert counted == {k: v for k, v in expected.items() if v}
    # Routes hang off the shared API: one per HTTP trigger, each with its invoke permission.
    p = parts(synth, spec)
    permissions = [
        r
        for r in synth.resources("AWS::Lambda::Permission").values()
        if r["Properties"]["FunctionName"] == arn(p.function)
    ]
    assert len(permissions) == len(spec.http_triggers)
    assert all(r["Properties"]["Principal"] == "apigateway.amazonaws.com" for r in permissions)


# -- isolation between integrations -------------------------------------------------------------


def test_integrations_cannot_reach_each_other(case: tuple[Synth, IntegrationSpec]) -> None:
    """No statement of one integration's role names another's queues, function, logs, secrets or
    ledger keys."""
    synth, spec = case
    me = parts(synth, spec)
    statements = role_statements(synth, me.role)
    own_secrets = {c.name for c in spec.all_connections}
    (table,) = [s for s in statements if any(a.startswith("dynamodb:") for a in listify(s["Action"]))]
    patterns = table["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    for other_spec in synth.specs:
        if other_spec.name == spec.name:
            continue
        other = parts(synth, other_spec)
        assert not referenced_ids(statements) & {other.queue, other.dlq, other.function, other.log_group} - {
            None
        }
        # A connection two integrations share is theirs both; any other is out of reach.
        assert not secret_names(statements) & ({c.name for c in other_spec.all_connections} - own_secrets)
        assert not parameter_names(statements) & ({c.name for c in other_spec.all_connections} - own_secrets)
        # Another integration's own keys (records, API keys, audit) match none of my patterns.
        for key in (f"{other_spec.name}#event#x", f"{other_spec.name}#audit#x", f"{other_spec.name}#"):
            assert not any(fnmatch.fnmatchcase(key, p) for p in patterns), (key, patterns)
    assert ("events:PutEvents" in json.dumps(statements)) == bool(spec.emits)
    if spec.email is None:
        assert "ses:" not in json.dumps(statements)


# -- shared resources ----------------------------------------------------------------------------


@pytest.mark.parametrize("app", ["real", "synthetic"])
def test_core_stack(app: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(app)
    core = synth.template("core")
    core.has_resource_properties("AWS::Events::EventBus", {"Name": f"switchboard-{synth.stage}"})
    (bus,) = synth.resources("AWS::Events::EventBus", "core")
    (archive,) = synth.resources("AWS::Events::Archive", "core").values()
    assert archive["Properties"]["SourceArn"] == arn(bus)
    assert archive["Properties"]["ArchiveName"] == f"switchboard-{synth.stage}-bus"
    assert archive["Properties"]["RetentionDays"] == 7
    assert "KmsKeyIdentifier" not in archive["Properties"]  # CDK's "" (aws/aws-cdk#37847), removed
    assert archive["Properties"]["EventPattern"] == {"account": [{"Ref": "AWS::AccountId"}]}
    assert not synth.resources("AWS::SNS::Subscription", "core"), "no alarm_email in dev context"
    core.resource_count_is("AWS::DynamoDB::Table", 1)
    core.has_resource_properties("AWS::DynamoDB::Table", {"TableName": f"switchboard-{synth.stage}-ledger"})
    core.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Delete",
            "Properties": {
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "SSESpecification": {"SSEEnabled": True},
            },
        },
    )
    core.has_resource_properties(
        "AWS::SNS::Topic",
        {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("AlarmTopicKey"), "Arn"]}},
    )
    core.has_resource_properties("AWS::KMS::Key", {"EnableKeyRotation": True})
    core.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                        )
                    ]
                )
            }
        },
    )
    secrets = synth.resources("AWS::SecretsManager::Secret", "core")
    every = connections_of(synth.specs)
    # Target credentials are secrets; signing secrets and own keys are SSM parameters the operator
    # writes (CloudFormation cannot create a SecureString), so the stack creates none of them.
    expected = {c.name: c for c in every if store.store_of(c) == "secretsmanager"}
    kept_in_ssm = {c.name for c in every if store.store_of(c) == "ssm"}
    assert kept_in_ssm and all(c.kind in ("signing", "own-key") for c in every if c.name in kept_in_ssm)
    assert not synth.resources("AWS::SSM::Parameter", "core")
    assert not synth.resources("AWS::SSM::Parameter", "integrations")
    assert sorted(s["Properties"]["Name"] for s in secrets.values()) == sorted(
        f"switchboard/{synth.stage}/{n}" for n in expected
    )
    for secret in secrets.values():
        props = secret["Properties"]
        conn = expected[props["Name"].rsplit("/", 1)[1]]
        template = json.loads(props["GenerateSecretString"]["SecretStringTemplate"])
        # Constant, never derived from the fields: a changed template regenerates the value and would
        # wipe credentials the operator set. Required fields start missing, so the runtime fails closed.
        assert template == {}
        assert all(field in props["Description"] for field in conn.fields)
    # Each secret is one some function's role may read: none is kept for the operator's commands alone
    # (webhooks register's provider keys are asked for when it runs).
    granted = secret_names(
        [
            p["Properties"]["PolicyDocument"]
            for p in synth.resources("AWS::IAM::Policy", "integrations").values()
        ]
    )
    assert granted == set(expected)
    policies = [
        p["Properties"]["PolicyDocument"]
        for p in synth.resources("AWS::IAM::Policy", "integrations").values()
    ]
    assert parameter_names(policies) == kept_in_ssm
    operator_only = {c.name for s in synth.specs for c in s.operator_connections} - set(expected)
    if {s.name for s in synth.specs} == {s.name for s in load_specs()}:
        assert operator_only == {"calcom", "calendly", "stripe"}
    # The function-only asset and the layer live with the functions, not in the core stack.
    assert not synth.resources("AWS::Lambda::LayerVersion", "core")


def test_shared_api(synthetic: Synth, real: Synth) -> None:
    for synth in (synthetic, real):
        api = synth.template("integrations")
        api.resource_count_is("AWS::ApiGatewayV2::Api", 1)
        api.resource_count_is("AWS::Lambda::LayerVersion", 1)
        api.has_resource_properties(
            "AWS::Lambda::LayerVersion",
            {"CompatibleRuntimes": ["python3.14"], "CompatibleArchitectures": ["arm64"]},
        )
        api.has_resource_properties(
            "AWS::ApiGatewayV2::Stage",
            {
                "StageName": "$default",
                "AutoDeploy": True,
                "AccessLogSettings": {
                    "DestinationArn": Match.any_value(),
                    "Format": Match.string_like_regexp("requestId"),
                },
                "DefaultRouteSettings": {
                    "ThrottlingRateLimit": Match.any_value(),
                    "ThrottlingBurstLimit": Match.any_value(),
                },
            },
        )
        assert "ApiUrl" in synth.integrations["Outputs"]
    (api_props,) = [r["Properties"] for r in synthetic.resources("AWS::ApiGatewayV2::Api").values()]
    cors = api_props["CorsConfiguration"]
    assert cors["AllowOrigins"] == origin_list(SYNTHETIC_SETTINGS["alpha_flow"]["allowed_origins"])
    assert set(cors["AllowMethods"]) == {"GET", "POST", "OPTIONS"}
    (stage,) = [r["Properties"] for r in synthetic.resources("AWS::ApiGatewayV2::Stage").values()]
    assert stage["RouteSettings"] == {
        "GET /stock/{sku}": {"ThrottlingRateLimit": 7, "ThrottlingBurstLimit": 14},
        "GET /lookup/{id}": {"ThrottlingRateLimit": 10, "ThrottlingBurstLimit": 20},  # the defaults
        "POST /forms/alpha_flow": {"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10},  # browser forms
    }


def test_prod_keeps_data_and_logs_longer(prod: Synth) -> None:
    assert prod.error is None, prod.error
    (archive,) = prod.resources("AWS::Events::Archive", "core").values()
    assert archive["Properties"]["RetentionDays"] == 30
    (subscription,) = prod.resources("AWS::SNS::Subscription", "core").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@bramble-bakery.example"  # the prod entry only
    (table,) = prod.resources("AWS::DynamoDB::Table", "core").values()
    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    for secret in prod.resources("AWS::SecretsManager::Secret", "core").values():
        assert secret["DeletionPolicy"] == "Retain"
    for spec in SYNTHETIC:
        p = parts(prod, spec)
        fn = prod.integrations["Resources"][p.function]["Properties"]
        assert fn["FunctionName"] == f"switchboard-prod-{spec.name.replace('_', '-')}"
        assert fn["Environment"]["Variables"]["POWERTOOLS_LOG_LEVEL"] == "INFO"
        assert fn["Environment"]["Variables"]["SWITCHBOARD_SECRET_PREFIX"] == "switchboard/prod/"
        assert fn["Environment"]["Variables"]["SWITCHBOARD_PARAMETER_PREFIX"] == "/switchboard/prod/"
        assert prod.integrations["Resources"][p.log_group]["Properties"]["RetentionInDays"] == 90
        # The stage's own tracing choice ({"prod": "pass_through", ...} in its context).
        assert fn["TracingConfig"] == {"Mode": "PassThrough"}


# -- cdk-nag and cfn-lint ------------------------------------------------------------------------


@pytest.mark.parametrize("app", ["real", "synthetic", "prod"])
def test_cdk_nag_has_no_unacknowledged_findings(app: str, request: pytest.FixtureRequest) -> None:
    synth: Synth = request.getfixturevalue(app)
    assert synth.error is None, synth.error
    assert synth.violations() == []


def test_every_acknowledgment_answers_a_real_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the acknowledgments, cdk-nag reports exactly the findings they acknowledge.

    Proves the plugin is registered and running, and that no acknowledgment is dead weight.
    """
    acknowledged: set[tuple[str, str]] = set()

    def record(scope: Any, rule: str, reason: str) -> None:
        assert reason.strip()
        acknowledged.add((scope.node.path, rule))

    monkeypatch.setattr(nag, "acknowledge", record)
    synth = synthesize(tmp_path, SYNTHETIC, {"settings": SYNTHETIC_SETTINGS}, code=inline_code)
    assert synth.error is not None and "ValidationFailed" in synth.error
    findings = {(path, rule) for rule, severity, path in synth.violations() if severity == "error"}
    covered = {
        (path, rule)
        for path, rule in findings
        for ack_path, ack_rule in acknowledged
        if ack_rule == rule and (path == ack_path or path.startswith(ack_path + "/"))
    }
    assert covered == findings
    assert {rule for _, rule in acknowledged} == {rule for _, rule in findings}
    assert {r for _, r in findings} == {
        "AwsSolutions-SMG4",
        "AwsSolutions-APIG4",
        "AwsSolutions-IAM5[Resource::*]",
        f"AwsSolutions-IAM5[Resource::{nag.SES_IDENTITIES}]",
        f"AwsSolutions-IAM5[Resource::{nag.KMS_ANY_KEY}]",  # aws/ssm's id: kms:Decrypt via SSM only
    }


def test_cfn_lint(real: Synth, synthetic: Synth, prod: Synth) -> None:
    paths = [str(s.outdir / f"{name}.template.json") for s in (real, synthetic, prod) for name in s.templates]
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    proc = subprocess.run(
        [str(cfn_lint), "--ignore-checks", "W3005", "--", *paths],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **CDK_ENV},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- stage configuration -------------------------------------------------------------------------


def _config(context: dict[str, Any]) -> StageConfig:
    return StageConfig.from_node(cdk.App(context=context).node)


def test_stage_config_reads_alarm_email_once_or_per_stage() -> None:
    assert _config({}).alarm_email is None
    assert _config({"alarm_email": "ops@example.com"}).alarm_email == "ops@example.com"
    per_stage = {"prod": "ops@example.com"}
    assert _config({"stage": "prod", "alarm_email": per_stage}).alarm_email == "ops@example.com"
    assert _config({"stage": "dev", "alarm_email": per_stage}).alarm_email is None
    assert _config({"stage": "prod", "alarm_email": json.dumps(per_stage)}).alarm_email == "ops@example.com"
    with pytest.raises(ValueError, match="not an email address"):
        _config({"alarm_email": "ops"})


def test_stage_config_reads_the_tracing_mode_once_or_per_stage() -> None:
    assert _config({}).tracing == "active"  # the default, for every stage
    assert _config({"stage": "prod"}).tracing == "active"
    assert _config({"tracing": "pass_through"}).tracing == "pass_through"
    per_stage = {"prod": "pass_through"}
    assert _config({"stage": "prod", "tracing": per_stage}).tracing == "pass_through"
    assert _config({"stage": "dev", "tracing": per_stage}).tracing == "active"
    assert _config({"stage": "prod", "tracing": json.dumps(per_stage)}).tracing == "pass_through"
    with pytest.raises(
        ValueError, match=r"tracing 'sampled' for stage dev must be one of active, pass_through"
    ):
        _config({"tracing": "sampled"})


def test_stage_config_takes_make_devs_settings_when_asked_for_local() -> None:
    local = _config({"settings": "local"}).settings
    folders = sorted(p.parent.name for p in (ROOT / "functions").glob("*/settings.local.json"))
    assert sorted(local) == folders
    sample = json.loads((ROOT / "functions" / "new_lead_notify" / "settings.local.json").read_text())
    assert local["new_lead_notify"] == sample and sample["from_address"]
    assert _config({"settings": {"mcp": {"from_address": "a@b.example"}}}).settings == {
        "mcp": {"from_address": "a@b.example"}
    }


def test_stage_config_differs_between_dev_and_prod() -> None:
    dev, prod = _config({}), _config({"stage": "prod"})
    assert (dev.stage, dev.log_level, dev.archive_retention.to_days()) == ("dev", "DEBUG", 7)
    assert (prod.stage, prod.log_level, prod.archive_retention.to_days()) == ("prod", "INFO", 30)
    assert dev.runbook("dlq-not-empty") == "docs/runbooks/dlq-not-empty.md"
    linked = _config({"runbook_base_url": "https://git.example/switchboard/blob/main/"})
    assert (
        linked.runbook("dlq-not-empty")
        == "https://git.example/switchboard/blob/main/docs/runbooks/dlq-not-empty.md"
    )
    with pytest.raises(ValueError, match="stage"):
        _config({"stage": "Prod-EU"})


# -- refusing bad input --------------------------------------------------------------------------


def test_invalid_settings_fail_synthesis() -> None:
    with pytest.raises(ValueError, match=r"settings\.alpha_flow"):
        build_app({**SKIP_BUNDLING, "settings": {"alpha_flow": {"no_such": 1}}}, SYNTHETIC, code=inline_code)


def test_malformed_origin_fails_synthesis() -> None:
    with pytest.raises(ValueError, match="not browser origins"):
        build_app(
            {**SKIP_BUNDLING, "settings": {"alpha_flow": {"allowed_origins": ["shop.example/path"]}}},
            SYNTHETIC,
            code=inline_code,
        )


def test_prod_refuses_missing_required_settings() -> None:
    class Required(BaseModel):
        owner: str

    spec = replace(BETA, settings=Required)
    with pytest.raises(ValueError, match="required settings"):
        build_app({**SKIP_BUNDLING, "stage": "prod"}, (spec,), code=inline_code)


def test_names_past_a_limit_fail_synthesis() -> None:
    """Lambda caps function names at 64 characters; CloudFormation would refuse it mid-deployment."""
    long_name = "a" * 50  # switchboard-dev- + 50 = 66
    with pytest.raises(ValueError, match=r"exceeds Lambda's 64 characters"):
        build_app(SKIP_BUNDLING, (replace(BETA, name=long_name),), code=inline_code)
    # ... and retries that could outlast the queue's retention would lose messages silently.
    # The policy refuses back-off past its own retention; the function adds its visibility windows.
    tight = RetryPolicy(
        max_attempts=8,
        base_delay_s=10,
        max_delay_s=900,
        horizon_s=4 * 24 * 3600,
        retention_s=4 * 24 * 3600 + 7300,
    )
    slow = replace(BETA, timeout_s=900, retry=tight)
    with pytest.raises(ValueError, match="may outlast the queue's retention"):
        build_app(SKIP_BUNDLING, (slow,), code=inline_code)


def test_two_integrations_cannot_claim_one_route() -> None:
    twin = replace(ALPHA, name="alpha_twin", triggers=(ALPHA.triggers[2],))
    with pytest.raises(ValueError, match=r"GET /stock/\{sku\}"):
        build_app(SKIP_BUNDLING, (ALPHA, twin), code=inline_code)


def test_connections_are_declared_once() -> None:
    same = replace(BETA, name="beta_twin")
    assert [c.name for c in connections_of((ALPHA, BETA, same))] == [
        "alpha_api",
        "alpha_signing",
        "beta_oauth",
    ]
    clash = Connection(name="beta_oauth", app="beta", description="x", fields=("token",))
    with pytest.raises(ValueError, match="declared differently"):
        connections_of((BETA, replace(BETA, name="beta_other", connections=(clash,))))


# -- bundling (no pip, no synthesis) -------------------------------------------------------------


@pytest.mark.parametrize("spec", load_specs(), ids=lambda s: s.name)
def test_function_asset_holds_shared_the_apps_runtime_and_only_its_own_folder(
    spec: IntegrationSpec, tmp_path: Path
) -> None:
    files = [f.as_posix() for f in function_files(spec.name)]
    assert "shared/entry.py" in files
    assert "shared/spec.py" in files
    assert "apps/hubspot/__init__.py" in files
    assert "functions/__init__.py" in files
    assert f"functions/{spec.name}/spec.py" in files
    assert all(
        f.startswith(("shared/", "apps/", f"functions/{spec.name}/")) or f == "functions/__init__.py"
        for f in files
    )
    assert not [
        f for f in files if "__pycache__" in f or "/tests/" in f or f.endswith(".pyc") or ".local." in f
    ]
    # Stand-ins, chaos hooks and samples serve the local runtime and the tests, never a Lambda.
    assert not [
        f
        for f in files
        if "/standin" in f
        or f.endswith("/chaos.py")
        or "/samples/" in f
        or (f.startswith("apps/") and f.endswith("/subscriptions.py"))
    ]
    # ... nor do the integration's own chaos generators, which sit beside its spec.
    generators = {p.relative_to(ROOT).as_posix() for p in (ROOT / "functions" / spec.name).rglob("chaos.py")}
    assert not generators & set(files)
    assert spec.name not in {"website_to_crm", "pos_to_accounting"} or generators

    FunctionCodeBundler(spec.name).try_bundle(str(tmp_path), image=cdk.DockerImage.from_registry("unused"))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == sorted(
        files
    )


def test_layer_installs_pyproject_dependencies_for_the_lambda_platform() -> None:
    cmd = LayerBundler().command(Path("/out/python"))
    deps = runtime_dependencies()
    assert cmd[-len(deps) :] == deps
    assert any(d.startswith("pydantic") for d in deps)
    assert cmd[cmd.index("--platform") + 1] == PIP_PLATFORM == "manylinux2014_aarch64"
    assert cmd[cmd.index("--python-version") + 1] == "3.14"
    assert cmd[cmd.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in cmd
    assert cmd[cmd.index("--target") + 1] == "/out/python"
    assert cmd[cmd.index("--constraint") + 1].endswith("requirements.lock")
    pins = lock_pins()
    for dep in deps:
        name, _, version = re.sub(r"\[[^\]]*\]", "", dep).partition("==")
        assert pins[name.replace("_", "-").lower()] == version, f"{dep} differs from requirements.lock"
