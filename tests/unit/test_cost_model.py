"""The cost model (``infra.cost``) and ``switchboard cost``: counting from a small template, the price
arithmetic against figures worked out by hand, the table and the errors. No synthesis here: the real
stage's templates are checked in ``tests/infra/test_cost_synth.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from infra.cost import inventory, model, prices
from infra.cost.measured import BenchMissing, parse_bench

# -- a small synthesized stage ---------------------------------------------------------------------


def _tags(integration: str | None) -> list[dict[str, str]]:
    tags = [{"Key": "project", "Value": "switchboard"}]
    if integration:
        tags.append({"Key": "switchboard:integration", "Value": integration})
    return tags


def _res(type_: str, path: str, props: dict[str, Any], integration: str | None = None) -> dict[str, Any]:
    if integration and type_ not in ("AWS::CloudWatch::Alarm", "AWS::Lambda::EventSourceMapping"):
        props = {**props, "Tags": _tags(integration)}
    return {
        "Type": type_,
        "Properties": props,
        "Metadata": {"aws:cdk:path": f"Switchboard-t-integrations/{path}"},
    }


def _math_alarm() -> dict[str, Any]:
    stat = {"Metric": {"MetricName": "x", "Namespace": "Switchboard"}, "Period": 300, "Stat": "Sum"}
    return {
        "Metrics": [
            {"Id": "expr", "Expression": "a/b", "ReturnData": True},
            {"Id": "a", "MetricStat": stat, "ReturnData": False},
            {"Id": "b", "MetricStat": stat, "ReturnData": False},
        ]
    }


INTEGRATIONS: dict[str, Any] = {
    "Resources": {
        "HookFn": _res(
            "AWS::Lambda::Function",
            "Hook/Function/Resource",
            {
                "FunctionName": "switchboard-t-hook",
                "MemorySize": 512,
                "Architectures": ["arm64"],
                "TracingConfig": {"Mode": "Active"},
            },
            "hook",
        ),
        "HookQueue": _res("AWS::SQS::Queue", "Hook/Queue/Resource", {}, "hook"),
        "HookDlq": _res("AWS::SQS::Queue", "Hook/Dlq/Resource", {}, "hook"),
        "HookEsm": _res(
            "AWS::Lambda::EventSourceMapping",
            "Hook/QueueSource/Resource",
            {"FunctionName": {"Ref": "HookFn"}, "ScalingConfig": {"MaximumConcurrency": 2}},
        ),
        "HookErrors": _res(
            "AWS::CloudWatch::Alarm", "Hook/FunctionErrorsAlarm/Resource", {"MetricName": "Errors"}
        ),
        "HookLimited": _res("AWS::CloudWatch::Alarm", "Hook/TargetRateLimitedAlarm/Resource", _math_alarm()),
        "HookRoute": _res("AWS::ApiGatewayV2::Route", "Hook/Route/Resource", {}),
        "HookLogs": _res("AWS::Logs::LogGroup", "Hook/LogGroup/Resource", {"RetentionInDays": 14}, "hook"),
        "NightlyFn": _res(
            "AWS::Lambda::Function",
            "Nightly/Function/Resource",
            {
                "FunctionName": "switchboard-t-nightly",
                "MemorySize": 128,
                "TracingConfig": {"Mode": "PassThrough"},
            },
            "nightly",
        ),
        "NightlyEsm": _res(
            "AWS::Lambda::EventSourceMapping",
            "Nightly/QueueSource/Resource",
            {"FunctionName": {"Ref": "NightlyFn"}},
        ),
        "NightlySchedule": _res(
            "AWS::Scheduler::Schedule",
            "Nightly/DailySchedule",
            {"ScheduleExpression": "cron(0 2 * * ? *)", "ScheduleExpressionTimezone": "Europe/Berlin"},
        ),
        "NightlyLogs": _res(
            "AWS::Logs::LogGroup", "Nightly/LogGroup/Resource", {"RetentionInDays": 90}, "nightly"
        ),
        "AppAlarm": _res("AWS::CloudWatch::Alarm", "CircuitOpenHubspotAlarm/Resource", {"MetricName": "T"}),
        "Dashboard": _res("AWS::CloudWatch::Dashboard", "Dashboard/Resource", {}),
        "AccessLog": _res("AWS::Logs::LogGroup", "Api/AccessLog/Resource", {"RetentionInDays": 30}),
        "Stage": _res(
            "AWS::ApiGatewayV2::Stage",
            "Api/Stage/Resource",
            {
                "AccessLogSettings": {
                    "DestinationArn": {"Fn::GetAtt": ["AccessLog", "Arn"]},
                    "Format": '{"requestId":"$context.requestId","status":"$context.status"}',
                }
            },
        ),
    }
}
CORE: dict[str, Any] = {
    "Resources": {
        "A": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "B": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "C": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}},
        },
        "Archive": {"Type": "AWS::Events::Archive", "Properties": {}},
    }
}


def _measured(name: str, **over: Any) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "integration": name,
        "samples": ["s1"],
        "outcome": "processed",
        "events": 10,
        "http_api_requests": 1.0,
        "lambda_invocations": 2.0,
        "ingress_billed_ms": 1.0,
        "worker_billed_ms": 500.0,
        "ingress_invocations": 1.0,
        "worker_invocations": 1.0,
        "sqs_requests": 3.0,
        "scheduler_invocations": 0.0,
        "eventbridge_events": 1.0,
        "eventbridge_bytes": 0.0,
        "dynamodb_wru": 10.0,
        "dynamodb_rru": 4.0,
        "dynamodb_bytes_written": 0.0,
        "secrets_api_calls": 1.0,
        "ses_emails": 0.0,
        "target_calls": 2.0,
        "log_bytes": 1000.0,
        "metric_series": ["Switchboard|integration=x|Processed", "Switchboard|integration=x|Accepted"],
        "cold_import_ms": {"ingress": 100.0, "worker": 300.0},
    }
    return {**figures, **over}


BENCH = {
    "measured_at": "2026-12-05",
    "target_call_ms_assumed": 200.0,
    "tiny": False,
    "integrations": [
        _measured("hook"),
        _measured(
            "nightly",
            http_api_requests=0.0,
            lambda_invocations=1.0,
            ingress_invocations=0.0,
            ingress_billed_ms=0.0,
            scheduler_invocations=1.0,
            eventbridge_events=0.0,
        ),
    ],
}


@pytest.fixture
def stage() -> inventory.StageInventory:
    return inventory.inventory_from_templates("t", CORE, INTEGRATIONS)


# -- counting ----------------------------------------------------------------------------------------


def test_counts_each_integrations_resources_from_the_templates(stage: inventory.StageInventory) -> None:
    hook, nightly = stage.integrations["hook"], stage.integrations["nightly"]
    assert hook.function == inventory.Function("switchboard-t-hook", 512, "arm64", "Active")
    assert (hook.queues, hook.routes, hook.log_retention_days) == (2, 1, 14)
    # Maximum concurrency set: Lambda keeps five long polls (it scales back to two only without it).
    assert hook.event_source_pollers == [5]
    assert nightly.event_source_pollers == [2]
    # A math alarm bills each metric it reads: 1 + 2.
    assert (hook.alarms, hook.alarm_metrics) == (2, 3)
    assert nightly.function.architecture == "x86_64"  # CloudFormation's default when none is declared
    assert nightly.schedules == [("cron(0 2 * * ? *)", "Europe/Berlin")]
    assert (stage.secrets, stage.kms_keys, stage.dashboards) == (3, 1, 1)
    assert (stage.shared_alarms, stage.shared_alarm_metrics) == (1, 1)
    assert stage.point_in_time_recovery and stage.bus_archives == 1
    assert stage.access_log_retention_days == 30
    assert inventory.access_log_line_bytes(str(stage.access_log_format)) == len(
        '{"requestId":"Jx2mKi7QIAMEb0g=","status":"202"}\n'
    )


def test_missing_templates_name_the_synth_command(tmp_path: Path) -> None:
    with pytest.raises(inventory.TemplatesMissing, match=r"make synth STAGE=prod"):
        inventory.load_stage(tmp_path, "prod")


# -- arithmetic, worked by hand ---------------------------------------------------------------------------


def test_measured_per_million_worked_by_hand() -> None:
    m = parse_bench(BENCH).integrations["hook"]
    # Lambda: 2 x $0.20/M = 0.40; (1 + 500) ms at 0.25 GB = 0.12525 GB-s x $0.0000133334 = 1.67001 per M
    # HTTP API 1.00; SQS 3 x 0.40 = 1.20; DynamoDB 10 x 0.625 + 4 x 0.125 = 6.75; EventBridge 1.00;
    # Secrets Manager 1 x $0.05/10k = 5.00 and its KMS decrypt 3.00; logs 1000 B x $0.50/GB = 0.50.
    expected = 0.40 + 1.67001 + 1.00 + 1.20 + 6.75 + 1.00 + 5.00 + 3.00 + 0.50
    assert model.measured_per_million(m, 256, "arm64") == pytest.approx(expected, abs=1e-4)
    # x86 duration costs 0.0000166667 per GB-s.
    x86 = model.measured_per_million(m, 256, "x86_64") - model.measured_per_million(m, 256, "arm64")
    assert x86 == pytest.approx(0.12525 * (0.0000166667 - 0.0000133334) * 1e6, abs=1e-6)


def test_fixed_and_volume_pieces_worked_by_hand() -> None:
    # Five 20-second long polls for a 730-hour month: 5 x 2,628,000 s / 20 = 657,000 requests ($0.2628).
    assert model.idle_polls_per_month(5) == 657_000
    assert model.idle_polls_per_month(5) * prices.price("sqs.requests").unit_usd == pytest.approx(0.2628)
    assert model.metric_hours_fraction(730) == pytest.approx(1 - math.exp(-1))
    assert model.metric_hours_fraction(0) == 0
    # One event per 5 minutes on average: a gap above 5 minutes has probability e^-1.
    assert model.cold_fraction(730 * 12) == pytest.approx(math.exp(-1))
    # Low rate: every invocation is the first of its second and is traced; high rate: 5 % of them.
    assert 0.99 < model.xray_sampled_fraction(10_000) < 1
    assert model.xray_sampled_fraction(730 * 3600 * 1000) == pytest.approx(0.05 + 0.95 / 1000, rel=0.01)
    assert model.schedule_runs_per_month("cron(0 7 * * ? *)", "Europe/London") == pytest.approx(730 / 24)
    assert model.schedule_runs_per_month("rate(1 hour)", "UTC") == pytest.approx(730, rel=0.01)
    lines = model.platform_log_bytes(256, traced=True) - model.platform_log_bytes(256, traced=False)
    assert lines == len(
        "\nXRAY TraceId: 1-5e34a614-10bd1e6bf1fb44f07bc535a1\tSegmentId: 07f5e8a22d1f6f85\tSampled: true\t"
    )


def test_deployment_splits_events_and_prices_the_stage(stage: inventory.StageInventory) -> None:
    d = model.deployment_cost(stage, parse_bench(BENCH), 10_000)
    hook, nightly = d.integrations
    # The schedule-only integration takes no share: its runs are fixed.
    assert (hook.events, nightly.events) == (10_000, 0)
    runs = model.schedule_runs_per_month("cron(0 2 * * ? *)", "Europe/Berlin")
    scheduled = [i for i in nightly.items if i.group]
    assert {i.meter for i in scheduled} >= {"scheduler.invocations", "lambda.gb_s.x86_64"}
    assert next(i for i in scheduled if i.meter == "scheduler.invocations").quantity == pytest.approx(runs)
    assert not any(i.meter == "xray.traces" for i in nightly.items)  # PassThrough: no traces
    # The stage: 3 secrets x 0.40 + 1 key x 1.00 + 1 dashboard x 3.00 + 1 alarm metric x 0.10.
    assert d.stage_fixed == pytest.approx(1.20 + 1.00 + 3.00 + 0.10)
    # hook's fixed: 3 alarm metrics (0.30) + 657,000 idle receives (0.2628).
    assert hook.fixed == pytest.approx(0.30 + 0.2628)
    assert d.total == pytest.approx(hook.monthly + nightly.monthly + d.stage_fixed)
    assert sum(d.by_service().values()) == pytest.approx(d.total)


def test_free_tier_takes_the_always_free_allowances_off_once(stage: inventory.StageInventory) -> None:
    bench = parse_bench(BENCH)
    gross = model.deployment_cost(stage, bench, 10_000)
    net = model.deployment_cost(stage, bench, 10_000, free_tier=True)
    credit = net.free_tier_credit()
    assert credit["cloudwatch.dashboards"] == pytest.approx(3.00)  # 1 dashboard, 3 free
    assert credit["cloudwatch.alarm_metrics"] == pytest.approx(0.40)  # 3 + 1 alarm metrics, 10 free
    assert net.total == pytest.approx(gross.total - sum(credit.values()))


def test_model_errors_name_what_to_do(stage: inventory.StageInventory) -> None:
    only_hook = {**BENCH, "integrations": [_measured("hook")]}
    with pytest.raises(model.ModelError, match=r"no figures for nightly: run `make bench`"):
        model.deployment_cost(stage, parse_bench(only_hook), 10)
    with pytest.raises(model.ModelError, match=r"no integration 'nope' in stage t; known: hook, nightly"):
        model.deployment_cost(stage, parse_bench(BENCH), 10, only="nope")
    old = {**BENCH, "integrations": [{k: v for k, v in _measured("hook").items() if k != "cold_import_ms"}]}
    with pytest.raises(BenchMissing, match=r"hook lacks cold_import_ms .* run `make bench` again"):
        parse_bench(old)


# -- the command ---------------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "Switchboard-t-core.template.json").write_text(json.dumps(CORE))
    (out / "Switchboard-t-integrations.template.json").write_text(json.dumps(INTEGRATIONS))
    bench = tmp_path / "cost.json"
    bench.write_text(json.dumps(BENCH))
    return out, bench


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from infra.cli import main

    code = main(["cost", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_the_table_with_line_items_and_assumptions(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], stage: inventory.StageInventory
) -> None:
    out, bench = files
    code, text, _ = _run(
        capsys, "--stage", "t", "--cdk-out", str(out), "--bench", str(bench), "--events-per-month", "10,000"
    )
    assert code == 0
    d = model.deployment_cost(stage, parse_bench(BENCH), 10_000)
    assert "Switchboard t: cost at 10,000 events a month" in text
    hook_row = next(line for line in text.splitlines() if line.startswith("hook "))
    assert hook_row.split()[1:4] == [
        "10,000",
        f"{d.integrations[0].measured_per_million:,.2f}",
        f"{d.integrations[0].per_million:,.2f}",
    ]
    assert text.splitlines()[text.splitlines().index(hook_row) + 3].startswith("TOTAL")
    assert f"{d.total:,.2f}" in next(line for line in text.splitlines() if line.startswith("TOTAL"))
    assert "SQS event source idle: 5 long polls" in text
    assert "scheduled runs a month x the per-event charges" in text
    assert "Assumed" in text and "200 ms" in text


def test_cli_json_and_markdown(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    out, bench = files
    common = ["--stage", "t", "--cdk-out", str(out), "--bench", str(bench)]
    code, text, _ = _run(capsys, *common, "--json", "--integration", "hook", "--events-per-month", "500")
    doc = json.loads(text)
    assert code == 0 and [i["integration"] for i in doc["integrations"]] == ["hook"]
    assert doc["integrations"][0]["events_per_month"] == 500 and doc["stage_items"] == []
    code, text, _ = _run(capsys, *common, "--markdown")
    assert code == 0 and text.startswith("# What it costs\n")
    assert (
        "Generated by `switchboard cost --events-per-month 10000 --stage dev --markdown > docs/cost.md`"
        in text
    )
    assert "| `lambda.gb_s.arm64` | $1.33334e-05 per GB-second |" in text


def test_cli_errors_say_which_command_to_run(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out, bench = files
    code, _, err = _run(capsys, "--stage", "prod", "--cdk-out", str(out), "--bench", str(bench))
    assert code == 2 and "make synth STAGE=prod" in err and err.startswith("switchboard: ")
    code, _, err = _run(capsys, "--stage", "t", "--cdk-out", str(out), "--bench", str(tmp_path / "none.json"))
    assert code == 2 and "run `make bench`" in err
    code, _, err = _run(
        capsys, "--stage", "t", "--cdk-out", str(out), "--bench", str(bench), "--integration", "x"
    )
    assert code == 2 and "no integration 'x'" in err
    with pytest.raises(SystemExit) as exit_:
        _run(capsys, "--events-per-month", "-5")
    assert exit_.value.code == 2 and "must be a number of events >= 0" in capsys.readouterr().err


def test_counts_without_construct_paths_as_an_in_process_synth_writes_them(
    stage: inventory.StageInventory,
) -> None:
    """``cdk synth`` writes construct paths; ``app.synth()`` in-process does not: names and references
    must assign the same resources."""
    bare = {
        "Resources": {
            k: {kk: vv for kk, vv in r.items() if kk != "Metadata"}
            for k, r in INTEGRATIONS["Resources"].items()
        }
    }
    bare["Resources"]["HookErrors"]["Properties"]["AlarmName"] = "switchboard-t-hook-function-errors"
    bare["Resources"]["HookLimited"]["Properties"]["AlarmName"] = "switchboard-t-hook-target-rate-limited"
    bare["Resources"]["NightlySchedule"]["Properties"]["Name"] = "switchboard-t-nightly-daily"
    bare["Resources"]["HookRoute"]["Properties"]["Target"] = {
        "Fn::Join": ["", ["integrations/", {"Ref": "HookApi"}]]
    }
    bare["Resources"]["HookApi"] = {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {"IntegrationUri": {"Fn::GetAtt": ["HookFn", "Arn"]}},
    }
    again = inventory.inventory_from_templates("t", CORE, bare)
    for name in ("hook", "nightly"):
        assert again.integrations[name] == stage.integrations[name]
    assert (again.shared_alarms, again.shared_alarm_metrics) == (1, 1)


def test_savings_are_computed_from_the_same_model() -> None:
    from infra.cost.savings import savings

    core = {
        "Resources": {
            **CORE["Resources"],
            "A": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "switchboard/t/hubspot"}},
            "B": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "switchboard/t/stripe"}},
            "C": {"Type": "AWS::SecretsManager::Secret", "Properties": {"Name": "switchboard/t/slack"}},
        }
    }
    grant = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": [
                            {
                                "Fn::Join": [
                                    "",
                                    ["arn:aws:secretsmanager:r:a:secret:switchboard/t/hubspot-??????"],
                                ]
                            },
                            {
                                "Fn::Join": [
                                    "",
                                    ["arn:aws:secretsmanager:r:a:secret:switchboard/t/slack-??????"],
                                ]
                            },
                        ],
                    }
                ]
            }
        },
    }
    stage = inventory.inventory_from_templates(
        "t", core, {"Resources": {**INTEGRATIONS["Resources"], "P": grant}}
    )
    assert stage.read_secrets == ("hubspot", "slack")
    d = model.deployment_cost(stage, parse_bench(BENCH), 730)
    found = {s.title: s for s in savings(d, stage, parse_bench(BENCH))}
    unread = found["Do not keep the 1 operator-only secrets (stripe)"]
    assert (unread.usd_per_month, unread.safety) == (pytest.approx(0.40), "none")
    # Nothing measured repeats another series (Processed, Accepted): no such saving to offer.
    assert not [t for t in found if t.startswith("Stop emitting")]
    # Trade-offs come after every saving that costs no safety.
    safeties = [s.safety for s in found.values()]
    assert safeties == sorted(safeties, key=lambda s: s != "none")

    # Figures measured from code that still emitted "Received" (Accepted + Rejected again): one
    # series per integration, priced by hours with data (hook: 730 events, 1 - e^-1 of the hours;
    # nightly: its 30.4 runs).
    older = {
        **BENCH,
        "integrations": [
            {
                **m,
                "metric_series": [
                    *m["metric_series"],
                    f"Switchboard|integration={m['integration']}|Received",
                ],
            }
            for m in BENCH["integrations"]
        ],
    }
    d = model.deployment_cost(stage, parse_bench(older), 730)
    found = {s.title: s for s in savings(d, stage, parse_bench(older))}
    redundant = found["Stop emitting 1 metric names that repeat others (Received)"]
    runs = model.schedule_runs_per_month("cron(0 2 * * ? *)", "Europe/Berlin")
    expected = 0.30 * (model.metric_hours_fraction(730) + model.metric_hours_fraction(runs))
    assert (redundant.usd_per_month, redundant.safety) == (pytest.approx(expected), "none")

    # Every secret read by some function: no operator-only secret to drop.
    read_all = inventory.inventory_from_templates("t", CORE, INTEGRATIONS)
    read_all.read_secrets = read_all.secret_names
    d = model.deployment_cost(read_all, parse_bench(BENCH), 730)
    assert not [s for s in savings(d, read_all, parse_bench(BENCH)) if "operator-only" in s.title]


def test_the_committed_bench_measured_no_series_that_repeats_another() -> None:
    """docs/cost.md offers no saving the code has made: the recorded figures (``make bench``) list
    none of the metric names that only repeat another series."""
    from infra.cost.measured import load_bench
    from infra.cost.savings import REDUNDANT_SERIES

    bench = load_bench()
    repeating = {
        (m.integration, s.rsplit("|", 1)[-1])
        for m in bench.integrations.values()
        for s in m.metric_series
        if s.rsplit("|", 1)[-1] in REDUNDANT_SERIES
    }
    assert repeating == set()


def test_ssm_parameters_are_counted_from_the_grants_and_priced_at_zero() -> None:
    """Signing secrets and own keys are SSM SecureString parameters no template creates: counted from
    the roles' ``ssm:GetParameter`` grants (each once), and free, where a secret is $0.40 a month."""

    def param(name: str) -> dict[str, Any]:
        return {
            "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":ssm:r:a:parameter/switchboard/t/{name}"]]
        }

    def policy(*names: str) -> dict[str, Any]:
        statement = {"Action": "ssm:GetParameter", "Resource": [param(n) for n in names]}
        return {"Type": "AWS::IAM::Policy", "Properties": {"PolicyDocument": {"Statement": [statement]}}}

    integrations = {
        "Resources": {
            **INTEGRATIONS["Resources"],
            "P": policy("stripe_signing"),
            "Q": policy("stripe_signing", "tally_signing"),
        }
    }
    stage = inventory.inventory_from_templates("t", CORE, integrations)
    assert stage.parameter_names == ("stripe_signing", "tally_signing")
    d = model.deployment_cost(stage, parse_bench(BENCH), 730)
    (line,) = [i for i in d.stage_items if i.meter == "ssm.parameters"]
    assert line.quantity == 2 and "2 SSM SecureString parameters" in line.label
    assert line.usd_per_month(0) == 0.0
