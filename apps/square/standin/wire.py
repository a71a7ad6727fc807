"""Square's wire shapes as the stand-in writes and reads them: errors, cursors, times, money, ids.

Error bodies are ``{"errors": [{"category", "code", "detail", "field"}]}``; where Square documents no
exact ``detail`` text, the text is ours, in that shape. A handler raises :class:`Invalid` to answer
with one. Every section of the stand-in (:mod:`.catalog`, :mod:`.inventory`, :mod:`.payments` ...)
uses these, so Square's conventions are written once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sandbox.base import SandboxRequest, SandboxResponse

__all__ = [
    "Invalid",
    "Page",
    "invalid_request",
    "json_object",
    "money_json",
    "not_found_error",
    "parse_time",
    "square_error",
    "square_id",
]


def square_error(
    status: int, category: str, code: str, detail: str, field: str | None = None
) -> SandboxResponse:
    entry: dict[str, str] = {"category": category, "code": code, "detail": detail}
    if field is not None:
        entry["field"] = field
    return SandboxResponse.json({"errors": [entry]}, status)


class Invalid(Exception):
    """Raised inside a handler to answer with a Square error body."""

    def __init__(self, response: SandboxResponse) -> None:
        super().__init__(response.status)
        self.response = response


def invalid_request(code: str, detail: str, field: str | None = None) -> Invalid:
    return Invalid(square_error(400, "INVALID_REQUEST_ERROR", code, detail, field))


def not_found_error(detail: str, field: str) -> Invalid:
    return Invalid(square_error(404, "INVALID_REQUEST_ERROR", "NOT_FOUND", detail, field))


def money_json(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def parse_time(value: Any, name: str) -> float:
    if not isinstance(value, str):
        raise invalid_request("EXPECTED_STRING", f"Expected a string value for `{name}`.", name)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid_request("INVALID_TIME", f"`{name}` must be an RFC 3339 timestamp.", name) from None
    if when.tzinfo is None:
        raise invalid_request("INVALID_TIME", f"`{name}` must carry a UTC offset.", name)
    return when.timestamp()


def square_id(kind: str, key: str, length: int) -> str:
    """A stable Square-looking id (base-62-ish) for the objects the stand-in makes."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).digest()
    return base64.b32encode(digest).decode().rstrip("=")[:length]


def json_object(req: SandboxRequest) -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    try:
        data = req.json()
    except ValueError as exc:
        raise invalid_request("BAD_REQUEST", f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise invalid_request("EXPECTED_OBJECT", "Expected the request body to be a JSON object.")
    return data


@dataclass
class Page:
    """Cursor pagination: an opaque cursor naming the endpoint and the offset of the next page."""

    endpoint: str
    items: list[Any]
    size: int
    offset: int = 0
    out: list[Any] = field(default_factory=list)

    def take(self) -> str | None:
        self.out = self.items[self.offset : self.offset + self.size]
        nxt = self.offset + self.size
        if nxt >= len(self.items):
            return None
        raw = json.dumps({"e": self.endpoint, "o": nxt}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def open(cls, endpoint: str, cursor: Any, items: list[Any], size: int) -> Page:
        if cursor in (None, ""):
            return cls(endpoint, items, size)
        try:
            text = str(cursor)
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            offset = int(data["o"]) if data.get("e") == endpoint else -1
        except (ValueError, TypeError, KeyError, binascii.Error, AttributeError):
            offset = -1
        if offset < 0:
            raise invalid_request("INVALID_CURSOR", "The pagination cursor is not valid.", "cursor")
        return cls(endpoint, items, size, offset)


#: Square's limit on an ``idempotency_key`` (Payments, Refunds, Webhook Subscriptions: 45 characters).
MAX_IDEMPOTENCY_KEY: Final = 45


def idempotency_key(body: Mapping[str, Any]) -> str:
    """The body's ``idempotency_key``, refused as Square refuses a missing or over-long one."""
    key = body.get("idempotency_key")
    if not isinstance(key, str) or not key:
        raise invalid_request(
            "MISSING_REQUIRED_PARAMETER", "Missing required parameter `idempotency_key`.", "idempotency_key"
        )
    if len(key) > MAX_IDEMPOTENCY_KEY:
        detail = f"`idempotency_key` must be at most {MAX_IDEMPOTENCY_KEY} characters."
        raise invalid_request("VALUE_TOO_LONG", detail, "idempotency_key")
    return key


def optional_idempotency_key(body: Mapping[str, Any]) -> str | None:
    """As :func:`idempotency_key` where Square makes the key optional (updating a subscription)."""
    return None if body.get("idempotency_key") is None else idempotency_key(body)
