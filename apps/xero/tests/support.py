"""Helpers the Xero tests share: a stand-in, a token it issued, a client on it (in-process)."""

from __future__ import annotations

import base64
import weakref
from collections.abc import Callable

import httpx

from apps import xero
from apps.xero.client import XeroClient
from apps.xero.standin import XeroSandbox
from sandbox.base import SandboxRequest, as_transport
from shared.http import ApiClient

BASIC = "Basic " + base64.b64encode(b"sandbox-xero-client_id:sandbox-xero-client_secret").decode()


def token(books: XeroSandbox, refresh: str = "sandbox-xero-refresh_token") -> dict[str, str]:
    """A token answer from the stand-in's token endpoint (a refresh-token grant)."""
    res = books.handle(
        SandboxRequest(
            method="POST",
            path="/connect/token",
            headers={"authorization": BASIC, "content-type": "application/x-www-form-urlencoded"},
            body=f"grant_type=refresh_token&refresh_token={refresh}".encode(),
        )
    )
    assert res.status == 200, res.body
    answer = res.parsed()
    assert isinstance(answer, dict)
    return answer


_access: weakref.WeakKeyDictionary[XeroSandbox, str] = weakref.WeakKeyDictionary()


def access_token(books: XeroSandbox) -> str:
    """One access token per stand-in (refresh tokens rotate: the seeded one works once)."""
    if books not in _access:
        _access[books] = token(books)["access_token"]
    return _access[books]


def api(books: XeroSandbox, transport: httpx.BaseTransport | None = None) -> ApiClient:
    credentials = {"access_token": access_token(books), "base_url": "http://xero.test"}
    return ApiClient(xero.APP, credentials, transport=transport or as_transport(books, mount=""))


def client(books: XeroSandbox, transport: httpx.BaseTransport | None = None) -> XeroClient:
    return XeroClient(api(books, transport), books.tenant_id)


def losing_answers(books: XeroSandbox, lose: Callable[[httpx.Request], bool]) -> httpx.MockTransport:
    """A transport whose requests reach the stand-in, but whose answers to ``lose`` never come back:
    the write happened, the caller sees a read timeout (no sleep: the answer is simply dropped)."""
    inner = as_transport(books, mount="")

    def handle(request: httpx.Request) -> httpx.Response:
        response = inner.handle_request(request)
        if lose(request):
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    return httpx.MockTransport(handle)
