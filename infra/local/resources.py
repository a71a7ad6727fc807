"""The AWS resources the CDK app would create, made from the same specs on the embedded moto server.

Names are the deployed ones, from the same functions (:mod:`infra.cdk.naming`, which imports no CDK):
queues ``switchboard-<stage>-<integration>[-dlq]`` with dashes, table ``switchboard-<stage>-ledger``,
bus ``switchboard-<stage>``, secrets ``switchboard/<stage>/<connection>`` and ``SecureString``
parameters ``/switchboard/<stage>/<connection>`` (signing secrets, own keys: :mod:`shared.store`) - so the ``switchboard``
commands that work against a deployed stage work locally too. Where moto differs from AWS (it never fires schedules; a
schedule-only rule would receive every bus event) the local runtime does that part itself and no
schedule rule is created here.
"""

from __future__ import annotations

import email.utils
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.cdk import naming
from shared import store
from shared.spec import SQS_MAX_RETENTION_S, BusTrigger, IntegrationSpec

__all__ = ["LocalResources", "create_resources", "sandbox_secret_value", "sender_domain"]


@dataclass(frozen=True)
class LocalResources:
    stage: str
    table: str
    bus: str
    secret_prefix: str
    #: integration -> (queue url, dlq url), for the integrations with a queued trigger: as on AWS, a
    #: route-only integration has no queue (``infra/cdk/integration.py``).
    queues: dict[str, tuple[str, str]]

    @property
    def parameter_prefix(self) -> str:
        return naming.parameter_prefix(self.stage)

    def queue_urls(self, integration: str) -> tuple[str | None, str | None]:
        """``(queue url, dlq url)`` of an integration, ``(None, None)`` if it has no queue."""
        return self.queues.get(integration, (None, None))


def queue_name(stage: str, integration: str) -> str:
    return naming.queue_name(stage, integration)


def sandbox_secret_value(local: dict[str, str], sandbox_url: str) -> str:
    return json.dumps({k: v.replace("{sandbox}", sandbox_url) for k, v in local.items()})


def sender_domain(spec: IntegrationSpec, settings_json: str) -> str | None:
    """The SES identity (domain) an integration sends from, read from its settings."""
    if spec.email is None:
        return None
    value = json.loads(settings_json or "{}").get(spec.email.from_setting) or ""
    address = email.utils.parseaddr(value)[1]
    return address.rpartition("@")[2].lower() or None


def create_resources(
    specs: tuple[IntegrationSpec, ...],
    session: Any,
    *,
    stage: str,
    sandbox_url: str,
    visibility_scale: float,
    settings: Mapping[str, str] | None = None,
) -> LocalResources:
    sqs = session.client("sqs")
    ddb = session.client("dynamodb")
    events = session.client("events")
    clients = {name: session.client(name) for name in ("secretsmanager", "ssm")}

    table = naming.table_name(stage)
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )

    bus = naming.bus_name(stage)
    events.create_event_bus(Name=bus)
    prefix = naming.secret_prefix(stage)

    queues: dict[str, tuple[str, str]] = {}
    seen_secrets: set[str] = set()
    for spec in specs:
        _create_connections(spec, clients, stage, sandbox_url, seen_secrets)
        domain = sender_domain(spec, (settings or {}).get(spec.name, "{}"))
        if domain:
            # SES refuses unverified senders; on AWS the operator verifies the domain (see README).
            session.client("sesv2").create_email_identity(EmailIdentity=domain)
        if not spec.queued_triggers:
            continue  # only synchronous routes: no queue, no rules
        name = queue_name(stage, spec.name)
        dlq_url = sqs.create_queue(
            QueueName=naming.dlq_name(stage, spec.name),
            Attributes={"MessageRetentionPeriod": str(SQS_MAX_RETENTION_S)},
        )["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        visibility = max(2, int(spec.timeout_s * 6 * visibility_scale))
        queue_url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(visibility),
                "MessageRetentionPeriod": str(spec.retry.retention_s),
                # The backstop, as deployed: every attempt and every wait the horizon allows.
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(spec.retry.max_receives)}
                ),
            },
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        queues[spec.name] = (queue_url, dlq_url)

        for trigger in spec.triggers:
            if isinstance(trigger, BusTrigger):
                rule = f"{spec.name}-{trigger.name}"
                events.put_rule(
                    Name=rule,
                    EventBusName=bus,
                    EventPattern=json.dumps(
                        {"source": list(trigger.sources), "detail-type": list(trigger.detail_types)}
                    ),
                )
                events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "queue", "Arn": queue_arn}])
    return LocalResources(stage=stage, table=table, bus=bus, secret_prefix=prefix, queues=queues)


def _create_connections(
    spec: IntegrationSpec, clients: Mapping[str, Any], stage: str, sandbox_url: str, seen: set[str]
) -> None:
    """The secrets and parameters of the connections the spec's function uses, as a deployed stage
    has them (each in the store :mod:`shared.store` names, holding the stand-ins' sample values): an
    operator-only key (``webhooks register``'s) has none - locally that command uses the stand-in's
    sample key (:func:`infra.ops.webhooks.store.credentials`)."""
    for connection in spec.all_connections:
        if connection.name in seen:
            continue
        seen.add(connection.name)
        value = sandbox_secret_value(dict(connection.local), sandbox_url)
        if store.store_of(connection) == "ssm":
            name = naming.parameter_name(stage, connection.name)
            store.write_value(clients["ssm"], connection, name, value)
        else:
            clients["secretsmanager"].create_secret(
                Name=naming.secret_name(stage, connection.name),
                Description=connection.description,
                SecretString=value,
            )
