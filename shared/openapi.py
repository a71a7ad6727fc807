"""An OpenAPI 3.1 document of every HTTP route, generated from the specs and the action catalogue.

Webhook routes carry their payload model as the request body and their signature scheme as a
security scheme (the headers a sender must add); form routes their form fields; synchronous routes
their path parameters. Every route documents the answers the ingress path gives - 202 (or the
trigger's ``accepted_status``) with the event ids, or the JSON error of :mod:`shared.errors` - so a
client, a fuzzer (schemathesis) or an AI assistant sees the same contract the code enforces.

A synchronous route's handler may describe itself further with an ``openapi`` attribute (a
:class:`RouteDoc`: request body, answers, security): the MCP endpoint does, with its bearer API key
and JSON-RPC messages. The action catalogue (``shared.actions``) goes in as one schema per action's
input and output (``<Action>Input``/``<Action>Output``) and as ``x-switchboard-tools``, the
function-calling definitions an assistant is given - the same ones the MCP endpoint lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, RootModel
from pydantic.json_schema import models_json_schema

from shared.spec import FormTrigger, IntegrationSpec, RouteTrigger, WebhookTrigger, accepted_status

__all__ = ["OPENAPI_VERSION", "RouteDoc", "action_schemas", "openapi_document"]

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
        "request_id": {
            "type": "string",
            "description": "the refused request's id: switchboard trace <request_id> tells why (shared/refused.py)",
        },
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
    "413": "body larger than the route accepts",
    "405": "method not allowed on this path",
    "415": "content type the route does not accept",
    "500": "server misconfigured (e.g. signing secret not set); the operator is alerted",
    "502": "the target refused the request",
    "503": "temporarily unavailable; retry after Retry-After seconds",
}


@dataclass(frozen=True)
class RouteDoc:
    """What a synchronous route's handler says about itself beyond its path (``handler.openapi``).

    ``responses`` and ``request_body`` are OpenAPI objects (``$ref`` to ``#/components/schemas/...``
    allowed); ``schemas`` and ``security_schemes`` are merged into the document's components.
    """

    summary: str = ""
    description: str = ""
    request_body: Mapping[str, Any] | None = None
    responses: Mapping[str, Any] = field(default_factory=dict)
    security: tuple[str, ...] = ()
    security_schemes: Mapping[str, Any] = field(default_factory=dict)
    schemas: Mapping[str, Any] = field(default_factory=dict)
    #: Error statuses answered with the JSON error body (``Error``).
    errors: tuple[str, ...] = ()
    #: Left out of the document: a method declared only to refuse it with a 405 (``GET /mcp``) is
    #: not an operation (a client that follows the document would only ever be refused).
    hidden: bool = False


def _route_doc(trigger: RouteTrigger) -> RouteDoc | None:
    """The handler's :class:`RouteDoc`, if it has one (importing the handler's module, not running it)."""
    from shared.sync import resolve

    try:
        handler = resolve(trigger.handler)
    except (ImportError, AttributeError):
        return None
    doc = getattr(handler, "openapi", None)
    return doc if isinstance(doc, RouteDoc) else None


def _name(action_name: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[._]", action_name))


def action_schemas() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Schemas of every action's input and output, and the function-calling tool definitions."""
    from shared.actions import catalogue

    schemas: dict[str, Any] = {}
    for action in catalogue():
        for suffix, schema in (("Input", action.input_schema()), ("Output", action.output_schema())):
            defs = schema.pop("$defs", {})
            text = _retarget(schema)
            schemas[f"{_name(action.name)}{suffix}"] = text
            for def_name, definition in defs.items():
                schemas.setdefault(def_name, _retarget(definition))
    tools = []
    for action in catalogue():
        schema = action.function_schema()
        schema["parameters"] = {"$ref": f"#/components/schemas/{_name(action.name)}Input"}
        schema["x-action"] = action.name
        schema["x-effect"] = action.effect
        tools.append(schema)
    return schemas, tools


def _retarget(value: Any) -> Any:
    """Pydantic's local ``#/$defs/X`` references, pointed at the document's components."""
    if isinstance(value, dict):
        return {
            k: (
                v.replace("#/$defs/", "#/components/schemas/")
                if k == "$ref" and isinstance(v, str)
                else _retarget(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_retarget(v) for v in value]
    return value


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
            doc = _route_doc(trigger) if isinstance(trigger, RouteTrigger) else None
            if doc is not None and doc.hidden:
                continue
            if doc is not None:
                _apply(doc, operation, schemas, security_schemes)
            elif isinstance(trigger, RouteTrigger):
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
                    str(accepted_status(trigger)): accepted,
                    **_error_responses(sorted(codes)),
                }
            paths.setdefault(trigger.path, {})[trigger.method.lower()] = operation

    action_defs, tools = action_schemas()
    for name, schema in action_defs.items():
        schemas.setdefault(name, schema)
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Switchboard",
            "version": version,
            "description": (
                "Webhook, form and synchronous routes of every integration, and the MCP endpoint, "
                "generated from the specs; x-switchboard-tools lists the actions as function-calling tools."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas, "securitySchemes": security_schemes},
        "x-switchboard-tools": tools,
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


def _apply(
    doc: RouteDoc, operation: dict[str, Any], schemas: dict[str, Any], schemes: dict[str, Any]
) -> None:
    """A handler's own documentation, merged into its operation and the components."""
    for name, schema in doc.schemas.items():
        schemas.setdefault(name, schema)
    for name, scheme in doc.security_schemes.items():
        schemes.setdefault(name, scheme)
    if doc.summary:
        operation["summary"] = doc.summary
    if doc.description:
        operation["description"] = doc.description
    if doc.request_body is not None:
        operation["requestBody"] = dict(doc.request_body)
    if doc.security:
        operation["security"] = [{name: []} for name in doc.security]
    operation["responses"] = {**dict(doc.responses), **_error_responses(doc.errors)}
