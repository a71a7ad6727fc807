"""Slack's Web API ``chat.postMessage``, offline, in Slack's own request and response shapes.

Served (paths as on ``https://slack.com/api``): ``POST /chat.postMessage`` with a JSON body
(``application/json``) or a form body (``application/x-www-form-urlencoded``, ``blocks`` as a JSON
string), as Slack takes both.

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

Sources: https://docs.slack.dev/reference/methods/chat.postMessage, the method description in
``slack-ruby/slack-api-ref`` (``methods/chat/chat.postMessage.json``), and the Block Kit reference
(https://docs.slack.dev/reference/block-kit/blocks) for the limits checked.
"""

from __future__ import annotations

import itertools
import json
import string
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Final
from urllib.parse import parse_qs

from sandbox.base import Handler, SandboxApp, SandboxRequest, SandboxResponse

__all__ = ["BOT_USER_ID", "DEFAULT_CHANNELS", "DEFAULT_TOKEN", "SandboxChannel", "SlackSandbox"]

#: What ``make dev`` stores as the Slack connection's token (``shared.apps.slack.CONNECTION.local``).
DEFAULT_TOKEN: Final = "sandbox-slack-token"
TEAM_ID: Final = "T0BRAMBLE01"
APP_ID: Final = "A0SWITCHBD1"
BOT_ID: Final = "B0SWITCHBD1"
BOT_USER_ID: Final = "U0SWITCHBD1"
TEXT_MAX_CHARS: Final = 40_000
MAX_BLOCKS: Final = 50


@dataclass(frozen=True)
class SandboxChannel:
    """A channel of the sandbox workspace and the app's place in it."""

    id: str
    name: str
    is_private: bool = False
    #: Whether the app (its bot user) was added to the channel.
    is_member: bool = True
    is_archived: bool = False


DEFAULT_CHANNELS: Final = (
    SandboxChannel("C0NEWLEADS1", "new-leads"),
    SandboxChannel("C0SALES0001", "sales"),
    SandboxChannel("C0GENERAL01", "general"),
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


class SlackSandbox(SandboxApp):
    """Slack Web API stand-in (``chat.postMessage``). See the module docstring."""

    name: ClassVar[str] = "slack"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        channels: Sequence[SandboxChannel] = DEFAULT_CHANNELS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.channels = tuple(channels)
        super().__init__(clock=clock)

    def routes(self) -> Iterable[tuple[str, str, Handler]]:
        return (("POST", "/chat.postMessage", self._post_message),)

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
            channel = self._channel(args.get("channel"))
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
        self.messages.append({"channel": channel.id, "channel_name": channel.name, **message})
        body: dict[str, Any] = {"ok": True, "channel": channel.id, "ts": ts, "message": message}
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
