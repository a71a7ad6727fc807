"""Per-entity order: the latest version of an entity wins, whatever order its deliveries arrive in.

SQS does not keep order, providers retry late, and a DLQ redrive replays days later: a payment's
``payment.updated`` of version 3 may be processed before version 2, a contact's older form submission
after a newer one. The effects ledger (:mod:`shared.ledger`) makes each *delivery* happen once; this
module makes each *entity* (a contact, a payment, a booking) end in the state of its latest version.

One item per entity in the ledger table (:mod:`shared.table`), under the integration's own prefix so
its IAM grant (``<integration>#*``, :mod:`infra.cdk.access`) covers it::

    <integration>#entity#<kind>#<sha256 of the entity's id, 40 hex>

holding ``version`` (the newest version applied, a string that sorts as the versions do) and, while a
change is being applied, a lease (``lease_token``, ``lease_until``). Two operations:

* :meth:`EntityVersions.apply` runs a change only if its version is newer than the stored one, under
  the entity's lease: the lease is taken by one conditional write whose condition also compares the
  version, so of two concurrent deliveries of one entity only one runs its write at a time, and an
  older one never runs after a newer one was applied. An equal or older version is :class:`Stale`
  (nothing runs); a change while another holds the lease raises :class:`EntityBusy` (retryable: the
  message comes back after its back-off). The lease outlives a crash only until ``lease_s`` (the
  function's timeout) has passed.
* :meth:`EntityVersions.hold` takes the leases of several entities without versions, for changes
  whose order is decided by state the caller keeps itself (booking links: a tombstone, a move).

Versions are the provider's own where it has one (Square's ``version``), else its timestamp
(``submitted_at``); :func:`number_version` and :func:`time_version` make them sort as strings, with
a tie-break (the event id) so two different changes never share a version.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final, Generic, TypeVar

from shared.errors import EventInProgress, TargetUnavailable
from shared.table import ConditionFailed, Table, ledger_table

if TYPE_CHECKING:
    from shared.runtime import Runtime

__all__ = [
    "KEEP_S",
    "Applied",
    "EntityBusy",
    "EntityVersions",
    "Stale",
    "entity_key",
    "number_version",
    "time_version",
]

T = TypeVar("T")

#: Entity records outlive every way an old delivery can come back: provider re-sends (days), the
#: DLQ (14 days) and the ledger's own records (15 days) - a year, like booking links.
KEEP_S: Final = 365 * 24 * 3600

#: Between a version and its tie-break (a version is an attribute value, never a key).
_SEP: Final = "#"
_FREE: Final = "(attribute_not_exists(lease_until) OR lease_until < :now)"
_NEWER: Final = "(attribute_not_exists(version) OR version < :v)"


class EntityBusy(EventInProgress):
    """Another delivery of the same entity holds its lease: try again after the back-off."""

    code = "entity_busy"


@dataclass(frozen=True)
class Applied(Generic[T]):
    """The change ran: ``fn``'s result, and the version it replaced (``None``: the first)."""

    result: T
    previous: str | None


@dataclass(frozen=True)
class Stale:
    """The change did not run: the entity already holds ``current``, as new as this one or newer."""

    current: str
    version: str

    @property
    def same(self) -> bool:
        """This very version was applied before (a redelivery), not a newer one."""
        return self.current == self.version


def entity_key(integration: str, kind: str, entity: str) -> str:
    """``<integration>#entity#<kind>#<hash>``: under the integration's prefix, no raw ids in keys."""
    digest = hashlib.sha256(entity.encode("utf-8")).hexdigest()[:40]
    return f"{integration}#entity#{kind}#{digest}"


def number_version(number: int, tiebreak: str = "") -> str:
    """A provider's integer version (Square ``version``) as a string that sorts numerically."""
    if number < 0:
        raise ValueError(f"a version number is not negative: {number}")
    return _SEP.join((f"{number:020d}", tiebreak))


def time_version(at: datetime, tiebreak: str = "") -> str:
    """A timestamp (UTC, microseconds) as a string that sorts in time; ``tiebreak`` orders equal times."""
    moment = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    return _SEP.join((f"{moment:%Y-%m-%dT%H:%M:%S.%fZ}", tiebreak))


@contextmanager
def _table_errors() -> Iterator[None]:
    try:
        yield
    except ConditionFailed:
        raise
    except Exception as exc:  # botocore errors: the table is out of reach, try again later
        raise TargetUnavailable(f"entity versions unavailable: {type(exc).__name__}") from exc


class EntityVersions:
    """The entities of one kind of one integration (``kind``: ``contact``, ``payment``, ``booking``)."""

    def __init__(self, rt: Runtime, kind: str, *, lease_s: float | None = None) -> None:
        self._rt = rt
        self._kind = kind
        #: No delivery acts longer than the function may run: then the lease is free again.
        self._lease_s = float(lease_s if lease_s is not None else rt.spec.timeout_s)

    def key(self, entity: str) -> str:
        return entity_key(self._rt.name, self._kind, entity)

    def _table(self) -> Table:
        return ledger_table(self._rt)

    def current(self, entity: str) -> str | None:
        """The newest version applied to ``entity``, if any (strongly consistent)."""
        with _table_errors():
            item = self._table().get(self.key(entity), consistent=True)
        version = (item or {}).get("version")
        return str(version) if version is not None else None

    def apply(self, entity: str, version: str, fn: Callable[[], T]) -> Applied[T] | Stale:
        """Run ``fn`` if ``version`` is newer than the entity's; record it as the entity's version.

        ``fn`` runs under the entity's lease, so no other delivery of the entity runs its change at
        the same time; if ``fn`` raises, the lease is given back and the version stays as it was.
        """
        key = self.key(entity)
        token = self._take(key, version)
        if isinstance(token, Stale):
            return token
        try:
            result = fn()
        except BaseException:
            self._give_back(key, token)
            raise
        previous = self._record(key, token, version)
        return Applied(result, previous)

    @contextmanager
    def hold(self, entities: Sequence[str]) -> Iterator[None]:
        """Hold the leases of ``entities`` (all or none) while the block runs: one change at a time.

        Taken in key order, so two holders of overlapping sets cannot each wait for the other; a
        lease another delivery holds raises :class:`EntityBusy` after giving back those taken.
        """
        keys = sorted({self.key(e) for e in entities})
        taken: list[tuple[str, str]] = []
        try:
            for key in keys:
                token = self._take(key, None)
                assert isinstance(token, str)  # without a version there is nothing to be stale against
                taken.append((key, token))
            yield
        finally:
            for key, token in reversed(taken):
                self._give_back(key, token)

    # --- the lease ------------------------------------------------------------------------------

    def _take(self, key: str, version: str | None) -> str | Stale:
        token = uuid.uuid4().hex
        now = time.time()
        values: dict[str, object] = {
            ":t": token,
            ":now": Decimal(f"{now:.3f}"),
            ":until": Decimal(f"{now + self._lease_s:.3f}"),
            ":exp": int(now) + KEEP_S,
        }
        condition = _FREE
        if version is not None:
            values[":v"] = version
            condition = f"{_NEWER} AND {_FREE}"
        try:
            with _table_errors():
                self._table().update(
                    key,
                    "SET lease_token = :t, lease_until = :until, expiration = :exp",
                    values=values,
                    condition=condition,
                )
        except ConditionFailed:
            with _table_errors():
                item = self._table().get(key, consistent=True) or {}
            current = item.get("version")
            if version is not None and current is not None and str(current) >= version:
                return Stale(str(current), version)
            raise EntityBusy(
                f"{self._rt.name}: another delivery of this {self._kind} is being applied"
            ) from None
        return token

    def _give_back(self, key: str, token: str) -> None:
        """Free the lease if it is still ours (best effort: it expires anyway)."""
        try:
            with _table_errors():
                self._table().update(
                    key,
                    "REMOVE lease_token, lease_until",
                    values={":t": token},
                    condition="lease_token = :t",
                )
        except (ConditionFailed, TargetUnavailable):
            pass

    def _record(self, key: str, token: str, version: str) -> str | None:
        """Store ``version`` and free the lease; the version it replaced."""
        try:
            with _table_errors():
                old = self._table().update(
                    key,
                    "SET version = :v REMOVE lease_token, lease_until",
                    values={":v": version, ":t": token},
                    condition="lease_token = :t",
                    returns="UPDATED_OLD",
                )
        except ConditionFailed:
            # The lease ran out while fn ran (a delivery slower than the function's timeout) and
            # another took it: still never move the version backwards.
            try:
                with _table_errors():
                    old = self._table().update(
                        key,
                        "SET version = :v",
                        values={":v": version},
                        condition=_NEWER,
                        returns="UPDATED_OLD",
                    )
            except ConditionFailed:
                return None
        previous = old.get("version")
        return str(previous) if previous is not None else None
