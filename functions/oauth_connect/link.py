"""A connect link's ``state``: signed, expiring, single use - and the PKCE verifier kept beside it.

``switchboard connect <app>`` (:mod:`infra.ops.connect`) makes the link; the callback
(:mod:`functions.oauth_connect.routes`) checks what comes back. Both go through this module, so the
format is written once:

* ``state`` is ``v1.<payload>.<signature>``: the payload is compact JSON ``{"n": nonce, "a": app,
  "c": connection, "e": expiry}`` in unpadded base64url, the signature HMAC-SHA256 over the payload
  text with the key in the :data:`STATE_KEY` secret. A state that does not parse or whose signature
  does not match is *forged* (checked first, in constant time, so nothing else is revealed about
  it); then *expired*; then made for *another app* than the callback it came back to.
* Single use: the callback records the nonce (``oauth_connect#used#<nonce>``) with a put-if-absent
  in the ledger table before anything else happens; a second arrival of the same state finds it and
  is refused as *used*, whatever happened the first time.
* The link record (``oauth_connect#link#<nonce>``) is written when the link is made: the
  ``redirect_uri`` it carried (the code exchange must repeat it exactly) and, for a provider with
  PKCE, the ``code_verifier`` (RFC 7636), which never leaves the deployment - the link carries only
  its S256 challenge. A signed state without its record (made elsewhere, or cleaned up by the
  table's TTL) is *unknown*.

Records expire through the table's TTL attribute, a day after the link does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Final, Literal

from shared.spec import Connection
from shared.table import Table

__all__ = [
    "LINK_TTL_S",
    "MAX_LINK_TTL_S",
    "MAX_STATE_CHARS",
    "STATE_KEY",
    "Link",
    "LinkRecord",
    "StateRefused",
    "new_link",
    "new_state_key",
    "pkce_pair",
    "record_link",
    "sign_state",
    "use_link",
    "verify_state",
]

#: How long a link works by default: long enough to pass it to the owner, short enough not to linger.
LINK_TTL_S: Final = 3600
#: Ours are about 150 characters; anything much longer is not ours and is not hashed.
MAX_STATE_CHARS: Final = 512
#: The longest a link may be made to work (``switchboard connect --valid-for``).
MAX_LINK_TTL_S: Final = 7 * 86_400
_VERSION: Final = "v1"
#: Records outlive the link by a day (TTL), so a late replay still finds its "used" mark.
_RECORD_GRACE_S: Final = 86_400
_PREFIX: Final = "oauth_connect#"

STATE_KEY = Connection(
    name="oauth_connect",
    app="switchboard",
    description=(
        "The key that signs the state of connect links (switchboard connect <app>). "
        "`switchboard connect` creates it on first use; never set it by hand. Replacing it "
        "invalidates the links not used yet."
    ),
    fields=(),
    optional=("state_key",),
    local={"state_key": "sandbox-oauth_connect-state_key-not-secret-locally"},
    kind="own-key",
)

Reason = Literal["missing", "forged", "expired", "wrong_app", "used", "unknown"]


class StateRefused(Exception):
    """The ``state`` that came back cannot be used; ``reason`` says why (never the state itself)."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason)
        self.reason: Reason = reason


@dataclass(frozen=True)
class Link:
    """What a state says: which link, for which app and connection, until when (epoch seconds)."""

    nonce: str
    app: str
    connection: str
    expires_at: int


@dataclass(frozen=True)
class LinkRecord:
    """What the deployment kept about a link: its redirect URI and PKCE verifier (if any)."""

    redirect_uri: str
    code_verifier: str


def new_state_key() -> str:
    """A fresh signing key: 256 random bits."""
    return secrets.token_urlsafe(32)


def new_link(app: str, connection: str, now: float, ttl_s: int = LINK_TTL_S) -> Link:
    return Link(secrets.token_urlsafe(16), app, connection, int(now + ttl_s))


def pkce_pair() -> tuple[str, str]:
    """A PKCE ``code_verifier`` (86 characters of 43-128 allowed) and its ``S256`` challenge."""
    verifier = secrets.token_urlsafe(64)
    return verifier, _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def sign_state(key: str, link: Link) -> str:
    payload = _b64(
        json.dumps(
            {"n": link.nonce, "a": link.app, "c": link.connection, "e": link.expires_at},
            separators=(",", ":"),
        ).encode("utf-8")
    )
    return f"{_VERSION}.{payload}.{_signature(key, payload)}"


def verify_state(key: str, state: str | None, *, app: str, now: float) -> Link:
    """The link ``state`` names, if it is genuine, unexpired and made for ``app``; else :class:`StateRefused`."""
    if not state:
        raise StateRefused("missing")
    if len(state) > MAX_STATE_CHARS:
        raise StateRefused("forged")
    version, _, rest = state.partition(".")
    payload, _, signature = rest.partition(".")
    if version != _VERSION or not payload or not signature or not key:
        raise StateRefused("forged")
    if not hmac.compare_digest(
        signature.encode("ascii", "replace"), _signature(key, payload).encode("ascii")
    ):
        raise StateRefused("forged")
    try:
        data = json.loads(_unb64(payload))
        link = Link(str(data["n"]), str(data["a"]), str(data["c"]), int(data["e"]))
    except (ValueError, KeyError, TypeError) as exc:  # signed by us, yet not ours: treat as forged
        raise StateRefused("forged") from exc
    if link.expires_at <= now:
        raise StateRefused("expired")
    if link.app != app:
        raise StateRefused("wrong_app")
    return link


def record_link(table: Table, link: Link, *, redirect_uri: str, code_verifier: str = "") -> None:
    """Keep what the callback needs to finish this link (written when the link is made)."""
    item = {
        "id": _PREFIX + "link#" + link.nonce,
        "app": link.app,
        "connection": link.connection,
        "redirect_uri": redirect_uri,
        "expiration": link.expires_at + _RECORD_GRACE_S,
    }
    if code_verifier:
        item["code_verifier"] = code_verifier
    if not table.put_if_absent(item):  # 128 random bits do not collide; a second write is a bug
        raise RuntimeError("a connect link with this nonce was already recorded")


def use_link(table: Table, link: Link, now: float) -> LinkRecord:
    """Spend the link once: record its nonce as used, then hand out (and forget) its record."""
    used = {
        "id": _PREFIX + "used#" + link.nonce,
        "used_at": int(now),
        "expiration": link.expires_at + _RECORD_GRACE_S,
    }
    if not table.put_if_absent(used):
        raise StateRefused("used")
    key = _PREFIX + "link#" + link.nonce
    item = table.get(key, consistent=True)
    if item is None or item.get("app") != link.app or item.get("connection") != link.connection:
        raise StateRefused("unknown")
    table.delete(key)  # the verifier has done its one job
    return LinkRecord(str(item.get("redirect_uri", "")), str(item.get("code_verifier", "")))


def _signature(key: str, payload: str) -> str:
    return _b64(hmac.new(key.encode("utf-8"), payload.encode("utf-8"), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
