"""What a synthesized stage is made of, counted from its CloudFormation templates.

Read from ``cdk.out/Switchboard-<stage>-core.template.json`` and ``...-integrations.template.json``
(``make synth``), never from the specs: what is billed is what is deployed. Resources are assigned
to an integration through the ``switchboard:integration`` tag of its function and the construct
path CDK writes into each resource's metadata (``Switchboard-dev-integrations/WebsiteToCrm/...``);
what belongs to no integration (secrets, keys, the dashboard, the per-app alarms, the API's access
log) is the stage's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Function",
    "IntegrationInventory",
    "StageInventory",
    "TemplatesMissing",
    "alarm_metric_count",
    "inventory_from_templates",
    "load_stage",
    "template_paths",
]

INTEGRATION_TAG = "switchboard:integration"


class TemplatesMissing(FileNotFoundError):
    """The stage has not been synthesized into the cdk.out directory asked for."""


@dataclass(frozen=True)
class Function:
    name: str
    memory_mb: int
    architecture: str
    #: ``Active`` or ``PassThrough`` (CloudFormation's spelling).
    tracing: str


@dataclass
class IntegrationInventory:
    name: str
    function: Function
    queues: int = 0
    #: Concurrent long polls each SQS event source keeps open while its queue is idle.
    event_source_pollers: list[int] = field(default_factory=list)
    #: Billed alarm metrics (a metric-math alarm counts each metric it reads).
    alarm_metrics: int = 0
    alarms: int = 0
    #: ``(expression, timezone)`` of each EventBridge Scheduler schedule.
    schedules: list[tuple[str, str]] = field(default_factory=list)
    bus_rules: int = 0
    routes: int = 0
    log_retention_days: int = 0


@dataclass
class StageInventory:
    stage: str
    integrations: dict[str, IntegrationInventory]
    secrets: int
    kms_keys: int
    dashboards: int
    #: Alarms that belong to no integration (per target app: its circuit is open).
    shared_alarms: int
    shared_alarm_metrics: int
    #: The HTTP API's access log: its line format and retention, if it logs.
    access_log_format: str | None
    access_log_retention_days: int
    tables: int
    point_in_time_recovery: bool
    bus_archives: int
    #: Connection names of the stage's secrets, and those some function's role may read.
    secret_names: tuple[str, ...] = ()
    read_secrets: tuple[str, ...] = ()
    #: Connection names of the SSM ``SecureString`` parameters some function's role may read (signing
    #: secrets, own keys: :mod:`shared.store`). No template creates them - CloudFormation cannot
    #: create a ``SecureString`` - so they are counted from the grants; standard tier, free.
    parameter_names: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()


def template_paths(cdk_out: Path, stage: str) -> tuple[Path, Path]:
    return (
        cdk_out / f"Switchboard-{stage}-core.template.json",
        cdk_out / f"Switchboard-{stage}-integrations.template.json",
    )


def load_stage(cdk_out: Path, stage: str) -> StageInventory:
    core_path, integrations_path = template_paths(cdk_out, stage)
    missing = [p for p in (core_path, integrations_path) if not p.exists()]
    if missing:
        raise TemplatesMissing(
            f"no synthesized templates for stage {stage!r}: {', '.join(str(p) for p in missing)} "
            f"missing - run `make synth STAGE={stage} SETTINGS=local` (or with your settings) first"
        )
    core = json.loads(core_path.read_text(encoding="utf-8"))
    integrations = json.loads(integrations_path.read_text(encoding="utf-8"))
    inventory = inventory_from_templates(stage, core, integrations)
    inventory.sources = (str(core_path), str(integrations_path))
    return inventory


def _resources(template: Mapping[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template.get("Resources", {}).items() if r.get("Type") == type_}


def _tag(resource: Mapping[str, Any], key: str) -> str | None:
    for tag in resource.get("Properties", {}).get("Tags", []) or []:
        if isinstance(tag, dict) and tag.get("Key") == key:
            return str(tag.get("Value"))
    return None


def _construct(resource: Mapping[str, Any]) -> str | None:
    """The top construct under the stack (``WebsiteToCrm``) from ``aws:cdk:path``."""
    path = resource.get("Metadata", {}).get("aws:cdk:path")
    if not isinstance(path, str) or path.count("/") < 2:
        return None
    return path.split("/")[1]


def _referenced(value: Any, owners: Mapping[str, str | None]) -> str | None:
    """The owner of the first logical id in ``owners`` that ``value`` refers to (Ref / Fn::GetAtt)."""
    if isinstance(value, dict):
        ref = value.get("Ref")
        if isinstance(ref, str) and owners.get(ref):
            return owners[ref]
        att = value.get("Fn::GetAtt")
        if isinstance(att, list) and att and isinstance(att[0], str) and owners.get(att[0]):
            return owners[att[0]]
        items: Any = value.values()
    elif isinstance(value, list):
        items = value
    else:
        return None
    for item in items:
        if (found := _referenced(item, owners)) is not None:
            return found
    return None


def alarm_metric_count(alarm: Mapping[str, Any]) -> int:
    """Alarm metrics CloudWatch bills for one alarm: one for a single-metric alarm, one per metric a
    metric-math alarm reads (its expressions are free)."""
    metrics = alarm.get("Properties", {}).get("Metrics")
    if not metrics:
        return 1
    return sum(1 for m in metrics if isinstance(m, dict) and "MetricStat" in m)


def _pollers(esm: Mapping[str, Any]) -> int:
    """Long polls an idle SQS event source keeps open: five, or as few as two where Lambda may
    scale back - which it does not for a mapping with maximum concurrency set
    (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html)."""
    props = esm.get("Properties", {})
    if props.get("ProvisionedPollerConfig"):
        return int(props["ProvisionedPollerConfig"].get("MinimumPollers", 2))
    return 5 if props.get("ScalingConfig", {}).get("MaximumConcurrency") else 2


def inventory_from_templates(
    stage: str, core: Mapping[str, Any], integrations: Mapping[str, Any]
) -> StageInventory:
    """Count what each integration and the stage deploy (see the module docstring)."""
    owner: dict[str, str] = {}  # construct id -> integration name
    found: dict[str, IntegrationInventory] = {}
    functions = _resources(integrations, "AWS::Lambda::Function")
    function_owner: dict[str, str] = {}
    for logical_id, fn in functions.items():
        name = _tag(fn, INTEGRATION_TAG)
        if name is None:
            continue
        props = fn["Properties"]
        if (construct := _construct(fn)) is not None:
            owner[construct] = name
        function_owner[logical_id] = name
        found[name] = IntegrationInventory(
            name=name,
            function=Function(
                name=str(props.get("FunctionName", logical_id)),
                memory_mb=int(props.get("MemorySize", 128)),
                architecture=str((props.get("Architectures") or ["x86_64"])[0]),
                tracing=str(props.get("TracingConfig", {}).get("Mode", "PassThrough")),
            ),
        )

    by_function_name = sorted(
        ((i.function.name, n) for n, i in found.items()), key=lambda kv: -len(kv[0])
    )  # longest first: switchboard-dev-lead-enrichment before a switchboard-dev-lead
    api_integrations = {
        k: _referenced(r, function_owner)
        for k, r in _resources(integrations, "AWS::ApiGatewayV2::Integration").items()
    }

    def of(resource: Mapping[str, Any]) -> IntegrationInventory | None:
        """Its integration: by tag, construct path, resource name, or the function it refers to
        (templates synthesized in-process carry no construct paths, and alarms no tags)."""
        name = _tag(resource, INTEGRATION_TAG) or owner.get(_construct(resource) or "")
        if name is None:
            props = resource.get("Properties", {})
            named = next(
                (
                    str(props[k]).removeprefix("/aws/lambda/")
                    for k in ("AlarmName", "Name", "QueueName", "LogGroupName")
                    if isinstance(props.get(k), str)
                ),
                "",
            )
            name = next((n for fn, n in by_function_name if named == fn or named.startswith(fn + "-")), None)
        if name is None:
            name = _referenced(resource, function_owner) or _referenced(resource, api_integrations)
        return found.get(name) if name else None

    for queue in _resources(integrations, "AWS::SQS::Queue").values():
        if (i := of(queue)) is not None:
            i.queues += 1
    for esm in _resources(integrations, "AWS::Lambda::EventSourceMapping").values():
        ref = esm.get("Properties", {}).get("FunctionName", {})
        name = function_owner.get(ref.get("Ref", "")) if isinstance(ref, dict) else None
        i = found.get(name) if name else of(esm)
        if i is not None:
            i.event_source_pollers.append(_pollers(esm))
    shared_alarms = shared_alarm_metrics = 0
    for alarm in _resources(integrations, "AWS::CloudWatch::Alarm").values():
        i = of(alarm)
        if i is None:
            shared_alarms += 1
            shared_alarm_metrics += alarm_metric_count(alarm)
        else:
            i.alarms += 1
            i.alarm_metrics += alarm_metric_count(alarm)
    for schedule in _resources(integrations, "AWS::Scheduler::Schedule").values():
        if (i := of(schedule)) is not None:
            props = schedule["Properties"]
            i.schedules.append(
                (str(props["ScheduleExpression"]), str(props.get("ScheduleExpressionTimezone", "UTC")))
            )
    for rule in _resources(integrations, "AWS::Events::Rule").values():
        if (i := of(rule)) is not None:
            i.bus_rules += 1
    permissions = _resources(integrations, "AWS::ApiGatewayV2::Route")
    for route in permissions.values():
        if (i := of(route)) is not None:
            i.routes += 1
    access_format, access_retention = None, 0
    log_groups = _resources(integrations, "AWS::Logs::LogGroup")
    for log_group in log_groups.values():
        if (i := of(log_group)) is not None:
            i.log_retention_days = int(log_group["Properties"].get("RetentionInDays", 0))
    for api_stage in _resources(integrations, "AWS::ApiGatewayV2::Stage").values():
        settings = api_stage["Properties"].get("AccessLogSettings")
        if settings:
            access_format = str(settings.get("Format", ""))
            target = settings.get("DestinationArn", {}).get("Fn::GetAtt", [""])[0]
            if target in log_groups:
                access_retention = int(log_groups[target]["Properties"].get("RetentionInDays", 0))
    tables = _resources(core, "AWS::DynamoDB::Table")
    prefix = f"switchboard/{stage}/"
    secret_names = sorted(
        str(r["Properties"].get("Name", "")).removeprefix(prefix)
        for r in _resources(core, "AWS::SecretsManager::Secret").values()
    )
    granted = re.compile(rf":secret:{re.escape(prefix)}([A-Za-z0-9_.-]+)-\?{{6}}")
    parameter = re.compile(rf":parameter/{re.escape(prefix)}([A-Za-z0-9_.-]+)")
    read: set[str] = set()
    parameters: set[str] = set()
    for policy in _resources(integrations, "AWS::IAM::Policy").values():
        for statement in policy["Properties"].get("PolicyDocument", {}).get("Statement", []):
            actions = statement.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            if "secretsmanager:GetSecretValue" in actions:
                read.update(granted.findall(json.dumps(statement.get("Resource"))))
            if "ssm:GetParameter" in actions:
                parameters.update(parameter.findall(json.dumps(statement.get("Resource"))))
    return StageInventory(
        stage=stage,
        integrations=dict(sorted(found.items())),
        secrets=len(_resources(core, "AWS::SecretsManager::Secret"))
        + len(_resources(integrations, "AWS::SecretsManager::Secret")),
        kms_keys=len(_resources(core, "AWS::KMS::Key")) + len(_resources(integrations, "AWS::KMS::Key")),
        dashboards=len(_resources(integrations, "AWS::CloudWatch::Dashboard"))
        + len(_resources(core, "AWS::CloudWatch::Dashboard")),
        shared_alarms=shared_alarms,
        shared_alarm_metrics=shared_alarm_metrics,
        access_log_format=access_format,
        access_log_retention_days=access_retention,
        tables=len(tables),
        point_in_time_recovery=any(
            t["Properties"]
            .get("PointInTimeRecoverySpecification", {})
            .get("PointInTimeRecoveryEnabled", False)
            for t in tables.values()
        ),
        bus_archives=len(_resources(core, "AWS::Events::Archive")),
        secret_names=tuple(secret_names),
        read_secrets=tuple(sorted(read)),
        parameter_names=tuple(sorted(parameters)),
    )


_CONTEXT_VARIABLE = re.compile(r"\$context\.[A-Za-z.]+")
#: Typical values of the HTTP API's ``$context`` variables in an access log line (lengths matter).
_TYPICAL_CONTEXT = {
    "$context.requestId": "Jx2mKi7QIAMEb0g=",
    "$context.requestTime": "05/Dec/2026:09:14:03 +0000",
    "$context.identity.sourceIp": "203.0.113.42",
    "$context.identity.userAgent": "Mozilla/5.0 (compatible; provider-webhooks/1.0)",
    "$context.httpMethod": "POST",
    "$context.routeKey": "POST /hooks/website_to_crm/tally",
    "$context.path": "/hooks/website_to_crm/tally",
    "$context.status": "202",
    "$context.protocol": "HTTP/1.1",
    "$context.responseLength": "62",
    "$context.responseLatency": "48",
    "$context.integrationStatus": "200",
    "$context.integrationLatency": "45",
    "$context.integrationErrorMessage": "-",
    "$context.error.message": "-",
}


def access_log_line_bytes(fmt: str) -> int:
    """Bytes of one access log line in ``fmt`` with typical values (unknown variables: 8 bytes)."""
    line = _CONTEXT_VARIABLE.sub(lambda m: _TYPICAL_CONTEXT.get(m.group(0), "x" * 8), fmt)
    return len(line.encode("utf-8")) + 1
