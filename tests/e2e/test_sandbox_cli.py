"""``switchboard sandbox``: breaking a stand-in on purpose, seeing the dead letter, fixing it, replaying.

A real local runtime (moto server, gateway, pollers, stand-ins over HTTP); the CLI in-process from the
folder that holds the runtime's state file, as a developer runs it beside ``make dev``.
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import httpx
import pytest

from apps.hubspot.standin import DEFAULT_TOKEN
from infra.local.runtime import LocalRuntime
from tests.support import REPO

pytestmark = pytest.mark.e2e

LEAD = str(REPO / "events" / "website_to_crm" / "form_post.json")


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def hubspot_contacts(rt: LocalRuntime) -> int:
    answer = httpx.get(
        f"{rt.url}/_sandbox/hubspot/crm/v3/objects/contacts",
        headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
        timeout=10,
    )
    return answer.status_code


def test_list_names_every_standin_with_its_url(runtime: LocalRuntime, cli: Any) -> None:
    printed = ok(cli("sandbox", "list"))
    assert f"hubspot            {runtime.url}/_sandbox/hubspot" in printed
    assert set(runtime.sandboxes) == {line.split()[0] for line in printed.splitlines()}


def test_break_answers_every_request_until_fix(runtime: LocalRuntime, cli: Any) -> None:
    said = ok(cli("sandbox", "break", "hubspot", "--status", "503"))
    assert "hubspot now answers every request with HTTP 503 (retryable" in said
    assert "`switchboard sandbox fix hubspot`" in said
    assert [hubspot_contacts(runtime) for _ in range(3)] == [503, 503, 503]

    assert "1 fault cleared" in ok(cli("sandbox", "fix", "hubspot"))
    assert hubspot_contacts(runtime) == 200


def test_break_for_a_number_of_requests_then_serves(runtime: LocalRuntime, cli: Any) -> None:
    said = ok(cli("sandbox", "break", "hubspot", "--times", "2"))
    assert "the next 2 requests with HTTP 400 (permanent" in said
    assert [hubspot_contacts(runtime) for _ in range(3)] == [400, 400, 200]


def test_a_broken_target_dead_letters_the_lead_and_a_replay_after_fix_books_it_once(
    runtime: LocalRuntime, cli: Any
) -> None:
    ok(cli("sandbox", "break", "hubspot"))
    sent = ok(cli("send", "website_to_crm", LEAD))
    assert runtime.wait_drained(timeout_s=60)
    deadline = time.monotonic() + 30
    rows: list[str] = []
    while time.monotonic() < deadline and not rows:
        listed = ok(cli("dlq", "list", "website_to_crm")).splitlines()
        header = [i for i, row in enumerate(listed) if row.startswith("EVENT ID")]
        rows = listed[header[0] + 1 :] if header else []
    assert rows, f"no dead letter after breaking hubspot; send said:\n{sent}"
    assert "400" in rows[0] or "HubSpot" in rows[0], rows[0]
    event_id = rows[0].split()[0]

    ok(cli("sandbox", "fix", "hubspot"))
    ok(cli("dlq", "replay", event_id))
    assert runtime.wait_drained(timeout_s=60)
    contacts = json.loads(ok(cli("sandbox", "state", "hubspot")))["contacts"]
    emails = [c["properties"]["email"] for c in contacts]
    assert emails.count("tomas.oneill@gmail.example") == 1


def test_unknown_app_names_the_ones_there_are(runtime: LocalRuntime, cli: Any) -> None:
    done = cli("sandbox", "break", "hubspt")
    assert done.returncode == 2
    assert "no stand-in named 'hubspt'" in done.stderr and "hubspot" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--status", "200"), "a failure is an HTTP status from 400 to 599"),
        (("--times", "0"), "say how many requests should fail"),
    ],
)
def test_bad_break_options_say_what_to_fix(
    runtime: LocalRuntime, cli: Any, args: tuple[str, ...], message: str
) -> None:
    done = cli("sandbox", "break", "hubspot", *args)
    assert done.returncode == 2 and message in done.stderr
    assert hubspot_contacts(runtime) == 200  # nothing was set up


def test_without_a_local_runtime_it_says_how_to_start_one(cli: Any) -> None:
    done = cli("sandbox", "list")
    assert done.returncode == 2 and "make dev" in done.stderr
