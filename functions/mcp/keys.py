"""API keys of the MCP endpoint: issued once, kept hashed, each with its tools and its quota.

A key is ``sb_live_<id>_<secret>``: the 10-character ``id`` finds the record (``mcp#apikey#<id>`` in
the ledger table, under the ``mcp#`` prefix the function's role is scoped to - see
:mod:`infra.cdk.access`), the 256-bit ``secret`` proves possession. Only the SHA-256 of the whole key is stored
- a high-entropy secret needs no slow hash (there is nothing to brute-force), and a leaked table
leaks no usable key. The plaintext is shown once, by ``switchboard keys create``, and never again.

Each key names the tools it may call (least privilege: an assistant that answers stock questions
gets ``stock_get`` and nothing that writes) and a quota: calls per minute and per day, counted with
atomic conditional ``ADD`` updates on counter items that expire by TTL. Revocation takes effect on
the next request: keys are read with a strongly consistent read, never cached.

**Names.** A key's tools are named as MCP clients see them, ``crm_find_contact`` - the name in
``tools/list``, in errors, in the audit, in ``keys list``. The action's dotted name
(``crm.find_contact``) is accepted wherever a tool is named, and keys stored with dotted names
(before this rule) read back with tool names.

**What counts.** The quota counts calls that reach a target (:func:`consume_quota`, called by
:mod:`functions.mcp.tools` just before the action runs): a call refused for its arguments, its tool
or its quota, and a replay of an idempotency key, do not count - a model correcting its arguments
must not lock itself out. Refused calls have their own per-minute limit (:func:`count_refusal`), so
a loop of bad calls still ends.

**Refusals.** Each way a key can fail has its own class (:class:`MissingKey`, :class:`MalformedKey`,
:class:`UnknownKey`, :class:`RevokedKey`), with a ``reason`` for the JSON-RPC error and the audit.

Shared by the function (authenticate, count) and the CLI (:mod:`infra.ops.keys`: create, list,
revoke); both take a boto3 DynamoDB client and the table name. Listing every key is a table scan,
which the function's role cannot make (a scan names no key to scope it by), so it lives with the
CLI, which runs with the operator's credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from shared.actions.base import tool_name
from shared.table import ConditionFailed, Item, Table

__all__ = [
    "ALL_TOOLS",
    "ITEM_PREFIX",
    "KEY_PREFIX",
    "REFUSALS_PER_MINUTE",
    "ApiKey",
    "InvalidKey",
    "MalformedKey",
    "MissingKey",
    "QuotaExceeded",
    "RevokedKey",
    "UnknownKey",
    "as_tool_name",
    "authenticate",
    "consume_quota",
    "count_refusal",
    "create_key",
    "get_key",
    "hash_key",
    "key_from_item",
    "parse_key",
    "revoke_key",
]

KEY_PREFIX: Final = "sb_live_"
#: In ``tools``: every tool the function offers, now and later (for an operator's own key).
ALL_TOOLS: Final = "*"
_ID_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
_KEY: Final = re.compile(r"^sb_live_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$")
#: Key prefix of the records (and their counters) in the ledger table.
ITEM_PREFIX: Final = "mcp#apikey#"
#: Counter items outlive their window by this much (TTL deletion is lazy; the window check is exact).
_COUNTER_GRACE_S: Final = 3600


#: Refused calls (unknown or forbidden tool, invalid arguments) a key may make per minute, at least;
#: a key whose own per-minute quota is higher may make that many.
REFUSALS_PER_MINUTE: Final = 10


class InvalidKey(Exception):
    """No usable key (answered 401). Raised as one of the subclasses, which say which problem."""

    code = "invalid_api_key"
    #: Short name of the problem, for the JSON-RPC error's data and the audit's outcome.
    reason = "invalid_key"

    def __init__(self, message: str, key_id: str | None = None) -> None:
        super().__init__(message)
        #: The id of a well-formed key (unknown or revoked); ``None`` when there was none to read.
        self.key_id = key_id


class MissingKey(InvalidKey):
    """No ``Authorization`` header, or an empty one."""

    reason = "missing_key"


class MalformedKey(InvalidKey):
    """A credential that is not ``Bearer sb_live_<id>_<secret>``."""

    reason = "malformed_key"


class UnknownKey(InvalidKey):
    """Shaped like a key, but no key has this id and secret (never issued, or the secret is wrong)."""

    reason = "unknown_key"


class RevokedKey(InvalidKey):
    """The right secret of a key the operator revoked."""

    reason = "revoked_key"


class QuotaExceeded(Exception):
    """The key used up its calls (or its refused calls) for this minute or day."""

    def __init__(self, window: str, limit: int, retry_after_s: int, counted: str = "calls") -> None:
        super().__init__(f"quota exceeded: {limit} {counted} per {window}; retry in {retry_after_s} s")
        self.window = window
        self.limit = limit
        self.retry_after_s = retry_after_s
        #: What the window counts: ``calls`` (that reached a target) or ``refused calls``.
        self.counted = counted


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    tools: tuple[str, ...]
    per_minute: int
    per_day: int
    created_at: str
    revoked_at: str | None = None
    key_hash: str = ""

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def may_call(self, tool: str) -> bool:
        """Whether the key names ``tool`` (a tool name, ``crm_find_contact``, or an action name)."""
        return ALL_TOOLS in self.tools or as_tool_name(tool) in self.tools

    @property
    def display(self) -> str:
        """How the key is named in lists and audit records: its public part only."""
        return f"{KEY_PREFIX}{self.id}_…"


def as_tool_name(name: str) -> str:
    """``crm.find_contact`` or ``crm_find_contact`` -> ``crm_find_contact`` (``*`` stays ``*``)."""
    return name if name == ALL_TOOLS else tool_name(name.strip())


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def parse_key(key: str) -> str | None:
    """The key's id, or ``None`` if it is not shaped like a Switchboard key."""
    match = _KEY.match(key.strip())
    return match.group(1) if match else None


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def key_from_item(item: Item) -> ApiKey:
    """The key a ledger item holds."""
    return ApiKey(
        id=str(item["id"]).removeprefix(ITEM_PREFIX),
        name=item.get("name", ""),
        tools=tuple(sorted({as_tool_name(t) for t in item.get("tools", ())})),
        per_minute=int(item["per_minute"]),
        per_day=int(item["per_day"]),
        created_at=item.get("created_at", ""),
        revoked_at=item.get("revoked_at"),
        key_hash=item.get("key_hash", ""),
    )


def create_key(
    ddb: Any, table: str, *, name: str, tools: Sequence[str], per_minute: int, per_day: int
) -> tuple[ApiKey, str]:
    """A new key: its record, and the plaintext key - the only time it exists outside the caller."""
    if not tools:
        raise ValueError("a key needs at least one tool")
    if not 1 <= per_minute <= per_day:
        raise ValueError("quotas need 1 <= per minute <= per day")
    keys = Table(ddb, table)
    for _ in range(5):
        key_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))
        key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
        item = {
            "id": ITEM_PREFIX + key_id,
            "kind": "apikey",
            "key_hash": hash_key(key),
            "name": name,
            "tools": {as_tool_name(t) for t in tools},
            "per_minute": per_minute,
            "per_day": per_day,
            "created_at": _now_iso(),
        }
        if keys.put_if_absent(item):  # else an id collision: draw again
            return key_from_item(item), key
    raise RuntimeError("could not draw an unused key id")  # pragma: no cover - 32^10 ids


def get_key(ddb: Any, table: str, key_id: str) -> ApiKey | None:
    item = Table(ddb, table).get(ITEM_PREFIX + key_id, consistent=True)
    return key_from_item(item) if item else None


def revoke_key(ddb: Any, table: str, key_id: str) -> ApiKey | None:
    """Mark the key revoked (kept for the audit trail); ``None`` if there is no such key."""
    try:
        revoked = Table(ddb, table).update(
            ITEM_PREFIX + key_id,
            "SET revoked_at = if_not_exists(revoked_at, :now)",
            condition="attribute_exists(id)",
            values={":now": _now_iso()},
            returns="ALL_NEW",
        )
    except ConditionFailed:
        return None
    return key_from_item(revoked)


def authenticate(ddb: Any, table: str, authorization: str | None) -> ApiKey:
    """The key an ``Authorization: Bearer sb_live_…`` header presents, or an :class:`InvalidKey`.

    Only the holder of a key's secret learns that it was revoked: a wrong secret is "unknown",
    whatever the state of the key whose id it borrows.
    """
    header = (authorization or "").strip()
    if not header:
        raise MissingKey(
            "missing API key: send the header Authorization: Bearer sb_live_… "
            "(the operator creates one with switchboard keys create)"
        )
    scheme, _, presented = header.partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise MalformedKey(
            f"malformed Authorization header: expected 'Bearer sb_live_…', got a {scheme[:20]!r} credential"
        )
    key_id = parse_key(presented)
    if key_id is None:
        raise MalformedKey(
            "malformed API key: a Switchboard key is sb_live_<10-character id>_<43-character secret>; "
            "check it was copied whole"
        )
    key = get_key(ddb, table, key_id)
    # Compared in constant time; an unknown id still costs a hash so timing tells nothing.
    wanted = key.key_hash if key else hash_key("")
    if not hmac.compare_digest(hash_key(presented), wanted) or key is None:
        raise UnknownKey(
            f"unknown API key: no key {KEY_PREFIX}{key_id}_… has this secret; check it was copied whole",
            key_id,
        )
    if key.revoked:
        raise RevokedKey(
            f"revoked API key: {key.display} was revoked at {key.revoked_at}; ask the operator for a new one",
            key_id,
        )
    return key


def consume_quota(ddb: Any, table: str, key: ApiKey, now: float | None = None) -> None:
    """Count one call against the key's minute and day windows; :class:`QuotaExceeded` if either is full.

    Each window is one counter item, incremented only while below the limit (a conditional ``ADD``:
    atomic, so concurrent calls can never overshoot). A refused day after an accepted minute leaves
    that minute's count one higher - harmless, the call was refused anyway.
    """
    now = time.time() if now is None else now
    windows = (("minute", "minute", 60, key.per_minute), ("day", "day", 86_400, key.per_day))
    _count(ddb, table, key, windows, now, "calls")


def count_refusal(ddb: Any, table: str, key: ApiKey, now: float | None = None) -> None:
    """Count one refused call; :class:`QuotaExceeded` (``counted="refused calls"``) past the limit.

    Refused calls do not spend the quota, so a model can correct its arguments; this separate
    per-minute window - ``max(REFUSALS_PER_MINUTE, per_minute)`` - ends a loop of bad calls.
    """
    now = time.time() if now is None else now
    limit = max(REFUSALS_PER_MINUTE, key.per_minute)
    _count(ddb, table, key, (("refused_minute", "minute", 60, limit),), now, "refused calls")


def _count(
    ddb: Any,
    table: str,
    key: ApiKey,
    windows: Iterable[tuple[str, str, int, int]],
    now: float,
    counted: str,
) -> None:
    """One conditional ``ADD`` per window: ``(counter name, window as shown, seconds, limit)``."""
    counters = Table(ddb, table)
    for counter, window, seconds, limit in windows:
        start = int(now // seconds) * seconds
        try:
            counters.update(
                f"{ITEM_PREFIX}{key.id}#{counter}#{start}",
                "ADD calls :one SET expiration = :exp",
                condition="attribute_not_exists(calls) OR calls < :limit",
                values={":one": 1, ":limit": limit, ":exp": start + seconds + _COUNTER_GRACE_S},
            )
        except ConditionFailed:
            raise QuotaExceeded(window, limit, max(1, int(start + seconds - now)), counted) from None


def unknown_tools(tools: Iterable[str], known: Iterable[str]) -> list[str]:
    """Tool names a key would be given that no action has (a typo would silently grant nothing)."""
    names = {as_tool_name(k) for k in known}
    return sorted(t for t in tools if t != ALL_TOOLS and as_tool_name(t) not in names)
