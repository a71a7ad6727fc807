"""The ingress path end to end: an API Gateway (payload 2.0) event through ``shared.entry.dispatch``.

Every request goes through the real code path for ``website_to_crm`` on moto (SQS, Secrets Manager),
signed with the trigger's own verifier. After every refused request the queue must be empty: a
refusal never queues anything.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from infra.local.gateway import api_gateway_event
from infra.local.runtime import local_settings
from shared.entry import dispatch
from shared.envelope import ENVELOPE_VERSION, Envelope
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import DEFAULT_MAX_BODY_BYTES, FormTrigger, IntegrationSpec, WebhookTrigger
from tests.support import delete_value, python_child, store_value

NAME = "website_to_crm"
HOST = "hooks.test"
WEBHOOK_PATH = "/hooks/website_to_crm"
FORM_PATH = "/forms/website_to_crm"
ORIGIN = "https://www.bramble-bakery.example"
REPO = Path(__file__).resolve().parents[2]

LEAD = {
    "type": "form.submitted",
    "timestamp": "2026-11-20T09:14:03.512Z",
    "data": {
        "form_id": "contact-us",
        "name": "Priya Raman",
        "email": "Priya.Raman@Northwind-Traders.example",
        "phone": "+44 20 7946 0321",
        "company": "Northwind Traders",
        "message": "A quote for 40 loaves a week, please.",
        "consent": True,
    },
}

FORM = {
    "name": "Tomás O'Neill",
    "email": "tomas.oneill@gmail.example",
    "phone": "087 123 4567",
    "message": "Gluten-free birthday cakes?",
    "consent": "on",
    "website": "",
}


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    runtime: Runtime = make_runtime(NAME)
    return runtime


def webhook_trigger(rt: Runtime) -> WebhookTrigger:
    trigger = rt.spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    return trigger


def signed_headers(
    rt: Runtime,
    body: bytes,
    *,
    msg_id: str = "msg_test_1",
    now: float | None = None,
    secret: str | None = None,
) -> dict[str, str]:
    trigger = webhook_trigger(rt)
    key = secret if secret is not None else signing_secrets(rt, trigger.secret)[0]
    headers = {"host": HOST, "x-forwarded-proto": "http", "content-type": "application/json"}
    headers.update(
        trigger.verifier.sign(
            method="POST",
            url=f"http://{HOST}{WEBHOOK_PATH}",
            body=body,
            secret=key,
            now=time.time() if now is None else now,
            msg_id=msg_id,
        )
    )
    return headers


def webhook_event(body: bytes, headers: dict[str, str], *, path: str = WEBHOOK_PATH) -> dict[str, Any]:
    return api_gateway_event(
        method="POST", path=path, query="", headers=headers, body=body, route_key=f"POST {path}"
    )


def post_webhook(rt: Runtime, body: bytes, **sign: Any) -> dict[str, Any]:
    return dispatch(rt, webhook_event(body, signed_headers(rt, body, **sign)))


def form_event(
    fields: dict[str, str] | bytes,
    *,
    origin: str | None = ORIGIN,
    referer: str | None = None,
    accept: str = "application/json",
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, Any]:
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    headers = {"host": HOST, "x-forwarded-proto": "http", "content-type": content_type, "accept": accept}
    if origin is not None:
        headers["origin"] = origin
    if referer is not None:
        headers["referer"] = referer
    return api_gateway_event(
        method="POST",
        path=FORM_PATH,
        query="",
        headers=headers,
        body=body,
        route_key=f"POST {FORM_PATH}",
    )


def body_of(result: dict[str, Any]) -> Any:
    return json.loads(result["body"])


def queue_depth(rt: Runtime) -> int:
    attrs = rt.aws("sqs").get_queue_attributes(
        QueueUrl=rt.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def receive_all(rt: Runtime) -> list[dict[str, Any]]:
    got = rt.aws("sqs").receive_message(
        QueueUrl=rt.queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    messages: list[dict[str, Any]] = got.get("Messages", [])
    return messages


def assert_refused(rt: Runtime, result: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert result["statusCode"] == status, result
    assert result["headers"]["content-type"] == "application/json"
    body: dict[str, Any] = body_of(result)
    assert body["error"] == code, body
    assert queue_depth(rt) == 0
    return body


# --- accepted --------------------------------------------------------------------------------------


def test_signed_webhook_is_queued_as_one_envelope(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    result = post_webhook(rt, body, msg_id="msg_accept_1")

    assert result["statusCode"] == 202
    assert body_of(result) == {"id": "msg_accept_1", "ids": ["msg_accept_1"]}
    messages = receive_all(rt)
    assert len(messages) == 1
    envelope = Envelope.model_validate_json(messages[0]["Body"])
    assert envelope.v == ENVELOPE_VERSION
    assert envelope.integration == NAME
    assert envelope.trigger == "webhook"
    assert envelope.event_id == "msg_accept_1"
    assert envelope.type == "form.submitted"
    assert envelope.data["email"] == "priya.raman@northwind-traders.example"
    assert envelope.data["first_name"] == "Priya"
    assert envelope.data["last_name"] == "Raman"
    assert envelope.data["source"] == "website_webhook"
    attributes = {k: v["StringValue"] for k, v in messages[0]["MessageAttributes"].items()}
    assert attributes == {"event_id": "msg_accept_1", "trigger": "webhook", "type": "form.submitted"}
    assert queue_depth(rt) == 1  # the one just received, now in flight; nothing else


def test_a_sender_that_wants_200_gets_200_with_the_same_ids_and_refusals_stay_json(
    make_runtime: Any,
) -> None:
    """``accepted_status=200`` (Slack's interactivity asks for "HTTP 200 OK"): only the status of a
    delivery taken changes; its body and every refusal are as for any sender."""
    spec = load_spec(NAME)
    taken = dataclasses.replace(webhook_trigger_of(spec), accepted_status=200)
    triggers = tuple(taken if t.name == taken.name else t for t in spec.triggers)
    rt: Runtime = make_runtime(NAME, spec=dataclasses.replace(spec, triggers=triggers))
    body = json.dumps(LEAD).encode()
    result = post_webhook(rt, body, msg_id="msg_accept_200")
    assert result["statusCode"] == 200
    assert body_of(result) == {"id": "msg_accept_200", "ids": ["msg_accept_200"]}
    assert len(receive_all(rt)) == 1
    forged = "whsec_" + base64.b64encode(b"not the shared secret at all").decode()
    result = post_webhook(rt, body, msg_id="msg_forged_200", secret=forged)
    assert result["statusCode"] == 401 and body_of(result)["error"] == "invalid_signature"
    with pytest.raises(ValueError, match="accepted_status must be 200 or 202"):
        dataclasses.replace(taken, accepted_status=201)  # type: ignore[arg-type]


def webhook_trigger_of(spec: IntegrationSpec) -> WebhookTrigger:
    trigger = spec.trigger("webhook")
    assert isinstance(trigger, WebhookTrigger)
    return trigger


def test_base64_encoded_body_is_accepted(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    event = webhook_event(body, signed_headers(rt, body, msg_id="msg_b64"))
    assert event["isBase64Encoded"] is False
    event["body"] = base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = True

    result = dispatch(rt, event)

    assert result["statusCode"] == 202
    assert body_of(result)["id"] == "msg_b64"
    messages = receive_all(rt)
    assert len(messages) == 1
    assert Envelope.model_validate_json(messages[0]["Body"]).event_id == "msg_b64"


def test_invalid_base64_is_malformed(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    event = webhook_event(body, signed_headers(rt, body))
    event["body"] = "not base64 !!"
    event["isBase64Encoded"] = True
    assert_refused(rt, dispatch(rt, event), 400, "malformed_payload")


def test_html_form_post_is_accepted_with_cors_headers(rt: Runtime) -> None:
    result = dispatch(rt, form_event(FORM))

    assert result["statusCode"] == 202
    assert result["headers"]["access-control-allow-origin"] == ORIGIN
    event_id = body_of(result)["id"]
    assert event_id.startswith("sha256-")
    messages = receive_all(rt)
    assert len(messages) == 1
    envelope = Envelope.model_validate_json(messages[0]["Body"])
    assert envelope.event_id == event_id
    assert envelope.trigger == "form"
    assert envelope.data["first_name"] == "Tomás"
    assert envelope.data["last_name"] == "O'Neill"
    assert envelope.data["phone"] == "0871234567"
    assert envelope.data["consent"] is True


def test_form_post_with_only_a_referer_is_accepted(rt: Runtime) -> None:
    result = dispatch(rt, form_event(FORM, origin=None, referer=ORIGIN + "/contact?x=1"))
    assert result["statusCode"] == 202
    assert queue_depth(rt) == 1


def test_plain_html_form_is_redirected_to_the_thank_you_page(make_runtime: Any) -> None:
    spec_settings = json.loads(local_settings(make_runtime(NAME).spec))
    thanks = "https://www.bramble-bakery.example/thanks"
    rt = make_runtime(NAME, settings_json=json.dumps({**spec_settings, "thank_you_url": thanks}))

    result = dispatch(rt, form_event(FORM, accept="text/html,application/xhtml+xml,*/*;q=0.8"))

    assert result["statusCode"] == 303
    assert result["headers"]["location"] == thanks
    assert result["body"] == ""
    assert queue_depth(rt) == 1  # queued before redirecting


def test_json_answer_when_no_thank_you_url_is_set(rt: Runtime) -> None:
    result = dispatch(rt, form_event(FORM, accept="text/html"))
    assert result["statusCode"] == 202
    assert "location" not in result["headers"]


# --- refused: size, type ---------------------------------------------------------------------------


def test_body_over_256_kib_is_413_naming_the_limit(rt: Runtime) -> None:
    body = b"{" + b" " * DEFAULT_MAX_BODY_BYTES + b"}"
    body_json = assert_refused(rt, post_webhook(rt, body), 413, "payload_too_large")
    assert body_json["limit_bytes"] == 262144
    assert "262144" in body_json["message"]
    assert str(len(body)) in body_json["message"]


def test_body_of_exactly_256_kib_is_not_too_large(rt: Runtime) -> None:
    # Exactly at the limit passes the size check (and then fails later for another reason).
    body = b"[" + b" " * (DEFAULT_MAX_BODY_BYTES - 2) + b"]"
    assert len(body) == DEFAULT_MAX_BODY_BYTES
    assert_refused(rt, post_webhook(rt, body), 400, "malformed_payload")


def test_wrong_content_type_is_415(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    headers["content-type"] = "text/plain"
    result = assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 415, "unsupported_media_type")
    assert "text/plain" in result["message"]
    assert "application/json" in result["message"]


def test_json_content_type_with_charset_is_accepted(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    headers["content-type"] = "Application/JSON; charset=utf-8"
    assert dispatch(rt, webhook_event(body, headers))["statusCode"] == 202


# --- refused: authenticity -------------------------------------------------------------------------


def test_forged_signature_is_401(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    forged = "whsec_" + base64.b64encode(b"not the shared secret at all").decode()
    assert_refused(rt, post_webhook(rt, body, secret=forged), 401, "invalid_signature")


def test_tampered_body_is_401(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    tampered = body.replace(b"Priya", b"Mallory")
    assert_refused(rt, dispatch(rt, webhook_event(tampered, headers)), 401, "invalid_signature")


def test_stale_timestamp_is_401(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    result = assert_refused(rt, post_webhook(rt, body, now=time.time() - 600), 401, "stale_signature")
    assert "at most 300 s" in result["message"]


def test_future_timestamp_is_401(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    assert_refused(rt, post_webhook(rt, body, now=time.time() + 600), 401, "stale_signature")


@pytest.mark.parametrize("header", ["webhook-signature", "webhook-id", "webhook-timestamp"])
def test_missing_signature_header_is_401(rt: Runtime, header: str) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    del headers[header]
    result = assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 401, "missing_signature")
    assert header in result["message"]


def test_doubled_signature_header_is_401(rt: Runtime) -> None:
    # API Gateway joins a repeated header with ","; two valid signatures still mean a doubled header.
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    headers["webhook-signature"] = f"{headers['webhook-signature']},{headers['webhook-signature']}"
    result = assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 401, "missing_signature")
    assert "more than once" in result["message"]


def test_doubled_timestamp_header_is_401(rt: Runtime) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    headers["webhook-timestamp"] = f"{headers['webhook-timestamp']},{headers['webhook-timestamp']}"
    assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 401, "missing_signature")


def test_signature_under_the_previous_secret_is_accepted_during_rotation(rt: Runtime, aws: Any) -> None:
    trigger = webhook_trigger(rt)
    old = signing_secrets(rt, trigger.secret)[0]
    new = "whsec_" + base64.b64encode(b"the brand new rotated secret").decode()
    store_value(rt, trigger.secret, {"secret": new, "previous_secret": old})
    body = json.dumps(LEAD).encode()
    assert post_webhook(rt, body, msg_id="msg_old", secret=old)["statusCode"] == 202
    assert post_webhook(rt, body, msg_id="msg_new", secret=new)["statusCode"] == 202
    assert queue_depth(rt) == 2


def test_the_signing_secret_is_verified_from_its_ssm_parameter(rt: Runtime, aws: Any) -> None:
    """The webhook's signing secret is an SSM SecureString parameter (no Secrets Manager secret): a
    delivery signed with the parameter's value is taken, one signed with anything else refused."""
    trigger = webhook_trigger(rt)
    name = f"/switchboard/{rt.stage}/{trigger.secret.name}"
    key = "whsec_" + base64.b64encode(b"a key kept in parameter store").decode()
    ssm = aws.client("ssm")
    ssm.put_parameter(Name=name, Value=json.dumps({"secret": key}), Type="SecureString", Overwrite=True)
    assert ssm.get_parameter(Name=name)["Parameter"]["Type"] == "SecureString"
    sm = aws.client("secretsmanager")
    with pytest.raises(sm.exceptions.ResourceNotFoundException):
        sm.get_secret_value(SecretId=rt.secret_prefix + trigger.secret.name)
    body = json.dumps(LEAD).encode()
    other = "whsec_" + base64.b64encode(b"not the parameter's value").decode()
    assert_refused(rt, post_webhook(rt, body, msg_id="msg_other", secret=other), 401, "invalid_signature")
    assert post_webhook(rt, body, msg_id="msg_ssm", secret=key)["statusCode"] == 202
    assert queue_depth(rt) == 1


def test_deleted_signing_secret_fails_closed_with_500(rt: Runtime, aws: Any) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)  # signed while the secret still existed
    trigger = webhook_trigger(rt)
    delete_value(rt, trigger.secret)
    result = assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 500, "missing_secret")
    assert result == {
        "error": "missing_secret",
        "message": "server misconfigured; the operator was alerted",
        "request_id": result["request_id"],  # the refusal's id (shared/refused.py)
    }
    assert result["request_id"].startswith("req_")


@pytest.mark.parametrize("value", [{"secret": ""}, {"secret": "", "previous_secret": ""}, {"other": "x"}])
def test_empty_signing_secret_fails_closed_with_500(rt: Runtime, aws: Any, value: dict[str, str]) -> None:
    body = json.dumps(LEAD).encode()
    headers = signed_headers(rt, body)
    trigger = webhook_trigger(rt)
    store_value(rt, trigger.secret, value)
    assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 500, "missing_secret")


def test_unsigned_request_with_a_deleted_secret_is_still_500_not_401(rt: Runtime, aws: Any) -> None:
    # The secret is checked before the request: a missing secret never hides behind a 401.
    trigger = webhook_trigger(rt)
    delete_value(rt, trigger.secret)
    body = json.dumps(LEAD).encode()
    headers = {"host": HOST, "x-forwarded-proto": "http", "content-type": "application/json"}
    assert_refused(rt, dispatch(rt, webhook_event(body, headers)), 500, "missing_secret")


# --- refused: browser form origin ------------------------------------------------------------------


def test_form_from_a_foreign_origin_is_403(rt: Runtime) -> None:
    result = assert_refused(
        rt, dispatch(rt, form_event(FORM, origin="https://evil.example")), 403, "forbidden_origin"
    )
    assert "https://evil.example" in result["message"]


def test_form_with_a_foreign_referer_is_403(rt: Runtime) -> None:
    event = form_event(FORM, origin=None, referer="https://evil.example/page")
    assert_refused(rt, dispatch(rt, event), 403, "forbidden_origin")


@pytest.mark.parametrize("origin", [None, "null"])
def test_form_without_origin_or_referer_is_403(rt: Runtime, origin: str | None) -> None:
    result = assert_refused(rt, dispatch(rt, form_event(FORM, origin=origin)), 403, "forbidden_origin")
    assert "no Origin or Referer" in result["message"]


def test_honeypot_spam_is_answered_202_and_dropped(rt: Runtime) -> None:
    result = dispatch(rt, form_event({**FORM, "website": "http://cheap-pills.example"}))
    assert result["statusCode"] == 202
    assert body_of(result)["id"].startswith("sha256-")
    assert queue_depth(rt) == 0


def test_multipart_form_post_is_accepted(rt: Runtime) -> None:
    boundary = "----switchboardtest"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in FORM.items()
    ]
    body = ("".join(parts) + f"--{boundary}--\r\n").encode()
    event = form_event(body, content_type=f"multipart/form-data; boundary={boundary}")
    result = dispatch(rt, event)
    assert result["statusCode"] == 202, body_of(result)
    assert queue_depth(rt) == 1


def test_multipart_file_upload_is_refused(rt: Runtime) -> None:
    boundary = "----switchboardtest"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\njo@example.com\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="cv"; filename="cv.pdf"\r\n'
        f"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--{boundary}--\r\n"
    ).encode()
    result = dispatch(rt, form_event(body, content_type=f"multipart/form-data; boundary={boundary}"))
    assert result["statusCode"] == 415
    assert body_of(result)["message"] == "file uploads are not accepted (field 'cv')"
    assert queue_depth(rt) == 0


# --- refused: parsing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        pytest.param(b'{"type": "form.submitted", "x": "\xff\xfe"}', "not valid UTF-8", id="invalid-utf8"),
        pytest.param(b'{"type": "form.submitted",', "not valid JSON", id="invalid-json"),
        pytest.param(b"[1, 2, 3]", "must be a JSON object, not list", id="array"),
        pytest.param(b'"just a string"', "must be a JSON object, not str", id="string"),
        pytest.param(b'{"type": NaN}', "NaN is not valid JSON", id="nan"),
        pytest.param(b'{"type": Infinity}', "Infinity is not valid JSON", id="infinity"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, "nested too deeply", id="deeply-nested"),
        pytest.param(b'{"n": ' + b"7" * 5000 + b"}", "not valid JSON", id="5000-digits"),
        pytest.param(b"", "not valid JSON", id="empty"),
    ],
)
def test_malformed_body_is_400(rt: Runtime, body: bytes, fragment: str) -> None:
    result = assert_refused(rt, post_webhook(rt, body), 400, "malformed_payload")
    assert fragment in result["message"]


def test_invalid_utf8_body_is_400_in_a_form_too(rt: Runtime) -> None:
    assert_refused(rt, dispatch(rt, form_event(b"name=\xff&email=a")), 400, "malformed_payload")


def test_invalid_form_field_is_400_naming_the_field_without_the_value(rt: Runtime) -> None:
    bad = "definitely-not-an-email"
    result = assert_refused(rt, dispatch(rt, form_event({**FORM, "email": bad})), 400, "invalid_payload")
    assert [e["field"] for e in result["errors"]] == ["email"]
    assert result["message"] == "invalid field(s): email"
    assert "is not a valid email address" in result["errors"][0]["message"]
    assert bad not in json.dumps(result)


def test_invalid_webhook_field_is_400_naming_the_nested_field_without_the_value(rt: Runtime) -> None:
    bad_phone = "call me maybe 555"
    lead = {**LEAD, "data": {**LEAD["data"], "email": "nope", "phone": bad_phone}}  # type: ignore[dict-item]
    result = assert_refused(rt, post_webhook(rt, json.dumps(lead).encode()), 400, "invalid_payload")
    assert sorted(e["field"] for e in result["errors"]) == ["data.email", "data.phone"]
    text = json.dumps(result)
    assert bad_phone not in text
    assert '"nope"' not in text


def test_missing_required_field_is_400(rt: Runtime) -> None:
    fields = {k: v for k, v in FORM.items() if k != "email"}
    result = assert_refused(rt, dispatch(rt, form_event(fields)), 400, "invalid_payload")
    assert [e["field"] for e in result["errors"]] == ["email"]


# --- refused: the queue, the route -----------------------------------------------------------------


def test_queue_unavailable_is_503_with_retry_after(make_runtime: Any) -> None:
    rt = make_runtime(NAME)
    missing = rt.queue_url.rsplit("/", 1)[0] + "/switchboard-test-no-such-queue"
    broken = make_runtime(NAME, queue_url=missing)
    body = json.dumps(LEAD).encode()

    result = dispatch(broken, webhook_event(body, signed_headers(broken, body)))

    assert result["statusCode"] == 503
    assert result["headers"]["retry-after"] == "5"
    assert body_of(result)["error"] == "queue_unavailable"
    assert queue_depth(rt) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/hooks/nothing_here"), ("GET", WEBHOOK_PATH), ("POST", WEBHOOK_PATH + "/extra")],
)
def test_unknown_route_is_404(rt: Runtime, method: str, path: str) -> None:
    body = json.dumps(LEAD).encode()
    event = api_gateway_event(
        method=method,
        path=path,
        query="",
        headers=signed_headers(rt, body),
        body=body,
        route_key="",
    )
    result = assert_refused(rt, dispatch(rt, event), 404, "not_found")
    assert path in result["message"]


def test_route_key_picks_the_trigger(rt: Runtime) -> None:
    # The same path template with API Gateway's routeKey: the tally trigger refuses an unsigned body.
    trigger = rt.spec.trigger("tally")
    assert isinstance(trigger, WebhookTrigger)
    event = api_gateway_event(
        method="POST",
        path=trigger.path,
        query="",
        headers={"host": HOST, "content-type": "application/json"},
        body=b"{}",
        route_key=f"POST {trigger.path}",
    )
    assert_refused(rt, dispatch(rt, event), 401, "missing_signature")


def test_form_trigger_has_the_expected_defaults(rt: Runtime) -> None:
    trigger = rt.spec.trigger("form")
    assert isinstance(trigger, FormTrigger)
    assert trigger.honeypot == "website"
    assert trigger.max_body_bytes == 256 * 1024


# --- the ingress path's imports --------------------------------------------------------------------

_COLD_START_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        sqs = session.client("sqs")
        queue = sqs.create_queue(QueueName="q")["QueueUrl"]
        dlq = sqs.create_queue(QueueName="q-dlq")["QueueUrl"]
        secret = "whsec_" + __import__("base64").b64encode(b"subprocess signing key").decode()
        session.client("ssm").put_parameter(
            Name="/switchboard/t/website_to_crm_signing", Value=json.dumps({"secret": secret}),
            Type="SecureString",
        )

        from shared.entry import dispatch
        from shared.runtime import Runtime
        from functions.website_to_crm.spec import SPEC
        from infra.local.gateway import api_gateway_event

        rt = Runtime(spec=SPEC, stage="t", queue_url=queue, dlq_url=dlq, table="t", bus="b",
                     secret_prefix="switchboard/t/", secret_max_age_s=0)
        body = json.dumps(%(lead)r).encode()
        trigger = SPEC.trigger("webhook")
        headers = {"host": "h.test", "x-forwarded-proto": "http", "content-type": "application/json"}
        headers.update(trigger.verifier.sign(method="POST", url="http://h.test/hooks/website_to_crm",
                                             body=body, secret=secret, now=time.time(), msg_id="msg_sub"))
        event = api_gateway_event(method="POST", path="/hooks/website_to_crm", query="", headers=headers,
                                  body=body, route_key="POST /hooks/website_to_crm")
        result = dispatch(rt, event)
        depth = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
        forbidden = ["httpx", "shared.http", "shared.worker", "shared.ledger",
                     "aws_lambda_powertools.utilities.idempotency"]
        print(json.dumps({
            "status": result["statusCode"],
            "queued": int(depth["Attributes"]["ApproximateNumberOfMessages"]),
            "imported": [m for m in forbidden if m in sys.modules],
            "entry": "shared.entry" in sys.modules,
        }))
    """
)


def test_ingress_path_does_not_import_the_worker_path() -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "PYTHONPATH": str(REPO),
    }
    script = _COLD_START_SCRIPT % {"lead": LEAD}
    outcome = python_child(script, env=env)
    assert outcome == {"status": 202, "queued": 1, "imported": [], "entry": True}


def test_uuid_ids_are_accepted_as_event_ids(rt: Runtime) -> None:
    msg_id = f"msg_{uuid.uuid4().hex}"
    result = post_webhook(rt, json.dumps(LEAD).encode(), msg_id=msg_id)
    assert body_of(result)["ids"] == [msg_id]


def test_array_bodies_are_accepted_only_by_list_root_models() -> None:
    from pydantic import BaseModel, RootModel

    from shared.errors import MalformedPayload
    from shared.ingress import _parse, _shape

    class Event(BaseModel):
        eventId: int

    class Events(RootModel[list[Event]]):
        pass

    assert _shape(Events) is list
    assert _shape(Event) is dict
    assert _parse(b'[{"eventId": 1}]', "application/json", shape=_shape(Events)) == [{"eventId": 1}]
    with pytest.raises(MalformedPayload, match="body must be a JSON array, not dict"):
        _parse(b'{"eventId": 1}', "application/json", shape=list)
    with pytest.raises(MalformedPayload, match="body must be a JSON object, not list"):
        _parse(b"[1]", "application/json", shape=dict)


def test_a_form_carrying_a_json_document_needs_its_field_and_a_form_content_type() -> None:
    """``form_json_field`` (Slack's ``payload=<JSON>``): the field is the document; without it the form
    is malformed, and a trigger that takes no form cannot declare one."""
    from apps import slack
    from apps.slack.interactivity import InteractionForm
    from shared.errors import MalformedPayload
    from shared.ingress import _form_json

    with pytest.raises(MalformedPayload, match="no single 'payload' field"):
        _form_json({"other": "{}"}, "payload")
    with pytest.raises(MalformedPayload, match="no single 'payload' field"):
        _form_json({"payload": ["{}", "{}"]}, "payload")
    assert _form_json({"payload": '{"type": "block_actions"}'}, "payload") == {
        "payload": {"type": "block_actions"}
    }
    with pytest.raises(ValueError, match="form_json_field needs a form content type"):
        WebhookTrigger(
            name="slack",
            path="/hooks/x/slack",
            verifier=slack.VERIFIER,
            secret=slack.SIGNING,
            model=InteractionForm,
            accept=lambda payload, request: [],
            form_json_field="payload",
        )
