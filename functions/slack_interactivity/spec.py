"""slack_interactivity: the Slack app's one interactivity Request URL, for every flow that posts buttons.

A Slack app has exactly one *Interactivity & Shortcuts* Request URL, while several flows post messages
with buttons (lead_followup's **Book them in** / **Not now**, the MCP approvals' **Approve** /
**Reject**). So the click is verified here, once, and handed to the flows on the bus as
``chat.button_clicked`` (:class:`shared.events.ButtonClicked`); each flow takes the ``action_id`` s it
gave its buttons and ignores the rest.

One way in: ``POST /hooks/slack_interactivity/slack`` - ``application/x-www-form-urlencoded`` with a
JSON ``payload`` (``block_actions``), signed ``X-Slack-Signature`` (v0, the app's signing secret, the
previous one too during a rotation). The ingress verifies, queues and answers ``200`` at once: Slack
wants "HTTP 200 OK" within 3 seconds and shows the click as failed otherwise.

Work items: one per clicked button and clicker, event id
``click:<channel>:<message ts>:<action_id>:<user id>`` - a double click, and Slack's own retry of a
request (``X-Slack-Retry-Num``), are the same id: duplicates, done once; two people's clicks are two. A click that is not on a button of a message in a channel (a modal's button, a select menu) is
accepted and ignored: Slack must not retry it, and no flow could answer it in a message.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps import slack
from apps.slack.interactivity import BlockActions, InteractionForm
from shared.events import BUTTON_CLICKED, derived_id
from shared.spec import Accepted, IntegrationSpec, RetryPolicy, WebhookTrigger
from shared.webhooks.base import WebhookRequest

from .models import Click

__all__ = ["SPEC", "accept_click", "click_id"]


def click_id(channel: str, message_ts: str, action_id: str, user_id: str) -> str:
    """The event id of a click: the message, the button and who clicked.

    A double click, or Slack's retry of the request, is the same id - a duplicate. Two people's
    clicks are two events: an approval whose first clicker may not approve must still hear the one
    who may. A flow that wants one outcome per message whoever clicks (lead_followup books a lead
    once) keys its own work on the message and the button. Flows give each button of a message its
    own ``action_id`` (Slack asks the same within a block).
    """
    return derived_id("click", f"{channel}:{message_ts}:{action_id}:{user_id}")


def accept_click(form: InteractionForm, request: WebhookRequest) -> Sequence[Accepted]:
    """One work item per button clicked on a message in a channel; anything else is no work."""
    click: BlockActions = form.payload
    channel, ts = click.channel_id, click.message_ts
    if not channel or not ts:
        return []
    name = click.user.name or click.user.username
    return [
        Accepted(
            event_id=click_id(channel, ts, action.action_id, click.user.id),
            type="slack.button_clicked",
            data=Click(
                action_id=action.action_id,
                value=action.value,
                user_id=click.user.id,
                user_name=name,
                channel=channel,
                message_ts=ts,
            ),
        )
        for action in click.actions
        if action.type == "button"
    ]


SPEC = IntegrationSpec(
    name="slack_interactivity",
    description="Slack's interactivity Request URL: a verified button click becomes chat.button_clicked "
    "on the bus, for the flow whose button it is",
    input_model=Click,
    worker="functions.slack_interactivity.worker:process",
    triggers=(
        WebhookTrigger(
            name="slack",
            path="/hooks/slack_interactivity/slack",
            verifier=slack.VERIFIER,
            secret=slack.SIGNING,
            model=InteractionForm,
            accept=accept_click,
            content_types=("application/x-www-form-urlencoded",),
            form_json_field="payload",
            description="Slack interactivity (block_actions): a button clicked in a message",
            events=("block_actions",),
            accepted_status=200,
        ),
    ),
    emits=(BUTTON_CLICKED,),
    # One bus put per click: no target is called, so nothing to cap or to wait out but the bus.
    timeout_s=10,
    memory_mb=256,
    batch_size=10,
    max_concurrency=5,
    max_invocations=2,
    retry=RetryPolicy(max_attempts=8, base_delay_s=5, max_delay_s=300),
)
