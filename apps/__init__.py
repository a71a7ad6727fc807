"""One package per SaaS app (Pipedream's ``components/<app>/``, n8n's ``nodes/<Service>/``).

``apps/<app>/__init__.py`` declares the app (base URL, auth, limits), its connections and its webhook
verifier, and stays cheap to import: the ingress path imports it. The rest of the package is loaded
by whoever needs it - the worker (models, client, actions), the local runtime (stand-in), the chaos
harness (fault and effect hooks), the tests. Nothing lists the apps: they are discovered.
"""

from __future__ import annotations

import importlib.util
import pkgutil

__all__ = ["app_names", "modules_named"]


def app_names() -> list[str]:
    """Every app package (``apps/<app>/__init__.py``), sorted."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg and info.name[0] != "_")


def modules_named(part: str) -> list[str]:
    """``apps.<app>.<part>`` for every app that has that module or package (``standin``, ``actions``,
    ``chaos`` ...), sorted - how the local runtime, the catalogue and the harnesses find what an app
    brings without a list. Nothing is imported but the app packages themselves."""
    found = []
    for app in app_names():
        spec = importlib.util.find_spec(f"{__name__}.{app}.{part}")
        if spec is not None:
            found.append(spec.name)
    return found
