"""``chat.list_channels`` against the Slack stand-in: public channels, ``is_member``, cursor pages, errors."""

from __future__ import annotations

from typing import Any

import pytest

from apps.slack import APP
from apps.slack.actions import LIST_CHANNELS
from apps.slack.standin import DEFAULT_SCOPES, DEFAULT_TOKEN, SandboxChannel, SlackSandbox
from sandbox.base import as_transport
from shared.actions.chat import ListChannels
from shared.errors import TargetRejected
from shared.http import ApiClient


class Ctx:
    rt: Any = None

    def __init__(self, sandbox: SlackSandbox, token: str = DEFAULT_TOKEN) -> None:
        self._api = ApiClient(APP, {"token": token}, transport=as_transport(sandbox, mount="/api"))

    def api(self, app: Any, connection: Any) -> ApiClient:
        return self._api


def test_public_channels_are_listed_with_membership_private_and_archived_ones_not() -> None:
    page = LIST_CHANNELS(Ctx(SlackSandbox()), ListChannels())
    assert {c.name: c.is_member for c in page.channels} == {
        "new-leads": True,
        "sales": True,
        "general": True,
        "random": False,
    }
    assert page.next_cursor is None
    archived = LIST_CHANNELS(Ctx(SlackSandbox()), ListChannels(include_archived=True))
    assert "old-leads" in {c.name for c in archived.channels}


def test_pages_follow_slacks_cursor_to_the_end() -> None:
    many = [SandboxChannel(f"C0PAGE{i:05d}", f"team-{i}") for i in range(7)]
    sandbox = SlackSandbox(channels=many)
    ctx = Ctx(sandbox)
    names: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = LIST_CHANNELS(ctx, ListChannels(limit=3, cursor=cursor))
        names += [c.name for c in page.channels]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert names == [f"team-{i}" for i in range(7)]


def test_a_bad_cursor_and_a_missing_scope_are_slacks_errors() -> None:
    with pytest.raises(TargetRejected, match="invalid_cursor"):
        LIST_CHANNELS(Ctx(SlackSandbox()), ListChannels(cursor="not-a-cursor!"))
    no_read = SlackSandbox(scopes=set(DEFAULT_SCOPES) - {"channels:read"})
    with pytest.raises(TargetRejected, match="missing_scope"):
        LIST_CHANNELS(Ctx(no_read), ListChannels())


def test_a_limit_beyond_the_contract_is_refused() -> None:
    with pytest.raises(ValueError, match="less than or equal to 200"):
        ListChannels(limit=500)
