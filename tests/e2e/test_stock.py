"""stock_level end to end through the local runtime over real HTTP: gateway, moto server, sandbox.

What a product page and a server caller see: answers, CORS (preflight and on the GET), the cache
keeping Square out of repeated requests, and the last known value when Square is down.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

SITE = "https://www.bramble-bakery.example"
KEY = {"x-api-key": "sandbox-stock-key-1"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    rt = LocalRuntime(
        port=0,
        specs=(load_spec("stock_level"),),
        log_dir=str(tmp_path / "logs"),
        state_file=tmp_path / "local.json",
        pollers=False,
    )
    with rt:
        yield rt
    assert rt.errors == [], rt.errors


def square_requests(rt: LocalRuntime) -> list[dict[str, Any]]:
    answer = httpx.get(f"{rt.url}/_sandbox/square/_requests", params={"path": "/v2/"}, timeout=5)
    return list(answer.json()["requests"])


def test_a_product_page_and_a_server_get_answers(runtime: LocalRuntime) -> None:
    one = httpx.get(f"{runtime.url}/stock/CROISSANT-BUTTER", headers={"origin": SITE}, timeout=10)
    assert one.status_code == 200
    assert one.json()["available"] == 44 and one.json()["in_stock"] is True
    assert one.headers["access-control-allow-origin"] == SITE and one.headers["vary"] == "origin"
    many = httpx.get(f"{runtime.url}/stock", params={"skus": "LOAF-RYE,NOPE"}, headers=KEY, timeout=10)
    assert many.status_code == 200
    assert [i["sku"] for i in many.json()["items"]] == ["LOAF-RYE"] and many.json()["not_found"] == ["NOPE"]
    unknown = httpx.get(f"{runtime.url}/stock/NOPE", headers={"origin": SITE}, timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"] == "sku_not_found"
    refused = httpx.get(f"{runtime.url}/stock/LOAF-RYE", timeout=10)
    assert refused.status_code == 401 and refused.json()["error"] == "missing_api_key"


def test_preflight_from_an_allowed_origin_is_answered(runtime: LocalRuntime) -> None:
    answer = httpx.options(
        f"{runtime.url}/stock/LOAF-RYE",
        headers={"origin": SITE, "access-control-request-method": "GET"},
        timeout=10,
    )
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SITE
    assert "GET" in answer.headers["access-control-allow-methods"]


def test_preflight_from_another_origin_is_refused(runtime: LocalRuntime) -> None:
    answer = httpx.options(
        f"{runtime.url}/stock/LOAF-RYE",
        headers={"origin": "https://copycat.example", "access-control-request-method": "GET"},
        timeout=10,
    )
    assert answer.status_code == 403
    assert "access-control-allow-origin" not in answer.headers


def test_a_repeated_request_is_answered_without_square(runtime: LocalRuntime) -> None:
    url = f"{runtime.url}/stock/LOAF-SOURDOUGH"
    first = httpx.get(url, headers={"origin": SITE}, timeout=10)
    assert first.status_code == 200 and len(square_requests(runtime)) == 2
    second = httpx.get(url, headers={"origin": SITE}, timeout=10)
    assert second.status_code == 200 and second.json()["available"] == first.json()["available"]
    assert len(square_requests(runtime)) == 2  # no new catalog search or count request


def test_square_down_serves_the_last_known_value(runtime: LocalRuntime) -> None:
    url = f"{runtime.url}/stock/LOAF-SOURDOUGH"
    assert httpx.get(url, headers=KEY, timeout=10).json()["stale"] is False
    # Two reads below, each tried three times within the call (shared.http.SAFE_RETRIES).
    fault = {"kind": "status", "status": 503, "count": 6}
    assert httpx.post(f"{runtime.url}/_sandbox/square/_faults", json=fault, timeout=5).status_code == 201
    # A key holder asks past the cache; Square fails; the last known value is served, marked stale.
    answer = httpx.get(url, headers={**KEY, "cache-control": "no-cache"}, timeout=10)
    assert answer.status_code == 200
    assert answer.json()["stale"] is True and answer.json()["available"] == 18
    assert answer.headers["cache-control"] == "no-cache"
    assert [r["status"] for r in square_requests(runtime)][-1] == 503
    never_asked = httpx.get(f"{runtime.url}/stock/LOAF-RYE", headers=KEY, timeout=10)
    assert never_asked.status_code == 503 and never_asked.headers["retry-after"] == "5"
