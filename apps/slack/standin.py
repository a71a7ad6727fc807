"""Slack's Web API (posting, reading a channel back), offline, in Slack's own request and response shapes.

Served (paths as on ``https://slack.com/api``):

* ``POST /chat.postMessage`` with a JSON body (``application/json``) or a form body
  (``application/x-www-form-urlencoded``, ``blocks`` and ``metadata`` as JSON strings), as Slack takes
  both. ``metadata`` (``{"event_type": "...", "event_payload": {...}}``) is stored with the message;
  not an object ``invalid_metadata_format``, without a string ``event_type`` or an object
  ``event_payload`` ``invalid_metadata_schema``;
* ``POST /chat.update`` (JSON or form, as ``chat.postMessage``): ``channel`` by id, ``ts`` of a
  message the app posted, new ``text`` / ``blocks``; Slack's ``message_not_found``,
  ``cant_update_message``, ``channel_not_found``, ``no_text``. Answers ``{"ok": true, "channel",
  "ts", "text", "message"}`` (https://docs.slack.dev/reference/methods/chat.update);
* ``GET|POST /conversations.history``: ``channel`` (an id - a name is ``channel_not_found``, as on
  Slack), ``oldest`` / ``latest`` (Unix time with microseconds, exclusive unless ``inclusive``;
  unparsable ``invalid_ts_oldest`` / ``invalid_ts_latest``), ``limit`` (default 100, at most 999),
  ``cursor`` (Slack's form, base64 of ``next_ts:<ts>``; unknown ``invalid_cursor``) and
  ``include_all_metadata`` (messages carry ``metadata`` only with it). Newest first, with
  ``has_more``, ``pin_count`` and ``response_metadata.next_cursor`` (empty on the last page). Needs
  the scope ``channels:history`` for a public channel and ``groups:history`` for a private one, and
  the app in the channel (``not_in_channel``; a private channel it is not in is
  ``channel_not_found``);
* ``GET|POST /conversations.list``: ``types`` (``public_channel`` by default, ``private_channel``),
  ``exclude_archived``, ``limit`` (at most 1000), ``cursor``; private channels only where the app is
  a member; scopes ``channels:read`` / ``groups:read``.

A scope the token lacks (:attr:`SlackSandbox.scopes`) is ``missing_scope`` with Slack's ``needed``
and ``provided``.

One control endpoint of its own (besides :mod:`sandbox.base`'s): ``GET /_button?action_id=...``
answers the newest message that has a button with that ``action_id`` (narrowed by ``value``, by
``channel`` id or name, and by ``text`` found in the message's text) as ``{"channel", "channel_name",
"ts", "text", "action_id", "value"}`` - what a person would click on. A sample click aims at it
(``lookup``, :mod:`infra.local.sample_links`); none is ``404``.

Checks as Slack makes them, each answered the way Slack answers it - HTTP 200 with
``{"ok": false, "error": "<code>"}``:

* the token: ``Authorization: Bearer <token>`` (or a ``token`` form field) - absent ``not_authed``,
  wrong ``invalid_auth``;
* the channel, by id (``C...``) or name (``#new-leads`` or ``new-leads``): unknown, or private and
  without the app ``channel_not_found``; public without the app ``not_in_channel``; archived
  ``is_archived``;
* the content: neither ``text`` nor ``blocks`` ``no_text``; text over 40,000 characters
  ``msg_too_long``; Block Kit blocks of the kinds the sandbox knows (header, section, divider,
  context, actions) with Slack's documented limits, otherwise ``invalid_blocks`` with
  ``response_metadata.messages`` as Slack words them;
* a body that is not JSON ``invalid_json``; a content type Slack does not take
  ``invalid_post_type``.

Success is Slack's shape: ``{"ok": true, "channel": "C...", "ts": "...", "message": {...}}`` with the
bot's ``user``/``bot_id``/``app_id``/``team``, the ``text`` and the ``blocks`` (``block_id`` added
where the request had none). A JSON post without ``charset=utf-8`` gets Slack's
``missing_charset`` warning.

Faults (from :mod:`sandbox.base`): a ``rate_limit`` fault is Slack's HTTP 429 with ``Retry-After``
and ``{"ok": false, "error": "ratelimited"}``; a 5xx ``status`` fault without a body answers with the
matching Slack code (``internal_error``, ``service_unavailable``, ``request_timeout``). Slack reports
its platform errors with HTTP 200, and so does the sandbox: a 4xx ``status`` fault (other than 404,
405 and 429) whose answer is a Slack error - its ``body``, e.g. ``{"ok": false, "error":
"channel_not_found"}``, or ``invalid_request`` without one - goes out with HTTP 200, exactly as
Slack sends it. That is how a sample injects a permanent (or a transient) Slack error.

Rate limits (:mod:`sandbox.limits`; enforced unless lifted), per token - Slack counts "per API method
per workspace per app" (https://docs.slack.dev/apis/web-api/rate-limits):

* ``chat.postMessage``: one message a second per channel, "short bursts >1 allowed" - Slack publishes
  no burst size; the stand-in allows 60 in any 60 seconds per channel (an average of one a second, a
  burst spending the minute's allowance);
* ``conversations.history``: Tier 3, 50 a minute (an internal app: the 2025 limit of one a minute for
  commercially distributed non-Marketplace apps does not apply to a business's own app);
* ``conversations.list``: Tier 2, 20 a minute.

Past one: HTTP 429 with ``Retry-After`` (seconds) and ``{"ok": false, "error": "ratelimited"}``, as
Slack documents it.

Eventual consistency (:mod:`sandbox.consistency`; off unless a lag is set): with a lag, a message
just posted is missing from ``conversations.history`` until the lag has passed - the read a retry
makes to find its earlier post.

Sources: https://docs.slack.dev/reference/methods/chat.postMessage, the method descriptions in
``slack-ruby/slack-api-ref`` (``methods/chat/chat.postMessage.json``,
``methods/conversations/conversations.history.json``),
https://docs.slack.dev/reference/methods/conversations.history,
https://docs.slack.dev/reference/methods/conversations.list, https://docs.slack.dev/apis/web-api/pagination,
https://docs.slack.dev/messaging/message-metadata, and the Block Kit reference
(https://docs.slack.dev/reference/block-kit/blocks) for the limits checked.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, Unpack
from urllib.parse import parse_qs

from sandbox.base import Handler, SandboxApp, SandboxOptions, SandboxRequest, SandboxResponse
from sandbox.limits import Hit, RateLimit

__all__ = [
    "BOT_USER_ID",
    "DEFAULT_CHANNELS",
    "DEFAULT_SCOPES",
    "DEFAULT_TOKEN",
    "SandboxChannel",
    "SlackSandbox",
]

#: What ``make dev`` stores as the Slack connection's token (``apps.slack.CONNECTION.local``).
DEFAULT_TOKEN: Final = "sandbox-slack-token"
TEAM_ID: Final = "T0BRAMBLE01"
APP_ID: Final = "A0SWITCHBD1"
BOT_ID: Final = "B0SWITCHBD1"
BOT_USER_ID: Final = "U0SWITCHBD1"
TEXT_MAX_CHARS: Final = 40_000
MAX_BLOCKS: Final = 50
#: What the local app's token is granted: posting, reading back and resolving channel names.
DEFAULT_SCOPES: Final = frozenset(
    {"chat:write", "channels:history", "groups:history", "channels:read", "groups:read"}
)
HISTORY_DEFAULT_LIMIT: Final = 100
HISTORY_MAX_LIMIT: Final = 999
LIST_DEFAULT_LIMIT: Final = 100
LIST_MAX_LIMIT: Final = 1000


@dataclass(frozen=True)
class SandboxChannel:
    """A channel of the sandbox workspace and the app's place in it."""

    id: str
    name: str
    is_private: bool = False
    #: Whether the app (its bot user) was added to the channel.
    is_member: bool = True
    is_archived: bool = False
    #: How many people are in it (``num_members``, which conversations.list answers for channels).
    num_members: int = 4


DEFAULT_CHANNELS: Final = (
    SandboxChannel("C0NEWLEADS1", "new-leads"),
    SandboxChannel("C0SALES0001", "sales"),
    SandboxChannel("C0GENERAL01", "general"),
    SandboxChannel("C0APPROVAL1", "approvals", is_private=True),
    SandboxChannel("C0RANDOM001", "random", is_member=False),
    SandboxChannel("C0SALESOPS1", "sales-ops", is_private=True, is_member=False),
    SandboxChannel("C0OLDLEADS1", "old-leads", is_archived=True),
)

_SERVER_CODES: Final = {500: "internal_error", 503: "service_unavailable", 504: "request_timeout"}
_BLOCK_ID_CHARS: Final = string.ascii_letters + string.digits


class _Invalid(Exception):
    """Raised inside the handler to answer with a Slack error (HTTP 200, ``ok: false``)."""

    def __init__(self, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.response = SandboxResponse.json({"ok": False, "error": code, **extra})


def _blocks_error(messages: list[str]) -> _Invalid:
    """Slack's ``invalid_blocks`` answer: the problems in ``errors`` and ``response_metadata``."""
    return _Invalid("invalid_blocks", errors=messages, response_metadata={"messages": messages})


_LIMITS_SOURCE: Final = "https://docs.slack.dev/apis/web-api/rate-limits"


def _slack_token(req: SandboxRequest) -> str | None:
    """The bot token a request carries (bearer, or the ``token`` form field Slack also takes)."""
    scheme, _, token = (req.header("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if _media_type(req) == "application/x-www-form-urlencoded":
        try:
            return _form(req).get("token") or None
        except _Invalid:
            return None
    return None


def _token_and_channel(req: SandboxRequest) -> str | None:
    """``<token> <channel>``: chat.postMessage's limit is per channel (a name and ``#name`` are one)."""
    token = _slack_token(req)
    if token is None:
        return None
    try:
        channel = (
            req.json().get("channel") if _media_type(req) == "application/json" else _form(req).get("channel")
        )
    except (ValueError, AttributeError, _Invalid):
        channel = None
    return f"{token} {str(channel or '').lstrip('#')}"


#: chat.postMessage: "1 per second, short bursts >1 allowed" per channel (the burst ours: 60 in 60 s).
POST_MESSAGE_LIMIT: Final = RateLimit(
    "chat.postMessage",
    60,
    60.0,
    scope="token and channel",
    key=_token_and_channel,
    path="/chat.postMessage",
    source=_LIMITS_SOURCE,
)
#: conversations.history: Tier 3 (50+ per minute).
HISTORY_LIMIT: Final = RateLimit(
    "conversations.history", 50, 60.0, key=_slack_token, path="/conversations.history", source=_LIMITS_SOURCE
)
#: conversations.list: Tier 2 (20+ per minute).
LIST_LIMIT: Final = RateLimit(
    "conversations.list", 20, 60.0, key=_slack_token, path="/conversations.list", source=_LIMITS_SOURCE
)


class SlackSandbox(SandboxApp):
    """Slack Web API stand-in (``chat.postMessage``, ``conversations.history``/``.list``). See the module docstring."""

    name: ClassVar[str] = "slack"
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (POST_MESSAGE_LIMIT, HISTORY_LIMIT, LIST_LIMIT)

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        channels: Sequence[SandboxChannel] = DEFAULT_CHANNELS,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
        **options: Unpack[SandboxOptions],
    ) -> None:
        self.token = token
        self.channels = tuple(channels)
        #: The bot token's scopes; a method needing another answers ``missing_scope``.
        self.scopes = frozenset(scopes)
        super().__init__(clock=clock, **options)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (
            ("POST", "/chat.postMessage", self._post_message),
            ("POST", "/chat.update", self._update_message),
            ("GET", "/conversations.history", self._history),
            ("POST", "/conversations.history", self._history),
            ("GET", "/conversations.list", self._list),
            ("POST", "/conversations.list", self._list),
        )

    def reset_data(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._block_ids = itertools.count(1)

    def state(self) -> Any:
        """The posted messages (oldest first) and the workspace's channels."""
        return {
            "messages": list(self.messages),
            "channels": [
                {
                    "id": c.id,
                    "name": c.name,
                    "is_private": c.is_private,
                    "is_member": c.is_member,
                    "is_archived": c.is_archived,
                }
                for c in self.channels
            ],
        }

    def controls(self) -> Mapping[tuple[str, str], Handler]:
        return {("GET", "/_button"): self._button}

    def _button(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """The newest message with a button ``action_id`` (and ``value``, ``channel``, ``text``)."""
        action_id = req.param("action_id")
        if not action_id:
            return SandboxResponse.json(
                {"error": "say which button: ?action_id=<the button's action_id>"}, 400
            )
        value, channel, text = req.param("value"), req.param("channel"), req.param("text")
        for message in reversed(self.messages):
            if channel and channel.lstrip("#") not in (message["channel"], message["channel_name"]):
                continue
            if text and text not in message.get("text", ""):
                continue
            for block in message.get("blocks", []):
                for element in block.get("elements", []) if block.get("type") == "actions" else []:
                    if element.get("action_id") == action_id and value in (None, element.get("value")):
                        return SandboxResponse.json(
                            {
                                "channel": message["channel"],
                                "channel_name": message["channel_name"],
                                "ts": message["ts"],
                                "text": message.get("text", ""),
                                "action_id": action_id,
                                "value": element.get("value"),
                            }
                        )
        wanted = ", ".join(
            f"{k}={v}" for k, v in (("value", value), ("channel", channel), ("text", text)) if v
        )
        return SandboxResponse.json(
            {"error": f"no message has a button {action_id}" + (f" ({wanted})" if wanted else "")}, 404
        )

    # --- hooks: auth and error shapes ----------------------------------------------------------

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        sent = token.strip() if scheme.lower() == "bearer" else ""
        if not sent and _media_type(req) == "application/x-www-form-urlencoded":
            try:
                sent = _form(req).get("token", "")  # Slack also takes the token as a form field
            except _Invalid as invalid:
                return invalid.response
        if not sent:
            return SandboxResponse.json({"ok": False, "error": "not_authed"})
        if sent != self.token:
            return SandboxResponse.json({"ok": False, "error": "invalid_auth"})
        return None

    def error_response(self, status: int, message: str) -> SandboxResponse:
        code = _SERVER_CODES.get(status, "fatal_error" if status >= 500 else "invalid_request")
        return SandboxResponse.json({"ok": False, "error": code}, status)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return SandboxResponse.json({"ok": False, "error": "ratelimited"}, 429)

    def limited_response(self, hit: Hit) -> SandboxResponse:
        """Slack's 429: ``Retry-After`` in seconds and ``ratelimited``."""
        return self.rate_limit_response(hit.retry_after_s).with_headers(
            {"retry-after": str(hit.retry_after_s)}
        )

    def not_found(self, req: SandboxRequest, *, path_known: bool) -> SandboxResponse:
        method = req.path.split("?", 1)[0].strip("/")
        if path_known:
            return SandboxResponse.json({"ok": False, "error": "invalid_request"}, 405)
        return SandboxResponse.json({"ok": False, "error": "unknown_method", "req_method": method}, 404)

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        """Slack reports platform errors with HTTP 200: an injected 4xx Slack error becomes one."""
        if 400 <= resp.status < 500 and resp.status not in (404, 405, 429) and _is_slack_error(resp):
            return SandboxResponse(200, resp.headers, resp.body)
        return resp

    # --- chat.postMessage ------------------------------------------------------------------------

    def _post_message(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            args, warnings = self._arguments(req)
            self._need("chat:write")
            channel = self._channel(args.get("channel"))
            metadata = _metadata(args["metadata"]) if args.get("metadata") not in (None, "") else None
            text = args.get("text")
            blocks = args.get("blocks")
            if not isinstance(text, str):
                text = "" if text is None else str(text)
            if not text.strip() and not blocks:
                raise _Invalid("no_text")
            if len(text) > TEXT_MAX_CHARS:
                raise _Invalid("msg_too_long")
            checked = self._blocks(blocks) if blocks else []
        except _Invalid as invalid:
            return invalid.response
        ts = f"{int(self.clock())}.{next(self._seq):06d}"
        message: dict[str, Any] = {
            "user": BOT_USER_ID,
            "type": "message",
            "ts": ts,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": text,
            "team": TEAM_ID,
            "bot_profile": {
                "id": BOT_ID,
                "deleted": False,
                "name": "Switchboard",
                "updated": int(self.clock()),
                "app_id": APP_ID,
                "icons": {"image_36": "", "image_48": "", "image_72": ""},
                "team_id": TEAM_ID,
            },
        }
        if checked:
            message["blocks"] = checked
        if metadata is not None:
            message["metadata"] = metadata
        self.messages.append({"channel": channel.id, "channel_name": channel.name, **message})
        self.visibility.written("messages", ts)
        body: dict[str, Any] = {"ok": True, "channel": channel.id, "ts": ts, "message": message}
        if warnings:
            body["warning"] = ",".join(warnings)
            body["response_metadata"] = {"warnings": warnings}
        return SandboxResponse.json(body)

    # --- chat.update -----------------------------------------------------------------------------

    def _update_message(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``chat.update``: the channel by id only (a name is ``channel_not_found``), the message by
        ``ts`` (unknown ``message_not_found``; another author's ``cant_update_message``); the new
        ``text`` and ``blocks`` replace the old ones (an empty ``blocks`` removes them)."""
        try:
            args, warnings = self._arguments(req)
            self._need("chat:write")
            wanted = str(args.get("channel") or "").strip()
            channel = self._channel(wanted)
            if wanted != channel.id:
                raise _Invalid("channel_not_found")
            ts = str(args.get("ts") or "").strip()
            if not ts:
                raise _Invalid("message_not_found")
            text = args.get("text")
            text = "" if text is None else str(text)
            blocks = args.get("blocks")
            if not text.strip() and not blocks:
                raise _Invalid("no_text")
            if len(text) > TEXT_MAX_CHARS:
                raise _Invalid("msg_too_long")
            checked = self._blocks(blocks) if blocks else []
            message = next((m for m in self.messages if m["channel"] == channel.id and m["ts"] == ts), None)
            if message is None:
                raise _Invalid("message_not_found")
            if message.get("bot_id") != BOT_ID:
                raise _Invalid("cant_update_message")
        except _Invalid as invalid:
            return invalid.response
        message["text"] = text
        if checked:
            message["blocks"] = checked
        else:
            message.pop("blocks", None)
        message["edited"] = {"user": BOT_USER_ID, "ts": f"{int(self.clock())}.000000"}
        shown = {k: v for k, v in message.items() if k not in ("channel", "channel_name", "metadata")}
        body: dict[str, Any] = {"ok": True, "channel": channel.id, "ts": ts, "text": text, "message": shown}
        if warnings:
            body["warning"] = ",".join(warnings)
            body["response_metadata"] = {"warnings": warnings}
        return SandboxResponse.json(body)

    def _arguments(self, req: SandboxRequest) -> tuple[dict[str, Any], list[str]]:
        """The method's arguments from a JSON or form body, and Slack's warnings about the request."""
        media_type = _media_type(req)
        if media_type == "application/json":
            try:
                data = req.json()
            except ValueError:
                raise _Invalid("invalid_json") from None
            if not isinstance(data, dict):
                raise _Invalid("invalid_json")
            charset = "charset=utf-8" in (req.header("content-type") or "").lower().replace(" ", "")
            return data, ([] if charset else ["missing_charset"])
        if media_type == "application/x-www-form-urlencoded":
            fields: dict[str, Any] = dict(_form(req))
            if "blocks" in fields:
                try:
                    fields["blocks"] = json.loads(fields["blocks"])
                except ValueError:
                    raise _Invalid("invalid_blocks_format") from None
            if fields.get("metadata"):
                try:
                    fields["metadata"] = json.loads(fields["metadata"])
                except ValueError:
                    raise _Invalid("invalid_metadata_format") from None
            return fields, []
        raise _Invalid("invalid_post_type" if media_type else "missing_post_type")

    def _channel(self, value: Any) -> SandboxChannel:
        wanted = str(value or "").strip()
        for channel in self.channels:
            if wanted in (channel.id, channel.name, f"#{channel.name}"):
                if channel.is_private and not channel.is_member:
                    break  # a private channel the app is not in is invisible to it
                if channel.is_archived:
                    raise _Invalid("is_archived")
                if not channel.is_member:
                    raise _Invalid("not_in_channel")
                return channel
        raise _Invalid("channel_not_found")

    # --- conversations.history and conversations.list --------------------------------------------

    def _history(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            args = self._read_arguments(req)
            channel = self._readable(args.get("channel"))
            oldest = _ts_argument(args.get("oldest"), "invalid_ts_oldest", Decimal(0))
            latest = _ts_argument(args.get("latest"), "invalid_ts_latest", Decimal(str(self.clock())))
            limit = _limit(args.get("limit"), HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT)
            inclusive = _flag(args.get("inclusive"))
            with_metadata = _flag(args.get("include_all_metadata"))
            start = _history_cursor(args.get("cursor"))
        except _Invalid as invalid:
            return invalid.response

        def in_window(ts: Decimal) -> bool:
            after = ts >= oldest if inclusive else ts > oldest
            before = ts <= latest if inclusive else ts < latest
            return after and before

        window = [
            m
            for m in reversed(self.messages)  # newest first, as Slack answers
            if m["channel"] == channel.id
            and in_window(Decimal(m["ts"]))
            and self.visibility.visible("messages", m["ts"])
        ]
        if start is not None:
            window = [m for m in window if Decimal(m["ts"]) <= start]
        page, rest = window[:limit], window[limit:]
        messages = []
        for stored in page:
            message = {k: v for k, v in stored.items() if k not in ("channel", "channel_name")}
            if not with_metadata:
                message.pop("metadata", None)
            messages.append(message)
        next_cursor = _encode_cursor(f"next_ts:{rest[0]['ts'].replace('.', '')}") if rest else ""
        return SandboxResponse.json(
            {
                "ok": True,
                "messages": messages,
                "has_more": bool(rest),
                "pin_count": 0,
                "response_metadata": {"next_cursor": next_cursor},
            }
        )

    def _list(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        try:
            args = self._read_arguments(req)
            types = {t.strip() for t in str(args.get("types") or "public_channel").split(",") if t.strip()}
            if types - {"public_channel", "private_channel", "mpim", "im"}:
                raise _Invalid("invalid_types")
            if "public_channel" in types:
                self._need("channels:read")
            if "private_channel" in types:
                self._need("groups:read")
            exclude_archived = _flag(args.get("exclude_archived"))
            limit = _limit(args.get("limit"), LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
            start = _list_cursor(args.get("cursor"))
        except _Invalid as invalid:
            return invalid.response
        visible = [
            c
            for c in self.channels
            if ("private_channel" if c.is_private else "public_channel") in types
            and (c.is_member or not c.is_private)  # a private channel is invisible to non-members
            and not (exclude_archived and c.is_archived)
        ]
        page = visible[start : start + limit]
        more = start + limit < len(visible)
        return SandboxResponse.json(
            {
                "ok": True,
                "channels": [_channel_json(c) for c in page],
                "response_metadata": {
                    "next_cursor": _encode_cursor(f"offset:{start + limit}") if more else ""
                },
            }
        )

    def _read_arguments(self, req: SandboxRequest) -> dict[str, Any]:
        """A read method's arguments: the query string of a GET, the body of a POST."""
        if req.method.upper() == "GET":
            return {k: v[-1] for k, v in req.query.items() if v}
        return self._arguments(req)[0]

    def _readable(self, value: Any) -> SandboxChannel:
        """The channel whose history is asked for: by id only, the app in it, the scope granted."""
        wanted = str(value or "").strip()
        for channel in self.channels:
            if wanted == channel.id:
                if channel.is_private and not channel.is_member:
                    break
                self._need("groups:history" if channel.is_private else "channels:history")
                if not channel.is_member:
                    raise _Invalid("not_in_channel")
                return channel
        raise _Invalid("channel_not_found")

    def _need(self, scope: str) -> None:
        if scope not in self.scopes:
            raise _Invalid("missing_scope", needed=scope, provided=",".join(sorted(self.scopes)))

    # --- Block Kit ---------------------------------------------------------------------------------

    def _blocks(self, blocks: Any) -> list[dict[str, Any]]:
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise _blocks_error(["[ERROR] must provide an array of objects [json-pointer:/blocks]"])
        problems: list[str] = []
        if len(blocks) > MAX_BLOCKS:
            problems.append(f"[ERROR] no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
        for i, block in enumerate(blocks):
            problems.extend(_block_problems(block, f"/blocks/{i}"))
        if problems:
            raise _blocks_error(problems)
        return [{**b, "block_id": b.get("block_id") or self._block_id()} for b in blocks]

    def _block_id(self) -> str:
        """A short id like the ones Slack assigns (``"Xk1Q"``), deterministic per sandbox run."""
        n, out = next(self._block_ids) * 7919, ""
        while len(out) < 4:
            n, r = divmod(n, len(_BLOCK_ID_CHARS))
            out += _BLOCK_ID_CHARS[r]
        return out


def _metadata(value: Any) -> dict[str, Any]:
    """Message metadata as Slack takes it: an object with ``event_type`` and ``event_payload``."""
    if not isinstance(value, dict):
        raise _Invalid("invalid_metadata_format")
    event_type, payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        raise _Invalid("invalid_metadata_schema")
    return {"event_type": event_type, "event_payload": payload}


def _ts_argument(value: Any, error: str, default: Decimal) -> Decimal:
    if value in (None, ""):
        return default
    try:
        ts = Decimal(str(value))
    except InvalidOperation:
        raise _Invalid(error) from None
    if not ts.is_finite() or ts < 0:
        raise _Invalid(error)
    return ts


def _limit(value: Any, default: int, maximum: int) -> int:
    if value in (None, ""):
        return default
    try:
        limit = int(str(value))
    except ValueError:
        raise _Invalid("invalid_arguments") from None
    return default if limit < 1 else min(limit, maximum)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1")


def _encode_cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _decode_cursor(value: Any, prefix: str) -> str | None:
    if value in (None, ""):
        return None
    try:
        text = base64.b64decode(str(value), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _Invalid("invalid_cursor") from None
    if not text.startswith(prefix) or not text[len(prefix) :].isdigit():
        raise _Invalid("invalid_cursor")
    return text[len(prefix) :]


def _history_cursor(value: Any) -> Decimal | None:
    """Slack's history cursor is base64 of ``next_ts:<ts without its dot>``: the next page's newest."""
    digits = _decode_cursor(value, "next_ts:")
    if digits is None:
        return None
    if len(digits) <= 6:
        raise _Invalid("invalid_cursor")
    return Decimal(f"{digits[:-6]}.{digits[-6:]}")


def _list_cursor(value: Any) -> int:
    digits = _decode_cursor(value, "offset:")
    return 0 if digits is None else int(digits)


def _channel_json(channel: SandboxChannel) -> dict[str, Any]:
    """A conversation object as ``conversations.list`` answers it (the fields Switchboard reads and a few)."""
    return {
        "id": channel.id,
        "name": channel.name,
        "name_normalized": channel.name,
        "is_channel": not channel.is_private,
        "is_group": False,
        "is_im": False,
        "is_mpim": False,
        "is_private": channel.is_private,
        "is_archived": channel.is_archived,
        "is_general": channel.name == "general",
        "is_member": channel.is_member,
        "num_members": channel.num_members,
        "context_team_id": TEAM_ID,
    }


def _media_type(req: SandboxRequest) -> str:
    return (req.header("content-type") or "").split(";")[0].strip().lower()


def _form(req: SandboxRequest) -> dict[str, str]:
    try:
        parsed = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise _Invalid("invalid_form_data") from None
    return {k: v[-1] for k, v in parsed.items()}


def _is_slack_error(resp: SandboxResponse) -> bool:
    try:
        body = json.loads(resp.body)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("ok") is False and isinstance(body.get("error"), str)


def _too_long(value: str, limit: int, pointer: str) -> list[str]:
    if len(value) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _text_problems(obj: Any, pointer: str, limit: int, *, plain_only: bool = False) -> list[str]:
    """A composition text object: ``{"type": "plain_text" | "mrkdwn", "text": "..."}``."""
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, Mapping) or obj.get("type") not in kinds:
        return [f"[ERROR] must be a {' or '.join(kinds)} text object [json-pointer:{pointer}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]"]
    return _too_long(text, limit, f"{pointer}/text")


def _element_problems(element: Any, pointer: str) -> list[str]:
    if not isinstance(element, Mapping) or element.get("type") != "button":
        return [f"[ERROR] the sandbox knows button elements only [json-pointer:{pointer}]"]
    problems = _text_problems(element.get("text"), f"{pointer}/text", 75, plain_only=True)
    if "url" in element:
        problems += _too_long(str(element["url"]), 3000, f"{pointer}/url")
    if "action_id" in element:
        problems += _too_long(str(element["action_id"]), 255, f"{pointer}/action_id")
    return problems


def _block_problems(block: Mapping[str, Any], pointer: str) -> list[str]:
    """Slack's documented limits for the block kinds the sandbox knows."""
    kind = block.get("type")
    problems = _too_long(str(block.get("block_id", "")), 255, f"{pointer}/block_id")
    if kind == "header":
        return problems + _text_problems(block.get("text"), f"{pointer}/text", 150, plain_only=True)
    if kind == "divider":
        return problems
    if kind == "section":
        if "text" not in block and "fields" not in block:
            return [*problems, f"[ERROR] must provide text or fields [json-pointer:{pointer}]"]
        if "text" in block:
            problems += _text_problems(block["text"], f"{pointer}/text", 3000)
        fields = block.get("fields", [])
        if not isinstance(fields, list) or len(fields) > 10:
            problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{pointer}/fields]")
        else:
            for i, field in enumerate(fields):
                problems += _text_problems(field, f"{pointer}/fields/{i}", 2000)
        return problems
    if kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            return [*problems, f"[ERROR] must provide 1 to 10 items [json-pointer:{pointer}/elements]"]
        for i, element in enumerate(elements):
            problems += _text_problems(element, f"{pointer}/elements/{i}", 3000)
        return problems
    if kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            return [*problems, f"[ERROR] must provide 1 to 25 items [json-pointer:{pointer}/elements]"]
        for i, element in enumerate(elements):
            problems += _element_problems(element, f"{pointer}/elements/{i}")
        return problems
    return [f"[ERROR] unsupported type: {kind} [json-pointer:{pointer}/type]"]
