"""website_to_crm: a contact or enquiry form on the business's website becomes a HubSpot lead.

Three ways in, one lead out:

* ``POST /hooks/website_to_crm`` - a signed JSON lead (Standard Webhooks) from a form service or
  the site's backend; event id = ``webhook-id``;
* ``POST /hooks/website_to_crm/tally`` - Tally's ``FORM_RESPONSE`` webhook (``tally-signature``);
  event id = Tally's ``eventId``;
* ``POST /forms/website_to_crm`` - the site's own HTML form, straight from the browser; guarded by
  an origin allow-list and a honeypot; event id = a hash of the posted content, so a double-clicked
  submit is one event.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from apps import hubspot, tally
from shared.envelope import content_id
from shared.spec import Accepted, Connection, FormTrigger, IntegrationSpec, RetryPolicy, WebhookTrigger
from shared.webhooks.base import WebhookRequest
from shared.webhooks.standard import StandardWebhooks

from .models import FormPost, Lead, LeadWebhook, Settings, TallyWebhook

LEAD_SIGNING = Connection(
    name="website_to_crm_signing",
    app="standard_webhooks",
    description="Standard Webhooks signing secret (whsec_...) shared with the form service or site backend",
    fields=("secret",),
    optional=("previous_secret",),
    local={"secret": "whsec_c3dpdGNoYm9hcmQtbG9jYWwtd2Vic2l0ZS1mb3Jtcw=="},
    kind="signing",
)


def accept_webhook(payload: LeadWebhook, request: WebhookRequest) -> Sequence[Accepted]:
    lead = payload.data.to_lead(source="website_webhook", submitted_at=payload.timestamp)
    return [Accepted(event_id=request.header("webhook-id") or "", type="form.submitted", data=lead)]


def accept_form(payload: FormPost, request: WebhookRequest) -> Sequence[Accepted]:
    lead = payload.to_lead(source="website_form", submitted_at=datetime.now(UTC))
    return [Accepted(event_id=content_id(request.path, request.body), type="form.submitted", data=lead)]


_TALLY_LABELS = {
    "name": re.compile(r"^(full |your )?name$", re.I),
    "first_name": re.compile(r"^first[ _]?name$", re.I),
    "last_name": re.compile(r"^(last|sur|family)[ _]?name$", re.I),
    "company": re.compile(r"^(company|organi[sz]ation|business)( name)?$", re.I),
    "message": re.compile(r"^(message|how can we help.*|your message|enquiry|inquiry)$", re.I),
}
_CONSENT = re.compile(r"consent|agree|opt[ -]?in", re.I)


def accept_tally(payload: TallyWebhook, request: WebhookRequest) -> Sequence[Accepted]:
    """Tally fields are keyed by question ids; map them by type, then by label, then hidden fields."""
    values: dict[str, object] = {}
    for f in payload.data.fields:
        label = (f.label or "").strip()
        if f.type == "INPUT_EMAIL" and "email" not in values:
            values["email"] = f.value
        elif f.type == "INPUT_PHONE_NUMBER" and "phone" not in values:
            values["phone"] = f.value
        elif f.type == "HIDDEN_FIELDS" and (label.lower().startswith("utm_") or label.lower() == "page_url"):
            values[label.lower()] = f.value
        elif f.type == "CHECKBOXES" and _CONSENT.search(label):
            values["consent"] = values.get("consent") or bool(f.value)
        elif f.type == "TEXTAREA" and "message" not in values:
            values["message"] = f.value
        else:
            for target, pattern in _TALLY_LABELS.items():
                if pattern.match(label) and target not in values:
                    values[target] = f.value
    values["form_id"] = payload.data.formId
    person = FormPost.model_validate(values)
    lead: Lead = person.to_lead(source="tally", submitted_at=payload.data.createdAt)
    return [Accepted(event_id=payload.eventId, type="form.submitted", data=lead)]


SPEC = IntegrationSpec(
    name="website_to_crm",
    description="Website form -> HubSpot contact (upsert by email), owner round-robin, note, lead.created",
    input_model=Lead,
    settings=Settings,
    worker="functions.website_to_crm.worker:process",
    triggers=(
        WebhookTrigger(
            name="webhook",
            path="/hooks/website_to_crm",
            verifier=StandardWebhooks(),
            secret=LEAD_SIGNING,
            model=LeadWebhook,
            accept=accept_webhook,
            description="Signed lead (Standard Webhooks) from a form service or the site's backend",
        ),
        WebhookTrigger(
            name="tally",
            path="/hooks/website_to_crm/tally",
            verifier=tally.VERIFIER,
            secret=tally.SIGNING,
            model=TallyWebhook,
            accept=accept_tally,
            description="Tally FORM_RESPONSE webhook",
            events=("FORM_RESPONSE",),
        ),
        FormTrigger(
            name="form",
            path="/forms/website_to_crm",
            model=FormPost,
            accept=accept_form,
            honeypot="website",
            description="The business's own HTML contact form, posted by the browser",
        ),
    ),
    connections=(hubspot.CONNECTION,),
    emits=("lead.created",),
    timeout_s=30,
    memory_mb=256,
    batch_size=10,
    max_concurrency=hubspot.APP.max_concurrency,
    # 2 invocations x 3 requests in flight stays inside HubSpot's lowest burst limit (100 / 10 s).
    max_invocations=2,
    retry=RetryPolicy(max_attempts=8, base_delay_s=10, max_delay_s=900),
)
