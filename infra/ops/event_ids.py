"""One rule for naming an event by its id, for every command that takes one (trace, dlq show/replay).

The console and the trace lines of ``make dev`` print ids cut to fit a column, and people copy what
they see; so a command accepts the whole id or a unique prefix of :data:`MIN_PREFIX` or more
characters. An exact match always wins (an id may be the prefix of a longer one). Several matches
are an error that lists the candidates; none is an error that says where it looked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from infra.ops.target import CliError

__all__ = ["MIN_PREFIX", "AmbiguousId", "UnknownId", "ambiguous", "matching", "pick"]

#: Shorter prefixes match too much to be meant (and a typo'd short id should not pick something).
MIN_PREFIX = 6
#: Candidates listed in an ambiguity error, at most.
SHOWN = 10

T = TypeVar("T")


class AmbiguousId(CliError):
    """A prefix that matches more than one event (or dead letter)."""


class UnknownId(CliError):
    """An id, or prefix, that matches nothing where the command looked."""


def matching(ident: str, items: Iterable[T], ids: Callable[[T], Iterable[str]]) -> list[T]:
    """The items one of whose ids is ``ident``; failing that, those with an id starting with it.

    A prefix shorter than :data:`MIN_PREFIX` matches nothing but itself.
    """
    pool = list(items)
    exact = [item for item in pool if ident in set(ids(item))]
    if exact or len(ident) < MIN_PREFIX:
        return exact
    return [item for item in pool if any(i.startswith(ident) for i in ids(item) if i)]


def pick(
    ident: str,
    items: Iterable[T],
    ids: Callable[[T], Iterable[str]],
    *,
    describe: Callable[[T], str],
    nothing: str,
    narrow: str = "give more of the id",
) -> T:
    """The one item :func:`matching` finds.

    Else :class:`UnknownId` with ``nothing`` (what was searched, what to do), or :class:`AmbiguousId`
    listing the candidates (``describe``) and saying how to ``narrow`` the choice.
    """
    found = matching(ident, items, ids)
    if not found:
        short = f" (a prefix needs {MIN_PREFIX}+ characters)" if len(ident) < MIN_PREFIX else ""
        raise UnknownId(nothing + short)
    if len(found) > 1:
        raise AmbiguousId(ambiguous(ident, [describe(item) for item in found], narrow))
    return found[0]


def ambiguous(ident: str, candidates: Sequence[str], narrow: str = "give more of the id") -> str:
    """The one-line message for an id or prefix that matches several things, listing (some of) them."""
    listed = ", ".join(candidates[:SHOWN])
    more = f" and {len(candidates) - SHOWN} more" if len(candidates) > SHOWN else ""
    return f"{ident!r} matches {len(candidates)}: {listed}{more}; {narrow}"
