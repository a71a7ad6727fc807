"""Everything Switchboard knows about Slack's Web API, written once: auth, limits, errors, posting.

Sources (Slack's own documentation and reference data):

* ``chat.postMessage`` (arguments, the success body ``ok``/``channel``/``ts``/``message``, the error
  codes): https://docs.slack.dev/reference/methods/chat.postMessage and the method description in
  ``slack-ruby/slack-api-ref`` ``methods/chat/chat.postMessage.json``;
* rate limits ("chat.postMessage generally allows posting one message per second per channel",
  HTTP 429 with ``Retry-After`` in seconds and ``{"ok": false, "error": "ratelimited"}``):
  https://docs.slack.dev/apis/web-api/rate-limits;
* escaping in ``mrkdwn`` text (``&``, ``<`` and ``>``, nothing else):
  https://docs.slack.dev/messaging/formatting-message-text#escaping-text.

Slack answers almost every failure with HTTP 200 and ``{"ok": false, "error": "<code>"}``, so the
status code says little: :class:`SlackClient` reads ``ok`` on every answer and raises by error code.
Codes that mean "Slack had a bad moment" are retried; everything else (a wrong channel, a revoked
token, a missing scope, a malformed message) needs a person and goes to the DLQ with the code.

Importing this module must stay cheap: specs import it for :data:`CONNECTION` on the ingress path,
so httpx (via :mod:`shared.http`) is imported only for type checking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from pydantic import BaseModel, ConfigDict

from shared.apps.base import App
from shared.errors import RateLimited, TargetRejected, TargetUnavailable

if TYPE_CHECKING:
    import httpx

    from shared.http import ApiClient

__all__ = [
    "APP",
    "CONNECTION",
    "RETRYABLE_ERRORS",
    "TEXT_MAX_CHARS",
    "PostedMessage",
    "SlackClient",
    "mrkdwn_escape",
]

APP = App(
    name="slack",
    base_url="https://slack.com/api",
    auth="bearer",
    token_field="token",
    # Slack sends Retry-After (seconds) with its HTTP 429 answers.
    retry_after_headers=("retry-after",),
    # chat.postMessage allows about one message per second per channel (short bursts tolerated),
    # and every post of an integration usually goes to the same channel: one request in flight per
    # worker keeps a burst of leads from turning into a burst of 429s. A 429 is retried anyway.
    max_concurrency=1,
    idempotency="none: chat.postMessage takes no idempotency key; the effects ledger posts once per event",
    docs_url="https://docs.slack.dev/reference/methods/chat.postMessage",
)

CONNECTION = APP.connection(
    description=(
        "Slack bot token (xoxb-...) of the workspace's Slack app (OAuth & Permissions > Bot User OAuth "
        "Token). Scope chat:write; invite the app to the channel (or add chat:write.public for public "
        "channels it has not joined)."
    )
)

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


def mrkdwn_escape(text: str) -> str:
    """Text as Slack shows it literally in ``mrkdwn``: ``&``, ``<`` and ``>`` escaped, nothing else.

    Slack reads ``<...>`` as links and mentions: unescaped, a lead who calls themselves
    ``<!channel>`` would notify the whole channel. Slack documents exactly these three escapes (an
    HTML escaper would also turn quotes into entities that Slack shows as typed).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Model(BaseModel):
    # Slack adds fields over time; ignoring unknown ones keeps old workers working.
    model_config = ConfigDict(frozen=True, extra="ignore")


class PostedMessage(_Model):
    """What ``chat.postMessage`` answers on success: where the message is and its id (``ts``)."""

    #: The channel's id (``C...``), also when the request named the channel (``#new-leads``).
    channel: str
    #: The message's timestamp, which is its id within the channel (threads, updates, permalinks).
    ts: str


class _Answer(_Model):
    ok: bool
    error: str | None = None
    #: ``missing_scope`` says which scope was needed and which the token has.
    needed: str | None = None
    provided: str | None = None
    #: ``invalid_blocks`` lists what is wrong in ``response_metadata.messages``.
    response_metadata: dict[str, Any] | None = None


class SlackClient:
    """Typed Slack Web API calls on top of :class:`shared.http.ApiClient`.

    ApiClient owns transport, auth (``Authorization: Bearer xoxb-...``), timeouts and the mapping of
    HTTP statuses (429 -> ``RateLimited`` with ``Retry-After``, 5xx -> ``TargetUnavailable``); this
    class adds what HTTP statuses cannot say: Slack's ``ok: false`` answers, mapped by error code.
    """

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    def post_message(
        self, channel: str, text: str, blocks: Sequence[Mapping[str, Any]] = ()
    ) -> PostedMessage:
        """Post a message to ``channel`` (an id ``C...`` or a name ``#new-leads``).

        ``text`` is required even with ``blocks``: Slack shows it in notifications and to screen
        readers, and warns when it is missing. It is cut to Slack's 40,000 characters rather than
        risking a truncation mid-entity.
        """
        payload: dict[str, Any] = {"channel": channel, "text": text[:TEXT_MAX_CHARS]}
        if blocks:
            payload["blocks"] = [dict(b) for b in blocks]
        response = self._api.request(
            "POST",
            _PATH,
            json=payload,
            # Slack warns "missing_charset" on JSON posts without it.
            headers={"content-type": "application/json; charset=utf-8"},
            template=_PATH,
        )
        answer = self._answer(response)
        if not answer.ok:
            raise self._error(answer, response)
        return self._api.parse(PostedMessage, response, _PATH)

    def _answer(self, response: httpx.Response) -> _Answer:
        """Slack's envelope (``ok``, ``error``), read before the message itself."""
        return self._api.parse(_Answer, response, _PATH)

    @staticmethod
    def _error(answer: _Answer, response: httpx.Response) -> Exception:
        code = answer.error or "unknown_error"
        where = f"slack POST {_PATH}"
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
