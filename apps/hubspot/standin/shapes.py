"""The shapes every HubSpot stand-in handler answers in: records, error bodies, property values.

Error bodies follow the examples in HubSpot's docs (objects guide "Error handling"; "Property values
were not valid" with its per-property ``errors``); see :mod:`apps.hubspot.standin`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sandbox.base import SandboxResponse

__all__ = ["PORTAL_ID", "Record"]

PORTAL_ID: Final = 12345678


@dataclass
class Record:
    id: str
    properties: dict[str, str]
    created_at: float
    updated_at: float
    #: Associated object type ("notes", "contacts") -> ids, in the order they were associated.
    associations: dict[str, list[str]] = field(default_factory=dict)


class _Invalid(Exception):
    """Raised inside a handler to answer with a HubSpot error body."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _error(status: int, message: str, category: str, **extra: Any) -> SandboxResponse:
    body = {"status": "error", "message": message, "correlationId": str(uuid.uuid4()), **extra}
    body["category"] = category
    return SandboxResponse.json(body, status)


def _missing_fields(names: Sequence[str]) -> _Invalid:
    message = (
        f"Invalid input JSON on line 1, column 2. Some required fields were not set: [{', '.join(names)}]"
    )
    return _Invalid(_error(400, message, "VALIDATION_ERROR"))


def _property_errors(problems: Sequence[tuple[str, str, str]]) -> _Invalid:
    """HubSpot's "Property values were not valid" body, for (name, code, message) problems."""
    details = [
        {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
            "portalId": PORTAL_ID,
        }
        for name, code, message in problems
    ]
    errors = [{"message": m, "code": c, "context": {"propertyName": [n]}} for n, c, m in problems]
    message = "Property values were not valid: " + json.dumps(details, separators=(",", ":"))
    return _Invalid(_error(400, message, "VALIDATION_ERROR", errors=errors))


def _as_value(value: Any) -> str:
    """HubSpot stores every property value as a string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _parse_time(value: str) -> float | None:
    """Epoch seconds from a Unix time in milliseconds or an ISO 8601 UTC time, as HubSpot accepts."""
    if value.isdigit():
        return int(value) / 1000
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()
