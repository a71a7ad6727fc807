"""The stand-ins the local runtime mounts under ``/_sandbox/<app>/``: one instance of each.

Every app package with a ``standin`` module (``apps/<app>/standin.py`` or a ``standin/`` package)
that defines a :class:`~sandbox.base.SandboxApp` subclass with a ``name`` is picked up: adding a
stand-in is adding it to its app's folder, like adding an integration.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Unpack

from apps import modules_named
from sandbox.base import SandboxApp, SandboxOptions

__all__ = ["create_sandboxes", "sandbox_classes"]


def sandbox_classes() -> dict[str, type[SandboxApp]]:
    found: dict[str, type[SandboxApp]] = {}
    for name in modules_named("standin"):
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


def create_sandboxes(**options: Unpack[SandboxOptions]) -> dict[str, SandboxApp]:
    """One of each stand-in; ``options`` (rate limits on or off, a consistency lag) go to every one."""
    return {name: cls(**options) for name, cls in sandbox_classes().items()}
