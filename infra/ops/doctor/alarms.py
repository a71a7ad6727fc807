"""Will anyone hear an alarm, and is anything already waiting: the alarm topic's subscriptions
confirmed, every DLQ empty.

An email subscription to an SNS topic receives nothing until its owner clicks the link in the
confirmation email AWS sends; until then ``ListSubscriptionsByTopic`` shows it with the
``SubscriptionArn`` ``PendingConfirmation``. The topic is the core stack's ``AlarmTopicArn`` output
(``switchboard-<stage>-alarms``). Dead letters are counted without receiving them
(:func:`infra.ops.dlq.counts`): a dead letter before go-live is an event the code could not handle.
"""

from __future__ import annotations

from infra.cdk import naming
from infra.ops.dlq import counts, queued_names
from infra.ops.doctor.core import Check, Context, Result
from infra.ops.target import aws_errors

__all__ = ["ALARMS", "DLQS"]

PENDING = "PendingConfirmation"


def _topic_arn(ctx: Context) -> str | None:
    core = naming.stack_names(ctx.target.stage)[0]
    with aws_errors(ctx.target, f"reading stack {core}"):
        stacks = ctx.target.client("cloudformation").describe_stacks(StackName=core)["Stacks"]
    outputs = {str(o["OutputKey"]): str(o["OutputValue"]) for o in (stacks[0].get("Outputs") or [])}
    return outputs.get("AlarmTopicArn")


def check_alarms(ctx: Context) -> list[Result]:
    target = ctx.target
    if target.is_local:
        return [
            Result(
                "alarms",
                "skip",
                "the local runtime raises no alarms; the trace shows failures as they happen",
            )
        ]
    from botocore.exceptions import ClientError

    deploy = f"make deploy STAGE={target.stage} ALARM_EMAIL=ops@example.com"
    try:
        arn = _topic_arn(ctx)
    except Exception as exc:
        if isinstance(exc.__cause__, ClientError) and "does not exist" in str(exc.__cause__):
            return [Result("alarms", "FAIL", "no alarm topic: the core stack is not deployed", deploy)]
        raise
    if not arn:
        return [Result("alarms", "FAIL", "the core stack has no AlarmTopicArn output", deploy)]
    subscriptions = []
    token = ""
    while True:
        with aws_errors(target, f"listing the subscriptions of {arn}"):
            page = target.client("sns").list_subscriptions_by_topic(
                TopicArn=arn, **({"NextToken": token} if token else {})
            )
        subscriptions.extend(page.get("Subscriptions", []))
        token = page.get("NextToken") or ""
        if not token:
            break
    if not subscriptions:
        return [
            Result(
                "alarms",
                "warn",
                f"no one is subscribed to the alarm topic {arn.rsplit(':', 1)[-1]}: alarms reach no one",
                deploy + " (your address), then confirm the email AWS sends",
            )
        ]
    results = []
    for sub in subscriptions:
        who = f"{sub.get('Protocol', '?')}:{sub.get('Endpoint', '?')}"
        if sub.get("SubscriptionArn") == PENDING:
            results.append(
                Result(
                    "alarms",
                    "FAIL",
                    f"alarm subscription {who} is not confirmed: alarms do not reach it",
                    f'confirm the email sent to {sub.get("Endpoint", "that address")} (subject "AWS Notification - '
                    f'Subscription Confirmation"); lost it? a new one: aws sns subscribe --topic-arn {arn} '
                    f"--protocol {sub.get('Protocol', 'email')} --notification-endpoint {sub.get('Endpoint', '')} "
                    f"--region {target.region}",
                )
            )
        else:
            results.append(Result("alarms", "ok", f"alarm subscription {who} confirmed"))
    return results


def check_dlqs(ctx: Context) -> list[Result]:
    names = [n for n in queued_names() if any(s.name == n for s in ctx.specs)]
    if not names:
        return [Result("dlq", "skip", "no integration has a queue")]
    results = []
    empty = 0
    for name, count in counts(ctx.target, names):
        if count == "-":
            results.append(
                Result("dlq", "skip", f"{name}: no DLQ on {ctx.target.where} (not deployed: see stacks)")
            )
        elif count:
            results.append(
                Result(
                    "dlq",
                    "FAIL",
                    f"{name}: {count} dead letter(s) in {ctx.target.queue_name(name, dlq=True)}",
                    f"see `switchboard dlq list {name}{ctx.flag}`, fix the cause, then "
                    f"`switchboard dlq redrive {name}{ctx.flag}`",
                )
            )
        else:
            empty += 1
    if empty:
        results.insert(0, Result("dlq", "ok", f"{empty} DLQ(s) empty"))
    return results


ALARMS = Check("alarms", "the alarm topic's subscriptions", check_alarms)
DLQS = Check("dlq", "the dead-letter queues", check_dlqs)
