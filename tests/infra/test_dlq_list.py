"""``switchboard dlq list`` names only the integrations the target runs.

The checkout may declare integrations the target does not run: one scaffolded after ``make dev``
started, or one not deployed to a stage yet. Their DLQ does not exist there, so ``dlq list`` leaves them
out of its counts (naming them once, with the fix), and ``dlq list <name>`` of one is a one-line error
that names the integrations the target does run.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.cdk.naming import dlq_name, queue_name
from infra.local.runtime import LocalRuntime
from shared.registry import load_spec, load_specs

pytestmark = pytest.mark.e2e

QUEUED = [s.name for s in load_specs() if s.queued_triggers]


def _error_line(done: Any) -> str:
    assert done.returncode == 2, done
    assert done.stderr.count("\n") == 1, done.stderr
    return str(done.stderr)


def test_a_stage_lists_only_the_integrations_deployed_there(aws: boto3.session.Session, cli: Any) -> None:
    sqs = aws.client("sqs")
    for name in ("switchboard-prod-website-to-crm", dlq_name("prod", "website_to_crm")):
        sqs.create_queue(QueueName=name)
    # Another stage's queues share the account: they are not prod's.
    sqs.create_queue(QueueName=dlq_name("staging", "daily_sales_report"))
    sqs.send_message(
        QueueUrl=sqs.get_queue_url(QueueName=dlq_name("prod", "website_to_crm"))["QueueUrl"], MessageBody="{}"
    )

    done = cli("dlq", "list", "--stage", "prod", "--region", "us-east-1")
    assert done.returncode == 0, done.stderr
    rows = [ln for ln in done.stdout.splitlines() if "dead letter(s)" in ln]
    assert len(rows) == 1 and rows[0].split()[:2] == ["website_to_crm", "1"], done.stdout
    others = [n for n in QUEUED if n != "website_to_crm"]
    assert f"(not in stage prod (us-east-1): {', '.join(others)} - deploy them" in done.stdout

    not_there = _error_line(
        cli("dlq", "list", "daily_sales_report", "--stage", "prod", "--region", "us-east-1")
    )
    assert not_there == (
        "switchboard: stage prod (us-east-1) does not run daily_sales_report "
        "(no DLQ switchboard-prod-daily-sales-report-dlq); it runs: website_to_crm\n"
    )
    unknown = _error_line(cli("dlq", "list", "my_integration", "--stage", "prod", "--region", "us-east-1"))
    assert (
        unknown
        == "switchboard: no integration 'my_integration' in stage prod (us-east-1); it runs: website_to_crm\n"
    )


@pytest.fixture
def partial_runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    """A local runtime that runs website_to_crm only, as `make dev` started before the others existed."""
    rt = LocalRuntime(
        port=0,
        specs=(load_spec("website_to_crm"),),
        pollers=False,
        log_dir=str(tmp_path / ".switchboard" / "logs"),
        state_file=tmp_path / ".switchboard" / "local.json",
    )
    with rt:
        yield rt


def test_the_local_runtime_lists_only_what_it_runs(partial_runtime: LocalRuntime, cli: Any) -> None:
    done = cli("dlq", "list")
    assert done.returncode == 0, done.stderr
    rows = [ln.split()[0] for ln in done.stdout.splitlines() if "dead letter(s)" in ln]
    assert rows == ["website_to_crm"], done.stdout
    assert "restart `make dev` to run them" in done.stdout and "lead_enrichment" in done.stdout

    listed = cli("dlq", "list", "website_to_crm")
    assert (
        listed.returncode == 0 and f"{queue_name('local', 'website_to_crm')}-dlq is empty." in listed.stdout
    )

    not_run = _error_line(cli("dlq", "list", "lead_enrichment"))
    assert not_run.startswith("switchboard: the local runtime does not run lead_enrichment")
    assert not_run.endswith("it runs: website_to_crm\n")
    route_only = _error_line(cli("dlq", "list", "stock_level"))
    assert "only answers synchronous routes" in route_only
