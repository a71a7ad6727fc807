"""What every Square API of the stand-in shares: bearer auth, the version check, error shapes, page cap.

Checks as Square makes them: a bearer token (401 ``AUTHENTICATION_ERROR``/``UNAUTHORIZED`` with
Square's own ``detail`` texts), the ``Square-Version`` format (400
``INVALID_SQUARE_VERSION_FORMAT``). Every answer carries the ``Square-Version`` it was served with,
as Square's do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from apps.square import SQUARE_VERSION
from sandbox.base import SandboxApp, SandboxRequest, SandboxResponse

from .wire import square_error

__all__ = ["DEFAULT_TOKEN", "SquareApi"]

DEFAULT_TOKEN: Final = "sandbox-square-token"
_VERSION: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Square's own ``detail`` texts for authentication failures.
_NO_AUTH: Final = (
    "Your request did not include an `Authorization` http header with an access token. The header "
    'value is expected to be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to '
    'be replaced with your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_MALFORMED_AUTH: Final = (
    "The `Authorization` http header of your request was malformed. The header value is expected to "
    'be of the format "Bearer TOKEN" (without quotation marks), where TOKEN is to be replaced with '
    'your access token (e.g. "Bearer ABC123def456GHI789jkl0").'
)
_BAD_TOKEN: Final = "This request could not be authorized."

#: Status -> (category, code) for answers without a more specific error (faults, unknown routes).
_STATUS_ERRORS: Final[Mapping[int, tuple[str, str]]] = {
    400: ("INVALID_REQUEST_ERROR", "BAD_REQUEST"),
    401: ("AUTHENTICATION_ERROR", "UNAUTHORIZED"),
    403: ("AUTHENTICATION_ERROR", "FORBIDDEN"),
    404: ("INVALID_REQUEST_ERROR", "NOT_FOUND"),
    405: ("INVALID_REQUEST_ERROR", "METHOD_NOT_ALLOWED"),
    409: ("INVALID_REQUEST_ERROR", "CONFLICT"),
    429: ("RATE_LIMIT_ERROR", "RATE_LIMITED"),
    500: ("API_ERROR", "INTERNAL_SERVER_ERROR"),
    501: ("API_ERROR", "NOT_IMPLEMENTED"),
    502: ("API_ERROR", "BAD_GATEWAY"),
    503: ("API_ERROR", "SERVICE_UNAVAILABLE"),
    504: ("API_ERROR", "GATEWAY_TIMEOUT"),
}


class SquareApi(SandboxApp):
    """The base of each API section: Square's hooks, and the settings every section reads.

    :class:`~apps.square.standin.SquareSandbox` sets ``token`` and ``max_page_size`` before the base
    class builds the routes.
    """

    token: str
    #: Caps every page below what the request asked, so tests can see cursors with few objects.
    max_page_size: int

    def authorize(self, req: SandboxRequest) -> SandboxResponse | None:
        header = req.header("authorization")
        if not header:
            return square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _NO_AUTH)
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token.strip():
            return square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _MALFORMED_AUTH)
        if token.strip() != self.token:
            return square_error(401, "AUTHENTICATION_ERROR", "UNAUTHORIZED", _BAD_TOKEN)
        version = req.header("square-version")
        if version is not None and not _VERSION.match(version):
            detail = f"Invalid Square-Version format: {version!r}. Expected YYYY-MM-DD."
            return square_error(400, "INVALID_REQUEST_ERROR", "INVALID_SQUARE_VERSION_FORMAT", detail)
        return None

    def finish(self, req: SandboxRequest, resp: SandboxResponse) -> SandboxResponse:
        version = req.header("square-version") or SQUARE_VERSION
        return resp.with_headers({"square-version": version})

    def error_response(self, status: int, message: str) -> SandboxResponse:
        category, code = _STATUS_ERRORS.get(status, ("API_ERROR", "INTERNAL_SERVER_ERROR"))
        return square_error(status, category, code, message)

    def rate_limit_response(self, retry_after: float) -> SandboxResponse:
        return square_error(429, "RATE_LIMIT_ERROR", "RATE_LIMITED", "Rate limit exceeded. Retry later.")
