"""Which Google event a booking is on, kept in the integration's DynamoDB table.

A booking's calendar event id is derived from the booking that *created* it. A reschedule is a new
booking (a new Calendly invitee on a new scheduled event, a new Cal.com uid) whose event is the one
already on the calendar, moved - and a second reschedule names only the first reschedule, not the
original booking. So each booking key is linked to the event it lives on (and the revision number
the invitee last received, for the .ics ``SEQUENCE``): a chain of reschedules keeps moving the one
event, and a cancel finds it whichever booking of the chain it names.

A cancelled booking keeps its link with ``status: cancelled`` (a tombstone): a ``created`` that
arrives after its own cancel (SQS and providers do not keep order) finds it and creates nothing. A
booking a reschedule replaced is marked ``status: moved`` with the booking it moved to: its late
``created`` creates nothing either, and a late cancel of it leaves the moved event alone.

Items: ``id = booking_to_calendar#booking#<sha256 of the key>``, kept for a year after the booking
ends (the table's TTL attribute ``expiration``).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from shared.errors import TargetUnavailable
from shared.table import ledger_table

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = ["Link", "Links", "Status"]

Status = Literal["active", "cancelled", "moved"]

#: Links outlive the booking by a year: late reschedules and cancels, and redrives, still find them.
KEEP_AFTER_END_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Link:
    #: ``None``: a cancel came before the event was known (its event, if any, is under the booking's key).
    event_id: str | None
    sequence: int
    status: Status
    ical_uid: str | None = None
    #: For ``moved``: the key of the booking that replaced this one.
    moved_to: str | None = None


class Links:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt

    def _id(self, booking_key: str) -> str:
        digest = hashlib.sha256(booking_key.encode("utf-8")).hexdigest()[:40]
        return f"{self._rt.name}#booking#{digest}"

    def get(self, booking_key: str) -> Link | None:
        try:
            item = ledger_table(self._rt).get(self._id(booking_key), consistent=True)
        except Exception as exc:  # botocore errors: the table is out of reach, try again later
            raise TargetUnavailable(f"booking links unavailable: {type(exc).__name__}") from exc
        if not item:
            return None
        status: Status = item["status"] if item["status"] in ("cancelled", "moved") else "active"
        return Link(
            event_id=item.get("event_id"),
            sequence=int(item["sequence"]),
            status=status,
            ical_uid=item.get("ical_uid"),
            moved_to=item.get("moved_to"),
        )

    def put(self, booking_key: str, link: Link, *, ends: datetime, only_new: bool = False) -> bool:
        """Store a link; with ``only_new`` an existing one (a tombstone, say) is kept. Whether it wrote."""
        item: dict[str, str | int] = {
            "id": self._id(booking_key),
            "sequence": link.sequence,
            "status": link.status,
            "expiration": max(int(ends.timestamp()), int(time.time())) + KEEP_AFTER_END_S,
        }
        if link.event_id:
            item["event_id"] = link.event_id
        if link.ical_uid:
            item["ical_uid"] = link.ical_uid
        if link.moved_to:
            item["moved_to"] = link.moved_to
        table = ledger_table(self._rt)
        try:
            if only_new:
                return table.put_if_absent(item)
            table.put(item)
        except Exception as exc:
            raise TargetUnavailable(f"booking links unavailable: {type(exc).__name__}") from exc
        return True

    def claim(self, booking_key: str, link: Link, *, ends: datetime) -> Link | None:
        """Store a booking's link unless it has one: ``None`` if stored, else the link in the way.

        A change writes its own booking's link after its calendar write. Finding one there that it
        did not write means another change of the chain came between its decision and this write
        (the attempt that wrote the calendar died before its links were written): the caller must
        not act on its decision as if nothing had happened.
        """
        if self.put(booking_key, link, ends=ends, only_new=True):
            return None
        return self.get(booking_key)
