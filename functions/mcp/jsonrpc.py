"""JSON-RPC 2.0 framing the ``/mcp`` route answers itself, before the MCP SDK sees a request.

The official MCP client surfaces only JSON-RPC error bodies: a refusal answered with any other JSON
reaches the user as "Server returned an error response", whatever the reason. So every refusal of
the route - a bad ``Origin``, a refused API key, a body that is JSON but not a JSON-RPC message, the
SDK's own plain-text refusals - is answered as a JSON-RPC error object, with the HTTP status the
transport asks for.

The SDK would answer a body that is not a JSON-RPC message with ``-32602`` and a 2 KB pydantic
dump; :func:`check` answers ``-32600 Invalid Request`` (``-32700`` for a body that is not JSON)
naming the one thing that is wrong. The shape checked is JSON-RPC 2.0's, as MCP narrows it: one
message per POST (batches were removed in the 2025-06-18 revision), ``id`` a string or an integer,
``params`` an object. Sources: https://www.jsonrpc.org/specification (sections 4, 5, 5.1) and
https://modelcontextprotocol.io/specification/2025-11-25/basic (Messages).

Imported by the route before authentication: standard library only.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = [
    "FORBIDDEN",
    "INTERNAL_ERROR",
    "INVALID_API_KEY",
    "INVALID_PARAMS",
    "INVALID_REQUEST",
    "ORIGIN_NOT_ALLOWED",
    "PARSE_ERROR",
    "QUOTA_EXCEEDED",
    "InvalidMessage",
    "check",
    "error",
    "request_id",
]

#: JSON-RPC 2.0's own codes.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
#: Switchboard's, in the implementation-defined server-error range (-32000 to -32099).
FORBIDDEN: Final = -32030
QUOTA_EXCEEDED: Final = -32031
INVALID_API_KEY: Final = -32032
ORIGIN_NOT_ALLOWED: Final = -32033

_MAX_SHOWN: Final = 40


class InvalidMessage(Exception):
    """The body is not one JSON-RPC 2.0 message; ``code`` is ``-32700`` or ``-32600``."""

    def __init__(self, code: int, message: str, message_id: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.message_id = message_id


def error(
    message_id: str | int | None, code: int, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-RPC error response object."""
    body: dict[str, Any] = {"code": code, "message": message}
    if data:
        body["data"] = data
    return {"jsonrpc": "2.0", "id": message_id, "error": body}


def _valid_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def request_id(body: bytes) -> str | int | None:
    """The message's id if the body is a JSON object with a valid one, else ``None`` (never raises)."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(parsed, dict) and _valid_id(parsed.get("id")):
        found: str | int = parsed["id"]
        return found
    return None


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def check(body: bytes) -> dict[str, Any]:
    """The message ``body`` holds, or :class:`InvalidMessage` naming what is wrong with it."""
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMessage(PARSE_ERROR, f"Parse error: the body is not JSON ({exc})"[:200]) from None
    if isinstance(parsed, list):
        raise InvalidMessage(
            INVALID_REQUEST, "Invalid Request: batches are not supported; send one JSON-RPC message per POST"
        )
    if not isinstance(parsed, dict):
        raise InvalidMessage(
            INVALID_REQUEST, f"Invalid Request: a JSON-RPC message is a JSON object, not {_kind(parsed)}"
        )
    has_id = "id" in parsed
    message_id = parsed.get("id") if _valid_id(parsed.get("id")) else None

    def invalid(problem: str) -> InvalidMessage:
        return InvalidMessage(INVALID_REQUEST, f"Invalid Request: {problem}", message_id)

    if parsed.get("jsonrpc") != "2.0":
        if "jsonrpc" not in parsed:
            raise invalid('"jsonrpc" is missing; it must be "2.0"')
        raise invalid(f'"jsonrpc" must be "2.0", not {json.dumps(parsed["jsonrpc"])[:_MAX_SHOWN]}')
    # A null id is JSON-RPC's for an error answering a request whose id could not be read; else
    # MCP ids are strings or integers.
    null_error = parsed.get("id", 0) is None and "error" in parsed and "method" not in parsed
    if has_id and not _valid_id(parsed["id"]) and not null_error:
        raise invalid(f'"id" must be a string or an integer, not {_kind(parsed["id"])}')
    if "method" in parsed:
        method = parsed["method"]
        if not isinstance(method, str) or not method:
            raise invalid(f'"method" must be a non-empty string, not {_kind(method)}')
        if "params" in parsed and not isinstance(parsed["params"], dict):
            raise invalid(
                f'"params" of {method[:_MAX_SHOWN]} must be an object, not {_kind(parsed["params"])}'
            )
        return parsed
    # No method: a response to a request of ours (this stateless server sends none, but it is valid).
    if "result" in parsed or "error" in parsed:
        if not has_id:
            raise invalid('a response needs the "id" of the request it answers')
        problem = parsed.get("error")
        if "error" in parsed and not (
            isinstance(problem, dict)
            and isinstance(problem.get("code"), int)
            and isinstance(problem.get("message"), str)
        ):
            raise invalid('"error" must be an object with an integer "code" and a string "message"')
        return parsed
    raise invalid('"method" is missing (a request or notification needs one)')
