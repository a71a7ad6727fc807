"""What every webhook verifier is: a pure function of the request, the active secrets and the clock.

Verifiers live beside the knowledge of their app (``apps/<app>/``) or, for schemes many
apps share, in this package. Each one can also *sign*: the same description of the scheme serves the
check on ingress and the signing done by ``switchboard send``, the local replay and the tests, so a
scheme is never written twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

__all__ = ["Verifier", "WebhookRequest"]


@dataclass(frozen=True)
class WebhookRequest:
    """One inbound HTTP request, as the verifier and the payload mapping see it.

    ``headers`` keys are lower-case. A header sent more than once is joined with ``","`` (as API
    Gateway HTTP APIs do), which is why verifiers treat a comma inside a single-valued header as a
    doubled header.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)
    source_ip: str = ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@runtime_checkable
class Verifier(Protocol):
    """Checks that a request was signed by the sender, with one of the active secrets.

    ``secrets`` holds one or two values: the current secret and, during a rotation, the previous one.
    ``verify`` returns ``None`` or raises a :class:`shared.errors.SignatureError` subclass. An empty
    ``secrets`` is a :class:`shared.errors.MissingSecret` (fail closed), never a pass.
    """

    @property
    def scheme(self) -> str:
        """Name shown in docs, OpenAPI security schemes and error logs (e.g. ``"standard-webhooks"``)."""
        ...

    def verify(self, request: WebhookRequest, secrets: Sequence[str], now: float) -> None: ...

    def sign(
        self, *, method: str, url: str, body: bytes, secret: str, now: float, msg_id: str
    ) -> dict[str, str]:
        """Headers a sender would add to this request (used by send, replay and tests)."""
        ...

    def signature_headers(self) -> tuple[str, ...]:
        """Header names the scheme reads (for OpenAPI security schemes and CORS)."""
        ...
