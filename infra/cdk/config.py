"""Per-stage configuration, read once from CDK context.

Everything that differs between ``dev`` and ``prod`` is decided here and nowhere else, so a construct
asks ``config.is_prod`` questions in one vocabulary instead of comparing stage strings. Context comes
from ``cdk.json`` (dicts) or from the command line (``-c settings='{"...": {...}}'`` arrives as a JSON
string), and both forms are accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs
from constructs import Node

__all__ = ["PROD_STAGES", "StageConfig"]

#: Stages that keep data when a stack is deleted and log longer.
PROD_STAGES = frozenset({"prod"})

# Lower-case, short: the stage is part of queue, function, bus and secret names (SQS caps at 80).
_STAGE = re.compile(r"^[a-z][a-z0-9]{0,11}$")


@dataclass(frozen=True)
class StageConfig:
    stage: str
    #: Non-secret settings per integration (``name -> dict``), validated against ``spec.settings``.
    settings: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: Default throttling of the HTTP API stage (requests per second, burst).
    api_rate_limit: float = 50.0
    api_burst_limit: int = 100

    def __post_init__(self) -> None:
        if not _STAGE.match(self.stage):
            raise ValueError(f"stage {self.stage!r} must match {_STAGE.pattern}")

    @classmethod
    def from_node(cls, node: Node) -> StageConfig:
        stage = node.try_get_context("stage") or "dev"
        settings = _mapping(node.try_get_context("settings"), "settings")
        for name, value in settings.items():
            _mapping(value, f"settings.{name}")
        return cls(stage=str(stage), settings=settings)

    @property
    def is_prod(self) -> bool:
        return self.stage in PROD_STAGES

    @property
    def removal_policy(self) -> cdk.RemovalPolicy:
        """Data (table, secrets, keys, logs) survives a ``cdk destroy`` of prod; dev stacks clean up."""
        return cdk.RemovalPolicy.RETAIN if self.is_prod else cdk.RemovalPolicy.DESTROY

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.THREE_MONTHS if self.is_prod else logs.RetentionDays.TWO_WEEKS

    @property
    def log_level(self) -> str:
        return "INFO" if self.is_prod else "DEBUG"

    def settings_for(self, integration: str) -> Mapping[str, Any] | None:
        """The raw settings given for one integration, or ``None`` when the context has none."""
        return self.settings.get(integration)


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"context {what} is not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        raise TypeError(f"context {what} must be an object, got {type(value).__name__}")
    return dict(value)
