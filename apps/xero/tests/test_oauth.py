"""A Xero connection's tokens through the shared OAuth code (:mod:`shared.oauth`) and the stand-in's
identity server: 30-minute access tokens, HTTP Basic client authentication, rotating refresh tokens
written back to the secret - and the spent refresh token refused, as Xero refuses it."""

from __future__ import annotations

import json
from typing import Any

from apps import xero
from apps.xero.client import XeroClient
from apps.xero.standin import XeroSandbox
from infra.local.resources import sandbox_secret_value
from sandbox.base import SandboxApp
from shared import oauth
from shared.clients import api_client

from .support import token

SANDBOX_URL = "http://sandbox.test/_sandbox"  # the root conftest's


def store_local_connection(aws: Any, rt: Any) -> None:
    """The connection as ``make dev`` stores it (the stand-in's seeded refresh token, its tenant)."""
    secrets = aws.client("secretsmanager")
    name = rt.secret_prefix + xero.CONNECTION.name
    value = sandbox_secret_value(dict(xero.CONNECTION.local), SANDBOX_URL)
    try:
        secrets.create_secret(Name=name, SecretString=value)
    except secrets.exceptions.ResourceExistsException:  # a spec already declares the connection
        secrets.put_secret_value(SecretId=name, SecretString=value)


def _secret(aws: Any, rt: Any) -> dict[str, str]:
    raw = aws.client("secretsmanager").get_secret_value(SecretId=rt.secret_prefix + xero.CONNECTION.name)
    value = json.loads(raw["SecretString"])
    assert isinstance(value, dict)
    return value


def test_refresh_rotates_the_refresh_token_and_writes_it_back(
    make_runtime: Any, sandboxes: dict[str, SandboxApp], aws: Any
) -> None:
    books = sandboxes["xero"]
    assert isinstance(books, XeroSandbox)
    rt = make_runtime("pos_to_accounting")
    store_local_connection(aws, rt)
    seeded = "sandbox-xero-refresh_token"

    first = api_client(rt, xero.APP, xero.CONNECTION)
    stored = _secret(aws, rt)
    assert books.oauth.refresh_calls == 1
    assert stored["refresh_token"] != seeded and stored["refresh_token"] in books.oauth.refresh_tokens
    assert first._http.headers["authorization"] == f"Bearer {stored['access_token']}"
    assert stored["tenant_id"] == xero.LOCAL_TENANT_ID  # the connection's other fields are kept
    # The token works on the API, for the organisation in the secret.
    assert XeroClient(first, stored["tenant_id"]).accounts()

    # A 401 makes the next call refresh: with the rotated token, which rotates again.
    oauth.forget_access_token(rt, xero.CONNECTION, stored["access_token"])
    second = api_client(rt, xero.APP, xero.CONNECTION)
    again = _secret(aws, rt)
    assert books.oauth.refresh_calls == 2
    assert again["refresh_token"] not in (seeded, stored["refresh_token"])
    assert second._http.headers["authorization"] == f"Bearer {again['access_token']}"
    # Spent refresh tokens are refused, as Xero refuses them after rotation.
    assert stored["refresh_token"] in books.oauth.used_refresh_tokens
    assert seeded in books.oauth.used_refresh_tokens


def test_the_token_answer_is_xeros() -> None:
    answer: dict[str, Any] = dict(token(XeroSandbox(limits=False)))
    assert answer["token_type"] == "Bearer" and answer["expires_in"] == 1800
    assert {"access_token", "refresh_token"} <= set(answer) and "x_refresh_token_expires_in" not in answer
