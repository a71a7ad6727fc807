"""The action catalogue: one declaration per target operation, used by handlers and AI tools alike."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from apps import google_calendar
from apps.google_calendar import actions as google_actions
from apps.hubspot import actions as hubspot_actions
from apps.quickbooks import actions as quickbooks_actions
from apps.square import actions as square_actions
from sandbox.base import SandboxRequest
from shared.actions import (
    Action,
    accounting,
    calendar,
    catalogue,
    crm,
    function_schemas,
    get,
    payments,
    stock,
)
from shared.actions import email as email_actions
from shared.app import App
from shared.clients import api_client
from shared.errors import TargetRejected
from shared.http import ApiClient
from shared.runtime import Runtime
from shared.spec import Connection

REPO = Path(__file__).resolve().parents[2]
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")  # what OpenAI and Anthropic accept


class Ctx:
    """The smallest ActionContext: a runtime and its app clients."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def api(self, app: App, connection: Connection) -> ApiClient:
        return api_client(self.rt, app, connection)


def test_every_action_is_declared_once_with_models_and_one_line() -> None:
    actions = catalogue()
    names = [a.name for a in actions]
    assert len(names) == len(set(names)) and names == sorted(names)
    assert {"crm.upsert_contact", "slack.post_message", "email.send", "stock.get"} <= set(names)
    for action in actions:
        assert isinstance(action, Action)
        assert issubclass(action.input, BaseModel) and issubclass(action.output, BaseModel)
        assert action.description and "\n" not in action.description and len(action.description) <= 120
        assert TOOL_NAME.match(action.tool_name)
        assert get(action.name) is action is get(action.tool_name)


def test_function_schemas_hide_what_the_deployment_decides() -> None:
    schemas = {s["name"]: s for s in function_schemas()}
    assert set(schemas) == {a.tool_name for a in catalogue()}
    assert "from_address" not in schemas["email_send"]["parameters"]["properties"]
    assert "location_ids" not in schemas["stock_get"]["parameters"]["properties"]
    assert schemas["stock_get"]["parameters"]["required"] == ["skus"]
    # The QuickBooks account, currency and fallback item, the calendar and Google's own emails, the
    # Square locations: the company's decisions, never a model's.
    for name in ("accounting_record_sale", "accounting_record_refund"):
        params = schemas[name]["parameters"]
        assert not {"deposit_account", "currency", "default_item"} & set(params["properties"])
        assert params["required"] == ["key", "date", "lines"]  # the key is QuickBooks' requestid
    for name in ("calendar_create_event", "calendar_move_event", "calendar_cancel_event"):
        assert not {"calendar_id", "notify"} & set(schemas[name]["parameters"]["properties"])
    assert schemas["calendar_create_event"]["parameters"]["required"] == [
        "key",
        "summary",
        "start",
        "end",
    ]
    assert "location_ids" not in schemas["payments_list"]["parameters"]["properties"]
    for schema in schemas.values():
        assert schema["parameters"]["type"] == "object"


def test_a_misdeclared_action_fails_at_import() -> None:
    with pytest.raises(ValueError, match=r"<domain>\.<verb>"):
        Action(
            name="upsert",
            description="x",
            input=crm.UpsertContact,
            output=crm.ContactRef,
            app="h",
            connections=(),
            run=lambda c, d: crm.ContactRef(id="1"),
        )
    with pytest.raises(ValueError, match="config names fields"):
        Action(
            name="a.b",
            description="x",
            input=crm.UpsertContact,
            output=crm.ContactRef,
            app="h",
            connections=(),
            run=lambda c, d: crm.ContactRef(id="1"),
            config={"nope": "x"},
        )


def test_inputs_are_validated_before_any_call() -> None:
    with pytest.raises(ValidationError):
        crm.UpsertContact(email="not-an-email")
    with pytest.raises(ValidationError):
        stock.StockQuery(skus=["bad sku!"], location_ids=["L1"])
    with pytest.raises(TypeError, match="takes UpsertContact"):
        hubspot_actions.UPSERT_CONTACT(Ctx.__new__(Ctx), crm.ContactRef(id="1"))  # type: ignore[arg-type]


def test_upsert_maps_typed_fields_onto_hubspot_and_never_duplicates(make_runtime: Any, hubspot: Any) -> None:
    ctx = Ctx(make_runtime("website_to_crm"))
    data = crm.UpsertContact(
        email="ada@example.org", first_name="Ada", utm_source="news", properties={"jobtitle": "CEO"}
    )
    assert hubspot_actions.contact_properties(data) == {
        "email": "ada@example.org",
        "firstname": "Ada",
        "utm_source": "news",
        "jobtitle": "CEO",
    }
    first = hubspot_actions.UPSERT_CONTACT(ctx, data)
    again = hubspot_actions.UPSERT_CONTACT(ctx, data)
    assert first.is_new and not again.is_new and first.id == again.id
    found = hubspot_actions.FIND_CONTACT(
        ctx, crm.FindContact(email="ADA@example.org", properties=["jobtitle"])
    )
    assert found.found and found.id == first.id and found.properties["jobtitle"] == "CEO"
    assert not hubspot_actions.FIND_CONTACT(ctx, crm.FindContact(email="nobody@example.org")).found


def test_stock_counts_whole_units_at_the_locations(make_runtime: Any) -> None:
    ctx = Ctx(make_runtime("stock_level"))
    answer = square_actions.GET_STOCK(
        ctx,
        stock.StockQuery(skus=["LOAF-SOURDOUGH", "NOPE-1"], location_ids=["L8M2Q9ZB3XW1P", "LQ7T4N1V6K2RD"]),
    )
    sourdough, nope = answer.items
    assert sourdough.found and sourdough.available == 18 and sourdough.updated_at
    assert not nope.found and nope.available == 0


def test_the_handlers_call_targets_through_actions_only() -> None:
    """Nothing is declared twice: no handler builds an app client or sends email itself."""
    direct = re.compile(
        r"HubSpotClient\(|SlackClient\(|SquareClient\(|PeopleDataLabsClient\(|QuickBooksClient\("
        r"|GoogleCalendarClient\(|send_email\("
    )
    for name in (
        "website_to_crm",
        "new_lead_notify",
        "lead_enrichment",
        "stock_level",
        "pos_to_accounting",
        "booking_to_calendar",
        "daily_sales_report",
    ):
        for path in (REPO / "functions" / name).glob("*.py"):
            if path.name in ("worker.py", "routes.py", "lookup.py"):
                assert not direct.search(path.read_text()), f"{path} calls a client directly"


def test_a_sale_is_booked_once_per_key_with_exact_amounts(make_runtime: Any, sandboxes: Any) -> None:
    ctx = Ctx(make_runtime("pos_to_accounting"))
    sale = accounting.RecordReceipt(
        key="manual:sale:0001",
        date="2026-11-20",
        lines=[
            {"amount": "7.00", "description": "Sourdough loaf", "quantity": 2, "unit_price": "3.50"},
            {"amount": "0.99", "description": "Bag", "tax_code": "4"},
        ],
        deposit_account="36",
        currency="GBP",
        default_item="19",
    )
    first = quickbooks_actions.RECORD_SALE(ctx, sale)
    again = quickbooks_actions.RECORD_SALE(ctx, sale)
    assert first == again and first.total == Decimal("7.99")
    [body] = sandboxes["quickbooks"].receipts_of("salesreceipt")
    assert body["DepositToAccountRef"]["value"] == "36" and body["CurrencyRef"]["value"] == "GBP"
    assert body["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == "19"  # the configured item


def test_receipt_lines_must_add_up_before_quickbooks_sees_them() -> None:
    with pytest.raises(ValidationError, match="quantity x unit_price"):
        accounting.ReceiptLine(amount="7.01", quantity=2, unit_price="3.50")
    with pytest.raises(ValidationError, match="together"):
        accounting.ReceiptLine(amount="7.00", quantity=2)
    with pytest.raises(ValidationError):  # more places than any currency has
        accounting.ReceiptLine(amount="0.00001")


def test_creating_an_event_twice_under_one_key_makes_one_event(make_runtime: Any, sandboxes: Any) -> None:
    ctx = Ctx(make_runtime("booking_to_calendar"))
    event = calendar.CreateEvent(
        calendar_id="primary",
        notify="none",
        key="5f0c3a9e-2b7d-4e1f-8a6b-0c2d4e6f8a0b",  # the caller's own name for it, e.g. a UUID
        summary="Cake tasting - Ada",
        start=datetime(2026, 12, 14, 10, 0, tzinfo=UTC),
        end=datetime(2026, 12, 14, 10, 30, tzinfo=UTC),
        time_zone="Europe/London",
        attendees=[{"email": "ada@example.org", "name": "Ada"}],
    )
    first = google_actions.CREATE_EVENT(ctx, event)
    again = google_actions.CREATE_EVENT(ctx, event)
    assert first.created and not again.created and again.event.event_id == first.event.event_id
    # Google's client-chosen id, derived from the key as booking_to_calendar's events always were.
    assert first.event.event_id == google_calendar.event_id(event.key)
    assert len(sandboxes["google_calendar"].events()) == 1
    moved = google_actions.MOVE_EVENT(
        ctx,
        calendar.MoveEvent(
            calendar_id="primary",
            notify="none",
            key=event.key,
            start=datetime(2026, 12, 15, 9, 0, tzinfo=UTC),
            end=datetime(2026, 12, 15, 9, 30, tzinfo=UTC),
        ),
    )
    assert moved.found and moved.event is not None and moved.event.summary == "Cake tasting - Ada"
    [stored] = sandboxes["google_calendar"].events()
    assert stored["start"]["dateTime"] == "2026-12-15T09:00:00Z"
    ref = {"calendar_id": "primary", "notify": "none", "event_id": first.event.event_id}
    assert google_actions.CANCEL_EVENT(ctx, calendar.CancelEvent(**ref)).deleted
    assert not google_actions.CANCEL_EVENT(ctx, calendar.CancelEvent(**ref)).deleted
    with pytest.raises(ValidationError):  # naive times: which zone was meant decides the meeting
        calendar.CreateEvent(**{**event.model_dump(), "start": datetime(2026, 12, 14, 10, 0)})
    with pytest.raises(ValidationError):  # an event is named by its id or by its key, not both
        calendar.CancelEvent(**ref, key=event.key)
    with pytest.raises(ValidationError):
        calendar.CreateEvent(**{**event.model_dump(), "key": ""})
    # An id Google's rule refuses is refused before any call, as Google would refuse it.
    with pytest.raises(TargetRejected, match="not a Google Calendar event id"):
        google_actions.CREATE_EVENT(
            ctx, calendar.CreateEvent(**{**event.model_dump(), "event_id": "Not-An-Id"})
        )
    assert len(sandboxes["google_calendar"].events(include_deleted=True)) == 1  # nothing new inserted


def test_the_domain_says_whom_the_calendar_notifies_and_google_hears_its_words(
    make_runtime: Any, sandboxes: Any
) -> None:
    ctx = Ctx(make_runtime("booking_to_calendar"))
    base = {
        "calendar_id": "primary",
        "summary": "Fitting",
        "start": datetime(2026, 12, 14, 10, 0, tzinfo=UTC),
        "end": datetime(2026, 12, 14, 10, 30, tzinfo=UTC),
    }
    # Settings written in Google's word (google_send_updates: externalOnly) mean "external".
    assert calendar.CreateEvent(**base, key="k0", notify="externalOnly").notify == "external"
    for notify, google in (("all", "all"), ("external", "externalOnly"), ("none", "none")):
        google_actions.CREATE_EVENT(ctx, calendar.CreateEvent(**base, key=f"k-{notify}", notify=notify))
        listed = sandboxes["google_calendar"].handle(SandboxRequest(method="GET", path="/_requests"))
        inserts = [r for r in listed.parsed()["requests"] if r["method"] == "POST"]
        assert inserts[-1]["query"]["sendUpdates"] == [google]


def test_payments_list_reads_the_locations_and_drops_personal_data(make_runtime: Any) -> None:
    ctx = Ctx(make_runtime("daily_sales_report"))
    with pytest.raises(ValidationError, match="31 days"):
        payments.ListPayments(
            begin_time=datetime(2026, 1, 1, tzinfo=UTC),
            end_time=datetime(2026, 3, 1, tzinfo=UTC),
            location_ids=["L1"],
        )
    listed = square_actions.LIST_PAYMENTS(
        ctx,
        payments.ListPayments(
            begin_time=datetime(2026, 11, 1, tzinfo=UTC),
            end_time=datetime(2026, 12, 1, tzinfo=UTC),
            location_ids=["L8M2Q9ZB3XW1P"],
        ),
    )
    # The domain's payment has no place for what identifies a person; none of Square's leaks through.
    personal = {"buyer_email_address", "note", "card_details", "cardholder_name", "fingerprint", "bin"}
    assert not personal & (set(payments.Payment.model_fields) | set(payments.Refund.model_fields))
    text = listed.model_dump_json()
    assert listed.payments and listed.refunds and "fingerprint" not in text and "sq-1-" not in text
    assert all(p.location_id == "L8M2Q9ZB3XW1P" for p in listed.payments)
    assert all(r.location_id == "L8M2Q9ZB3XW1P" for r in listed.refunds)


def test_email_attachments_are_text_with_a_plain_content_type() -> None:
    base = {"from_address": "a@example.org", "to": "b@example.org", "subject": "s", "text": "t"}
    ok = email_actions.SendEmail(
        **base,
        attachments=[
            {
                "filename": "invite.ics",
                "content_type": "text/calendar; charset=UTF-8; method=REQUEST",
                "text": "x",
            }
        ],
    )
    assert ok.attachments[0].filename == "invite.ics"
    with pytest.raises(ValidationError):  # a header cannot be smuggled in through the type
        email_actions.SendEmail(
            **base,
            attachments=[{"filename": "a.txt", "content_type": "text/plain\r\nBcc: x@y.z", "text": "x"}],
        )
    with pytest.raises(ValidationError):
        email_actions.SendEmail(**base, attachments=[{"filename": "../etc/passwd", "text": "x"}])


def test_only_deleting_or_overwriting_actions_are_marked_destructive() -> None:
    from shared.actions import catalogue

    destructive = {a.name for a in catalogue() if a.destructive}
    assert destructive == {"calendar.cancel_event", "calendar.set_attendees"}
    assert all(a.effect for a in catalogue() if a.destructive)


def test_domain_contracts_name_no_provider() -> None:
    """A domain module of the catalogue is the contract flows speak to: it imports no app package,
    so replacing the provider that performs an action changes no flow (apps implement, not define)."""
    for path in sorted((REPO / "shared" / "actions").glob("*.py")):
        if path.name == "__init__.py":
            continue  # the catalogue discovers apps/<app>/actions.py at call time
        text = path.read_text()
        assert not re.search(r"^\s*(from apps\b|import apps\b)", text, re.MULTILINE), f"{path} imports an app"
