"""booking_to_calendar in any order: every booking ends in its true final state, on both calendars.

A booking's life is made by the Calendly and Cal.com stand-ins, which sign and send their real
webhooks; here they are captured instead of delivered, then delivered through the production
handler in every order (or a seeded, bounded sample of the orders), one delivery sent twice, the
queue drained after each - so each order is the order they are *processed* in. What is checked:

* the business's calendar (the Google Calendar stand-in): no live event for a cancelled booking,
  exactly one at the latest time for a live one;
* the invitee's calendar, as the emails' .ics build it (REQUEST adds or moves the entry of its UID,
  CANCEL removes it, in the order they were sent): the same - an invitation is never left behind for
  a booking that ended, and no cancellation is sent for an invitation never sent.
"""

from __future__ import annotations

import itertools
import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from apps.calcom.standin import CalcomSandbox
from apps.calendly.standin import CalendlySandbox
from apps.google_calendar.standin import GoogleCalendarSandbox
from functions.booking_to_calendar.links import Link, Links
from functions.booking_to_calendar.worker import BOOKING_PROPERTY
from infra.local.gateway import api_gateway_event
from sandbox.base import SandboxApp, transport_for
from shared.entry import dispatch
from shared.errors import TargetUnavailable
from shared.ordering import EntityBusy, EntityVersions
from shared.runtime import Runtime
from shared.secrets import signing_secrets
from shared.spec import WebhookTrigger
from tests.support import ShortReads, dlq_messages, drain, poller

from .test_booking_to_calendar import HOST, SPEC, control, emails, ics_of

#: Bounds the sampled orders of the longer chains (6 deliveries: 720 orders, 5: 120).
SAMPLE = 12


@dataclass(frozen=True)
class Captured:
    """One webhook as the provider sent it: replayed through API Gateway's event shape."""

    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def kind(self) -> str:
        payload = json.loads(self.body)
        return str(payload.get("event") or payload.get("triggerEvent"))


@pytest.fixture
def rt(make_runtime: Any) -> Runtime:
    made: Runtime = make_runtime("booking_to_calendar", retry_scale=0)
    return made


@pytest.fixture
def google(sandboxes: dict[str, SandboxApp]) -> GoogleCalendarSandbox:
    app = sandboxes["google_calendar"]
    assert isinstance(app, GoogleCalendarSandbox)
    return app


def recorder(rt: Runtime, sender: CalendlySandbox | CalcomSandbox, trigger_name: str) -> list[Captured]:
    """Subscribe the trigger's URL, keeping each webhook instead of delivering it."""
    trigger = SPEC.trigger(trigger_name)
    assert isinstance(trigger, WebhookTrigger) and sender.webhooks is not None
    kept: list[Captured] = []

    def keep(to: str, headers: Any, body: bytes) -> int:
        kept.append(
            Captured(to.removeprefix(f"https://{HOST}"), {k.lower(): v for k, v in headers.items()}, body)
        )
        return 202

    url = f"https://{HOST}{trigger.path}"
    sender.webhooks.subscribe(url, signing_secrets(rt, trigger.secret)[0], deliver=keep)
    return kept


def unnamed(rt: Runtime, hook: Captured, trigger_name: str) -> Captured:
    """The cancel without the booking it replaced (``old_invitee``, ``rescheduleUid``), re-signed: a
    provider whose cancel payload does not carry it."""
    body = json.loads(hook.body)
    payload = body["payload"]
    for field in ("old_invitee", "rescheduleUid", "fromReschedule"):
        if field in payload:
            payload[field] = None
    raw = json.dumps(body).encode()
    trigger = SPEC.trigger(trigger_name)
    assert isinstance(trigger, WebhookTrigger)
    headers = trigger.verifier.sign(
        method="POST",
        url=f"https://{HOST}{hook.path}",
        body=raw,
        secret=signing_secrets(rt, trigger.secret)[0],
        now=time.time(),
        msg_id="unnamed",
    )
    return Captured(hook.path, {**hook.headers, **headers}, raw)


def deliver(rt: Runtime, hook: Captured) -> None:
    event = api_gateway_event(
        method="POST",
        path=hook.path,
        query="",
        headers={**hook.headers, "host": HOST},
        body=hook.body,
        route_key=f"POST {hook.path}",
    )
    assert int(dispatch(rt, event)["statusCode"]) == 202


def orders(n: int, seed: int, limit: int | None = None) -> list[tuple[int, ...]]:
    """Orders of deliveries 0..n-1 with one of them sent twice: all, or a seeded sample of ``limit``."""
    rng = random.Random(seed)
    every = list(itertools.permutations(range(n)))
    chosen = every if limit is None or limit >= len(every) else rng.sample(every, limit)
    out = []
    for order in chosen:
        again = rng.randrange(n)  # the provider re-sends one webhook, somewhere later
        at = rng.randrange(order.index(again) + 1, n + 1)
        out.append((*order[:at], again, *order[at:]))
    return out


def business_calendar(google: GoogleCalendarSandbox, keys: set[str]) -> list[dict[str, Any]]:
    """The live events of one booking chain (each event names the booking that wrote it last)."""
    return [
        e
        for e in google.events()
        if e.get("extendedProperties", {}).get("private", {}).get(BOOKING_PROPERTY) in keys
    ]


def invitee_calendar(address: str) -> dict[str, str]:
    """The invitee's calendar as our emails build it: UID -> DTSTART of the entries left."""
    entries: dict[str, str] = {}
    for message in emails():
        if message["To"] != address:
            continue
        ics = ics_of(message)
        if ics["METHOD"] == "CANCEL":
            assert ics["UID"] in entries, "a cancellation of an invitation never sent"
            del entries[ics["UID"]]
        else:
            entries[ics["UID"]] = ics["DTSTART"]
    return entries


def replay(rt: Runtime, hooks: list[Captured], order: tuple[int, ...]) -> None:
    for i in order:
        deliver(rt, hooks[i])
        drain(rt)


def booking_keys(hooks: list[Captured]) -> set[str]:
    keys = set()
    for hook in hooks:
        payload = json.loads(hook.body)["payload"]
        if "scheduled_event" in payload:
            keys.add("calendly:" + payload["scheduled_event"]["uri"].rsplit("/", 1)[-1])
        else:
            keys.add(f"calcom:{payload['uid']}")
    return keys


def judge(
    rt: Runtime, google: GoogleCalendarSandbox, hooks: list[Captured], address: str, live_at: str | None
) -> None:
    """The chain ends cancelled (``live_at`` None) or as one event at ``live_at`` (``YYYYmmddTHHMMSSZ``)."""
    events = business_calendar(google, booking_keys(hooks))
    mine = invitee_calendar(address)
    if live_at is None:
        assert events == [] and mine == {}
    else:
        [event] = events
        assert event["start"]["dateTime"].replace("-", "").replace(":", "") == live_at
        assert list(mine.values()) == [live_at]
    assert not dlq_messages(rt)


# --- Calendly ---------------------------------------------------------------------------------------------


def calendly_life(
    rt: Runtime, sandboxes: dict[str, SandboxApp], address: str, moves: int, cancel: bool, named: bool = True
) -> list[Captured]:
    """Book, reschedule ``moves`` times, maybe cancel: the webhooks Calendly sent, in its order."""
    calendly = sandboxes["calendly"]
    assert isinstance(calendly, CalendlySandbox)
    hooks = recorder(rt, calendly, "calendly")
    booked = control(
        calendly,
        "POST",
        "/_bookings",
        {"name": "Ada L", "email": address, "start_time": "2026-12-14T10:00:00Z"},
    )
    invitee = booked["invitee"]
    for day in range(moves):
        moved = control(
            calendly,
            "POST",
            "/_bookings/reschedule",
            {"invitee": invitee, "start_time": f"2026-12-{15 + day}T16:30:00Z"},
        )
        invitee = moved["invitee"]
    if cancel:
        control(calendly, "POST", "/_bookings/cancel", {"invitee": invitee, "reason": "ill"})
        if not named:
            hooks[-1] = unnamed(rt, hooks[-1], "calendly")
    return list(hooks)


CALENDLY_CASES = {
    # name: (moves, cancelled, seed, sample bound) - deliveries: 1 + 2 per move + 1 if cancelled
    "created-cancelled": (0, True, 1, None),
    "created-moved": (1, False, 2, None),
    "created-moved-cancelled": (1, True, 3, None),
    "created-moved-moved": (2, False, 4, SAMPLE),
    "created-moved-moved-cancelled": (2, True, 5, SAMPLE),
    # The cancel naming no replaced booking (a payload without ``old_invitee``).
    "created-moved-cancelled-unnamed": (1, True, 6, None),
    "created-moved-moved-cancelled-unnamed": (2, True, 7, SAMPLE),
}


def _calendly_params() -> Iterator[Any]:
    for name, (moves, cancelled, seed, bound) in CALENDLY_CASES.items():
        n = 1 + 2 * moves + int(cancelled)
        named = not name.endswith("unnamed")
        for order in orders(n, seed, bound):
            yield pytest.param(moves, cancelled, named, order, id=f"{name}:{'-'.join(map(str, order))}")


@pytest.mark.parametrize(("moves", "cancelled", "named", "order"), list(_calendly_params()))
def test_calendly_any_order_ends_in_the_true_final_state(
    moves: int,
    cancelled: bool,
    named: bool,
    order: tuple[int, ...],
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
) -> None:
    hooks = calendly_life(rt, sandboxes, "ada@example.org", moves, cancelled, named)
    assert len(hooks) == 1 + 2 * moves + int(cancelled)
    replay(rt, hooks, order)
    live = f"202612{14 + moves}T{'163000' if moves else '100000'}Z"  # each move: the next day, 16:30
    judge(rt, google, hooks, "ada@example.org", None if cancelled else live)


# --- Cal.com ----------------------------------------------------------------------------------------------


def calcom_life(
    rt: Runtime, sandboxes: dict[str, SandboxApp], address: str, moves: int, cancel: bool, named: bool = True
) -> list[Captured]:
    calcom = sandboxes["calcom"]
    assert isinstance(calcom, CalcomSandbox)
    hooks = recorder(rt, calcom, "calcom")
    booked = control(
        calcom,
        "POST",
        "/_bookings",
        {"name": "Grace H", "email": address, "start_time": "2026-12-17T13:00:00Z", "duration_minutes": 45},
    )
    uid = booked["uid"]
    for day in range(moves):
        uid = control(
            calcom,
            "POST",
            "/_bookings/reschedule",
            {"uid": uid, "start_time": f"2026-12-{18 + day}T09:00:00Z"},
        )["uid"]
    if cancel:
        control(calcom, "POST", "/_bookings/cancel", {"uid": uid})
        if not named:
            hooks[-1] = unnamed(rt, hooks[-1], "calcom")
    return list(hooks)


CALCOM_CASES = {
    "created-cancelled": (0, True, 11),
    "created-moved": (1, False, 12),
    "created-moved-cancelled": (1, True, 13),
    "created-moved-moved": (2, False, 14),
    "created-moved-moved-cancelled": (2, True, 15),
    "created-moved-cancelled-unnamed": (1, True, 16),
    "created-moved-moved-cancelled-unnamed": (2, True, 17),
}


def _calcom_params() -> Iterator[Any]:
    for name, (moves, cancelled, seed) in CALCOM_CASES.items():
        named = not name.endswith("unnamed")
        for order in orders(1 + moves + int(cancelled), seed, SAMPLE):
            yield pytest.param(moves, cancelled, named, order, id=f"{name}:{'-'.join(map(str, order))}")


@pytest.mark.parametrize(("moves", "cancelled", "named", "order"), list(_calcom_params()))
def test_calcom_any_order_ends_in_the_true_final_state(
    moves: int,
    cancelled: bool,
    named: bool,
    order: tuple[int, ...],
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
) -> None:
    hooks = calcom_life(rt, sandboxes, "grace@example.org", moves, cancelled, named)
    replay(rt, hooks, order)
    live = None if cancelled else f"202612{17 + moves}T{'090000' if moves else '130000'}Z"
    judge(rt, google, hooks, "grace@example.org", live)


# --- one change of a booking at a time ----------------------------------------------------------------


def test_a_change_waits_while_another_delivery_holds_its_booking(
    rt: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    hooks = calendly_life(rt, sandboxes, "ada@example.org", 0, True)
    keys = booking_keys(hooks)
    deliver(rt, hooks[0])  # the create ...
    with EntityVersions(rt, "booking").hold(sorted(keys)):  # ... while another worker holds the booking
        assert poller(rt).poll_once() == 1
        assert business_calendar(google, keys) == [] and emails() == []  # it did not act beside it
        with pytest.raises(EntityBusy), EntityVersions(rt, "booking").hold(sorted(keys)):
            pytest.fail("a second holder of the booking")
    drain(rt)  # once free, the create is retried
    assert len(business_calendar(google, keys)) == 1
    deliver(rt, hooks[1])
    drain(rt)
    judge(rt, google, hooks, "ada@example.org", None)


# --- a decision taken again on a retry ------------------------------------------------------------------


def hold_next(rt: Runtime) -> dict[str, Any]:
    """Receive the one queued message and keep it invisible, as SQS does while its back-off runs."""
    got = rt.aws("sqs").receive_message(
        QueueUrl=rt.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], VisibilityTimeout=300
    )
    [message] = got["Messages"]
    return dict(message)


def test_a_create_whose_calendar_write_failed_does_not_revive_a_booking_cancelled_meanwhile(
    rt: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    """The create decided "not cancelled", its insert failed; the cancel was processed before its
    retry. A saved decision would put the cancelled booking on the calendar."""
    hooks = calcom_life(rt, sandboxes, "grace@example.org", 0, True)
    created, cancelled = hooks
    control(
        google, "POST", "/_faults", {"kind": "status", "status": 503, "method": "POST", "path": "/events"}
    )
    deliver(rt, created)
    assert poller(rt).poll_once() == 1  # the insert failed: the create goes back to its queue
    waiting = hold_next(rt)  # and waits out its back-off there
    deliver(rt, cancelled)
    assert poller(rt).poll_once() == 1  # the cancel: nothing on the calendar yet, a tombstone
    rt.aws("sqs").change_message_visibility(
        QueueUrl=rt.queue_url, ReceiptHandle=waiting["ReceiptHandle"], VisibilityTimeout=0
    )
    drain(rt)  # the create's retry
    judge(rt, google, hooks, "grace@example.org", None)


def test_a_chain_end_whose_delete_failed_deletes_on_its_retry(
    rt: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    """The move arrives after its new booking's cancel (which named no replaced booking): it ends the
    chain by deleting the replaced booking's event. Its delete fails once; the retry decides again and
    must not take the tombstone its own first attempt would have written for "already gone"."""
    hooks = calcom_life(rt, sandboxes, "grace@example.org", 1, True, named=False)
    moved = hooks[1]
    replay(rt, hooks, (0, 2))
    assert len(business_calendar(google, booking_keys(hooks))) == 1  # the replaced booking's event
    control(
        google, "POST", "/_faults", {"kind": "status", "status": 503, "method": "DELETE", "path": "/events/"}
    )
    deliver(rt, moved)
    drain(rt)
    judge(rt, google, hooks, "grace@example.org", None)


# --- a decision overtaken between its calendar write and its links ------------------------------------


@contextmanager
def links_fail_once(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The next links write fails (DynamoDB throttled, or the attempt dies there): the attempt that has
    just written the calendar ends before its links say so, and goes back to its queue."""
    real = Links.put
    failed: list[str] = []

    def put(self: Links, booking_key: str, link: Link, **kwargs: Any) -> bool:
        if not failed:
            failed.append(booking_key)
            raise TargetUnavailable("booking links unavailable: ProvisionedThroughputExceededException")
        return real(self, booking_key, link, **kwargs)

    monkeypatch.setattr(Links, "put", put)
    try:
        yield
    finally:
        monkeypatch.setattr(Links, "put", real)
    assert failed, "no links write failed"


def overtaken(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, first: Captured, meanwhile: list[Captured]
) -> None:
    """``first`` writes the calendar and fails before its links; ``meanwhile`` are processed while it
    waits out its back-off (its leases given back); then its retry, on its saved decision."""
    with links_fail_once(monkeypatch):
        deliver(rt, first)
        assert poller(rt).poll_once() == 1
    waiting = hold_next(rt)
    for hook in meanwhile:
        deliver(rt, hook)
        assert poller(rt).poll_once() == 1
    rt.aws("sqs").change_message_visibility(
        QueueUrl=rt.queue_url, ReceiptHandle=waiting["ReceiptHandle"], VisibilityTimeout=0
    )
    drain(rt)


def test_a_move_overtaken_by_the_next_move_leaves_one_event(
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Booked, moved twice (Calendly). The first move moves the booked event and fails before its links;
    the second, processed meanwhile, finds no event for the booking it replaces and makes one under that
    booking's key. The first move's retry must not leave its moved event beside that one (it did: two
    live events, issue 17's ``gcal.booking x2``)."""
    hooks = calendly_life(rt, sandboxes, "ada@example.org", 2, False)
    replay(rt, hooks, (0, 1))  # booked; the old invitee's "canceled (rescheduled)" is ignored
    overtaken(rt, monkeypatch, hooks[2], [hooks[3], hooks[4]])
    judge(rt, google, hooks, "ada@example.org", "20261216T163000Z")
    replay(rt, hooks, (0, 2, 4))  # re-sent: duplicates, nothing changes
    judge(rt, google, hooks, "ada@example.org", "20261216T163000Z")


def test_a_move_overtaken_by_the_chains_cancel_leaves_no_event(
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Booked, moved twice, cancelled (Calendly: the cancel names the second booking, not the first).
    The first move moves the booked event and fails before its links; the cancel, processed meanwhile,
    finds no event for the bookings it names. The first move's retry must end the chain: delete the
    event it moved and withdraw the invitation the booking's confirmation sent (it kept the event
    live after the cancel)."""
    hooks = calendly_life(rt, sandboxes, "ada@example.org", 2, True)
    replay(rt, hooks, (0, 1))
    overtaken(rt, monkeypatch, hooks[2], [hooks[5]])
    replay(rt, hooks, (3, 4))  # the second move, last: the chain it would move was cancelled
    judge(rt, google, hooks, "ada@example.org", None)


def test_a_move_overtaken_by_a_cancel_that_deleted_its_event_sends_nothing_more(
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Booked, moved, cancelled (Cal.com: the cancel names the booking it replaced). The move fails
    before its links; the cancel deletes the moved event and withdraws the invitation. The move's retry
    must not send its "new time" invitation after that (it did: the invitee's calendar kept it)."""
    hooks = calcom_life(rt, sandboxes, "grace@example.org", 1, True)
    replay(rt, hooks, (0,))
    overtaken(rt, monkeypatch, hooks[1], [hooks[2]])
    judge(rt, google, hooks, "grace@example.org", None)


def test_a_create_overtaken_by_its_cancel_sends_no_confirmation_after_it(
    rt: Runtime,
    google: GoogleCalendarSandbox,
    sandboxes: dict[str, SandboxApp],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The create inserts its event and fails before its link; the cancel, processed meanwhile, deletes
    the event and sends the cancellation. The create's retry must not confirm the booking after that
    (it did: the invitee's calendar ended with the cancelled booking on it)."""
    hooks = calcom_life(rt, sandboxes, "grace@example.org", 0, True)
    overtaken(rt, monkeypatch, hooks[0], [hooks[1]])
    assert business_calendar(google, booking_keys(hooks)) == []
    methods = [ics_of(m)["METHOD"] for m in emails() if m["To"] == "grace@example.org"]
    assert methods == ["CANCEL"]  # the cancel's, for the event it deleted; no invitation after it
    assert not dlq_messages(rt)


# --- an insert whose answer was lost, then a decision taken again -----------------------------------------


@pytest.fixture
def short_reads(make_runtime: Any, sandboxes: dict[str, SandboxApp]) -> Runtime:
    """A late answer (a ``slow`` fault served first) costs 0.2 s instead of the read timeout."""
    made: Runtime = make_runtime(
        "booking_to_calendar", retry_scale=0, http_transport=ShortReads(transport_for(sandboxes), 0.2)
    )
    return made


def lost_insert(
    rt: Runtime, google: GoogleCalendarSandbox, hooks: list[Captured], first: int, meanwhile: list[int]
) -> None:
    """``hooks[first]`` inserts an event and loses Google's answer; ``meanwhile`` are processed while it
    waits out its back-off; then its retry, which decides again."""
    late = {"kind": "slow", "delay_s": 0.5, "serve_first": True, "method": "POST", "path": "/events"}
    control(google, "POST", "/_faults", late)
    deliver(rt, hooks[first])
    assert poller(rt).poll_once() == 1  # the insert's answer is lost: it waits for its retry
    waiting = hold_next(rt)
    assert len(business_calendar(google, booking_keys(hooks))) == 1  # yet Google made the event
    for i in meanwhile:
        deliver(rt, hooks[i])
        assert poller(rt).poll_once() == 1
    rt.aws("sqs").change_message_visibility(
        QueueUrl=rt.queue_url, ReceiptHandle=waiting["ReceiptHandle"], VisibilityTimeout=0
    )
    drain(rt)


def test_an_insert_whose_answer_was_lost_does_not_stay_beside_the_moved_event(
    short_reads: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    """Booked, moved twice (Calendly); the second move comes first. Its replaced booking has no event
    yet, so it inserts one under that booking's key - Google makes it, the answer is lost. Then the
    create and the first move are processed (the booked event moved, the first move's booking linked
    to it), and the second move's retry moves that linked event. The event the lost insert made must
    go (it stayed, at the latest time: two live events, issue 17's R7N240 ``gcal.booking x2``)."""
    hooks = calendly_life(short_reads, sandboxes, "ada@example.org", 2, False)
    lost_insert(short_reads, google, hooks, 4, [0, 1, 2, 3])
    judge(short_reads, google, hooks, "ada@example.org", "20261216T163000Z")


def test_an_insert_whose_answer_was_lost_goes_with_the_chains_cancel(
    short_reads: Runtime, google: GoogleCalendarSandbox, sandboxes: dict[str, SandboxApp]
) -> None:
    """As above, and the booking is cancelled before the second move's retry: the cancel deletes the
    linked event it knows; the retry, finding the chain ended, must still delete the event its lost
    insert made (it kept it: an event after the final cancel)."""
    hooks = calendly_life(short_reads, sandboxes, "ada@example.org", 2, True)
    lost_insert(short_reads, google, hooks, 4, [0, 1, 2, 3, 5])
    judge(short_reads, google, hooks, "ada@example.org", None)
