"""The stand-ins the local runtime mounts under ``/_sandbox/<app>/``: one instance of each.

Every app package with a ``standin`` module (``apps/<app>/standin.py`` or a ``standin/`` package)
that defines a :class:`~sandbox.base.SandboxApp` subclass with a ``name`` is picked up: adding a
stand-in is adding it to its app's folder, like adding an integration.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil

import apps
from sandbox.base import SandboxApp

__all__ = ["create_sandboxes", "sandbox_classes", "standin_modules"]


def standin_modules() -> list[str]:
    """``apps.<app>.standin`` for every app package that has one, sorted."""
    found = []
    for info in pkgutil.iter_modules(apps.__path__):
        if not info.ispkg or info.name.startswith("_"):
            continue
        spec = importlib.util.find_spec(f"apps.{info.name}.standin")
        if spec is not None:
            found.append(spec.name)
    return sorted(found)


def sandbox_classes() -> dict[str, type[SandboxApp]]:
    found: dict[str, type[SandboxApp]] = {}
    for name in standin_modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if not issubclass(cls, SandboxApp) or cls is SandboxApp:
                continue
            if not cls.__module__.startswith(module.__name__):
                continue
            app_name = getattr(cls, "name", None)
            if isinstance(app_name, str) and app_name:
                found[app_name] = cls
    return dict(sorted(found.items()))


def create_sandboxes() -> dict[str, SandboxApp]:
    return {name: cls() for name, cls in sandbox_classes().items()}
