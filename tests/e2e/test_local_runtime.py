"""End to end through the local runtime over real HTTP: moto server, gateway, pollers, sandbox.

These are the flows a business owner cares about, exercised the way `make dev` runs them: signed
requests over a socket to 127.0.0.1, queued, polled, processed, and checked in the sandbox HubSpot.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from shared import trace
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

SPEC = load_spec("website_to_crm")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    rt = LocalRuntime(
        port=0, retry_scale=0.02, log_dir=str(tmp_path / "logs"), state_file=tmp_path / "local.json"
    )
    rt.trace = entries  # type: ignore[attr-defined]
    with rt:
        yield rt
    trace.remove_sink(entries.append)
    assert rt.errors == [], rt.errors


def post_sample(rt: LocalRuntime, name: str, **changes: Any) -> httpx.Response:
    sample = load_sample(EVENTS_DIR / "website_to_crm" / f"{name}.json", SPEC)
    url, headers, body = build_request(SPEC, sample, rt.url, rt.signing_secret(SPEC, sample.trigger))
    headers.update(changes.pop("headers", {}))
    return httpx.post(url, headers=headers, content=changes.pop("body", body), timeout=10)


def sandbox(rt: LocalRuntime, path: str) -> Any:
    return httpx.get(f"{rt.url}/_sandbox/hubspot/{path}", timeout=5).json()


def queued(rt: LocalRuntime) -> int:
    return rt.queue_depths()["website_to_crm"][0]


def test_a_signed_lead_sent_three_times_is_one_contact(runtime: LocalRuntime) -> None:
    answers = [post_sample(runtime, "webhook_lead") for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 202, 202]
    assert len({a.json()["id"] for a in answers}) == 1
    assert runtime.wait_drained(30)
    state = sandbox(runtime, "_state")
    assert len(state["contacts"]) == 1 and len(state["notes"]) == 1
    stages = [e["stage"] for e in runtime.trace if e.get("event_id") == answers[0].json()["id"]]  # type: ignore[attr-defined]
    assert stages.count("processed") == 1
    assert stages.count("duplicate") == 2


def test_refused_requests_queue_nothing(runtime: LocalRuntime) -> None:
    forged = post_sample(runtime, "webhook_forged")
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_signature"
    oversize = post_sample(
        runtime, "form_post", body=b"name=x&message=" + b"a" * (256 * 1024) + b"&email=a%40b.example"
    )
    assert oversize.status_code == 413 and oversize.json()["limit_bytes"] == 256 * 1024
    malformed = post_sample(runtime, "webhook_lead", body=b'{"type": "form.submitted", "data": {')
    # The signature is over the original body, so a truncated body is refused before parsing.
    assert malformed.status_code == 401
    unsigned_garbage = httpx.post(
        f"{runtime.url}/forms/website_to_crm",
        headers={"content-type": "application/x-www-form-urlencoded", "origin": "http://127.0.0.1:8787"},
        content=b"name=Jo&email=jo%40example.com&message=\xff\xfe&website=",
        timeout=5,
    )
    assert unsigned_garbage.status_code == 400 and unsigned_garbage.json()["error"] == "malformed_payload"
    wrong_type = post_sample(runtime, "form_post", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    unknown = httpx.post(f"{runtime.url}/hooks/nope", content=b"{}", timeout=5)
    assert unknown.status_code == 404
    assert queued(runtime) == 0
    assert sandbox(runtime, "_state")["contacts"] == []


def test_hubspot_503_twice_then_ok_is_one_contact(runtime: LocalRuntime) -> None:
    fault = {"kind": "status", "status": 503, "count": 2, "path": "/crm/v3/objects/contacts/batch/upsert"}
    assert httpx.post(f"{runtime.url}/_sandbox/hubspot/_faults", json=fault, timeout=5).status_code < 300
    answer = post_sample(runtime, "form_post")
    assert answer.status_code == 202
    assert runtime.wait_drained(60)
    assert len(sandbox(runtime, "_state")["contacts"]) == 1
    upserts = [r for r in sandbox(runtime, "_requests")["requests"] if r["path"].endswith("/batch/upsert")]
    assert [r["status"] for r in upserts] == [503, 503, 200]
    assert runtime.queue_depths()["website_to_crm"] == (0, 0)


def test_hubspot_400_goes_to_the_dlq_with_its_reason(runtime: LocalRuntime) -> None:
    sample = load_sample(EVENTS_DIR / "website_to_crm" / "form_post_hubspot_rejects.json", SPEC)
    for fault in sample.faults["hubspot"]:
        assert httpx.post(f"{runtime.url}/_sandbox/hubspot/_faults", json=fault, timeout=5).status_code < 300
    answer = post_sample(runtime, "form_post_hubspot_rejects")
    assert answer.status_code == 202
    assert runtime.wait_drained(30)
    rt = runtime.runtimes["website_to_crm"]
    messages = rt.aws("sqs").receive_message(
        QueueUrl=rt.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )
    [dead] = messages["Messages"]
    attrs = dead["MessageAttributes"]
    assert attrs["event_id"]["StringValue"] == answer.json()["id"]
    assert attrs["error"]["StringValue"] == "target_rejected"
    assert "400" in attrs["reason"]["StringValue"] and "VALIDATION_ERROR" in attrs["reason"]["StringValue"]
    assert attrs["attempts"]["StringValue"] == "1"  # permanent: not retried
    assert "lena@" not in json.dumps(attrs)  # the reason is redacted
    assert json.loads(dead["Body"])["event_id"] == answer.json()["id"]  # kept whole, replayable
    assert sandbox(runtime, "_state")["contacts"] == []


def test_switchboard_send_signs_with_the_local_secret(runtime: LocalRuntime, tmp_path: Path) -> None:
    state_dir = tmp_path / ".switchboard"
    state_dir.mkdir()
    (state_dir / "local.json").write_text((tmp_path / "local.json").read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "infra.cli",
            "send",
            "website_to_crm",
            str(EVENTS_DIR / "website_to_crm" / "tally_form_response.json"),
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("202 ")
    assert runtime.wait_drained(30)
    assert [c["properties"]["email"] for c in sandbox(runtime, "_state")["contacts"]] == [
        "priya.raman@northwind-traders.example"
    ]


def test_cli_errors_say_what_to_fix(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "infra.cli", *args],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    missing = run("send", "no_such_thing", "x.json")
    assert (
        missing.returncode == 2
        and "no integration 'no_such_thing'; there are: " in missing.stderr
        and "website_to_crm" in missing.stderr
    )
    no_runtime = run("send", "website_to_crm", str(EVENTS_DIR / "website_to_crm" / "form_post.json"))
    assert no_runtime.returncode == 2 and "start one with `make dev`" in no_runtime.stderr
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("{not json")
    bad = run("invoke", "website_to_crm", str(bad_file))
    assert bad.returncode == 2 and "not a readable JSON file" in bad.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_dev_serves_until_interrupted(tmp_path: Path, sig: signal.Signals) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "dev", "--no-replay", "--port", "0"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for _ in range(200):  # bounded: the banner comes within seconds
            line = proc.stdout.readline()
            if "Ctrl-C to stop" in line or not line:
                break
        assert "Ctrl-C to stop" in line, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        assert "stopping" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
