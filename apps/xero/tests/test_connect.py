"""Connecting Xero with a connect link, through the production callback (``functions/oauth_connect``)
on moto and the Xero stand-in: Allow on Xero's consent page, the code exchanged, the organisation read
from ``/connections`` and kept as ``tenant_id`` - or left for the operator when several were ticked."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from apps import xero
from apps.xero.connect import connected_tenant
from apps.xero.standin import XeroSandbox
from functions.oauth_connect.providers import providers
from functions.oauth_connect.tests.consent import FORM_TYPE, consent_form
from infra.local.gateway import api_gateway_event
from infra.local.resources import LocalResources
from infra.ops.connect import make_link
from infra.ops.target import Target
from sandbox.base import SandboxApp, transport_for
from shared.entry import dispatch

from .support import api

HOST = "hooks.example.test"
ORIGIN = f"https://{HOST}"
IRELAND = "9a0b1c2d-0000-4000-8000-000000000001"


@pytest.fixture
def books(sandboxes: dict[str, SandboxApp]) -> XeroSandbox:
    app = sandboxes["xero"]
    assert isinstance(app, XeroSandbox)
    return app


@pytest.fixture
def connect(resources: LocalResources, sandboxes: dict[str, SandboxApp], make_runtime: Any, aws: Any) -> Any:
    """``connect(tenant_before)``: a link made as ``switchboard connect xero`` makes it, followed through the
    stand-in's consent page; the callback's status, page and the secret afterwards."""
    rt = make_runtime("oauth_connect")
    target = Target(stage=resources.stage, region="us-east-1", endpoint="moto (in-process)", gateway=ORIGIN)
    for service in ("secretsmanager", "ssm", "dynamodb"):
        target._clients[service] = aws.client(service)
    secret_id = target.secret_name(xero.CONNECTION.name)
    secrets = aws.client("secretsmanager")

    def secret() -> dict[str, str]:
        value: dict[str, str] = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])
        return value

    def run(tenant_before: str) -> tuple[int, str, dict[str, str]]:
        secrets.put_secret_value(
            SecretId=secret_id, SecretString=json.dumps({**secret(), "tenant_id": tenant_before})
        )
        url = make_link(target, providers()["xero"]).url
        assert parse_qs(urlsplit(url).query)["scope"] == [" ".join(xero.APP.scopes)]
        with httpx.Client(transport=transport_for(sandboxes), timeout=5) as browser:
            page = browser.get(url)
            assert page.status_code == 200, page.text
            post_url, body = consent_form(page.text).submit(url, "allow")
            answer = browser.post(post_url, content=body, headers=FORM_TYPE)
        callback = urlsplit(answer.headers["location"])
        assert callback.path == "/oauth/xero/callback" and "code" in parse_qs(callback.query)
        event = api_gateway_event(
            method="GET",
            path=callback.path,
            query=callback.query,
            headers={"host": HOST, "x-forwarded-proto": "https"},
            body=b"",
            route_key="GET /oauth/{app}/callback",
        )
        result = dispatch(rt, event)
        return int(result["statusCode"]), str(result["body"]), secret()

    return run


def test_the_only_organisation_is_kept_as_the_tenant(connect: Any, books: XeroSandbox) -> None:
    status, page, stored = connect("")
    assert status == 200 and re.search(r'<p class="outcome" hidden>connected</p>', page), page
    assert stored["tenant_id"] == books.tenant_id
    assert stored["refresh_token"].startswith("xero-rt-") and books.oauth.code_grants == 1


def test_with_several_organisations_the_operator_chooses(connect: Any, books: XeroSandbox) -> None:
    books.other_tenants[IRELAND] = "Crumb & Co (Ireland)"
    assert connect("")[2]["tenant_id"] == ""  # nothing guessed
    assert connect(IRELAND)[2]["tenant_id"] == IRELAND  # a reconnect keeps the operator's choice
    assert connect("0000-gone")[2]["tenant_id"] == ""  # ... while it is still connected


def test_the_hook_on_its_own(books: XeroSandbox) -> None:
    assert connected_tenant(api(books), {}) == {"tenant_id": books.tenant_id}
