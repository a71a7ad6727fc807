"""The page the business owner lands on after a connect link: what happened, in plain words.

One small HTML page per outcome, with the status code that goes with it (200 connected; 400 the link
or the answer cannot be used; 404 no such app; 500 Switchboard is not set up for the app; 502 the
provider refused or could not be reached; 503 try again). Every page that is not a success says
what to do next - usually "run ``switchboard connect <app>`` again" - and that nothing was changed.

The page holds no script and loads nothing (its Content-Security-Policy allows nothing but its own
inline style), is never cached, and sends no ``Referer``: the callback URL carried the authorization
code, and this page must not hand it to anyone. Every value shown is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["HEADERS", "Page"]

HEADERS: Final[Mapping[str, str]] = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
}

_STYLE: Final = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;color:#222}"
    "h1{font-size:1.4em}code{background:#f3f3f3;padding:.1em .3em;border-radius:3px}"
    ".ok{color:#17612f}.no{color:#8a1c1c}"
)


@dataclass(frozen=True)
class Page:
    """One outcome: its status, a headline and sentences (plain text; ``command`` is shown as code)."""

    status: int
    #: Machine-readable outcome, for logs and metrics (``connected``, ``state_expired`` ...).
    outcome: str
    headline: str
    sentences: tuple[str, ...] = ()
    command: str = ""

    def render(self) -> str:
        mark = "ok" if self.status == 200 else "no"
        parts = [f'<h1 class="{mark}">{html.escape(self.headline)}</h1>']
        parts += [f"<p>{html.escape(s)}</p>" for s in self.sentences]
        if self.command:
            parts.append(f"<p>Run <code>{html.escape(self.command)}</code> again for a new link.</p>")
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.headline)}</title><style>{_STYLE}</style></head>"
            f'<body>{"".join(parts)}<p class="outcome" hidden>{html.escape(self.outcome)}</p></body></html>'
        )

    def answer(self) -> tuple[int, str, Mapping[str, str]]:
        """``(status, body, headers)`` for a route handler."""
        return self.status, self.render(), HEADERS
