"""``switchboard status``: each app's circuit (since when, events waiting per integration) and the
queue and DLQ depth of each integration the target runs - here a stage on moto (``--stage``)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from infra.cdk.naming import dlq_name, queue_name
from infra.ops.status import AppHealth, QueueDepth, Status, render
from shared import health
from shared.table import Table

STAGE = "test"  # the stage the `resources` fixture creates on moto
ARGS = ("--stage", STAGE, "--region", "us-east-1")


def test_an_open_circuit_says_since_when_and_how_many_wait(
    aws: boto3.session.Session, resources: Any, cli: Any
) -> None:
    opened = time.time() - 41 * 60
    Table(aws.client("dynamodb"), resources.table).put(
        {
            "id": health.health_key("quickbooks"),
            "state": health.OPEN,
            "opened_at": round(opened, 3),
            "failures": 7,
            "last_error": "answered 503",
            "waiting_pos_to_accounting": 134,
        }
    )
    sqs = aws.client("sqs")
    queue = sqs.get_queue_url(QueueName=queue_name(STAGE, "pos_to_accounting"))["QueueUrl"]
    for _ in range(3):
        sqs.send_message(QueueUrl=queue, MessageBody="{}")
    dlq = sqs.get_queue_url(QueueName=dlq_name(STAGE, "website_to_crm"))["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")

    done = cli("status", *ARGS)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    [qb] = [ln for ln in lines if ln.strip().startswith("quickbooks")]
    since = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(opened))
    assert qb.split()[:2] == ["quickbooks", "OPEN"]
    assert f"QuickBooks unavailable since {since} (41 min), 134 events waiting (pos_to_accounting 134)" in qb
    assert qb.endswith("last error: answered 503")
    [hubspot] = [ln for ln in lines if ln.strip().startswith("hubspot")]
    assert hubspot.split()[:2] == ["hubspot", "closed"] and hubspot.endswith(" available")
    rows = {
        ln.split()[0]: ln.split()[1:] for ln in lines[lines.index("Queues:") + 2 :] if ln.startswith("  ")
    }
    assert rows["pos_to_accounting"] == ["3", "0"]
    assert rows["website_to_crm"] == ["0", "1"]
    assert "needs nobody" in done.stdout and "switchboard dlq list" in done.stdout

    as_json = json.loads(cli("status", *ARGS, "--json").stdout)
    [entry] = [a for a in as_json["apps"] if a["app"] == "quickbooks"]
    assert entry["state"] == "open" and entry["waiting_total"] == 134
    assert "pos_to_accounting" in entry["integrations"]


def test_a_stage_with_nothing_deployed_says_so(aws: boto3.session.Session, cli: Any) -> None:
    done = cli("status", "--stage", "nowhere", "--region", "us-east-1")
    assert done.returncode == 0, done.stderr
    assert "no running integration calls a target app" in done.stdout
    assert "runs no integration with a queue" in done.stdout


def test_a_closed_circuit_says_when_it_closed_and_what_waited() -> None:
    closed = AppHealth(
        app="hubspot",
        title="HubSpot",
        integrations=("website_to_crm",),
        closed_at=0.0 + 3600,
        waiting={"website_to_crm": 12, "lead_enrichment": 3},
    )
    flaky = AppHealth(app="slack", title="Slack", integrations=("new_lead_notify",), failures=2)
    out = _rendered(Status("the local runtime", [closed, flaky], [QueueDepth("website_to_crm", 0, None)]))
    assert (
        "HubSpot available (circuit closed 1970-01-01 01:00 UTC after an outage 15 events waited for)" in out
    )
    assert f"Slack available (2 failure(s) in a row; the circuit opens at {health.OPEN_AFTER})" in out
    assert "website_to_crm        0      -" in out


def _rendered(status: Status) -> str:
    import io

    out = io.StringIO()
    render(status, out, now=7200.0)
    return out.getvalue()
