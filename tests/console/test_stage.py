"""``switchboard console --stage prod`` against moto: the same AWS reads it makes on a real account.

A stage is made the way the CDK app names it (queues, DLQs, table, secrets: ``create_resources`` with
stage ``prod``), its log group holds the lines a function writes, its DLQ a dead letter as the worker
leaves it, and CloudWatch an alarm in ALARM. The console reads them with the operator's credentials:
in-process (every AWS call recorded, each of which must be in docs/console.md's IAM list) and as the
real command in a child process against a moto server.
"""

from __future__ import annotations

import json
import os
import re
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

from conftest import REGION, SANDBOX_URL
from infra.cdk.naming import log_group_name, resource_name
from infra.console.server import ConsoleServer
from infra.local.resources import create_resources
from infra.local.runtime import local_settings
from infra.ops.target import Target
from shared.registry import load_specs

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DONE = "evt_stage_done_0001"
DEAD = "evt_stage_dead_0002"
PAGES = (
    "/",
    "/events",
    "/dead-letters",
    "/refused",
    "/connections",
    "/flow",
    "/keys",
    f"/events/website_to_crm/{DONE}",
)


def seed(session: boto3.session.Session) -> None:
    """A deployed stage ``prod``: resources, log lines, a dead letter, an alarm."""
    settings = {spec.name: local_settings(spec) for spec in load_specs()}
    create_resources(
        load_specs(), session, stage="prod", sandbox_url=SANDBOX_URL, visibility_scale=1.0, settings=settings
    )
    logs = session.client("logs")
    group = log_group_name("prod", "website_to_crm")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/05/[$LATEST]abc")
    now = int(time.time() * 1000)
    lines: list[dict[str, Any]] = [
        {"message": "accepted", "trigger": "webhook", "event_ids": [DONE]},
        {"message": "processed", "event_id": DONE, "attempt": 1, "steps": ["upsert_contact", "note"]},
        {"message": "accepted", "trigger": "form", "event_ids": [DEAD]},
        {"message": "retrying later", "event_id": DEAD, "attempt": 1, "delay_s": 10, "reason": "hubspot 503"},
        {
            "message": "sent to DLQ",
            "event_id": DEAD,
            "attempt": 2,
            "error": "target_rejected",
            "reason": "400",
        },
        {"message": "company lookup", "event_id": DONE},  # not a workflow line: not counted
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/12/05/[$LATEST]abc",
        logEvents=[
            {"timestamp": now - 60_000 + i, "message": json.dumps({"level": "INFO", "timestamp": "", **line})}
            for i, line in enumerate(lines)
        ],
    )
    sqs = session.client("sqs")
    dlq = sqs.get_queue_url(QueueName=resource_name("prod", "website_to_crm", "dlq"))["QueueUrl"]
    attributes = {
        "event_id": DEAD,
        "reason": "hubspot POST /crm/v3/objects/contacts/batch/upsert: 400 INVALID_PHONE_NUMBER",
        "error": "target_rejected",
        "attempts": "2",
        "trigger": "form",
    }
    sqs.send_message(
        QueueUrl=dlq,
        MessageBody=json.dumps(
            {"event_id": DEAD, "data": {"email": "lena@fischer-kaffee.example", "name": "Lena"}}
        ),
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    )
    cloudwatch = session.client("cloudwatch")
    alarm = resource_name("prod", "website_to_crm", "dlq")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        MetricName="ApproximateNumberOfMessagesVisible",
        Namespace="AWS/SQS",
        Statistic="Maximum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="1 message in the DLQ")


def check_pages(pages: dict[str, str]) -> None:
    overview = pages["/"]
    row = re.search(r'data-integration="website_to_crm">(.*?)</tr>', overview, flags=re.S)
    assert row is not None, overview
    counts = dict(re.findall(r'data-count="([a-z-]+)">(?:<a[^>]*>)?([0-9-]+)', row.group(1)))
    assert counts["day-received"] == "2" and counts["day-processed"] == "1", counts
    assert counts["day-retried"] == "1" and counts["day-dead-lettered"] == "1" and counts["in-dlq"] == "1", (
        counts
    )
    assert "switchboard-prod-website-to-crm-dlq: ALARM" in row.group(1)
    assert "stage prod (us-east-1)" in overview

    events = pages["/events"]
    assert re.findall(r'data-event-id="([^"]+)"', events) == [DEAD, DONE]
    assert re.search(
        rf'data-event-id="{DEAD}" data-integration="website_to_crm" data-status="dead-lettered"', events
    )

    dead = pages["/dead-letters"]
    assert f'data-event-id="{DEAD}"' in dead and "INVALID_PHONE_NUMBER" in dead
    assert 'id="redrive-website_to_crm"' in dead

    story = pages[f"/events/website_to_crm/{DONE}"]
    assert 'data-testid="status">processed<' in story
    assert re.findall(r'data-testid="step-row" data-step="([^"]+)"', story) == ["upsert_contact", "note"]
    for text in pages.values():
        assert "lena@fischer-kaffee.example" not in text


@pytest.fixture
def recorded(aws: boto3.session.Session, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The ``service:Action`` of every AWS call the console makes (its clients are the Target's)."""
    seed(aws)
    calls: set[str] = set()
    original = Target.client

    def client(self: Target, service: str, **config: Any) -> Any:
        made = original(self, service, **config)
        if not getattr(made, "_console_recorded", False):
            signing = made.meta.service_model.signing_name
            prefix = {"monitoring": "cloudwatch"}.get(signing, signing)  # IAM's prefix for CloudWatch

            def record(model: Any, **_: Any) -> None:
                calls.add(f"{prefix}:{model.name}")

            made.meta.events.register("before-call", record)
            made._console_recorded = True
        return made

    monkeypatch.setattr(Target, "client", client)
    return calls


def iam_actions() -> set[str]:
    """The actions docs/console.md lists for a stage (its IAM policy's ``Action`` list)."""
    text = (ROOT / "docs" / "console.md").read_text(encoding="utf-8")
    policy = re.search(r"```json\n(\{.*?\})\n```", text, flags=re.S)
    assert policy is not None, "docs/console.md has no IAM policy block"
    statements = json.loads(policy.group(1))["Statement"]
    return {action for s in statements for action in s["Action"]}


def test_the_stage_pages_and_the_iam_actions_they_need(recorded: set[str]) -> None:
    target = Target(stage="prod", region=REGION)
    with ConsoleServer(target, port=0) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(f"/?token={server.guard.token}").status_code == 303
        pages = {}
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:3000])
            pages[path] = answer.text
        check_pages(pages)
        question = client.get("/dead-letters/website_to_crm/redrive").text
        assert 'data-count="1"' in question
        message_id = re.search(r'name="message_id" value="([^"]+)"', pages["/dead-letters"])
        assert message_id is not None
        replayed = client.post(
            "/dead-letters/website_to_crm/replay",
            data={"message_id": message_id.group(1), "csrf": server.guard.csrf},
        )
        assert replayed.status_code == 200 and f"replayed {DEAD} (website_to_crm)" in replayed.text
    assert {"sqs:SendMessage", "sqs:DeleteMessage"} <= recorded
    documented = iam_actions()
    assert recorded, "no AWS call recorded"
    missing = sorted(recorded - documented)
    assert not missing, f"docs/console.md does not list {missing}"


def test_the_overview_counts_the_dlq_from_its_attributes_and_never_receives_a_letter(
    recorded: set[str], aws: boto3.session.Session
) -> None:
    """Refreshed every 15 s, the overview must leave the letters alone: receiving them would raise
    their receive counts and hide them from a confirmed redrive's count (a false 409)."""
    target = Target(stage="prod", region=REGION)
    with ConsoleServer(target, port=0) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.get(f"/?token={server.guard.token}").status_code == 303
        recorded.clear()
        for _ in range(3):
            overview = client.get("/")
            assert overview.status_code == 200
        row = re.search(r'data-integration="website_to_crm">(.*?)</tr>', overview.text, flags=re.S)
        assert row is not None and re.search(r'data-count="in-dlq"><a[^>]*>1<', row.group(1)), row
        assert "sqs:GetQueueAttributes" in recorded
        assert not {"sqs:ReceiveMessage", "sqs:ChangeMessageVisibilityBatch"} & recorded, sorted(recorded)
        sqs = aws.client("sqs")
        dlq = sqs.get_queue_url(QueueName=resource_name("prod", "website_to_crm", "dlq"))["QueueUrl"]
        letter = sqs.receive_message(QueueUrl=dlq, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        assert letter["Attributes"]["ApproximateReceiveCount"] == "1"  # this read is its first
        sqs.change_message_visibility(
            QueueUrl=dlq, ReceiptHandle=letter["ReceiptHandle"], VisibilityTimeout=0
        )
        assert client.get("/dead-letters/website_to_crm/redrive").text.count('data-count="1"') == 1
        assert "sqs:ReceiveMessage" not in recorded
        assert client.get("/dead-letters").status_code == 200
        assert "sqs:ReceiveMessage" in recorded  # the dead-letter page is where letters are read


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        yield endpoint
    finally:
        server.stop()


def test_switchboard_console_stage_serves_the_stage(moto_server: str, tmp_path: Path) -> None:
    seed(boto3.session.Session(region_name=REGION))
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_server, "AWS_REGION": REGION, "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "console", "--stage", "prod", "--port", "0"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        first = child.stdout.readline()
        assert first.startswith("Switchboard console for stage prod (us-east-1)"), first + child.stderr.read()
        url = child.stdout.readline().strip()
        match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{40,})", url)
        assert match is not None, url
        with httpx.Client(timeout=60) as client:
            assert client.get(url.split("?")[0]).status_code == 401
            assert client.get(url).status_code == 303
            pages = {path: client.get(f"http://127.0.0.1:{match.group(1)}{path}").text for path in PAGES}
        check_pages(pages)
    finally:
        child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=30)
        finally:
            child.kill()
    assert code == 0
