"""Finds what integrations and apps bring to the harness; nothing here lists either.

* ``functions/<name>/chaos.py`` - ``FACTORIES`` (its event factories) and, optionally,
  ``SEQUENCES`` (factories of entities changed several times, for ``--reorder``) and ``OBSERVERS`` (effects no app records, such as the emails it sends);
* ``apps/<app>/chaos.py`` - ``CHAOS``, the app's :class:`~infra.ops.chaos.protocol.AppChaos`.

Adding an integration or an app to the chaos run is adding that file beside its spec or stand-in,
as adding an integration is adding its folder (:mod:`shared.registry`). The files are imported only
here: they are never bundled into a Lambda (``infra/cdk/bundling.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import apps
from infra.ops.chaos.protocol import AppChaos, EventFactory, Observer
from shared.registry import FUNCTIONS_DIR

__all__ = [
    "app_hooks",
    "check_kinds",
    "factories",
    "factory",
    "integration_observers",
    "observers",
    "sequences",
    "structural_kinds",
]


def _integration_modules(functions_dir: Path) -> list[ModuleType]:
    """``<functions package>.<name>.chaos`` of every integration folder that has one, by name."""
    names = sorted(
        p.parent.name for p in functions_dir.glob("*/chaos.py") if not p.parent.name.startswith(("_", "."))
    )
    return [importlib.import_module(f"{functions_dir.name}.{name}.chaos") for name in names]


def _tuple_of(module: ModuleType, name: str, accept: Callable[[object], bool], what: str) -> tuple[Any, ...]:
    """``module.<name>`` (empty if it has none), checked to be a tuple of ``what``."""
    value = getattr(module, name, ())
    if not isinstance(value, tuple) or not all(accept(v) for v in value):
        raise TypeError(f"{module.__name__}.{name} must be a tuple of {what}")
    return value


def factories(
    functions_dir: Path = FUNCTIONS_DIR, *, attribute: str = "FACTORIES"
) -> tuple[EventFactory, ...]:
    """Every integration's event factories, by integration (then in the order its file gives)."""
    found: list[EventFactory] = []
    for module in _integration_modules(functions_dir):
        integration = module.__name__.split(".")[-2]
        for made in _tuple_of(module, attribute, lambda v: isinstance(v, EventFactory), "EventFactory"):
            if made.integration != integration:
                raise ValueError(
                    f"{module.__name__} makes events for {made.integration!r}; "
                    f"factories live in their own integration's folder"
                )
            if (made.versions is None) != (attribute == "FACTORIES"):
                raise ValueError(
                    f"{module.__name__}.{attribute}: {made.integration}.{made.trigger} "
                    + (
                        "has versions: it belongs in SEQUENCES"
                        if attribute == "FACTORIES"
                        else "needs versions"
                    )
                )
            found.append(made)
    return tuple(found)


def sequences(functions_dir: Path = FUNCTIONS_DIR) -> tuple[EventFactory, ...]:
    """Every integration's sequence factories (``SEQUENCES``: one entity, several changes)."""
    return factories(functions_dir, attribute="SEQUENCES")


def factory(integration: str, trigger: str, functions_dir: Path = FUNCTIONS_DIR) -> EventFactory:
    """The factory of one integration trigger (the load harness sends only website leads)."""
    for made in factories(functions_dir):
        if (made.integration, made.trigger) == (integration, trigger):
            return made
    raise LookupError(f"functions/{integration}/chaos.py has no factory for trigger {trigger!r}")


def integration_observers(functions_dir: Path = FUNCTIONS_DIR) -> dict[str, tuple[Observer, ...]]:
    """integration -> the observers its ``chaos.py`` brings (only integrations that bring some)."""
    out: dict[str, tuple[Observer, ...]] = {}
    for module in _integration_modules(functions_dir):
        found = _tuple_of(module, "OBSERVERS", callable, "observers (run -> Counter of effects)")
        if found:
            out[module.__name__.split(".")[-2]] = found
    return out


def app_hooks() -> Mapping[str, AppChaos]:
    """app -> its :class:`AppChaos`, for every ``apps/<app>/chaos.py``; apps without one get faults
    with an empty poison body and no observer."""
    out: dict[str, AppChaos] = {}
    for name in apps.modules_named("chaos"):
        module = importlib.import_module(name)
        hooks = getattr(module, "CHAOS", None)
        if not isinstance(hooks, AppChaos):
            raise TypeError(f"{name} must define CHAOS = AppChaos(...)")
        out[name.split(".")[-2]] = hooks
    return out


def observers(functions_dir: Path = FUNCTIONS_DIR) -> list[Observer]:
    """Every effect observer: each app's, then each integration's."""
    found = [hooks.observe for hooks in app_hooks().values() if hooks.observe is not None]
    for own in integration_observers(functions_dir).values():
        found.extend(own)
    return found


def check_kinds() -> frozenset[str]:
    """The effect kinds that are checks on another effect (each app's ``AppChaos.checks``)."""
    return frozenset(kind for hooks in app_hooks().values() for kind in hooks.checks)


def structural_kinds() -> frozenset[str]:
    """The effect kinds the targets themselves keep single (each app's ``AppChaos.structural``)."""
    return frozenset(kind for hooks in app_hooks().values() for kind in hooks.structural)
