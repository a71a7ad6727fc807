"""A corpus of bad requests against EVERY webhook route: each gets a precise status and a JSON error,
and nothing reaches the integration's queue.

Generated from the specs and their samples, so a new integration's webhook is covered without a new
test: the valid body comes from its first sample meant to be processed, and every hostile variant is
signed with the route's own verifier (a correctly signed request with a bad body must still be
refused by the parser, not by the signature check). Whether a route must refuse a signature an hour
old or ahead is read from its verifier's declaration (:func:`signs_a_timestamp`), never from what the
signer produces, and no case is skipped.
"""

from __future__ import annotations

import importlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest

import apps
from infra.local.gateway import api_gateway_event
from infra.local.samples import Sample, load_samples
from shared.entry import dispatch
from shared.registry import load_specs
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import IntegrationSpec, WebhookTrigger
from shared.webhooks.base import Verifier
from shared.webhooks.hmac import HmacVerifier
from shared.webhooks.standard import StandardWebhooks

HOST = "hooks.example.test"
WRONG_SECRET = "whsec_d3Jvbmctc2VjcmV0LWZvci1ob3N0aWxlLXRlc3Rz"


@dataclass(frozen=True)
class Route:
    spec: IntegrationSpec
    trigger: WebhookTrigger
    sample: Sample

    def __str__(self) -> str:
        return f"{self.spec.name}.{self.trigger.name}"


def _routes() -> list[Route]:
    routes = []
    for spec in load_specs():
        samples = load_samples(spec)
        for trigger in spec.triggers:
            if not isinstance(trigger, WebhookTrigger):
                continue
            sample = next(
                (
                    s
                    for s in samples
                    if s.trigger == trigger.name
                    and s.expect == "processed"
                    and s.sign == "valid"
                    and not s.lookups  # a request as sent, not one filled from the stand-ins
                ),
                None,
            )
            if sample is not None:
                routes.append(Route(spec, trigger, sample))
    return routes


ROUTES = _routes()


def _request(
    rt: Runtime,
    route: Route,
    body: bytes,
    *,
    secret: str | None = None,
    now: float | None = None,
    content_type: str | None = None,
    tamper: dict[str, str | None] | None = None,
) -> dict[str, Any]:
    url = f"https://{HOST}{route.trigger.path}"
    key = secret or signing_secrets(rt, route.trigger.secret)[0]
    headers = route.trigger.verifier.sign(
        method="POST",
        url=url,
        body=body,
        secret=key,
        now=time.time() if now is None else now,
        msg_id="msg_hostile_1",
    )
    headers = {**route.sample.headers, **headers, "host": HOST}
    if content_type is not None:
        headers["content-type"] = content_type
    for name, value in (tamper or {}).items():
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    event = api_gateway_event(
        method="POST",
        path=route.trigger.path,
        query="",
        headers=headers,
        body=body,
        route_key=f"POST {route.trigger.path}",
    )
    return dispatch(rt, event)


def _document(route: Route, body: bytes) -> bytes:
    """``body`` as the route's sender carries a JSON document: raw, or - for a form whose field holds
    it (Slack's ``payload=``) - in that field. Bytes that are not UTF-8 go raw: the body itself is bad."""
    field = route.trigger.form_json_field
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return body
    # JSON's punctuation unescaped (a form parser takes it as it is): a deep document stays its size.
    return body if field is None else urlencode({field: text}, safe='[]{}":,').encode()


def _queued(rt: Runtime) -> int:
    attrs = rt.aws("sqs").get_queue_attributes(QueueUrl=rt.queue_url, AttributeNames=["All"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _signature_header(route: Route) -> str:
    headers = route.trigger.verifier.signature_headers()
    return next((h for h in headers if "signature" in h), headers[0])


def _refused(result: dict[str, Any], status: int, code: str | None = None) -> dict[str, Any]:
    assert result["statusCode"] == status, result["body"]
    assert result["headers"]["content-type"] == "application/json"
    body: dict[str, Any] = json.loads(result["body"])
    assert isinstance(body["error"], str)
    assert body["message"]
    if code is not None:
        assert body["error"] == code, body
    return body


@pytest.fixture(params=ROUTES, ids=[str(r) for r in ROUTES])
def route(request: pytest.FixtureRequest) -> Route:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def rt(route: Route, make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime(route.spec.name)
    return runtime


def test_there_are_webhook_routes_to_attack() -> None:
    assert ROUTES, "no webhook samples found"


def test_the_valid_request_is_accepted(rt: Runtime, route: Route) -> None:
    # The control: everything below differs from this in one way only.
    assert _request(rt, route, route.sample.body)["statusCode"] == route.trigger.accepted_status
    assert _queued(rt) >= 1


def test_forged_signature(rt: Runtime, route: Route) -> None:
    _refused(_request(rt, route, route.sample.body, secret=WRONG_SECRET), 401, "invalid_signature")
    assert _queued(rt) == 0


def test_missing_signature_headers(rt: Runtime, route: Route) -> None:
    missing = dict.fromkeys(route.trigger.verifier.signature_headers())
    _refused(_request(rt, route, route.sample.body, tamper=missing), 401, "missing_signature")
    assert _queued(rt) == 0


def test_doubled_signature_header(rt: Runtime, route: Route) -> None:
    url = f"https://{HOST}{route.trigger.path}"
    secret = signing_secrets(rt, route.trigger.secret)[0]
    name = _signature_header(route)
    value = route.trigger.verifier.sign(
        method="POST", url=url, body=route.sample.body, secret=secret, now=time.time(), msg_id="msg_hostile_1"
    )[name]
    # API Gateway joins a header sent twice with a comma.
    _refused(_request(rt, route, route.sample.body, tamper={name: f"{value},{value}"}), 401)
    assert _queued(rt) == 0


def signs_a_timestamp(verifier: Verifier) -> bool:
    """Whether the provider signs a timestamp, as the app's ``VERIFIER`` declares it.

    A fact of the provider, read from the declaration (``apps/<app>/__init__.py``), never from what
    ``sign`` produces: a verifier that stopped signing its timestamp must fail the stale-replay case,
    not skip it. A verifier of an unknown kind fails here until this says how to read it.
    """
    if isinstance(verifier, StandardWebhooks):
        return True  # webhook-timestamp is part of the signed content, by the specification
    if isinstance(verifier, HmacVerifier):
        return "{timestamp}" in verifier.content
    raise AssertionError(f"{verifier.scheme}: say here whether this kind of verifier signs a timestamp")


def _declared_verifiers() -> dict[str, Verifier]:
    """Every webhook verifier: those of the routes, and each app's declared ones (``apps/<app>``),
    so that a scheme no route uses yet (Xero's) is read too."""
    found = {r.trigger.verifier.scheme: r.trigger.verifier for r in ROUTES}
    for app in apps.app_names():
        for value in vars(importlib.import_module(f"apps.{app}")).values():
            if isinstance(value, Verifier):
                found.setdefault(value.scheme, value)
    return found


def test_the_timestamp_declarations_are_read_as_the_providers_sign() -> None:
    # Stripe and Calendly sign "{t}.{body}", HubSpot v3 appends its timestamp, Slack signs
    # "v0:{timestamp}:{body}", Standard Webhooks signs "{id}.{timestamp}.{body}"; Square, Tally,
    # Cal.com, Shopify and Xero sign no time at all. Exact sets: a new scheme, or one that changed
    # what it signs, fails here until this list says how the provider signs.
    timestamped = {scheme: signs_a_timestamp(v) for scheme, v in _declared_verifiers().items()}
    assert {s for s, t in timestamped.items() if t} == {
        "calendly",
        "hubspot-v3",
        "slack-v0",
        "standard-webhooks",
        "stripe",
    }
    assert {s for s, t in timestamped.items() if not t} == {"calcom", "shopify", "square", "tally", "xero"}


@pytest.mark.parametrize("offset", [-3600, 3600], ids=["stale-replay", "future"])
def test_timestamps_outside_the_tolerance(rt: Runtime, route: Route, offset: int) -> None:
    result = _request(rt, route, route.sample.body, now=time.time() + offset)
    if signs_a_timestamp(route.trigger.verifier):
        _refused(result, 401, "stale_signature")
        assert _queued(rt) == 0
    else:
        # No time is signed: the signature is as good an hour later, and a replay is stopped by the
        # event id (the ingress dedupe), not here.
        assert result["statusCode"] == route.trigger.accepted_status, result["body"]


def test_body_over_the_limit(rt: Runtime, route: Route) -> None:
    body = b'{"padding": "' + b"x" * route.trigger.max_body_bytes + b'"}'
    error = _refused(_request(rt, route, body), 413, "payload_too_large")
    assert error["limit_bytes"] == route.trigger.max_body_bytes
    assert _queued(rt) == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param(b'{"a": "\xff\xfe"}', "not valid UTF-8", id="invalid-utf8"),
        pytest.param(b'{"a": ', "not valid JSON", id="invalid-json"),
        pytest.param(b"[" * 50_000 + b"]" * 50_000, "", id="deeply-nested"),
        pytest.param(b'{"n": ' + b"9" * 5000 + b"}", "not valid JSON", id="huge-number"),
        pytest.param(b'{"n": NaN}', "NaN", id="nan"),
        pytest.param(b'"just a string"', "must be", id="not-an-object"),
    ],
)
def test_malformed_bodies_signed_correctly(rt: Runtime, route: Route, body: bytes, fragment: str) -> None:
    error = _refused(_request(rt, route, _document(route, body)), 400, "malformed_payload")
    assert fragment in error["message"]
    assert _queued(rt) == 0


def test_wrong_content_type(rt: Runtime, route: Route) -> None:
    _refused(_request(rt, route, route.sample.body, content_type="text/plain"), 415, "unsupported_media_type")
    assert _queued(rt) == 0


def test_missing_fields(rt: Runtime, route: Route) -> None:
    empty = b"[{}]" if route.sample.body.lstrip().startswith(b"[") else b"{}"
    error = _refused(_request(rt, route, _document(route, empty)), 400, "invalid_payload")
    assert error["errors"], error
    assert all(e["field"] and e["message"] for e in error["errors"])
    assert _queued(rt) == 0
