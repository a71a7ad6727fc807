"""Samples that continue what other samples began: their order (``after``) and their placeholders
filled from the stand-ins (``lookup``).

A Slack click is only worth replaying on a message that exists: the offer a lead's sample got posted,
with the contact that lead became. The click sample says which samples it comes ``after`` and which
stand-in answer fills its ``{{offer.ts}}``; :func:`in_replay_order` puts it after them and
:func:`resolve` fills it in, so ``make dev`` runs the whole flow from samples (see
:mod:`infra.local.samples` for the keys).

A lookup is a control endpoint of a stand-in (``GET /_sandbox/<app><path>?<query>``) answering a JSON
object; its string fields are what the placeholders take. The same lookup asked twice in one replay
is asked once (``answers``): two samples naming it aim at the same thing, as a double click does -
even after the first click changed the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from .samples import PLACEHOLDER, Lookup, Sample, SampleError

if TYPE_CHECKING:
    import httpx

    from sandbox.base import SandboxApp

__all__ = [
    "Fetch",
    "LookupFailed",
    "from_http",
    "from_sandboxes",
    "in_replay_order",
    "resolve",
]

#: What a placeholder may become: an id (a ts, a channel, ``contact:10005``), never markup.
_VALUE = re.compile(r"^[A-Za-z0-9._:@+-]{1,200}$")

#: Asks a stand-in one lookup; answers its JSON object or raises :class:`LookupFailed`.
Fetch = Callable[[Lookup], Mapping[str, Any]]

T = TypeVar("T")


class LookupFailed(SampleError):
    """A sample's lookup found nothing, or nothing a placeholder can take."""


def in_replay_order(
    samples: Sequence[tuple[T, Sample]],
) -> tuple[list[tuple[T, Sample]], list[tuple[T, Sample, str]]]:
    """``samples`` in their order, each moved after the samples it names in ``after``.

    Stable: a sample without ``after`` keeps its place, and one whose samples have all been placed
    comes right after the last of them. Answers (ordered, blocked): a sample waiting for one that is
    not among ``samples``, or for one that waits for it, is blocked, with the reason.
    """
    names = {sample.qualified for _, sample in samples}
    placed: set[str] = set()
    ordered: list[tuple[T, Sample]] = []
    waiting = list(samples)
    progress = True
    while waiting and progress:
        progress = False
        still: list[tuple[T, Sample]] = []
        for item in waiting:
            if all(name in placed for name in item[1].after):
                ordered.append(item)
                placed.add(item[1].qualified)
                progress = True
            else:
                still.append(item)
        waiting = still
    blocked = []
    for owner, sample in waiting:
        missing = [n for n in sample.after if n not in names]
        reason = (
            f"comes after {', '.join(missing)}, which is not among the replayed samples"
            if missing
            else f"comes after {', '.join(n for n in sample.after if n not in placed)}, which waits for it"
        )
        blocked.append((owner, sample, reason))
    return ordered, blocked


def resolve(sample: Sample, fetch: Fetch, answers: MutableMapping[Lookup, Mapping[str, Any]]) -> Sample:
    """``sample`` with its placeholders filled from its lookups' answers (asked once per replay)."""
    found: dict[str, Mapping[str, Any]] = {}
    for name, lookup in sample.lookups.items():
        if lookup not in answers:
            try:
                answers[lookup] = fetch(lookup)
            except LookupFailed as exc:
                raise LookupFailed(f"{sample.path}: lookup {name!r} ({lookup}): {exc}") from exc
        found[name] = answers[lookup]

    def fill(match: re.Match[str]) -> str:
        name, field = match.groups()
        value = found[name].get(field)
        if not isinstance(value, str) or not _VALUE.match(value):
            raise LookupFailed(
                f"{sample.path}: {{{{{name}.{field}}}}}: lookup {name!r} ({sample.lookups[name]}) answered "
                f"{json.dumps(value)[:80]} for {field!r}, not an id (letters, digits, . _ : @ + -)"
            )
        return value

    body = PLACEHOLDER.sub(fill, sample.body.decode("utf-8"))
    headers = {k: PLACEHOLDER.sub(fill, v) for k, v in sample.headers.items()}
    return replace(sample, body=body.encode("utf-8"), headers=headers, lookups={})


def from_http(client: httpx.Client, base_url: str) -> Fetch:
    """Lookups through the local gateway, where each stand-in is mounted at ``/_sandbox/<app>``."""

    def fetch(lookup: Lookup) -> Mapping[str, Any]:
        answer = client.get(f"{base_url.rstrip('/')}/_sandbox/{lookup.app}{lookup.path}", params=lookup.query)
        return _object(answer.status_code, answer.text)

    return fetch


def from_sandboxes(sandboxes: Mapping[str, SandboxApp]) -> Fetch:
    """Lookups answered in-process by the stand-ins (tests that run without a gateway)."""
    from sandbox.base import SandboxRequest

    def fetch(lookup: Lookup) -> Mapping[str, Any]:
        app = sandboxes.get(lookup.app)
        if app is None:
            raise LookupFailed(f"no stand-in {lookup.app!r}")
        answer = app.handle(SandboxRequest("GET", lookup.path, query={k: [v] for k, v in lookup.query}))
        return _object(answer.status, answer.body.decode("utf-8", errors="replace"))

    return fetch


def _object(status: int, text: str) -> Mapping[str, Any]:
    if status != 200:
        raise LookupFailed(f"answered {status}: {text[:200]}")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise LookupFailed(f"answered 200 with no JSON: {text[:80]}") from exc
    if not isinstance(value, dict):
        raise LookupFailed(f"answered {type(value).__name__}, not a JSON object")
    return value
