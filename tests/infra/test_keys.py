"""``switchboard keys create | list | revoke`` against a running local runtime, and what a key may do."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra.local.runtime import LocalRuntime
from tests.support import cli

pytestmark = pytest.mark.e2e

_KEY = re.compile(r"sb_live_[a-z2-7]{10}_[A-Za-z0-9_-]{43}")
_LIST = {"jsonrpc": "2.0", "id": "list-1", "method": "tools/list"}
_HEADERS = {"accept": "application/json, text/event-stream", "mcp-protocol-version": "2025-11-25"}


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[LocalRuntime]:
    state = tmp_path / ".switchboard" / "local.json"
    with LocalRuntime(port=0, pollers=False, log_dir=str(tmp_path / "logs"), state_file=state) as rt:
        yield rt


def _tools(runtime: LocalRuntime, key: str) -> httpx.Response:
    return httpx.post(
        f"{runtime.url}/mcp", json=_LIST, headers={**_HEADERS, "authorization": f"Bearer {key}"}
    )


def test_create_shows_the_key_once_list_never_and_revoke_refuses_it(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    created = cli(
        tmp_path,
        "keys",
        "create",
        "--name",
        "claude-desktop-anna",
        "--tools",
        "stock_get,crm.upsert_contact",
        "--per-minute",
        "5",
    )
    assert created.returncode == 0, created.stderr
    [key] = _KEY.findall(created.stdout)
    assert "only time the key is shown" in created.stdout
    assert f"{runtime.url}/mcp" in created.stdout
    answer = _tools(runtime, key)
    assert answer.status_code == 200
    assert sorted(t["name"] for t in answer.json()["result"]["tools"]) == ["crm_upsert_contact", "stock_get"]

    listed = cli(tmp_path, "keys", "list")
    assert listed.returncode == 0 and "claude-desktop-anna" in listed.stdout and "active" in listed.stdout
    secret = key.split("_", 3)[3]  # the random part may itself contain "_"
    assert key not in listed.stdout and secret not in listed.stdout
    assert "crm_upsert_contact,stock_get" in listed.stdout  # tools named as MCP clients see them

    # Only the hash is stored.
    rt = runtime.runtimes["mcp"]
    stored = json.dumps(rt.aws("dynamodb").scan(TableName=rt.table)["Items"])
    assert key not in stored and secret not in stored

    key_id = key.split("_")[2]
    revoked = cli(tmp_path, "keys", "revoke", key_id)
    assert revoked.returncode == 0 and "revoked key" in revoked.stdout
    assert _tools(runtime, key).status_code == 401
    assert "revoked" in cli(tmp_path, "keys", "list").stdout


def test_mistakes_say_what_to_fix(
    runtime: LocalRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unknown = cli(tmp_path, "keys", "create", "--name", "x", "--tools", "crm.delete_everything")
    assert unknown.returncode == 2 and "no tool crm.delete_everything; there are:" in unknown.stderr
    quota = cli(
        tmp_path,
        "keys",
        "create",
        "--name",
        "x",
        "--tools",
        "stock.get",
        "--per-minute",
        "50",
        "--per-day",
        "10",
    )
    assert quota.returncode == 2 and "per minute <= per day" in quota.stderr
    missing = cli(tmp_path, "keys", "revoke", "abcdefghij")
    assert missing.returncode == 2 and "no key abcdefghij" in missing.stderr
    # Outside the runtime's folder and with no runtime recorded for the user: nothing to act on.
    monkeypatch.setenv("SWITCHBOARD_STATE_DIR", str(tmp_path / "no-runtimes"))
    nothing = cli(tmp_path.parent, "keys", "list")
    assert nothing.returncode == 2 and "make dev" in nothing.stderr


def test_openapi_prints_the_document_and_the_tools(runtime: LocalRuntime, tmp_path: Path) -> None:
    document = cli(tmp_path, "openapi")
    assert document.returncode == 0
    parsed = json.loads(document.stdout)
    assert parsed["servers"] == [{"url": runtime.url}] and "/mcp" in parsed["paths"]
    tools = json.loads(cli(tmp_path, "openapi", "--tools").stdout)
    assert {"crm_upsert_contact", "slack_post_message", "email_send", "stock_get"} <= {
        t["name"] for t in tools
    }
