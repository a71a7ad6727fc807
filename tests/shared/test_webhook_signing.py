"""shared/webhooks/signing.py: the pinned notification URL and a just-rotated secret, through ingress.

Square deliveries for ``pos_to_accounting`` go through ``shared.entry.dispatch`` on moto, signed with
the Square stand-in's own signing code (:func:`apps.square.standin.square_signature`), as Square
would sign them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.square.standin import square_signature
from infra.local.gateway import api_gateway_event
from shared.entry import dispatch
from shared.runtime import Runtime
from shared.secrets import get_connection
from shared.spec import WebhookTrigger
from shared.webhooks import signing
from tests.support import store_value

REPO = Path(__file__).resolve().parents[2]
PATH = "/hooks/pos_to_accounting/square"
BODY = json.dumps(
    json.loads((REPO / "events/pos_to_accounting/square_payment_completed.json").read_text())["body"]
).encode()
PUBLIC = "https://pos.bramble-bakery.example" + PATH


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime("pos_to_accounting", secret_max_age_s=300)
    return runtime


@pytest.fixture(autouse=True)
def _fresh_reads_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signing, "_last_fresh", {})


def trigger(rt: Runtime) -> WebhookTrigger:
    found = rt.spec.trigger("square")
    assert isinstance(found, WebhookTrigger)
    return found


def store(rt: Runtime, aws: Any, value: dict[str, str]) -> None:
    store_value(rt, trigger(rt).secret, value)


def deliver(rt: Runtime, *, signed_url: str, key: str, host: str, proto: str = "https") -> int:
    """A delivery that arrives with ``Host: host``, signed by Square for ``signed_url``."""
    headers = {"host": host, "x-forwarded-proto": proto, "content-type": "application/json"}
    headers.update(square_signature(signed_url, BODY, key, 0.0))
    event = api_gateway_event(
        method="POST", path=PATH, query="", headers=headers, body=BODY, route_key=f"POST {PATH}"
    )
    return int(dispatch(rt, event)["statusCode"])


def test_behind_a_proxy_that_rewrites_host_square_is_refused_until_the_url_is_pinned(
    rt: Runtime, aws: Any
) -> None:
    key = "sq0wsk-pinned-key-22chr"
    store(rt, aws, {"secret": key})
    # The proxy forwards to the API's own domain: the URL rebuilt from the request is not Square's.
    assert deliver(rt, signed_url=PUBLIC, key=key, host="abc123.execute-api.eu-west-2.amazonaws.com") == 401

    store(rt, aws, {"secret": key, "notification_url": PUBLIC})
    get_connection(rt, trigger(rt).secret, fresh=True)  # past the cache, as 5 minutes would be
    assert deliver(rt, signed_url=PUBLIC, key=key, host="abc123.execute-api.eu-west-2.amazonaws.com") == 202
    # Pinned, a signature over the rebuilt URL is no longer what Square would have sent.
    internal = "https://abc123.execute-api.eu-west-2.amazonaws.com" + PATH
    assert deliver(rt, signed_url=internal, key=key, host="abc123.execute-api.eu-west-2.amazonaws.com") == 401


def test_without_a_pinned_url_the_url_comes_from_host_and_forwarded_proto(rt: Runtime, aws: Any) -> None:
    key = "sq0wsk-hosted-key-22chr"
    store(rt, aws, {"secret": key})
    assert deliver(rt, signed_url=PUBLIC, key=key, host="pos.bramble-bakery.example") == 202
    assert deliver(rt, signed_url=PUBLIC, key=key, host="pos.bramble-bakery.example", proto="http") == 401


def test_a_secret_rotated_after_it_was_cached_is_read_fresh_once(rt: Runtime, aws: Any) -> None:
    old, new = "sq0wsk-the-old-key-0001", "sq0wsk-the-new-key-0002"
    store(rt, aws, {"secret": old})
    assert deliver(rt, signed_url=PUBLIC, key=old, host="pos.bramble-bakery.example") == 202  # cached now
    store(rt, aws, {"secret": new, "previous_secret": old})

    # Square signs with the new key at once; the 5-minute cache still holds the old one.
    assert deliver(rt, signed_url=PUBLIC, key=new, host="pos.bramble-bakery.example") == 202
    assert deliver(rt, signed_url=PUBLIC, key=old, host="pos.bramble-bakery.example") == 202


def test_forged_signatures_cause_at_most_one_fresh_read_per_interval(
    rt: Runtime, aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    store(rt, aws, {"secret": "sq0wsk-the-real-key-003"})
    reads: list[bool] = []
    real = signing.get_connection

    def counting(runtime: Runtime, connection: Any, *, fresh: bool = False) -> Any:
        reads.append(fresh)
        return real(runtime, connection, fresh=fresh)

    monkeypatch.setattr(signing, "get_connection", counting)
    for _ in range(5):
        assert deliver(rt, signed_url=PUBLIC, key="forged", host="pos.bramble-bakery.example") == 401
    assert reads.count(True) == 1
