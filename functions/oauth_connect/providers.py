"""The apps a connect link can connect: every app package whose :class:`~shared.app.App` is OAuth 2.0.

Nothing lists them: an app package (``apps/<app>/__init__.py``) that declares ``APP`` with
``auth="oauth2"`` is connectable, with every OAuth 2.0 :class:`~shared.spec.Connection` it declares
at module level (``CONNECTION``, or several: two Google calendars of two people). What differs per
provider - the authorization endpoint, scopes, PKCE, extra parameters, callback fields - is on the
``App`` itself, so a new OAuth app needs no change here, in the callback or in the CLI.

Importing the app packages is cheap by their own rule (no HTTP library, no pydantic model).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

from apps import app_names
from shared.app import App
from shared.spec import Connection

__all__ = ["Provider", "oauth_connections", "providers"]


@dataclass(frozen=True)
class Provider:
    """One connectable app and the OAuth connections declared for it."""

    app: App
    connections: tuple[Connection, ...]

    def connection(self, name: str) -> Connection | None:
        return next((c for c in self.connections if c.name == name), None)


@cache
def providers() -> dict[str, Provider]:
    """App name -> :class:`Provider`, for every OAuth 2.0 app package, sorted by name."""
    found: dict[str, Provider] = {}
    for name in app_names():
        module = importlib.import_module(f"apps.{name}")
        app = getattr(module, "APP", None)
        if not isinstance(app, App) or app.auth != "oauth2":
            continue
        connections = tuple(
            value
            for value in vars(module).values()
            if isinstance(value, Connection) and value.kind == "oauth2" and value.app == app.name
        )
        if connections:
            found[app.name] = Provider(app, connections)
    return found


def oauth_connections() -> tuple[Connection, ...]:
    """Every OAuth 2.0 connection of every provider: the secrets a callback may write."""
    return tuple(c for p in providers().values() for c in p.connections)
