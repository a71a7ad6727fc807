"""The embedded AWS emulation (moto) in a process of its own, for runs that load the machine.

In ``make dev`` moto runs on a thread of the runtime's process, which is simplest and fast enough.
Under a chaos or load run it is not: moto's handlers (SQS receives that scan a queue, DynamoDB
writes, response serialisation) took about half of the process's interpreter time, and one process
runs Python on one core at a time. A separate process puts the emulation on the other core; the
runtime reaches it through ``AWS_ENDPOINT_URL`` exactly as before, so nothing else changes.

The one thing read from moto's memory rather than through the AWS API is what SES accepted (SES has
no API to read sent mail back): the server answers ``GET /_switchboard/ses/sent`` with those
messages, as JSON. Run as ``python -m infra.local.aws_process --port N``; it stops with its parent
(it polls the parent's pid) so that a killed chaos run leaves no server behind.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx

__all__ = ["SES_SENT_PATH", "AwsProcess", "main"]

#: Where the process serves what SES accepted.
SES_SENT_PATH = "/_switchboard/ses/sent"
_START_TIMEOUT_S = 60.0
_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class AwsProcess:
    """A moto server in a child process on 127.0.0.1:``port``; :meth:`stop` ends it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AwsProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [_REPO, os.environ.get("PYTHONPATH")])),
        }
        self._child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "infra.local.aws_process",
                "--port",
                str(self.port),
                "--parent",
                str(os.getpid()),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise RuntimeError(
                    f"the AWS emulation process exited at start (status {self._child.returncode})"
                )
            with contextlib.suppress(httpx.HTTPError):
                answered = httpx.get(f"{self.endpoint}/moto-api/", timeout=2).status_code < 500
                # Answered by our child, not by another server on the port while the child failed.
                if answered and self._child.poll() is None:
                    time.sleep(0.2)
                    if self._child.poll() is None:
                        return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"the AWS emulation process did not answer on port {self.port} within {_START_TIMEOUT_S:.0f} s"
        )

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(timeout=10)

    def ses_sent(self) -> list[dict[str, Any]]:
        """What SES accepted, as :func:`ses_messages` gives it."""
        response = httpx.get(f"{self.endpoint}{SES_SENT_PATH}", timeout=60)
        response.raise_for_status()
        return list(response.json())


def ses_messages() -> list[dict[str, Any]]:
    """The messages moto's SES backends hold in this process: source, destinations, subject, raw."""
    from moto.ses.models import ses_backends

    out: list[dict[str, Any]] = []
    for regions in ses_backends.values():
        for backend in regions.values():
            for message in list(backend.sent_messages):
                out.append(
                    {
                        "source": getattr(message, "source", None),
                        "destinations": getattr(message, "destinations", None),
                        "subject": getattr(message, "subject", None),
                        "raw_data": getattr(message, "raw_data", None),
                    }
                )
    return out


def _app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == SES_SENT_PATH:
            body = json.dumps(ses_messages(), default=str).encode()
            start_response(
                "200 OK", [("content-type", "application/json"), ("content-length", str(len(body)))]
            )
            return [body]
        return moto_app(environ, start_response)  # type: ignore[no-any-return]

    return app


def _exit_with(parent: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(parent, 0)
            except OSError:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    import logging

    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from infra.local.emulation import make_dynamodb_atomic

    parser = argparse.ArgumentParser(prog="python -m infra.local.aws_process")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, default=0, help="exit when this process is gone")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # an access line per call would flood
    if args.parent:
        _exit_with(args.parent)
    make_dynamodb_atomic()
    server = make_server("127.0.0.1", args.port, _app(), threaded=True, request_handler=MotoRequestHandler)
    server.serve_forever()


if __name__ == "__main__":
    main()
