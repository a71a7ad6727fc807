"""The action catalogue: every target operation Switchboard performs, declared once.

Each module of this package (one per domain: ``crm``, ``chat``, ``email``, ``stock``, ``company`` ...)
defines ``ACTIONS = (Action(...), ...)``; :func:`catalogue` finds them all, so adding an operation -
``calendar.create_event``, ``accounting.record_sale`` - is one declaration in one new or existing
module, with no list to update. Handlers import the action they call directly
(``from shared.actions.crm import UPSERT_CONTACT``); the MCP function, the OpenAPI document and the
function-calling schemas iterate the catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from typing import Any

from shared.actions.base import Action, ActionContext, tool_name

__all__ = ["Action", "ActionContext", "catalogue", "function_schemas", "get", "tool_name"]


@cache
def catalogue() -> tuple[Action[Any, Any], ...]:
    """Every declared action, sorted by name. Importing the modules is cheap (no httpx, no SDKs)."""
    found: dict[str, Action[Any, Any]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for action in getattr(module, "ACTIONS", ()):
            if not isinstance(action, Action):
                raise TypeError(f"shared/actions/{info.name}.py: ACTIONS holds {action!r}, not an Action")
            if action.name in found or any(a.tool_name == action.tool_name for a in found.values()):
                raise ValueError(f"action {action.name!r} is declared twice")
            found[action.name] = action
    return tuple(found[name] for name in sorted(found))


def get(name: str) -> Action[Any, Any]:
    """An action by its name (``crm.upsert_contact``) or tool name (``crm_upsert_contact``)."""
    for action in catalogue():
        if name in (action.name, action.tool_name):
            return action
    raise KeyError(f"no action {name!r}; there are: {', '.join(a.name for a in catalogue())}")


def function_schemas() -> list[dict[str, Any]]:
    """Every action as a function-calling tool definition (OpenAI ``functions`` / Anthropic ``tools``)."""
    return [a.function_schema() for a in catalogue()]
