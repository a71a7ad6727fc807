"""Cursor pagination, written once: follow an opaque ``cursor`` until the API stops sending one.

Most SaaS list endpoints Switchboard calls (Square's ``cursor``, Slack's
``response_metadata.next_cursor``, HubSpot's ``paging.next.after``) share one contract: a page
carries an opaque token for the next page, and its absence means the end. What differs per API is
how a page is fetched (POST body or query string) and where the token sits, so the app module passes
a ``fetch(cursor) -> (page, next_cursor)`` callable and this helper owns the loop and its guards.

Guards, because a loop driven by a remote server must end even when the server misbehaves:

* a cursor that comes back a second time means the chain is stuck (a server bug, or a proxy
  replaying a cached answer) - following it would loop for ever;
* more than ``max_pages`` pages means something is wrong on one side, not that the data is big.

Both raise :class:`~shared.errors.TargetUnavailable` (retryable): the next attempt may find the
server well again, and if not the work item ends in the DLQ with the reason.

Pages are yielded lazily, so a caller that has what it needs stops early and no further page is
fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from shared.errors import TargetUnavailable

__all__ = ["DEFAULT_MAX_PAGES", "cursor_pages"]

#: Default loop guard: a cursor chain longer than this is a bug on one side, not a data set.
DEFAULT_MAX_PAGES = 100

P = TypeVar("P")


def cursor_pages(
    fetch: Callable[[str | None], tuple[P, str | None]],
    *,
    what: str,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Iterator[P]:
    """Every page, in order: ``fetch(None)`` first, then ``fetch(cursor)`` while one comes back.

    ``what`` names the call in errors (``"square GET /v2/payments"``). An empty-string cursor counts
    as the end, as Square and Slack both send ``""`` on the last page in some versions.
    """
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        page, cursor = fetch(cursor)
        yield page
        if not cursor:
            return
        if cursor in seen:
            raise TargetUnavailable(f"{what}: the cursor repeated; pagination is stuck")
        seen.add(cursor)
    raise TargetUnavailable(f"{what}: more than {max_pages} pages")
