"""The event lease and the step records (:mod:`shared.ledger`) on moto's DynamoDB.

What the lease saves must not cost a guarantee: a first attempt reads no step record, but every
later attempt - after a failure, a crash, a redrive - reads them and repeats no completed step.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from shared.errors import EventInProgress
from shared.ledger import (
    ATTEMPT_FAILED,
    COMPLETED,
    INPROGRESS,
    RETENTION_S,
    DeadlineContext,
    Ledger,
    event_key,
    step_key,
)
from shared.runtime import Runtime
from shared.table import ledger_table

from .test_worker import SYNTHETIC


@pytest.fixture
def rt(resources: Any, aws: Any) -> Runtime:
    return Runtime(
        spec=SYNTHETIC,
        stage="test",
        queue_url="unused",
        dlq_url="unused",
        table=resources.table,
        bus=resources.bus,
        secret_prefix=resources.secret_prefix,
        secret_max_age_s=0,
    )


class Requests:
    """Counts the DynamoDB requests the ledger makes, by operation and key."""

    def __init__(self, client: Any) -> None:
        self.seen: list[tuple[str, str]] = []
        self._client = client

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kw: Any) -> Any:
            key = kw.get("Key") or kw.get("Item") or {}
            self.seen.append((name, str(key.get("id", {}).get("S", ""))))
            return real(**kw)

        return call

    def ops(self, on: str = "") -> list[str]:
        return [op for op, key in self.seen if on in key]


@pytest.fixture
def requests(rt: Runtime, monkeypatch: pytest.MonkeyPatch) -> Requests:
    counting = Requests(rt.aws("dynamodb"))
    monkeypatch.setattr(rt, "aws", lambda service: counting if service == "dynamodb" else None)
    return counting


def record(rt: Runtime, key: str) -> dict[str, Any]:
    return ledger_table(rt).get(key, consistent=True) or {}


def three_steps(ledger: Ledger, event_id: str, done: list[str], fail_after: str | None = None) -> Any:
    def effect(name: str) -> dict[str, str]:
        done.append(name)
        return {"step": name}

    def work() -> dict[str, str]:
        for name in ("one", "two", "three"):
            ledger.run_step(event_id, name, lambda n=name: effect(n))  # type: ignore[misc]
            if name == fail_after:
                raise RuntimeError(f"failed after {name}")
        return {"ok": "yes"}

    return ledger.run_event(event_id, work)


def test_a_first_attempt_reads_no_step_record(rt: Runtime, requests: Requests) -> None:
    done: list[str] = []
    assert three_steps(Ledger(rt, None), "evt-1", done) == ({"ok": "yes"}, True)
    assert done == ["one", "two", "three"]
    # The lease (one conditional put), one write per step, the completion: no GetItem at all.
    assert requests.ops() == ["put_item", "put_item", "put_item", "put_item", "put_item"]
    assert record(rt, event_key(rt.name, "evt-1"))["status"] == COMPLETED


def test_a_duplicate_answers_from_the_refused_lease_in_one_request(rt: Runtime, requests: Requests) -> None:
    three_steps(Ledger(rt, None), "evt-dup", [])
    requests.seen.clear()
    done: list[str] = []
    assert three_steps(Ledger(rt, None), "evt-dup", done) == ({"ok": "yes"}, False)
    assert done == []
    assert requests.ops() == ["put_item"]  # refused, and the refusal carried the saved result


def test_a_failed_attempt_gives_its_lease_back_and_the_retry_repeats_no_step(
    rt: Runtime, requests: Requests
) -> None:
    done: list[str] = []
    with pytest.raises(RuntimeError):
        three_steps(Ledger(rt, None), "evt-2", done, fail_after="two")
    event = record(rt, event_key(rt.name, "evt-2"))
    assert event["status"] == ATTEMPT_FAILED  # kept, not deleted: the retry must know steps may exist
    assert "in_progress_expiration" not in event

    requests.seen.clear()
    assert three_steps(Ledger(rt, None), "evt-2", done) == ({"ok": "yes"}, True)
    assert done == ["one", "two", "three"]  # one and two ran once each
    assert requests.ops("#step#").count("get_item") == 3  # not a first attempt: every step is read


def test_a_crashed_attempt_holds_the_lease_until_its_deadline_then_the_retry_resumes(rt: Runtime) -> None:
    done: list[str] = []
    crashed = Ledger(rt, DeadlineContext(0.3))

    class Crash(BaseException):
        """Stands for the process dying: nothing after it runs, not even the release."""

    def dies() -> None:
        done.append("one")
        crashed.run_step("evt-3", "one", lambda: {"step": "one"})
        raise Crash

    with pytest.raises(Crash):
        crashed.run_event("evt-3", dies)
    assert record(rt, event_key(rt.name, "evt-3"))["status"] == INPROGRESS
    with pytest.raises(EventInProgress):
        three_steps(Ledger(rt, None), "evt-3", done)
    time.sleep(0.4)
    assert three_steps(Ledger(rt, None), "evt-3", done) == ({"ok": "yes"}, True)
    assert done == ["one", "two", "three"]


def test_a_late_attempt_does_not_release_a_lease_it_lost(rt: Runtime) -> None:
    """An attempt past its deadline lost the lease to another; its failure must not free that one."""
    late = Ledger(rt, DeadlineContext(0.2))
    taken, finish = threading.Event(), threading.Event()
    results: list[Any] = []

    def slow() -> None:
        time.sleep(0.3)  # past the deadline: the lease is free for the taking
        taken.wait(5)
        raise RuntimeError("the late attempt fails")

    def other() -> None:
        def holds() -> str:
            taken.set()
            finish.wait(5)
            return "done"

        results.append(Ledger(rt, None).run_event("evt-4", holds))

    failed: list[BaseException] = []

    def late_attempt() -> None:
        try:
            late.run_event("evt-4", slow)
        except RuntimeError as exc:
            failed.append(exc)

    runner = threading.Thread(target=late_attempt)
    runner.start()
    time.sleep(0.35)
    thief = threading.Thread(target=other)
    thief.start()
    runner.join(5)
    assert [str(e) for e in failed] == ["the late attempt fails"]
    assert record(rt, event_key(rt.name, "evt-4"))["status"] == INPROGRESS  # still the other's
    with pytest.raises(EventInProgress):
        Ledger(rt, None).run_event("evt-4", lambda: "a third")
    finish.set()
    thief.join(5)
    assert results == [("done", True)]


def test_step_records_expire_no_later_than_their_event(rt: Runtime) -> None:
    ledger = Ledger(rt, None)
    before = int(time.time())
    three_steps(ledger, "evt-5", [])
    event = record(rt, event_key(rt.name, "evt-5"))
    steps = [record(rt, step_key(rt.name, s, "evt-5")) for s in ("one", "two", "three")]
    assert all(before + RETENTION_S <= int(s["expiration"]) <= int(event["expiration"]) for s in steps)


def test_a_step_outside_any_event_lease_reads_its_record(rt: Runtime, requests: Requests) -> None:
    ledger = Ledger(rt, None)
    assert ledger.run_step("evt-6", "alone", lambda: 1) == (1, True)
    assert ledger.run_step("evt-6", "alone", lambda: 2) == (1, False)
    assert requests.ops("#step#") == ["get_item", "put_item", "get_item"]
