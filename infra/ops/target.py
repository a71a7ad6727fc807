"""Where an operations command acts: the running local runtime, or a deployed stage on AWS.

Without ``--stage`` the command acts on the running local runtime, found from any folder
(:mod:`infra.local.locate`): the nearest ``.switchboard/local.json`` in the current folder or above
(the project's, written by ``make dev``), else the one runtime recorded for this user; a stale record
(process gone, endpoints silent) is named, never used. It gives the moto endpoint, region and stage. With
``--stage <name>`` it talks to AWS with the usual credential chain (``AWS_PROFILE``, SSO, environment)
and finds every resource by name (:mod:`infra.cdk.naming`). ``--stage local`` means the local runtime
too.

AWS errors a user can fix (no credentials, nothing deployed under that name, access denied, the local
runtime gone) become a :class:`CliError` naming the fix: see :func:`aws_errors`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.cdk import naming
from shared import store
from shared.registry import load_specs
from shared.spec import Connection, IntegrationSpec

if TYPE_CHECKING:
    from infra.local.locate import Located

__all__ = [
    "STATE_FILE",
    "CliError",
    "NotDeployed",
    "OperationFailed",
    "Target",
    "aws_errors",
    "connections",
    "integration",
    "local_state",
    "operator_connections",
    "operator_env",
    "resolve",
]

STATE_FILE = Path(".switchboard") / "local.json"
LOCAL_STAGE = "local"


class CliError(Exception):
    """A mistake the user can fix; printed as ``switchboard: <message>``, exit status 2."""


class NotDeployed(CliError):
    """The resource a command needs does not exist on that stage (not deployed, or another region)."""


class OperationFailed(Exception):
    """The operation was understood but did not succeed (AWS refused it, a move task failed); exit 1."""


@dataclass
class Target:
    """A local runtime or a deployed stage, with boto3 clients made once per service."""

    stage: str
    region: str
    #: The moto endpoint of the local runtime; ``None`` on AWS.
    endpoint: str | None = None
    #: The local gateway's base URL; ``None`` on AWS.
    gateway: str | None = None
    #: Where the local runtime writes ``<integration>.jsonl`` logs; ``None`` on AWS.
    log_dir: Path | None = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _urls: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None

    @property
    def where(self) -> str:
        """For messages: ``the local runtime`` / ``stage prod (eu-west-2)``."""
        return "the local runtime" if self.is_local else f"stage {self.stage} ({self.region})"

    def client(self, service: str, **config: Any) -> Any:
        """A boto3 client; ``config`` (botocore ``Config`` options) makes a separate, uncached one."""
        if not config and service in self._clients:
            return self._clients[service]
        import boto3
        from botocore.config import Config
        from botocore.exceptions import ProfileNotFound

        options: dict[str, Any] = {"region_name": self.region}
        if self.endpoint:
            # The local runtime's moto server; its conventional credentials are not secrets.
            options |= {
                "endpoint_url": self.endpoint,
                "aws_access_key_id": "testing",
                "aws_secret_access_key": "testing",
            }
        try:
            client = boto3.session.Session().client(
                service,  # type: ignore[call-overload]
                config=Config(connect_timeout=3, read_timeout=20, **config),
                **options,
            )
        except ProfileNotFound as exc:
            raise CliError(f"{exc}: set AWS_PROFILE to a profile in ~/.aws/config") from exc
        if not config:
            self._clients[service] = client
        return client

    # -- names ----------------------------------------------------------------------------------

    @property
    def table(self) -> str:
        return naming.table_name(self.stage)

    @property
    def secret_prefix(self) -> str:
        return naming.secret_prefix(self.stage)

    def secret_name(self, connection: str) -> str:
        return naming.secret_name(self.stage, connection)

    @property
    def parameter_prefix(self) -> str:
        return naming.parameter_prefix(self.stage)

    def stored_name(self, connection: Connection) -> str:
        """The connection's secret name or SSM parameter name (:mod:`shared.store` decides which)."""
        return store.stored_name(
            connection, secret_prefix=self.secret_prefix, parameter_prefix=self.parameter_prefix
        )

    def store_client(self, connection: Connection) -> Any:
        """A client of the store that keeps ``connection``'s value."""
        return self.client(store.service(connection))

    def queue_name(self, integration: str, *, dlq: bool = False) -> str:
        return (naming.dlq_name if dlq else naming.queue_name)(self.stage, integration)

    def log_group(self, integration: str) -> str:
        return naming.log_group_name(self.stage, integration)

    def queue_url(self, integration: str, *, dlq: bool = False) -> str:
        name = self.queue_name(integration, dlq=dlq)
        if name not in self._urls:
            with aws_errors(self, f"finding queue {name}"):
                self._urls[name] = str(self.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
        return self._urls[name]

    def queue_arn(self, integration: str, *, dlq: bool = False) -> str:
        url = self.queue_url(integration, dlq=dlq)
        with aws_errors(self, f"reading {self.queue_name(integration, dlq=dlq)}"):
            attributes = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])


def resolve(stage: str | None, region: str | None = None, state_file: Path | None = None) -> Target:
    """The target of a command: ``--stage`` (AWS), or the local runtime.

    ``state_file`` names the runtime's record; by default it is found (see the module docstring).
    """
    if stage is None or stage == LOCAL_STAGE or _local_stage_named(stage, state_file):
        located = _locate(state_file)
        state = located.state
        log_dir = os.environ.get("SWITCHBOARD_LOG_DIR") or state.get("log_dir")
        return Target(
            stage=str(state["stage"]),
            region=str(state["region"]),
            endpoint=str(state["aws_endpoint"]),
            gateway=str(state["gateway"]),
            log_dir=Path(log_dir) if log_dir else located.path.parent / "logs",
        )
    if not naming_ok(stage):
        raise CliError(f"--stage {stage!r} is not a stage name (lower-case letters and digits, e.g. prod)")
    region = (
        region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or _profile_region()
    )
    if not region:
        raise CliError(f"no AWS region for stage {stage}: pass --region eu-west-2 or set AWS_REGION")
    return Target(stage=stage, region=region)


def naming_ok(stage: str) -> bool:
    return stage.isalnum() and stage[:1].isalpha() and stage == stage.lower() and len(stage) <= 12


def _profile_region() -> str | None:
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        region = boto3.session.Session().region_name
    except ProfileNotFound as exc:
        raise CliError(f"{exc}: set AWS_PROFILE to a profile in ~/.aws/config") from exc
    return str(region) if region else None


def local_state(path: Path | None = None) -> dict[str, Any] | None:
    """The running local runtime's record (endpoints, stage, secret prefix), if there is a live one.

    ``path`` reads that record as it is; by default the runtime is found from the current folder.
    """
    from infra.local import locate

    if path is not None:
        try:
            return locate.read_record(path)
        except FileNotFoundError:
            return None
        except locate.RecordUnreadable as exc:
            raise CliError(str(exc)) from exc
    try:
        return _locate(None).state
    except _NoLiveRuntime:
        return None


class _NoLiveRuntime(CliError):
    """No live local runtime was found (none, or only stale ones)."""


def _locate(state_file: Path | None) -> Located:
    """The live local runtime, or a :class:`CliError` saying
    what to do: none found, a stale one, or several with none of them this folder's."""
    from infra.local import locate

    try:
        if state_file is None:
            return locate.find()
        if not state_file.is_file():
            raise locate.RuntimeNotFound(
                f"no local runtime is running here (no {state_file}): start one with `make dev`, "
                "or name a deployed stage with --stage prod"
            )
        state = locate.read_record(state_file)
        stale = locate.why_stale(state)
        if stale is not None:
            raise locate.RuntimeStale(
                f"the local runtime recorded in {state_file} is stale ({stale.reason}): start it again with `make dev`"
            )
        return locate.Located(state, state_file)
    except (locate.RuntimeNotFound, locate.RuntimeStale) as exc:
        raise _NoLiveRuntime(str(exc)) from exc
    except (locate.RuntimesAmbiguous, locate.RecordUnreadable) as exc:
        raise CliError(str(exc)) from exc


def _local_stage_named(stage: str, state_file: Path | None) -> bool:
    """``--stage <name>`` where the project's runtime runs stage ``<name>``: that runtime is meant."""
    from infra.local import locate

    record = state_file if state_file is not None else locate.nearest_record()
    if record is None:
        return False
    try:
        return bool(locate.read_record(record).get("stage") == stage)
    except (OSError, locate.RecordUnreadable):
        return False


@contextmanager
def aws_errors(target: Target, doing: str) -> Iterator[None]:
    """Turn the AWS errors a user can fix into one-line :class:`CliError` messages."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as exc:
        raise CliError(
            f"no AWS credentials for {target.where}: set AWS_PROFILE (or run `aws sso login`) and retry"
        ) from exc
    except NoRegionError as exc:
        raise CliError("no AWS region: pass --region or set AWS_REGION") from exc
    except EndpointConnectionError as exc:
        if target.is_local:
            raise CliError(
                f"the local runtime at {target.endpoint} is not answering: is `make dev` still running? "
                "(start it again with `make dev`)"
            ) from exc
        raise CliError(f"cannot reach AWS in {target.region} while {doing}: {exc}") from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")).splitlines()[0] if error.get("Message") else code
        if code in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise NotDeployed(
                f"{doing}: no such queue in {target.where}; is the stage deployed there?"
            ) from exc
        if code == "ResourceNotFoundException":
            raise NotDeployed(f"{doing}: not found in {target.where} ({message})") from exc
        if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
            raise CliError(f"{doing}: AWS denied it to your credentials ({message})") from exc
        if code in ("ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException"):
            raise CliError(f"{doing}: your AWS session expired or is invalid; log in again") from exc
        raise OperationFailed(f"{doing} failed: {code}: {message}") from exc


def integration(name: str) -> IntegrationSpec:
    """The spec named ``name``, or a :class:`CliError` listing the ones there are."""
    specs = {s.name: s for s in load_specs()}
    if name not in specs:
        raise CliError(f"no integration {name!r}; there are: {', '.join(specs)}")
    return specs[name]


def connections() -> dict[str, tuple[Connection, list[str]]]:
    """Every connection a function uses -> (the connection, the integrations that use it): the
    stage's secrets.

    Operator-only connections (``webhooks register``'s provider keys) have no secret: see
    :func:`operator_connections`.
    """
    found: dict[str, tuple[Connection, list[str]]] = {}
    for spec in load_specs():
        for conn in spec.all_connections:
            found.setdefault(conn.name, (conn, []))[1].append(spec.name)
    return dict(sorted(found.items()))


def operator_env(connection: Connection, field: str) -> str:
    """The environment variable an operator-only field is taken from: ``STRIPE_API_KEY``."""
    return f"{connection.name}_{field}".upper()


def operator_connections() -> dict[str, Connection]:
    """The provider-API keys only the operator's ``switchboard webhooks`` commands use (a webhook
    trigger's ``registration`` that no function uses) -> the connection. No stage keeps them: the
    command takes them from the environment or asks (:func:`infra.ops.webhooks.store.credentials`).
    """
    stored = connections()
    return {
        conn.name: conn
        for spec in load_specs()
        for conn in spec.operator_connections
        if conn.name not in stored
    }
