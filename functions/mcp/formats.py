"""The tools as each kind of client takes them: MCP, OpenAI function calling, Anthropic tool use.

One source - :func:`functions.mcp.tools.definition`, the tool exactly as ``tools/list`` gives it,
``idempotency_key`` included where the tool takes it - reshaped for the assistants that do not speak
MCP, so an assistant wired by hand calls the same tools with the same arguments (and the same
idempotency rule) as one connected to ``/mcp``. The shapes:

* ``mcp`` - the MCP ``Tool`` (``name``, ``title``, ``description``, ``inputSchema``,
  ``outputSchema``, ``annotations``), as the ``tools`` array of a ``tools/list`` result:
  https://modelcontextprotocol.io/specification/2025-11-25/server/tools (Tool);
* ``openai`` - a Chat Completions tool, ``{"type": "function", "function": {"name",
  "description", "parameters"}}``: https://platform.openai.com/docs/api-reference/chat/create
  (``tools``) and https://platform.openai.com/docs/guides/function-calling;
* ``anthropic`` - a Messages API client tool, ``{"name", "description", "input_schema"}``:
  https://docs.anthropic.com/en/docs/agents-and-tools/tool-use/overview (Specifying client tools).

Both function-calling APIs take names of ``^[a-zA-Z0-9_-]{1,64}$`` and a JSON Schema object for the
arguments; tool names are made for that (:func:`shared.actions.tool_name`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal, get_args

from shared.actions import Action, catalogue

from .tools import definition

__all__ = ["FORMATS", "Format", "tool_definitions"]

Format = Literal["mcp", "openai", "anthropic"]
FORMATS: Final[tuple[str, ...]] = get_args(Format)


def _openai(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": tool["name"],
            "description": tool["description"],
            "parameters": tool["inputSchema"],
        },
    }


def _anthropic(tool: dict[str, Any]) -> dict[str, Any]:
    return {"name": tool["name"], "description": tool["description"], "input_schema": tool["inputSchema"]}


def tool_definitions(fmt: str, actions: Iterable[Action[Any, Any]] | None = None) -> list[dict[str, Any]]:
    """Every action of ``actions`` (default: the whole catalogue) as a tool in format ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"no tool format {fmt!r}; there are: {', '.join(FORMATS)}")
    tools = [definition(a) for a in (catalogue() if actions is None else actions)]
    if fmt == "openai":
        return [_openai(t) for t in tools]
    if fmt == "anthropic":
        return [_anthropic(t) for t in tools]
    return tools
