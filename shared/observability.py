"""Logs, metrics and the correlation id, the Powertools way, with personal data masked.

* Logs are Powertools JSON lines. Every record passes through :class:`RedactingFormatter`, so an
  email or a phone number written by mistake into a message or an extra field is masked before it is
  printed. Per-event keys (``event_id`` as correlation id) are thread-local, because the worker
  processes the records of a batch on several threads at once.
* Metrics are Powertools EMF in namespace ``Switchboard`` with dimension ``integration``. One
  :class:`~aws_lambda_powertools.metrics.EphemeralMetrics` per invocation, so that concurrent
  invocations hosted in one process (the local runtime) never mix their metric sets.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from shared.redact import drop_sensitive, redact_text

__all__ = [
    "NAMESPACE",
    "MetricUnit",
    "RedactingFormatter",
    "event_context",
    "forget_loggers",
    "get_logger",
    "new_metrics",
]

NAMESPACE = "Switchboard"

_loggers: dict[str, Logger] = {}
_lock = threading.Lock()


class RedactingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with emails, phones and credentials masked in every field.

    Two passes: the record as data first, dropping values under sensitive keys such as ``token``
    whatever they hold; then the serialized line as text, once - objects such as an exception in
    ``stack_trace`` only become text during serialization, and an email inside one must not slip out.
    """

    def serialize(self, log: Any) -> str:
        return redact_text(super().serialize(drop_sensitive(log)))


def get_logger(integration: str) -> Logger:
    """One Powertools logger per integration (the local runtime hosts several in one process)."""
    with _lock:
        logger = _loggers.get(integration)
        if logger is None:
            handler: logging.Handler | None = None
            log_dir = os.environ.get("SWITCHBOARD_LOG_DIR")
            if log_dir:
                # Local runtime: JSON logs go to a file per integration; the terminal shows the trace.
                os.makedirs(log_dir, exist_ok=True)
                handler = logging.FileHandler(os.path.join(log_dir, f"{integration}.jsonl"), encoding="utf-8")
            logger = Logger(
                service=f"switchboard.{integration}",
                logger_formatter=RedactingFormatter(),
                logger_handler=handler,
                utc=True,
            )
            logger.append_keys(integration=integration)
            _loggers[integration] = logger
        return logger


def forget_loggers() -> None:
    """Dispose of every logger made by :func:`get_logger`, so the next call configures a fresh one.

    Powertools marks the underlying ``logging.Logger`` as configured and would reuse it half-way
    (without its formatter), so the handlers and marks go too. Lambda never needs this; tests and
    the local runtime do when the log destination changes within one process.
    """
    from aws_lambda_powertools.logging.constants import (
        LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER,
        LOGGER_ATTRIBUTE_PRECONFIGURED,
    )

    with _lock:
        for logger in _loggers.values():
            base = logging.getLogger(logger.service)
            for handler in list(base.handlers):
                base.removeHandler(handler)
                handler.close()
            for mark in (LOGGER_ATTRIBUTE_PRECONFIGURED, LOGGER_ATTRIBUTE_POWERTOOLS_HANDLER):
                if hasattr(base, mark):
                    delattr(base, mark)
        _loggers.clear()


@contextmanager
def event_context(logger: Logger, **keys: str) -> Iterator[None]:
    """Adds per-event keys (``event_id`` ...) to this thread's log lines for the block's duration."""
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(list(keys))


class _Unpublished(EphemeralMetrics):
    """A metric set that keeps nothing, for when metrics are switched off.

    Powertools prints a metric set on its own once one metric holds 100 values - even with
    ``POWERTOOLS_METRICS_DISABLED``, which only its final flush checks. Switched off (the local
    runtime, tests) an invocation making 100 target calls would then print EMF lines into the
    developer's terminal or a harness's ``--json`` output.
    """

    def add_metric(self, *args: Any, **kwargs: Any) -> None:
        return None

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        return None  # nothing kept, nothing to publish - and no "no metrics to publish" warning


class _Published(EphemeralMetrics):
    """A metric set published at its flush - and nothing at all when the invocation counted nothing.

    No metric repeats another (each name is a billed series), so an invocation may have nothing to
    count - a route answered from memory: Powertools would then warn "No application metrics to
    publish" into the function's log.
    """

    def flush_metrics(self, raise_on_empty_metrics: bool = False) -> None:
        if not self.metric_set and not raise_on_empty_metrics:
            return None
        super().flush_metrics(raise_on_empty_metrics)


def new_metrics(integration: str) -> EphemeralMetrics:
    """A metric set for one invocation; flush it with ``flush_metrics()`` at the end."""
    metrics = (_Unpublished if is_metrics_disabled() else _Published)(namespace=NAMESPACE)
    metrics.add_dimension(name="integration", value=integration)
    return metrics
