"""The secrets ``switchboard webhooks`` reads and writes: provider credentials, and signing secrets
stored without a gap.

A signing secret changes in one write: the new value becomes ``secret`` and the value it replaces
becomes ``previous_secret`` (the verifiers accept both, :mod:`shared.webhooks.signing`), so a delivery
signed with either verifies while the provider switches. ``notification_url`` is pinned the same way
on a connection that declares it (Square's). Values never reach the terminal or a log.
"""

from __future__ import annotations

import json
from typing import Any

from infra.ops.secrets import read_secret
from infra.ops.target import CliError, Target, aws_errors
from shared.spec import Connection
from shared.webhooks.signing import PINNED_URL_FIELD

__all__ = ["SigningStore", "credentials"]


def credentials(target: Target, connection: Connection, stage_flag: str, *, title: str) -> dict[str, str]:
    """The provider-API connection's secret, with every required field set, or how to set it."""
    value = {str(k): str(v) for k, v in read_secret(target, connection).items() if v is not None}
    missing = [f for f in connection.fields if not value.get(f)]
    if missing:
        fields = " ".join(f"{f}=-" for f in missing)
        raise CliError(
            f"registering at {title} needs the {connection.name} connection: "
            f"switchboard secrets set {connection.name} {fields}{stage_flag}"
        )
    return value


class SigningStore:
    """A trigger's signing connection on one target."""

    def __init__(self, target: Target, connection: Connection) -> None:
        self.target = target
        self.connection = connection
        self.name = target.secret_name(connection.name)

    @property
    def pins_url(self) -> bool:
        return PINNED_URL_FIELD in self.connection.optional

    def read(self) -> dict[str, Any]:
        return read_secret(self.target, self.connection)

    def secret(self) -> str:
        return str(self.read().get("secret") or "")

    def _write(self, value: dict[str, Any]) -> None:
        with aws_errors(self.target, f"writing secret {self.name}"):
            self.target.client("secretsmanager").put_secret_value(
                SecretId=self.name, SecretString=json.dumps(value)
            )

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
