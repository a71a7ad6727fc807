"""What is kept of an accepted webhook request for the operator: the headers that matter, masked -
written in the ingress's own log, so it costs no request.

The operator console's story of an event shows "the inbound request" long after its message was
processed and deleted. Storing it in the ledger would add a DynamoDB write per event on the hot path
(issue 18 counts them); the SQS envelope is gone once processed; the ingress already writes one JSON
log line per accepted request. So the ingress writes one more line beside ``accepted`` -
:data:`MESSAGE`, with the same ``event_ids`` - holding :func:`describe`'s summary. A separate line
rather than a field of ``accepted``: the console's event index reads every ``accepted`` line of a
day, and only a story needs the body.

What the summary holds, and what it never holds:

* ``content_type``, ``user_agent`` (masked, clipped) and ``content_length`` (the body's bytes);
* ``ids``: the provider's delivery / event id headers with their values - the verifier's own id header
  (``webhook-id``, ``x-shopify-webhook-id``) and the names providers use for one
  (:data:`_ID_HEADER`); an id authenticates nothing;
* ``signature_headers``: the *names* of the headers the verifier read, never their values, and
  ``signature: "verified"`` (the line is written only after the check passed);

Not the body. Masking it on the request path (:func:`mask_people`, then the log formatter's own
redaction of a 2 KB line) cost about 540 µs of CPU per request - Switchboard's own ingest work went
from 275 to 812 µs against a 100 µs target (issue 18), and the logs from 0.9 to 2.6 KB per request.
What the request carried is still shown where it is kept anyway: a dead letter's whole message, and
each ledger step's saved result.

Ingress path: standard library and :mod:`shared.redact` only (cold start).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

from shared.redact import redact, redact_text

if TYPE_CHECKING:
    from shared.spec import WebhookTrigger
    from shared.webhooks.base import WebhookRequest

__all__ = ["MESSAGE", "describe", "mask_people"]

#: The log line's ``message``.
MESSAGE: Final = "inbound request"
_TEXT_LIMIT: Final = 200
#: Header names providers carry a delivery or event id in (besides the verifier's id header).
_ID_HEADER: Final = re.compile(
    r"(?:^|-)(?:webhook|delivery|event|message|msg|notification|request|trigger)-id$"
    r"|^x-github-delivery$|-topic$|-retry-num$|-retry-number$|-retry-reason$"
)
#: Keys whose string values name a person or a street address: cut to their first letter.
_PERSON_KEYS: Final = re.compile(
    r"^(name|full_?name|first_?name|last_?name|given_?name|family_?name|surname|street|address(_?line_?\d)?)$",
    re.IGNORECASE,
)


def mask_people(value: Any) -> Any:
    """:func:`shared.redact.redact`, plus people's names and street addresses cut to ``P***``."""
    if isinstance(value, dict):
        return {
            k: (f"{v[:1]}***" if isinstance(v, str) and v and _PERSON_KEYS.match(str(k)) else mask_people(v))
            for k, v in redact(value).items()
        }
    if isinstance(value, list):
        return [mask_people(v) for v in value]
    return redact(value)


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def describe(trigger: WebhookTrigger, request: WebhookRequest) -> dict[str, Any]:
    """The summary of a verified, accepted webhook request (see the module docstring)."""
    read = [h.lower() for h in trigger.verifier.signature_headers()]
    ids = {
        name: _clip(redact_text(value))
        for name, value in sorted(request.headers.items())
        if _ID_HEADER.search(name) and value
    }
    signature = [h for h in read if h not in ids and not _ID_HEADER.search(h)]
    return {
        "content_type": _clip(request.header("content-type") or ""),
        "user_agent": _clip(redact_text(request.header("user-agent") or "")),
        "content_length": len(request.body),
        "ids": ids,
        "signature_headers": [h for h in signature if request.header(h) is not None],
        "signature": "verified",
    }
