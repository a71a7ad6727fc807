"""The ingress path: an API Gateway (HTTP API, payload 2.0) request in, 202 + event id out.

Order matters and is the same for every trigger: size -> content type -> authenticity (signature,
or origin for browser forms) -> parsing -> validation -> enqueue -> 202 (or the trigger's
``accepted_status``: Slack's interactivity wants 200). Every check happens before
anything is queued, and every refusal is a JSON body naming the problem (see :mod:`shared.errors`).
Acknowledging fast is the point: no target is called here.

Cold start matters on this path (webhook senders time out after 3-10 s), so it imports no httpx, no
target clients and no idempotency utility; the worker path imports those lazily.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, RootModel, ValidationError

from shared import inbound, refused, trace
from shared.envelope import Envelope, content_id
from shared.errors import (
    ConfigurationError,
    ForbiddenOrigin,
    IngressError,
    InvalidPayload,
    MalformedPayload,
    PayloadTooLarge,
    QueueUnavailable,
    RouteNotFound,
    SignatureError,
    UnsupportedMediaType,
)
from shared.observability import get_logger, new_metrics
from shared.routes import match_route_key
from shared.spec import Accepted, FormTrigger, RouteTrigger, WebhookTrigger, accepted_status
from shared.webhooks.base import WebhookRequest
from shared.webhooks.signing import verify_webhook

if TYPE_CHECKING:
    from aws_lambda_powertools.metrics import EphemeralMetrics

    from shared.runtime import Runtime

__all__ = ["handle_http", "request_from_event", "response"]

_MAX_FORM_FIELDS = 200


def response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def request_from_event(event: Mapping[str, Any]) -> WebhookRequest:
    """The request as the provider sent it: raw body bytes (base64 undone), lower-case headers, URL."""
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise MalformedPayload("body is marked base64-encoded but is not valid base64") from exc
    else:
        body = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    host = ctx.get("domainName") or headers.get("host", "localhost")
    proto = headers.get("x-forwarded-proto", "https").split(",")[0].strip()
    path = event.get("rawPath") or http.get("path") or "/"
    qs = event.get("rawQueryString") or ""
    return WebhookRequest(
        method=str(http.get("method", "POST")).upper(),
        url=f"{proto}://{host}{path}" + (f"?{qs}" if qs else ""),
        headers=headers,
        body=body,
        query={k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()},
        source_ip=str(http.get("sourceIp", "")),
    )


def handle_http(rt: Runtime, event: Mapping[str, Any], now: float | None = None) -> dict[str, Any]:
    """Answer one API Gateway request: a route's answer, or the webhook/form intake's.

    A webhook whose verifier asks for ``empty_answers`` (Xero's intent-to-receive check) gets the same
    decision with no body: ``200`` where others get ``202`` and their ids, the refusal's status alone.
    """
    holder: list[Any] = []
    answer = _handle_http(rt, event, now, holder)
    trigger = holder[0] if holder else None
    if isinstance(trigger, WebhookTrigger) and getattr(trigger.verifier, "empty_answers", False):
        status = 200 if answer["statusCode"] == 202 else answer["statusCode"]
        return {"statusCode": status, "headers": {}, "body": "", "isBase64Encoded": False}
    return answer


def _handle_http(
    rt: Runtime, event: Mapping[str, Any], now: float | None, holder: list[Any]
) -> dict[str, Any]:
    logger = get_logger(rt.name)
    metrics = new_metrics(rt.name)
    now = time.time() if now is None else now
    route_key = str(event.get("routeKey") or "")
    request: WebhookRequest | None = None
    trigger: Any = None
    try:
        request = request_from_event(event)
        found = match_route_key(rt.spec, route_key, request.path) if route_key else None
        if found is None:
            from shared.routes import match

            found, exists = match([rt.spec], request.method, request.path)
            if found is None:
                raise RouteNotFound(
                    f"no route for {request.method} {request.path}"
                    if not exists
                    else f"{request.method} is not allowed on {request.path}"
                )
        trigger = found.trigger
        holder.append(trigger)
        if isinstance(trigger, RouteTrigger):
            from shared.sync import call_route

            return call_route(rt, trigger, request, found.path_params, logger=logger, metrics=metrics)
        return _accept(rt, trigger, request, now, metrics)
    except IngressError as exc:
        metrics.add_metric(name="Rejected", unit="Count", value=1)
        if isinstance(exc, SignatureError):
            metrics.add_metric(name="SignatureRejected", unit="Count", value=1)
        request_id = refused.new_request_id()
        logger.warning(
            "request refused",
            extra={"status": exc.status, "reason": exc.code, "detail": exc.message, "request_id": request_id},
        )
        _record_refusal(rt, event, request, trigger, request_id, exc.status, exc.code, exc.message, now)
        trace.record(
            rt.name,
            None,
            "rejected",
            status=exc.status,
            reason=exc.code,
            detail=exc.message,
            request_id=request_id,
        )
        extra = {"retry-after": "5"} if exc.status == 503 else None
        return response(exc.status, {**exc.as_dict(), "request_id": request_id}, extra)
    except ConfigurationError as exc:
        # Fail closed and loudly: a missing signing secret must never mean "skip the check".
        metrics.add_metric(name="ConfigurationError", unit="Count", value=1)
        request_id = refused.new_request_id()
        logger.error(
            "configuration error", extra={"reason": exc.code, "detail": exc.message, "request_id": request_id}
        )
        _record_refusal(rt, event, request, trigger, request_id, 500, exc.code, exc.message, now)
        trace.record(
            rt.name, None, "rejected", status=500, reason=exc.code, detail=exc.message, request_id=request_id
        )
        return response(
            500,
            {
                "error": exc.code,
                "message": "server misconfigured; the operator was alerted",
                "request_id": request_id,
            },
        )
    finally:
        metrics.flush_metrics()


def _record_refusal(
    rt: Runtime,
    event: Mapping[str, Any],
    request: WebhookRequest | None,
    trigger: Any,
    request_id: str,
    status: int,
    reason: str,
    detail: str,
    now: float,
) -> None:
    """Keep what an operator needs about a refusal (:mod:`shared.refused`); never fails the answer."""
    body_bytes = None
    if request is None:  # the request itself could not be read (a body marked base64 that is not)
        request = _unreadable(event)
        raw = event.get("body")
        body_bytes = len(raw) if isinstance(raw, str | bytes) else 0
    try:
        refusal = refused.describe(
            rt.name,
            request,
            request_id=request_id,
            status=status,
            reason=reason,
            detail=detail,
            trigger=trigger,
            now=now,
            body_bytes=body_bytes,
        )
    except Exception as exc:  # a request too strange to describe is still answered
        get_logger(rt.name).warning(
            "refusal not recorded", extra={"request_id": request_id, "error": type(exc).__name__}
        )
        return
    refused.record(rt, refusal)


def _unreadable(event: Mapping[str, Any]) -> WebhookRequest:
    """The request's method, path and headers without its body, which could not be decoded."""
    ctx = event.get("requestContext") or {}
    http = ctx.get("http") or {}
    return WebhookRequest(
        method=str(http.get("method", "POST")).upper(),
        url=f"https://localhost{event.get('rawPath') or http.get('path') or '/'}",
        headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
        body=b"",
        source_ip=str(http.get("sourceIp", "")),
    )


def _accept(
    rt: Runtime,
    trigger: WebhookTrigger | FormTrigger,
    request: WebhookRequest,
    now: float,
    metrics: EphemeralMetrics,
) -> dict[str, Any]:
    if len(request.body) > trigger.max_body_bytes:
        raise PayloadTooLarge(len(request.body), trigger.max_body_bytes)
    media_type = (request.header("content-type") or "").split(";")[0].strip().lower()
    if media_type not in trigger.content_types:
        raise UnsupportedMediaType(
            f"content-type {media_type or '(none)'!r} is not accepted here; send {' or '.join(trigger.content_types)}"
        )
    cors: dict[str, str] = {}
    if isinstance(trigger, WebhookTrigger):
        # The signing connection may pin the signed URL, and a just-rotated secret is read fresh.
        verify_webhook(rt, trigger, request, now)
    else:
        cors = _check_origin(rt, trigger, request)

    payload = _parse(request.body, media_type, request.header("content-type") or "", _shape(trigger.model))
    if isinstance(trigger, WebhookTrigger) and trigger.form_json_field is not None:
        payload = _form_json(payload, trigger.form_json_field)
    if isinstance(trigger, FormTrigger) and trigger.honeypot and _filled(payload.get(trigger.honeypot)):
        # Bots fill every field. Answer like a success so they learn nothing, and drop it.
        metrics.add_metric(name="SpamDropped", unit="Count", value=1)
        get_logger(rt.name).info("spam dropped", extra={"trigger": trigger.name, "reason": "honeypot"})
        trace.record(rt.name, None, "spam", trigger=trigger.name)
        fake = content_id(request.body)
        return response(202, {"id": fake, "ids": [fake]}, cors)

    model = _validate(trigger.model, payload)
    accepted = list(trigger.accept(model, request))
    ids = _enqueue(rt, trigger.name, accepted)
    metrics.add_metric(name="Accepted", unit="Count", value=len(ids))
    get_logger(rt.name).info("accepted", extra={"trigger": trigger.name, "event_ids": ids})
    if isinstance(trigger, WebhookTrigger) and ids:
        # The console's story shows the request from this line: a log line, not a DynamoDB write.
        get_logger(rt.name).info(
            inbound.MESSAGE,
            extra={
                "trigger": trigger.name,
                "event_ids": ids,
                "inbound": inbound.describe(trigger, request),
            },
        )
    for event_id in ids:
        trace.record(rt.name, event_id, "queued", trigger=trigger.name)
    redirect = _redirect(rt, trigger, request)
    if redirect:
        return {
            "statusCode": 303,
            "headers": {"location": redirect, **cors},
            "body": "",
            "isBase64Encoded": False,
        }
    return response(accepted_status(trigger), {"id": ids[0] if ids else None, "ids": ids}, cors)


def _filled(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _origin_of(request: WebhookRequest) -> str | None:
    origin = request.header("origin")
    if origin and origin != "null":
        return origin.rstrip("/")
    referer = request.header("referer")
    if referer:
        parts = urlsplit(referer)
        if parts.scheme and parts.netloc:
            return f"{parts.scheme}://{parts.netloc}"
    return None


def _check_origin(rt: Runtime, trigger: FormTrigger, request: WebhookRequest) -> dict[str, str]:
    allowed = getattr(rt.settings, trigger.origins_setting, None)
    if allowed is None:
        raise ConfigurationError(
            f"{rt.name}: settings have no {trigger.origins_setting!r} for the form origin check"
        )
    origin = _origin_of(request)
    if origin is None:
        raise ForbiddenOrigin("form posts must come from a browser page: no Origin or Referer header")
    if origin not in {str(o).rstrip("/") for o in allowed}:
        raise ForbiddenOrigin(f"origin {origin} is not allowed to post this form")
    return {"access-control-allow-origin": origin, "vary": "origin"}


def _shape(model: type[BaseModel]) -> type[dict[str, Any]] | type[list[Any]]:
    """The JSON shape a trigger's model takes: an object, or - for a ``RootModel[list[...]]`` - an array.

    Most providers send one event per request as an object; HubSpot sends an array of events.
    """
    if issubclass(model, RootModel):
        root = model.model_fields["root"].annotation
        if root is list or getattr(root, "__origin__", None) is list:
            return list
    return dict


def _parse(
    body: bytes, media_type: str, content_type: str = "", shape: type[dict[str, Any]] | type[list[Any]] = dict
) -> Any:
    if media_type == "multipart/form-data":
        return _parse_multipart(body, content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedPayload(f"body is not valid UTF-8 (byte {exc.start})") from exc
    if media_type == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(
                text, keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS, strict_parsing=False
            )
        except ValueError as exc:
            raise MalformedPayload(f"form body could not be parsed: {exc}") from exc
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    return _json(text, shape, "body")


def _json(text: str, shape: type[dict[str, Any]] | type[list[Any]], what: str) -> Any:
    """``text`` as JSON of ``shape``, strictly: no NaN or Infinity, bounded nesting and digits."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise MalformedPayload(f"{what}: JSON is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and int strings longer than Python's digit limit
        raise MalformedPayload(f"{what} is not valid JSON: {exc}") from exc
    if not isinstance(value, shape):
        expected = "a JSON array" if shape is list else "a JSON object"
        raise MalformedPayload(f"{what} must be {expected}, not {type(value).__name__}")
    return value


def _form_json(fields: Any, name: str) -> dict[str, Any]:
    """The form's ``name`` field parsed as the JSON document it carries (see ``form_json_field``)."""
    value = fields.get(name) if isinstance(fields, dict) else None
    if not isinstance(value, str):
        raise MalformedPayload(f"form has no single {name!r} field holding the JSON document")
    return {name: _json(value, dict, f"form field {name!r}")}


def _parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Text fields of a ``multipart/form-data`` body (a form with ``enctype="multipart/form-data"``).

    File parts are refused: nothing Switchboard does with a form takes an upload, and accepting one
    would put arbitrary bytes on the queue.
    """
    from email.parser import BytesParser
    from email.policy import HTTP

    if "boundary=" not in content_type:
        raise MalformedPayload("multipart/form-data without a boundary parameter")
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart() or message.defects:
        raise MalformedPayload("multipart/form-data body could not be parsed")
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise MalformedPayload("a multipart part has no name")
        if part.get_filename() is not None:
            raise UnsupportedMediaType(f"file uploads are not accepted (field {name!r})")
        payload = part.get_payload(decode=True) or b""
        if not isinstance(payload, bytes):
            raise MalformedPayload(f"field {name!r} is nested multipart")
        try:
            value = payload.decode(part.get_content_charset() or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise MalformedPayload(f"field {name!r} is not valid text") from exc
        if len(fields) >= _MAX_FORM_FIELDS:
            raise MalformedPayload(f"more than {_MAX_FORM_FIELDS} form fields")
        previous = fields.get(name)
        if previous is None:
            fields[name] = value
        else:
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return fields


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _validate(model: type[BaseModel], payload: Any) -> BaseModel:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        # Field names and reasons only: the rejected values may be personal data.
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
            for e in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidPayload(errors) from exc


def _enqueue(rt: Runtime, trigger: str, accepted: list[Accepted]) -> list[str]:
    """Make the events durable in SQS before answering: only then may we say 202."""
    if not accepted:
        return []
    sqs = rt.aws("sqs")
    entries = [
        {
            "Id": str(i),
            "MessageBody": Envelope.wrap(rt.name, trigger, a).to_message(),
            "MessageAttributes": {
                "event_id": {"DataType": "String", "StringValue": a.event_id},
                "trigger": {"DataType": "String", "StringValue": trigger},
                "type": {"DataType": "String", "StringValue": a.type},
            },
        }
        for i, a in enumerate(accepted)
    ]
    try:
        if len(entries) == 1:
            e = entries[0]
            sqs.send_message(
                QueueUrl=rt.queue_url, MessageBody=e["MessageBody"], MessageAttributes=e["MessageAttributes"]
            )
        else:
            for start in range(0, len(entries), 10):
                result = sqs.send_message_batch(QueueUrl=rt.queue_url, Entries=entries[start : start + 10])
                if result.get("Failed"):
                    raise QueueUnavailable(f"{len(result['Failed'])} event(s) could not be queued; re-send")
    except QueueUnavailable:
        raise
    except Exception as exc:  # botocore errors: the sender must re-send; the event id dedupes
        get_logger(rt.name).error("enqueue failed", extra={"error": type(exc).__name__})
        raise QueueUnavailable("the event could not be queued; re-send later") from exc
    return [a.event_id for a in accepted]


def _redirect(rt: Runtime, trigger: WebhookTrigger | FormTrigger, request: WebhookRequest) -> str | None:
    """Plain HTML forms (no JavaScript) expect a page, not JSON: send them to the thank-you URL."""
    if not isinstance(trigger, FormTrigger) or "text/html" not in (request.header("accept") or ""):
        return None
    url = getattr(rt.settings, "thank_you_url", None)
    return str(url) if url else None
