"""An OAuth 2.0 authorization server's token endpoint, for sandbox apps that use OAuth (RFC 6749).

Only the part Switchboard exercises: the ``refresh_token`` grant (section 6) and bearer checks on the
app's API. It behaves like the real servers where it matters for correctness:

* client authentication as the app does it - HTTP Basic (Intuit) or form fields (Google) - and
  ``401 invalid_client`` otherwise;
* rotating refresh tokens (Intuit): every refresh returns a new refresh token and the used one is
  refused afterwards with ``400 invalid_grant`` - so a refresh token that is not written back, or a
  stale one written over a newer one, breaks the connection exactly as it would in production;
* access tokens expire after ``access_ttl_s`` (on the sandbox's clock);
* ``revoke()`` (``POST /_oauth/revoke``) makes every token invalid, as a user disconnecting the app
  does; ``POST /_oauth/expire`` expires the access tokens only.

``refresh_calls`` counts the refreshes that succeeded, which is how tests check single-flight refresh.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs

from sandbox.base import SandboxRequest, SandboxResponse

__all__ = ["OAuthServer"]


class OAuthServer:
    def __init__(
        self,
        app: str,
        *,
        client_auth: Literal["basic", "body"],
        rotate: bool,
        access_ttl_s: int = 3600,
        refresh_ttl_s: int = 8_726_400,
        scope: str = "",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.client_auth = client_auth
        self.rotate = rotate
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        self.scope = scope
        self.clock = clock
        self.client_id = f"sandbox-{app}-client_id"
        self.client_secret = f"sandbox-{app}-client_secret"
        self.reset()

    def reset(self) -> None:
        #: Valid refresh tokens -> when they expire. The local connection's value is valid at start.
        self.refresh_tokens: dict[str, float] = {
            f"sandbox-{self.app}-refresh_token": self.clock() + self.refresh_ttl_s
        }
        self.used_refresh_tokens: set[str] = set()
        #: Valid access tokens -> when they expire.
        self.access_tokens: dict[str, float] = {}
        self.refresh_calls = 0
        self.refused: dict[str, int] = {}

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "refresh_calls": self.refresh_calls,
            "refused": dict(self.refused),
            "refresh_tokens_valid": sum(1 for t in self.refresh_tokens.values() if t > now),
            "access_tokens_valid": sum(1 for t in self.access_tokens.values() if t > now),
        }

    # --- the token endpoint ------------------------------------------------------------------

    def token(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``POST <token path>``: ``grant_type=refresh_token&refresh_token=...``, form-encoded."""
        if not (req.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
            return self._error(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
            )
        form = {
            k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        if not self._client_ok(req, form):
            return self._error(401, "invalid_client", "Client authentication failed")
        if form.get("grant_type") != "refresh_token":
            return self._error(400, "unsupported_grant_type", "Only the refresh_token grant is served here")
        token = form.get("refresh_token", "")
        expires = self.refresh_tokens.get(token)
        if expires is None or expires <= self.clock():
            reason = "used" if token in self.used_refresh_tokens else "unknown or expired"
            return self._error(400, "invalid_grant", f"refresh token {reason}")
        now = self.clock()
        access = f"{self.app}-at-{secrets.token_urlsafe(18)}"
        self.access_tokens[access] = now + self.access_ttl_s
        self.refresh_calls += 1
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_ttl_s,
            "token_type": "bearer",
        }
        if self.rotate:
            new = f"{self.app}-rt-{secrets.token_urlsafe(18)}"
            del self.refresh_tokens[token]
            self.used_refresh_tokens.add(token)
            self.refresh_tokens[new] = now + self.refresh_ttl_s
            body["refresh_token"] = new
            body["x_refresh_token_expires_in"] = self.refresh_ttl_s  # Intuit's own field
        if self.scope:
            body["scope"] = self.scope
        return SandboxResponse.json(body, headers={"cache-control": "no-store", "pragma": "no-cache"})

    def bearer_ok(self, req: SandboxRequest) -> bool:
        """Whether the request carries an access token this server issued and that has not expired."""
        scheme, _, token = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        expires = self.access_tokens.get(token.strip())
        return expires is not None and expires > self.clock()

    # --- control --------------------------------------------------------------------------------

    def revoke(self, req: SandboxRequest | None = None, _: dict[str, str] | None = None) -> SandboxResponse:
        """Every refresh and access token stops working (the user disconnected the app)."""
        self.used_refresh_tokens.update(self.refresh_tokens)
        self.refresh_tokens.clear()
        self.access_tokens.clear()
        return SandboxResponse.json({"revoked": True})

    def expire(self, req: SandboxRequest | None = None, _: dict[str, str] | None = None) -> SandboxResponse:
        """Access tokens expire now (refresh tokens stay valid): the next API call gets a 401."""
        self.access_tokens.clear()
        return SandboxResponse.json({"expired": True})

    def controls(self) -> dict[tuple[str, str], Callable[[SandboxRequest, dict[str, str]], SandboxResponse]]:
        """To merge into the app's :meth:`~sandbox.base.SandboxApp.controls`."""
        return {("POST", "/_oauth/revoke"): self.revoke, ("POST", "/_oauth/expire"): self.expire}

    # --- helpers ---------------------------------------------------------------------------------

    def _client_ok(self, req: SandboxRequest, form: dict[str, str]) -> bool:
        if self.client_auth == "body":
            return form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        scheme, _, encoded = (req.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.client_id and password == self.client_secret

    def _error(self, status: int, error: str, description: str) -> SandboxResponse:
        self.refused[error] = self.refused.get(error, 0) + 1
        return SandboxResponse.json({"error": error, "error_description": description}, status)
