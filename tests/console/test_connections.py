"""The Connections page over a running local runtime that an operator has half broken: each problem
on its row with the command that fixes it, and the webhook registrations asked only on request.

Broken the way test_doctor breaks it: Slack's required ``token`` emptied, the QuickBooks connection
revoked after a sale was booked with a freshly refreshed token (the next sale dead-letters
``connection_revoked``), and pos_to_accounting's subscriptions removed at Square and Stripe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.console import connections
from infra.console.server import ConsoleServer
from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from infra.ops.target import Target, resolve
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

POS = load_spec("pos_to_accounting")


def row(page: str, testid: str, key: str, value: str) -> str:
    found = re.search(
        rf'<tr data-testid="{testid}" data-{key}="{re.escape(value)}"[^>]*>(.*?)</tr>', page, re.S
    )
    assert found is not None, (value, page[:4000])
    return found.group(0)


def sell(rt: LocalRuntime, name: str) -> None:
    """``events/pos_to_accounting/<name>`` as Square sends it, after queueing its faults."""
    sample = load_sample(EVENTS_DIR / "pos_to_accounting" / name, POS)
    for app, faults in sample.faults.items():
        for fault in faults:
            httpx.post(f"{rt.url}/_sandbox/{app}/_faults", json=fault, timeout=10).raise_for_status()
    url, headers, body = build_request(POS, sample, rt.url, rt.signing_secret(POS, sample.trigger))
    answer = httpx.post(url, headers=headers, content=body, timeout=15)
    assert answer.status_code == 202, answer.text
    assert rt.wait_drained(60)


@pytest.fixture
def broken(runtime: LocalRuntime, cli: Any, tmp_path: Path) -> Target:
    target = resolve(None, state_file=tmp_path / ".switchboard" / "local.json")
    secrets = target.client("secretsmanager")
    name = target.secret_name("slack")
    slack = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps(slack | {"token": ""}))
    sell(runtime, "square_payment_completed.json")  # booked: the worker refreshed QuickBooks' token
    sell(runtime, "square_payment_quickbooks_revoked.json")  # then the refresh answers invalid_grant
    assert cli("webhooks", "remove", "pos_to_accounting").returncode == 0
    return target


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each time the console asks the providers for their webhook subscriptions."""
    calls: list[str] = []
    original = connections.webhook_views

    def counted(target: Target) -> list[connections.WebhookView]:
        calls.append(target.stage)
        return original(target)

    monkeypatch.setattr(connections, "webhook_views", counted)
    return calls


@pytest.fixture
def client(broken: Target) -> Iterator[httpx.Client]:
    with (
        ConsoleServer(broken, port=0) as server,
        httpx.Client(base_url=server.url, timeout=60) as browser,
    ):
        assert browser.get(f"/?token={server.guard.token}").status_code == 303
        yield browser


def test_each_broken_connection_is_on_its_row_with_its_fix_and_webhooks_wait_for_a_click(
    client: httpx.Client, asked: list[str]
) -> None:
    page = client.get("/connections")
    assert page.status_code == 200, page.text
    assert asked == []  # the providers are not called for the page itself: a click asks them
    assert 'hx-trigger="load"' not in page.text
    button = re.search(r'<button [^>]*id="webhooks-ask"[^>]*>', page.text)
    assert button is not None
    assert 'hx-trigger="click"' in button.group(0) and 'hx-get="/connections?webhooks=1"' in button.group(0)

    slack = row(page.text, "connection-row", "connection", "slack")
    assert 'data-ok="no"' in slack
    assert re.search(r'class="field unset" data-field="token">token: not set<', slack), slack
    assert '<code class="fix">switchboard secrets set slack token=-</code>' in slack

    quickbooks = row(page.text, "connection-row", "connection", "quickbooks")
    assert re.search(r"access token valid until \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z", quickbooks), quickbooks
    assert re.search(r"last refresh or connect \d{4}-\d{2}-\d{2}", quickbooks), quickbooks
    assert "1 event(s) dead-lettered connection_revoked since the last change" in quickbooks
    assert '<code class="fix">switchboard connect quickbooks</code>' in quickbooks
    google = row(page.text, "connection-row", "connection", "google_calendar")
    assert (
        'data-ok="yes"' in google and "connection_revoked" not in google
    )  # one revoked, not every OAuth app

    hooks = client.get("/connections?webhooks=1")
    assert hooks.status_code == 200, hooks.text
    assert asked == ["local"]
    rows = re.findall(r'<tr data-testid="webhook-row" data-state="([^"]+)">(.*?)</tr>', hooks.text, re.S)
    pos = {
        text.split("</td><td>")[1]: (state, text)
        for state, text in rows
        if text.startswith("<td>pos_to_accounting</td>")
    }
    for trigger in ("square", "stripe"):  # removed at the provider: the row says so, and what fixes it
        state, text = pos[trigger]
        assert state == "missing", text
        assert '<code class="fix">switchboard webhooks register pos_to_accounting</code>' in text
    current = [text for state, text in rows if state == "current"]
    assert current and all(">ok</td>" in text for text in current)  # the others untouched, nothing to fix
