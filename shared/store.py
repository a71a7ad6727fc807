"""Which AWS store keeps a connection's value, decided once from the connection's kind.

* **Target credentials** (``api``, ``oauth2``) stay in Secrets Manager
  (``switchboard/<stage>/<connection>``): the stack creates each secret, and OAuth tokens are
  rewritten by the functions themselves.
* **Switchboard's own verification keys** (``signing``: the webhook signing secrets a provider
  shares; ``own-key``: the API keys callers present, the key connect links are signed with) live in
  SSM Parameter Store as standard-tier ``SecureString`` parameters
  (``/switchboard/<stage>/<connection>``): free to keep and to read at standard throughput, where a
  secret costs $0.40 a month. What these keys rely on is the same in both stores - encryption at
  rest under an AWS-managed KMS key (``aws/ssm``), IAM per parameter, CloudTrail for every read;
  what SSM lacks (resource policies, managed rotation) none of them uses: a signing secret is
  rotated by Switchboard itself, ``secret`` and ``previous_secret`` in the one JSON value.

CloudFormation cannot create a ``SecureString``, so the parameters are written by the operator
(``switchboard secrets set``, ``switchboard webhooks register``) and by the local runtime; a missing
one is a :class:`~shared.errors.MissingSecret` that names the command which sets it.

The value is the same JSON object in both stores, so everything above this module (fields,
rotation, masking) is the same for every connection. This module only names and moves raw values;
it imports no boto3 (callers hand it their clients).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from shared.spec import Connection

__all__ = [
    "PARAMETER_KINDS",
    "Store",
    "describe",
    "read_value",
    "service",
    "set_command",
    "store_of",
    "stored_name",
    "write_value",
]

Store = Literal["secretsmanager", "ssm"]

#: The connection kinds kept in SSM Parameter Store; every other kind is a Secrets Manager secret.
PARAMETER_KINDS: Final = frozenset({"signing", "own-key"})
#: The error codes that mean "no such value" in each store.
_ABSENT: Final = frozenset({"ParameterNotFound", "ResourceNotFoundException"})


def store_of(connection: Connection) -> Store:
    """The store that keeps ``connection``'s value: by its kind, for every connection alike."""
    return "ssm" if connection.kind in PARAMETER_KINDS else "secretsmanager"


def service(connection: Connection) -> str:
    """The boto3 service name of the connection's store (``"ssm"`` or ``"secretsmanager"``)."""
    return store_of(connection)


def stored_name(connection: Connection, *, secret_prefix: str, parameter_prefix: str) -> str:
    """The name of the connection's value in its store (a secret name or a parameter name)."""
    prefix = parameter_prefix if store_of(connection) == "ssm" else secret_prefix
    return prefix + connection.name


def describe(connection: Connection, name: str) -> str:
    """``parameter /switchboard/dev/x`` or ``secret switchboard/dev/x``, for messages."""
    return f"{'parameter' if store_of(connection) == 'ssm' else 'secret'} {name}"


def set_command(connection: Connection) -> str:
    """The command that stores the connection's required fields, values typed, not echoed."""
    fields = " ".join(f"{f}=-" for f in connection.fields)
    return f"switchboard secrets set {connection.name} {fields}".rstrip()


def read_value(client: Any, connection: Connection, name: str) -> str | None:
    """The stored JSON text, or ``None`` if the secret or parameter does not exist.

    Other AWS errors (access denied, throttling) are raised as they are: the caller knows what it
    was doing.
    """
    from botocore.exceptions import ClientError

    try:
        if store_of(connection) == "ssm":
            return str(client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        return str(client.get_secret_value(SecretId=name).get("SecretString") or "{}")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise


def write_value(client: Any, connection: Connection, name: str, value: str) -> None:
    """Store ``value`` (the connection's JSON text) as its current value.

    A parameter is written as a standard-tier ``SecureString`` under the account's ``aws/ssm`` key,
    created if absent; a secret must exist already (the stack creates it).
    """
    if store_of(connection) == "ssm":
        client.put_parameter(
            Name=name,
            Value=value,
            Type="SecureString",
            Tier="Standard",
            Overwrite=True,
        )
    else:
        client.put_secret_value(SecretId=name, SecretString=value)
