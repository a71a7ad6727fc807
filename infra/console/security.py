"""Who may use the console, and how a page is kept from being turned against its operator.

The console shows an operator's events and can replay and redrive them with the operator's AWS
credentials, so every request must come from the operator's own browser:

* **Loopback only**: the server binds ``127.0.0.1``; a ``Host`` header that is not
  ``127.0.0.1:<port>`` / ``localhost:<port>`` is refused (a DNS-rebinding page cannot borrow it).
* **An access token**, random per start (:func:`secrets.token_urlsafe`, 256 bits), printed once in the
  URL as Jupyter does. ``?token=`` is exchanged for a cookie (``HttpOnly``, ``SameSite=Strict``,
  ``Path=/``) and a redirect to the same page without it, so the token leaves the address bar and the
  history; every request without the cookie (or with another value) is refused 401.
* **CSRF**: every state-changing request is a ``POST`` that must carry the CSRF token
  (form field ``csrf`` or header ``X-CSRF-Token``) - an HMAC of the access token, so it is only
  readable from a page the console served - and, when the browser sends one, an ``Origin`` that is
  the console's own. ``SameSite=Strict`` already keeps the cookie off cross-site requests; the token
  holds even where a browser does not.
* **Headers**: a Content-Security-Policy with no inline script and no other origin
  (``script-src 'self'``), ``frame-ancestors 'none'``, ``Referrer-Policy: same-origin`` (no URL of
  the console leaves it; ``no-referrer`` would make a browser send ``Origin: null`` on the console's
  own form posts, which the origin check refuses - tests/browser caught it in Chromium),
  ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``.

Comparisons are constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

__all__ = ["COOKIE", "CSP", "SECURITY_HEADERS", "Guard", "Refused"]

COOKIE = "switchboard_console"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class Refused(Exception):
    """A request the guard turns away: its HTTP status and a reason that says what to do."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass
class Guard:
    """The checks of one console server (its port and its access token)."""

    port: int
    token: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @property
    def csrf(self) -> str:
        return hmac.new(self.token.encode(), b"switchboard-console-csrf", hashlib.sha256).hexdigest()

    @property
    def origins(self) -> tuple[str, ...]:
        return (f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}")

    def check_host(self, host: str | None) -> None:
        if host not in (f"127.0.0.1:{self.port}", f"localhost:{self.port}"):
            raise Refused(
                421,
                "wrong_host",
                f"the console answers only at http://127.0.0.1:{self.port}/ (Host {host!r})",
            )

    def token_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def cookie_token(self, header: str | None) -> str | None:
        if not header:
            return None
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except Exception:  # a malformed Cookie header is no cookie
            return None
        morsel = jar.get(COOKIE)
        return morsel.value if morsel is not None else None

    def check_session(self, cookie_header: str | None) -> None:
        if not self.token_ok(self.cookie_token(cookie_header)):
            raise Refused(
                401,
                "unauthorized",
                "open the console with the URL `switchboard console` printed (it carries the access token)",
            )

    def check_post(self, *, csrf: str | None, origin: str | None, content_type: str | None) -> None:
        if origin is not None and origin not in self.origins:
            raise Refused(403, "cross_origin", f"a request from {origin} may not change anything here")
        if not (content_type or "").startswith("application/x-www-form-urlencoded"):
            raise Refused(415, "unsupported_media_type", "post the console's own forms")
        if csrf is None or not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            raise Refused(
                403, "csrf", "missing or wrong CSRF token: reload the page and submit its form again"
            )

    def set_cookie(self) -> str:
        return f"{COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
