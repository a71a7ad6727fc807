"""stock_level through the production handler (moto + the Square sandbox), with its sample events.

Requests are API Gateway events dispatched to ``shared.entry.dispatch``, exactly as Lambda would
receive them; Square is the sandbox app behind an httpx mock transport; DynamoDB and Secrets Manager
are moto. Time is a fake clock (``lookup.clock``): nothing sleeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.square.standin import LOCATIONS, SquareSandbox
from functions.stock_level import lookup
from functions.stock_level.access import API_KEYS
from functions.stock_level.cache import KEY_PREFIX
from infra.local.gateway import api_gateway_event
from infra.local.runtime import local_settings
from infra.local.samples import Sample, build_request, load_samples
from sandbox.base import SandboxRequest
from shared.entry import dispatch
from shared.registry import load_spec
from shared.runtime import Runtime
from tests.support import delete_value

SPEC = load_spec("stock_level")
SAMPLES = load_samples(SPEC)
HOST = "api.example.test"
SITE = "https://www.bramble-bakery.example"
KEY = "sandbox-stock-key-1"
BROWSER = {"origin": SITE}
SERVER = {"x-api-key": KEY}
HIGH_STREET, MARKET, KITCHEN = LOCATIONS


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(lookup, "clock", fake)
    return fake


@pytest.fixture
def square(sandboxes: dict[str, Any]) -> SquareSandbox:
    app = sandboxes["square"]
    assert isinstance(app, SquareSandbox)
    return app


def settings(**changes: Any) -> str:
    return json.dumps({**json.loads(local_settings(SPEC)), **changes})


@pytest.fixture
def rt(make_runtime: Any, clock: Clock) -> Runtime:
    runtime: Runtime = make_runtime("stock_level")
    return runtime


class Answer:
    def __init__(self, result: dict[str, Any]) -> None:
        self.status: int = result["statusCode"]
        self.headers: dict[str, str] = result["headers"]
        self.body: Any = json.loads(result["body"]) if result.get("body") else None


def get(rt: Runtime, path: str, query: str = "", headers: dict[str, str] | None = None) -> Answer:
    route = "GET /stock/{sku}" if path.startswith("/stock/") else "GET /stock"
    event = api_gateway_event(
        method="GET",
        path=path,
        query=query,
        headers={"host": HOST, **(BROWSER if headers is None else headers)},
        body=b"",
        route_key=route,
    )
    return Answer(dispatch(rt, event))


def square_calls(square: SquareSandbox) -> list[str]:
    res = square.handle(SandboxRequest("GET", "/_requests", query={"path": ["/v2/"]}))
    return [r["path"] for r in res.parsed()["requests"]]


def add_fault(square: SquareSandbox, fault: dict[str, Any]) -> None:
    assert square.handle(SandboxRequest("POST", "/_faults", body=json.dumps(fault).encode())).status == 201


def set_stock(square: SquareSandbox, sku: str, quantity: str, location: str = HIGH_STREET) -> None:
    body = json.dumps({"sku": sku, "quantity": quantity, "location_id": location}).encode()
    assert square.handle(SandboxRequest("POST", "/_stock", body=body)).status == 200


def send(rt: Runtime, sample: Sample) -> Answer:
    url, headers, _ = build_request(SPEC, sample, f"https://{HOST}", None)
    path, _, query = url.removeprefix(f"https://{HOST}").partition("?")
    return get(rt, path, query, headers)


# --- the samples ------------------------------------------------------------------------------------


def test_there_are_samples_of_every_answer() -> None:
    assert {s.trigger for s in SAMPLES} == {t.name for t in SPEC.triggers}
    assert {s.expect_status for s in SAMPLES} == {200, 400, 401, 403, 404}
    assert any(s.faults for s in SAMPLES)


def test_every_sample_answers_as_it_says_in_replay_order(rt: Runtime, square: SquareSandbox) -> None:
    """As ``make dev`` replays them: one runtime, file-name order, faults queued just before."""
    stale_checked = False
    for sample in SAMPLES:
        if sample.settings:  # a sample of another deployment (test_shopify_catalogue runs it)
            continue
        for fault in sample.faults.get("square", []):
            add_fault(square, fault)
        answer = send(rt, sample)
        assert answer.status == sample.expect_status, (sample.name, answer.body)
        if answer.status >= 400:
            assert answer.body["error"] and answer.body["message"], sample.name
        if sample.name == "square_down_stale":
            assert answer.body["stale"] is True and answer.body["available"] == 18
            stale_checked = True
    assert stale_checked, "no sample square_down_stale: renamed? the stale-answer check must still run"
    faults = square.handle(SandboxRequest("GET", "/_faults")).parsed()["faults"]
    assert faults == []  # every injected fault was met by the sample it was meant for


# --- answers ------------------------------------------------------------------------------------


def test_one_sku_sums_in_stock_at_the_configured_locations(rt: Runtime, clock: Clock) -> None:
    answer = get(rt, "/stock/LOAF-SOURDOUGH")
    assert answer.status == 200
    body = answer.body
    assert body == {
        "sku": "LOAF-SOURDOUGH",
        "available": 18,  # 12 High Street + 6 Market Hall; the WASTE count is not stock
        "in_stock": True,
        "updated_at": body["updated_at"],
        "stale": False,
        "age_s": 0,
    }
    assert body["updated_at"].endswith("Z")
    assert answer.headers["access-control-allow-origin"] == SITE and answer.headers["vary"] == "origin"
    assert answer.headers["cache-control"] == "public, max-age=30"


@pytest.mark.parametrize(
    ("sku", "available", "in_stock"),
    [
        ("CAKE-CHOC-8IN", 2, True),  # the central kitchen's 10 are not for sale
        ("CAKE-CHOC-6IN", 0, False),
        ("FLOUR-RYE-KG", 7, True),  # 7.25 kg: 7 whole units, rounded down
        ("loaf-rye", 3, True),  # Square matches SKUs case-insensitively; answered as asked
    ],
)
def test_quantities_are_whole_units_rounded_down(
    rt: Runtime, sku: str, available: int, in_stock: bool
) -> None:
    body = get(rt, f"/stock/{sku}").body
    assert (body["sku"], body["available"], body["in_stock"]) == (sku, available, in_stock)


def test_negative_stock_is_zero_and_no_count_at_all_is_zero(rt: Runtime, square: SquareSandbox) -> None:
    set_stock(square, "LOAF-RYE", "-4")
    set_stock(square, "LOAF-RYE", "1", MARKET)
    assert get(rt, "/stock/LOAF-RYE").body["available"] == 0  # -4 + 1 + nothing else
    set_stock(square, "CROISSANT-BUTTER", "0", MARKET)
    set_stock(square, "CROISSANT-BUTTER", "0")
    body = get(rt, "/stock/CROISSANT-BUTTER").body
    assert body["available"] == 0 and body["in_stock"] is False


def test_unknown_and_deleted_skus_are_404_with_cors(rt: Runtime) -> None:
    for sku in ("NO-SUCH-SKU", "BAGUETTE-CLASSIC"):
        answer = get(rt, f"/stock/{sku}")
        assert answer.status == 404
        assert answer.body == {
            "error": "sku_not_found",
            "message": f"no item variation has SKU {sku} in the Square catalog",
            "sku": sku,
        }
        assert answer.headers["access-control-allow-origin"] == SITE


def test_several_skus_in_the_order_asked(rt: Runtime, square: SquareSandbox) -> None:
    answer = get(rt, "/stock", "skus=FLOUR-RYE-KG,NOPE,LOAF-RYE,loaf-rye,CAKE-CHOC-6IN", SERVER)
    assert answer.status == 200
    assert [(i["sku"], i["available"]) for i in answer.body["items"]] == [
        ("FLOUR-RYE-KG", 7),
        ("LOAF-RYE", 3),  # "loaf-rye" is the same SKU to Square: asked once
        ("CAKE-CHOC-6IN", 0),
    ]
    assert answer.body["not_found"] == ["NOPE"] and answer.body["unavailable"] == []
    assert "access-control-allow-origin" not in answer.headers  # a server caller, no Origin
    assert square_calls(square) == ["/v2/catalog/search", "/v2/inventory/counts/batch-retrieve"]


@pytest.mark.parametrize(
    ("path", "query", "fields"),
    [
        ("/stock/LOAF%20RYE", "", ["sku"]),
        ("/stock/-LOAF", "", ["sku"]),
        ("/stock/" + "A" * 65, "", ["sku"]),
        ("/stock", "", ["skus"]),
        ("/stock", "skus=", ["skus"]),
        ("/stock", "skus=LOAF-RYE,,CAKE", ["skus[1]"]),
        ("/stock", "skus=LOAF-RYE,CAKE%3BDROP", ["skus[1]"]),
        ("/stock", "skus=" + ",".join(f"S{i}" for i in range(101)), ["skus"]),
    ],
)
def test_malformed_requests_are_400_naming_the_field(
    rt: Runtime, square: SquareSandbox, path: str, query: str, fields: list[str]
) -> None:
    answer = get(rt, path, query)
    assert answer.status == 400
    assert answer.body["error"] == "invalid_payload"
    assert [e["field"] for e in answer.body["errors"]] == fields
    assert square_calls(square) == []


def test_100_skus_are_fine_and_duplicates_do_not_count(rt: Runtime) -> None:
    hundred = ",".join(f"S{i}" for i in range(100))
    assert get(rt, "/stock", f"skus={hundred},s0,S1", SERVER).status == 200


# --- caching --------------------------------------------------------------------------------------


def test_a_second_request_within_cache_seconds_does_not_ask_square(
    rt: Runtime, square: SquareSandbox, clock: Clock
) -> None:
    assert get(rt, "/stock/LOAF-RYE").body["available"] == 3
    set_stock(square, "LOAF-RYE", "9")
    clock.now += 29
    again = get(rt, "/stock/loaf-rye")
    assert again.body["available"] == 3 and again.body["age_s"] == 29
    assert again.headers["cache-control"] == "public, max-age=1"
    assert len(square_calls(square)) == 2  # one search, one count: the first request only
    clock.now += 1
    assert get(rt, "/stock/LOAF-RYE").body["available"] == 9  # fresh from Square again
    assert len(square_calls(square)) == 4


def test_unknown_skus_are_cached_in_memory_too(rt: Runtime, square: SquareSandbox) -> None:
    assert get(rt, "/stock/NOPE").status == 404
    assert get(rt, "/stock/NOPE").status == 404
    assert square_calls(square) == ["/v2/catalog/search"]  # no variation: no counts call either


def test_the_last_value_is_kept_in_dynamodb_for_other_containers(
    rt: Runtime, make_runtime: Any, square: SquareSandbox, aws: Any, clock: Clock
) -> None:
    get(rt, "/stock/LOAF-SOURDOUGH")
    item = aws.client("dynamodb").get_item(
        TableName=rt.table, Key={"id": {"S": KEY_PREFIX + "LOAF-SOURDOUGH"}}
    )
    stored = item["Item"]
    assert stored["available"] == {"N": "18"}
    assert [v["S"] for v in stored["locations"]["L"]] == [HIGH_STREET, MARKET]
    assert int(stored["expiration"]["N"]) > clock.now + 86_400
    clock.now += 10
    other: Runtime = make_runtime("stock_level")  # a cold container: empty memory
    answer = get(other, "/stock/LOAF-SOURDOUGH")
    assert answer.body["available"] == 18 and answer.body["age_s"] == 10
    assert len(square_calls(square)) == 2  # the second container used the table, not Square
    assert get(other, "/stock/NOPE").status == 404
    unknown = aws.client("dynamodb").get_item(TableName=rt.table, Key={"id": {"S": KEY_PREFIX + "NOPE"}})
    assert "Item" not in unknown  # random SKUs never fill the table


def test_a_settings_change_of_locations_is_not_served_old_sums(
    rt: Runtime, make_runtime: Any, square: SquareSandbox
) -> None:
    assert get(rt, "/stock/CAKE-CHOC-8IN").body["available"] == 2
    kitchen: Runtime = make_runtime(
        "stock_level", settings_json=settings(location_ids=[HIGH_STREET, KITCHEN])
    )
    assert get(kitchen, "/stock/CAKE-CHOC-8IN").body["available"] == 12
    assert len(square_calls(square)) == 4


def test_only_key_holders_may_revalidate(rt: Runtime, square: SquareSandbox) -> None:
    get(rt, "/stock/LOAF-RYE")
    set_stock(square, "LOAF-RYE", "8")
    browser = get(rt, "/stock/LOAF-RYE", headers={**BROWSER, "cache-control": "no-cache"})
    assert browser.body["available"] == 3  # a hard reload in a browser does not reach Square
    server = get(rt, "/stock/LOAF-RYE", headers={**SERVER, "cache-control": "no-cache"})
    assert server.body["available"] == 8 and server.body["age_s"] == 0


def test_cache_seconds_zero_asks_square_every_time(
    make_runtime: Any, square: SquareSandbox, clock: Clock
) -> None:
    rt: Runtime = make_runtime("stock_level", settings_json=settings(cache_seconds=0))
    get(rt, "/stock/LOAF-RYE")
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.headers["cache-control"] == "public, max-age=0"
    assert len(square_calls(square)) == 4


def test_a_broken_table_does_not_break_answers(make_runtime: Any, square: SquareSandbox) -> None:
    rt: Runtime = make_runtime("stock_level", table="no-such-table")
    assert get(rt, "/stock/LOAF-RYE").body["available"] == 3
    assert get(rt, "/stock/LOAF-RYE").status == 200


def test_metrics_count_the_table_and_stale_answers_and_the_log_says_where_each_came_from(
    rt: Runtime,
    square: SquareSandbox,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Answers from memory and from Square are the normal path: no metric series of their own (the
    function's Invocations counts the requests), only the ``sources`` field of the log line."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    capsys.readouterr()
    get(rt, "/stock/LOAF-RYE")  # from Square
    get(rt, "/stock/LOAF-RYE")  # from memory
    clock.now += 95
    add_fault(square, {"kind": "status", "status": 503, "count": 5})
    assert get(rt, "/stock/LOAF-RYE").body["stale"] is True  # the last known value
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    answered = [line["sources"] for line in lines if line.get("message") == "stock answered"]
    assert answered == [{"square": 1}, {"memory": 1}, {"stale": 1}]
    emitted = {
        metric["Name"]
        for line in lines
        if "_aws" in line
        for directive in line["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]
    }
    assert "StockStale" in emitted
    assert not emitted & {"StockMemory", "StockSquare", "RouteRequests"}


# --- Square unavailable -------------------------------------------------------------------------


def test_square_down_serves_the_last_known_value_marked_stale(
    rt: Runtime, square: SquareSandbox, clock: Clock
) -> None:
    get(rt, "/stock/LOAF-RYE")
    clock.now += 95
    add_fault(square, {"kind": "status", "status": 503, "count": 5})
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.status == 200
    assert answer.body["stale"] is True and answer.body["age_s"] == 95 and answer.body["available"] == 3
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["access-control-allow-origin"] == SITE


def test_a_cold_container_serves_stale_from_the_table(
    rt: Runtime, make_runtime: Any, square: SquareSandbox, clock: Clock
) -> None:
    get(rt, "/stock/LOAF-RYE")
    clock.now += 600
    add_fault(square, {"kind": "rate_limit", "retry_after": 2, "count": 5})
    other: Runtime = make_runtime("stock_level")
    body = get(other, "/stock/LOAF-RYE").body
    assert (body["stale"], body["age_s"], body["available"]) == (True, 600, 3)


def test_nothing_known_and_square_down_is_503_with_retry_after(rt: Runtime, square: SquareSandbox) -> None:
    add_fault(square, {"kind": "rate_limit", "retry_after": 7})
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.status == 503
    assert answer.headers["retry-after"] == "7"
    assert answer.body["error"] == "rate_limited"


def test_values_older_than_stale_max_seconds_are_not_served(
    make_runtime: Any, square: SquareSandbox, clock: Clock
) -> None:
    rt: Runtime = make_runtime("stock_level", settings_json=settings(stale_max_seconds=3600))
    get(rt, "/stock/LOAF-RYE")
    clock.now += 3601
    add_fault(square, {"kind": "status", "status": 502, "count": 5})
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.status == 503 and answer.headers["retry-after"] == "5"


def test_several_skus_with_square_down_split_into_stale_and_unavailable(
    rt: Runtime, square: SquareSandbox, clock: Clock
) -> None:
    get(rt, "/stock/LOAF-RYE")
    clock.now += 60
    add_fault(square, {"kind": "status", "status": 504, "count": 6})  # two reads, each tried 3 times
    answer = get(rt, "/stock", "skus=LOAF-RYE,CAKE-CHOC-8IN", SERVER)
    assert answer.status == 200
    assert [(i["sku"], i["stale"]) for i in answer.body["items"]] == [("LOAF-RYE", True)]
    assert answer.body["unavailable"] == ["CAKE-CHOC-8IN"] and answer.body["not_found"] == []
    assert answer.headers["cache-control"] == "no-cache"
    assert get(rt, "/stock", "skus=CAKE-CHOC-8IN,NOPE", SERVER).status == 503


def test_square_refusing_is_502_and_not_hidden_by_old_values(
    rt: Runtime, square: SquareSandbox, clock: Clock
) -> None:
    get(rt, "/stock/LOAF-RYE")
    clock.now += 60
    add_fault(square, {"kind": "status", "status": 401})
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.status == 502 and answer.body["error"] == "target_rejected"


# --- who may ask --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "missing_api_key"),
        ({"origin": "https://copycat.example"}, 403, "forbidden_origin"),
        ({"x-api-key": "guess"}, 401, "invalid_api_key"),
        ({"x-api-key": "guess", "origin": SITE}, 401, "invalid_api_key"),
        ({"x-api-key": ""}, 401, "invalid_api_key"),
    ],
)
def test_callers_without_a_key_or_an_allowed_origin_are_refused(
    rt: Runtime, square: SquareSandbox, headers: dict[str, str], status: int, error: str
) -> None:
    answer = get(rt, "/stock/LOAF-RYE", headers=headers)
    assert (answer.status, answer.body["error"]) == (status, error)
    assert square_calls(square) == []


@pytest.mark.parametrize("key", ["sandbox-stock-key-1", "sandbox-stock-key-2", " sandbox-stock-key-2 "])
def test_every_active_key_is_accepted(rt: Runtime, key: str) -> None:
    assert get(rt, "/stock/LOAF-RYE", headers={"x-api-key": key}).status == 200


def test_a_key_and_an_allowed_origin_get_cors_headers(rt: Runtime) -> None:
    answer = get(rt, "/stock/LOAF-RYE", headers={**SERVER, **BROWSER})
    assert answer.status == 200 and answer.headers["access-control-allow-origin"] == SITE


def test_open_access_without_origin_when_the_settings_allow_it(make_runtime: Any) -> None:
    rt: Runtime = make_runtime("stock_level", settings_json=settings(require_key_without_origin=False))
    answer = get(rt, "/stock/LOAF-RYE", headers={})
    assert answer.status == 200 and "access-control-allow-origin" not in answer.headers
    assert get(rt, "/stock/LOAF-RYE", headers={"origin": "https://copycat.example"}).status == 403


def test_a_missing_key_secret_fails_closed_for_key_holders_only(rt: Runtime, aws: Any) -> None:
    delete_value(rt, API_KEYS)  # an SSM parameter (an own key): shared.store
    refused = get(rt, "/stock/LOAF-RYE", headers=SERVER)
    assert refused.status == 500 and refused.body["error"] == "missing_secret"
    assert get(rt, "/stock/LOAF-RYE", headers=BROWSER).status == 200


def test_invalid_settings_are_a_configuration_error(make_runtime: Any) -> None:
    rt: Runtime = make_runtime("stock_level", settings_json=settings(location_ids=[]))
    answer = get(rt, "/stock/LOAF-RYE")
    assert answer.status == 500 and answer.body["error"] == "configuration_error"


@pytest.fixture(autouse=True)
def _no_leaked_faults(square: SquareSandbox) -> Iterator[None]:
    yield
    square.handle(SandboxRequest("DELETE", "/_faults"))


def test_no_webhook_writes_stock_so_answers_are_squares_current_state() -> None:
    # The README's Ordering section rests on this: stock is only ever read from Square (and copies of
    # those reads), never written from a stream of changes whose order could be wrong.
    from shared.spec import RouteTrigger

    spec = load_spec("stock_level")
    assert spec.triggers and all(isinstance(t, RouteTrigger) and t.method == "GET" for t in spec.triggers)
    assert not spec.worker and not spec.queued_triggers
