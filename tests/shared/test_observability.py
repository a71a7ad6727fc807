"""Logs are masked before they are printed, and per-event keys stay on their own thread."""

from __future__ import annotations

import json
import threading
import uuid
import warnings
from typing import Any

import pytest

from shared.observability import NAMESPACE, event_context, get_logger, new_metrics


def fresh_name() -> str:
    # get_logger caches one logger per integration, bound to the stdout of the moment it was made.
    return f"obs_{uuid.uuid4().hex[:12]}"


def lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_personal_data_in_message_and_extra_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    name = fresh_name()
    logger = get_logger(name)
    logger.info(
        "lead from jane.doe@example.com, call +44 20 7946 0321",
        extra={
            "email": "jane.doe@example.com",
            "authorization": "Bearer abcdefghijklmnop",
            "nested": {"password": "hunter2", "phone": "087 123 4567", "count": 3},
            "contact_id": "10001",
            "at": "2026-03-29T10:15:00Z",
        },
    )
    out = capsys.readouterr().out
    assert "jane.doe" not in out
    assert "7946" not in out
    assert "hunter2" not in out
    assert "abcdefghijklmnop" not in out
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["message"] == "lead from j***@example.com, call ***21"
    assert line["email"] == "j***@example.com"
    assert line["authorization"] == "***"
    assert line["nested"] == {"password": "***", "phone": "***67", "count": 3}
    assert line["contact_id"] == "10001"
    assert line["at"] == "2026-03-29T10:15:00Z"
    assert line["integration"] == name
    assert line["service"] == f"switchboard.{name}"
    assert line["level"] == "INFO"


def test_formatted_traceback_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logger = get_logger(fresh_name())
    try:
        raise ValueError("no contact for bob.smith@example.org")
    except ValueError:
        logger.exception("failed for amy@example.net")
    (line,) = lines(capsys)
    assert line["message"] == "failed for a***@example.net"
    assert "ValueError: no contact for b***@example.org" in line["exception"]
    assert line["exception_name"] == "ValueError"


def test_exception_object_in_stack_trace_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logger = get_logger(fresh_name())
    try:
        raise KeyError("bob.smith@example.org")
    except KeyError:
        logger.exception("worker crashed")
    out = capsys.readouterr().out
    assert "bob.smith@example.org" not in out


def test_event_keys_are_added_and_removed(capsys: pytest.CaptureFixture[str]) -> None:
    logger = get_logger(fresh_name())
    with event_context(logger, event_id="evt-1", correlation_id="evt-1"):
        logger.info("inside")
    logger.info("outside")
    inside, outside = lines(capsys)
    assert (inside["event_id"], inside["correlation_id"]) == ("evt-1", "evt-1")
    assert "event_id" not in outside
    assert "correlation_id" not in outside


def test_event_keys_do_not_leak_between_threads(capsys: pytest.CaptureFixture[str]) -> None:
    logger = get_logger(fresh_name())
    a_in, b_done, a_done = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def thread_a() -> None:
        try:
            with event_context(logger, event_id="evt-A"):
                a_in.set()
                assert b_done.wait(5)
                logger.info("from A")
        except BaseException as exc:
            errors.append(exc)
        finally:
            a_done.set()

    def thread_b() -> None:
        try:
            assert a_in.wait(5)
            logger.info("from B while A is inside its event")
            with event_context(logger, event_id="evt-B"):
                logger.info("from B inside its own event")
        except BaseException as exc:
            errors.append(exc)
        finally:
            b_done.set()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)

    assert errors == []
    by_message = {line["message"]: line.get("event_id") for line in lines(capsys)}
    assert by_message == {
        "from B while A is inside its event": None,
        "from B inside its own event": "evt-B",
        "from A": "evt-A",
    }


def test_get_logger_is_one_logger_per_integration() -> None:
    name = fresh_name()
    assert get_logger(name) is get_logger(name)
    assert get_logger(name) is not get_logger(fresh_name())


def test_new_metrics_are_per_invocation_with_the_integration_dimension(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    first, second = new_metrics("a"), new_metrics("a")
    assert first is not second
    first.add_metric(name="Accepted", unit="Count", value=1)
    assert first.metric_set["Accepted"]["Value"] == [1.0]
    assert second.metric_set == {}
    assert first.namespace == NAMESPACE == "Switchboard"
    assert first.dimension_set == {"integration": "a"}


@pytest.mark.parametrize(("disabled", "lines"), [("true", 0), ("false", 1)])
def test_a_hundred_values_print_only_when_metrics_are_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], disabled: str, lines: int
) -> None:
    """Powertools prints a metric set by itself at 100 values of one metric, switched off or not."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", disabled)
    metrics = new_metrics("a")
    for n in range(150):
        metrics.add_metric(name="TargetLatency", unit="Milliseconds", value=n)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        metrics.flush_metrics()
    printed = [line for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    # On: the set at 100 values, then the rest at the flush. Off: nothing printed, and no "no
    # application metrics to publish" warning either.
    assert len(printed) == lines * 2
    if disabled == "true":
        assert warned == []
