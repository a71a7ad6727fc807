"""The typed Slack Web API client: post a message, find a post by its reference, resolve a channel.

Worker path only. Sources (Slack's own documentation and reference data):

* ``chat.postMessage`` (arguments, the success body ``ok``/``channel``/``ts``/``message``, the error
  codes): https://docs.slack.dev/reference/methods/chat.postMessage and the method description in
  ``slack-ruby/slack-api-ref`` ``methods/chat/chat.postMessage.json``;
* rate limits ("chat.postMessage generally allows posting one message per second per channel",
  HTTP 429 with ``Retry-After`` in seconds and ``{"ok": false, "error": "ratelimited"}``):
  https://docs.slack.dev/apis/web-api/rate-limits;
* message metadata (``metadata`` = ``{"event_type": ..., "event_payload": {...}}`` on
  ``chat.postMessage``, not shown to people, read back with ``include_all_metadata``):
  https://docs.slack.dev/messaging/message-metadata and https://api.slack.com/reference/metadata
  (``event_type`` lower-case letters, digits and underscores);
* ``conversations.history`` (``channel`` is an id, ``oldest``/``latest``/``limit``/``cursor``,
  newest first, ``has_more`` and ``response_metadata.next_cursor``, scopes ``channels:history`` /
  ``groups:history``, errors): https://docs.slack.dev/reference/methods/conversations.history and
  ``slack-ruby/slack-api-ref`` ``methods/conversations/conversations.history.json``;
  ``conversations.list`` (name -> id): https://docs.slack.dev/reference/methods/conversations.list;
  pagination: https://docs.slack.dev/apis/web-api/pagination.

``chat.postMessage`` has no idempotency key. A post whose answer is lost (a client timeout after
Slack stored the message, a crash before the ledger recorded the step) would be posted again by the
retry. So a post made for a ledger step carries a reference in its metadata
(:func:`effect_metadata`), and :meth:`SlackClient.find_by_ref` reads the channel's recent history
for it; :mod:`apps.slack.actions` decides when that read is worth its cost.

Slack answers almost every failure with HTTP 200 and ``{"ok": false, "error": "<code>"}``, so the
status code says little: :class:`SlackClient` reads ``ok`` on every answer and raises by error code.
Codes that mean "Slack had a bad moment" are retried; everything else (a wrong channel, a revoked
token, a missing scope, a malformed message) needs a person and goes to the DLQ with the code.

httpx (via :mod:`shared.http`) is imported for type checking only, as everywhere under ``apps/``.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from shared.errors import RateLimited, TargetRejected, TargetUnavailable

from . import APP
from .models import Answer, ChannelList, CursorPage, History, PostedMessage

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient

__all__ = [
    "EFFECT_EVENT_TYPE",
    "HISTORY_MAX_PAGES",
    "HISTORY_PAGE_LIMIT",
    "RETRYABLE_ERRORS",
    "TEXT_MAX_CHARS",
    "SlackClient",
    "effect_metadata",
    "is_channel_id",
]

#: Slack's limit for the top-level ``text`` ("no more than 40,000 characters or risk truncation").
TEXT_MAX_CHARS: Final = 40_000

#: ``ok: false`` codes that a later attempt can get past. Slack documents ``internal_error`` and
#: ``fatal_error`` as transient server-side failures, ``service_unavailable`` and ``request_timeout``
#: as an outage or a truncated request, ``ratelimited`` (HTTP 429) and the older ``rate_limited`` as
#: too many posts, and ``team_added_to_org`` / ``org_login_required`` as an Enterprise migration that
#: ends by itself. Any other code is permanent: the request itself or the set-up is wrong.
RETRYABLE_ERRORS: Final = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "ratelimited",
        "rate_limited",
        "team_added_to_org",
        "org_login_required",
    }
)
_RATE_LIMITED: Final = frozenset({"ratelimited", "rate_limited"})
_PATH: Final = "/chat.postMessage"
_HISTORY: Final = "/conversations.history"
_LIST: Final = "/conversations.list"

#: ``metadata.event_type`` of Switchboard's posts: Slack's guidelines ask for lower-case letters,
#: digits and underscores, human-readable (developers may see it in Slack's UI).
EFFECT_EVENT_TYPE: Final = "switchboard_effect"
#: Messages per ``conversations.history`` page. Slack's default is 100 and its maximum 999 (15 for
#: apps outside the Marketplace created since 2025-05-29, which Slack caps silently:
#: https://api.slack.com/changelog/2025-05-terms-rate-limit-update-and-faq); Slack advises no more
#: than 200 per page for paginated methods (https://docs.slack.dev/apis/web-api/pagination).
HISTORY_PAGE_LIMIT: Final = 200
#: Pages read at most per lookup. History is read newest first, so a lookup reads every message
#: posted in its window after the one it looks for; the window is the earlier attempts' minutes
#: (:class:`shared.ledger.AttemptWindow`), so that is the posts of those minutes - a few in a small
#: business's channel. A lookup that has not found its post after this many pages is inconclusive,
#: and the post is made (a rare duplicate beats a lost message).
HISTORY_MAX_PAGES: Final = 50
#: ``conversations.list`` pages read at most to resolve a channel name (200 channels each).
_LIST_MAX_PAGES: Final = 10
#: Slack's channel ids: ``C`` (public), ``G`` (older private channels), ``D`` (direct messages).
_ID_PREFIXES: Final = ("C", "G", "D")


def effect_metadata(ref: str) -> dict[str, Any]:
    """Message metadata naming the effect a post is for: ``{"event_type", "event_payload": {"ref"}}``.

    Slack stores it with the message and shows it to no one; ``conversations.history`` with
    ``include_all_metadata`` returns it, which is how :meth:`SlackClient.find_by_ref` finds the post.
    """
    return {"event_type": EFFECT_EVENT_TYPE, "event_payload": {"ref": ref}}


def is_channel_id(channel: str) -> bool:
    """Whether ``channel`` is an id (``C0123ABCD``) rather than a name (``#new-leads``).

    Slack's ids are upper-case letters and digits starting with C, G or D; names are lower-case
    (Slack lower-cases them), so an all-upper-case value starting so is an id.
    """
    return (
        len(channel) >= 9
        and channel.startswith(_ID_PREFIXES)
        and channel.isalnum()
        and channel.upper() == channel
    )


#: Channel name -> id, learnt from ``chat.postMessage`` answers and ``conversations.list``, per API
#: client (one workspace and token): a warm worker resolves a name without a call.
_channel_ids: weakref.WeakKeyDictionary[ApiClient, dict[str, str]] = weakref.WeakKeyDictionary()
_channel_ids_lock = threading.Lock()


_PageT = TypeVar("_PageT", bound=CursorPage)


def _channel_key(name: str) -> str:
    """A channel name as Slack compares it: without ``#``, lower-case."""
    return name.strip().removeprefix("#").lower()


class SlackClient:
    """Typed Slack Web API calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, auth (``Authorization: Bearer xoxb-...``), timeouts and the mapping of
    HTTP statuses (429 -> ``RateLimited`` with ``Retry-After``, 5xx -> ``TargetUnavailable``); this
    class adds what HTTP statuses cannot say: Slack's ``ok: false`` answers, mapped by error code.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def post_message(
        self,
        channel: str,
        text: str,
        blocks: Sequence[Mapping[str, Any]] = (),
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> PostedMessage:
        """Post a message to ``channel`` (an id ``C...`` or a name ``#new-leads``).

        ``text`` is required even with ``blocks``: Slack shows it in notifications and to screen
        readers, and warns when it is missing. It is cut to Slack's 40,000 characters rather than
        risking a truncation mid-entity. ``metadata`` (see :func:`effect_metadata`) is stored with
        the message, invisible to people, so that a retry can find the post.
        """
        payload: dict[str, Any] = {"channel": channel, "text": text[:TEXT_MAX_CHARS]}
        if blocks:
            payload["blocks"] = [dict(b) for b in blocks]
        if metadata:
            payload["metadata"] = dict(metadata)
        response = self._api.request(
            "POST",
            _PATH,
            json=payload,
            # Slack warns "missing_charset" on JSON posts without it.
            headers={"content-type": "application/json; charset=utf-8"},
            template=_PATH,
        )
        answer = self._answer(response, _PATH)
        if not answer.ok:
            raise self._error(answer, response, f"POST {_PATH}")
        posted = self._api.parse(PostedMessage, response, _PATH)
        if not is_channel_id(channel):
            self._known_ids()[_channel_key(channel)] = posted.channel
        return posted

    def update_message(
        self, channel: str, ts: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> PostedMessage:
        """Replace the text and blocks of message ``ts`` in ``channel`` (an id: ``chat.update``
        takes no names). An empty ``blocks`` removes the message's blocks, as Slack documents."""
        path = "/chat.update"
        payload: dict[str, Any] = {
            "channel": channel,
            "ts": ts,
            "text": text[:TEXT_MAX_CHARS],
            "blocks": [dict(b) for b in blocks],
        }
        response = self._api.request(
            "POST",
            path,
            json=payload,
            headers={"content-type": "application/json; charset=utf-8"},
            template=path,
        )
        answer = self._answer(response, path)
        if not answer.ok:
            raise self._error(answer, response, f"POST {path}")
        return self._api.parse(PostedMessage, response, path)

    def find_by_ref(
        self,
        channel: str,
        ref: str,
        *,
        oldest: float,
        latest: float | None = None,
        max_pages: int = HISTORY_MAX_PAGES,
    ) -> PostedMessage | None:
        """The message in ``channel`` posted between ``oldest`` and ``latest`` (Unix times; ``latest``
        defaults to now) whose metadata carries ``ref``.

        Reads ``conversations.history`` with ``include_all_metadata=true``, newest first, at most
        ``max_pages`` pages of :data:`HISTORY_PAGE_LIMIT`; ``None`` when the post is not among them
        (never made, or - in a channel busier than the bound - too far back to tell). Needs
        ``channels:history`` (``groups:history`` for a private channel) and the app in the channel;
        without them Slack answers ``missing_scope`` / ``not_in_channel``, a permanent error that
        names what is missing, rather than a silent "not found" that would post twice.
        """
        channel_id = self.channel_id(channel)
        params = {
            "channel": channel_id,
            "include_all_metadata": "true",
            "oldest": f"{max(0.0, oldest):.6f}",
            **({"latest": f"{max(0.0, latest):.6f}"} if latest is not None else {}),
            "limit": str(HISTORY_PAGE_LIMIT),
        }
        cursor = ""
        for _ in range(max(1, max_pages)):
            page = self._read(_HISTORY, History, {**params, **({"cursor": cursor} if cursor else {})})
            for message in page.messages:
                metadata = message.metadata
                if (
                    metadata is not None
                    and metadata.event_type == EFFECT_EVENT_TYPE
                    and metadata.event_payload.get("ref") == ref
                ):
                    return PostedMessage(channel=channel_id, ts=message.ts)
            cursor = page.next_cursor
            if not page.has_more or not cursor:
                return None
        return None

    def list_channels(
        self, *, cursor: str = "", limit: int = 100, exclude_archived: bool = True
    ) -> ChannelList:
        """One page of the workspace's public channels (``conversations.list``, scope ``channels:read``).

        Slack pages by cursor: the answer's ``response_metadata.next_cursor`` (empty on the last page)
        goes back as ``cursor``. Slack may answer fewer than ``limit`` channels on a page that is not
        the last, so only an empty cursor means the end.
        """
        params = {
            "types": "public_channel",
            "limit": str(limit),
            "exclude_archived": "true" if exclude_archived else "false",
            **({"cursor": cursor} if cursor else {}),
        }
        return self._read(_LIST, ChannelList, params)

    def channel_id(self, channel: str) -> str:
        """The id of ``channel``: as given if it is one, else looked up by name.

        ``conversations.history`` takes ids only (``chat.postMessage`` also takes names). A name is
        resolved from what earlier posts answered, or else with ``conversations.list`` (public and
        private channels the app can see, at most ten pages of 200; scopes
        ``channels:read`` and ``groups:read``). A name no page holds is Slack's
        ``channel_not_found``, as a post to it would be.
        """
        if is_channel_id(channel):
            return channel
        key = _channel_key(channel)
        known = self._known_ids()
        if key in known:
            return known[key]
        # Archived channels are listed too: a post to one is then Slack's own "is_archived".
        params = {"types": "public_channel,private_channel", "limit": "200"}
        cursor = ""
        for _ in range(_LIST_MAX_PAGES):
            page = self._read(_LIST, ChannelList, {**params, **({"cursor": cursor} if cursor else {})})
            for found in page.channels:
                known[_channel_key(found.name)] = found.id
            if key in known:
                return known[key]
            cursor = page.next_cursor
            if not cursor:
                break
        raise TargetRejected(
            f"slack GET {_LIST}: channel_not_found ({channel} is not a channel the app can see)",
            status=200,
            app=APP.name,
        )

    def _known_ids(self) -> dict[str, str]:
        with _channel_ids_lock:  # records of a batch run in threads and share the API client
            return _channel_ids.setdefault(self._api, {})

    def _read(self, path: str, model: type[_PageT], params: Mapping[str, str]) -> _PageT:
        """One page of a read method (``GET`` with the arguments as query parameters)."""
        response = self._api.request("GET", path, params=dict(params), template=path)
        answer = self._answer(response, path)
        if not answer.ok:
            raise self._error(answer, response, f"GET {path}")
        return self._api.parse(model, response, path)

    def _answer(self, response: httpx.Response, path: str) -> Answer:
        """Slack's envelope (``ok``, ``error``), read before the message itself."""
        return self._api.parse(Answer, response, path)

    @staticmethod
    def _error(answer: Answer, response: httpx.Response, call: str) -> Exception:
        code = answer.error or "unknown_error"
        where = f"slack {call}"
        if code in _RATE_LIMITED:
            return RateLimited(f"{where}: {code}", retry_after=_retry_after(response))
        if code in RETRYABLE_ERRORS:
            return TargetUnavailable(f"{where}: {code}", retry_after=_retry_after(response))
        detail = code
        if code == "missing_scope":
            detail += f" (needed {answer.needed or '?'}, token has {answer.provided or '?'})"
        messages = (answer.response_metadata or {}).get("messages")
        if isinstance(messages, list) and messages:
            detail += ": " + "; ".join(str(m) for m in messages[:3])
        return TargetRejected(f"{where}: {detail}", status=response.status_code, app=APP.name)


def _retry_after(response: httpx.Response) -> float | None:
    from shared.http import parse_retry_after  # already imported wherever a response exists

    return parse_retry_after(response.headers.get("retry-after"))
