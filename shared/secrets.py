"""Connection values from their store, through Powertools parameters with caching.

Target credentials come from Secrets Manager, signing secrets and Switchboard's own keys from SSM
Parameter Store ``SecureString`` parameters (decrypted on read); which one is :mod:`shared.store`'s
decision, by the connection's kind. Both are cached alike (``rt.secret_max_age_s``).

Never from environment variables, never logged: values only ever leave this module as the return
value of :func:`get_connection`. A value that is absent, not JSON, or missing a required field is a
:class:`~shared.errors.MissingSecret` naming the secret or parameter and the command that sets it -
which on ingress fails closed (500, alarmed), never skips a check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared import store
from shared.errors import MissingSecret

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["get_connection", "put_connection", "signing_secrets", "stored_name"]


def get_connection(rt: Runtime, connection: Connection, *, fresh: bool = False) -> Mapping[str, str]:
    """The connection's value as a dict, cached for ``rt.secret_max_age_s`` seconds.

    ``fresh`` reads the store now (and refreshes the cache): the OAuth refresh must see the
    refresh token another worker may have just written, never a cached older one.
    """
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )

    name = stored_name(rt, connection)
    what = store.describe(connection, name)
    fix = f"set it with `{store.set_command(connection)}`"
    try:
        value = _get(rt, connection, name, fresh)
    except TransformParameterError as exc:
        raise MissingSecret(f"{what} is not a JSON object; {fix}") from exc
    except GetParameterError as exc:
        # The message of the underlying error names the store's error code, never the value.
        raise MissingSecret(f"{what} could not be read ({_reason(exc)}); {fix}") from exc
    if not isinstance(value, dict):
        raise MissingSecret(f"{what} is not a JSON object; {fix}")
    missing = [f for f in connection.fields if not value.get(f)]
    if missing:
        raise MissingSecret(f"{what} has no value for {', '.join(missing)}; {fix}")
    return {str(k): str(v) for k, v in value.items() if v is not None}


def _reason(exc: BaseException) -> str:
    """The store's error code (``ParameterNotFound``, ``AccessDeniedException`` ...), never a value.

    Powertools raises its ``GetParameterError`` inside the ``except`` of the boto3 error, without
    ``from``: the boto3 error is its context.
    """
    cause = exc.__cause__ or exc.__context__
    response = getattr(cause, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
    return type(cause).__name__ if cause is not None else "unknown error"


def stored_name(rt: Runtime, connection: Connection) -> str:
    """The connection's secret name or parameter name on this runtime's stage."""
    return store.stored_name(connection, secret_prefix=rt.secret_prefix, parameter_prefix=rt.parameter_prefix)


def _get(rt: Runtime, connection: Connection, name: str, fresh: bool) -> Any:
    """Read through the store's Powertools provider (its cache), with the runtime's boto3 client."""
    from aws_lambda_powertools.utilities.parameters import base

    providers: dict[str, Any] = base.DEFAULT_PROVIDERS  # type: ignore[attr-defined]
    kind = store.store_of(connection)
    if kind == "ssm":
        if "ssm" not in providers:
            from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

            providers["ssm"] = SSMProvider(boto3_client=rt.aws("ssm"))
        return providers["ssm"].get(
            name, max_age=rt.secret_max_age_s, transform="json", decrypt=True, force_fetch=fresh
        )
    if "secrets" not in providers:
        providers["secrets"] = _secrets_provider(rt)
    return providers["secrets"].get(name, max_age=rt.secret_max_age_s, transform="json", force_fetch=fresh)


def put_connection(rt: Runtime, connection: Connection, value: Mapping[str, str]) -> None:
    """Store a new value of the connection's secret (rotated OAuth tokens) and forget the cached one.

    Raises the boto3 error as is: the caller decides what a failed write means (for a rotated
    refresh token, the only copy is in its hands).
    """
    import json

    from aws_lambda_powertools.utilities.parameters import base

    name = stored_name(rt, connection)
    store.write_value(rt.aws(store.service(connection)), connection, name, json.dumps(dict(value)))
    base.clear_caches()  # type: ignore[no-untyped-call]


def _secrets_provider(rt: Runtime) -> Any:
    """Powertools' secrets provider on the runtime's boto3 client.

    Its own default builds a separate boto3 session and client on first use (~50 ms of a cold
    start); the runtime's client comes from the default session that SQS already paid for. The SSM
    provider is made the same way, and only imported by a function that reads a parameter.
    """
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    return SecretsProvider(boto3_client=rt.aws("secretsmanager"))


def signing_secrets(rt: Runtime, connection: Connection) -> list[str]:
    """The active webhook signing secrets: the current one and, during a rotation, the previous one."""
    value = get_connection(rt, connection)
    return [s for s in (value.get("secret"), value.get("previous_secret")) if s]
