"""The credentials ``switchboard webhooks`` uses and the signing secrets it stores without a gap.

The provider-API key a trigger registers with is, where a function uses it too (Square's token), that
connection's secret. An operator-only key (Stripe's, Calendly's, Cal.com's: no function may read
them) is kept nowhere: it is taken from the environment, one variable per field named
``<CONNECTION>_<FIELD>`` (``STRIPE_API_KEY``, ``CALENDLY_TOKEN``, optional ones too:
``CALENDLY_SCOPE``), or asked for when the command runs in a terminal; on the local runtime it is the
stand-in's own sample key. Storing a key used once a deployment would keep a credential (and a
billed secret) for nothing.

A signing secret changes in one write: the new value becomes ``secret`` and the value it replaces
becomes ``previous_secret`` (the verifiers accept both, :mod:`shared.webhooks.signing`), so a delivery
signed with either verifies while the provider switches. ``notification_url`` is pinned the same way
on a connection that declares it (Square's). Values never reach the terminal or a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from infra.ops.secrets import local_sample, read_secret, write_secret
from infra.ops.target import CliError, Target, operator_connections
from infra.ops.target import operator_env as env_name
from shared.spec import Connection
from shared.webhooks.signing import PINNED_URL_FIELD

__all__ = ["Ask", "SigningStore", "credentials", "env_name", "is_operator_only", "where_to_set"]

#: Asks for one field's value (the prompt) without echoing it: ``getpass.getpass`` in a terminal.
Ask = Callable[[str], str]


def is_operator_only(connection: Connection) -> bool:
    """Whether no stage keeps the connection (only ``switchboard webhooks`` uses it)."""
    return connection.name in operator_connections()


def where_to_set(connection: Connection, fields: tuple[str, ...] | list[str], stage_flag: str) -> str:
    """How the operator gives ``fields`` of ``connection``: the variables, or the secret to set."""
    if is_operator_only(connection):
        return "set " + " and ".join(env_name(connection, f) for f in fields) + " in the environment"
    return f"switchboard secrets set {connection.name} {' '.join(f + '=-' for f in fields)}{stage_flag}"


def credentials(
    target: Target,
    connection: Connection,
    stage_flag: str,
    *,
    title: str,
    ask: Ask | None = None,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, str]:
    """The provider-API connection's fields, every required one set, or a :class:`CliError` saying
    how to give them (see the module docstring for where they come from); ``ask`` is only used for
    an operator-only key that the environment does not hold."""
    if not is_operator_only(connection):
        value = {str(k): str(v) for k, v in read_secret(target, connection).items() if v is not None}
        missing = [f for f in connection.fields if not value.get(f)]
        if missing:
            raise CliError(
                f"registering at {title} needs the {connection.name} connection: "
                f"{where_to_set(connection, missing, stage_flag)}"
            )
        return value
    if target.is_local:
        sample = local_sample(target, connection)  # the stand-in's key and its URL
        if all(sample.get(f) for f in connection.fields):
            return sample
    declared = (*connection.fields, *connection.optional)
    value = {f: environ[env_name(connection, f)] for f in declared if environ.get(env_name(connection, f))}
    for field in connection.fields:
        if not value.get(field) and ask is not None:
            typed = ask(f"{connection.name}.{field} (not stored; or set {env_name(connection, field)}): ")
            if typed.strip():
                value[field] = typed.strip()
    missing = [f for f in connection.fields if not value.get(f)]
    if missing:
        first = env_name(connection, missing[0])
        raise CliError(
            f"registering at {title} needs the {connection.name} connection's {', '.join(missing)}, "
            f"which Switchboard does not store: {where_to_set(connection, missing, stage_flag)} - e.g. "
            f"`read -rs {first} && export {first}` - or run the command in a terminal to be asked"
        )
    return value


class SigningStore:
    """A trigger's signing connection on one target."""

    def __init__(self, target: Target, connection: Connection) -> None:
        self.target = target
        self.connection = connection
        self.name = target.stored_name(connection)

    @property
    def pins_url(self) -> bool:
        return PINNED_URL_FIELD in self.connection.optional

    def read(self) -> dict[str, Any]:
        return read_secret(self.target, self.connection)

    def secret(self) -> str:
        return str(self.read().get("secret") or "")

    def _write(self, value: dict[str, Any]) -> None:
        write_secret(self.target, self.connection, value)

    def rotate_to(self, secret: str) -> bool:
        """Make ``secret`` current and keep the one it replaces as ``previous_secret``.

        Returns whether a previous secret is kept now (there was another one before).
        """
        value = self.read()
        old = str(value.get("secret") or "")
        if old == secret:
            return False
        value["secret"] = secret
        if old:
            value["previous_secret"] = old
        self._write(value)
        return bool(old)

    def pin(self, url: str) -> bool:
        """Pin the URL the provider signs; returns whether it changed."""
        if not self.pins_url:
            return False
        value = self.read()
        if value.get(PINNED_URL_FIELD) == url:
            return False
        value[PINNED_URL_FIELD] = url
        self._write(value)
        return True
