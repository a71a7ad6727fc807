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


def test_every_route_and_only_routes_that_exist(document: dict[str, Any]) -> None:
    declared = {(t.path, t.method.lower()) for s in SPECS for t in s.http_triggers}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert documented == declared


def test_webhooks_declare_their_signature_and_answers(document: dict[str, Any]) -> None:
    for spec in SPECS:
        for trigger in spec.http_triggers:
            op = document["paths"][trigger.path][trigger.method.lower()]
            assert op["operationId"] == f"{spec.name}__{trigger.name}"
            if isinstance(trigger, WebhookTrigger):
                [requirement] = op["security"]
                [scheme] = requirement
                header = document["components"]["securitySchemes"][scheme]["name"]
                assert header in trigger.verifier.signature_headers()
                assert {"202", "400", "401", "413", "415", "500", "503"} <= set(op["responses"])
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
