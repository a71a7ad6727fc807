"""Masks personal data and secrets before text leaves the process (logs, DLQ reasons, error bodies).

The effects themselves still get the real values; only what is *recorded about* them is masked.
Emails keep their first letter and domain (``j***@example.com``) so an operator can still tell two
leads apart; phone numbers keep their last two digits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["OAUTH_ERROR_CODES", "SENSITIVE_KEYS", "drop_sensitive", "redact", "redact_text"]

_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# Phone-like runs: "+" and digits, or digit groups split by spaces, dots, dashes or brackets.
# Bare digit runs are left alone: they are usually record ids, which operators need to see.
_PHONE = re.compile(r"(?<![\w+])(\+\d[\d\s().-]{6,}\d|\(?\d{2,5}\)?[\s.-]\d[\d\s.-]{4,}\d)(?![\w])")
# Dates and times that look like digit groups: 2026-11-21, 21.11.2026 10:15, 21/11/2026.
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})")
# The keyword, then a space or a colon / equals sign (``token: …``, ``refresh_token=…``, a quoted
# ``"token": "…"``), then the run that may be a credential. ``_token`` counts: ``access_token: …``.
_BEARER = re.compile(
    r"(?i)(?<![A-Za-z0-9])(bearer|token|basic)(\s+|[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9._~+/=-]{8,})"
)
#: OAuth error codes (RFC 6749 section 5.2, RFC 6750 section 3.1): fixed words that name what went
#: wrong ("token invalid_grant"), never a credential, so they stay readable wherever they stand.
OAUTH_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_token",
        "insufficient_scope",
    }
)
# One word of prose: letters in one case shape (lower, UPPER, Capitalised), hyphenated parts allowed,
# no longer than a long English word. Credentials have digits, symbols or mixed case.
_WORD = re.compile(
    r"(?:[a-z]{1,20}|[A-Z]{1,20}|[A-Z][a-z]{1,19})(?:-(?:[a-z]{1,20}|[A-Z]{1,20}|[A-Z][a-z]{1,19}))*"
)
# What follows a word in a sentence: punctuation, or another word.
_GOES_ON = re.compile(r"[.,;:!?)]|\s+[A-Za-z(]")
_WHSEC = re.compile(r"\bwhsec_[A-Za-z0-9+/=]+")

#: Keys whose values are never written anywhere, whatever they hold.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "token",
        "access_token",
        "refresh_token",
        "client_secret",
        "secret",
        "previous_secret",
        "password",
        "api_key",
        "x-api-key",
        "x-shopify-access-token",
        "cookie",
        "set-cookie",
    }
)


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    text = match.group(1)
    # International numbers ("+...") have up to 15 digits; national ones 8-12. Longer runs of digit
    # groups without a "+" are lists of ids, not phone numbers.
    limit = 15 if text.startswith("+") else 12
    if not 8 <= len(digits) <= limit or _DATE.match(text):
        return match.group(0)
    return "***" + digits[-2:]


def _mask_credential(match: re.Match[str]) -> str:
    """``Bearer <token>`` -> ``Bearer ***``, unless what follows the keyword is prose or an error code.

    "its refresh token expired. Authorise it again", "Basic authentication failed": the words after
    ``token``/``basic`` tell the operator what happened and what to do, so they stay. A run counts as
    prose when it is one word (:data:`_WORD`, trailing full stops aside) that the sentence goes on
    from (punctuation or another word follows); a lone lower-case run at the end, as in an
    ``Authorization`` header, is still masked. An OAuth error code ("token invalid_grant") always
    stays: it is the one word that says why the token was refused.
    """
    keyword, between, run = match.group(1, 2, 3)
    word = run.rstrip(".")
    after = run[len(word) :] + match.string[match.end() :]
    if word.lower() in OAUTH_ERROR_CODES or (_WORD.fullmatch(word) and _GOES_ON.match(after)):
        return match.group(0)
    return keyword + between + "***" + run[len(word) :]  # the sentence's full stop stays


def redact_text(text: str) -> str:
    """Mask emails, phone numbers and credentials found in free text."""
    text = _WHSEC.sub("whsec_***", text)
    text = _BEARER.sub(_mask_credential, text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(_mask_phone, text)


def redact(value: Any) -> Any:
    """Recursively mask a JSON-like value: sensitive keys dropped to ``***``, strings scanned."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: ("***" if str(k).lower() in SENSITIVE_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def drop_sensitive(value: Any) -> Any:
    """Values under sensitive keys replaced by ``***``; nothing else touched (no text scanning).

    The cheap half of :func:`redact`, for callers that scan the serialized text afterwards anyway
    (the log formatter): one regex pass over a line instead of one per field.
    """
    if isinstance(value, Mapping):
        return {
            k: ("***" if str(k).lower() in SENSITIVE_KEYS else drop_sensitive(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [drop_sensitive(v) for v in value]
    return value
