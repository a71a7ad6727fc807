"""The action catalogue: every target operation Switchboard performs, declared once.

Each module of this package is one domain (``crm``, ``chat``, ``calendar``, ``accounting`` ...): the
contract of its operations - input and output models - which flows and AI tools speak to. The app
that performs an operation implements it in its own package: ``apps/<app>/actions.py`` defines
``ACTIONS = (Action(...), ...)`` on the domain's models, calling the app's typed client. Actions
that need no SaaS app (``email.send`` through SES) are declared in their domain module here.

:func:`catalogue` finds them all, so adding an operation or an app is one declaration in one
module, with no list to update. Handlers import the action they call directly; the MCP function,
the OpenAPI document and the function-calling schemas iterate the catalogue.
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
    for name in _action_modules():
        module = importlib.import_module(name)
        for action in getattr(module, "ACTIONS", ()):
            if not isinstance(action, Action):
                raise TypeError(f"{name}: ACTIONS holds {action!r}, not an Action")
            if action.name in found or any(a.tool_name == action.tool_name for a in found.values()):
                raise ValueError(f"action {action.name!r} is declared twice")
            found[action.name] = action
    return tuple(found[name] for name in sorted(found))


def _action_modules() -> list[str]:
    """The domain modules of this package, then ``apps.<app>.actions`` of every app that has one."""
    from apps import modules_named

    names = [
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name != "base"
    ]
    return [*names, *modules_named("actions")]


def get(name: str) -> Action[Any, Any]:
    """An action by its name (``crm.upsert_contact``) or tool name (``crm_upsert_contact``)."""
    for action in catalogue():
        if name in (action.name, action.tool_name):
            return action
    raise KeyError(f"no action {name!r}; there are: {', '.join(a.name for a in catalogue())}")


def function_schemas() -> list[dict[str, Any]]:
    """Every action as a function-calling tool definition (OpenAI ``functions`` / Anthropic ``tools``)."""
    return [a.function_schema() for a in catalogue()]
