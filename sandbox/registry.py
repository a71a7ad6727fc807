"""The sandbox apps the local runtime mounts under ``/_sandbox/<app>/``: one instance of each.

Every module in this package that defines a :class:`~sandbox.base.SandboxApp` subclass with a
``name`` is picked up: adding a sandbox app is adding a module, like adding an integration.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import sandbox
from sandbox.base import SandboxApp

__all__ = ["create_sandboxes", "sandbox_classes"]

_SKIP = {"base", "registry"}


def sandbox_classes() -> dict[str, type[SandboxApp]]:
    found: dict[str, type[SandboxApp]] = {}
    for info in pkgutil.iter_modules(sandbox.__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"sandbox.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, SandboxApp) and cls is not SandboxApp and cls.__module__ == module.__name__:
                name = getattr(cls, "name", None)
                if isinstance(name, str) and name:
                    found[name] = cls
    return dict(sorted(found.items()))


def create_sandboxes() -> dict[str, SandboxApp]:
    return {name: cls() for name, cls in sandbox_classes().items()}
