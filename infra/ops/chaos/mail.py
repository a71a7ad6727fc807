"""The emails the embedded SES accepted during a run, for the observers of integrations that email.

SES cannot list sent mail, so this reads moto's memory (in the AWS child process when the runtime
runs one). A simple message has ``destinations`` ``{"ToAddresses": [...]}`` and a ``subject``; a raw
one (an email with an ``.ics`` attachment) a list of addresses and the MIME text.
"""

from __future__ import annotations

from collections.abc import Mapping
from email import message_from_string
from email.header import decode_header, make_header
from typing import Any, NamedTuple

from infra.ops.chaos.state import ChaosRun

__all__ = ["Mail", "sent_mail"]


class Mail(NamedTuple):
    #: Every recipient, space-separated (the raw message's To: header and its envelope).
    to: str
    subject: str


def sent_mail(run: ChaosRun) -> list[Mail]:
    from infra.local.aws_process import ses_messages

    aws = run.runtime.aws_process
    return [_mail(fields) for fields in (aws.ses_sent() if aws is not None else ses_messages())]


def _mail(fields: Mapping[str, Any]) -> Mail:
    raw = fields.get("raw_data")
    if isinstance(raw, str):
        mime = message_from_string(raw)
        to = " ".join([str(mime.get("to", "")), *map(str, fields.get("destinations") or [])])
        return Mail(to, str(make_header(decode_header(str(mime.get("subject", ""))))))
    destinations = fields.get("destinations") or {}
    return Mail(" ".join(destinations.get("ToAddresses", [])), str(fields.get("subject", "")))
