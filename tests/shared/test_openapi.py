"""The OpenAPI document: valid OpenAPI 3.1, and it matches the routes that exist."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from shared.openapi import openapi_document
from shared.registry import load_specs
from shared.spec import FormTrigger, RouteTrigger, WebhookTrigger

SPECS = load_specs()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(SPECS, server_url="http://127.0.0.1:8787")


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://127.0.0.1:8787"}]


def _hidden(trigger: Any) -> bool:
    """A route declared only to answer 405 (``GET /mcp``): not an operation, so not documented."""
    from shared.openapi import _route_doc

    doc = _route_doc(trigger) if isinstance(trigger, RouteTrigger) else None
    return doc is not None and doc.hidden


def test_every_route_and_only_routes_that_exist(document: dict[str, Any]) -> None:
    declared = {(t.path, t.method.lower()) for s in SPECS for t in s.http_triggers if not _hidden(t)}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == declared


def test_webhooks_declare_their_signature_and_answers(document: dict[str, Any]) -> None:
    for spec in SPECS:
        for trigger in spec.http_triggers:
            if _hidden(trigger):
                continue
            op = document["paths"][trigger.path][trigger.method.lower()]
            assert op["operationId"] == f"{spec.name}__{trigger.name}"
            if isinstance(trigger, WebhookTrigger):
                [requirement] = op["security"]
                [scheme] = requirement
                header = document["components"]["securitySchemes"][scheme]["name"]
                assert header in trigger.verifier.signature_headers()
                taken = str(trigger.accepted_status)
                assert {taken, "400", "401", "413", "415", "500", "503"} <= set(op["responses"])
                assert set(op["requestBody"]["content"]) == set(trigger.content_types)
            elif isinstance(trigger, FormTrigger):
                assert {"202", "303", "400", "403", "413", "415"} <= set(op["responses"])
                assert "security" not in op
            elif isinstance(trigger, RouteTrigger):
                assert "200" in op["responses"]
                assert [p["name"] for p in op.get("parameters", [])] == [
                    part[1:-1] for part in trigger.path.split("/") if part.startswith("{")
                ]


def test_request_bodies_resolve_to_the_payload_models(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    form = document["paths"]["/forms/website_to_crm"]["post"]["requestBody"]["content"][
        "application/x-www-form-urlencoded"
    ]["schema"]
    assert form["allOf"] == [{"$ref": "#/components/schemas/FormPost"}]
    assert form["properties"]["website"]["type"] == "string"  # the honeypot
    assert "email" in schemas["FormPost"]["required"]
    tally = document["paths"]["/hooks/website_to_crm/tally"]["post"]["requestBody"]["content"][
        "application/json"
    ]
    assert tally["schema"] == {"$ref": "#/components/schemas/TallyWebhook"}


def test_the_mcp_endpoint_is_documented_with_its_bearer_key(document: dict[str, Any]) -> None:
    mcp = document["paths"]["/mcp"]
    assert set(mcp) == {"post"}  # GET and DELETE are declared only to answer 405
    post = mcp["post"]
    assert post["security"] == [{"mcpApiKey": []}]
    scheme = document["components"]["securitySchemes"]["mcpApiKey"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/JsonRpcMessage"
    }
    assert {"200", "202", "400", "401"} <= set(post["responses"])
    assert "www-authenticate" in post["responses"]["401"]["headers"]


def test_every_action_is_a_tool_with_input_and_output_schemas(document: dict[str, Any]) -> None:
    from shared.actions import catalogue

    tools = {t["name"]: t for t in document["x-switchboard-tools"]}
    assert set(tools) == {a.tool_name for a in catalogue()}
    schemas = document["components"]["schemas"]
    for tool in tools.values():
        ref = tool["parameters"]["$ref"].rsplit("/", 1)[1]
        assert ref in schemas and ref.endswith("Input")
        assert ref.removesuffix("Input") + "Output" in schemas
    assert "from_address" not in schemas["EmailSendInput"]["properties"]
    text = str(document)
    assert "#/$defs/" not in text  # every reference resolves inside the document
