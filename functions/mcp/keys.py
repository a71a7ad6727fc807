"""API keys of the MCP endpoint: issued once, kept hashed, each with its tools and its quota.

A key is ``sb_live_<id>_<secret>``: the 10-character ``id`` finds the record (``mcp#apikey#<id>`` in
the ledger table, under the ``mcp#`` prefix the function's role is scoped to - see
:mod:`infra.cdk.access`), the 256-bit ``secret`` proves possession. Only the SHA-256 of the whole key is stored
- a high-entropy secret needs no slow hash (there is nothing to brute-force), and a leaked table
leaks no usable key. The plaintext is shown once, by ``switchboard keys create``, and never again.

Each key names the tools it may call (least privilege: an assistant that answers stock questions
gets ``stock.get`` and nothing that writes) and a quota: calls per minute and per day, counted with
atomic conditional ``ADD`` updates on counter items that expire by TTL. Revocation takes effect on
the next request: keys are read with a strongly consistent read, never cached.

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

from shared.table import ConditionFailed, Item, Table

__all__ = [
    "ALL_TOOLS",
    "ITEM_PREFIX",
    "KEY_PREFIX",
    "ApiKey",
    "InvalidKey",
    "QuotaExceeded",
    "authenticate",
    "consume_quota",
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


class InvalidKey(Exception):
    """No usable key: missing, malformed, unknown, wrong secret, or revoked (answered 401)."""

    code = "invalid_api_key"


class QuotaExceeded(Exception):
    """The key used up its calls for this minute or day."""

    def __init__(self, window: str, limit: int, retry_after_s: int) -> None:
        super().__init__(f"quota exceeded: {limit} calls per {window}; retry in {retry_after_s} s")
        self.window = window
        self.limit = limit
        self.retry_after_s = retry_after_s


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

    def may_call(self, action_name: str) -> bool:
        return ALL_TOOLS in self.tools or action_name in self.tools

    @property
    def display(self) -> str:
        """How the key is named in lists and audit records: its public part only."""
        return f"{KEY_PREFIX}{self.id}_…"


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
        tools=tuple(sorted(item.get("tools", ()))),
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
            "tools": set(tools),
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
    """The key an ``Authorization: Bearer sb_live_…`` header presents, or :class:`InvalidKey`."""
    scheme, _, presented = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not presented.strip():
        raise InvalidKey(
            "send an API key: Authorization: Bearer sb_live_… (create one: switchboard keys create)"
        )
    key_id = parse_key(presented)
    if key_id is None:
        raise InvalidKey("the bearer token is not a Switchboard API key (sb_live_…)")
    key = get_key(ddb, table, key_id)
    # Compared in constant time; an unknown id still costs a hash so timing tells nothing.
    wanted = key.key_hash if key else hash_key("")
    if not hmac.compare_digest(hash_key(presented.strip()), wanted) or key is None:
        raise InvalidKey("the API key is not valid")
    if key.revoked:
        raise InvalidKey("the API key was revoked")
    return key


def consume_quota(ddb: Any, table: str, key: ApiKey, now: float | None = None) -> None:
    """Count one call against the key's minute and day windows; :class:`QuotaExceeded` if either is full.

    Each window is one counter item, incremented only while below the limit (a conditional ``ADD``:
    atomic, so concurrent calls can never overshoot). A refused day after an accepted minute leaves
    that minute's count one higher - harmless, the call was refused anyway.
    """
    now = time.time() if now is None else now
    counters = Table(ddb, table)
    for window, seconds, limit in (("minute", 60, key.per_minute), ("day", 86_400, key.per_day)):
        start = int(now // seconds) * seconds
        try:
            counters.update(
                f"{ITEM_PREFIX}{key.id}#{window}#{start}",
                "ADD calls :one SET expiration = :exp",
                condition="attribute_not_exists(calls) OR calls < :limit",
                values={":one": 1, ":limit": limit, ":exp": start + seconds + _COUNTER_GRACE_S},
            )
        except ConditionFailed:
            raise QuotaExceeded(window, limit, max(1, int(start + seconds - now))) from None


def unknown_tools(tools: Iterable[str], known: Iterable[str]) -> list[str]:
    """Tool names a key would be given that no action has (a typo would silently grant nothing)."""
    names = set(known)
    return sorted(t for t in tools if t != ALL_TOOLS and t not in names)
