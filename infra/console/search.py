"""The events page's form: what it sends, checked and turned into a :class:`~infra.console.events.Query`,
and the parameters its pager's links carry so the next page is the same search.

Every field is optional. A field that cannot be used is a :class:`~infra.console.security.Refused`
400 naming it; the page shows that message above an empty list with the form as it was typed (the
``from``/``to`` fields are free text, so a typo there is an everyday mistake, not an attack), and a
client that asks for JSON gets the JSON refusal instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from infra.console import events
from infra.console.security import Refused

__all__ = ["echo", "kept", "parse"]

_HEX = frozenset("0123456789abcdef")


def parse(params: Mapping[str, str], names: Sequence[str], now: float) -> events.Query:
    """The search ``params`` ask for; :class:`Refused` (400) naming the first field that is wrong."""
    email = params.get("email", "").strip()
    digest = events.email_hash(email) if email else params.get("email_sha256", "").strip().lower()
    if digest and (len(digest) != 64 or not set(digest) <= _HEX):
        raise Refused(400, "bad_email_sha256", "email_sha256 must be 64 hex digits (the console makes it)")
    window = params.get("window", "24h")
    if window not in events.WINDOWS:
        raise Refused(400, "bad_window", f"window must be one of {', '.join(events.WINDOWS)}")
    status = params.get("status", "")
    if status and status not in events.STATUSES:
        raise Refused(400, "bad_status", f"status must be one of {', '.join(events.STATUSES)}")
    integration = params.get("integration", "")
    if integration and integration not in names:
        raise Refused(400, "bad_integration", f"no integration {integration!r}")
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError as exc:
        raise Refused(400, "bad_page", "page must be a number") from exc
    start, end = params.get("from", "").strip(), params.get("to", "").strip()
    try:
        span = events.time_range(window, start, end, now)
    except events.TimeRangeError as exc:
        raise Refused(400, exc.code, str(exc)) from exc
    return events.Query(
        q=params.get("q", "").strip(),
        integration=integration,
        status=status,
        window=window,
        email_sha256=digest,
        page=page,
        start=start,
        end=end,
        span=span,
    )


def echo(params: Mapping[str, str]) -> events.Query:
    """The form as it was sent, to show again beside what is wrong with it (never an email typed)."""
    return events.Query(
        q=params.get("q", "").strip(),
        integration=params.get("integration", ""),
        status=params.get("status", ""),
        window=params.get("window", "24h"),
        start=params.get("from", "").strip(),
        end=params.get("to", "").strip(),
    )


def kept(query: events.Query) -> dict[str, str]:
    """The parameters that make the same search again: what the pager's links carry."""
    found = {
        "q": query.q,
        "integration": query.integration,
        "status": query.status,
        "window": query.window,
        "from": query.start,
        "to": query.end,
        "email_sha256": query.email_sha256,
    }
    return {k: v for k, v in found.items() if v}
