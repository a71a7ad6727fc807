"""Where an integration runs: its resources, settings and AWS clients, resolved once per process.

On Lambda everything comes from environment variables set by the CDK construct; the local runtime
builds the same object explicitly for each integration it hosts in one process. Handlers receive a
:class:`Runtime` instead of reading the environment themselves, which is what lets one process serve
several integrations locally and lets tests point an integration at moto and a sandbox.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from shared.errors import ConfigurationError

if TYPE_CHECKING:
    from shared.spec import IntegrationSpec

__all__ = ["Runtime", "reset_process_state"]

_ENV = "SWITCHBOARD_"


@dataclass
class Runtime:
    spec: IntegrationSpec
    stage: str
    #: The work queue and its DLQ; ``None`` for an integration with only synchronous routes, which
    #: has no queue (nothing is queued for it, and its function is granted none).
    queue_url: str | None
    dlq_url: str | None
    table: str
    bus: str
    secret_prefix: str
    settings_json: str = "{}"
    #: Where the connections :mod:`shared.store` keeps in SSM Parameter Store live
    #: (``/switchboard/<stage>/``); empty means the secret prefix with a leading slash.
    parameter_prefix: str = ""
    #: Seconds a secret stays cached before Secrets Manager is asked again (rotation picks up after).
    secret_max_age_s: int = 300
    #: Multiplies retry back-off delays; the local runtime shrinks them so a demo drains in seconds.
    retry_scale: float = 1.0
    #: Overrides outbound HTTP (tests pass an httpx MockTransport wrapping a sandbox app).
    http_transport: Any = None
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls, spec: IntegrationSpec | None = None) -> Runtime:
        """The Lambda way: everything from the environment the CDK construct set."""
        if spec is None:
            from shared.registry import load_spec

            spec = load_spec(_require("INTEGRATION"))
        queued = bool(spec.queued_triggers)
        return cls(
            spec=spec,
            stage=os.environ.get(_ENV + "STAGE", "dev"),
            queue_url=_require("QUEUE_URL") if queued else None,
            dlq_url=_require("DLQ_URL") if queued else None,
            table=_require("TABLE"),
            bus=os.environ.get(_ENV + "BUS", ""),
            secret_prefix=os.environ.get(_ENV + "SECRET_PREFIX", "switchboard/dev/"),
            parameter_prefix=os.environ.get(_ENV + "PARAMETER_PREFIX", ""),
            settings_json=os.environ.get(_ENV + "SETTINGS", "{}"),
            secret_max_age_s=int(os.environ.get(_ENV + "SECRET_MAX_AGE", "300")),
            retry_scale=float(os.environ.get(_ENV + "RETRY_SCALE", "1")),
        )

    def __post_init__(self) -> None:
        if not self.parameter_prefix:
            self.parameter_prefix = "/" + self.secret_prefix.lstrip("/")

    @property
    def name(self) -> str:
        return self.spec.name

    @cached_property
    def settings(self) -> BaseModel:
        """The integration's settings, validated; a bad value is a configuration error, not a crash."""
        try:
            raw = json.loads(self.settings_json or "{}")
            return self.spec.settings.model_validate(raw)
        except (ValueError, ValidationError) as exc:
            raise ConfigurationError(f"{self.name}: invalid settings: {exc}") from exc

    def aws(self, service: str) -> Any:
        """A boto3 client, made once per process and shared by threads (boto3 clients are thread-safe).

        Endpoints come from ``AWS_ENDPOINT_URL`` (boto3 reads it), so the same code talks to moto
        locally and to AWS in production.
        """
        client = self._clients.get(service)
        if client is None:
            with self._lock:
                client = self._clients.get(service)
                if client is None:
                    client = _boto3_client(service)
                    self._clients[service] = client
        return client


_shared_clients: dict[str, Any] = {}
_shared_lock = threading.Lock()


def _boto3_client(service: str) -> Any:
    # One client per service per process: creating a boto3 client costs ~20-50 ms of CPU, and the
    # local runtime hosts several integrations in one process.
    with _shared_lock:
        client = _shared_clients.get(service)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                service,  # type: ignore[call-overload]
                config=Config(connect_timeout=3, read_timeout=10, retries={"mode": "standard"}),
            )
            _shared_clients[service] = client
        return client


def _require(key: str) -> str:
    value = os.environ.get(_ENV + key)
    if not value:
        raise ConfigurationError(f"environment variable {_ENV + key} is not set")
    return value


def reset_process_state() -> None:
    """Forget every process-wide cache: boto3 clients, cached secrets, loggers.

    Lambda never needs this. Tests do, and so does anything that points the same process at another
    AWS endpoint (a new moto server), because cached clients keep the endpoint they were made with.
    """
    from aws_lambda_powertools.utilities.parameters import base

    from shared import observability

    observability.forget_loggers()  # a cached logger keeps the stream or log file it was made with
    with _shared_lock:
        _shared_clients.clear()
    base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]  # the provider holds its boto3 client
    base.clear_caches()  # type: ignore[no-untyped-call]
