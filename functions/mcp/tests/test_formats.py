"""``switchboard openapi --tools [--format mcp|openai|anthropic]``: the tools in each client's shape,
each with ``idempotency_key`` where the tool takes it."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

import mcp_types
import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # (a dependency of mcp)

from functions.mcp.formats import FORMATS, tool_definitions
from shared.actions import catalogue

Cli = Callable[..., subprocess.CompletedProcess[str]]
#: What OpenAI's and Anthropic's APIs accept as a tool name.
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
EFFECTS = {a.tool_name for a in catalogue() if a.effect}
READS = {a.tool_name for a in catalogue() if not a.effect}


def _printed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    answer = cli("openapi", "--tools", *args)
    assert answer.returncode == 0, answer.stderr
    tools: list[dict[str, Any]] = json.loads(answer.stdout)
    assert len(tools) == len(catalogue()) and EFFECTS and READS
    return tools


def _check_parameters(name: str, schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object", name
    has_key = "idempotency_key" in schema["properties"]
    assert has_key is (name in EFFECTS), name
    if has_key:
        rule = Draft202012Validator(schema["properties"]["idempotency_key"])
        assert rule.is_valid("0b6f2f7e-5d1c-4a8e-9c3b-2f1e0d9c8b7a") and not rule.is_valid("short")


def test_mcp_is_the_default_and_is_the_tools_list_shape(cli: Cli) -> None:
    tools = _printed(cli)
    assert tools == _printed(cli, "--format", "mcp")
    for tool in tools:
        parsed = mcp_types.Tool.model_validate(tool)  # the SDK's own model of a tools/list entry
        assert {"name", "description", "inputSchema"} <= set(tool) and NAME.match(parsed.name)
        _check_parameters(tool["name"], tool["inputSchema"])
        assert tool["annotations"]["readOnlyHint"] is (tool["name"] in READS)


def test_openai_shape(cli: Cli) -> None:
    for tool in _printed(cli, "--format", "openai"):
        assert set(tool) == {"type", "function"} and tool["type"] == "function"
        function = tool["function"]
        assert set(function) == {"name", "description", "parameters"}
        assert NAME.match(function["name"]) and function["description"]
        _check_parameters(function["name"], function["parameters"])


def test_anthropic_shape(cli: Cli) -> None:
    for tool in _printed(cli, "--format", "anthropic"):
        assert set(tool) == {"name", "description", "input_schema"}
        assert NAME.match(tool["name"]) and tool["description"]
        _check_parameters(tool["name"], tool["input_schema"])


def test_the_deployment_decides_what_no_format_shows() -> None:
    for fmt in FORMATS:
        text = json.dumps(tool_definitions(fmt))
        assert '"from_address"' not in text and '"deposit_account"' not in text


def test_format_mistakes_say_what_to_fix(cli: Cli) -> None:
    alone = cli("openapi", "--format", "openai")
    assert alone.returncode == 2 and "add --tools" in alone.stderr
    wrong = cli("openapi", "--tools", "--format", "gemini")
    assert wrong.returncode == 2 and "invalid choice: 'gemini'" in wrong.stderr
    with pytest.raises(ValueError, match="no tool format 'gemini'; there are: mcp, openai, anthropic"):
        tool_definitions("gemini")
