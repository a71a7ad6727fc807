"""The action catalogue: every target operation Switchboard performs, declared once.

Each module of this package is one domain (``crm``, ``chat``, ``calendar``, ``accounting`` ...): the
contract of its operations - input and output models - which flows and AI tools speak to. The app
that performs an operation implements it in its own package: ``apps/<app>/actions.py`` defines
``ACTIONS = (Action(...), ...)`` on the domain's models, calling the app's typed client. Actions
that need no SaaS app (``email.send`` through SES) are declared in their domain module here.

Several apps may perform the same action - QuickBooks and Xero both ``accounting.record_sale`` - so
an action is known by its name *and* its app (:func:`every_action`). Apps performing one name must
take and give the same contract models (a flow can then switch between them), which discovery checks.
Who performs an action for a deployment is a setting, chosen in two places:

* a flow names the app in its own settings (``accounting_app: "xero"``) and calls
  ``provider("accounting.record_sale", settings.accounting_app)`` - the action as that app performs it;
  :func:`providers` lists the apps that can;
* the tool surfaces - the MCP function, the OpenAPI document, the function-calling schemas - offer
  one action per name: :func:`catalogue` takes the deployment's choices (``{"accounting": "xero"}``,
  by domain or by action name) and, where a name has several apps and no choice was made, the domain's
  ``DEFAULT_PROVIDER`` (declared in ``shared/actions/<domain>.py``). With a choice for a domain, only
  the chosen app's actions of that domain are offered: a business that books in Xero is not offered
  QuickBooks.

:func:`catalogue` finds them all, so adding an operation or an app is one declaration in one
module, with no list to update. Handlers import the action they call directly (or choose it with
:func:`provider`); the MCP function, the OpenAPI document and the function-calling schemas iterate
the catalogue.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from functools import cache
from typing import Any

from shared.actions.base import Action, ActionContext, tool_name

__all__ = [
    "Action",
    "ActionContext",
    "catalogue",
    "every_action",
    "function_schemas",
    "get",
    "provider",
    "providers",
    "tool_name",
]


@cache
def every_action() -> tuple[Action[Any, Any], ...]:
    """Every declared action of every app, sorted by name then app.

    Refuses, at discovery: the same app declaring a name twice; two apps with one name but different
    contract models (a flow could not switch between them); two names with one tool name.
    """
    found: dict[tuple[str, str], Action[Any, Any]] = {}
    for name in _action_modules():
        module = importlib.import_module(name)
        for action in getattr(module, "ACTIONS", ()):
            if not isinstance(action, Action):
                raise TypeError(f"{name}: ACTIONS holds {action!r}, not an Action")
            if (action.name, action.app) in found:
                raise ValueError(f"action {action.name!r} of {action.app} is declared twice")
            for other in found.values():
                if other.name == action.name and (other.input, other.output) != (action.input, action.output):
                    raise TypeError(
                        f"action {action.name!r}: {action.app} and {other.app} must take and give the same "
                        "contract models (those of shared/actions/<domain>.py)"
                    )
                if other.name != action.name and other.tool_name == action.tool_name:
                    raise ValueError(f"actions {other.name!r} and {action.name!r} have one tool name")
            found[(action.name, action.app)] = action
    return tuple(found[key] for key in sorted(found))


def providers(name: str) -> dict[str, Action[Any, Any]]:
    """App -> the action ``name`` (or its tool name) as that app performs it; empty if none does."""
    return {a.app: a for a in every_action() if name in (a.name, a.tool_name)}


def provider(name: str, app: str) -> Action[Any, Any]:
    """The action ``name`` as ``app`` performs it: what a flow whose settings name the app calls.

    ``KeyError`` naming the apps that do perform it, so a wrong setting says what would be right.
    """
    found = providers(name)
    if app in found:
        return found[app]
    if not found:
        raise KeyError(f"no action {name!r}")
    raise KeyError(f"{app!r} does not perform {name}; {', '.join(sorted(found))} do")


def catalogue(choices: Mapping[str, str] | None = None) -> tuple[Action[Any, Any], ...]:
    """One action per name, sorted by name: the deployment's choice of app where several perform it.

    ``choices`` maps a domain (``accounting``) or an action name (``accounting.record_sale``) to the
    app; the name's own choice wins over its domain's. A name no choice covers, performed by several
    apps, comes from its domain's ``DEFAULT_PROVIDER``. Importing the modules is cheap (no httpx).
    """
    return _catalogue(tuple(sorted((choices or {}).items())))


@cache
def _catalogue(choices: tuple[tuple[str, str], ...]) -> tuple[Action[Any, Any], ...]:
    chosen = dict(choices)
    by_name: dict[str, dict[str, Action[Any, Any]]] = {}
    for action in every_action():
        by_name.setdefault(action.name, {})[action.app] = action
    for key, app in chosen.items():
        covered = [n for n in by_name if key in (n, n.partition(".")[0])]
        if not covered:
            raise KeyError(f"choice {key}={app}: no action or domain {key!r}")
        if not any(app in by_name[n] for n in covered):
            raise KeyError(f"choice {key}={app}: {app!r} performs no action of {key!r}")
    offered: list[Action[Any, Any]] = []
    for name, apps in sorted(by_name.items()):
        domain = name.partition(".")[0]
        choice = chosen.get(name) or chosen.get(domain)
        if choice is not None:
            if choice in apps:
                offered.append(apps[choice])
            continue  # the deployment chose another app for this domain: not offered
        if len(apps) == 1:
            offered.extend(apps.values())
            continue
        default = _default_provider(domain)
        if default not in apps:
            raise ValueError(
                f"{name} is performed by {', '.join(sorted(apps))}: choose one, or name a DEFAULT_PROVIDER "
                f"in shared/actions/{domain}.py"
            )
        offered.append(apps[default])
    return tuple(offered)


def _default_provider(domain: str) -> str | None:
    """``DEFAULT_PROVIDER`` of ``shared/actions/<domain>.py``, if the domain module has one."""
    try:
        module = importlib.import_module(f"{__name__}.{domain}")
    except ModuleNotFoundError:
        return None
    value = getattr(module, "DEFAULT_PROVIDER", None)
    return value if isinstance(value, str) else None


def _action_modules() -> list[str]:
    """The domain modules of this package, then ``apps.<app>.actions`` of every app that has one."""
    from apps import modules_named

    names = [
        f"{__name__}.{info.name}"
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_") and info.name != "base"
    ]
    return [*names, *modules_named("actions")]


def get(name: str, app: str | None = None) -> Action[Any, Any]:
    """An action by its name (``crm.upsert_contact``) or tool name (``crm_upsert_contact``).

    With ``app``, as that app performs it (:func:`provider`); without, the catalogue's (the default
    provider where several apps perform it).
    """
    if app is not None:
        return provider(name, app)
    for action in catalogue():
        if name in (action.name, action.tool_name):
            return action
    raise KeyError(f"no action {name!r}; there are: {', '.join(a.name for a in catalogue())}")


def function_schemas(choices: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """Every offered action as a function-calling tool definition (OpenAI ``functions`` / Anthropic ``tools``)."""
    return [a.function_schema() for a in catalogue(choices)]
