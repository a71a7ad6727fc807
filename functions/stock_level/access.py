"""Who may ask for stock levels: site pages from the allowed origins, and server callers with a key.

Stock levels are what a product page shows anyway, so this is not about secrecy: it keeps unknown
callers from spending the shop's Square rate limit, and it gives browsers the CORS answer they need.

==========================  ===========================================================================
request                     outcome
==========================  ===========================================================================
``x-api-key`` valid         answered (plus CORS headers if the Origin is allowed)
``x-api-key`` wrong         401 ``invalid_api_key`` - a wrong key is never "just a browser"
no key, Origin allowed      answered with ``access-control-allow-origin: <origin>``, ``vary: origin``
no key, Origin not allowed  403 ``forbidden_origin`` (another site's page, spending our quota)
no key, no Origin           401 ``missing_api_key`` if ``require_key_without_origin`` (default), else
                            answered - for a shop that wants curl and server-side renders to just work
==========================  ===========================================================================

An Origin header proves nothing outside a browser (curl can send any); what it does prove is that a
*browser* request came from that site's page, which is the case it exists for. Keys live in the
Secrets Manager connection :data:`API_KEYS` (``{"keys": "key-one,key-two"}``: several at once, so a
key can be rotated without downtime) and are compared in constant time. The secret is only read when
a key is presented: browser traffic does not depend on it, and a key presented while the secret is
missing is a 500 (fail closed), never a pass.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared.errors import ForbiddenOrigin, MissingSecret, SignatureError
from shared.secrets import get_connection, stored_name
from shared.spec import Connection

if TYPE_CHECKING:
    from shared.runtime import Runtime
    from shared.webhooks.base import WebhookRequest

    from .models import Settings

__all__ = ["API_KEYS", "Access", "InvalidApiKey", "MissingApiKey", "check_access"]

API_KEY_HEADER = "x-api-key"

API_KEYS = Connection(
    name="stock_level_api_keys",
    app="switchboard",
    description=(
        "API keys for server callers of GET /stock (header x-api-key), comma-separated in 'keys'. "
        "Add the new key, switch the caller, then remove the old one."
    ),
    fields=("keys",),
    local={"keys": "sandbox-stock-key-1,sandbox-stock-key-2"},
    kind="own-key",
)


class InvalidApiKey(SignatureError):
    """An ``x-api-key`` was sent and matches no active key."""

    code = "invalid_api_key"


class MissingApiKey(SignatureError):
    """Neither an allowed Origin nor a key, and the settings require one of them."""

    code = "missing_api_key"


@dataclass(frozen=True)
class Access:
    """Why a request was let in, and the headers its answer needs."""

    #: ``"key"``, ``"origin"`` or ``"open"`` (no key, no Origin, allowed by the settings).
    via: str
    headers: dict[str, str]

    @property
    def trusted(self) -> bool:
        """Server callers with a valid key may ask to bypass the cache (``Cache-Control: no-cache``)."""
        return self.via == "key"


def check_access(rt: Runtime, settings: Settings, request: WebhookRequest) -> Access:
    """The caller's :class:`Access`, or an ingress error (401/403) explaining the refusal."""
    origin = _origin(request)
    allowed = origin is not None and origin in settings.allowed_origins
    cors = {"access-control-allow-origin": origin, "vary": "origin"} if allowed and origin else {}
    key = request.header(API_KEY_HEADER)
    if key is not None:
        if not _key_matches(rt, key.strip()):
            raise InvalidApiKey(f"the {API_KEY_HEADER} header does not hold a valid key")
        return Access("key", cors)
    if allowed:
        return Access("origin", cors)
    if origin is not None:
        raise ForbiddenOrigin(f"origin {origin} may not ask from the browser; use an API key from a server")
    if settings.require_key_without_origin:
        raise MissingApiKey(f"send an API key in the {API_KEY_HEADER} header")
    return Access("open", {})


def _origin(request: WebhookRequest) -> str | None:
    origin = (request.header("origin") or "").strip()
    return origin.rstrip("/") if origin and origin != "null" else None


def _key_matches(rt: Runtime, presented: str) -> bool:
    keys = [k.strip() for k in get_connection(rt, API_KEYS)["keys"].split(",") if k.strip()]
    if not keys:
        raise MissingSecret(f"parameter {stored_name(rt, API_KEYS)} holds no keys")
    wanted = presented.encode()
    # Every key is compared (no early exit), so timing does not tell which key came close.
    matches = [hmac.compare_digest(wanted, k.encode()) for k in keys]
    return any(matches)
