"""An OAuth 2.0 authorization server for sandbox apps that use OAuth (RFC 6749, RFC 7636).

Only the parts Switchboard exercises: the consent page (section 4.1.1), the ``authorization_code``
grant (section 4.1.3) and the ``refresh_token`` grant (section 6) at the token endpoint, and bearer
checks on the app's API. It behaves like the real servers where it matters for correctness:

* the **authorization endpoint** (``GET`` at the provider's own path) validates the request in RFC
  6749's order: an unknown ``client_id`` or a ``redirect_uri`` that is missing, not absolute or not
  registered (:attr:`OAuthServer.redirect_uris`) is an error *page* - never a redirect, so a forged link
  cannot bounce the browser anywhere; a wrong ``response_type``, an unknown ``scope`` or a PKCE
  method other than ``S256``/``plain`` is a redirect to ``redirect_uri`` with ``error=...`` and the
  ``state``. A valid request gets a consent page with Allow and Deny. Allow redirects to
  ``redirect_uri`` with ``code`` and ``state`` (plus the app's own parameters: Intuit's ``realmId``,
  Google's granted ``scope``); Deny with ``error=access_denied`` and ``state``. With
  ``granular=True`` (Google's granular consent) each scope is a checkbox and the code carries only
  the ticked ones;
* the **authorization code** is single use and short-lived (``code_ttl_s``); it must come back with
  the same client and the same ``redirect_uri`` (else ``invalid_grant``, or Google's
  ``redirect_uri_mismatch``); a code issued with a PKCE challenge needs the matching
  ``code_verifier`` (``invalid_grant`` "Missing code verifier." / "Invalid code verifier.", as Google
  answers); a code presented a second time is refused and the tokens issued for it are revoked
  (RFC 6749 section 4.1.2);
* client authentication as the app does it - HTTP Basic (Intuit) or form fields (Google) - and
  ``401 invalid_client`` otherwise;
* rotating refresh tokens (Intuit): every refresh returns a new refresh token and the used one is
  refused afterwards with ``400 invalid_grant`` - so a refresh token that is not written back, or a
  stale one written over a newer one, breaks the connection exactly as it would in production;
* access tokens expire after ``access_ttl_s`` (on the sandbox's clock);
* ``revoke()`` (``POST /_oauth/revoke``) makes every token invalid, as a user disconnecting the app
  does; ``POST /_oauth/expire`` expires the access tokens only.

Token answers are the providers' own: Intuit's ``{"token_type": "bearer", "expires_in": 3600,
"refresh_token", "x_refresh_token_expires_in", "access_token"}`` and Google's ``{"access_token",
"expires_in": 3599, "refresh_token", "scope", "token_type": "Bearer"}``. Sources:
https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
(and ``intuit/oauth-pythonclient`` ``intuitlib/client.py``),
https://developers.google.com/identity/protocols/oauth2/web-server, RFC 6749 sections 4.1 and 5.2,
RFC 7636 section 4.6.

``refresh_calls`` counts the refreshes that succeeded, which is how tests check single-flight refresh;
``code_grants`` the authorization codes exchanged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from sandbox.base import Handler, SandboxRequest, SandboxResponse

__all__ = ["OAuthServer"]

#: RFC 7636 section 4.1: ``code_verifier = 43*128unreserved``.
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_HTML = "text/html; charset=utf-8"


@dataclass
class _Code:
    """An authorization code as issued: who may exchange it, for what, until when."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str
    method: str
    expires: float
    used: bool = False
    #: Tokens issued for it (revoked if the code is presented again).
    refresh_token: str = ""
    access_token: str = ""


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
        provider: str = "",
        scopes_supported: Iterable[str] = (),
        pkce: bool = False,
        granular: bool = False,
        scope_in_callback: bool = False,
        bearer_spelling: str = "bearer",
        redirect_mismatch_error: str = "invalid_grant",
        code_ttl_s: int = 600,
        callback_params: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.app = app
        self.client_auth = client_auth
        self.rotate = rotate
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s
        #: The scope a token answer reports when none was asked for (a refresh of the seeded token).
        self.scope = scope
        self.clock = clock
        #: Who the consent page says is asking for consent ("Intuit", "Google").
        self.provider = provider or app
        self.scopes_supported = frozenset(scopes_supported) or frozenset(scope.split())
        #: Whether the server takes PKCE; one that does not ignores ``code_challenge``.
        self.pkce = pkce
        self.granular = granular
        self.scope_in_callback = scope_in_callback
        #: ``token_type`` in token answers: Intuit writes ``bearer``, Google ``Bearer``.
        self.token_type = bearer_spelling
        self.redirect_mismatch_error = redirect_mismatch_error
        self.code_ttl_s = code_ttl_s
        self.callback_params = callback_params
        self.client_id = f"sandbox-{app}-client_id"
        self.client_secret = f"sandbox-{app}-client_secret"
        #: Registered redirect URIs; ``None`` accepts any absolute http(s) URI without a fragment
        #: (the local gateway's port is only known once it runs).
        self.redirect_uris: set[str] | None = None
        self.reset()

    def reset(self) -> None:
        #: Valid refresh tokens -> when they expire. The local connection's value is valid at start.
        self.refresh_tokens: dict[str, float] = {
            f"sandbox-{self.app}-refresh_token": self.clock() + self.refresh_ttl_s
        }
        self.used_refresh_tokens: set[str] = set()
        #: Valid access tokens -> when they expire.
        self.access_tokens: dict[str, float] = {}
        #: Authorization codes issued (used ones stay, so a second use is recognised).
        self.codes: dict[str, _Code] = {}
        self.refresh_calls = 0
        self.code_grants = 0
        self.refused: dict[str, int] = {}

    def state(self) -> dict[str, Any]:
        now = self.clock()
        return {
            "refresh_calls": self.refresh_calls,
            "code_grants": self.code_grants,
            "codes_issued": len(self.codes),
            "refused": dict(self.refused),
            "refresh_tokens_valid": sum(1 for t in self.refresh_tokens.values() if t > now),
            "access_tokens_valid": sum(1 for t in self.access_tokens.values() if t > now),
        }

    def routes(self, authorize_path: str, token_path: str) -> tuple[tuple[str, str, Handler], ...]:
        """The consent page (GET shows it, POST is the owner's decision) and the token endpoint."""
        return (
            ("GET", authorize_path, self.authorize_page),
            ("POST", authorize_path, self.decide),
            ("POST", token_path, self.token),
        )

    # --- the authorization endpoint ----------------------------------------------------------

    def authorize_page(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``GET <authorize path>?client_id=...&redirect_uri=...&response_type=code&scope=...&state=...``."""
        params = {k: v[0] for k, v in req.query.items() if v}
        refused = self._check_authorization(params)
        if refused is not None:
            return refused
        return self._consent_page(params, req.path.split("?", 1)[0])

    def decide(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """The consent form's POST: the request's parameters again, and ``decision=allow|deny``."""
        form = parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)
        params = {k: v[0] for k, v in form.items() if v and k not in ("decision", "grant_scope")}
        refused = self._check_authorization(params)
        if refused is not None:
            return refused
        redirect_uri, state = params["redirect_uri"], params.get("state")
        if (form.get("decision") or [""])[0] != "allow":
            return self._redirect(redirect_uri, {"error": "access_denied"}, state)
        asked = tuple(params["scope"].split())
        granted = tuple(s for s in asked if s in form.get("grant_scope", [])) if self.granular else asked
        if not granted:
            return self._redirect(redirect_uri, {"error": "access_denied"}, state)
        code = self._issue_code(params, granted)
        answer = {"code": code}
        if self.scope_in_callback:
            answer["scope"] = " ".join(granted)
        if self.callback_params is not None:
            answer |= dict(self.callback_params())
        return self._redirect(redirect_uri, answer, state)

    def _check_authorization(self, params: Mapping[str, str]) -> SandboxResponse | None:
        """RFC 6749 section 4.1.2.1: a page for a bad client or redirect URI, else a redirect."""
        if params.get("client_id") != self.client_id:
            return self._error_page(401, "invalid_client", "The OAuth client was not found.")
        redirect_uri = params.get("redirect_uri", "")
        if not self._redirect_ok(redirect_uri):
            return self._error_page(
                400,
                "redirect_uri_mismatch",
                "The redirect_uri does not match a redirect URI registered for this client.",
            )
        state = params.get("state")
        if params.get("response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type"}, state)
        asked = params.get("scope", "").split()
        if not asked or any(s not in self.scopes_supported for s in asked):
            return self._redirect(redirect_uri, {"error": "invalid_scope"}, state)
        method = params.get("code_challenge_method", "plain")
        if self.pkce and params.get("code_challenge") and method not in ("S256", "plain"):
            return self._redirect(redirect_uri, {"error": "invalid_request"}, state)
        return None

    def _redirect_ok(self, uri: str) -> bool:
        if self.redirect_uris is not None:
            return uri in self.redirect_uris
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment

    def _issue_code(self, params: Mapping[str, str], granted: tuple[str, ...]) -> str:
        code = f"{self.app}-ac-{secrets.token_urlsafe(24)}"
        challenge = params.get("code_challenge", "") if self.pkce else ""
        self.codes[code] = _Code(
            client_id=params["client_id"],
            redirect_uri=params["redirect_uri"],
            scopes=granted,
            challenge=challenge,
            method=params.get("code_challenge_method", "plain") if challenge else "",
            expires=self.clock() + self.code_ttl_s,
        )
        return code

    def _consent_page(self, params: Mapping[str, str], path: str) -> SandboxResponse:
        # The form posts back to this same path; relative to the page, that is its last segment
        # (the gateway mounts the app under /_sandbox/<app>/, which the page does not know).
        action = html.escape(path.rstrip("/").rsplit("/", 1)[-1], quote=True)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k, quote=True)}" value="{html.escape(v, quote=True)}">'
            for k, v in params.items()
        )
        scopes = "".join(
            (
                f'<li><label><input type="checkbox" name="grant_scope" value="{html.escape(s, quote=True)}"'
                f" checked> {html.escape(s)}</label></li>"
            )
            if self.granular
            else f"<li>{html.escape(s)}</li>"
            for s in params["scope"].split()
        )
        body = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(self.provider)}: allow access?</title></head><body>"
            f"<h1>{html.escape(self.provider)} (sandbox)</h1>"
            f"<p>The app <b>{html.escape(params['client_id'])}</b> asks for access to:</p>"
            f'<form method="post" action="{action}"><ul>{scopes}</ul>{hidden}'
            '<button type="submit" name="decision" value="allow">Allow</button> '
            '<button type="submit" name="decision" value="deny">Deny</button>'
            "</form></body></html>"
        )
        return SandboxResponse(200, {"content-type": _HTML, "cache-control": "no-store"}, body.encode())

    def _error_page(self, status: int, error: str, description: str) -> SandboxResponse:
        self.refused[error] = self.refused.get(error, 0) + 1
        body = (
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>Error {status}: {error}</title>"
            f"</head><body><h1>Error {status}: {html.escape(error)}</h1><p>{html.escape(description)}</p>"
            "</body></html>"
        )
        return SandboxResponse(status, {"content-type": _HTML}, body.encode())

    @staticmethod
    def _redirect(redirect_uri: str, values: Mapping[str, str], state: str | None) -> SandboxResponse:
        query = dict(values)
        if state is not None:
            query["state"] = state
        joiner = "&" if urlsplit(redirect_uri).query else "?"
        return SandboxResponse(302, {"location": redirect_uri + joiner + urlencode(query)}, b"")

    # --- the token endpoint ------------------------------------------------------------------

    def token(self, req: SandboxRequest, _: dict[str, str]) -> SandboxResponse:
        """``POST <token path>``: the ``authorization_code`` or ``refresh_token`` grant, form-encoded."""
        if not (req.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
            return self._error(
                400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
            )
        form = {
            k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True).items()
        }
        if not self._client_ok(req, form):
            return self._error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._code_grant(form)
        if grant != "refresh_token":
            return self._error(
                400, "unsupported_grant_type", "Only authorization_code and refresh_token are served here"
            )
        token = form.get("refresh_token", "")
        expires = self.refresh_tokens.get(token)
        if expires is None or expires <= self.clock():
            reason = "used" if token in self.used_refresh_tokens else "unknown or expired"
            return self._error(400, "invalid_grant", f"refresh token {reason}")
        self.refresh_calls += 1
        if self.rotate:
            del self.refresh_tokens[token]
            self.used_refresh_tokens.add(token)
        return self._tokens(rotate=self.rotate, scopes=tuple(self.scope.split()))

    def _code_grant(self, form: Mapping[str, str]) -> SandboxResponse:
        code = form.get("code", "")
        if not code:
            return self._error(400, "invalid_request", "Missing required parameter: code")
        issued = self.codes.get(code)
        if issued is None or issued.client_id != self.client_id:
            return self._error(400, "invalid_grant", "Malformed auth code.")
        if issued.used:
            # RFC 6749 section 4.1.2: a code used twice revokes what it was exchanged for.
            self.refresh_tokens.pop(issued.refresh_token, None)
            self.access_tokens.pop(issued.access_token, None)
            return self._error(400, "invalid_grant", "Authorization code was already redeemed.")
        if issued.expires <= self.clock():
            return self._error(400, "invalid_grant", "Authorization code expired.")
        if form.get("redirect_uri") != issued.redirect_uri:
            return self._error(400, self.redirect_mismatch_error, "Bad Request")
        if issued.challenge:
            verifier = form.get("code_verifier", "")
            if not verifier:
                return self._error(400, "invalid_grant", "Missing code verifier.")
            if not _VERIFIER.match(verifier) or not _pkce_matches(verifier, issued):
                return self._error(400, "invalid_grant", "Invalid code verifier.")
        issued.used = True
        self.code_grants += 1
        response, access, refresh = self._issue_tokens(issued.scopes)
        issued.access_token, issued.refresh_token = access, refresh
        return response

    def _tokens(self, *, rotate: bool, scopes: tuple[str, ...]) -> SandboxResponse:
        """A refresh's answer: a new access token, and a new refresh token if the app rotates."""
        if rotate:
            response, _, _ = self._issue_tokens(scopes)
            return response
        now = self.clock()
        access = f"{self.app}-at-{secrets.token_urlsafe(18)}"
        self.access_tokens[access] = now + self.access_ttl_s
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_ttl_s,
            "token_type": self.token_type,
        }
        if scopes:
            body["scope"] = " ".join(scopes)
        return SandboxResponse.json(body, headers={"cache-control": "no-store", "pragma": "no-cache"})

    def _issue_tokens(self, scopes: tuple[str, ...]) -> tuple[SandboxResponse, str, str]:
        """An access token and a new refresh token, in the provider's answer shape."""
        now = self.clock()
        access = f"{self.app}-at-{secrets.token_urlsafe(18)}"
        refresh = f"{self.app}-rt-{secrets.token_urlsafe(18)}"
        self.access_tokens[access] = now + self.access_ttl_s
        self.refresh_tokens[refresh] = now + self.refresh_ttl_s
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_ttl_s,
            "token_type": self.token_type,
            "refresh_token": refresh,
        }
        if self.rotate:
            body["x_refresh_token_expires_in"] = self.refresh_ttl_s  # Intuit's own field
        if scopes:
            body["scope"] = " ".join(scopes)
        response = SandboxResponse.json(body, headers={"cache-control": "no-store", "pragma": "no-cache"})
        return response, access, refresh

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


def _pkce_matches(verifier: str, issued: _Code) -> bool:
    """RFC 7636 section 4.6: ``S256`` compares BASE64URL(SHA256(verifier)); ``plain`` the verifier."""
    if issued.method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    else:
        computed = verifier
    return hmac.compare_digest(computed, issued.challenge)
