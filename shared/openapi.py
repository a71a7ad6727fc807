"""An OpenAPI 3.1 document of every HTTP route, generated from the specs.

Webhook routes carry their payload model as the request body and their signature scheme as a
security scheme (the headers a sender must add); form routes their form fields; synchronous routes
their path parameters. Every route documents the answers the ingress path gives - 202 with the
event ids, or the JSON error of :mod:`shared.errors` - so a client, a fuzzer (schemathesis) or an AI
assistant sees the same contract the code enforces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, RootModel
from pydantic.json_schema import models_json_schema

from shared.spec import FormTrigger, IntegrationSpec, RouteTrigger, WebhookTrigger

__all__ = ["OPENAPI_VERSION", "openapi_document"]

OPENAPI_VERSION = "3.1.0"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\+?\}")

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "machine-readable code (shared/errors.py)"},
        "message": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "one entry per invalid field (invalid_payload)",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
        "limit_bytes": {"type": "integer"},
    },
}
_ACCEPTED = {
    "type": "object",
    "required": ["id", "ids"],
    "properties": {
        "id": {"type": ["string", "null"], "description": "the (first) event id; the idempotency key"},
        "ids": {"type": "array", "items": {"type": "string"}},
    },
}
_WHY = {
    "400": "malformed body (not UTF-8 / JSON / form encoding) or invalid fields (named in errors[])",
    "401": "signature missing, wrong, or outside the timestamp tolerance",
    "403": "form posted from an origin not on the allow-list",
    "404": "not found",
    "405": "method not allowed",
    "413": "body larger than the route accepts",
    "415": "content type the route does not accept",
    "500": "server misconfigured (e.g. signing secret not set); the operator is alerted",
    "502": "the target refused the request",
    "503": "temporarily unavailable; retry after Retry-After seconds",
}


def _error_responses(codes: Iterable[str]) -> dict[str, Any]:
    return {
        code: {
            "description": _WHY[code],
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for code in codes
    }


def _body_models(specs: Iterable[IntegrationSpec]) -> list[type[BaseModel]]:
    seen: dict[int, type[BaseModel]] = {}
    for spec in specs:
        for t in spec.http_triggers:
            if isinstance(t, WebhookTrigger | FormTrigger):
                seen.setdefault(id(t.model), t.model)
    return list(seen.values())


def openapi_document(
    specs: Iterable[IntegrationSpec], *, server_url: str | None = None, version: str = "0.1.0"
) -> dict[str, Any]:
    specs = tuple(specs)
    models = _body_models(specs)
    refs, top = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = {"Error": _ERROR, "Accepted": _ACCEPTED, **top.get("$defs", {})}
    security_schemes: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}

    for spec in specs:
        for trigger in spec.http_triggers:
            operation: dict[str, Any] = {
                "operationId": f"{spec.name}__{trigger.name}",
                "tags": [spec.name],
                "summary": trigger.description or spec.description,
            }
            params = _PARAM.findall(trigger.path)
            if params:
                operation["parameters"] = [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params
                ]
            if isinstance(trigger, RouteTrigger):
                operation["responses"] = {
                    "200": {"description": "the answer", "content": {"application/json": {"schema": {}}}},
                    **_error_responses(("400", "401", "403", "404", "502", "503")),
                }
            else:
                schema = refs[(trigger.model, "validation")]
                if isinstance(trigger, FormTrigger) and trigger.honeypot:
                    schema = {
                        "allOf": [schema],
                        "properties": {
                            trigger.honeypot: {"type": "string", "description": "honeypot: leave empty"}
                        },
                    }
                operation["requestBody"] = {
                    "required": True,
                    "content": {ct: {"schema": schema} for ct in trigger.content_types},
                }
                accepted = {
                    "description": "accepted: durable in the queue; processed at most once per event id",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
                }
                codes = ["400", "413", "415", "500", "503"]
                if isinstance(trigger, WebhookTrigger):
                    codes.insert(1, "401")
                    name = _security_scheme(trigger, security_schemes)
                    operation["security"] = [{name: []}]
                    if issubclass(trigger.model, RootModel):
                        operation["description"] = (
                            "The body is a JSON array of events; each is queued on its own."
                        )
                else:
                    codes.insert(1, "403")
                    operation["responses"] = {"303": {"description": "redirect to the thank-you page"}}
                operation["responses"] = {
                    **operation.get("responses", {}),
                    "202": accepted,
                    **_error_responses(sorted(codes)),
                }
            paths.setdefault(trigger.path, {})[trigger.method.lower()] = operation

    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Switchboard",
            "version": version,
            "description": "Webhook, form and synchronous routes of every integration, generated from the specs.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document


def _security_scheme(trigger: WebhookTrigger, schemes: dict[str, Any]) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", trigger.verifier.scheme)
    headers = trigger.verifier.signature_headers()
    schemes.setdefault(
        name,
        {
            "type": "apiKey",
            "in": "header",
            "name": next((h for h in headers if "signature" in h), headers[0]),
            "description": f"{trigger.verifier.scheme} signature; the sender sends: {', '.join(headers)}",
        },
    )
    return name
