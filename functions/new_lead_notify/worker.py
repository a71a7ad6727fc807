"""new_lead_notify's worker: announce a lead to sales (email + Slack), or thank the lead (email).

An announcement is two steps, each recorded in the effects ledger, so a retry resumes where the
last attempt failed - when Slack is down after the email went out, the retry posts to Slack and
does not email sales a second time:

1. ``email.sales`` - the templated notification to the sales inbox (SES), ``Reply-To`` the lead so
   sales can answer straight from the email;
2. ``slack.post`` - a Block Kit message in the configured channel.

For a contact HubSpot announced (its webhook carries only the contact id) the contact is read from
HubSpot first; that read is not a step (it changes nothing) and is repeated on a retry.

An acknowledgement is one step, ``email.acknowledgement``, to the lead's own address, only when the
``acknowledge_lead`` setting is on. It is sent for website enquiries only: a contact someone added to
HubSpot by hand or by an import did not write to the business and gets no "thanks for writing".

Step results and the returned summary hold ids only (SES message id, Slack ``ts``): they are stored
in the ledger and printed in traces, where personal data does not belong.

Imported on the worker path only (``spec.worker``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from apps.hubspot.actions import GET_CONTACT
from apps.slack.actions import POST_MESSAGE
from shared.actions import chat, crm
from shared.actions import email as email_actions
from shared.email import Templates
from shared.worker import WorkContext

from .content import LeadView, template_context, view
from .models import LeadNotice, Person, Settings
from .slack_message import lead_message

TEMPLATES: Final = Templates(Path(__file__).parent / "templates")
#: Contact properties an announcement shows (``lead_source`` is website_to_crm's custom property).
CONTACT_PROPERTIES: Final = ("email", "firstname", "lastname", "phone", "company", "lead_source")


def process(notice: LeadNotice, ctx: WorkContext) -> dict[str, Any]:
    if notice.action == "acknowledge":
        return acknowledge(notice, ctx)
    return announce(notice, ctx)


def announce(notice: LeadNotice, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    lead = _lead(notice, ctx, settings)
    mail = TEMPLATES.email("sales_notification", template_context(lead, settings.business_name))

    sales_email = email_actions.SendEmail(
        from_address=settings.from_address,
        to=[settings.sales_inbox],
        subject=mail.subject,
        html=mail.html,
        text=mail.text,
        reply_to=[lead.email] if lead.email else [],
    )
    emailed = ctx.step("email.sales", lambda: email_actions.SEND(ctx, sales_email).model_dump(mode="json"))

    def post_to_slack() -> dict[str, str]:
        text, blocks = lead_message(lead)
        message = chat.PostMessage(channel=settings.slack_channel, text=text, blocks=list(blocks))
        return POST_MESSAGE(ctx, message).model_dump(mode="json")

    posted = ctx.step("slack.post", post_to_slack)
    return {
        "contact_id": notice.contact_id,
        "email_message_id": emailed["message_id"],
        "slack_ts": posted["ts"],
    }


def acknowledge(notice: LeadNotice, ctx: WorkContext) -> dict[str, Any]:
    settings: Settings = ctx.settings
    if not settings.acknowledge_lead:
        return {"acknowledged": False, "reason": "acknowledge_lead is off"}
    if notice.person is None or not notice.person.email:
        return {"acknowledged": False, "reason": "the lead left no email address"}
    lead = view(notice, notice.person, portal_fallback=settings.hubspot_portal_id)
    mail = TEMPLATES.email("acknowledgement", template_context(lead, settings.business_name))
    address = notice.person.email

    thanks = email_actions.SendEmail(
        from_address=settings.from_address,
        to=[address],
        subject=mail.subject,
        html=mail.html,
        text=mail.text,
        reply_to=[settings.sales_inbox],
    )
    emailed = ctx.step(
        "email.acknowledgement", lambda: email_actions.SEND(ctx, thanks).model_dump(mode="json")
    )
    return {"acknowledged": True, "email_message_id": emailed["message_id"]}


def _lead(notice: LeadNotice, ctx: WorkContext, settings: Settings) -> LeadView:
    """The lead to announce: from the event, or - for HubSpot's webhook - from HubSpot."""
    if notice.person is not None:
        return view(notice, notice.person, portal_fallback=settings.hubspot_portal_id)
    contact = GET_CONTACT(
        ctx, crm.GetContact(contact_id=notice.contact_id, properties=list(CONTACT_PROPERTIES))
    )
    props = contact.properties
    person = Person(
        first_name=props.get("firstname") or None,
        last_name=props.get("lastname") or None,
        email=props.get("email") or None,
        phone=props.get("phone") or None,
        company=props.get("company") or None,
    )
    ctx.logger.info("contact read from HubSpot", extra={"contact_id": contact.id})
    # A contact website_to_crm created names the website form it came from; prefer that to "API".
    return view(
        notice, person, portal_fallback=settings.hubspot_portal_id, source=props.get("lead_source") or None
    )
