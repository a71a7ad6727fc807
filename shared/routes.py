"""Matching an HTTP method and path to an integration's trigger.

API Gateway already routes by ``routeKey``; the local gateway and direct invocations match here, with
the same path templates (``/stock/{sku}``) the CDK construct declares as routes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from shared.spec import FormTrigger, IntegrationSpec, RouteTrigger, WebhookTrigger

__all__ = ["HttpTrigger", "RouteMatch", "match", "match_route_key"]

HttpTrigger = WebhookTrigger | FormTrigger | RouteTrigger


@dataclass(frozen=True)
class RouteMatch:
    spec: IntegrationSpec
    trigger: HttpTrigger
    path_params: dict[str, str]


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[A-Za-z_][A-Za-z0-9_]*\+?\})", template)
    regex = "".join(
        (f"(?P<{p[1:-2]}>.+)" if p.endswith("+}") else f"(?P<{p[1:-1]}>[^/]+)")
        if p.startswith("{")
        else re.escape(p)
        for p in parts
    )
    return re.compile(f"^{regex}$")


def match(specs: Iterable[IntegrationSpec], method: str, path: str) -> tuple[RouteMatch | None, bool]:
    """The trigger serving ``method path``, and whether the path exists for another method (405)."""
    path_exists = False
    for spec in specs:
        for trigger in spec.http_triggers:
            m = _pattern(trigger.path).match(path)
            if m is None:
                continue
            path_exists = True
            if trigger.method.upper() == method.upper():
                return RouteMatch(spec, trigger, m.groupdict()), True
    return None, path_exists


def match_route_key(spec: IntegrationSpec, route_key: str, path: str) -> RouteMatch | None:
    """Match an API Gateway ``routeKey`` (``"POST /hooks/x"``) against one spec's triggers."""
    method, _, template = route_key.partition(" ")
    for trigger in spec.http_triggers:
        if trigger.method.upper() == method.upper() and trigger.path == template:
            m = _pattern(trigger.path).match(path)
            return RouteMatch(spec, trigger, m.groupdict() if m else {})
    found, _ = match([spec], method, path)
    return found
