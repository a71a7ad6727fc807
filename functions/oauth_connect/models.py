"""What comes back to the callback: the authorization response's query parameters (RFC 6749 4.1.2).

Tolerant of the parameters providers add (Intuit's ``realmId``; Google's ``scope``, ``iss``,
``authuser``, ``prompt``); bounded, so a hostile query cannot make the function hash or store
anything large. Nothing here is logged: ``code`` is a credential until it is exchanged.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CallbackQuery"]


class CallbackQuery(BaseModel):
    """``GET /oauth/{app}/callback?code=...&state=...`` or ``?error=access_denied&state=...``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    state: str | None = Field(default=None, max_length=512, description="the signed state of the link")
    code: str | None = Field(
        default=None, max_length=2048, description="the authorization code (Intuit: at most 512)"
    )
    error: str | None = Field(
        default=None, max_length=128, description="the provider's error (access_denied ...)"
    )
    error_description: str | None = Field(default=None, max_length=2048)
