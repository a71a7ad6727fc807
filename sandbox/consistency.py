"""Eventual consistency, optional: new records stay out of a stand-in's list and search answers for a while.

Real list and search endpoints are served from indexes that trail the writes (HubSpot's CRM search
and list views, Slack's channel history, QuickBooks' query, Xero's ``where`` filters): a record
written a moment ago can be missing from them even though the create answered. A stand-in that shows
it at once lets a flow pass that would post twice in production - a retry that looks for its earlier
write, does not find it, and writes again.

:class:`Visibility` remembers when each record was written; an app's list handler asks
:meth:`Visibility.visible` before showing one. Reads by id stay immediate, as they are on the real
APIs. The lag is off (0) by default - unit tests, ``make dev``, and chaos and load runs unless asked.
``switchboard chaos --lag SECONDS`` sets it on every stand-in for the run (the report states it, with
the reads it hid). Otherwise set it with the stand-in's ``consistency_lag_s`` argument,
``SWITCHBOARD_SANDBOX_LAG_S`` (seconds, read when a stand-in is made) or ``POST /_consistency
{"lag_s": 2}`` on a running stand-in.
"""

from __future__ import annotations

import os
from collections.abc import Callable

__all__ = ["LAG_ENV", "MAX_LAG_S", "InvalidLagSetting", "Visibility", "checked_lag", "lag_from_env"]

LAG_ENV = "SWITCHBOARD_SANDBOX_LAG_S"
#: The longest lag accepted: longer would only stall a run, not prove more.
MAX_LAG_S = 600.0


class InvalidLagSetting(ValueError):
    """A lag that is not a number of seconds between 0 and :data:`MAX_LAG_S`."""


def checked_lag(value: object, where: str) -> float:
    """``value`` as a lag in seconds, or :class:`InvalidLagSetting` naming ``where`` it came from."""
    try:
        lag = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InvalidLagSetting(f"{where}={value!r}: give seconds, e.g. 2") from exc
    if not 0 <= lag <= MAX_LAG_S:
        raise InvalidLagSetting(f"{where}={value!r}: between 0 and {MAX_LAG_S:g} seconds")
    return lag


def lag_from_env(explicit: float | None = None) -> float:
    """``explicit`` if given, else :data:`LAG_ENV` (0 when unset)."""
    if explicit is not None:
        return checked_lag(explicit, "consistency_lag_s")
    value = os.environ.get(LAG_ENV, "").strip()
    return checked_lag(value, LAG_ENV) if value else 0.0


class Visibility:
    """When records become visible to list and search reads. Guarded by the stand-in's lock."""

    def __init__(self, clock: Callable[[], float], lag_s: float = 0.0) -> None:
        self.clock = clock
        self.lag_s = lag_s
        self._written: dict[tuple[str, str], float] = {}
        #: Reads that left out a record because it was too new, since the last reset.
        self.hidden = 0

    def reset(self) -> None:
        self._written.clear()
        self.hidden = 0

    def written(self, kind: str, record_id: str) -> None:
        """``record_id`` of ``kind`` was created (or changed) now."""
        self._written[(kind, record_id)] = self.clock()

    def visible(self, kind: str, record_id: str) -> bool:
        """Whether a list or search read shows the record yet."""
        if self.lag_s <= 0:
            return True
        at = self._written.get((kind, record_id))
        if at is None or self.clock() >= at + self.lag_s:
            return True
        self.hidden += 1
        return False

    def as_json(self) -> dict[str, float | int]:
        return {"lag_s": self.lag_s, "hidden": self.hidden}
