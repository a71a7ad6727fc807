"""shared.ordering on moto: newer versions win in any order, one delivery of an entity acts at a time."""

from __future__ import annotations

import fnmatch
import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.cdk.access import ledger_key_patterns
from shared.ordering import (
    Applied,
    EntityBusy,
    EntityVersions,
    Stale,
    entity_key,
    number_version,
    time_version,
)
from shared.registry import load_specs
from shared.runtime import Runtime


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("website_to_crm", retry_scale=0)
    return made


def test_versions_sort_as_the_numbers_and_times_they_stand_for() -> None:
    assert number_version(2) < number_version(10) < number_version(100)
    early = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert time_version(early) < time_version(early + timedelta(microseconds=1))
    assert time_version(early, "a") < time_version(early, "b")  # the tie-break orders equal times
    assert time_version(early.replace(tzinfo=None)) == time_version(early)
    with pytest.raises(ValueError, match="not negative"):
        number_version(-1)


def test_every_order_of_three_versions_ends_with_the_newest(rt: Runtime) -> None:
    versions = [number_version(n) for n in (1, 2, 3)]
    for i, order in enumerate(itertools.permutations([*versions, versions[0], versions[2]])):
        store = EntityVersions(rt, "probe")
        state: list[str] = []

        def write(v: str, state: list[str] = state) -> None:
            state.append(v)

        for v in order:
            store.apply(f"entity-{i}", v, lambda v=v: write(v))  # type: ignore[misc]
        assert state[-1] == versions[2], order
        assert store.current(f"entity-{i}") == versions[2]
        assert state == sorted(set(state))  # never an older write after a newer one


def test_an_older_or_the_same_version_is_stale_and_does_not_run(rt: Runtime) -> None:
    store = EntityVersions(rt, "probe")
    first = store.apply("e", "2", lambda: "wrote 2")
    assert first == Applied("wrote 2", None)
    older = store.apply("e", "1", lambda: pytest.fail("an older version ran"))
    assert isinstance(older, Stale) and older.current == "2" and not older.same
    again = store.apply("e", "2", lambda: pytest.fail("a redelivery ran"))
    assert isinstance(again, Stale) and again.same
    assert store.apply("e", "3", lambda: "wrote 3") == Applied("wrote 3", "2")


def test_a_failed_change_keeps_the_old_version_and_frees_the_lease(rt: Runtime) -> None:
    store = EntityVersions(rt, "probe")

    def boom() -> None:
        raise RuntimeError("target down")

    with pytest.raises(RuntimeError):
        store.apply("e", "1", boom)
    assert store.current("e") is None
    assert store.apply("e", "1", lambda: "retried") == Applied("retried", None)


def test_concurrent_deliveries_of_one_entity_cannot_both_apply(rt: Runtime) -> None:
    store = EntityVersions(rt, "probe")
    inside = threading.Event()
    release = threading.Event()
    outcomes: dict[str, Any] = {}

    def slow() -> str:
        inside.set()
        assert release.wait(10)
        return "first"

    first = threading.Thread(target=lambda: outcomes.update(first=store.apply("e", "5", slow)))
    first.start()
    assert inside.wait(10)
    # While the first holds the lease, a newer and a same-version delivery both back off.
    for version in ("6", "5"):
        with pytest.raises(EntityBusy):
            store.apply("e", version, lambda: pytest.fail("ran beside the lease holder"))
    release.set()
    first.join(10)
    assert outcomes["first"] == Applied("first", None)
    assert store.apply("e", "6", lambda: "then the newer") == Applied("then the newer", "5")


def test_threads_racing_on_one_version_apply_it_once(rt: Runtime) -> None:
    store = EntityVersions(rt, "probe")
    ran: list[int] = []
    barrier = threading.Barrier(6)
    results: list[Any] = []

    def deliver(n: int) -> None:
        barrier.wait(10)
        try:
            results.append(store.apply("e", "7", lambda: ran.append(n)))
        except EntityBusy as exc:
            results.append(exc)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(ran) == 1 and len(results) == 6
    assert sum(isinstance(r, Applied) for r in results) == 1


def test_hold_takes_every_lease_or_none(rt: Runtime) -> None:
    store = EntityVersions(rt, "booking")
    with store.hold(["a", "b"]):
        with pytest.raises(EntityBusy), store.hold(["c", "b"]):
            pytest.fail("held b twice")
        with store.hold(["c"]):  # c was given back when b could not be taken
            pass
    with store.hold(["b", "a"]):
        pass


def test_an_expired_lease_is_taken_over(rt: Runtime) -> None:
    store = EntityVersions(rt, "probe", lease_s=-1)  # every lease is already over when taken
    with store.hold(["e"]), store.hold(["e"]):
        pass


def test_entity_keys_fall_under_every_integrations_granted_prefix() -> None:
    for spec in load_specs():
        name = spec.name
        patterns = ledger_key_patterns(spec, "prod")
        key = entity_key(spec.name, "contact", "ada@example.org")
        assert key.startswith(f"{spec.name}#entity#contact#") and "ada" not in key
        assert any(fnmatch.fnmatchcase(key, p) for p in patterns), (name, patterns)
