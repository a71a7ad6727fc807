"""The console's guard: loopback only, an access token exchanged for a strict cookie, CSRF on every
POST, a Content-Security-Policy without inline script, and htmx served from the pinned package.

The console runs over a stage on in-process moto (the ``resources`` fixture: stage ``test``), so these
tests need no local runtime; the pages themselves are tested in test_pages.py and test_stage.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from conftest import REGION
from infra.console.security import COOKIE, CSP, Guard
from infra.console.server import HTMX, ConsoleServer
from infra.local.resources import LocalResources
from infra.ops.target import Target

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("/", "/events", "/dead-letters", "/refused", "/connections", "/flow", "/keys")


@pytest.fixture
def console(resources: LocalResources) -> Iterator[ConsoleServer]:
    with ConsoleServer(Target(stage=resources.stage, region=REGION), port=0) as server:
        yield server


@contextmanager
def logged_in(server: ConsoleServer) -> Iterator[httpx.Client]:
    """A browser that opened the console's URL once (it holds the cookie)."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        answer = client.get(f"/?token={server.guard.token}")
        assert answer.status_code == 303, answer.text
        yield client


def test_it_listens_on_loopback_only(console: ConsoleServer) -> None:
    assert console._server.server_address[0] == "127.0.0.1"
    assert console.url == f"http://127.0.0.1:{console.port}/"


@pytest.mark.parametrize("path", [*PAGES, "/static/htmx.min.js", "/events/website_to_crm/evt_1"])
def test_every_page_needs_the_access_token(console: ConsoleServer, path: str) -> None:
    with httpx.Client(base_url=console.url, timeout=30) as client:
        answer = client.get(path)
        assert answer.status_code == 401
        assert answer.json()["error"] == "unauthorized"
        forged = client.get(path, headers={"Cookie": f"{COOKIE}=not-the-token"})
        assert forged.status_code == 401
        wrong = client.get(f"{path}{'&' if '?' in path else '?'}token=guessed")
        assert wrong.status_code == 401


def test_the_token_becomes_a_strict_cookie_and_leaves_the_address(console: ConsoleServer) -> None:
    with httpx.Client(base_url=console.url, timeout=30) as client:
        answer = client.get(f"/events?window=1h&token={console.guard.token}")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/events?window=1h"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}={console.guard.token};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        page = client.get("/events?window=1h")
        assert page.status_code == 200
        assert console.guard.token not in page.text


def test_tokens_are_random_per_start(resources: LocalResources) -> None:
    tokens = {Guard(8788).token for _ in range(5)}
    assert len(tokens) == 5 and all(len(t) >= 40 for t in tokens)


def test_another_host_is_refused(console: ConsoleServer) -> None:
    with logged_in(console) as client:
        answer = client.get("/", headers={"Host": f"evil.example:{console.port}"})
        assert answer.status_code == 421
        assert answer.json()["error"] == "wrong_host"


def test_a_post_needs_the_csrf_token_and_the_consoles_origin(console: ConsoleServer) -> None:
    with logged_in(console) as client:
        form = {"message_id": "m-1"}
        missing = client.post("/dead-letters/website_to_crm/replay", data=form)
        assert missing.status_code == 403 and missing.json()["error"] == "csrf"
        wrong = client.post("/dead-letters/website_to_crm/replay", data={**form, "csrf": "0" * 64})
        assert wrong.status_code == 403 and wrong.json()["error"] == "csrf"
        foreign = client.post(
            "/dead-letters/website_to_crm/redrive",
            data={"csrf": console.guard.csrf, "count": "1"},
            headers={"Origin": "https://attacker.example"},
        )
        assert foreign.status_code == 403 and foreign.json()["error"] == "cross_origin"
        as_json = client.post(
            "/dead-letters/website_to_crm/redrive",
            content=json.dumps({"csrf": console.guard.csrf, "count": 1}),
            headers={"Content-Type": "application/json"},
        )
        assert as_json.status_code == 415
        searched = client.post("/events", data={"csrf": console.guard.csrf, "q": "evt_1"})
        assert searched.status_code == 200, searched.text


def test_get_cannot_change_anything(console: ConsoleServer) -> None:
    with logged_in(console) as client:
        assert client.get("/dead-letters/website_to_crm/replay").status_code == 405
        assert client.post("/", data={"csrf": console.guard.csrf}).status_code == 405


def test_pages_carry_the_security_headers_and_no_inline_script(console: ConsoleServer) -> None:
    with logged_in(console) as client:
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text)
            assert answer.headers["content-security-policy"] == CSP
            assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["referrer-policy"] == "same-origin"  # no-referrer: forms post Origin null
            assert answer.headers["cache-control"] == "no-store"
            scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", answer.text, flags=re.S)
            assert scripts == [""], (path, scripts)  # htmx's tag, with a src and nothing inside
            assert '<script src="/static/htmx.min.js"' in answer.text
            assert not re.search(r"\son[a-z]+=", answer.text), path  # no inline event handlers
            assert "hx-on" not in answer.text
            assert not re.search(r'(src|href)="(https?:)?//', answer.text), path  # nothing from elsewhere


def test_htmx_is_the_pinned_package_served_from_node_modules(console: ConsoleServer) -> None:
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["htmx.org"]
    locked = json.loads((ROOT / "package-lock.json").read_text())["packages"]["node_modules/htmx.org"]
    assert locked["version"] == pinned and re.fullmatch(r"\d+\.\d+\.\d+", pinned)
    installed = json.loads((HTMX.parent.parent / "package.json").read_text())["version"]
    assert installed == pinned, "node_modules is stale: run `make env`"
    with logged_in(console) as client:
        answer = client.get("/static/htmx.min.js")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/javascript")
        assert answer.content == HTMX.read_bytes()
        assert client.get("/static/../package.json").status_code in (401, 404)
