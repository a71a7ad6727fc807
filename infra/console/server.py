"""The console's HTTP server: the standard library's ``ThreadingHTTPServer`` on 127.0.0.1, Jinja2 pages.

Why this stack: the local gateway already serves HTTP with the standard library
(:mod:`infra.local.gateway`), and Jinja2 is already a dependency, so the console adds no Python
package; pages are rendered on the server, with autoescaping, and work without JavaScript. The one
script is htmx (pinned in ``package.json``, served from ``node_modules``; no CDN, the machine may be
offline), which only makes the search, the refreshes and the lazy sections feel quicker.

Pages (GET) and actions (POST, CSRF-checked, :mod:`infra.console.security`):

==============================================  ===================================================
``/``                                           overview: counts per integration, alarms, latest
``/events``                                     the searchable list (``POST`` for an email search)
``/events/<integration>/<event id>``            one event's story
``/dead-letters``                               every DLQ's letters
``/dead-letters/<integration>/redrive``         GET: the confirmation (how many); POST: redrive
``/dead-letters/<integration>/replay``          POST ``message_id``: replay one letter
``/refused``                                    refused requests
``/connections``                                connections (``?webhooks=1``: ask the providers)
``/flow``                                       the flow map
``/keys``                                       AI keys and the audit of their calls
``/static/<file>``                              the stylesheet and htmx
==============================================  ===================================================

A refusal (no token, wrong host, missing CSRF token) is answered with its status and a JSON body
``{"error": <code>, "detail": <what to do>}``; an AWS error the operator can fix (no credentials,
nothing deployed) is a page that says so, status 502. A search the events page cannot run (a ``from``
it cannot read, ``from`` after ``to``) is the events page again, status 400, saying what is wrong -
htmx swaps a 400 in (``responseHandling`` in ``base.html``) - or the JSON refusal for a client that
asks for ``application/json``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2

from infra.console import aikeys, connections, deadletters, events, flowmap, overview, search, story
from infra.console.events import EventRow, Query
from infra.console.security import SECURITY_HEADERS, Guard, Refused
from infra.ops.event_ids import MIN_PREFIX
from infra.ops.target import CliError, OperationFailed, Target
from shared.redact import redact_text
from shared.registry import load_specs

__all__ = ["HTMX", "STATIC", "ConsoleServer", "HtmxMissing", "PageRefused", "htmx_path", "wants_json"]

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
ROOT = HERE.parent.parent
#: Where ``npm ci`` puts the pinned htmx (package.json).
HTMX = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
MAX_FORM_BYTES = 16 * 1024


class HtmxMissing(CliError):
    """``node_modules`` has no htmx: ``npm ci`` (``make env``) has not run."""


def htmx_path() -> Path:
    if not HTMX.is_file():
        raise HtmxMissing(
            f"{HTMX.relative_to(ROOT)} is missing: run `make env` (npm ci installs the pinned htmx)"
        )
    return HTMX


Page = tuple[str, dict[str, Any]]


class PageRefused(Exception):
    """A request the page itself answers with an error status: the form again, saying what is wrong."""

    def __init__(self, status: int, page: Page) -> None:
        super().__init__(status)
        self.status = status
        self.page = page


def wants_json(accept: str | None) -> bool:
    """The client asks for JSON (a script), not a page (a browser, htmx)."""
    kinds = (accept or "").lower()
    return "application/json" in kinds and "text/html" not in kinds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class ConsoleServer:
    """One console on ``127.0.0.1:<port>`` (0: any free port) over ``target``."""

    def __init__(self, target: Target, *, port: int = 8790, token: str | None = None) -> None:
        htmx_path()
        self.target = target
        self._server = _Server(("127.0.0.1", port), self._handler_class())
        self.port = int(self._server.server_address[1])
        self.guard = Guard(self.port, token) if token else Guard(self.port)
        self._thread: threading.Thread | None = None
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._env.filters["when"] = story.fmt_time
        self._env.filters["duration"] = story.fmt_duration
        self._env.filters["masked"] = lambda v: redact_text(str(v))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def login_url(self) -> str:
        """The URL to open once: it carries the access token."""
        return f"{self.url}?token={self.guard.token}"

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="console", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- HTTP ---------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        console = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "switchboard-console"
            sys_version = ""

            def log_message(self, format: str, *args: Any) -> None:
                return  # the access log would carry the token of a first visit

            def do_GET(self) -> None:
                console._serve(self, "GET")

            def do_POST(self) -> None:
                console._serve(self, "POST")

            def do_HEAD(self) -> None:
                console._reply(self, 405, "application/json", b'{"error":"method_not_allowed"}')

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        try:
            self.guard.check_host(h.headers.get("Host"))
            parsed = urllib.parse.urlsplit(h.path)
            query = urllib.parse.parse_qs(parsed.query)
            if method == "GET" and "token" in query:
                if not self.guard.token_ok(query["token"][0]):
                    raise Refused(
                        401, "unauthorized", "that access token is not this console's: use the URL it printed"
                    )
                rest = urllib.parse.urlencode([(k, v) for k, vs in query.items() if k != "token" for v in vs])
                location = parsed.path + (f"?{rest}" if rest else "")
                self._reply(
                    h, 303, "text/plain", b"", {"Location": location, "Set-Cookie": self.guard.set_cookie()}
                )
                return
            self.guard.check_session(h.headers.get("Cookie"))
            form: dict[str, str] = {}
            if method == "POST":
                form = self._form(h)
                self.guard.check_post(
                    csrf=form.get("csrf") or h.headers.get("X-CSRF-Token"),
                    origin=h.headers.get("Origin"),
                    content_type=h.headers.get("Content-Type"),
                )
            params = {k: v[0] for k, v in query.items()}
            self._route(h, method, parsed.path, params, form)
        except PageRefused as exc:
            self._page(h, exc.status, exc.page)
        except Refused as exc:
            body = json.dumps({"error": exc.code, "detail": exc.message}).encode()
            self._reply(h, exc.status, "application/json", body)
        except deadletters.RedriveChanged as exc:
            self._page(h, 409, ("error.html", {"message": str(exc)}))
        except (CliError, OperationFailed) as exc:
            self._page(h, 502, ("error.html", {"message": str(redact_text(str(exc)))}))

    def _form(self, h: BaseHTTPRequestHandler) -> dict[str, str]:
        length = int(h.headers.get("Content-Length") or 0)
        if length > MAX_FORM_BYTES:
            raise Refused(413, "payload_too_large", f"a console form is at most {MAX_FORM_BYTES} bytes")
        raw = h.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}

    def _route(
        self, h: BaseHTTPRequestHandler, method: str, path: str, params: dict[str, str], form: dict[str, str]
    ) -> None:
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
        if method == "GET" and parts[:1] == ["static"] and len(parts) == 2:
            self._static(h, parts[1])
            return
        pages: dict[tuple[str, ...], Callable[[], Page]] = {
            (): self.overview,
            ("events",): lambda: self.events(
                params if method == "GET" else form, wants_json=wants_json(h.headers.get("Accept"))
            ),
            ("dead-letters",): self.dead_letters,
            ("refused",): lambda: self.refused(params),
            ("connections",): lambda: self.connections(params),
            ("flow",): self.flow,
            ("keys",): lambda: self.keys(params),
        }
        key = tuple(parts)
        if key in pages and (method == "GET" or key == ("events",)):
            self._page(h, 200, pages[key]())
        elif method == "GET" and len(parts) == 3 and parts[0] == "events":
            self._page(h, 200, self.story(parts[1], parts[2]))
        elif len(parts) == 3 and parts[0] == "dead-letters" and parts[2] == "redrive":
            self._page(h, 200, self.redrive(parts[1], form if method == "POST" else None))
        elif method == "POST" and len(parts) == 3 and parts[0] == "dead-letters" and parts[2] == "replay":
            self._page(h, 200, self.replay(parts[1], form.get("message_id", "")))
        elif key in pages or len(parts) == 3:
            raise Refused(405, "method_not_allowed", f"{method} {path} is not allowed")
        else:
            raise Refused(404, "not_found", f"no page {path}; start at /")

    def _static(self, h: BaseHTTPRequestHandler, name: str) -> None:
        files = {
            "htmx.min.js": (htmx_path(), "text/javascript"),
            "console.css": (STATIC / "console.css", "text/css"),
        }
        if name not in files:
            raise Refused(404, "not_found", f"no static file {name}")
        path, kind = files[name]
        self._reply(
            h, 200, f"{kind}; charset=utf-8", path.read_bytes(), {"Cache-Control": "private, max-age=300"}
        )

    def _page(self, h: BaseHTTPRequestHandler, status: int, page: Page) -> None:
        template, context = page
        html = self._env.get_template(template).render(
            target=self.target, csrf=self.guard.csrf, nav=_NAV, **context
        )
        self._reply(h, status, "text/html; charset=utf-8", html.encode())

    @staticmethod
    def _reply(
        h: BaseHTTPRequestHandler, status: int, kind: str, body: bytes, extra: Mapping[str, str] | None = None
    ) -> None:
        h.send_response(status)
        headers = {**SECURITY_HEADERS, **(extra or {})}
        for name, value in headers.items():
            h.send_header(name, value)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    # -- pages --------------------------------------------------------------------------------

    def _names(self) -> list[str]:
        return [s.name for s in load_specs()]

    def _queued(self) -> list[str]:
        from infra.ops.dlq import running_names

        return running_names(self.target)

    def overview(self) -> Page:
        now = time.time()
        queued = self._queued()
        # Refreshed every 15 s: lines and queue attributes only. Receiving the DLQs' letters here would
        # raise their receive counts and hide them from a redrive's count for a while (a false 409).
        rows = events.index(self.target, self._names(), events.WINDOWS["24h"], now=now)
        table = overview.integration_counts(self._names(), rows, now)
        for name, (on_queue, in_dlq) in overview.waiting(self.target, queued).items():
            table[name].waiting, table[name].in_dlq = on_queue, in_dlq
        found = overview.alarms(self.target, self._names())
        for name, alarms in found.items():
            if name in table:
                table[name].alarms = alarms
        return "overview.html", {
            "rows": list(table.values()),
            "stage_alarms": found.get("", []),
            "latest": rows[:10],
        }

    def events(self, params: Mapping[str, str], *, wants_json: bool = False) -> Page:
        now = time.time()
        try:
            query = search.parse(params, self._names(), now)
        except Refused as exc:
            if wants_json:
                raise
            raise PageRefused(exc.status, self._events_page(search.echo(params), [], exc.message)) from exc
        letters = events.dead_letters(self.target, self._queued())
        rows = events.index(self.target, self._names(), query.read_since_s(now), now=now, letters=letters)
        return self._events_page(query, events.search(self.target, rows, query))

    def _events_page(self, query: Query, found: list[EventRow], error: str = "") -> Page:
        start = (query.page - 1) * events.PAGE_SIZE
        keep = search.kept(query)
        return "events.html", {
            "query": query,
            "rows": found[start : start + events.PAGE_SIZE],
            "total": len(found),
            "page": query.page,
            "pages": max(1, -(-len(found) // events.PAGE_SIZE)),
            "names": self._names(),
            "statuses": events.STATUSES,
            "windows": list(events.WINDOWS),
            "link": lambda p: "/events?" + urllib.parse.urlencode({**keep, "page": p}),
            "email_searched": bool(query.email_sha256),
            "short_prefix": bool(query.q) and len(query.q) < MIN_PREFIX,
            "error": error,
        }

    def story(self, integration: str, event_id: str) -> Page:
        if integration not in self._names():
            raise Refused(404, "not_found", f"no integration {integration!r}")
        return "story.html", {"story": story.story(self.target, integration, event_id)}

    def dead_letters(self, done: str = "") -> Page:
        return "dead_letters.html", {"views": deadletters.letters(self.target, self._queued()), "done": done}

    def replay(self, integration: str, message_id: str) -> Page:
        if not message_id:
            raise Refused(400, "missing_message_id", "say which letter: message_id")
        report = deadletters.replay(self.target, integration, message_id)
        return self.dead_letters(done=report)

    def redrive(self, integration: str, form: Mapping[str, str] | None) -> Page:
        if form is None:
            count = deadletters.visible(self.target, integration)
            return "redrive.html", {
                "integration": integration,
                "count": count,
                "queue": self.target.queue_name(integration),
                "dlq": self.target.queue_name(integration, dlq=True),
            }
        try:
            confirmed = int(form.get("count", ""))
        except ValueError as exc:
            raise Refused(400, "missing_count", "confirm the number of letters to redrive (count)") from exc
        return self.dead_letters(done=deadletters.redrive(self.target, integration, confirmed))

    def refused(self, params: Mapping[str, str]) -> Page:
        from infra.console.refused import refusals

        integration = params.get("integration", "")
        if integration and integration not in self._names():
            raise Refused(400, "bad_integration", f"no integration {integration!r}")
        return "refused.html", {
            "rows": refusals(self.target, integration),
            "names": self._names(),
            "integration": integration,
        }

    def connections(self, params: Mapping[str, str]) -> Page:
        if params.get("webhooks") == "1":
            return "webhooks.html", {"hooks": connections.webhook_views(self.target)}
        rows = events.index(self.target, self._queued(), events.WINDOWS["7d"])
        return "connections.html", {"views": connections.connection_views(self.target, rows)}

    def flow(self) -> Page:
        rows = events.index(self.target, self._names(), events.WINDOWS["24h"])
        return "flow.html", {"graph": flowmap.flow_map(rows)}

    def keys(self, params: Mapping[str, str]) -> Page:
        key_id = params.get("key", "")
        return "keys.html", {
            "keys": aikeys.keys(self.target),
            "audit": aikeys.audit(self.target, key_id=key_id),
            "key_id": key_id,
        }


#: The navigation: path, label, test id.
_NAV = (
    ("/", "Overview", "nav-overview"),
    ("/events", "Events", "nav-events"),
    ("/dead-letters", "Dead letters", "nav-dead-letters"),
    ("/refused", "Refused", "nav-refused"),
    ("/connections", "Connections", "nav-connections"),
    ("/flow", "Flow map", "nav-flow"),
    ("/keys", "AI keys", "nav-keys"),
)
