"""``switchboard audit`` against a running local runtime: the MCP endpoint's calls and refused keys,
newest first, filtered by key, tool and age, as a table or JSON - and never a key's secret."""

from __future__ import annotations

import io
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest

from functions.mcp import audit
from functions.mcp.audit import AUDIT_PREFIX
from infra.local.runtime import LocalRuntime
from infra.ops.audit import read, render, render_json
from infra.ops.target import resolve
from shared.table import Table

pytestmark = pytest.mark.e2e

Cli = Callable[..., subprocess.CompletedProcess[str]]
_KEY = re.compile(r"sb_live_[a-z2-7]{10}_[A-Za-z0-9_-]{43}")
_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    state = tmp_path / ".switchboard" / "local.json"
    with LocalRuntime(port=0, pollers=False, log_dir=str(tmp_path / "logs"), state_file=state) as rt:
        yield rt


def _call(runtime: LocalRuntime, key: str | None, tool: str, arguments: dict[str, object]) -> int:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    headers = {**_HEADERS, **({"authorization": f"Bearer {key}"} if key else {})}
    return httpx.post(f"{runtime.url}/mcp", json=body, headers=headers).status_code


def test_audit_prints_the_calls_newest_first_and_filters_them(runtime: LocalRuntime, cli: Cli) -> None:
    created = cli("keys", "create", "--name", "assistant", "--tools", "stock_get")
    assert created.returncode == 0, created.stderr
    [key] = _KEY.findall(created.stdout)
    key_id = key.split("_")[2]
    assert _call(runtime, key, "stock_get", {"skus": ["LOAF-SOURDOUGH"]}) == 200
    assert _call(runtime, key, "crm.upsert_contact", {"email": "ada@example.org"}) == 200  # -32030
    assert _call(runtime, None, "stock_get", {"skus": ["X"]}) == 401
    assert cli("keys", "revoke", key_id).returncode == 0
    assert _call(runtime, key, "stock_get", {"skus": ["LOAF-SOURDOUGH"]}) == 401
    # A record from two days ago (kept: audit_days is 90), written as the function writes them.
    old = datetime.now(UTC) - timedelta(days=2)
    Table(runtime.runtimes["mcp"].aws("dynamodb"), runtime.runtimes["mcp"].table).put(
        {
            "id": f"{AUDIT_PREFIX}{old.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z#0a0b0c0d",
            "kind": "audit",
            "key_id": key_id,
            "tool": "stock.get",  # written before tools had one name
            "arguments": "{}",
            "outcome": "ok",
            "duration_ms": 3,
            "at": old.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        }
    )

    table = cli("audit")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0].split()[:4] == ["AT", "KEY", "TOOL", "OUTCOME"]
    outcomes = [row.split()[3] for row in rows[1:]]
    assert outcomes == ["revoked_key", "missing_key", "denied", "ok", "ok"]
    assert rows[2].split()[1] == "-"  # no key was sent: no key id
    assert key not in table.stdout and key.split("_", 3)[3] not in table.stdout

    as_json = cli("audit", "--json")
    records = json.loads(as_json.stdout)
    assert [r["outcome"] for r in records] == outcomes
    assert {r["tool"] for r in records} == {"stock_get", "crm_upsert_contact"}  # one name, old records too
    assert records[0]["key_id"] == key_id and records[0]["method"] == "tools/call"
    assert "revoked" in records[0]["detail"] and key.split("_", 3)[3] not in as_json.stdout

    def outcomes_of(*args: str) -> list[str]:
        answer = cli("audit", "--json", *args)
        assert answer.returncode == 0, answer.stderr
        return [r["outcome"] for r in json.loads(answer.stdout)]

    assert outcomes_of("--key", key_id) == ["revoked_key", "denied", "ok", "ok"]
    assert outcomes_of("--key", key) == ["revoked_key", "denied", "ok", "ok"]  # the whole key: its id
    assert outcomes_of("--tool", "crm.upsert_contact") == ["denied"]
    assert outcomes_of("--tool", "stock_get", "--since", "1h") == ["revoked_key", "missing_key", "ok"]
    assert outcomes_of("--since", "1d", "--limit", "2") == ["revoked_key", "missing_key"]
    assert outcomes_of("--tool", "stock_get", "--since", "3d") == ["revoked_key", "missing_key", "ok", "ok"]
    nothing = cli("audit", "--key", "zzzzzzzzzz")
    assert nothing.returncode == 0 and "no audit records on the local runtime match" in nothing.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--since", "5x"), "--since '5x': say how far back as a number and a unit"),
        (("--since", "0h"), "--since '0h'"),
        (("--key", "not-a-key"), "--key 'not-a-key': give a key id (10 characters"),
        (("--limit", "0"), "--limit 0: give 1 to 10000 records"),
    ],
)
def test_mistakes_say_what_to_fix(cli: Cli, args: tuple[str, ...], words: str) -> None:
    """Checked before the runtime is looked for: no runtime runs here."""
    answer = cli("audit", *args)
    assert answer.returncode == 2 and words in answer.stderr, answer.stderr


def test_audit_reads_a_deployed_stage_by_its_table(aws: boto3.session.Session) -> None:
    """``--stage prod``: the stage's ledger table, found by name (in-process moto stands in for AWS)."""
    prod = resolve("prod", "us-east-1", state_file=Path("/nonexistent/local.json"))
    ddb = prod.client("dynamodb")
    ddb.create_table(
        TableName=prod.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for outcome in ("ok", "denied"):
        audit.write(
            ddb,
            prod.table,
            key_id="abcdefghij",
            tool="crm_upsert_contact",
            arguments={"email": "ada@example.org", "note": "call +44 20 7946 0321"},
            outcome=outcome,
            duration_ms=4.2,
            retention_days=1,
        )
    records = read(prod, key="abcdefghij", tool="crm.upsert_contact")
    assert [r.outcome for r in records] == ["denied", "ok"]
    assert records[0].arguments["email"] == "***(15)" and "7946" not in json.dumps(records[0].arguments)
    out = io.StringIO()
    render(records, prod, out)
    assert out.getvalue().splitlines()[1].split()[1:4] == ["abcdefghij", "crm_upsert_contact", "denied"]
    assert read(prod, key="zzzzzzzzzz") == []


def test_an_approval_shows_who_decided(aws: boto3.session.Session) -> None:
    prod = resolve("prod", "us-east-1", state_file=Path("/nonexistent/local.json"))
    ddb = prod.client("dynamodb")
    ddb.create_table(
        TableName=prod.table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    audit.write(
        ddb,
        prod.table,
        key_id="abcdefghij",
        tool="calendar_cancel_event",
        arguments={"event_id": "abc123def"},
        outcome="approved",
        duration_ms=0.0,
        retention_days=1,
        method="approval",
        decided_by="anna (U0ANNA0001)",
        approval_id="apr_0123456789abcdef01234567",
    )
    [record] = read(prod, key="abcdefghij")
    assert record.decided_by == "anna (U0ANNA0001)" and record.approval_id.startswith("apr_")
    out = io.StringIO()
    render([record], prod, out)
    assert "approved" in out.getvalue() and "by anna (U0ANNA0001)" in out.getvalue()
    out = io.StringIO()
    render_json([record], out)
    assert json.loads(out.getvalue())[0]["decided_by"] == "anna (U0ANNA0001)"
