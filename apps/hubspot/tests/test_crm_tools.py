"""The assistant's CRM tools against the HubSpot stand-in: tasks, meetings, deals, owners, search, score.

Each write is also tried after a lost answer: HubSpot wrote the record, the answer never came (a
timeout), and the retry with the same key must find it instead of writing a second one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.hubspot import APP
from apps.hubspot.actions import (
    COMPLETE_TASK,
    CREATE_DEAL,
    CREATE_TASK,
    EXPLAIN_SCORE,
    GET_OWNER,
    LIST_DEALS,
    LIST_OPEN_TASKS,
    LIST_OWNERS,
    LOG_MEETING,
    MOVE_DEAL_STAGE,
    SEARCH_CONTACTS,
    search_filter_groups,
)
from apps.hubspot.standin import DEFAULT_TOKEN, HubSpotSandbox, SandboxOwner
from sandbox.base import SandboxRequest, as_transport
from shared.actions.crm import (
    CompleteTask,
    CreateDeal,
    CreateTask,
    ExplainScore,
    GetOwner,
    ListDeals,
    ListOpenTasks,
    ListOwners,
    LogMeeting,
    MoveDealStage,
    SearchContacts,
)
from shared.errors import InvalidEvent, RateLimited, TargetRejected, TargetTimeout, TargetUnavailable
from shared.http import ApiClient


class LoseAnswer(httpx.BaseTransport):
    """Passes every request on; the first ``POST`` to ``path`` is done, but its answer is lost."""

    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self.inner, self.path, self.lost = inner, path, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.lost and request.method == "POST" and request.url.path.endswith(self.path):
            self.lost = True
            raise httpx.ReadTimeout("answer lost", request=request)
        return response


class Ctx:
    rt: Any = None

    def __init__(self, sandbox: HubSpotSandbox, lose: str | None = None) -> None:
        transport: httpx.BaseTransport = as_transport(sandbox)
        if lose is not None:
            transport = LoseAnswer(transport, lose)
        self._api = ApiClient(APP, {"token": DEFAULT_TOKEN}, transport=transport)

    def api(self, app: Any, connection: Any) -> ApiClient:
        return self._api


def call(sandbox: HubSpotSandbox, method: str, path: str, body: Any = None) -> Any:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}", "content-type": "application/json"}
    return sandbox.handle(SandboxRequest(method, path, body=raw, headers=headers))


def contact(sandbox: HubSpotSandbox, email: str, **props: str) -> str:
    body = {"inputs": [{"id": email, "idProperty": "email", "properties": {"email": email, **props}}]}
    resp = call(sandbox, "POST", "/crm/v3/objects/contacts/batch/upsert", body)
    assert resp.status == 200, resp.parsed()
    return str(resp.parsed()["results"][0]["id"])


def fault(sandbox: HubSpotSandbox, **spec: Any) -> None:
    assert sandbox.handle(SandboxRequest("POST", "/_faults", body=json.dumps(spec).encode())).status == 201


@pytest.fixture
def hs() -> HubSpotSandbox:
    return HubSpotSandbox()


@pytest.fixture
def jane(hs: HubSpotSandbox) -> str:
    return contact(hs, "jane@thegreencafe.co.uk", firstname="Jane", lastname="Doe", company="The Green Cafe")


def task(contact_id: str, key: str = "task-1", **changes: Any) -> CreateTask:
    fields = {
        "key": key,
        "contact_id": contact_id,
        "subject": "Call back",
        "due": "2026-12-08T10:00:00+00:00",
    }
    return CreateTask.model_validate({**fields, **changes})


# --- tasks ---------------------------------------------------------------------------------------------


def test_a_task_is_created_on_the_contact_and_listed_while_open(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs)
    made = CREATE_TASK(ctx, task(jane, body="About the wedding cake", priority="HIGH", owner_id="41629779"))
    assert made.created
    assert (made.task.subject, made.task.status, made.task.priority) == ("Call back", "NOT_STARTED", "HIGH")
    assert made.task.body == "About the wedding cake"  # the reference line is not shown
    assert made.task.due == datetime(2026, 12, 8, 10, tzinfo=UTC)
    later = CREATE_TASK(ctx, task(jane, key="task-2", subject="Send quote", due="2026-12-09T10:00:00Z"))
    sooner = CREATE_TASK(ctx, task(jane, key="task-3", subject="Text", due="2026-12-07T10:00:00Z"))
    listed = LIST_OPEN_TASKS(ctx, ListOpenTasks(contact_id=jane))
    assert [t.id for t in listed.tasks] == [sooner.task.id, made.task.id, later.task.id]
    stored = hs.state()["tasks"][0]
    assert stored["associations"]["contacts"]["results"][0]["id"] == jane
    assert "Switchboard ref: task-1" in stored["properties"]["hs_task_body"]


def test_the_same_key_after_a_lost_answer_finds_the_task_instead_of_a_second(
    hs: HubSpotSandbox, jane: str
) -> None:
    ctx = Ctx(hs, lose="/crm/v3/objects/tasks")
    with pytest.raises(TargetTimeout):
        CREATE_TASK(ctx, task(jane))
    again = CREATE_TASK(ctx, task(jane))
    assert not again.created
    assert len(hs.state()["tasks"]) == 1
    assert again.task.id == hs.state()["tasks"][0]["id"]


def test_completing_a_task_takes_it_off_the_open_list_and_is_idempotent(
    hs: HubSpotSandbox, jane: str
) -> None:
    ctx = Ctx(hs)
    made = CREATE_TASK(ctx, task(jane))
    done = COMPLETE_TASK(ctx, CompleteTask(task_id=made.task.id))
    assert done.changed and done.task.status == "COMPLETED" and done.task.subject == "Call back"
    assert not COMPLETE_TASK(ctx, CompleteTask(task_id=made.task.id)).changed
    assert LIST_OPEN_TASKS(ctx, ListOpenTasks(contact_id=jane)).tasks == []


def test_hubspots_refusals_are_the_projects_errors(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs)
    with pytest.raises(TargetRejected, match="404"):
        COMPLETE_TASK(ctx, CompleteTask(task_id="999999"))
    with pytest.raises(TargetRejected, match="not a valid owner id"):
        CREATE_TASK(ctx, task(jane, owner_id="12"))
    with pytest.raises(TargetRejected, match=r"404 .*Object not found"):  # the contact's tasks are read first
        CREATE_TASK(ctx, task("424242"))
    fault(hs, kind="status", status=503, count=3, path="/crm/v3/objects/tasks")
    with pytest.raises(TargetUnavailable):
        CREATE_TASK(ctx, task(jane, key="task-9"))
    fault(hs, kind="rate_limit", retry_after=2, count=3)
    with pytest.raises(RateLimited):
        LIST_OPEN_TASKS(ctx, ListOpenTasks(contact_id=jane))


# --- meetings ------------------------------------------------------------------------------------------


def meeting(contact_id: str, key: str = "meet-1") -> LogMeeting:
    return LogMeeting.model_validate(
        {
            "key": key,
            "contact_id": contact_id,
            "title": "Tasting",
            "start": "2026-12-07T14:00:00+00:00",
            "end": "2026-12-07T14:30:00+00:00",
            "body": "Liked the sourdough <b>a lot</b>",
        }
    )


def test_a_meeting_is_logged_once_per_key_even_after_a_lost_answer(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs, lose="/crm/v3/objects/meetings")
    with pytest.raises(TargetTimeout):
        LOG_MEETING(ctx, meeting(jane))
    again = LOG_MEETING(ctx, meeting(jane))
    assert not again.created
    [stored] = hs.state()["meetings"]
    assert stored["id"] == again.id
    props = stored["properties"]
    assert props["hs_meeting_outcome"] == "COMPLETED"
    assert props["hs_meeting_start_time"] == "2026-12-07T14:00:00.000Z"
    assert "&lt;b&gt;" in props["hs_meeting_body"]  # the visitor's markup is escaped
    assert LOG_MEETING(ctx, meeting(jane, key="meet-2")).created


def test_a_meeting_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="end must not be before start"):
        LogMeeting(
            key="k",
            contact_id="1",
            title="t",
            start=datetime(2026, 1, 2, tzinfo=UTC),
            end=datetime(2026, 1, 1, tzinfo=UTC),
        )


# --- deals ---------------------------------------------------------------------------------------------


def deal(contact_id: str, key: str = "deal-1", **changes: Any) -> CreateDeal:
    return CreateDeal.model_validate(
        {"key": key, "contact_id": contact_id, "name": "Weekly bread", **changes}
    )


def test_a_deal_starts_in_the_pipelines_first_stage_and_moves_by_label(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs)
    made = CREATE_DEAL(ctx, deal(jane, amount="1250.50", close_date="2027-01-31"))
    assert made.created
    assert (made.deal.pipeline, made.deal.stage, made.deal.stage_label) == (
        "default",
        "appointmentscheduled",
        "Appointment Scheduled",
    )
    assert made.deal.amount == Decimal("1250.50")
    moved = MOVE_DEAL_STAGE(ctx, MoveDealStage(deal_id=made.deal.id, stage="contract sent"))
    assert moved.changed and moved.deal.stage == "contractsent" and moved.deal.name == "Weekly bread"
    assert not MOVE_DEAL_STAGE(ctx, MoveDealStage(deal_id=made.deal.id, stage="contractsent")).changed


def test_stages_are_checked_against_the_deals_own_pipeline(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs)
    made = CREATE_DEAL(ctx, deal(jane, pipeline="Wholesale", stage="Tasting booked"))
    assert (made.deal.pipeline, made.deal.stage) == ("751234567", "1102345678")
    with pytest.raises(InvalidEvent, match="has no stage 'closedwon'; its stages: Tasting booked"):
        MOVE_DEAL_STAGE(ctx, MoveDealStage(deal_id=made.deal.id, stage="closedwon"))
    with pytest.raises(InvalidEvent, match="no deal pipeline 'Retail'; the portal has: Sales Pipeline"):
        CREATE_DEAL(ctx, deal(jane, key="deal-2", pipeline="Retail"))
    assert len(hs.state()["deals"]) == 1


def test_the_stand_in_refuses_a_stage_of_another_pipeline_as_hubspot_does(
    hs: HubSpotSandbox, jane: str
) -> None:
    body = {"properties": {"dealname": "x", "pipeline": "default", "dealstage": "1102345678"}}
    resp = call(hs, "POST", "/crm/v3/objects/deals", body)
    assert resp.status == 400 and "not a valid stage" in resp.parsed()["message"]


def test_a_deal_is_created_once_per_key_after_a_lost_answer(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs, lose="/crm/v3/objects/deals")
    with pytest.raises(TargetTimeout):
        CREATE_DEAL(ctx, deal(jane))
    again = CREATE_DEAL(ctx, deal(jane))
    assert not again.created and again.deal.name == "Weekly bread"
    assert len(hs.state()["deals"]) == 1


def test_deals_are_listed_a_page_at_a_time_all_or_a_contacts(hs: HubSpotSandbox, jane: str) -> None:
    ctx = Ctx(hs)
    other = contact(hs, "sam@example.org")
    for n in range(5):
        CREATE_DEAL(ctx, deal(jane, key=f"d{n}", name=f"Deal {n}"))
    CREATE_DEAL(ctx, deal(other, key="o1", name="Other"))
    names: list[str] = []
    after: str | None = None
    while True:
        page = LIST_DEALS(ctx, ListDeals(limit=2, after=after))
        names += [d.name or "" for d in page.deals]
        after = page.next_after
        if after is None:
            break
    assert names == [f"Deal {n}" for n in range(5)] + ["Other"]
    first = LIST_DEALS(ctx, ListDeals(contact_id=jane, limit=3))
    rest = LIST_DEALS(ctx, ListDeals(contact_id=jane, limit=3, after=first.next_after))
    assert [d.name for d in first.deals + rest.deals] == [f"Deal {n}" for n in range(5)]
    assert rest.next_after is None
    assert first.deals[0].stage_label == "Appointment Scheduled"


# --- owners --------------------------------------------------------------------------------------------


def test_owners_are_listed_by_page_and_read_by_id() -> None:
    reps = [SandboxOwner(f"5000{n}", f"rep{n}@example.com", "Rep", str(n), 700 + n) for n in range(3)]
    hs = HubSpotSandbox(owners=reps)
    ctx = Ctx(hs)
    first = LIST_OWNERS(ctx, ListOwners(limit=2))
    rest = LIST_OWNERS(ctx, ListOwners(limit=2, after=first.next_after))
    assert [o.id for o in first.owners + rest.owners] == ["50000", "50001", "50002"]
    assert rest.next_after is None
    assert [o.id for o in LIST_OWNERS(ctx, ListOwners(email="REP1@example.com")).owners] == ["50001"]
    found = GET_OWNER(ctx, GetOwner(owner_id="50002"))
    assert found.found and found.owner is not None and found.owner.email == "rep2@example.com"
    assert GET_OWNER(ctx, GetOwner(owner_id="1")).found is False


# --- search --------------------------------------------------------------------------------------------


def test_contacts_are_found_by_name_prefix_company_or_email_domain(hs: HubSpotSandbox, jane: str) -> None:
    sam = contact(hs, "sam@thegreencafe.co.uk", firstname="Sam", lastname="Janssen", company="The Green Cafe")
    contact(hs, "ann@bigcorp.example", firstname="Ann", lastname="Smith", company="Big Corp")
    ctx = Ctx(hs)
    hs.limiter.enforce = False  # more than search's 5 a second (tests/sandbox/test_limits.py checks it)

    def ids(**by: Any) -> list[str]:
        return [c.id for c in SEARCH_CONTACTS(ctx, SearchContacts(**by)).contacts]

    assert ids(name="jan") == [jane, sam]  # Jane's first name, Janssen's last
    assert ids(name="Doe Jane") == [jane]  # either order
    assert ids(company="green cafe") == [jane, sam]
    assert ids(email_domain="@TheGreenCafe.co.uk") == [jane, sam]
    assert ids(name="sam", company="green") == [sam]
    assert ids(company="nowhere") == []
    page = SEARCH_CONTACTS(ctx, SearchContacts(email_domain="thegreencafe.co.uk", limit=1))
    assert page.total == 2 and page.next_after is not None
    nxt = SEARCH_CONTACTS(
        ctx, SearchContacts(email_domain="thegreencafe.co.uk", limit=1, after=page.next_after)
    )
    assert [c.id for c in nxt.contacts] == [sam] and nxt.next_after is None
    assert page.contacts[0].company == "The Green Cafe"


def test_search_filter_groups_stay_within_hubspots_limits() -> None:
    groups = search_filter_groups(SearchContacts(name="a b c d", company="w x y z", email_domain="e.co"))
    assert len(groups) <= 5 and all(len(g) <= 6 for g in groups) and sum(map(len, groups)) <= 18
    with pytest.raises(ValueError, match="give a name, a company or an email_domain"):
        SearchContacts()


# --- the lead score ------------------------------------------------------------------------------------


def test_a_contacts_score_is_explained_by_the_projects_rules(hs: HubSpotSandbox) -> None:
    cid = contact(
        hs,
        "orders@thegreencafe.co.uk",
        industry="Restaurants",
        lead_source="tally",
        utm_medium="cpc",
        switchboard_lead_score="45",
    )
    out = EXPLAIN_SCORE(Ctx(hs), ExplainScore(contact_id=cid))
    labels = [r.label for r in out.reasons]
    assert labels == ["industry restaurants", "source tally", "utm_medium cpc"]
    assert out.score == 35 == sum(r.points for r in out.reasons)
    assert out.stored_score == "45"
    assert out.reason == "+20 industry restaurants; +5 source tally; +10 utm_medium cpc"


def test_given_signals_are_scored_without_calling_hubspot() -> None:
    from functions.lead_enrichment.scoring import Signals, score

    hs = HubSpotSandbox()
    out = EXPLAIN_SCORE(
        Ctx(hs),
        ExplainScore(
            email="x@mailinator.com", message="We need catering and SEO backlinks", company_size="51-200"
        ),
    )
    expected = score(
        Signals(
            email="disposable", source="", message="We need catering and SEO backlinks", company_size="51-200"
        )
    )
    assert (out.score, out.total) == (expected.score, expected.total)
    assert out.reason == expected.reason
    assert out.signals["email"] == "disposable"
    assert hs.handle(SandboxRequest("GET", "/_requests")).parsed()["requests"] == []
    with pytest.raises(ValueError, match="one of the two"):
        ExplainScore(contact_id="1", email="a@b.co")
