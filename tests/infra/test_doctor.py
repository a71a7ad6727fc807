"""``switchboard doctor --stage``: the checks that only a deployed stage has, against moto.

moto stands in for AWS in-process (``mock_aws``): CloudFormation creates small stacks with the names,
functions (settings in their environment) and outputs the CDK app makes; SSM holds the bootstrap
version; SNS the alarm topic and its subscription; SES v2 the identities. Two answers moto does not
give are supplied in AWS's own shapes through botocore's event hooks: ``GetAccount`` (not implemented
in moto 5.2) and an email subscription still ``PendingConfirmation`` (moto confirms at once).
Also here: the runner's deadline and its error lines, and the declarations the email check reads.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto import mock_aws

from infra.cdk import naming
from infra.cli import main
from infra.local.runtime import local_settings
from infra.ops.dlq import queued_names
from infra.ops.doctor import CHECKS, doctor
from infra.ops.doctor.alarms import ALARMS, DLQS, PENDING
from infra.ops.doctor.connections import CONNECTIONS
from infra.ops.doctor.core import Check, Context, Result, run_checks
from infra.ops.doctor.deploy import BOOTSTRAP, STACKS
from infra.ops.doctor.ses import SES, address
from infra.ops.target import Target, connections, resolve
from shared import store
from shared.registry import load_specs

REGION = "eu-west-2"
ACCOUNT = "123456789012"  # moto's
STAGE_CHECKS = (BOOTSTRAP, STACKS, CONNECTIONS, SES, ALARMS, DLQS)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]


def deploy_core() -> str:
    template = {
        "Resources": {
            "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "switchboard-prod-alarms"}}
        },
        "Outputs": {"AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}}},
    }
    cfn = client("cloudformation")
    cfn.create_stack(StackName=naming.stack_names("prod")[0], TemplateBody=json.dumps(template))
    outputs = cfn.describe_stacks(StackName=naming.stack_names("prod")[0])["Stacks"][0]["Outputs"]
    return str(outputs[0]["OutputValue"])


def deploy_integrations(*, skip: str = "", extra: str = "") -> None:
    """One function per spec (its settings in SWITCHBOARD_SETTINGS, as the CDK construct sets them)."""
    iam = client("iam")
    try:
        role = iam.get_role(RoleName="fn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    names = [s.name for s in load_specs() if s.name != skip] + ([extra] if extra else [])
    resources = {}
    for name in names:
        spec = next((s for s in load_specs() if s.name == name), None)
        settings = local_settings(spec) if spec else "{}"
        resources[naming.pascal(name)] = {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "FunctionName": naming.function_name("prod", name),
                "Runtime": "python3.12",
                "Handler": "shared.entry.handler",
                "Role": role,
                "Code": {"ZipFile": "def handler(event, context): pass"},
                "Environment": {"Variables": {"SWITCHBOARD_SETTINGS": json.dumps(json.loads(settings))}},
            },
        }
    client("cloudformation").create_stack(
        StackName=naming.stack_names("prod")[1], TemplateBody=json.dumps({"Resources": resources})
    )


def complete_stage() -> str:
    """A stage with nothing missing; returns the alarm topic's ARN."""
    client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="27", Type="String")
    topic = deploy_core()
    deploy_integrations()
    client("sns").subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@bramble-bakery.example")
    sqs = client("sqs")
    for name in queued_names():
        sqs.create_queue(QueueName=naming.queue_name("prod", name))
        sqs.create_queue(QueueName=naming.dlq_name("prod", name))
    secrets = client("secretsmanager")
    for name, (conn, _) in connections().items():
        value = json.dumps({f: f"set-{f}" for f in conn.fields})
        if store.store_of(conn) == "ssm":  # a signing secret or own key: the operator's parameter
            client("ssm").put_parameter(
                Name=naming.parameter_name("prod", name), Value=value, Type="SecureString"
            )
        else:
            secrets.create_secret(Name=naming.secret_name("prod", name), SecretString=value)
    client("sesv2").create_email_identity(EmailIdentity="bramble-bakery.example")
    return topic


def account_answer(target: Target, **fields: Any) -> None:
    """SES's ``GetAccount`` answer, in its documented shape (moto has no such action)."""
    answer = {
        "SendingEnabled": True,
        "ProductionAccessEnabled": False,
        "EnforcementStatus": "HEALTHY",
    } | fields

    def reply(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        http = AWSResponse(f"https://email.{REGION}.amazonaws.com/v2/email/account", 200, HTTPHeaders(), None)
        return http, answer | {"ResponseMetadata": {"HTTPStatusCode": 200}}

    target.client("sesv2").meta.events.register("before-call.sesv2.GetAccount", reply)


def pending_subscriptions(target: Target) -> None:
    """AWS lists an unconfirmed email subscription with the ARN ``PendingConfirmation``."""

    def pending(parsed: dict[str, Any], **_: Any) -> None:
        for sub in parsed.get("Subscriptions", []):
            sub["SubscriptionArn"] = PENDING

    target.client("sns").meta.events.register("after-call.sns.ListSubscriptionsByTopic", pending)


def run(target: Target, checks: tuple[Check, ...] = STAGE_CHECKS) -> tuple[str, bool]:
    out = io.StringIO()
    report = doctor(target, out, checks=checks)
    return out.getvalue(), report.blocked


def line(out: str, status: str, *needles: str) -> str:
    """The one line of ``status`` (joined with its ``fix:`` line) that holds every needle."""
    rows = out.splitlines()
    joined = []
    for i, row in enumerate(rows):
        if row.startswith(f"{status:<4}  "):
            fix = rows[i + 1].strip() if i + 1 < len(rows) and rows[i + 1].strip().startswith("fix:") else ""
            joined.append(f"{row} | {fix}")
    hits = [j for j in joined if all(n in j for n in needles)]
    assert len(hits) == 1, f"{status} {needles} in:\n{out}"
    return hits[0]


def test_a_complete_stage_passes_every_stage_check(aws: None) -> None:
    complete_stage()
    target = resolve("prod", REGION)
    account_answer(target, ProductionAccessEnabled=True)
    out, blocked = run(target)
    assert not blocked, out
    assert "FAIL" not in out
    line(out, "ok", "bootstrap", "version 27 in eu-west-2")
    line(out, "ok", "stacks", "Switchboard-prod-core CREATE_COMPLETE")
    line(out, "ok", "stacks", f"{len(load_specs())} functions deployed")
    line(out, "ok", "connections", "required fields set")
    line(out, "ok", "email", "production access")
    line(out, "ok", "email", "daily_sales_report: sender reports@bramble-bakery.example")
    line(out, "ok", "alarms", "email:ops@bramble-bakery.example confirmed")
    line(out, "ok", "dlq", f"{len(queued_names())} DLQ(s) empty")


def test_a_half_deployed_stage_names_each_gap_with_its_fix(aws: None) -> None:
    complete_stage()
    client("ssm").delete_parameter(Name="/cdk-bootstrap/hnb659fds/version")
    client("cloudformation").delete_stack(StackName=naming.stack_names("prod")[1])
    deploy_integrations(skip="stock_level", extra="old_integration")
    client("sesv2").delete_email_identity(EmailIdentity="bramble-bakery.example")
    client("sesv2").create_email_identity(EmailIdentity="reports@bramble-bakery.example")
    secrets = client("secretsmanager")
    secrets.put_secret_value(
        SecretId="switchboard/prod/square", SecretString=json.dumps({"note": "created, never filled in"})
    )
    sqs = client("sqs")
    dlq = sqs.get_queue_url(QueueName=naming.dlq_name("prod", "pos_to_accounting"))["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    target = resolve("prod", REGION)
    account_answer(target, ProductionAccessEnabled=False, Details={"ReviewDetails": {"Status": "PENDING"}})
    pending_subscriptions(target)

    out, blocked = run(target)
    assert blocked
    line(
        out,
        "FAIL",
        "bootstrap",
        "not bootstrapped in eu-west-2",
        f"npx cdk bootstrap aws://{ACCOUNT}/{REGION}",
    )
    line(out, "FAIL", "stacks", "not deployed yet: stock_level", "make deploy STAGE=prod")
    line(out, "FAIL", "stacks", "deployed but not in the code: switchboard-prod-old-integration")
    line(
        out,
        "FAIL",
        "connections",
        "square: token not set",
        "switchboard secrets set square token=- --stage prod",
    )
    line(out, "warn", "email", "sandbox (request pending)", "request production access")
    line(out, "ok", "email", "daily_sales_report: sender reports@bramble-bakery.example")
    line(
        out,
        "FAIL",
        "email",
        "new_lead_notify: sender hello@bramble-bakery.example is not a verified",
        "create-email-identity --email-identity bramble-bakery.example --region eu-west-2",
    )
    line(
        out,
        "FAIL",
        "email",
        "daily_sales_report: in the SES sandbox mail to owner@bramble-bakery.example (report_to)",
    )
    line(
        out,
        "FAIL",
        "alarms",
        "email:ops@bramble-bakery.example is not confirmed",
        "confirm the email sent to ops@bramble-bakery.example",
    )
    line(
        out,
        "FAIL",
        "dlq",
        "pos_to_accounting: 2 dead letter(s)",
        "switchboard dlq list pos_to_accounting --stage prod",
    )


def test_a_stage_in_trouble_reports_its_stack_status(aws: None) -> None:
    client("ssm").put_parameter(Name="/cdk-bootstrap/hnb659fds/version", Value="5", Type="String")
    target = resolve("prod", REGION)

    def rolled_back(parsed: dict[str, Any], **_: Any) -> None:
        for stack in parsed.get("Stacks", []):
            stack["StackStatus"] = "ROLLBACK_COMPLETE"
            stack["StackStatusReason"] = "Unable to find Route by key POST /hooks/x"

    deploy_core()
    target.client("cloudformation").meta.events.register(
        "after-call.cloudformation.DescribeStacks", rolled_back
    )
    out, blocked = run(target, (BOOTSTRAP, STACKS, ALARMS))
    assert blocked
    line(out, "FAIL", "bootstrap", "version 5", "older than the templates accept")
    line(
        out,
        "FAIL",
        "stacks",
        "Switchboard-prod-core is ROLLBACK_COMPLETE: Unable to find Route",
        "delete-stack",
    )
    line(out, "FAIL", "stacks", "Switchboard-prod-integrations is not deployed", "make deploy STAGE=prod")


def test_an_empty_account_through_the_cli_exits_1_with_fixes_and_no_traceback(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["doctor", "--stage", "prod", "--region", REGION])
    out, err = capsys.readouterr()
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert out.startswith("Checking stage prod (eu-west-2) for go-live:")
    line(out, "FAIL", "bootstrap", "npx cdk bootstrap")
    line(out, "FAIL", "stacks", "Switchboard-prod-core is not deployed")
    line(
        out,
        "FAIL",
        "connections",
        "quickbooks: secret switchboard/prod/quickbooks does not exist",
        "make deploy STAGE=prod",
    )
    line(out, "FAIL", "alarms", "no alarm topic")
    assert "FAIL  webhooks      pos_to_accounting: stack Switchboard-prod-integrations is not deployed" in out
    assert main(["doctor", "--stage", "prod", "--region", REGION, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is False and report["target"] == "stage prod (eu-west-2)"
    assert {r["check"] for r in report["results"]} == {c.name for c in CHECKS}


# -- the runner ----------------------------------------------------------------------------------


def _ctx() -> Context:
    return Context(Target(stage="prod", region=REGION), tuple(load_specs()))


def test_a_check_that_hangs_is_a_failing_line_after_its_deadline_and_the_next_check_still_runs() -> None:
    def hang(_: Context) -> list[Result]:
        time.sleep(5)
        return []

    started = time.monotonic()
    report = run_checks(
        (Check("slow", "a slow service", hang), Check("fast", "x", lambda _: [Result("fast", "ok", "done")])),
        _ctx(),
        timeout_s=0.3,
    )
    assert time.monotonic() - started < 2
    assert report.results[0] == Result(
        "slow",
        "FAIL",
        "no answer within 0.3 s while checking a slow service",
        "check the network to the services named above and run `switchboard doctor` again",
    )
    assert report.results[1].status == "ok" and report.blocked


def test_a_check_that_raises_is_one_line_with_the_reason_and_no_credential() -> None:
    def broken(_: Context) -> list[Result]:
        raise RuntimeError(
            "the provider said no: Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123\nline two"
        )

    (result,) = run_checks((Check("oauth", "the refresh", broken),), _ctx()).results
    assert result.status == "FAIL"
    assert result.message.startswith("could not check the refresh: RuntimeError: the provider said no")
    assert "abcdefghijklmnopqrstuvwxyz0123" not in result.message and "line two" not in result.message


def test_warnings_and_skips_do_not_block_go_live() -> None:
    rows = [Result("a", "ok", "x"), Result("b", "warn", "y", "do z"), Result("c", "skip", "n/a")]
    report = run_checks((Check("all", "x", lambda _: rows),), _ctx())
    assert not report.blocked


# -- what the email check reads --------------------------------------------------------------------


def test_every_declared_recipient_is_a_settings_field_of_its_spec() -> None:
    declared = 0
    for spec in load_specs():
        if spec.email is None:
            continue
        for key in (spec.email.from_setting, *spec.email.recipients):
            assert key in spec.settings.model_fields, f"{spec.name}: settings has no field {key!r}"
            declared += 1
    assert declared >= 6  # four senders, two with fixed recipients


def test_addresses_are_read_from_display_forms_and_bad_values_are_none() -> None:
    assert address("Bramble Bakery <Hello@Bramble-Bakery.example>") == "hello@bramble-bakery.example"
    assert address("owner@bramble-bakery.example") == "owner@bramble-bakery.example"
    assert address("") is None and address("not an address") is None and address(None) is None
