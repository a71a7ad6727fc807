"""The local gateway's 404 says where to look: the route index at ``/`` and, for a near miss (a typo,
a missing segment), the declared route that was probably meant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.local.gateway import Gateway, nearest_route
from shared.registry import load_specs


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    def dispatch(name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {"statusCode": 202, "body": "{}"}

    gw = Gateway(tuple(load_specs()), dispatch, {}, port=0, cors_origins=lambda name: ())
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()


def test_a_typo_gets_the_route_index_and_the_nearest_route(gateway: Gateway) -> None:
    answer = httpx.post(f"{gateway.url}/hooks/website_to_cmr", json={}, timeout=5)
    assert answer.status_code == 404
    assert answer.json() == {
        "message": "Not Found",
        "routes": f"GET {gateway.url}/ lists every route",
        "nearest": f"POST {gateway.url}/hooks/website_to_crm",
    }
    index = httpx.get(f"{gateway.url}/", timeout=5).json()
    assert {"integration": "website_to_crm", "trigger": "webhook", "method": "POST"}.items() <= next(
        r for r in index["routes"] if r["url"].endswith("/hooks/website_to_crm")
    ).items()


def test_a_path_far_from_every_route_gets_the_index_only(gateway: Gateway) -> None:
    answer = httpx.get(f"{gateway.url}/favicon.ico", timeout=5)
    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found", "routes": f"GET {gateway.url}/ lists every route"}


@pytest.mark.parametrize(
    ("method", "path", "meant"),
    [
        ("POST", "/hook/website_to_crm", ("POST", "/hooks/website_to_crm")),
        ("POST", "/hooks/website_to_crm/talley", ("POST", "/hooks/website_to_crm/tally")),
        ("GET", "/stok/LOAF-1", ("GET", "/stock/{sku}")),  # a path parameter counts as matched
        ("POST", "/hooks/new_lead_notify", ("POST", "/hooks/new_lead_notify/hubspot")),
        ("GET", "/nothing-like-it", None),
    ],
)
def test_nearest_route(method: str, path: str, meant: tuple[str, str] | None) -> None:
    routes = [(t.method, t.path) for s in load_specs() for t in s.http_triggers]
    assert nearest_route(method, path, routes) == meant
