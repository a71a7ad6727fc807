"""Credentials from Secrets Manager, through Powertools parameters with caching.

Never from environment variables, never logged: values only ever leave this module as the return
value of :func:`get_connection`. A secret that is absent, not JSON, or missing a required field is a
:class:`~shared.errors.MissingSecret` - which on ingress fails closed (500), never skips a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.errors import MissingSecret

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["get_connection", "put_connection", "signing_secrets"]


def get_connection(rt: Runtime, connection: Connection, *, fresh: bool = False) -> Mapping[str, str]:
    """The connection's secret as a dict, cached for ``rt.secret_max_age_s`` seconds.

    ``fresh`` reads Secrets Manager now (and refreshes the cache): the OAuth refresh must see the
    refresh token another worker may have just written, never a cached older one.
    """
    from aws_lambda_powertools.utilities.parameters import get_secret
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )

    name = rt.secret_prefix + connection.name
    _use_runtime_client(rt)
    try:
        value = get_secret(name, transform="json", max_age=rt.secret_max_age_s, force_fetch=fresh)
    except TransformParameterError as exc:
        raise MissingSecret(f"secret {name} is not a JSON object") from exc
    except GetParameterError as exc:
        # The message of the underlying error names the secret and the AWS error code, not the value.
        raise MissingSecret(f"secret {name} could not be read ({type(exc.__cause__).__name__})") from exc
    if not isinstance(value, dict):
        raise MissingSecret(f"secret {name} is not a JSON object")
    missing = [f for f in connection.fields if not value.get(f)]
    if missing:
        raise MissingSecret(f"secret {name} has no value for {', '.join(missing)}")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def put_connection(rt: Runtime, connection: Connection, value: Mapping[str, str]) -> None:
    """Store a new value of the connection's secret (rotated OAuth tokens) and forget the cached one.

    Raises the boto3 error as is: the caller decides what a failed write means (for a rotated
    refresh token, the only copy is in its hands).
    """
    import json

    from aws_lambda_powertools.utilities.parameters import base

    name = rt.secret_prefix + connection.name
    rt.aws("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(dict(value)))
    base.clear_caches()  # type: ignore[no-untyped-call]


def _use_runtime_client(rt: Runtime) -> None:
    """Let Powertools' default secrets provider use the runtime's boto3 client.

    Its own default builds a separate boto3 session and client on first use (~50 ms of a cold
    start); the runtime's client comes from the default session that SQS already paid for.
    """
    from aws_lambda_powertools.utilities.parameters import base
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    providers: dict[str, Any] = base.DEFAULT_PROVIDERS  # type: ignore[attr-defined]
    if "secrets" not in providers:
        providers["secrets"] = SecretsProvider(boto3_client=rt.aws("secretsmanager"))


def signing_secrets(rt: Runtime, connection: Connection) -> list[str]:
    """The active webhook signing secrets: the current one and, during a rotation, the previous one."""
    value = get_connection(rt, connection)
    return [s for s in (value.get("secret"), value.get("previous_secret")) if s]
