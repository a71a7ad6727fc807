"""Fixtures of the lead_enrichment tests: the PDL sandbox, a runtime, the trace of what happened."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.hubspot.standin import HubSpotSandbox
from apps.peopledatalabs.standin import PeopleDataLabsSandbox
from sandbox.base import SandboxApp
from shared import trace
from shared.runtime import Runtime

from .helpers import PortalWithoutCompanyDefaults


@pytest.fixture
def pdl(sandboxes: dict[str, SandboxApp]) -> PeopleDataLabsSandbox:
    app = sandboxes["peopledatalabs"]
    assert isinstance(app, PeopleDataLabsSandbox)
    return app


@pytest.fixture
def hubspot(sandboxes: dict[str, SandboxApp]) -> HubSpotSandbox:
    """Replaces the shared fixture: runtimes made after it talk to this portal."""
    portal = PortalWithoutCompanyDefaults()
    sandboxes["hubspot"] = portal
    return portal


@pytest.fixture
def rt(make_runtime: Any, hubspot: HubSpotSandbox) -> Runtime:
    runtime: Runtime = make_runtime("lead_enrichment", retry_scale=0)
    return runtime


@pytest.fixture
def traced() -> Iterator[list[dict[str, Any]]]:
    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    yield entries
    trace.remove_sink(entries.append)
