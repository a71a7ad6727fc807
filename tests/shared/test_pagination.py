"""The shared cursor iterator: every page in order, lazily, and it always ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shared.errors import TargetUnavailable
from shared.pagination import cursor_pages

Fetch = Callable[[str | None], tuple[str, str | None]]


def pages_of(chain: dict[str | None, tuple[str, str | None]]) -> tuple[list[str | None], Fetch]:
    asked: list[str | None] = []

    def fetch(cursor: str | None) -> tuple[str, str | None]:
        asked.append(cursor)
        return chain[cursor]

    return asked, fetch


def test_every_page_is_fetched_in_order_until_no_cursor() -> None:
    asked, fetch = pages_of({None: ("p1", "c1"), "c1": ("p2", "c2"), "c2": ("p3", None)})
    assert list(cursor_pages(fetch, what="x")) == ["p1", "p2", "p3"]
    assert asked == [None, "c1", "c2"]


def test_an_empty_cursor_is_the_end() -> None:
    _, fetch = pages_of({None: ("only", "")})
    assert list(cursor_pages(fetch, what="x")) == ["only"]


def test_pages_are_fetched_lazily() -> None:
    asked, fetch = pages_of({None: ("p1", "c1"), "c1": ("p2", None)})
    first = next(iter(cursor_pages(fetch, what="x")))
    assert first == "p1" and asked == [None]


def test_a_repeated_cursor_stops_the_loop() -> None:
    _, fetch = pages_of({None: ("p1", "c1"), "c1": ("p2", "c1")})
    with pytest.raises(TargetUnavailable, match="square GET /v2/payments: the cursor repeated"):
        list(cursor_pages(fetch, what="square GET /v2/payments"))


def test_too_many_pages_is_an_error_not_a_hang() -> None:
    def fetch(cursor: str | None) -> tuple[int, str]:
        n = int(cursor or 0) + 1
        return n, str(n)

    with pytest.raises(TargetUnavailable, match="more than 5 pages"):
        list(cursor_pages(fetch, what="x", max_pages=5))
    with pytest.raises(ValueError, match="at least 1"):
        list(cursor_pages(fetch, what="x", max_pages=0))
