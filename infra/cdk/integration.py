"""One integration on AWS, built from its spec alone.

:class:`Integration` is the only place that turns an :class:`~shared.spec.IntegrationSpec` into
resources; the stacks only loop. Per integration:

* a Lambda function (arm64, Python 3.14, ``shared.entry.handler``) with its own role and log group,
  serving both the ingress path (HTTP routes) and the worker path (SQS batches), traced by X-Ray in
  the stage's tracing mode (:data:`infra.cdk.config.TRACING_MODES`);
* if anything is queued (any trigger but a synchronous route): a queue and a dead-letter queue, and
  the SQS event source, which reports partial batch failures and caps concurrent invocations
  (``spec.max_invocations``) so a rate-limited app is not flooded. A route-only integration answers
  every request itself and gets neither (nor any queue permission);
* one HTTP API route per webhook, form and synchronous route trigger;
* one EventBridge rule per bus trigger and one EventBridge Scheduler schedule per schedule trigger,
  both delivering into the queue (and into the DLQ when delivery fails), so every unit of work gets
  the same retries, DLQ and idempotency;
* least-privilege grants, each derived from the spec (see :meth:`Integration._grant`);
* alarms (:mod:`infra.cdk.alarms`), its row of the stage dashboard (:mod:`infra.cdk.dashboard`), and
  an output per HTTP trigger with its full URL.
"""

from __future__ import annotations

import email.utils
import json
import re
import zoneinfo
from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as apigwv2_integrations
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from pydantic import ValidationError

from infra.cdk import access, alarms, nag
from infra.cdk.api import CorsConfig, SwitchboardApi
from infra.cdk.bundling import ARCHITECTURE, RUNTIME
from infra.cdk.config import VISIBILITY_FACTOR, StageConfig
from infra.cdk.core import CoreResources
from infra.cdk.dashboard import integration_row
from infra.cdk.naming import (
    dlq_name,
    function_name,
    log_group_name,
    parameter_prefix,
    pascal,
    queue_name,
    resource_name,
    secret_name,
    secret_prefix,
    short_name,
)
from shared.spec import (
    SQS_MAX_RETENTION_S,
    BusTrigger,
    FormTrigger,
    IntegrationSpec,
    RouteTrigger,
    ScheduleTrigger,
    WebhookTrigger,
)

__all__ = [
    "DLQ_ACTIONS",
    "HANDLER",
    "METRICS_NAMESPACE",
    "QUEUE_ACTIONS",
    "SES_ACTIONS",
    "SES_FROM_ADDRESS",
    "TRACING",
    "Integration",
    "cors_config",
    "from_addresses",
    "resolve_settings",
    "sender_address",
]

HANDLER = "shared.entry.handler"
METRICS_NAMESPACE = alarms.METRICS_NAMESPACE
#: What sending one email through SES needs (v2 ``SendEmail`` is authorised as ``ses:SendEmail``;
#: with ``Content.Raw`` - attachments, :func:`shared.email.send_email` - as ``ses:SendRawEmail``).
SES_ACTIONS = ("ses:SendEmail", "ses:SendRawEmail")
#: What a function does with its queue: Lambda's poller receives, deletes and reads attributes; the
#: ingress path sends; the worker's back-off changes a message's visibility.
QUEUE_ACTIONS = (
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
)
#: ... and with its DLQ: a permanent failure is sent there at once, with its reason.
DLQ_ACTIONS = ("sqs:SendMessage",)
#: The SES condition key holding a send's From address (bare, without the display name).
SES_FROM_ADDRESS = "ses:FromAddress"
#: Lambda's tracing mode for each of :data:`infra.cdk.config.TRACING_MODES`.
TRACING = {"active": lambda_.Tracing.ACTIVE, "pass_through": lambda_.Tracing.PASS_THROUGH}
#: The DLQ keeps a message the longest SQS allows. Longer than the main queue's (the spec's
#: ``retry.retention_s``), because a standard queue's DLQ counts retention from the original enqueue
#: time: a shorter DLQ retention would delete dead messages on arrival.
DLQ_RETENTION = cdk.Duration.seconds(SQS_MAX_RETENTION_S)
#: Lambda caps all environment variables of a function at 4 KB together.
MAX_SETTINGS_BYTES = 2048
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def resolve_settings(spec: IntegrationSpec, raw: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The integration's settings, validated by ``spec.settings`` and normalised to JSON-able data.

    Given settings that do not validate fail synthesis (better than a function that fails on every
    event). No settings at all is fine when the model has defaults for everything; otherwise ``None``
    is returned: a dev stage then synthesizes with a warning (its settings may not be known yet) and
    the function reports a configuration error at run time, while prod refuses to synthesize.
    """
    if raw is None:
        try:
            model = spec.settings.model_validate({})
        except ValidationError:
            return None
    else:
        try:
            model = spec.settings.model_validate(dict(raw))
        except ValidationError as exc:
            raise ValueError(f"context settings.{spec.name} are invalid: {exc}") from exc
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True)
    return dumped


def sender_address(spec: IntegrationSpec, settings: Mapping[str, Any] | None) -> str | None:
    """The bare From address (``hello@bramble-bakery.example``) of an integration that sends email.

    Read from ``settings[spec.email.from_setting]``, which may carry a display name
    (``"Bramble Bakery <hello@bramble-bakery.example>"``). ``None`` when the spec sends no email or the
    setting is empty; a value that is not an address fails synthesis.
    """
    if spec.email is None:
        return None
    value = (settings or {}).get(spec.email.from_setting)
    if not value:
        return None
    address = email.utils.parseaddr(str(value))[1].strip()
    local, _, domain = address.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in address):
        raise ValueError(f"{spec.name}: settings.{spec.email.from_setting} {value!r} is not an email address")
    return f"{local}@{domain.lower()}"


def from_addresses(spec: IntegrationSpec, settings: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The values ``ses:FromAddress`` takes when the function sends: the bare address as the settings
    write it (which is what :func:`shared.email.send_email` sends) and its :func:`sender_address` form.

    The condition compares case-sensitively, and the two differ only when the setting writes the
    domain in capitals; both are the same mailbox.
    """
    normalised = sender_address(spec, settings)
    if normalised is None or spec.email is None:
        return ()
    written = email.utils.parseaddr(str((settings or {})[spec.email.from_setting]))[1].strip()
    return tuple(sorted({written, normalised}))


def _origins(integration: str, value: Any) -> set[str]:
    """Origins from a settings value; a malformed one fails synthesis rather than the deployment."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple | set | frozenset):
        return set()
    origins = {str(v).strip().rstrip("/") for v in value if str(v).strip()}
    bad = sorted(o for o in origins if not _ORIGIN.match(o))
    if bad:
        raise ValueError(f"{integration}: {bad} are not browser origins (scheme://host[:port])")
    return origins


def cors_config(spec: IntegrationSpec, settings: Mapping[str, Any] | None) -> CorsConfig | None:
    """Browser origins and methods this integration's routes must allow cross-origin.

    Forms read their allow-list from the settings field ``trigger.origins_setting``; synchronous
    routes with ``cors=True`` from ``allowed_origins``. No origins configured means no CORS.
    """
    origins: set[str] = set()
    methods: set[str] = set()
    for trigger in spec.http_triggers:
        if isinstance(trigger, FormTrigger):
            key = trigger.origins_setting
        elif isinstance(trigger, RouteTrigger) and trigger.cors:
            key = "allowed_origins"
        else:
            continue
        found = _origins(spec.name, (settings or {}).get(key))
        if found:
            origins |= found
            methods.add(trigger.method.upper())
    if not origins:
        return None
    return CorsConfig(origins=tuple(sorted(origins)), methods=tuple(sorted(methods)))


class Integration(Construct):
    """Every AWS resource of one integration. See the module docstring."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: IntegrationSpec,
        config: StageConfig,
        core: CoreResources,
        api: SwitchboardApi,
        layer: lambda_.ILayerVersion,
        code: lambda_.Code,
        settings: Mapping[str, Any] | None,
    ) -> None:
        super().__init__(scope, construct_id)
        access.check_name(spec)
        self.spec = spec
        self.config = config
        self.core = core
        self.api = api
        self.base_name = function_name(config.stage, spec.name)
        self.settings_json = json.dumps(settings if settings is not None else {}, separators=(",", ":"))
        self._check_limits()
        if settings is None:
            missing = f"{spec.name} has required settings but context 'settings.{spec.name}' is not set"
            if config.is_prod:
                raise ValueError(missing)
            cdk.Annotations.of(self).add_warning_v2(
                "switchboard:settings-missing",
                f"{missing}: the function will answer with a configuration error until it is.",
            )
        self.sender = sender_address(spec, settings)
        self.from_addresses = from_addresses(spec, settings)
        if spec.email is not None and self.sender is None:
            missing = (
                f"{spec.name} sends email but context 'settings.{spec.name}.{spec.email.from_setting}' "
                '(the From address) is not set: set it in cdk.json "settings" or with '
                f'-c settings=\'{{"{spec.name}": {{"{spec.email.from_setting}": "…"}}}}\''
            )
            if config.is_prod:
                raise ValueError(missing)
            # An error, not a warning: a function that cannot send would fail every event that
            # mails someone. `cdk synth` reports it and exits non-zero; `cdk deploy` refuses.
            cdk.Annotations.of(self).add_error(missing)

        # Only what a queued trigger feeds has a queue: a route-only integration answers every
        # request itself, and an idle queue would be one more thing to grant, alarm on and explain.
        self.queues: tuple[sqs.Queue, sqs.Queue] | None = self._queues() if spec.queued_triggers else None
        self.log_group, self.role, self.function = self._function(layer, code)
        self._grant()
        if self.queues is not None:
            # The mapping itself, not SqsEventSource: that one also grants sqs:GetQueueUrl, which
            # neither Lambda's poller nor the code calls (the consume grant is in _grant).
            lambda_.EventSourceMapping(
                self,
                "QueueSource",
                target=self.function,
                event_source_arn=self.queue.queue_arn,
                batch_size=spec.batch_size,
                report_batch_item_failures=True,
                max_concurrency=spec.max_invocations,
            )
        self.routes: dict[str, list[apigwv2.HttpRoute]] = self._http_routes()
        self.rules: dict[str, events.Rule] = self._bus_rules()
        self.schedules: dict[str, scheduler.CfnSchedule] = self._schedules()
        self.alarms: dict[str, cloudwatch.Alarm] = alarms.integration_alarms(
            self,
            config=config,
            spec=spec,
            function=self.function,
            queues=self.queues,
            topic=core.alarm_topic,
        )
        self.dashboard_row = integration_row(spec, function=self.function, queues=self.queues)
        self.outputs: dict[str, cdk.CfnOutput] = self._outputs()
        cdk.Tags.of(self).add("switchboard:integration", spec.name)

    # -- checks -------------------------------------------------------------------------------

    def _check_limits(self) -> None:
        """Fail synthesis with a readable message instead of a CloudFormation rollback."""
        spec = self.spec
        if len(self.base_name) > 64:
            raise ValueError(f"{spec.name}: function name {self.base_name!r} exceeds Lambda's 64 characters")
        if len(self.base_name) + len("-dlq") > 80:
            raise ValueError(f"{spec.name}: queue name {self.base_name}-dlq exceeds SQS's 80 characters")
        if not 1 <= spec.timeout_s <= 900:
            raise ValueError(f"{spec.name}: timeout_s must be 1..900")
        if not 128 <= spec.memory_mb <= 10240:
            raise ValueError(f"{spec.name}: memory_mb must be 128..10240")
        retry = spec.retry
        # The policy checked horizon + back-off against its retention; the visibility windows of the
        # attempts (a crashed one comes back only after its window) are the function's to add.
        worst_case_s = retry.horizon_s + retry.max_attempts * (
            retry.max_delay_s + VISIBILITY_FACTOR * spec.timeout_s
        )
        if worst_case_s >= retry.retention_s:
            raise ValueError(
                f"{spec.name}: waiting {retry.horizon_s:.0f}s, then {retry.max_attempts} attempts with up "
                f"to {retry.max_delay_s:.0f}s back-off and {VISIBILITY_FACTOR * spec.timeout_s}s visibility "
                f"may outlast the queue's retention ({retry.retention_s}s), and an expired message "
                "disappears without reaching the DLQ"
            )
        if len(self.settings_json.encode()) > MAX_SETTINGS_BYTES:
            raise ValueError(f"{spec.name}: settings exceed {MAX_SETTINGS_BYTES} bytes of JSON")

    # -- resources ----------------------------------------------------------------------------

    @property
    def queue(self) -> sqs.Queue:
        """The work queue; only an integration with a queued trigger has one."""
        return self._queue_pair()[1]

    @property
    def dlq(self) -> sqs.Queue:
        return self._queue_pair()[0]

    def _queue_pair(self) -> tuple[sqs.Queue, sqs.Queue]:
        if self.queues is None:
            raise AttributeError(f"{self.spec.name} has only synchronous routes and no queue")
        return self.queues

    def _queues(self) -> tuple[sqs.Queue, sqs.Queue]:
        """``(dlq, queue)``."""
        dlq = sqs.Queue(
            self,
            "Dlq",
            queue_name=dlq_name(self.config.stage, self.spec.name),
            retention_period=DLQ_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            "Queue",
            queue_name=queue_name(self.config.stage, self.spec.name),
            visibility_timeout=cdk.Duration.seconds(VISIBILITY_FACTOR * self.spec.timeout_s),
            retention_period=cdk.Duration.seconds(self.spec.retry.retention_s),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            # A backstop, not the retry limit (the worker dead-letters at max_attempts attempts):
            # every attempt and every wait the horizon allows, so only a handler that crashes on
            # every receive is moved here by SQS - without a reason, but not lost.
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=self.spec.retry.max_receives),
        )
        return dlq, queue

    def _function(
        self, layer: lambda_.ILayerVersion, code: lambda_.Code
    ) -> tuple[logs.LogGroup, iam.Role, lambda_.Function]:
        spec, config = self.spec, self.config
        # An explicit log group (retention, removal) and an explicit role: the role CDK would create
        # gets the AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
        log_group = logs.LogGroup(
            self,
            "LogGroup",
            log_group_name=log_group_name(config.stage, spec.name),
            retention=config.log_retention,
            removal_policy=config.removal_policy,
        )
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Switchboard {config.stage}: function role of {spec.name}",
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            "Function",
            function_name=self.base_name,
            description=(spec.description or spec.name)[:256],
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=code,
            layers=[layer],
            memory_size=spec.memory_mb,
            timeout=cdk.Duration.seconds(spec.timeout_s),
            tracing=TRACING[config.tracing],
            log_group=log_group,
            role=role,
            environment=self._environment(),
        )
        nag.acknowledge(role, "AwsSolutions-IAM5[Resource::*]", nag.XRAY_WILDCARD)
        return log_group, role, function

    def _environment(self) -> dict[str, str]:
        """What ``shared.runtime.Runtime.from_env`` reads. Never a secret: those are fetched by name.

        No ``POWERTOOLS_SERVICE_NAME``: Powertools metrics would add it as a second dimension
        (``{integration, service}``), and the alarms and the dashboard, which read
        ``{integration}``, would see no data. Loggers and the tracer name their service explicitly.
        """
        spec, config, core = self.spec, self.config, self.core
        queues = {}
        if self.queues is not None:  # a route-only integration has none (and no empty variables)
            queues = {
                "SWITCHBOARD_QUEUE_URL": self.queue.queue_url,
                "SWITCHBOARD_DLQ_URL": self.dlq.queue_url,
            }
        return {
            "SWITCHBOARD_INTEGRATION": spec.name,
            "SWITCHBOARD_STAGE": config.stage,
            **queues,
            "SWITCHBOARD_TABLE": core.table.table_name,
            "SWITCHBOARD_BUS": core.bus.event_bus_name,
            "SWITCHBOARD_SECRET_PREFIX": secret_prefix(config.stage),
            "SWITCHBOARD_PARAMETER_PREFIX": parameter_prefix(config.stage),
            "SWITCHBOARD_SETTINGS": self.settings_json,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            # Tracer would otherwise attach every traced method's return value (payloads with
            # personal data) to X-Ray segments.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }

    def _grant(self) -> None:
        """Least privilege, each grant derived from the spec (and the table's from the code):

        * its log group (``log_group.grant_write``) and X-Ray (by the tracing mode; ``*`` is X-Ray's
          only resource);
        * if it has queues: on its queue, what Lambda's SQS poller needs (``ReceiveMessage``,
          ``DeleteMessage``, ``GetQueueAttributes``,
          https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), ``SendMessage``
          (ingress) and ``ChangeMessageVisibility`` (the back-off); on its DLQ ``SendMessage`` only
          (permanent failures go there at once, with a reason);
        * ``secretsmanager:GetSecretValue`` on the secret of each target-credential connection it
          declares, and ``PutSecretValue`` on those of its OAuth 2.0 connections (the refresh writes
          rotated tokens back, the connect callback writes the first ones). Operator-only
          connections (webhook registration) are never granted;
        * ``ssm:GetParameter`` on exactly the SSM parameters of its signing secrets and own keys, and
          ``kms:Decrypt`` only through SSM for those parameters (:mod:`infra.cdk.access`); never
          ``PutParameter``: the operator writes them;
        * the ledger table's item operations its code makes, only on its own keys
          (``dynamodb:LeadingKeys``, :mod:`infra.cdk.access`);
        * ``events:PutEvents`` on the bus if it emits;
        * SES sending, only with its own From address (:meth:`_grant_ses`).
        """
        spec, fn, core = self.spec, self.function, self.core
        if self.queues is not None:
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=list(QUEUE_ACTIONS), resources=[self.queue.queue_arn])
            )
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=list(DLQ_ACTIONS), resources=[self.dlq.queue_arn])
            )
        if spec.emits:
            core.bus.grant_put_events_to(fn)

        read: list[str] = []
        write: list[str] = []
        for conn in access.secret_connections(spec):
            arn = self.secret_arn_pattern(conn.name)
            read.append(arn)
            if conn.kind == "oauth2":
                write.append(arn)
        if read:
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=read)
            )
        if write:
            fn.add_to_role_policy(
                iam.PolicyStatement(actions=["secretsmanager:PutSecretValue"], resources=write)
            )
        self._grant_parameters()
        fn.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(access.table_actions(spec)),
                resources=[core.table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {
                        access.LEADING_KEYS: list(access.ledger_key_patterns(spec, self.config.stage))
                    },
                    # ForAllValues holds for a request that carries no key at all: require one.
                    "Null": {access.LEADING_KEYS: "false"},
                },
            )
        )
        if self.from_addresses:
            self._grant_ses()

    def _grant_parameters(self) -> None:
        """``ssm:GetParameter`` on exactly the function's own parameters, ``kms:Decrypt`` for them only.

        The parameters' ``SecureString`` values are encrypted under the account's AWS-managed
        ``aws/ssm`` key, whose id no template can name, so ``kms:Decrypt`` is granted on the account's
        keys with two conditions: the call comes through SSM in this region (``kms:ViaService``), and
        the encryption context names one of this function's parameters (SSM sets ``PARAMETER_ARN``).
        """
        stack = cdk.Stack.of(self)
        arns = [self.parameter_arn(name) for name in access.parameter_names(self.spec, self.config.stage)]
        if not arns:
            return
        self.function.add_to_role_policy(iam.PolicyStatement(actions=["ssm:GetParameter"], resources=arns))
        keys = stack.format_arn(
            service="kms", resource="key", resource_name="*", arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[keys],
                conditions={
                    "StringEquals": {
                        access.KMS_VIA_SERVICE: access.ssm_via(stack.region),
                        access.PARAMETER_ARN_CONTEXT: arns,
                    }
                },
            )
        )
        nag.acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag.KMS_ANY_KEY}]", nag.SSM_MANAGED_KEY)

    def parameter_arn(self, name: str) -> str:
        """ARN of the SSM parameter ``name`` (``/switchboard/<stage>/<connection>``; no suffix)."""
        return cdk.Stack.of(self).format_arn(
            service="ssm",
            resource="parameter",
            resource_name=name.lstrip("/"),
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    def _grant_ses(self) -> None:
        """``ses:SendEmail``/``ses:SendRawEmail`` on ``identity/*``, only with its own From address.

        SES authorises a send against every identity it involves: the verified identity that covers
        the From address (its domain, or the address itself), and - while the account is in the SES
        sandbox - the verified identity of each recipient, so a grant on the sender's identity alone
        fails every test send. Granting every identity of the account while the ``ses:FromAddress``
        condition pins the From address to this function's sender works in the sandbox and in
        production alike, and the function still cannot send as anyone else. (The documented way to
        restrict the From address in an IAM policy:
        https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html; the sandbox's
        recipient checks: https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html.)
        """
        identities = cdk.Stack.of(self).format_arn(
            service="ses",
            resource="identity",
            resource_name="*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        self.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=list(SES_ACTIONS),
                resources=[identities],
                conditions={"StringEquals": {SES_FROM_ADDRESS: list(self.from_addresses)}},
            )
        )
        nag.acknowledge(self.role, f"AwsSolutions-IAM5[Resource::{nag.SES_IDENTITIES}]", nag.SES_ANY_IDENTITY)

    def secret_arn_pattern(self, connection: str) -> str:
        """ARN of the connection's secret, matching the random suffix Secrets Manager appends.

        ``-??????`` matches exactly the 6 characters Secrets Manager appends to this one name (a
        secret ``<name>-x`` has a longer suffix and does not match). Granting by name rather than by
        the core stack's secret ARN avoids a cross-stack export per secret, which would block the
        core stack from ever removing a connection that an integration stops using.
        """
        return cdk.Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{secret_name(self.config.stage, connection)}-??????",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _http_routes(self) -> dict[str, list[apigwv2.HttpRoute]]:
        if not self.spec.http_triggers:
            return {}
        integration = apigwv2_integrations.HttpLambdaIntegration(
            f"{pascal(self.spec.name)}Integration",
            self.function,
            payload_format_version=apigwv2.PayloadFormatVersion.VERSION_2_0,
        )
        routes: dict[str, list[apigwv2.HttpRoute]] = {}
        for trigger in self.spec.http_triggers:
            method = trigger.method.upper()
            created = self.api.http_api.add_routes(
                path=trigger.path, methods=[apigwv2.HttpMethod(method)], integration=integration
            )
            reason = {
                WebhookTrigger: nag.PUBLIC_WEBHOOK,
                FormTrigger: nag.PUBLIC_FORM,
                RouteTrigger: nag.PUBLIC_ROUTE,
            }[type(trigger)]
            for route in created:
                nag.acknowledge(route, "AwsSolutions-APIG4", reason)
            if isinstance(trigger, RouteTrigger):
                self.api.throttle_route(
                    f"{method} {trigger.path}",
                    created,
                    rate_limit=trigger.throttle_rate,
                    burst_limit=trigger.throttle_burst,
                )
            elif isinstance(trigger, FormTrigger):
                self.api.throttle_route(
                    f"{method} {trigger.path}",
                    created,
                    rate_limit=self.config.form_rate_limit,
                    burst_limit=self.config.form_burst_limit,
                )
            routes[trigger.name] = created
        return routes

    def _bus_rules(self) -> dict[str, events.Rule]:
        rules: dict[str, events.Rule] = {}
        for trigger in self.spec.triggers:
            if not isinstance(trigger, BusTrigger):
                continue
            rules[trigger.name] = events.Rule(
                self,
                f"{pascal(trigger.name)}Rule",
                event_bus=self.core.bus,
                description=(
                    trigger.description
                    or f"{self.spec.name}/{trigger.name}: {', '.join(trigger.detail_types)}"
                )[:512],
                event_pattern=events.EventPattern(
                    source=list(trigger.sources), detail_type=list(trigger.detail_types)
                ),
                targets=[targets.SqsQueue(self.queue, dead_letter_queue=self.dlq)],
            )
        return rules

    def _schedules(self) -> dict[str, scheduler.CfnSchedule]:
        triggers = [t for t in self.spec.triggers if isinstance(t, ScheduleTrigger)]
        if not triggers:
            return {}
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description=f"Switchboard {self.config.stage}: lets the schedules of {self.spec.name} queue work",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["sqs:SendMessage"], resources=[self.queue.queue_arn, self.dlq.queue_arn]
            )
        )
        schedules: dict[str, scheduler.CfnSchedule] = {}
        for trigger in triggers:
            _check_schedule(self.spec.name, trigger)
            # <aws.scheduler.scheduled-time> is filled in by Scheduler: the tick's due time is the
            # natural idempotency key of a scheduled run.
            payload = {
                "switchboard_schedule": trigger.name,
                "integration": self.spec.name,
                "scheduled_at": "<aws.scheduler.scheduled-time>",
            }
            schedules[trigger.name] = scheduler.CfnSchedule(
                self,
                f"{pascal(trigger.name)}Schedule",
                name=short_name(resource_name(self.config.stage, self.spec.name, trigger.name), 64),
                description=(trigger.description or f"{self.spec.name}/{trigger.name}")[:512],
                schedule_expression=trigger.expression,
                schedule_expression_timezone=trigger.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=self.queue.queue_arn,
                    role_arn=role.role_arn,
                    input=json.dumps(payload, separators=(",", ":")),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=self.dlq.queue_arn),
                ),
            )
        return schedules

    def _outputs(self) -> dict[str, cdk.CfnOutput]:
        outputs: dict[str, cdk.CfnOutput] = {}
        for trigger in self.spec.http_triggers:
            key = f"{pascal(self.spec.name, trigger.name)}Url"
            output = cdk.CfnOutput(
                self,
                key,
                value=self.api.url + trigger.path,
                description=f"{trigger.method.upper()} {self.spec.name}/{trigger.name} ({type(trigger).__name__})",
            )
            output.override_logical_id(key)  # a stable key for the CLI and docs, not a path hash
            outputs[key] = output
        return outputs


def _check_schedule(integration: str, trigger: ScheduleTrigger) -> None:
    if not trigger.expression.startswith(("cron(", "rate(", "at(")) or not trigger.expression.endswith(")"):
        raise ValueError(
            f"{integration}/{trigger.name}: schedule expression {trigger.expression!r} must be "
            "cron(...), rate(...) or at(...)"
        )
    if zoneinfo.available_timezones() and trigger.timezone not in zoneinfo.available_timezones():
        raise ValueError(f"{integration}/{trigger.name}: unknown time zone {trigger.timezone!r}")
