"""Webhook verifiers against the vectors their authors published.

Sources of the fixed vectors:

* Standard Webhooks: standard-webhooks/standard-webhooks, ``libraries/python/tests/test_webhooks.py``
  (``test_sign_function``, ``test_invalid_signature_raises_error``, ``test_multi_sig_payload_is_valid``).
* GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
  ("Testing the webhook payload validation"; github/docs
  ``content/webhooks/using-webhooks/validating-webhook-deliveries.md``).
* Square: square/square-python-sdk, ``tests/integration/test_webhooks_helper.py``.
* HubSpot v3: HubSpot/hubspot-api-python, ``tests/spec/utils/test_signature.py``
  (``test_get_signature__v3``).

Stripe, Calendly, Tally, Typeform and Cal.com publish no fixed vector; their expected values are built
here with ``hmac``/``hashlib`` directly, independently of the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

import pytest

from apps import tally
from shared.errors import (
    ConfigurationError,
    MissingSecret,
    SignatureMismatch,
    SignatureMissing,
    SwitchboardError,
    TimestampOutOfTolerance,
)
from shared.webhooks.base import Verifier, WebhookRequest
from shared.webhooks.hmac import HmacVerifier
from shared.webhooks.standard import StandardWebhooks

URL = "https://hooks.example.com/tally"


def request(
    headers: Mapping[str, str], body: bytes, *, url: str = URL, method: str = "POST"
) -> WebhookRequest:
    return WebhookRequest(method=method, url=url, headers=dict(headers), body=body)


def expect(cls: type[SwitchboardError], match: str, call: Callable[[], Any]) -> SwitchboardError:
    """Assert the exact class (not a subclass or sibling) and the message."""
    with pytest.raises(cls, match=match) as info:
        call()
    assert type(info.value) is cls
    return info.value


# --- Standard Webhooks ---------------------------------------------------------------------------

SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TS = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
SW_HEADERS = {"webhook-id": SW_MSG_ID, "webhook-timestamp": str(SW_TS), "webhook-signature": SW_SIGNATURE}
SW_OTHER_SECRET = "whsec_" + base64.b64encode(b"another key of 24 bytes!").decode()

sw = StandardWebhooks()


def sw_verify(
    headers: Mapping[str, str], *, body: bytes = SW_BODY, secrets: Any = (SW_SECRET,), now: float = SW_TS
) -> None:
    sw.verify(request(headers, body), list(secrets), now)


def test_standard_reference_vector_signs() -> None:
    headers = sw.sign(method="POST", url=URL, body=SW_BODY, secret=SW_SECRET, now=SW_TS, msg_id=SW_MSG_ID)
    assert headers == SW_HEADERS


@pytest.mark.parametrize("secret", [SW_SECRET, SW_SECRET.removeprefix("whsec_")])
def test_standard_reference_vector_verifies_with_and_without_prefix(secret: str) -> None:
    sw_verify(SW_HEADERS, secrets=[secret])


def test_standard_reference_invalid_signature_is_mismatch() -> None:
    headers = {**SW_HEADERS, "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}
    expect(SignatureMismatch, "no v1 signature in webhook-signature matches", lambda: sw_verify(headers))


def test_standard_tampered_body_is_mismatch() -> None:
    expect(SignatureMismatch, "matches", lambda: sw_verify(SW_HEADERS, body=b'{"test": 2432232315}'))


def test_standard_tampered_id_is_mismatch() -> None:
    headers = {**SW_HEADERS, "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJeK"}
    expect(SignatureMismatch, "matches", lambda: sw_verify(headers))


def test_standard_tampered_timestamp_inside_window_is_mismatch() -> None:
    headers = {**SW_HEADERS, "webhook-timestamp": str(SW_TS + 1)}
    expect(SignatureMismatch, "matches", lambda: sw_verify(headers))


@pytest.mark.parametrize("now", [SW_TS - 300, SW_TS + 300])
def test_standard_tolerance_edges_pass(now: float) -> None:
    sw_verify(SW_HEADERS, now=now)


def test_standard_stale_timestamp() -> None:
    expect(
        TimestampOutOfTolerance,
        r"signed 301 s ago; at most 300 s",
        lambda: sw_verify(SW_HEADERS, now=SW_TS + 301),
    )


def test_standard_future_timestamp() -> None:
    expect(
        TimestampOutOfTolerance,
        r"signed 301 s in the future; at most 300 s",
        lambda: sw_verify(SW_HEADERS, now=SW_TS - 301),
    )


def test_standard_tolerance_is_configurable() -> None:
    strict = StandardWebhooks(tolerance_s=10)
    with pytest.raises(TimestampOutOfTolerance):
        strict.verify(request(SW_HEADERS, SW_BODY), [SW_SECRET], SW_TS + 11)
    strict.verify(request(SW_HEADERS, SW_BODY), [SW_SECRET], SW_TS + 10)


def test_standard_several_signatures_one_right() -> None:
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    sw_verify({**SW_HEADERS, "webhook-signature": f"{wrong} {SW_SIGNATURE} {wrong}"})


def test_standard_several_signatures_all_wrong() -> None:
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1,not-base64!"
    expect(SignatureMismatch, "matches", lambda: sw_verify({**SW_HEADERS, "webhook-signature": wrong}))


def test_standard_other_versions_are_ignored() -> None:
    valid = SW_SIGNATURE.removeprefix("v1,")
    # The right digest under another version label must not count ...
    only_other = f"v1a,{valid} v2,{valid}"
    expect(SignatureMismatch, "matches", lambda: sw_verify({**SW_HEADERS, "webhook-signature": only_other}))
    # ... and other versions next to a valid v1 do not spoil it.
    sw_verify({**SW_HEADERS, "webhook-signature": f"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhq {SW_SIGNATURE}"})


def test_standard_rotation_accepts_previous_secret() -> None:
    sw_verify(SW_HEADERS, secrets=[SW_OTHER_SECRET, SW_SECRET])


def test_standard_rotation_rejects_unrelated_secret() -> None:
    expect(SignatureMismatch, "matches", lambda: sw_verify(SW_HEADERS, secrets=[SW_OTHER_SECRET]))


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_missing_header(missing: str) -> None:
    headers = {k: v for k, v in SW_HEADERS.items() if k != missing}
    expect(SignatureMissing, f"missing header\\(s\\): {missing}$", lambda: sw_verify(headers))


def test_standard_non_numeric_timestamp() -> None:
    headers = {**SW_HEADERS, "webhook-timestamp": "hello"}
    expect(
        SignatureMissing, "webhook-timestamp header is not a unix time in seconds", lambda: sw_verify(headers)
    )


def test_standard_doubled_timestamp_header() -> None:
    headers = {**SW_HEADERS, "webhook-timestamp": f"{SW_TS},{SW_TS}"}
    expect(SignatureMissing, "webhook-timestamp header was repeated", lambda: sw_verify(headers))


def test_standard_doubled_signature_header() -> None:
    headers = {**SW_HEADERS, "webhook-signature": f"{SW_SIGNATURE},{SW_SIGNATURE}"}
    expect(SignatureMissing, "webhook-signature header was sent more than once", lambda: sw_verify(headers))


@pytest.mark.parametrize("secrets", [[], [""], ["", ""]])
def test_standard_no_secret_fails_closed(secrets: list[str]) -> None:
    # Checked before the request: a missing secret must not hide behind a 401 for a missing header.
    expect(
        MissingSecret,
        "no signing secret is configured for standard-webhooks",
        lambda: sw_verify({}, secrets=secrets),
    )


def test_standard_undecodable_secret_is_configuration_error() -> None:
    expect(ConfigurationError, "not base64", lambda: sw_verify(SW_HEADERS, secrets=["whsec_not*base64"]))


def test_standard_sign_without_secret() -> None:
    expect(
        MissingSecret,
        "no signing secret",
        lambda: sw.sign(method="POST", url=URL, body=b"{}", secret="", now=SW_TS, msg_id="m"),
    )


def test_standard_round_trip() -> None:
    body = b'{"type":"contact.created","data":{"id":"1f81eb52"}}'
    now = 1_700_000_000.9
    headers = sw.sign(method="POST", url=URL, body=body, secret=SW_OTHER_SECRET, now=now, msg_id="msg_1")
    assert headers["webhook-timestamp"] == "1700000000"
    sw.verify(request(headers, body), [SW_OTHER_SECRET], now)
    with pytest.raises(SignatureMismatch):
        sw.verify(request(headers, body + b" "), [SW_OTHER_SECRET], now)


def test_standard_branded_headers_round_trip() -> None:
    svix = StandardWebhooks(header_prefix="svix")
    assert svix.signature_headers() == ("svix-id", "svix-timestamp", "svix-signature")
    headers = svix.sign(method="POST", url=URL, body=SW_BODY, secret=SW_SECRET, now=SW_TS, msg_id=SW_MSG_ID)
    assert headers["svix-signature"] == SW_SIGNATURE
    svix.verify(request(headers, SW_BODY), [SW_SECRET], SW_TS)
    expect(
        SignatureMissing,
        "missing header",
        lambda: svix.verify(request(SW_HEADERS, SW_BODY), [SW_SECRET], SW_TS),
    )


# --- HmacVerifier: published vectors ---------------------------------------------------------------

GITHUB = HmacVerifier(scheme="github", header="x-hub-signature-256", prefix="sha256=")
GITHUB_SECRET = "It's a Secret to Everybody"
GITHUB_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

SQUARE = HmacVerifier(
    scheme="square", header="x-square-hmacsha256-signature", encoding="base64", content="{url}{body}"
)
SQUARE_BODY = (
    b'{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification",'
    b'"event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z",'
    b'"data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}'
)
SQUARE_SIGNATURE = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4="
SQUARE_KEY = "Ibxx_5AKakO-3qeNVR61Dw"
SQUARE_URL = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9"


def hubspot(url_normalizer: Callable[[str], str] | None = None) -> HmacVerifier:
    return HmacVerifier(
        scheme="hubspot",
        header="x-hubspot-signature-v3",
        encoding="base64",
        content="{method}{url}{body}{timestamp}",
        timestamp_header="x-hubspot-request-timestamp",
        timestamp_unit="ms",
        url_normalizer=url_normalizer,
    )


HUBSPOT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
HUBSPOT_BODY = b"{'example_field':'example_value'}"
HUBSPOT_URL = "https://www.example.com/webhook_uri"
HUBSPOT_HEADERS = {
    "x-hubspot-signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
    "x-hubspot-request-timestamp": "15000000",  # milliseconds
}
HUBSPOT_NOW = 15_000.0  # the same instant, in seconds


def test_github_documented_vector_verifies() -> None:
    headers = {"x-hub-signature-256": GITHUB_SIGNATURE}
    GITHUB.verify(request(headers, b"Hello, World!"), [GITHUB_SECRET], 0.0)


def test_github_documented_vector_signs() -> None:
    headers = GITHUB.sign(
        method="POST", url=URL, body=b"Hello, World!", secret=GITHUB_SECRET, now=0.0, msg_id="x"
    )
    assert headers == {"x-hub-signature-256": GITHUB_SIGNATURE}


@pytest.mark.parametrize(
    ("body", "signature"),
    [
        (b"Hello, World?", GITHUB_SIGNATURE),
        (b"Hello, World!", GITHUB_SIGNATURE.removeprefix("sha256=")),  # prefix is part of the format
        (b"Hello, World!", "sha1=" + GITHUB_SIGNATURE.removeprefix("sha256=")),
        (b"Hello, World!", "sha256=zz07ea"),  # not hex: no match rather than a crash
    ],
)
def test_github_mismatches(body: bytes, signature: str) -> None:
    call = lambda: GITHUB.verify(request({"x-hub-signature-256": signature}, body), [GITHUB_SECRET], 0.0)  # noqa: E731
    expect(SignatureMismatch, "no signature in x-hub-signature-256 matches", call)


def test_github_rotation() -> None:
    req = request({"x-hub-signature-256": GITHUB_SIGNATURE}, b"Hello, World!")
    GITHUB.verify(req, ["the new secret", GITHUB_SECRET], 0.0)
    expect(SignatureMismatch, "matches", lambda: GITHUB.verify(req, ["the new secret", "another"], 0.0))


def test_square_sdk_vector() -> None:
    headers = {"x-square-hmacsha256-signature": SQUARE_SIGNATURE}
    SQUARE.verify(request(headers, SQUARE_BODY, url=SQUARE_URL), [SQUARE_KEY], 0.0)
    signed = SQUARE.sign(
        method="POST", url=SQUARE_URL, body=SQUARE_BODY, secret=SQUARE_KEY, now=0.0, msg_id="x"
    )
    assert signed == headers


def test_square_sdk_escaped_vector() -> None:
    headers = {"x-square-hmacsha256-signature": "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U="}
    body = b'{"data":{"type":"webhooks","id":">id<"}}'
    SQUARE.verify(request(headers, body, url="https://webhook.site/webhooks"), ["signature-key"], 0.0)


@pytest.mark.parametrize(
    ("url", "key", "body"),
    [
        ("https://webhook.site/79a4f3a-dcfa-49ee-bac5-9d0edad886b9", SQUARE_KEY, SQUARE_BODY),
        (SQUARE_URL, "MCmhFRxGX82xMwg5FsaoQA", SQUARE_BODY),
        # The same JSON, re-serialized: raw bytes are signed, so this must not verify.
        (SQUARE_URL, SQUARE_KEY, json.dumps(json.loads(SQUARE_BODY), indent=2).encode()),
    ],
)
def test_square_sdk_vector_mismatches(url: str, key: str, body: bytes) -> None:
    req = request({"x-square-hmacsha256-signature": SQUARE_SIGNATURE}, body, url=url)
    expect(SignatureMismatch, "matches", lambda: SQUARE.verify(req, [key], 0.0))


def test_hubspot_v3_sdk_vector() -> None:
    hubspot().verify(request(HUBSPOT_HEADERS, HUBSPOT_BODY, url=HUBSPOT_URL), [HUBSPOT_SECRET], HUBSPOT_NOW)


def test_hubspot_v3_sign_uses_milliseconds() -> None:
    signed = hubspot().sign(
        method="post", url=HUBSPOT_URL, body=HUBSPOT_BODY, secret=HUBSPOT_SECRET, now=HUBSPOT_NOW, msg_id="x"
    )
    assert signed == HUBSPOT_HEADERS


def test_hubspot_v3_stale_timestamp_in_milliseconds() -> None:
    req = request(HUBSPOT_HEADERS, HUBSPOT_BODY, url=HUBSPOT_URL)
    hubspot().verify(req, [HUBSPOT_SECRET], HUBSPOT_NOW + 300)
    expect(
        TimestampOutOfTolerance,
        "signed 301 s ago; at most 300 s",
        lambda: hubspot().verify(req, [HUBSPOT_SECRET], HUBSPOT_NOW + 301),
    )
    expect(
        TimestampOutOfTolerance,
        "signed 301 s in the future",
        lambda: hubspot().verify(req, [HUBSPOT_SECRET], HUBSPOT_NOW - 301),
    )


def test_hubspot_v3_method_and_url_are_signed() -> None:
    put = request(HUBSPOT_HEADERS, HUBSPOT_BODY, url=HUBSPOT_URL, method="PUT")
    expect(SignatureMismatch, "matches", lambda: hubspot().verify(put, [HUBSPOT_SECRET], HUBSPOT_NOW))
    other = request(HUBSPOT_HEADERS, HUBSPOT_BODY, url=HUBSPOT_URL + "?x=1")
    expect(SignatureMismatch, "matches", lambda: hubspot().verify(other, [HUBSPOT_SECRET], HUBSPOT_NOW))


def test_url_normalizer_is_applied_to_the_request_url() -> None:
    encoded = request(HUBSPOT_HEADERS, HUBSPOT_BODY, url="https://www.example.com/webhook%5Furi")
    expect(SignatureMismatch, "matches", lambda: hubspot().verify(encoded, [HUBSPOT_SECRET], HUBSPOT_NOW))
    hubspot(url_normalizer=unquote).verify(encoded, [HUBSPOT_SECRET], HUBSPOT_NOW)


def test_missing_timestamp_header() -> None:
    headers = {"x-hubspot-signature-v3": HUBSPOT_HEADERS["x-hubspot-signature-v3"]}
    req = request(headers, HUBSPOT_BODY, url=HUBSPOT_URL)
    call = lambda: hubspot().verify(req, [HUBSPOT_SECRET], HUBSPOT_NOW)  # noqa: E731
    expect(SignatureMissing, "^x-hubspot-request-timestamp header is missing$", call)


@pytest.mark.parametrize(
    "value", ["15000000.0", "-15000000", "soon", "+15000000", "15_000_000", "\uff11\uff15", "1" * 5000]
)
def test_non_numeric_timestamp_is_signature_missing(value: str) -> None:
    req = request({**HUBSPOT_HEADERS, "x-hubspot-request-timestamp": value}, HUBSPOT_BODY, url=HUBSPOT_URL)
    call = lambda: hubspot().verify(req, [HUBSPOT_SECRET], HUBSPOT_NOW)  # noqa: E731
    expect(SignatureMissing, "x-hubspot-request-timestamp header is not a unix time in milliseconds", call)


# --- HmacVerifier: Stripe-style kv header ----------------------------------------------------------

STRIPE = HmacVerifier(scheme="stripe", header="stripe-signature", format="kv", content="{timestamp}.{body}")
STRIPE_SECRET = "whsec_test_secret"
STRIPE_BODY = b'{\n  "id": "evt_test_webhook",\n  "object": "event"\n}'
STRIPE_T = 1492774577


def stripe_v1(secret: str = STRIPE_SECRET, t: int = STRIPE_T, body: bytes = STRIPE_BODY) -> str:
    """Stripe's documented scheme, written out here: hex HMAC-SHA256 of "<t>.<raw body>"."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def stripe_verify(header: str, *, secrets: Any = (STRIPE_SECRET,), now: float = STRIPE_T) -> None:
    STRIPE.verify(request({"stripe-signature": header}, STRIPE_BODY), list(secrets), now)


def test_stripe_independent_signature_verifies() -> None:
    stripe_verify(f"t={STRIPE_T},v1={stripe_v1()}")


def test_stripe_sign_matches_independent_header() -> None:
    signed = STRIPE.sign(
        method="POST", url=URL, body=STRIPE_BODY, secret=STRIPE_SECRET, now=STRIPE_T + 0.5, msg_id="x"
    )
    assert signed == {"stripe-signature": f"t={STRIPE_T},v1={stripe_v1()}"}


def test_stripe_several_v1_one_right_and_v0_ignored() -> None:
    wrong = stripe_v1(secret="whsec_other")
    stripe_verify(f"t={STRIPE_T}, v1={wrong}, v1={stripe_v1()}, v0={wrong}")


def test_stripe_v0_alone_does_not_count() -> None:
    expect(
        SignatureMissing,
        "stripe-signature header has no v1= signature",
        lambda: stripe_verify(f"t={STRIPE_T},v0={stripe_v1()}"),
    )


def test_stripe_wrong_signature() -> None:
    expect(
        SignatureMismatch,
        "no signature in stripe-signature matches",
        lambda: stripe_verify(f"t={STRIPE_T},v1={'0' * 64}"),
    )


def test_stripe_timestamp_is_signed() -> None:
    expect(SignatureMismatch, "matches", lambda: stripe_verify(f"t={STRIPE_T + 1},v1={stripe_v1()}"))


def test_stripe_missing_t() -> None:
    expect(
        SignatureMissing,
        "t= in the stripe-signature header is missing",
        lambda: stripe_verify(f"v1={stripe_v1()}"),
    )


def test_stripe_doubled_header() -> None:
    one = f"t={STRIPE_T},v1={stripe_v1()}"
    expect(
        SignatureMissing,
        "stripe-signature header was sent more than once",
        lambda: stripe_verify(f"{one},{one}"),
    )


def test_stripe_malformed_header() -> None:
    expect(
        SignatureMismatch,
        "not a list of key=value pairs",
        lambda: stripe_verify(f"t={STRIPE_T},{stripe_v1()}"),
    )


def test_stripe_stale_and_future() -> None:
    header = f"t={STRIPE_T},v1={stripe_v1()}"
    expect(TimestampOutOfTolerance, "signed 301 s ago", lambda: stripe_verify(header, now=STRIPE_T + 301))
    expect(
        TimestampOutOfTolerance,
        "signed 400 s in the future",
        lambda: stripe_verify(header, now=STRIPE_T - 400),
    )


def test_stripe_rotation() -> None:
    header = f"t={STRIPE_T},v1={stripe_v1()}"
    stripe_verify(header, secrets=["whsec_new", STRIPE_SECRET])
    expect(SignatureMismatch, "matches", lambda: stripe_verify(header, secrets=["whsec_new"]))


# --- HmacVerifier: Tally ----------------------------------------------------------------------------

TALLY_SECRET = "3f1c8a8e-5b0e-4a63-9d7c-2b6f0c9e1a11"
TALLY_BODY = (
    b'{"eventId":"a4cb511e-d513-4fa5-baee-b815d718dfd1","eventType":"FORM_RESPONSE",'
    b'"createdAt":"2023-06-28T15:00:21.889Z","data":{"responseId":"2wgx4n","formName":"Contact"}}'
)


def tally_signature(body: bytes = TALLY_BODY, secret: str = TALLY_SECRET) -> str:
    """Tally's documented scheme, written out here: base64 HMAC-SHA256 of the payload."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def test_tally_independent_signature_verifies() -> None:
    tally.VERIFIER.verify(request({"tally-signature": tally_signature()}, TALLY_BODY), [TALLY_SECRET], 0.0)


def test_tally_sign_matches_independent_header() -> None:
    signed = tally.VERIFIER.sign(
        method="POST", url=URL, body=TALLY_BODY, secret=TALLY_SECRET, now=0.0, msg_id="x"
    )
    assert signed == {"tally-signature": tally_signature()}


def test_tally_tampered_body() -> None:
    req = request({"tally-signature": tally_signature()}, TALLY_BODY.replace(b"Contact", b"Contacts"))
    expect(
        SignatureMismatch,
        "no signature in tally-signature matches",
        lambda: tally.VERIFIER.verify(req, [TALLY_SECRET], 0.0),
    )


def test_tally_doubled_header() -> None:
    sig = tally_signature()
    req = request({"tally-signature": f"{sig},{sig}"}, TALLY_BODY)
    call = lambda: tally.VERIFIER.verify(req, [TALLY_SECRET], 0.0)  # noqa: E731
    expect(SignatureMissing, "tally-signature header was sent more than once", call)


def test_tally_missing_header() -> None:
    call = lambda: tally.VERIFIER.verify(request({}, TALLY_BODY), [TALLY_SECRET], 0.0)  # noqa: E731
    expect(SignatureMissing, "^tally-signature header is missing$", call)


def test_tally_previous_secret_accepted() -> None:
    req = request({"tally-signature": tally_signature()}, TALLY_BODY)
    tally.VERIFIER.verify(req, ["the-rotated-secret", TALLY_SECRET], 0.0)


def test_tally_connection_shape() -> None:
    assert tally.SIGNING.kind == "signing"
    assert tally.SIGNING.fields == ("secret",)
    assert tally.SIGNING.optional == ("previous_secret",)
    assert tally.SIGNING.local["secret"]
    # The local secret signs and verifies like any other (the local runtime relies on it).
    secret = tally.SIGNING.local["secret"]
    headers = tally.VERIFIER.sign(method="POST", url=URL, body=TALLY_BODY, secret=secret, now=0.0, msg_id="x")
    tally.VERIFIER.verify(request(headers, TALLY_BODY), [secret], 0.0)


# --- HmacVerifier: every configuration ------------------------------------------------------------

CONFIGS: dict[str, HmacVerifier] = {
    "tally": tally.VERIFIER,
    "typeform": HmacVerifier(
        scheme="typeform", header="typeform-signature", encoding="base64", prefix="sha256="
    ),
    "github": GITHUB,
    "calcom": HmacVerifier(scheme="calcom", header="x-cal-signature-256"),
    "square": SQUARE,
    "stripe": STRIPE,
    "calendly": HmacVerifier(
        scheme="calendly",
        header="calendly-webhook-signature",
        format="kv",
        content="{timestamp}.{body}",
        tolerance_s=180,
    ),
    "hubspot": hubspot(url_normalizer=unquote),
    "with-id": HmacVerifier(
        scheme="with-id",
        header="x-signature",
        content="{id}.{timestamp}.{body}",
        timestamp_header="x-timestamp",
        id_header="x-event-id",
    ),
}
NOW = 1_750_000_000.25


@pytest.mark.parametrize("name", list(CONFIGS))
def test_round_trip(name: str) -> None:
    verifier = CONFIGS[name]
    assert isinstance(verifier, Verifier)
    body = b'{"b": 1,  "a": "\xc3\xa9"}\n'
    headers = verifier.sign(method="POST", url=URL, body=body, secret="s3cret", now=NOW, msg_id="evt_1")
    assert set(headers) == set(verifier.signature_headers())
    verifier.verify(request(headers, body), ["s3cret"], NOW)
    verifier.verify(request(headers, body), ["newer", "s3cret"], NOW)
    expect(
        SignatureMismatch, "matches", lambda: verifier.verify(request(headers, body[:-1]), ["s3cret"], NOW)
    )
    expect(SignatureMismatch, "matches", lambda: verifier.verify(request(headers, body), ["other"], NOW))


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("secrets", [[], [""]])
def test_no_secret_fails_closed(name: str, secrets: list[str]) -> None:
    verifier = CONFIGS[name]
    headers = verifier.sign(method="POST", url=URL, body=b"{}", secret="s3cret", now=NOW, msg_id="evt_1")
    call = lambda: verifier.verify(request(headers, b"{}"), secrets, NOW)  # noqa: E731
    expect(MissingSecret, f"no signing secret is configured for {verifier.scheme} webhooks", call)


def test_sign_without_secret() -> None:
    call = lambda: GITHUB.sign(method="POST", url=URL, body=b"{}", secret="", now=NOW, msg_id="x")  # noqa: E731
    expect(MissingSecret, "no signing secret", call)


def test_body_bytes_are_signed_as_is() -> None:
    body = b"\xff\xfe not utf-8"
    headers = GITHUB.sign(method="POST", url=URL, body=body, secret="k", now=NOW, msg_id="x")
    expected = "sha256=" + hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert headers == {"x-hub-signature-256": expected}
    GITHUB.verify(request(headers, body), ["k"], NOW)


def test_id_header_is_signed_and_required() -> None:
    verifier = CONFIGS["with-id"]
    headers = verifier.sign(method="POST", url=URL, body=b"{}", secret="k", now=NOW, msg_id="evt_1")
    assert headers["x-event-id"] == "evt_1"
    changed = {**headers, "x-event-id": "evt_2"}
    expect(SignatureMismatch, "matches", lambda: verifier.verify(request(changed, b"{}"), ["k"], NOW))
    missing = {k: v for k, v in headers.items() if k != "x-event-id"}
    expect(
        SignatureMissing,
        "^x-event-id header is missing$",
        lambda: verifier.verify(request(missing, b"{}"), ["k"], NOW),
    )


def test_doubled_timestamp_header() -> None:
    verifier = CONFIGS["with-id"]
    headers = verifier.sign(method="POST", url=URL, body=b"{}", secret="k", now=NOW, msg_id="evt_1")
    doubled = {**headers, "x-timestamp": f"{headers['x-timestamp']},{headers['x-timestamp']}"}
    call = lambda: verifier.verify(request(doubled, b"{}"), ["k"], NOW)  # noqa: E731
    expect(SignatureMissing, "x-timestamp header was repeated", call)


def test_header_lookup_is_case_insensitive() -> None:
    verifier = HmacVerifier(scheme="github", header="X-Hub-Signature-256", prefix="sha256=")
    assert verifier.signature_headers() == ("x-hub-signature-256",)
    verifier.verify(
        request({"x-hub-signature-256": GITHUB_SIGNATURE}, b"Hello, World!"), [GITHUB_SECRET], 0.0
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"content": "{timestamp}.{body}"}, "no timestamp_header"),
        ({"content": "{id}.{body}"}, "no id_header"),
        ({"content": "{url}"}, "must include \\{body\\}"),
        ({"content": "{path}{body}"}, "unknown placeholder \\{path\\}"),
        ({"content": "{body!r}"}, "unknown placeholder"),
        ({"tolerance_s": 0}, "tolerance_s > 0"),
        ({"encoding": "b64"}, "unknown encoding"),
    ],
)
def test_configuration_is_checked_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HmacVerifier(scheme="x", header="x-sig", **kwargs)


def test_verifiers_stay_hashable() -> None:
    # Specs are frozen dataclasses that may be hashed; verifiers they hold must not break that.
    assert len({GITHUB, sw, tally.VERIFIER}) == 3
