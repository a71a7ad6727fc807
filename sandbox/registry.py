"""The sandbox apps the local runtime mounts under ``/_sandbox/<app>/``: one instance of each."""

from __future__ import annotations

from sandbox.base import SandboxApp
from sandbox.hubspot import HubSpotSandbox

__all__ = ["create_sandboxes"]


def create_sandboxes() -> dict[str, SandboxApp]:
    apps: list[SandboxApp] = [HubSpotSandbox()]
    return {app.name: app for app in apps}
