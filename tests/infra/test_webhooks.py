"""``switchboard webhooks register|list|remove`` against the providers' stand-ins, in-process.

AWS is moto (the stage ``test``'s secrets, as the specs declare them; the operator-only provider keys,
which no stage keeps, are in the environment as an operator would give them), the providers are the
stand-ins answering through an httpx mock transport, and a delivery the stand-in makes goes through the real
ingress path (``shared.entry.dispatch``) of a runtime on the same moto - so "accepted" is the verifier
checking the provider's own signature against the secret ``register`` stored. The whole loop with a
running local runtime and the CLI is in ``tests/e2e/test_webhooks_register.py``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from infra.local.gateway import api_gateway_event
from infra.local.resources import sandbox_secret_value
from infra.ops import webhooks
from infra.ops.target import CliError, Target, connections, operator_connections, operator_env
from sandbox.base import SandboxApp, SandboxRequest, transport_for
from sandbox.sender import Subscription
from shared.entry import dispatch
from shared.registry import load_spec
from shared.runtime import Runtime
from shared.spec import WebhookTrigger
from shared.subscriptions import label_for

BASE = "https://hooks.bramble-bakery.example"
REGION = "us-east-1"
SANDBOX_URL = "http://sandbox.test/_sandbox"


@dataclass(frozen=True)
class Case:
    integration: str
    trigger: str
    #: Makes the provider send one event of the trigger's types (a payment, a charge, a booking).
    act: Callable[[SandboxApp], None]


def _square_payment(app: SandboxApp) -> None:
    from apps.square.standin import DEFAULT_TOKEN

    body = {
        "source_id": "cnon:ok",
        "idempotency_key": "p-1",
        "amount_money": {"amount": 450, "currency": "GBP"},
    }
    req = SandboxRequest(
        "POST",
        "/v2/payments",
        headers={"authorization": f"Bearer {DEFAULT_TOKEN}"},
        body=json.dumps(body).encode(),
    )
    assert app.handle(req).status == 200


def _stripe_charge(app: SandboxApp) -> None:
    from apps.stripe.standin import DEFAULT_SECRET_KEY

    req = SandboxRequest(
        "POST",
        "/v1/charges",
        headers={"authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
        body=b"amount=1200&currency=gbp&source=tok_visa",
    )
    assert app.handle(req).status == 200


def _booking(app: SandboxApp) -> None:
    body = {"name": "Ada Lovelace", "email": "ada@example.org", "start_time": "2026-12-14T10:00:00Z"}
    assert app.handle(SandboxRequest("POST", "/_bookings", body=json.dumps(body).encode())).status == 201


CASES = {
    "square": Case("pos_to_accounting", "square", _square_payment),
    "stripe": Case("pos_to_accounting", "stripe", _stripe_charge),
    "calendly": Case("booking_to_calendar", "calendly", _booking),
    "calcom": Case("booking_to_calendar", "calcom", _booking),
}


@pytest.fixture(autouse=True)
def operator_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The stand-ins' sample keys as the operator gives real ones: ``STRIPE_API_KEY``, and
    ``STRIPE_BASE_URL`` pointing at the stand-in."""
    given = {}
    for conn in operator_connections().values():
        for field, value in json.loads(sandbox_secret_value(dict(conn.local), SANDBOX_URL)).items():
            given[operator_env(conn, field)] = value
            monkeypatch.setenv(operator_env(conn, field), value)
    return given


@pytest.fixture
def target(resources: Any) -> Target:
    return Target(stage=resources.stage, region=REGION)


@pytest.fixture
def transport(sandboxes: dict[str, SandboxApp]) -> httpx.MockTransport:
    return transport_for(sandboxes)


def trigger_of(case: Case) -> WebhookTrigger:
    found = load_spec(case.integration).trigger(case.trigger)
    assert isinstance(found, WebhookTrigger)
    return found


def url_of(case: Case, base: str = BASE) -> str:
    return base + trigger_of(case).path


def secret_value(target: Target, connection: str) -> dict[str, str]:
    """A signing connection's stored value: its SSM SecureString parameter, decrypted."""
    conn = connections()[connection][0]
    found = target.client("ssm").get_parameter(Name=target.stored_name(conn), WithDecryption=True)[
        "Parameter"
    ]
    assert found["Type"] == "SecureString"
    value: dict[str, str] = json.loads(found["Value"])
    return value


def provider_subs(app: SandboxApp) -> list[Subscription]:
    assert app.webhooks is not None
    return list(app.webhooks.subscriptions)


def run(
    command: Callable[..., Any], target: Target, case: Case, transport: httpx.MockTransport, **kw: Any
) -> str:
    out = io.StringIO()
    command(
        target, load_spec(case.integration), out, base_url=kw.pop("base", BASE), transport=transport, **kw
    )
    return out.getvalue()


def into(rt: Runtime) -> Callable[[str, Mapping[str, str], bytes], int]:
    """A stand-in delivery, through the runtime's ingress as API Gateway would hand it over."""

    def deliver(url: str, headers: Mapping[str, str], body: bytes) -> int:
        parts = urlsplit(url)
        event = api_gateway_event(
            method="POST",
            path=parts.path,
            query=parts.query,
            headers={
                **{k.lower(): v for k, v in headers.items()},
                "host": parts.netloc,
                "x-forwarded-proto": parts.scheme,
            },
            body=body,
            route_key=f"POST {parts.path}",
        )
        return int(dispatch(rt, event)["statusCode"])

    return deliver


# --- register ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("app", sorted(CASES))
def test_register_creates_the_subscription_and_stores_the_secret_the_provider_signs_with(
    app: str, target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, stand_in = CASES[app], sandboxes[app]
    trigger = trigger_of(case)

    printed = run(webhooks.register, target, case, transport)

    (sub,) = provider_subs(stand_in)
    assert sub.url == url_of(case) and set(sub.events or ()) == set(trigger.events) and sub.enabled
    stored = secret_value(target, trigger.secret.name)
    assert stored["secret"] == sub.secret and len(sub.secret) >= 22
    assert stored["secret"] not in printed  # never printed
    assert f"created {sub.id}" in printed


@pytest.mark.parametrize("app", sorted(CASES))
def test_register_again_reuses_the_subscription_and_creates_no_duplicate(
    app: str, target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case = CASES[app]
    run(webhooks.register, target, case, transport)
    (first,) = provider_subs(sandboxes[app])
    stored = secret_value(target, trigger_of(case).secret.name)

    printed = run(webhooks.register, target, case, transport)

    (again,) = provider_subs(sandboxes[app])
    assert (again.id, again.secret) == (first.id, first.secret)
    assert secret_value(target, trigger_of(case).secret.name) == stored
    assert f"found {first.id}" in printed and "is kept" in printed


@pytest.mark.parametrize("app", sorted(CASES))
def test_an_event_made_at_the_provider_after_registering_is_accepted(
    app: str,
    target: Target,
    sandboxes: dict[str, SandboxApp],
    transport: httpx.MockTransport,
    make_runtime: Any,
) -> None:
    case, stand_in = CASES[app], sandboxes[app]
    run(webhooks.register, target, case, transport)
    (sub,) = provider_subs(stand_in)
    sub.deliver = into(make_runtime(case.integration))

    case.act(stand_in)

    assert stand_in.webhooks is not None
    statuses = [d.status for d in stand_in.webhooks.deliveries]
    assert statuses and set(statuses) == {202}, statuses


@pytest.mark.parametrize("app", sorted(CASES))
def test_rotate_gives_a_new_secret_and_the_previous_one_stays_valid(
    app: str,
    target: Target,
    sandboxes: dict[str, SandboxApp],
    transport: httpx.MockTransport,
    make_runtime: Any,
) -> None:
    case, stand_in = CASES[app], sandboxes[app]
    trigger = trigger_of(case)
    run(webhooks.register, target, case, transport)
    old = secret_value(target, trigger.secret.name)["secret"]

    printed = run(webhooks.register, target, case, transport, rotate=True)

    (sub,) = provider_subs(stand_in)  # a replaced one (Stripe, Calendly) is gone
    stored = secret_value(target, trigger.secret.name)
    assert stored["secret"] == sub.secret != old and stored["previous_secret"] == old
    assert "previous_secret=" in printed  # how to drop it later
    rt = make_runtime(case.integration)
    sub.deliver = into(rt)
    case.act(stand_in)  # signed with the new secret
    assert stand_in.webhooks is not None and {d.status for d in stand_in.webhooks.deliveries} == {202}
    for key in (old, sub.secret):  # a delivery still signed with the old key is accepted too
        last = stand_in.webhooks.deliveries[-1]
        headers = trigger.verifier.sign(
            method="POST", url=sub.url, body=last.body, secret=key, now=_now(), msg_id="m"
        )
        assert into(rt)(sub.url, {"content-type": "application/json", **headers}, last.body) == 202, key


def _now() -> float:
    import time

    return time.time()


def test_square_pins_the_registered_url_so_a_proxy_in_front_changes_nothing(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport, make_runtime: Any
) -> None:
    case = CASES["square"]
    printed = run(webhooks.register, target, case, transport)
    assert secret_value(target, "square_signing")["notification_url"] == url_of(case)
    assert "notification URL pinned in square_signing" in printed
    (sub,) = provider_subs(sandboxes["square"])
    rt = make_runtime(case.integration)

    def behind_a_proxy(url: str, headers: Mapping[str, str], body: bytes) -> int:
        # The proxy forwards to the API's own host: Host is not the registered one any more.
        return into(rt)(
            "https://abc123.execute-api.eu-west-2.amazonaws.com" + urlsplit(url).path, headers, body
        )

    sub.deliver = behind_a_proxy
    case.act(sandboxes["square"])
    assert sandboxes["square"].webhooks is not None
    assert {d.status for d in sandboxes["square"].webhooks.deliveries} == {202}


def test_a_subscription_made_by_hand_for_the_url_is_adopted_with_its_events_fixed(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, square = CASES["square"], sandboxes["square"]
    stored = secret_value(target, "square_signing")["secret"]
    assert square.webhooks is not None
    by_hand = square.webhooks.subscribe(
        url_of(case), stored, events=("payment.created",)
    )  # as in a dashboard

    printed = run(webhooks.register, target, case, transport)

    (sub,) = provider_subs(square)
    assert sub.id == by_hand.id and set(sub.events or ()) == set(trigger_of(case).events)
    assert sub.fields["name"] == label_for("test", "pos_to_accounting", "square")
    assert secret_value(target, "square_signing")["secret"] == stored == sub.secret
    assert f"updated {sub.id}" in printed


def test_a_subscription_found_without_a_stored_secret_gets_a_new_key(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, square = CASES["square"], sandboxes["square"]
    target.client("ssm").put_parameter(
        Name=target.parameter_prefix + "square_signing",
        Value=json.dumps({}),
        Type="SecureString",
        Overwrite=True,
    )
    assert square.webhooks is not None
    square.webhooks.subscribe(url_of(case), "a key nobody copied", events=trigger_of(case).events)

    run(webhooks.register, target, case, transport)

    (sub,) = provider_subs(square)
    assert sub.secret != "a key nobody copied"
    assert secret_value(target, "square_signing")["secret"] == sub.secret


def test_calcom_reports_its_secret_and_register_adopts_it(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, calcom = CASES["calcom"], sandboxes["calcom"]
    assert calcom.webhooks is not None
    calcom.webhooks.subscribe(url_of(case), "typed-in-the-dashboard", events=trigger_of(case).events)
    old = secret_value(target, "calcom_signing")["secret"]

    printed = run(webhooks.register, target, case, transport)

    stored = secret_value(target, "calcom_signing")
    assert stored == {**stored, "secret": "typed-in-the-dashboard", "previous_secret": old}
    assert "signs with a secret other than the stored one" in printed


def test_calendly_cannot_change_events_so_the_subscription_is_replaced_with_the_same_key(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, calendly = CASES["calendly"], sandboxes["calendly"]
    stored = secret_value(target, "calendly_signing")["secret"]
    assert calendly.webhooks is not None
    by_hand = calendly.webhooks.subscribe(url_of(case), stored, events=("invitee.created",))

    printed = run(webhooks.register, target, case, transport)

    (sub,) = provider_subs(calendly)
    assert sub.id != by_hand.id and set(sub.events or ()) == set(trigger_of(case).events)
    assert sub.secret == stored == secret_value(target, "calendly_signing")["secret"]
    assert "cannot change one" in printed


def test_square_subscription_at_an_older_url_is_replaced(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case = CASES["square"]
    run(webhooks.register, target, case, transport, base="https://old.bramble-bakery.example")
    (old,) = provider_subs(sandboxes["square"])

    printed = run(webhooks.register, target, case, transport)

    (new,) = provider_subs(sandboxes["square"])
    assert new.url == url_of(case) and new.id != old.id
    assert f"deleted {old.id}" in printed
    assert secret_value(target, "square_signing")["notification_url"] == url_of(case)


def test_no_stage_keeps_the_operator_only_keys(target: Target) -> None:
    assert sorted(operator_connections()) == ["calcom", "calendly", "stripe"]
    names = {s["Name"] for s in target.client("secretsmanager").list_secrets(MaxResults=100)["SecretList"]}
    assert target.secret_name("square") in names  # the worker's token: register uses it too
    assert not {target.secret_name(n) for n in operator_connections()} & names


def test_without_the_operator_key_the_error_names_the_variable_to_set(
    target: Target, transport: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STRIPE_API_KEY")
    with pytest.raises(CliError) as caught:
        run(webhooks.register, target, CASES["stripe"], transport)
    message = str(caught.value)
    assert "needs the stripe connection's api_key, which Switchboard does not store" in message
    assert "set STRIPE_API_KEY" in message and "run the command in a terminal to be asked" in message
    assert "secrets set" not in message


def test_without_the_operator_key_a_terminal_is_asked_for_it(
    target: Target,
    transport: httpx.MockTransport,
    sandboxes: dict[str, SandboxApp],
    monkeypatch: pytest.MonkeyPatch,
    operator_keys: dict[str, str],
) -> None:
    monkeypatch.delenv("CALENDLY_TOKEN")
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return operator_keys["CALENDLY_TOKEN"]

    out = io.StringIO()
    webhooks.register(
        target, load_spec("booking_to_calendar"), out, base_url=BASE, transport=transport, ask=ask
    )
    assert asked == ["calendly.token (not stored; or set CALENDLY_TOKEN): "]
    assert len(provider_subs(sandboxes["calendly"])) == 1
    assert operator_keys["CALENDLY_TOKEN"] not in out.getvalue()  # never printed


def test_a_square_token_is_still_its_connections_secret(
    target: Target, transport: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A provider key a function uses too (the worker's Square token) is the stage's secret, never an
    environment variable."""
    monkeypatch.setenv("SQUARE_TOKEN", "not-the-stored-token")
    run(webhooks.register, target, CASES["square"], transport)
    target.client("secretsmanager").put_secret_value(
        SecretId=target.secret_name("square"), SecretString=json.dumps({"base_url": SANDBOX_URL + "/square"})
    )
    with pytest.raises(CliError, match=r"switchboard secrets set square token=- --stage test"):
        run(webhooks.register, target, CASES["square"], transport)


def test_credentials_the_provider_refuses_are_a_one_line_error(
    target: Target, transport: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALCOM_API_KEY", "cal_live_revoked")
    with pytest.raises(
        CliError,
        match=r"Cal.com refused the calcom connection's credentials \(401\); give them again: set CALCOM_API_KEY",
    ):
        run(webhooks.register, target, CASES["calcom"], transport)


def test_an_integration_without_webhook_triggers_is_refused(
    target: Target, transport: httpx.MockTransport
) -> None:
    with pytest.raises(CliError, match="stock_level has no webhook triggers"):
        webhooks.register(target, load_spec("stock_level"), io.StringIO(), base_url=BASE, transport=transport)


def test_a_base_url_that_is_not_one_is_refused(target: Target, transport: httpx.MockTransport) -> None:
    with pytest.raises(CliError, match="is not a base URL"):
        run(webhooks.register, target, CASES["square"], transport, base="hooks.example.com/x?y")


def test_providers_without_an_api_get_the_steps_by_hand(
    target: Target, transport: httpx.MockTransport
) -> None:
    out = io.StringIO()
    webhooks.register(target, load_spec("website_to_crm"), out, base_url=BASE, transport=transport)
    printed = out.getvalue()
    assert "website_to_crm.tally: tally has no API for webhook subscriptions" in printed
    assert "Integrations > Webhooks > Connect" in printed
    assert f"Endpoint URL: {BASE}/hooks/website_to_crm/tally" in printed
    assert "switchboard secrets set tally_signing secret=- --stage test" in printed
    assert "FORM_RESPONSE" in printed
    # The Standard Webhooks sender has no app package: the generic steps.
    assert f"add the URL {BASE}/hooks/website_to_crm." in printed
    assert "switchboard secrets set website_to_crm_signing secret=- --stage test" in printed

    out = io.StringIO()
    webhooks.register(target, load_spec("new_lead_notify"), out, base_url=BASE, transport=transport)
    assert "Create subscription: contact.creation" in out.getvalue()
    assert f"Target URL: {BASE}/hooks/new_lead_notify/hubspot" in out.getvalue()


# --- list and remove -----------------------------------------------------------------------------------


def states(target: Target, integration: str, transport: httpx.MockTransport) -> dict[str, str]:
    rows = webhooks.status(target, load_spec(integration), base_url=BASE, transport=transport)
    return {r.trigger: r.state for r in rows}


def test_list_follows_each_trigger_from_missing_to_current_and_back(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    # Shopify has no subscription API register can reconcile: its steps are manual, whatever happens.
    assert states(target, "pos_to_accounting", transport) == {
        "square": "missing",
        "stripe": "missing",
        "shopify": "manual",
    }
    run(webhooks.register, target, CASES["square"], transport)
    assert states(target, "pos_to_accounting", transport) == {
        "square": "current",
        "stripe": "current",
        "shopify": "manual",
    }

    (sub,) = provider_subs(sandboxes["square"])
    sub.events = ("payment.created",)
    assert states(target, "pos_to_accounting", transport)["square"] == "events differ"
    sub.enabled = False
    assert states(target, "pos_to_accounting", transport)["square"] == "disabled"
    sub.enabled, sub.url = True, "https://old.example/hooks/pos_to_accounting/square"
    assert states(target, "pos_to_accounting", transport)["square"] == "old URL"

    out = io.StringIO()
    rows = webhooks.show(target, load_spec("pos_to_accounting"), out, base_url=BASE, transport=transport)
    printed = out.getvalue()
    assert not all(r.ok for r in rows)
    assert "pos_to_accounting.square" in printed and "<- not the current URL" in printed
    assert "Fix: switchboard webhooks register pos_to_accounting --stage test" in printed


def test_list_says_manual_for_providers_without_an_api_and_no_credentials_when_unset(
    target: Target, transport: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert states(target, "website_to_crm", transport) == {"webhook": "manual", "tally": "manual"}
    monkeypatch.delenv("CALENDLY_TOKEN")
    rows = webhooks.status(target, load_spec("booking_to_calendar"), base_url=BASE, transport=transport)
    (calendly,) = [r for r in rows if r.trigger == "calendly"]
    assert calendly.state == "no credentials" and "set CALENDLY_TOKEN" in calendly.detail


@pytest.mark.parametrize("app", sorted(CASES))
def test_remove_deletes_switchboards_subscriptions_only(
    app: str, target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport
) -> None:
    case, stand_in = CASES[app], sandboxes[app]
    assert stand_in.webhooks is not None
    someone_elses = stand_in.webhooks.subscribe("https://zapier.example/hooks/catch/1", "theirs")
    run(webhooks.register, target, case, transport)

    printed = run(webhooks.remove, target, case, transport)

    assert [s.id for s in provider_subs(stand_in)] == [someone_elses.id]
    assert f"{case.integration}.{case.trigger}: deleted" in printed
    assert states(target, case.integration, transport)[case.trigger] == "missing"
    assert "nothing registered" in run(webhooks.remove, target, case, transport)


# --- the declarations ---------------------------------------------------------------------------------


def test_every_trigger_whose_app_has_a_subscription_api_declares_events_and_its_connection() -> None:
    from infra.ops.webhooks.plan import _module
    from shared.registry import load_specs

    checked = 0
    for spec in load_specs():
        for trigger in spec.triggers:
            if not isinstance(trigger, WebhookTrigger):
                continue
            module = _module(trigger.secret.app)
            if callable(getattr(module, "open_api", None)):
                checked += 1
                assert trigger.events, f"{spec.name}.{trigger.name} names no events to subscribe to"
                assert trigger.registration is not None, f"{spec.name}.{trigger.name} has no registration"
                assert trigger.registration.app == trigger.secret.app
                assert trigger.registration.kind == "api"
    assert checked == 5  # Square (pos_to_accounting, inventory_sync), Stripe, Calendly, Cal.com


def test_operator_connections_are_kept_apart_from_what_the_function_uses() -> None:
    spec = load_spec("booking_to_calendar")
    assert {c.name for c in spec.operator_connections} == {"calendly", "calcom"}
    assert not {c.name for c in spec.operator_connections} & {c.name for c in spec.all_connections}
    # Square's token is the worker's already: not counted twice.
    assert [c.name for c in load_spec("pos_to_accounting").operator_connections] == ["stripe"]


def test_a_trigger_with_repeated_or_blank_events_is_refused() -> None:
    from dataclasses import replace

    trigger = trigger_of(CASES["square"])
    with pytest.raises(ValueError, match="distinct non-empty"):
        replace(trigger, events=("payment.created", "payment.created"))
    with pytest.raises(ValueError, match="distinct non-empty"):
        replace(trigger, events=(" payment.created",))
    with pytest.raises(ValueError, match="must be an API connection"):
        replace(trigger, registration=trigger.secret)


def test_a_signing_connection_shared_by_two_triggers_is_refused_where_the_provider_makes_the_keys(
    target: Target, transport: httpx.MockTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webhooks, "sharing", lambda hook: ["another_flow.square"])
    with pytest.raises(CliError, match="Square gives each subscription its own key"):
        run(webhooks.register, target, CASES["square"], transport)
    # Where the secret is ours, one secret can serve both: nothing to refuse.
    run(webhooks.register, target, CASES["calcom"], transport)


def test_on_a_stage_the_urls_come_from_its_stack_outputs(
    target: Target, sandboxes: dict[str, SandboxApp], transport: httpx.MockTransport, aws: Any
) -> None:
    from infra.cdk.naming import stack_names

    api = "https://abc123.execute-api.us-east-1.amazonaws.com"
    outputs = {"PosToAccountingSquareUrl": api + "/hooks/pos_to_accounting/square"}
    template = {
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {k: {"Value": v} for k, v in outputs.items()},
    }
    aws.client("cloudformation").create_stack(
        StackName=stack_names("test")[1], TemplateBody=json.dumps(template)
    )

    # The Stripe trigger's output is missing: not deployed yet, and the error says what to do.
    with pytest.raises(
        CliError, match=r"pos_to_accounting.stripe is not deployed on stage test: `make deploy STAGE=test`"
    ):
        webhooks.register(target, load_spec("pos_to_accounting"), io.StringIO(), transport=transport)

    outputs["PosToAccountingStripeUrl"] = api + "/hooks/pos_to_accounting/stripe"
    outputs["PosToAccountingShopifyUrl"] = api + "/hooks/pos_to_accounting/shopify"
    template["Outputs"] = {k: {"Value": v} for k, v in outputs.items()}
    aws.client("cloudformation").update_stack(
        StackName=stack_names("test")[1], TemplateBody=json.dumps(template)
    )
    webhooks.register(target, load_spec("pos_to_accounting"), io.StringIO(), transport=transport)
    assert [s.url for s in provider_subs(sandboxes["square"])] == [outputs["PosToAccountingSquareUrl"]]
    assert [s.url for s in provider_subs(sandboxes["stripe"])] == [outputs["PosToAccountingStripeUrl"]]


def test_the_help_names_the_variable_of_every_operator_key(capsys: pytest.CaptureFixture[str]) -> None:
    from infra.cli import main

    with pytest.raises(SystemExit):
        main(["webhooks", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    for conn in operator_connections().values():
        for field in conn.fields:
            assert operator_env(conn, field) in shown, conn.name
