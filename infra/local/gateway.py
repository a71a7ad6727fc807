"""The local stand-in for API Gateway (HTTP API): real HTTP in, payload-2.0 events to the handlers.

One threaded server on 127.0.0.1 serves every integration's routes exactly as API Gateway would
hand them to Lambda (``routeKey``, raw path and query, lower-case headers, base64 for non-UTF-8
bodies), plus the sandbox apps under ``/_sandbox/<app>/...`` and a route index at ``/``.
"""

from __future__ import annotations

import base64
import difflib
import json
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from shared import trace
from shared.routes import match
from shared.spec import FormTrigger, IntegrationSpec, RouteTrigger

__all__ = ["Gateway", "api_gateway_event", "nearest_route"]

#: How alike (difflib ratio) a requested path and a declared one must be for a 404 to suggest it.
NEAR = 0.8
#: API Gateway's own payload limit; larger requests never reach a function.
MAX_REQUEST_BYTES = 10 * 1024 * 1024

Dispatch = Callable[[str, dict[str, Any]], dict[str, Any]]


def api_gateway_event(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    route_key: str,
    path_params: Mapping[str, str] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload format 2.0) request event."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        text: str | None = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    now = time.time()
    host = lower.get("host", "127.0.0.1")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": lower,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lower.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": text is None,
    }
    if lower.get("cookie"):
        event["cookies"] = [c.strip() for c in lower["cookie"].split(";")]
    if query:
        event["queryStringParameters"] = {
            k: ",".join(v) for k, v in parse_qs(query, keep_blank_values=True).items()
        }
    if path_params:
        event["pathParameters"] = dict(path_params)
    if body:
        event["body"] = text if text is not None else base64.b64encode(body).decode("ascii")
    return event


class _Server(ThreadingHTTPServer):
    """The stdlib server, quiet about clients that hang up first.

    A client that gives up on a slow answer (a timeout, as the chaos run provokes on purpose) closes
    its socket; writing the late answer then raises ``BrokenPipeError``, which the stdlib prints as a
    traceback. It is the client's choice, not a fault of the gateway: nothing to report.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return
        super().handle_error(request, client_address)


def nearest_route(method: str, path: str, routes: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The declared ``(method, path)`` most like the requested path, if one is close enough to be
    the one meant (difflib's ratio >= :data:`NEAR`); the same method wins a tie."""
    asked = path.rstrip("/").split("/")
    best: tuple[float, tuple[str, str]] | None = None
    for route in routes:
        declared, compared = route[1].split("/"), asked
        if len(declared) == len(asked):  # a path parameter ({sku}) matches whatever was asked there
            literal = [i for i, d in enumerate(declared) if not d.startswith("{")]
            declared, compared = [declared[i] for i in literal], [asked[i] for i in literal]
        score = difflib.SequenceMatcher(None, "/".join(compared), "/".join(declared)).ratio()
        score += 0.01 if route[0] == method else 0.0
        if best is None or score > best[0]:
            best = (score, route)
    return best[1] if best and best[0] >= NEAR else None


class Gateway:
    def __init__(
        self,
        specs: tuple[IntegrationSpec, ...],
        dispatch: Dispatch,
        sandboxes: Mapping[str, Any],
        *,
        port: int,
        cors_origins: Callable[[str], tuple[str, ...]],
    ) -> None:
        self.specs = specs
        self.dispatch = dispatch
        self.sandboxes = sandboxes
        self.cors_origins = cors_origins
        self._server = _Server(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="gateway", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def routes(self) -> list[dict[str, str]]:
        return [
            {"integration": s.name, "trigger": t.name, "method": t.method, "url": self.url + t.path}
            for s in self.specs
            for t in s.http_triggers
        ]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "switchboard-local"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the trace printer tells what happened; access logs would drown it

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in separate writes; without NODELAY, Nagle + delayed ACK
                # stall every keep-alive request by ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _handle(self) -> None:
                gateway._serve(self)

            def __getattr__(self, name: str) -> Any:
                # Every method (TRACE, QUERY ...) reaches the router, so an undeclared one gets
                # 404/405 like API Gateway, not http.server's own 501 page.
                if name.startswith("do_"):
                    return self._handle
                raise AttributeError(name)

        return Handler

    # --- serving ------------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        length = int(h.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BYTES:
            self._reply(
                h, 413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}'
            )
            h.close_connection = True
            return
        body = h.rfile.read(length) if length else b""
        headers: dict[str, str] = {}
        for key, value in h.headers.items():
            k = key.lower()
            headers[k] = f"{headers[k]},{value}" if k in headers else value  # API Gateway joins repeats
        if parts.path.startswith("/_sandbox/"):
            self._serve_sandbox(h, parts.path, parts.query, headers, body)
            return
        if parts.path == "/openapi.json" and h.command == "GET":
            from shared.openapi import openapi_document

            self._reply_json(h, 200, openapi_document(self.specs, server_url=self.url))
            return
        if parts.path == "/" and h.command == "GET":
            self._reply_json(h, 200, {"routes": self.routes(), "sandbox": sorted(self.sandboxes)})
            return
        # A preflight names the method the browser means to use; match the route by that method.
        method = headers.get("access-control-request-method", "POST") if h.command == "OPTIONS" else h.command
        found, exists = match(self.specs, method, parts.path)
        if h.command == "OPTIONS" and found is not None:
            self._preflight(h, found.spec.name, found.trigger, headers)
            return
        if found is None:
            if exists:
                allowed = sorted(
                    {
                        t.method
                        for sp in self.specs
                        for t in sp.http_triggers
                        if match([sp], t.method, parts.path)[0]
                    }
                )
                self._reply(
                    h,
                    405,
                    {"content-type": "application/json", "allow": ", ".join(allowed)},
                    json.dumps({"message": "Method Not Allowed"}).encode(),
                )
                return
            self._reply_json(h, 404, self.not_found(h.command, parts.path))
            return
        # API Gateway tells the function the scheme the client used; here that is plain http, and
        # signatures over the URL (HubSpot v3, Square) must be checked against the URL really called.
        headers.setdefault("x-forwarded-proto", "http")
        event = api_gateway_event(
            method=h.command,
            path=parts.path,
            query=parts.query,
            headers=headers,
            body=body,
            route_key=f"{found.trigger.method} {found.trigger.path}",
            path_params=found.path_params,
            source_ip=h.client_address[0],
        )
        try:
            result = self.dispatch(found.spec.name, event)
        except Exception as exc:  # Lambda's answer to an unhandled error; the traceback is for the developer
            traceback.print_exc(file=sys.stderr)
            trace.record(found.spec.name, None, "crash", error=f"{type(exc).__name__}: {exc}")
            self._reply_json(h, 500, {"message": "Internal Server Error"})
            return
        out = result.get("body") or ""
        data = base64.b64decode(out) if result.get("isBase64Encoded") else str(out).encode("utf-8")
        reply_headers = dict(result.get("headers") or {})
        origin = headers.get("origin", "")
        if self._browser_route(found.trigger) and origin in self.cors_origins(found.spec.name):
            # API Gateway adds CORS headers to every answer of a CORS-enabled route, refusals included,
            # so the page can read why it was refused.
            reply_headers.setdefault("access-control-allow-origin", origin)
            reply_headers.setdefault("vary", "origin")
        self._reply(h, int(result.get("statusCode", 200)), reply_headers, data)

    def not_found(self, method: str, path: str) -> dict[str, Any]:
        """API Gateway's 404 body (``{"message": "Not Found"}``) plus where to look: the route index at
        ``/``, and the declared route nearest to ``path`` when one is close (a typo, a missing segment).
        """
        body: dict[str, Any] = {"message": "Not Found", "routes": f"GET {self.url}/ lists every route"}
        nearest = nearest_route(
            method, path, [(t.method, t.path) for s in self.specs for t in s.http_triggers]
        )
        if nearest:
            body["nearest"] = f"{nearest[0]} {self.url}{nearest[1]}"
        return body

    @staticmethod
    def _browser_route(trigger: Any) -> bool:
        return isinstance(trigger, FormTrigger) or (isinstance(trigger, RouteTrigger) and trigger.cors)

    def _preflight(
        self, h: BaseHTTPRequestHandler, integration: str, trigger: Any, headers: Mapping[str, str]
    ) -> None:
        origin = headers.get("origin", "")
        if not self._browser_route(trigger) or origin not in self.cors_origins(integration):
            self._reply(
                h, 403, {"content-type": "application/json"}, b'{"message":"CORS origin not allowed"}'
            )
            return
        self._reply(
            h,
            204,
            {
                "access-control-allow-origin": origin,
                "access-control-allow-methods": f"{trigger.method},OPTIONS",
                "access-control-allow-headers": "content-type,x-api-key",
                "access-control-max-age": "600",
                "vary": "origin",
            },
            b"",
        )

    def _serve_sandbox(
        self, h: BaseHTTPRequestHandler, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> None:
        from sandbox.base import SandboxRequest

        _, _, rest = path.partition("/_sandbox/")
        app_name, _, sub = rest.partition("/")
        app = self.sandboxes.get(app_name)
        if app is None:
            self._reply_json(
                h, 404, {"message": f"no sandbox app {app_name!r}", "apps": sorted(self.sandboxes)}
            )
            return
        req = SandboxRequest(
            method=h.command,
            path="/" + sub,
            query=parse_qs(query, keep_blank_values=True),
            headers=headers,
            body=body,
        )
        res = app.handle(req)
        self._reply(h, res.status, dict(res.headers), res.body)

    def _reply_json(self, h: BaseHTTPRequestHandler, status: int, body: Any) -> None:
        self._reply(h, status, {"content-type": "application/json"}, json.dumps(body).encode())

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, headers: Mapping[str, str], body: bytes) -> None:
        h.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                h.send_header(k, v)
        h.send_header("content-length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)
