"""``switchboard doctor`` on a running local runtime: complete, then half-configured, then unreachable.

A real runtime (moto server, gateway, the stand-ins over HTTP) and the CLI run in-process from the
directory of its state file. The half-configured runtime is made the way an operator would get
there: a required field emptied, the QuickBooks connection revoked at its stand-in, the webhook
subscriptions removed at Square and Stripe, a dead letter, and a recipient SES would refuse in the
sandbox. Each must be named with its fix, and the exit status must say go-live is blocked.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from infra.local.runtime import LocalRuntime

pytestmark = pytest.mark.e2e


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    rt = LocalRuntime(
        port=0,
        retry_scale=0.02,
        pollers=False,  # a dead letter must stay where the test put it
        log_dir=str(tmp_path / ".switchboard" / "logs"),
        state_file=tmp_path / ".switchboard" / "local.json",
    )
    with rt:
        yield rt
    assert rt.errors == [], rt.errors


def aws(rt: LocalRuntime, service: str) -> Any:
    return boto3.client(service, endpoint_url=rt.aws_endpoint, region_name="us-east-1")  # type: ignore[call-overload]


def lines(out: str, status: str) -> list[str]:
    """The checklist lines of one status, each joined with its ``fix:`` line."""
    rows = out.splitlines()
    found = []
    for i, row in enumerate(rows):
        if row.startswith(f"{status:<4}  "):
            fix = rows[i + 1].strip() if i + 1 < len(rows) and rows[i + 1].strip().startswith("fix:") else ""
            found.append(f"{row} | {fix}")
    return found


def one(out: str, status: str, *needles: str) -> str:
    """The single line of ``status`` that holds every needle."""
    hits = [line for line in lines(out, status) if all(n in line for n in needles)]
    assert len(hits) == 1, f"{status} {needles} in:\n{out}"
    return hits[0]


def secret_values(rt: LocalRuntime) -> set[str]:
    """Every stored value: the secrets, and the SSM SecureString parameters (signing secrets, own keys)."""
    client = aws(rt, "secretsmanager")
    raws: list[str] = []
    for page in client.get_paginator("list_secrets").paginate():
        for entry in page["SecretList"]:
            raws.append(client.get_secret_value(SecretId=entry["ARN"])["SecretString"])
    ssm = aws(rt, "ssm")
    for page in ssm.get_paginator("get_parameters_by_path").paginate(
        Path="/switchboard/local", Recursive=True, WithDecryption=True
    ):
        raws.extend(p["Value"] for p in page["Parameters"])
    values: set[str] = set()
    for raw in raws:
        values |= {str(v) for v in json.loads(raw).values() if len(str(v)) >= 8 and "://" not in str(v)}
    return values


def test_a_complete_runtime_exits_0_and_every_check_reports(runtime: LocalRuntime, cli: Any) -> None:
    done = cli("doctor")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert lines(out, "FAIL") == []
    one(out, "ok", "stacks", "serves all")
    one(out, "ok", "connections", "required fields set")
    one(out, "ok", "oauth", "quickbooks: QuickBooks refreshed")
    one(out, "ok", "oauth", "google_calendar")
    one(out, "ok", "webhooks", "pos_to_accounting.square", "registered at Square")
    one(out, "ok", "webhooks", "pos_to_accounting.stripe", "registered at Stripe")
    one(out, "warn", "webhooks", "website_to_crm.tally", "switchboard webhooks register website_to_crm")
    one(out, "ok", "email", "daily_sales_report", "reports@bramble-bakery.example")
    one(out, "skip", "bootstrap")
    one(out, "skip", "alarms")
    one(out, "ok", "dlq", "empty")
    assert "Nothing blocks go-live on the local runtime" in out
    # The refresh went to the stand-in and the new tokens were stored: a worker's refresh would do the same.
    calls = httpx.get(
        f"{runtime.url}/_sandbox/quickbooks/_requests", params={"path": "/oauth2/v1/tokens/bearer"}, timeout=5
    ).json()["requests"]
    assert calls, "no token call reached the QuickBooks stand-in"

    report = json.loads(cli("doctor", "--json").stdout)
    assert report["ready"] is True and report["target"] == "the local runtime"
    assert {r["check"] for r in report["results"]} == {
        "bootstrap",
        "stacks",
        "connections",
        "oauth",
        "webhooks",
        "email",
        "alarms",
        "dlq",
    }


def test_a_half_configured_runtime_names_each_missing_piece_with_its_fix(
    runtime: LocalRuntime, cli: Any
) -> None:
    secrets = aws(runtime, "secretsmanager")
    slack = json.loads(secrets.get_secret_value(SecretId="switchboard/local/slack")["SecretString"])
    secrets.put_secret_value(
        SecretId="switchboard/local/slack", SecretString=json.dumps(slack | {"token": ""})
    )
    httpx.post(f"{runtime.url}/_sandbox/quickbooks/_oauth/revoke", timeout=5).raise_for_status()
    assert cli("webhooks", "remove", "pos_to_accounting").returncode == 0
    sqs = aws(runtime, "sqs")
    dlq = sqs.get_queue_url(QueueName="switchboard-local-website-to-crm-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"event_id": "evt-doctor"}))
    # The senders stay verified one by one; the domain that covered the recipients goes.
    ses = aws(runtime, "sesv2")
    ses.delete_email_identity(EmailIdentity="bramble-bakery.example")
    for sender in ("bookings", "reports", "hello"):
        ses.create_email_identity(EmailIdentity=f"{sender}@bramble-bakery.example")

    done = cli("doctor")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "Traceback" not in out + done.stderr
    one(out, "FAIL", "connections", "slack: token not set", "fix: switchboard secrets set slack token=-")
    one(out, "FAIL", "oauth", "quickbooks", "invalid_grant", "fix: switchboard connect quickbooks")
    one(out, "ok", "oauth", "google_calendar")  # revoking one app leaves the other alone
    for trigger in ("square", "stripe"):
        one(
            out,
            "FAIL",
            f"pos_to_accounting.{trigger}: not registered",
            "fix: switchboard webhooks register pos_to_accounting",
        )
    one(
        out,
        "FAIL",
        "dlq",
        "website_to_crm: 1 dead letter(s)",
        "fix: see `switchboard dlq list website_to_crm`",
    )
    one(out, "FAIL", "email", "daily_sales_report", "owner@bramble-bakery.example (report_to) is refused")
    one(out, "FAIL", "email", "new_lead_notify", "sales@bramble-bakery.example (sales_inbox)")
    one(out, "ok", "email", "daily_sales_report: sender reports@bramble-bakery.example")
    assert len(lines(out, "FAIL")) == 7, out
    assert "7 line(s) FAIL" in out
    for value in secret_values(runtime):
        assert value not in out, "a secret's value was printed"

    report = json.loads(cli("doctor", "--json").stdout)
    assert report["ready"] is False
    assert sum(r["status"] == "FAIL" for r in report["results"]) == 7

    # Fixing two of them clears exactly their lines.
    secrets.put_secret_value(SecretId="switchboard/local/slack", SecretString=json.dumps(slack))
    assert cli("webhooks", "register", "pos_to_accounting").returncode == 0
    again = cli("doctor").stdout
    assert [line for line in lines(again, "FAIL") if "slack" in line or "pos_to_accounting" in line] == []
    assert len(lines(again, "FAIL")) == 4, again


def test_a_pinned_notification_url_that_is_not_the_current_one_fails(runtime: LocalRuntime, cli: Any) -> None:
    assert cli("webhooks", "register", "pos_to_accounting").returncode == 0
    ssm = aws(runtime, "ssm")  # a signing secret: an SSM SecureString parameter
    name = "/switchboard/local/square_signing"
    value = json.loads(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
    assert value["notification_url"].endswith("/hooks/pos_to_accounting/square")
    ssm.put_parameter(
        Name=name,
        Value=json.dumps(value | {"notification_url": "https://old.example/hooks/x"}),
        Type="SecureString",
        Overwrite=True,
    )
    done = cli("doctor")
    assert done.returncode == 1
    one(
        done.stdout,
        "FAIL",
        "square_signing.notification_url is https://old.example/hooks/x",
        "webhooks register",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_runtime_is_failing_lines_with_the_reason_never_a_traceback(
    tmp_path: Path, cli: Any
) -> None:
    port = _free_port()  # nothing listens there
    state = tmp_path / ".switchboard" / "local.json"
    state.parent.mkdir(parents=True)
    state.write_text(
        json.dumps(
            {
                "gateway": f"http://127.0.0.1:{port}",
                "aws_endpoint": f"http://127.0.0.1:{port}",
                "region": "us-east-1",
                "stage": "local",
                "secret_prefix": "switchboard/local/",
            }
        )
    )
    done = cli("doctor", "--timeout", "20")
    # A record nothing answers for is stale: named in one line, never used (infra/local/locate.py).
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert done.stderr.startswith("switchboard: the local runtime recorded in ")
    assert "is stale" in done.stderr and "start it again with `make dev`" in done.stderr
    assert done.stderr.count("\n") == 1
    assert cli("doctor", "--timeout", "0").returncode == 2
