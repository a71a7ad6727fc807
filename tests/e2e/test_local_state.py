"""The local runtime across restarts and folders: ``--keep`` / ``--fresh`` (``infra/local/persist.py``)
and the ``switchboard`` commands finding the runtime from any folder (``infra/local/locate.py``).

Every runtime here runs in this process on free ports; the per-user record directory is the test's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from infra.local import persist
from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from shared import trace
from shared.registry import load_spec

pytestmark = pytest.mark.e2e

SPEC = load_spec("website_to_crm")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to run ``make dev`` in, and a per-user record directory of this test's own."""
    folder = tmp_path / "checkout"
    folder.mkdir()
    monkeypatch.setenv("SWITCHBOARD_STATE_DIR", str(tmp_path / "user-state"))
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def traced() -> Iterator[list[dict[str, Any]]]:
    entries: list[dict[str, Any]] = []
    trace.add_sink(entries.append)
    yield entries
    trace.remove_sink(entries.append)


def start(project: Path, *, restore: persist.Snapshot | None = None, pollers: bool = True) -> LocalRuntime:
    return LocalRuntime(
        port=0,
        retry_scale=0.02,
        pollers=pollers,
        log_dir=str(project / ".switchboard" / "logs"),
        state_file=project / ".switchboard" / "local.json",
        restore=restore,
    ).start()


def send(rt: LocalRuntime, sample_name: str) -> httpx.Response:
    sample = load_sample(EVENTS_DIR / "website_to_crm" / f"{sample_name}.json", SPEC)
    url, headers, body = build_request(SPEC, sample, rt.url, rt.signing_secret(SPEC, sample.trigger))
    return httpx.post(url, headers=headers, content=body, timeout=10)


def hubspot_state(rt: LocalRuntime) -> dict[str, Any]:
    return dict(httpx.get(f"{rt.url}/_sandbox/hubspot/_state", timeout=5).json())


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "infra.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_keep_restarts_where_it_stopped_a_resent_lead_is_a_duplicate_and_ids_continue(
    project: Path, traced: list[dict[str, Any]]
) -> None:
    choice = persist.choose(keep=None, once=False)
    assert choice.keep and choice.saved is None and choice.replay
    assert "nothing saved yet" in choice.banner()
    first = start(project)
    try:
        answer = send(first, "webhook_lead")
        assert answer.status_code == 202, answer.text
        event_id = answer.json()["id"]
        assert first.wait_drained(30)
        before = hubspot_state(first)
        said: list[str] = []
        choice.save(first, said.append)
    finally:
        first.stop()
    assert len(before["contacts"]) == 1
    assert said and said[-1].startswith(f"state saved to {persist.SNAPSHOT_FILE}: ")

    again = persist.choose(keep=None, once=False)
    assert again.saved is not None and not again.replay
    assert again.banner().startswith("State: kept - restored the run stopped at ")
    traced.clear()
    second = start(project, restore=again.saved)
    try:
        assert hubspot_state(second)["contacts"] == before["contacts"]
        resent = send(second, "webhook_lead")  # signed with the restored secret, as the sender holds it
        assert resent.status_code == 202 and resent.json()["id"] == event_id
        other = send(second, "form_post")
        assert other.status_code == 202, other.text
        assert second.wait_drained(30)
        stages = [e["stage"] for e in traced if e.get("event_id") == event_id]
        assert "duplicate" in stages and "processed" not in stages
        contacts = hubspot_state(second)["contacts"]
        ids = sorted(int(c["id"]) for c in contacts)
        assert len(contacts) == 2
        old_ids = {int(c["id"]) for c in before["contacts"]} | {int(n["id"]) for n in before["notes"]}
        assert ids[-1] > max(old_ids)  # the HubSpot stand-in continued its ids: no 10001 again
        assert second.errors == []
    finally:
        second.stop()


def test_keep_keeps_waiting_and_dead_lettered_messages_and_secrets_on_a_new_port(project: Path) -> None:
    first = start(project, pollers=False)  # nothing consumes: the lead waits in its queue
    try:
        assert send(first, "tally_form_response").status_code == 202
        assert first.resources is not None
        dlq = first.resources.queues["website_to_crm"][1]
        sqs = boto3.client("sqs", endpoint_url=first.aws_endpoint, region_name="us-east-1")
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody='{"dead": true}',
            MessageAttributes={"reason": {"DataType": "String", "StringValue": "target_rejected"}},
        )
        secrets = boto3.client("secretsmanager", endpoint_url=first.aws_endpoint, region_name="us-east-1")
        name = "switchboard/local/hubspot"
        value = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
        assert value["base_url"].startswith(first.sandbox_url)
        value["token"] = "rotated-by-hand"
        secrets.put_secret_value(SecretId=name, SecretString=json.dumps(value))
        # A signing secret is an SSM SecureString parameter: kept too.
        ssm = boto3.client("ssm", endpoint_url=first.aws_endpoint, region_name="us-east-1")
        ssm.put_parameter(
            Name="/switchboard/local/tally_signing",
            Value=json.dumps({"secret": "set-by-hand-signing-key"}),
            Type="SecureString",
            Overwrite=True,
        )
        snap = persist.save(first, persist.SNAPSHOT_FILE)
    finally:
        first.stop()
    assert snap.not_kept == 0
    assert "1 queued message(s) (1 dead-lettered)" not in snap.summary()
    assert "2 queued message(s) (1 dead-lettered)" in snap.summary()

    loaded = persist.load(persist.SNAPSHOT_FILE)
    second = start(project, restore=loaded, pollers=False)
    try:
        assert second.url != first.url
        assert second.queue_depths()["website_to_crm"] == (1, 1)
        assert second.resources is not None
        dlq = second.resources.queues["website_to_crm"][1]
        sqs = boto3.client("sqs", endpoint_url=second.aws_endpoint, region_name="us-east-1")
        dead = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"][0]
        assert dead["Body"] == '{"dead": true}'
        assert dead["MessageAttributes"]["reason"]["StringValue"] == "target_rejected"
        secrets = boto3.client("secretsmanager", endpoint_url=second.aws_endpoint, region_name="us-east-1")
        kept = json.loads(secrets.get_secret_value(SecretId="switchboard/local/hubspot")["SecretString"])
        assert kept["token"] == "rotated-by-hand"
        assert kept["base_url"].startswith(second.sandbox_url)  # follows the new port
        ssm = boto3.client("ssm", endpoint_url=second.aws_endpoint, region_name="us-east-1")
        signing = ssm.get_parameter(Name="/switchboard/local/tally_signing", WithDecryption=True)["Parameter"]
        assert signing["Type"] == "SecureString"
        assert json.loads(signing["Value"]) == {"secret": "set-by-hand-signing-key"}
    finally:
        second.stop()


def test_fresh_starts_empty_and_says_so(project: Path) -> None:
    first = start(project)
    try:
        assert send(first, "webhook_lead").status_code == 202
        assert first.wait_drained(30)
        persist.save(first)
    finally:
        first.stop()
    choice = persist.choose(keep=False, once=False)
    assert choice.saved is None and choice.replay
    banner = choice.banner()
    assert banner.startswith("State: fresh - started empty. The state saved at ")
    assert "is not loaded" in banner and "--keep" in banner
    second = start(project, restore=choice.saved)
    try:
        assert hubspot_state(second)["contacts"] == []
    finally:
        second.stop()
    once = persist.choose(keep=None, once=True)
    assert once.saved is None and "--once always starts empty" in once.banner()


def test_a_damaged_or_foreign_snapshot_is_refused_with_fresh_as_the_fix(project: Path) -> None:
    first = start(project, pollers=False)
    try:
        persist.save(first)
    finally:
        first.stop()
    path = persist.SNAPSHOT_FILE
    whole = path.read_bytes()

    path.write_bytes(whole[: len(whole) - 100])
    with pytest.raises(persist.SnapshotUnreadable, match="is damaged") as cut:
        persist.choose(keep=True, once=False)
    assert "--fresh" in str(cut.value) and "\n" not in str(cut.value)

    path.write_bytes(b"not a snapshot at all")
    with pytest.raises(persist.SnapshotUnreadable, match="is not a Switchboard state snapshot"):
        persist.choose(keep=None, once=False)

    head, _, payload = whole.partition(b"\n")
    header = json.loads(head)
    path.write_bytes(json.dumps({**header, "version": 99}).encode() + b"\n" + payload)
    with pytest.raises(
        persist.SnapshotMismatch, match="saved in snapshot format 99, this code reads format 1"
    ):
        persist.choose(keep=True, once=False)

    assert persist.choose(keep=False, once=False).saved is None  # --fresh never reads it


def test_the_cli_finds_the_runtime_from_a_subfolder_and_from_an_unrelated_folder(
    project: Path, tmp_path: Path
) -> None:
    rt = start(project, pollers=False)
    try:
        sub = project / "functions" / "website_to_crm"
        sub.mkdir(parents=True)
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for folder in (sub, elsewhere):
            done = cli(folder, "urls")
            assert done.returncode == 0, (folder, done.stderr)
            assert f"{rt.url}/hooks/website_to_crm" in done.stdout
    finally:
        rt.stop()
    gone = cli(project, "urls")
    assert gone.returncode == 2 and gone.stderr.startswith("switchboard: no local runtime is running here")


class Dev:
    """``switchboard dev`` in a process of its own, in ``folder``, read until it serves."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "dev", "--port", "0", "--no-replay", *args],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        assert self.proc.stdout is not None
        for _ in range(400):  # bounded: the banner comes within seconds
            line = self.proc.stdout.readline()
            self.lines.append(line)
            if "Ctrl-C to stop" in line or not line:
                break
        assert "Ctrl-C to stop" in self.lines[-1], "".join(self.lines) + self.proc.stderr.read()  # type: ignore[union-attr]
        self.gateway = json.loads((folder / ".switchboard" / "local.json").read_text())["gateway"]

    @property
    def banner(self) -> str:
        return "".join(self.lines)

    def contacts(self) -> list[dict[str, Any]]:
        return list(httpx.get(f"{self.gateway}/_sandbox/hubspot/_state", timeout=5).json()["contacts"])

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=90)
        assert self.proc.returncode == 0, out + err
        return out


def test_switchboard_dev_keeps_by_default_and_fresh_starts_empty(project: Path) -> None:
    sample = str(EVENTS_DIR / "website_to_crm" / "webhook_lead.json")
    first = Dev(project)
    try:
        assert "State: kept - nothing saved yet" in first.banner
        assert cli(project, "send", "website_to_crm", sample).stdout.startswith("202 ")
        for _ in range(100):  # bounded: the lead is processed within seconds
            if first.contacts():
                break
            time.sleep(0.2)
        assert len(first.contacts()) == 1
    finally:
        stopped = first.stop()
    assert f"state saved to {persist.SNAPSHOT_FILE}" in stopped

    kept = Dev(project)
    try:
        assert "State: kept - restored the run stopped at " in kept.banner
        assert "make dev FRESH=1" in kept.banner
        again = cli(project, "send", "website_to_crm", sample)
        assert again.returncode == 0 and "duplicate" in again.stdout, again.stdout + again.stderr
        assert len(kept.contacts()) == 1
    finally:
        kept.stop()

    fresh = Dev(project, "--fresh")
    try:
        assert "State: fresh - started empty. The state saved at " in fresh.banner
        assert fresh.contacts() == []
    finally:
        fresh.stop()


def test_switchboard_dev_refuses_a_damaged_snapshot_and_keep_with_once(project: Path) -> None:
    persist.SNAPSHOT_FILE.parent.mkdir(parents=True)
    persist.SNAPSHOT_FILE.write_bytes(b'{"format": "switchboard-local-state"}\ngarbage')
    damaged = cli(project, "dev", "--port", "0", "--no-replay")
    assert damaged.returncode == 2 and "Traceback" not in damaged.stderr
    assert damaged.stderr.startswith(
        f"switchboard: {persist.SNAPSHOT_FILE} is not a Switchboard state snapshot"
    )
    assert "switchboard dev --fresh" in damaged.stderr and damaged.stderr.count("\n") == 1
    once = cli(project, "dev", "--once", "--keep", "--port", "0")
    assert once.returncode == 2 and "--once always starts empty" in once.stderr
