"""Each function's role grants what its spec and its code call for, and nothing more.

The expected policy of a function is computed here from its spec and from the code it is bundled
with - never from a list of grants per integration - and compared with the synthesized one as sets of
``(action, resource, condition)``: an extra action, resource or condition fails as surely as a missing
one.

* logs: its own log group (``CreateLogStream``, ``PutLogEvents``); X-Ray: ``*`` (its only resource);
* queues: the SQS operations the bundled code makes, by the queue they name (``QueueUrl=
  rt.queue_url`` / ``rt.dlq_url``, read from the source), plus what Lambda's SQS poller needs on the
  queue - only for a spec with a queued trigger;
* secrets: ``GetSecretValue`` on each connection the spec declares, ``PutSecretValue`` on its OAuth
  2.0 ones; never an operator-only connection;
* the ledger table: the DynamoDB operations of the ledger door
  that the code makes (:mod:`infra.cdk.access` reads them from the source; the first tests here
  check that reading against what the code does when it runs), scoped to the spec's keys;
* the bus if the spec emits; SES if it sends email, only with its From address.

And the keys the code writes must be inside that scope: every key prefix written in a function's
bundled code is its own (``<integration>#``) or the OAuth lease prefix, never another's.
"""

from __future__ import annotations

import ast
import email.utils
import fnmatch
import json
import re
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore import xform_name

from infra.cdk import access
from infra.cdk.app import build_app
from infra.cdk.integration import DLQ_ACTIONS, QUEUE_ACTIONS, SES_ACTIONS, from_addresses
from infra.cdk.naming import secret_name
from shared import store
from shared.registry import load_specs
from shared.spec import IntegrationSpec
from shared.table import Table
from tests.infra.cdk_apps import (
    BETA,
    REAL_CONTEXT,
    ROOT,
    SAMPLE_SETTINGS,
    SKIP_BUNDLING,
    SYNTHETIC,
    SYNTHETIC_SETTINGS,
    Synth,
    inline_code,
    listify,
    parts,
    rendered,
    role_statements,
)

pytestmark = pytest.mark.cdk

Grant = tuple[str, str, str]  # (action, resource, condition as sorted JSON)

#: What Lambda's SQS poller calls on the queue with the function's role
#: (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions).
POLLER_ACTIONS = frozenset({"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"})
#: IAM authorises a batch SQS call as its single form (SendMessageBatch needs sqs:SendMessage).
_BATCH = "Batch"


# -- normalising a policy ------------------------------------------------------------------------


def _resource(value: Any) -> str:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical_id, attribute = value["Fn::GetAtt"]
        return f"{logical_id}.{attribute}"
    if isinstance(value, dict) and "Fn::GetStackOutput" in value:
        return f"core:{value['Fn::GetStackOutput']['OutputName']}"
    return rendered(value)


def _condition(condition: dict[str, Any] | None) -> str:
    def sort(value: Any) -> Any:
        if isinstance(value, dict) and ("Fn::Join" in value or "Ref" in value):
            return rendered(value)  # an ARN or a service name built from the stack's region
        if isinstance(value, dict):
            return {k: sort(v) for k, v in value.items()}
        if isinstance(value, list):
            return sorted(sort(v) for v in value)
        return value

    return json.dumps(sort(condition or {}), sort_keys=True)


def grants(statements: Iterable[dict[str, Any]]) -> set[Grant]:
    found: set[Grant] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow", statement
        assert "NotAction" not in statement and "NotResource" not in statement, statement
        condition = _condition(statement.get("Condition"))
        for action in listify(statement["Action"]):
            for resource in listify(statement["Resource"]):
                found.add((action, _resource(resource), condition))
    return found


# -- what the spec and the code call for ---------------------------------------------------------


def _core_output(synth: Synth, logical_type: str) -> str:
    """How the integrations stack names the ARN of the core stack's one resource of a type."""
    (logical_id,) = [k for k, r in synth.core["Resources"].items() if r["Type"] == logical_type]
    names = [k for k, o in synth.core["Outputs"].items() if o["Value"] == {"Fn::GetAtt": [logical_id, "Arn"]}]
    assert names, f"the core stack exports no ARN of {logical_id}"
    used = [n for n in names if f'"OutputName": "{n}"' in json.dumps(synth.integrations)]
    assert len(used) == 1, (logical_id, names)
    return f"core:{used[0]}"


def sqs_calls(spec: IntegrationSpec) -> dict[str, set[str]]:
    """``{"queue_url": {"sqs:SendMessage", ...}, "dlq_url": {...}}``: the SQS calls the bundled code
    makes, by the queue their ``QueueUrl=`` names."""
    operations = {xform_name(op): op for op in _sqs_operation_names()}
    found: dict[str, set[str]] = {"queue_url": set(), "dlq_url": set()}
    for path in access.bundle_files(spec.name):
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            for keyword in node.keywords:
                if keyword.arg != "QueueUrl":
                    continue
                which = ast.unparse(keyword.value).rsplit(".", 1)[-1]
                assert which in found, f"{path}: {node.func.attr}(QueueUrl={which}) names an unknown queue"
                operation = operations[node.func.attr].removesuffix(_BATCH)
                found[which].add(f"sqs:{operation}")
    return found


def _sqs_operation_names() -> list[str]:
    import botocore.session

    return list(botocore.session.get_session().get_service_model("sqs").operation_names)


#: ``kms:Decrypt``'s resource: the account's keys (``aws/ssm``'s id is unknown), scoped by conditions.
KMS_KEYS = "arn:{AWS::Partition}:kms:{AWS::Region}:{AWS::AccountId}:key/*"


def parameter_arn(stage: str, connection: str) -> str:
    """The ARN of a connection's SSM parameter, as the roles name it (no wildcard: exactly one)."""
    return f"arn:{{AWS::Partition}}:ssm:{{AWS::Region}}:{{AWS::AccountId}}:parameter/switchboard/{stage}/{connection}"


def expected_grants(synth: Synth, spec: IntegrationSpec) -> set[Grant]:
    p = parts(synth, spec)
    none = _condition(None)
    expected: set[Grant] = {
        ("logs:CreateLogStream", f"{p.log_group}.Arn", none),
        ("logs:PutLogEvents", f"{p.log_group}.Arn", none),
        ("xray:PutTraceSegments", "*", none),
        ("xray:PutTelemetryRecords", "*", none),
    }
    if spec.queued_triggers:
        calls = sqs_calls(spec)
        expected |= {(a, f"{p.queue}.Arn", none) for a in POLLER_ACTIONS | calls["queue_url"]}
        expected |= {(a, f"{p.dlq}.Arn", none) for a in calls["dlq_url"]}
    parameters: list[str] = []
    for conn in spec.all_connections:
        if store.store_of(conn) == "ssm":
            parameters.append(parameter_arn(synth.stage, conn.name))
            continue
        arn = f"arn:{{AWS::Partition}}:secretsmanager:{{AWS::Region}}:{{AWS::AccountId}}:secret:{secret_name(synth.stage, conn.name)}-??????"
        expected.add(("secretsmanager:GetSecretValue", arn, none))
        if conn.kind == "oauth2":
            expected.add(("secretsmanager:PutSecretValue", arn, none))
    if parameters:
        expected |= {("ssm:GetParameter", arn, none) for arn in parameters}
        through_ssm = _condition(
            {
                "StringEquals": {
                    "kms:ViaService": "ssm.{AWS::Region}.amazonaws.com",
                    "kms:EncryptionContext:PARAMETER_ARN": parameters,
                }
            }
        )
        expected.add(("kms:Decrypt", KMS_KEYS, through_ssm))
    if spec.emits:
        expected.add(("events:PutEvents", _core_output(synth, "AWS::Events::EventBus"), none))
    scope = _condition(
        {
            "ForAllValues:StringLike": {
                access.LEADING_KEYS: list(access.ledger_key_patterns(spec, synth.stage))
            },
            "Null": {access.LEADING_KEYS: "false"},
        }
    )
    table = _core_output(synth, "AWS::DynamoDB::Table")
    expected |= {(a, table, scope) for a in access.table_actions(spec)}
    if spec.email is not None:
        everyone: dict[str, Any] = SYNTHETIC_SETTINGS if spec in SYNTHETIC else REAL_CONTEXT["settings"]
        settings = everyone.get(spec.name)
        sender = _condition({"StringEquals": {"ses:FromAddress": list(from_addresses(spec, settings))}})
        identities = "arn:{AWS::Partition}:ses:{AWS::Region}:{AWS::AccountId}:identity/*"
        expected |= {(a, identities, sender) for a in SES_ACTIONS}
    return expected


CASES = (
    [("real", s) for s in load_specs()]
    + [("synthetic", s) for s in SYNTHETIC]
    + [("prod", s) for s in SYNTHETIC]
)


@pytest.mark.parametrize(("app", "spec"), CASES, ids=[f"{a}-{s.name}" for a, s in CASES])
def test_each_role_grants_exactly_what_its_spec_and_code_call_for(
    app: str, spec: IntegrationSpec, request: pytest.FixtureRequest
) -> None:
    synth: Synth = request.getfixturevalue(app)
    granted = grants(role_statements(synth, parts(synth, spec).role))
    expected = expected_grants(synth, spec)
    assert sorted(granted - expected) == [], "granted but not called for"
    assert sorted(expected - granted) == [], "called for but not granted"


def test_a_role_reads_exactly_its_own_parameters_and_no_other_functions(real: Synth) -> None:
    """Signing secrets and own keys are SSM parameters: each role may read its own, none of another's,
    may write none, and may decrypt only through SSM for those same parameters."""
    every = {
        parameter_arn(real.stage, c.name)
        for s in load_specs()
        for c in s.all_connections
        if store.store_of(c) == "ssm"
    }
    assert len(every) >= 10  # the signing secrets, the stock API keys, the connect-link key
    checked = 0
    for spec in load_specs():
        found = grants(role_statements(real, parts(real, spec).role))
        own = {
            parameter_arn(real.stage, n.removeprefix(f"/switchboard/{real.stage}/"))
            for n in access.parameter_names(spec, real.stage)
        }
        readable = {r for a, r, _ in found if a == "ssm:GetParameter"}
        assert readable == own, spec.name
        assert not readable & (every - own), spec.name
        assert not {a for a, _, _ in found if a.startswith("ssm:") and a != "ssm:GetParameter"}, spec.name
        decrypt = [json.loads(c) for a, _, c in found if a == "kms:Decrypt"]
        if own:
            (condition,) = decrypt
            assert condition["StringEquals"]["kms:ViaService"] == "ssm.{AWS::Region}.amazonaws.com"
            assert set(condition["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"]) == own
            checked += 1
        else:
            assert decrypt == [], spec.name
        # A connection kept in SSM has no secret to read.
        secrets = {r for a, r, _ in found if a.startswith("secretsmanager:")}
        assert not any(f"/{c.name}-" in r for r in secrets for c in access.parameter_connections(spec))
    assert checked >= 8


class _RecordingSes:
    """An SES v2 client that keeps the requests it is sent (the From address the function sends)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def send_email(self, **request: Any) -> dict[str, str]:
        self.requests.append(request)
        return {"MessageId": "m-1"}


class _SesRuntime:
    def __init__(self, ses: _RecordingSes) -> None:
        self.ses = ses

    def aws(self, service: str) -> _RecordingSes:
        assert service == "sesv2", service
        return self.ses


def _address_sent_from(setting: str) -> str:
    """The bare From address SES sees when the function sends with ``setting`` as its From."""
    from shared.email import send_email

    ses = _RecordingSes()
    send_email(_SesRuntime(ses), from_address=setting, to="ada@example.org", subject="s", html="h", text="t")  # type: ignore[arg-type]
    (request,) = ses.requests
    return email.utils.parseaddr(request["FromEmailAddress"])[1]


def test_the_real_email_senders_may_send_exactly_from_their_settings_address(real: Synth) -> None:
    """The positive SES grant on the real specs' template: each function that sends email gets one
    statement, ``ses:SendEmail`` (and ``ses:SendRawEmail``, how SES authorises a send with
    attachments) on the account's identities, only while ``ses:FromAddress`` is the address its
    settings name - the one it actually sends from; every other function gets no SES action at all.
    Expected values come from the settings files and from what ``send_email`` sends, not from the
    infrastructure code's own helpers."""
    senders = {s.name for s in load_specs() if s.email is not None}
    assert senders, "no real integration sends email: this test would check nothing"
    for spec in load_specs():
        statements = role_statements(real, parts(real, spec).role)
        ses = [s for s in statements if any(str(a).startswith("ses:") for a in listify(s["Action"]))]
        if spec.email is None:
            assert ses == [], spec.name
            continue
        setting = str(SAMPLE_SETTINGS[spec.name][spec.email.from_setting])
        bare = email.utils.parseaddr(setting)[1]
        local, _, domain = bare.rpartition("@")
        assert local and "." in domain, f"{spec.name}: the sample From {setting!r} is not an address"
        sent = _address_sent_from(setting)
        assert sent == bare
        (statement,) = ses
        assert statement["Effect"] == "Allow", spec.name
        assert sorted(listify(statement["Action"])) == ["ses:SendEmail", "ses:SendRawEmail"], spec.name
        assert [rendered(r) for r in listify(statement["Resource"])] == [
            "arn:{AWS::Partition}:ses:{AWS::Region}:{AWS::AccountId}:identity/*"
        ], spec.name
        # As sent, and with the domain in lower case (SES compares case-sensitively; one mailbox).
        assert statement["Condition"] == {
            "StringEquals": {"ses:FromAddress": sorted({sent, f"{local}@{domain.lower()}"})}
        }, spec.name


def test_the_comparison_fails_on_an_extra_action_resource_or_condition(synthetic: Synth) -> None:
    spec = SYNTHETIC[0]
    statements = role_statements(synthetic, parts(synthetic, spec).role)
    expected = expected_grants(synthetic, spec)
    assert grants(statements) == expected
    wider = [*statements, {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": "*"}]
    assert grants(wider) - expected == {("dynamodb:Scan", "*", "{}")}
    (table,) = [s for s in statements if "dynamodb:GetItem" in listify(s["Action"])]
    unscoped = [s for s in statements if s is not table] + [
        {k: v for k, v in table.items() if k != "Condition"}
    ]
    assert {g[0] for g in grants(unscoped) - expected} == set(listify(table["Action"]))


def test_what_the_queues_are_called_with_is_read_from_the_code() -> None:
    (spec,) = [s for s in load_specs() if s.name == "website_to_crm"]
    calls = sqs_calls(spec)
    # ingress: send_message(_batch) on the queue; worker: back-off on the queue, dead letters on the DLQ
    assert calls == {
        "queue_url": {"sqs:SendMessage", "sqs:ChangeMessageVisibility"},
        "dlq_url": {"sqs:SendMessage"},
    }
    assert set(QUEUE_ACTIONS) == POLLER_ACTIONS | calls["queue_url"]
    assert set(DLQ_ACTIONS) == calls["dlq_url"]


# -- the DynamoDB operations read from the code are the ones the code makes -----------------------


class RecordingClient:
    """A DynamoDB client that answers every call with ``{}`` and remembers the operations."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Any:
        if method.startswith("_"):
            raise AttributeError(method)

        def call(**_: Any) -> dict[str, Any]:
            self.calls.append(method)
            return {}

        return call


def _door_calls() -> dict[str, Any]:
    item = {"id": "x#1", "n": 1}
    return {
        "get": lambda t: t.get("x#1"),
        "put": lambda t: t.put(item),
        "put_if_absent": lambda t: t.put_if_absent(item),
        "update": lambda t: t.update("x#1", "SET n = :n", values={":n": 2}),
        "delete": lambda t: t.delete("x#1"),
        "scan": lambda t: list(t.scan()),
        "get_batch": lambda t: t.get_batch(["x#1", "x#2"]),
        "put_batch": lambda t: t.put_batch([item]),
    }


def test_the_door_operations_read_from_source_are_what_each_method_calls() -> None:
    read = access.door_operations()
    calls = _door_calls()
    assert set(read) == set(calls), "a door method without a call here: add one"
    for method, call in calls.items():
        client = RecordingClient()
        call(Table(client, "t"))
        assert read[method] == {_operation("dynamodb", c) for c in client.calls}, method


def _operation(service: str, method: str) -> str:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}[method]


def test_only_the_function_that_batches_gets_batch_operations() -> None:
    by_name = {s.name: access.table_actions(s) for s in load_specs()}
    batchers = {n for n, actions in by_name.items() if "dynamodb:BatchGetItem" in actions}
    assert "stock_level" in batchers  # its cache reads and writes SKUs in batches
    for name in batchers:
        text = "\n".join(
            (ROOT / p).read_text() for p in access.bundle_files(name) if p != Path("shared/table.py")
        )
        assert ".get_batch(" in text
    assert all("dynamodb:Scan" not in actions for actions in by_name.values())


def test_a_scan_in_a_functions_code_fails_synthesis(tmp_path: Path) -> None:
    """A scan names no key, so LeadingKeys cannot scope it: the function may not make one."""
    shutil.copytree(ROOT / "shared", tmp_path / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "apps").mkdir()
    folder = tmp_path / "functions" / "beta_flow"
    folder.mkdir(parents=True)
    (tmp_path / "functions" / "__init__.py").write_text("")
    (folder / "spec.py").write_text("")
    (folder / "report.py").write_text("def everything(table):\n    return list(table.scan())\n")
    with pytest.raises(ValueError, match=r"functions/beta_flow/report\.py calls Table\.scan"):
        access.table_actions(BETA, tmp_path)
    (folder / "report.py").write_text("def one(table, key):\n    return table.get(key)\n")
    assert "dynamodb:Scan" not in access.table_actions(BETA, tmp_path)


def test_an_integration_named_like_the_lease_prefix_is_refused() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="integration name 'oauth' is reserved"):
        build_app(SKIP_BUNDLING, (replace(BETA, name="oauth"),), code=inline_code)


# -- the keys the code writes are inside the function's scope ------------------------------------

_PREFIX = re.compile(r"^[a-z][a-z0-9_]*#")


def key_prefixes(source: str) -> Iterator[str]:
    """Ledger key prefixes written in ``source``: ``"<word>#"`` at the start of a string literal or
    an f-string (``f"{rt.name}#..."`` gives ``"<own>#"``). A literal appended to something else
    (``PREFIX + "link#"``) or inside an f-string is the middle of a key, not its start."""
    tree = ast.parse(source)
    inner: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inner.update(id(v) for v in node.values)
            head = node.values[0] if node.values else None
            if isinstance(head, ast.Constant) and isinstance(head.value, str):
                found = _PREFIX.match(head.value)
                if found:
                    yield found.group()
            elif isinstance(head, ast.FormattedValue) and len(node.values) > 1:
                after = node.values[1]
                if isinstance(after, ast.Constant) and str(after.value).startswith("#"):
                    expression = ast.unparse(head.value)
                    own = expression == "integration" or expression.endswith("rt.name")
                    yield "<own>#" if own else f"{{{expression}}}#"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            inner.add(id(node.right))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in inner:
            found = _PREFIX.match(node.value)
            if found:
                yield found.group()


def out_of_scope(spec: IntegrationSpec, stage: str, root: Path = ROOT) -> list[str]:
    patterns = access.ledger_key_patterns(spec, stage)
    problems = []
    for path in access.bundle_files(spec.name, root):
        for prefix in key_prefixes((root / path).read_text()):
            key = prefix.replace("<own>", spec.name)
            if prefix in (access.OAUTH_LEASE_PREFIX, access.HEALTH_PREFIX):
                continue  # a connection's lease, an app's breaker: granted per connection (tests below)
            if not any(fnmatch.fnmatchcase(f"{key}x", p) for p in patterns):
                problems.append(f"{path}: keys starting {prefix!r} are outside {list(patterns)}")
    return problems


@pytest.mark.parametrize("spec", load_specs(), ids=lambda s: s.name)
def test_every_key_the_code_writes_is_inside_the_functions_scope(spec: IntegrationSpec) -> None:
    assert out_of_scope(spec, "dev") == []


def test_the_lease_keys_are_inside_the_scope_of_each_function_with_the_connection() -> None:
    from shared.runtime import Runtime

    for spec in [*load_specs(), *SYNTHETIC]:
        patterns = access.ledger_key_patterns(spec, "dev")
        for conn in spec.all_connections:
            if conn.kind != "oauth2":
                continue
            rt = Runtime(
                spec=spec,
                stage="dev",
                queue_url=None,
                dlq_url=None,
                table="t",
                bus="b",
                secret_prefix="switchboard/dev/",
            )
            lease = f"{access.OAUTH_LEASE_PREFIX}{rt.secret_prefix}{conn.name}"
            for key in (lease, f"{lease}#answer-lost"):
                assert any(fnmatch.fnmatchcase(key, p) for p in patterns), (spec.name, key)
        others = {c.name for s in load_specs() for c in s.all_connections} - {
            c.name for c in spec.all_connections
        }
        for other in others:
            key = f"{access.OAUTH_LEASE_PREFIX}switchboard/dev/{other}"
            assert not any(fnmatch.fnmatchcase(key, p) for p in patterns), (spec.name, key)


def test_each_worker_gets_exactly_the_breakers_of_the_apps_it_calls() -> None:
    """``health#<app>`` is shared by every integration calling the app, and granted to no other."""
    from shared.health import health_key

    every_app = {c.app for s in load_specs() for c in s.all_connections}
    for spec in [*load_specs(), *SYNTHETIC]:
        patterns = access.ledger_key_patterns(spec, "prod")
        called = (
            {c.app for c in spec.connections if c.kind in ("api", "oauth2")}
            if spec.queued_triggers
            else set()
        )
        breakers = [p for p in patterns if p.startswith(access.HEALTH_PREFIX)]
        assert breakers == sorted(health_key(app) for app in called), spec.name  # exact keys, no wildcard
        for app in every_app | {"acme"}:
            granted = any(fnmatch.fnmatchcase(health_key(app), p) for p in patterns)
            assert granted == (app in called), (spec.name, app)
    calls_hubspot = [
        s.name for s in load_specs() if health_key("hubspot") in access.ledger_key_patterns(s, "prod")
    ]
    assert {"website_to_crm", "new_lead_notify", "lead_enrichment"} <= set(calls_hubspot)


def test_the_synthesized_roles_scope_the_table_to_their_breakers_and_no_others(real: Synth) -> None:
    for spec in load_specs():
        keys = [
            key
            for statement in role_statements(real, parts(real, spec).role)
            for key in statement.get("Condition", {})
            .get("ForAllValues:StringLike", {})
            .get(access.LEADING_KEYS, [])
        ]
        assert [k for k in keys if k.startswith(access.HEALTH_PREFIX)] == list(access.breaker_keys(spec)), (
            spec.name
        )
    assert access.breaker_keys(next(s for s in load_specs() if s.name == "pos_to_accounting")) == (
        "health#quickbooks",
        "health#square",
        "health#xero",
    )


def test_the_key_check_fails_on_a_key_of_another_kind(tmp_path: Path) -> None:
    source = (
        'AUDIT: Final = "mcp#audit#"\n'
        'ITEM = "apikey#"\n'
        'def key(rt, n):\n    return f"{rt.name}#counter#{n}", f"{other.name}#x", PREFIX + "link#", f"x{n}Z#"\n'
    )
    assert sorted(key_prefixes(source)) == ["<own>#", "apikey#", "mcp#", "{other.name}#"]
    shutil.copytree(ROOT / "shared", tmp_path / "shared", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "apps").mkdir()
    folder = tmp_path / "functions" / "beta_flow"
    folder.mkdir(parents=True)
    (tmp_path / "functions" / "__init__.py").write_text("")
    (folder / "spec.py").write_text("")
    (folder / "keys.py").write_text(source)
    problems = out_of_scope(BETA, "dev", tmp_path)
    assert sorted(problems) == sorted(
        f"functions/beta_flow/keys.py: keys starting {prefix!r} are outside "
        f"{list(access.ledger_key_patterns(BETA, 'dev'))}"
        for prefix in ("mcp#", "apikey#", "{other.name}#")
    )
