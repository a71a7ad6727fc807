"""The core stack: what all integrations share and what must outlive any one of them.

* the Switchboard event bus (``switchboard-<stage>``) for domain events (``lead.created`` ...), with an
  archive of every event put on it, so that events can be replayed after a consumer was fixed
  (``docs/runbooks/bus-replay.md``);
* one DynamoDB table (``switchboard-<stage>-ledger``) with the AWS Lambda Powertools idempotency layout (partition key ``id``, TTL on
  ``expiration``; ``status``, ``data`` and ``in_progress_expiration`` are written by Powertools), which
  also holds the effects ledger and OAuth refresh leases under their own key prefixes;
* the alarm topic, encrypted with a customer-managed key: CloudWatch alarms cannot publish to a topic
  encrypted with the AWS-managed ``alias/aws/sns`` key, because its key policy cannot be edited to let
  ``cloudwatch.amazonaws.com`` use it; with an email subscription when context ``alarm_email`` is set;
* one Secrets Manager secret per target-credential connection a function uses
  (``switchboard/<stage>/<connection>``), created with an empty placeholder value that the operator
  replaces. Signing secrets and Switchboard's own keys are SSM ``SecureString`` parameters
  (:mod:`shared.store`), which CloudFormation cannot create: the operator's ``switchboard secrets
  set`` / ``webhooks register`` writes them, and each function is granted read on its own
  (:mod:`infra.cdk.integration`). The operator's own provider keys (``switchboard webhooks
  register``'s) are kept nowhere: the command asks for them.

Stateful resources live here and functions do not, so that redeploying or removing integrations never
touches data, and so the values the integrations stack imports (bus, table, topic) never change.

The dependency layer is shared too, but lives in the integrations stack (see
:mod:`infra.cdk.integrations_stack`): its version ARN changes with every dependency bump, and a value
exported from this stack cannot change while another stack imports it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.cdk import nag
from infra.cdk.config import StageConfig
from infra.cdk.naming import bus_name, pascal, resource_name, secret_name, table_name
from shared import store
from shared.spec import Connection, IntegrationSpec

__all__ = ["CoreResources", "CoreStack", "connections_of"]

#: Powertools idempotency table layout (``DynamoDBPersistenceLayer`` defaults).
TABLE_KEY = "id"
TABLE_TTL_ATTRIBUTE = "expiration"


@dataclass(frozen=True)
class CoreResources:
    """What an :class:`~infra.cdk.integration.Integration` needs from the core stack."""

    stage: str
    bus: events.IEventBus
    table: dynamodb.ITable
    alarm_topic: sns.ITopic


def connections_of(specs: Sequence[IntegrationSpec]) -> tuple[Connection, ...]:
    """Every connection a function of the specs uses, once, sorted by name: the stage's stored values.

    Operator-only connections (the provider-API keys ``switchboard webhooks register`` uses once) get
    no secret: no function may read one, and a key kept for a command run once a deployment is a
    credential stored for nothing (and $0.40 a month) - the command takes it from the environment or
    asks for it (:mod:`infra.ops.webhooks.store`).

    Two integrations may share a connection (one HubSpot app for several flows); they must then agree
    on what its secret holds, or one of them would read fields the other never asked the operator for.
    """
    seen: dict[str, Connection] = {}
    for spec in specs:
        for conn in spec.all_connections:
            known = seen.setdefault(conn.name, conn)
            if (known.app, known.fields, known.kind) != (conn.app, conn.fields, conn.kind):
                raise ValueError(
                    f"connection {conn.name!r} is declared differently by {spec.name} "
                    f"({conn.app}, {conn.fields}, {conn.kind}) and elsewhere "
                    f"({known.app}, {known.fields}, {known.kind})"
                )
    return tuple(seen[name] for name in sorted(seen))


class CoreStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        specs: Sequence[IntegrationSpec],
        env: cdk.Environment | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Switchboard {config.stage}: event bus, state table, alarm topic, secrets",
            env=env,
        )
        self.config = config

        self.bus = events.EventBus(self, "Bus", event_bus_name=bus_name(config.stage))
        # Every event on the bus (the pattern matches this account, i.e. all of them), for replay.
        self.archive = self.bus.archive(
            "Archive",
            archive_name=resource_name(config.stage, "bus"),
            description=f"Switchboard {config.stage}: every domain event, for replay",
            event_pattern=events.EventPattern(account=[self.account]),
            retention=config.archive_retention,
        )
        # CDK writes ``KmsKeyIdentifier: ""`` (the AWS-owned key) into every archive (aws/aws-cdk
        # #37847), and some regions refuse the empty string; leaving the property out means the same.
        cfn_archive = self.archive.node.default_child
        if not isinstance(cfn_archive, events.CfnArchive):
            raise TypeError(f"expected the archive's CfnArchive, got {type(cfn_archive).__name__}")
        cfn_archive.add_property_deletion_override("KmsKeyIdentifier")

        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=table_name(config.stage),
            partition_key=dynamodb.Attribute(name=TABLE_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            time_to_live_attribute=TABLE_TTL_ATTRIBUTE,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            deletion_protection=config.is_prod,
            removal_policy=config.removal_policy,
        )

        self.alarm_key = kms.Key(
            self,
            "AlarmTopicKey",
            description=f"Switchboard {config.stage}: encrypts the alarm topic",
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
        )
        # CloudWatch publishes alarm notifications to the encrypted topic with this key.
        self.alarm_key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.alarm_topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=resource_name(config.stage, "alarms"),
            display_name=f"Switchboard {config.stage} alarms",
            master_key=self.alarm_key,
            enforce_ssl=True,
        )
        if config.alarm_email:
            self.alarm_topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))

        self.secrets: dict[str, secretsmanager.Secret] = {}
        for conn in connections_of(specs):
            if store.store_of(conn) == "secretsmanager":
                self.secrets[conn.name] = self._secret(conn)

        self.resources = CoreResources(
            stage=config.stage, bus=self.bus, table=self.table, alarm_topic=self.alarm_topic
        )

        cdk.CfnOutput(self, "BusName", value=self.bus.event_bus_name)
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)
        cdk.CfnOutput(self, "AlarmTopicArn", value=self.alarm_topic.topic_arn)
        cdk.CfnOutput(self, "BusArchiveName", value=self.archive.archive_name)

    def _secret(self, conn: Connection) -> secretsmanager.Secret:
        """A connection's secret, created empty (``{}``) until the operator sets real values.

        Empty, not a ``CHANGE_ME`` text: the runtime treats a missing required field as a missing
        secret and fails closed with "secret ... has no value for <field>", whereas a placeholder text
        would be sent to the app as a credential. The template is the same for every connection and
        never derived from its fields: CloudFormation regenerates a generated secret's value whenever
        the template changes, so a template built from ``fields`` would wipe credentials the operator
        set as soon as a connection gained a field. The fields are listed in the description instead.
        Secrets Manager requires a generated key next to a template; ``_placeholder`` is that key and
        is ignored by the runtime.
        """
        secret = secretsmanager.Secret(
            self,
            f"{pascal(conn.name)}Secret",
            secret_name=secret_name(self.config.stage, conn.name),
            description=(
                f"{conn.description} ({conn.app}, {conn.kind}). Fields: {', '.join(conn.fields)}"
                + (f"; optional: {', '.join(conn.optional)}" if conn.optional else "")
            )[:2048],
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template="{}",
                generate_string_key="_placeholder",
                exclude_punctuation=True,
                password_length=16,
            ),
            removal_policy=self.config.removal_policy,
        )
        nag.acknowledge(secret, "AwsSolutions-SMG4", nag.SECRET_NOT_ROTATED)
        return secret
