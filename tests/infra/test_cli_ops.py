"""The ``switchboard`` operations commands (urls, secrets, dlq, trace).

Against the local runtime the way an operator uses them: a real runtime (moto server, gateway,
pollers, sandbox HubSpot) started in the test, and the CLI run in a subprocess from the directory that
holds its state file. The deployed-stage paths (CloudFormation outputs, CloudWatch Logs, SQS message
move tasks) run in-process against moto (``mock_aws``) or a recording fake where moto has no API.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import httpx
import pytest

from infra.cdk.naming import dlq_name, log_group_name, queue_name, stack_names
from infra.cli import main
from infra.local.runtime import LocalRuntime
from infra.local.samples import EVENTS_DIR, build_request, load_sample
from infra.ops import dlq as dlq_ops
from infra.ops.target import CliError, OperationFailed, Target, resolve
from infra.ops.trace import ledger_hash, ledger_key, trace
from infra.ops.urls import print_urls
from shared.registry import load_spec, load_specs
from tests.support import cli

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SPEC = load_spec("website_to_crm")
REJECTS = EVENTS_DIR / "website_to_crm" / "form_post_hubspot_rejects.json"


# -- the local runtime and the CLI ---------------------------------------------------------------


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """The CLI in-process (``main``) from ``tmp_path``: fast, for the checks beyond the main flows."""
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str) -> subprocess.CompletedProcess[str]:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out, err)

    return invoke


def hubspot(rt: LocalRuntime, path: str, method: str = "GET", **kwargs: Any) -> Any:
    response = httpx.request(method, f"{rt.url}/_sandbox/hubspot/{path}", timeout=5, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


def dead_letter(rt: LocalRuntime, email: str) -> str:
    """Post the "HubSpot rejects" sample (with its 400 fault) from ``email``; returns its event id."""
    sample = load_sample(REJECTS, SPEC)
    for fault in sample.faults["hubspot"]:
        hubspot(rt, "_faults", "POST", json=fault)
    url, headers, body = build_request(SPEC, sample, rt.url, None)
    body = body.replace(b"lena%40fischer-kaffee.example", quote_plus(email).encode())
    answer = httpx.post(url, headers=headers, content=body, timeout=10)
    assert answer.status_code == 202, answer.text
    assert rt.wait_drained(30)
    return str(answer.json()["id"])


def follow_the_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the CLI at the file this process's website_to_crm logger writes to.

    Loggers (and their file handler) are made once per process: after an earlier test in the same
    worker, the runtime's lines may go to that test's log directory rather than this one's.
    """
    import logging

    for handler in logging.getLogger("switchboard.website_to_crm").handlers:
        if isinstance(handler, logging.FileHandler):
            monkeypatch.setenv("SWITCHBOARD_LOG_DIR", str(Path(handler.baseFilename).parent))


def contacts(rt: LocalRuntime) -> list[str]:
    return sorted(c["properties"]["email"] for c in hubspot(rt, "_state")["contacts"])


def dlq_depth(rt: LocalRuntime) -> int:
    return rt.queue_depths()["website_to_crm"][1]


# -- dead letters --------------------------------------------------------------------------------


def test_dlq_list_show_trace_and_replay_process_a_dead_letter_exactly_once(
    runtime: LocalRuntime, tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    event_id = dead_letter(runtime, "lena@fischer-kaffee.example")
    follow_the_logs(monkeypatch)
    assert dlq_depth(runtime) == 1 and contacts(runtime) == []

    listed = ok(cli(tmp_path, "dlq", "list", "website_to_crm"))
    assert event_id in listed and "target_rejected" in listed and "1 message(s)" in listed
    overview = ok(run("dlq", "list"))
    assert "website_to_crm                   1 dead letter(s)" in overview
    assert dlq_depth(runtime) == 1, "listing leaves the messages in the DLQ, visible"

    shown = ok(run("dlq", "show", event_id))
    assert "INVALID_PHONE_NUMBER" in shown and "attempts           1" in shown
    assert '"first_name": "L***"' in shown and "l***@fischer-kaffee.example" in shown
    assert "lena@" not in shown and "Fischer" not in shown and "5678" not in shown
    assert ok(run("dlq", "show", event_id[:14])) == shown  # a unique prefix will do

    before = ok(run("trace", event_id))
    assert "website_to_crm: DEAD-LETTERED (target_rejected)" in before
    assert "via form -> queued" in before and "sent to DLQ" in before

    hubspot(runtime, "_faults", "DELETE")  # the cause is fixed
    replayed = ok(cli(tmp_path, "dlq", "replay", event_id))
    assert "removed from the DLQ" in replayed
    assert runtime.wait_drained(30)
    assert contacts(runtime) == ["lena@fischer-kaffee.example"]
    assert dlq_depth(runtime) == 0

    after = ok(cli(tmp_path, "trace", event_id))
    assert (
        "website_to_crm: processed" in after
        and "DLQ switchboard-local-website-to-crm-dlq: not there" in after
    )
    steps = ["upsert_contact", "qualify", "note", "emit.lead.created"]
    lines = [ln.strip() for ln in after.splitlines() if ln.strip().startswith(("step ", "event "))]
    assert [ln.split()[1] for ln in lines[:-1]] == steps, after
    assert lines[-1].startswith("event") and all("COMPLETED" in ln for ln in lines)

    # The keys trace reads are the ones Powertools wrote: <prefix>#md5(json.dumps(event_id)).
    table = runtime.runtimes["website_to_crm"]
    ddb = table.aws("dynamodb")
    for step in (None, *steps):
        key = ledger_key("website_to_crm", event_id, step)
        item = ddb.get_item(TableName=table.table, Key={"id": {"S": key}}).get("Item")
        assert item and item["status"]["S"] == "COMPLETED", key

    again = run("dlq", "replay", event_id)
    assert again.returncode == 2 and again.stderr.startswith("switchboard: no dead letter")
    assert again.stderr.count("\n") == 1


def test_dlq_redrive_moves_every_dead_letter_back_and_each_is_processed_once(
    runtime: LocalRuntime, tmp_path: Path, run: Any
) -> None:
    first = dead_letter(runtime, "ana@example.com")
    second = dead_letter(runtime, "ben@example.com")
    assert dlq_depth(runtime) == 2

    rt = runtime.runtimes["website_to_crm"]
    peeked = rt.aws("sqs").receive_message(
        QueueUrl=rt.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageAttributeNames=["All"]
    )["Messages"]
    (stale_copy,) = [m["Body"] for m in peeked if json.loads(m["Body"])["event_id"] == first]

    hubspot(runtime, "_faults", "DELETE")
    moved = ok(cli(tmp_path, "dlq", "redrive", "website_to_crm"))
    assert "moving the messages here" in moved and "done: 2 message(s)" in moved
    assert runtime.wait_drained(30)
    assert contacts(runtime) == ["ana@example.com", "ben@example.com"]
    assert dlq_depth(runtime) == 0
    for event_id in (first, second):
        assert "website_to_crm: processed" in ok(run("trace", event_id))

    # A stale copy of a processed event that lands in the DLQ again is redriven as a duplicate.
    rt.aws("sqs").send_message(QueueUrl=rt.dlq_url, MessageBody=stale_copy)
    assert "done: 1 message(s)" in ok(run("dlq", "redrive", "website_to_crm"))
    assert runtime.wait_drained(30)
    assert contacts(runtime) == ["ana@example.com", "ben@example.com"]
    assert "done: 0 message(s)" in ok(run("dlq", "redrive", "website_to_crm"))


# -- secrets, urls -------------------------------------------------------------------------------


def test_secrets_set_merges_and_show_masks_and_urls_and_names_are_local(
    runtime: LocalRuntime, tmp_path: Path, run: Any
) -> None:
    name = "website_to_crm_signing"
    current = "whsec_bmV3LXNpZ25pbmctc2VjcmV0LWZvci10ZXN0cw=="
    previous = "whsec_b2xkLXNpZ25pbmctc2VjcmV0LWtlcHQtZm9yLWEtd2hpbGU="
    done = ok(
        cli(tmp_path, "secrets", "set", name, f"secret={current}", "previous_secret=-", stdin=previous + "\n")
    )
    assert current not in done and previous not in done and "set previous_secret, secret" in done

    rt = runtime.runtimes["website_to_crm"]
    stored = json.loads(  # a signing secret: an SSM SecureString parameter
        rt.aws("ssm").get_parameter(Name=f"/switchboard/local/{name}", WithDecryption=True)["Parameter"][
            "Value"
        ]
    )
    assert stored == {"secret": current, "previous_secret": previous}

    shown = ok(cli(tmp_path, "secrets", "show", name))
    assert current not in shown and previous not in shown
    assert f"secret           required  whs…({len(current)} chars)" in shown
    assert f"previous_secret  optional  whs…({len(previous)} chars)" in shown

    ok(run("secrets", "set", name, "previous_secret="))  # an empty optional field is removed
    stored = json.loads(  # a signing secret: an SSM SecureString parameter
        rt.aws("ssm").get_parameter(Name=f"/switchboard/local/{name}", WithDecryption=True)["Parameter"][
            "Value"
        ]
    )
    assert stored == {"secret": current}

    hubspot_shown = ok(run("secrets", "show", "hubspot"))
    assert "token     required  san…" in hubspot_shown and "sandbox-hubspot" not in hubspot_shown
    listed = ok(run("secrets", "list"))
    for spec in load_specs():
        for conn in spec.all_connections:
            assert f"switchboard/local/{conn.name}" in listed

    for args, says in (
        (
            ("set", name, "secrte=x"),
            "connection website_to_crm_signing has no field 'secrte'; its fields are: secret (required), previous_secret (optional)",
        ),
        (("set", name, "whsec_oops"), "argument 1 after the connection is not key=value"),
        (("set", name, "secret="), "secret is required for website_to_crm_signing"),
        (("set", name), "say what to set"),
        (("show", "no_such"), "no connection 'no_such'; there are: "),
    ):
        done = run("secrets", *args)
        assert done.returncode == 2, done
        assert done.stderr.startswith(f"switchboard: {says}") and done.stderr.count("\n") == 1, done.stderr
        assert "whsec_oops" not in done.stderr

    urls = ok(run("urls"))
    for spec in load_specs():
        for t in spec.http_triggers:
            assert f"{runtime.url}{t.path}" in urls and f"{spec.name}.{t.name}" in urls

    # The local runtime creates what the CDK app names (``infra.cdk.naming``), with stage ``local``.
    assert runtime.resources is not None
    assert runtime.resources.table == "switchboard-local-ledger"
    assert runtime.resources.bus == "switchboard-local"
    for spec in load_specs():
        if not spec.queued_triggers:  # as on AWS, a route-only integration has no queue
            assert runtime.resources.queue_urls(spec.name) == (None, None)
            continue
        queue_url, dlq_url = runtime.resources.queues[spec.name]
        assert queue_url.endswith("/" + queue_name("local", spec.name))
        assert dlq_url.endswith("/" + dlq_name("local", spec.name))
        assert "_" not in queue_url.rsplit("/", 1)[1]


def test_a_missing_aws_profile_is_one_line(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")
    for args in (
        ("dlq", "list", "--stage", "prod"),
        ("trace", "x", "--stage", "prod", "--region", "eu-west-2"),
    ):
        done = run(*args)
        assert done.returncode == 2, done
        assert done.stderr == (
            "switchboard: The config profile (no-such-profile) could not be found: "
            "set AWS_PROFILE to a profile in ~/.aws/config\n"
        )


def test_operations_errors_say_what_to_fix(tmp_path: Path, run: Any) -> None:
    """No runtime running here: every command says how to get one, in one line, exit 2."""
    for args, says in (
        (("dlq", "list", "website_to_crm"), "no local runtime is running here"),
        (("trace", "abc"), "no local runtime is running here"),
        (("secrets", "show", "hubspot"), "no local runtime is running here"),
        (("urls",), "no local runtime is running here"),
        (("trace", "abc", "--since", "5y"), "--since '5y': say how far back"),
        (("dlq", "redrive", "website_to_crm", "--rate", "0"), "--rate must be 1..500"),
        (("dlq", "list", "--stage", "Prod!"), "--stage 'Prod!' is not a stage name"),
        (("dlq", "frobnicate"), "argument action: invalid choice: 'frobnicate'"),
    ):
        done = run(*args)
        assert done.returncode == 2, (args, done)
        assert done.stderr.startswith(f"switchboard: {says}"), (args, done.stderr)
        assert done.stderr.count("\n") == 1, done.stderr


def test_every_command_group_module_is_registered_once() -> None:
    """A group is a module of infra/cli with ``register``; GROUPS lists each (a forgotten one has no command)."""
    import pkgutil

    import infra.cli

    modules = {m.name for m in pkgutil.iter_modules(infra.cli.__path__)} - {"core", "__main__"}
    registered = [register.__module__.removeprefix("infra.cli.") for register in infra.cli.GROUPS]
    assert sorted(registered) == sorted(modules)
    assert all(register.__name__ == "register" for register in infra.cli.GROUPS)


# -- deployed stages (in-process against moto, or a fake where moto has no API) --------------------


@pytest.fixture
def prod(aws: boto3.session.Session) -> Target:
    return resolve("prod", "us-east-1", state_file=Path("/nonexistent/local.json"))


def test_urls_of_a_stage_come_from_its_stack_outputs(prod: Target, aws: boto3.session.Session) -> None:
    outputs = {"ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com", "DashboardUrl": "https://dash"}
    outputs["WebsiteToCrmFormUrl"] = outputs["ApiUrl"] + "/forms/website_to_crm"
    template = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    aws.client("cloudformation").create_stack(
        StackName=stack_names("prod")[1], TemplateBody=json.dumps(template)
    )
    out = io.StringIO()
    print_urls(prod, out)
    text = out.getvalue()
    assert "POST  https://abc.execute-api.us-east-1.amazonaws.com/forms/website_to_crm" in text
    assert "(not deployed on this stage yet)" in text  # the webhook outputs are missing from this stack
    assert "dashboard: https://dash" in text

    with pytest.raises(CliError, match="not deployed in us-east-1"):
        print_urls(resolve("staging", "us-east-1", state_file=Path("/nonexistent")), io.StringIO())


def test_trace_of_a_stage_reads_the_table_the_dlq_and_cloudwatch_logs(
    prod: Target, aws: boto3.session.Session
) -> None:
    event_id = "evt_01HXYZ"
    ddb = aws.client("dynamodb")
    ddb.create_table(
        TableName="switchboard-prod-ledger",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for step in (None, "upsert_contact"):
        ddb.put_item(
            TableName="switchboard-prod-ledger",
            Item={
                "id": {"S": ledger_key("website_to_crm", event_id, step)},
                "status": {"S": "COMPLETED"},
                "expiration": {"N": str(2_000_000_000)},
                "data": {"S": json.dumps({"id": "10001", "email": "jo@example.com"})},
            },
        )
    sqs = aws.client("sqs")
    sqs.create_queue(QueueName=dlq_name("prod", "website_to_crm"))
    logs = aws.client("logs")
    group = log_group_name("prod", "website_to_crm")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    import time

    now = int(time.time() * 1000)
    lines = [
        {
            "level": "INFO",
            "message": "accepted",
            "timestamp": "2026-11-21 10:00:00",
            "trigger": "webhook",
            "event_ids": [event_id],
        },
        {
            "level": "INFO",
            "message": "processed",
            "timestamp": "2026-11-21 10:00:01",
            "event_id": event_id,
            "steps": ["upsert_contact"],
        },
        {
            "level": "INFO",
            "message": "processed",
            "timestamp": "2026-11-21 10:00:02",
            "event_id": "evt_other",
        },
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": now + i, "message": json.dumps(line)} for i, line in enumerate(lines)],
    )
    out = io.StringIO()
    assert trace(prod, event_id, out)
    text = out.getvalue()
    assert "website_to_crm: processed" in text
    assert "step upsert_contact" in text and "j***@example.com" in text and "jo@example.com" not in text
    assert "received   2026-11-21 10:00:00  via webhook -> queued" in text
    assert "log lines (2, /aws/lambda/switchboard-prod-website-to-crm)" in text
    assert "evt_other" not in text
    assert ledger_hash(event_id) in ledger_key("website_to_crm", event_id)

    nothing = io.StringIO()
    assert not trace(prod, "evt_unknown", nothing)
    assert "nothing found" in nothing.getvalue()


class _MoveTasks:
    """An SQS client with message move tasks (which moto lacks): started, then RUNNING, then ``end``."""

    def __init__(self, end: str) -> None:
        self.end = end
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.polls = 0

    def get_queue_url(self, QueueName: str) -> dict[str, str]:
        return {"QueueUrl": f"https://sqs/{QueueName}"}

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:1:" + QueueUrl.rsplit("/", 1)[1]}}

    def start_message_move_task(self, **kwargs: Any) -> dict[str, str]:
        self.calls.append(("start", kwargs))
        return {"TaskHandle": "handle-0123456789abcdef"}

    def list_message_move_tasks(self, **kwargs: Any) -> dict[str, Any]:
        self.polls += 1
        status = "RUNNING" if self.polls < 3 else self.end
        result = {
            "Status": status,
            "ApproximateNumberOfMessagesMoved": 3 * self.polls,
            "ApproximateNumberOfMessagesToMove": 9,
        }
        if status == "FAILED":
            result["FailureReason"] = "AccessDenied on the destination"
        return {"Results": [result]}


@pytest.mark.parametrize("end", ["COMPLETED", "FAILED"])
def test_redrive_on_a_stage_starts_a_move_task_to_the_queue_and_shows_progress(end: str) -> None:
    target = Target(stage="prod", region="us-east-1")
    fake = _MoveTasks(end)
    target._clients["sqs"] = fake

    def client(service: str, **config: Any) -> Any:
        return fake

    target.client = client  # type: ignore[method-assign]
    out = io.StringIO()
    if end == "FAILED":
        with pytest.raises(OperationFailed, match="ended FAILED: AccessDenied"):
            dlq_ops.redrive(target, "website_to_crm", out, rate=5, sleep=lambda _: None)
    else:
        dlq_ops.redrive(target, "website_to_crm", out, rate=5, sleep=lambda _: None)
        assert "done: 9 message(s) back on switchboard-prod-website-to-crm" in out.getvalue()
    ((_, started),) = fake.calls
    assert started == {
        "SourceArn": f"arn:aws:sqs:us-east-1:1:{dlq_name('prod', 'website_to_crm')}",
        "DestinationArn": f"arn:aws:sqs:us-east-1:1:{queue_name('prod', 'website_to_crm')}",
        "MaxNumberOfMessagesPerSecond": 5,
    }
    assert "RUNNING    moved 3/9" in out.getvalue()


def test_invoke_date_queue_reruns_a_day_on_the_running_runtime_once(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    """``--queue`` puts the day's tick on the running runtime's queue: its ledger knows the day was sent."""
    slack = runtime.sandboxes["slack"]

    def report_posts() -> int:
        with slack.lock:
            state = slack.state()
        return sum(1 for m in state["messages"] if "2026-11-20" in json.dumps(m) or "20 Nov" in json.dumps(m))

    first = ok(cli(tmp_path, "invoke", "daily_sales_report", "--date", "2026-11-20", "--queue"))
    assert (
        "queued 1 schedule tick(s) for 2026-11-20" in first
        and "switchboard trace report:all:2026-11-20" in first
    )
    assert runtime.wait_drained(60)
    posts = report_posts()
    assert posts == 1

    ok(cli(tmp_path, "invoke", "daily_sales_report", "--date", "2026-11-20", "--queue"))
    assert runtime.wait_drained(60)
    assert report_posts() == posts  # sent before: nothing sent again
    traced = ok(cli(tmp_path, "trace", "report:all:2026-11-20"))
    assert "slack.post" in traced

    wrong = cli(tmp_path, "invoke", "website_to_crm", "events/website_to_crm/webhook_lead.json", "--queue")
    assert wrong.returncode == 2 and "--date" in wrong.stderr
