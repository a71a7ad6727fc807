"""``switchboard send``: a bare provider payload is delivered (signed as its trigger needs), its
messages name the keys a sample needs, and a repeated event is reported as a duplicate.

A real local runtime (moto server, gateway, pollers, stand-ins); the CLI in-process from the folder
that holds the runtime's state file, as a developer runs it beside ``make dev``.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from infra.ops.trace import ledger_key
from shared.ledger import RETENTION_S
from tests.support import REPO

pytestmark = pytest.mark.e2e

EVENTS = REPO / "events"
LEAD = EVENTS / "website_to_crm" / "webhook_lead.json"


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def contacts(rt: LocalRuntime) -> list[str]:
    state = httpx.get(f"{rt.url}/_sandbox/hubspot/_state", timeout=5).json()
    return sorted(c["properties"]["email"] for c in state["contacts"])


def bare(tmp_path: Path, sample: Path) -> Path:
    """The provider's body of ``sample`` alone, as a developer would save it from the provider's docs."""
    path = tmp_path / "my-payload.json"
    path.write_text(json.dumps(json.loads(sample.read_text())["body"]))
    return path


def processed_second(rt: LocalRuntime, event_id: str) -> int:
    table = rt.runtimes["website_to_crm"]
    item = table.aws("dynamodb").get_item(
        TableName=table.table, Key={"id": {"S": ledger_key("website_to_crm", event_id)}}
    )["Item"]
    return int(item["expiration"]["N"]) - RETENTION_S


def test_a_bare_payload_is_signed_and_delivered(runtime: LocalRuntime, cli: Any, tmp_path: Path) -> None:
    payload = bare(tmp_path, LEAD)
    sent = ok(cli("send", "website_to_crm", str(payload), "--trigger", "webhook"))
    assert sent.startswith("202 ") and "Follow it: switchboard trace msg_" in sent
    assert runtime.wait_drained(30)
    assert contacts(runtime) == ["priya.raman@northwind-traders.example"]

    # One HTTP trigger (HubSpot's, with its v3 signature): no --trigger needed.
    hubspot = bare(tmp_path, EVENTS / "new_lead_notify" / "lead_created_new_contact_hubspot_webhook.json")
    assert ok(cli("send", "new_lead_notify", str(hubspot))).startswith("202 ")


def test_messages_name_what_to_give(runtime: LocalRuntime, cli: Any, tmp_path: Path) -> None:
    payload = bare(tmp_path, LEAD)
    several = cli("send", "website_to_crm", str(payload))
    assert several.returncode == 2
    assert "3 triggers (webhook, tally, form): say which with --trigger" in several.stderr
    assert '{"trigger": "<trigger>", "body":' in several.stderr

    unknown = cli("send", "website_to_crm", str(payload), "--trigger", "nope")
    assert unknown.returncode == 2 and "HTTP triggers are webhook, tally, form" in unknown.stderr

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"trigger": "webhook", "expect": "processed"}))
    no_body = cli("send", "website_to_crm", str(broken))
    assert no_body.returncode == 2
    assert "needs 'body' (JSON payload) or 'form'" in no_body.stderr and '"body": {' in no_body.stderr

    text = tmp_path / "form.txt"
    text.write_text("name=Priya&email=priya@example.com")
    not_json = cli("send", "website_to_crm", str(text), "--trigger", "webhook")
    assert not_json.returncode == 2 and "not readable JSON" in not_json.stderr
    assert "send takes the provider's JSON body as it is, or a sample" in not_json.stderr


def test_a_repeated_sample_is_reported_as_a_duplicate_and_fresh_id_sends_it_anew(
    runtime: LocalRuntime, cli: Any
) -> None:
    first = ok(cli("send", "website_to_crm", str(LEAD)))
    assert "duplicate" not in first
    event_id = json.loads(first.splitlines()[1])["id"]
    assert runtime.wait_drained(30)
    # The ledger keeps the second a record was written: re-send from the next one on.
    done_at = processed_second(runtime, event_id)
    for _ in range(40):
        if int(time.time()) > done_at:
            break
        time.sleep(0.05)

    again = ok(cli("send", "website_to_crm", str(LEAD)))
    assert again.startswith("202 ")
    assert f"duplicate: event {event_id} was already received (processed " in again
    assert "nothing was done again (send --fresh-id to send it as a new event)" in again
    assert runtime.wait_drained(30)

    fresh = ok(cli("send", "website_to_crm", str(LEAD), "--fresh-id"))
    assert "duplicate" not in fresh
    assert json.loads(fresh.splitlines()[1])["id"] != event_id


def test_a_duplicate_whose_id_is_in_the_payload_says_to_change_the_payload(
    runtime: LocalRuntime, cli: Any
) -> None:
    tally = EVENTS / "website_to_crm" / "tally_form_response.json"
    event_id = json.loads(ok(cli("send", "website_to_crm", str(tally))).splitlines()[1])["id"]
    assert runtime.wait_drained(30)
    done_at = processed_second(runtime, event_id)
    for _ in range(40):
        if int(time.time()) > done_at:
            break
        time.sleep(0.05)
    again = ok(cli("send", "website_to_crm", str(tally), "--fresh-id"))
    assert f"duplicate: event {event_id} was already received" in again
    assert "its id comes from the payload: change it in the file" in again
