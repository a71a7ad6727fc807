"""Can the integrations send their email: each sender a verified SES identity, the account out of
the sandbox or, while in it, every fixed recipient verified.

Senders and fixed recipients come from each email-sending spec's settings
(:class:`~shared.spec.EmailSender`: ``from_setting`` and ``recipients``) as deployed - a stage's
from each function's ``SWITCHBOARD_SETTINGS`` (what ``make deploy`` put there), the local runtime's
from ``functions/<name>/settings.local.json`` (what ``make dev`` reads). An address counts as
verified when it, or its domain, is a verified identity (``ListEmailIdentities``).

In the SES sandbox, SES accepts mail only to verified identities (and 200 a day):
https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html. ``GetAccount`` says
whether production access is granted and whether sending is enabled. The local runtime's SES (moto)
has no account state; it is checked as a new AWS account starts: in the sandbox.
"""

from __future__ import annotations

import email.utils
import json
from typing import Any

from infra.cdk import naming
from infra.ops.doctor.core import Check, Context, Result
from infra.ops.target import CliError, NotDeployed, OperationFailed, aws_errors
from shared.spec import IntegrationSpec

__all__ = ["SES", "address"]

_PRODUCTION_ACCESS = "https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html"


def address(value: Any) -> str | None:
    """The bare, lower-cased address of ``"Name <a@b.example>"`` / ``"a@b.example"``; ``None`` if not one."""
    found = email.utils.parseaddr(str(value or ""))[1].strip()
    local, _, domain = found.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in found):
        return None
    return f"{local}@{domain}".lower()


def _settings(ctx: Context, spec: IntegrationSpec) -> dict[str, Any] | None:
    """The settings the integration runs with; ``None`` when its function is not deployed."""
    if ctx.target.is_local:
        from infra.local.runtime import local_settings

        text = local_settings(spec)
    else:
        function = naming.function_name(ctx.target.stage, spec.name)
        try:
            with aws_errors(ctx.target, f"reading function {function}"):
                config = ctx.target.client("lambda").get_function_configuration(FunctionName=function)
        except NotDeployed:
            return None
        text = str(config.get("Environment", {}).get("Variables", {}).get("SWITCHBOARD_SETTINGS") or "{}")
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _identities(ctx: Context) -> dict[str, bool]:
    """Identity (address or domain, lower-case) -> verified for sending."""
    client = ctx.target.client("sesv2")
    found: dict[str, bool] = {}
    token: str | None = None
    while True:
        options: dict[str, Any] = {"PageSize": 1000}
        if token:
            options["NextToken"] = token
        with aws_errors(ctx.target, "listing the SES identities"):
            page = client.list_email_identities(**options)
        for item in page.get("EmailIdentities", []):
            verified = item.get("VerificationStatus") == "SUCCESS" and item.get("SendingEnabled", True)
            found[str(item.get("IdentityName", "")).lower()] = bool(verified)
        token = page.get("NextToken")
        if not token:
            return found


def _verified(known: dict[str, bool], mail: str) -> bool:
    return known.get(mail, False) or known.get(mail.rpartition("@")[2], False)


def _recipients(spec: IntegrationSpec, settings: dict[str, Any]) -> list[str]:
    assert spec.email is not None
    found: list[str] = []
    for key in spec.email.recipients:
        value = settings.get(key)
        for item in value if isinstance(value, list | tuple) else [value]:
            mail = address(item)
            if mail and mail not in found:
                found.append(mail)
    return found


def _account(ctx: Context) -> tuple[Result, bool]:
    """The account's line and whether it is in the sandbox."""
    target = ctx.target
    if target.is_local:
        return (
            Result(
                "email",
                "skip",
                "the local SES has no account state: recipients are checked as in a new account's sandbox",
            ),
            True,
        )
    try:
        with aws_errors(target, "reading the SES account"):
            account = target.client("sesv2").get_account()
    except CliError:
        raise  # credentials, access denied: the user's to fix, said as such
    except Exception as exc:  # an endpoint without GetAccount (an emulator): say so, assume the sandbox
        cause = exc.__cause__ if isinstance(exc, OperationFailed) and exc.__cause__ else exc
        return (
            Result(
                "email",
                "warn",
                f"SES did not say whether the account is in the sandbox ({type(cause).__name__}); "
                "recipients are checked as in the sandbox",
            ),
            True,
        )
    where = f"SES in {target.region}"
    if not account.get("SendingEnabled", True):
        return (
            Result(
                "email",
                "FAIL",
                f"{where}: sending is paused for the account ({account.get('EnforcementStatus', 'paused')})",
                "read the notice in the SES console (Account dashboard), fix the cause and ask AWS to resume",
            ),
            False,
        )
    if account.get("ProductionAccessEnabled"):
        return Result("email", "ok", f"{where}: production access (any recipient)"), False
    review = account.get("Details", {}).get("ReviewDetails", {}).get("Status")
    pending = f" (request {str(review).lower()})" if review else ""
    return (
        Result(
            "email",
            "warn",
            f"{where}: sandbox{pending}: only verified recipients get mail, 200 a day - confirmations "
            "to customers are refused",
            f"request production access: {_PRODUCTION_ACCESS}",
        ),
        True,
    )


def check_ses(ctx: Context) -> list[Result]:
    senders = [s for s in ctx.specs if s.email is not None]
    if not senders:
        return [Result("email", "skip", "no integration sends email")]
    account, sandbox = _account(ctx)
    results = [account]
    known = _identities(ctx)
    region = ctx.target.region
    verify = "aws sesv2 create-email-identity --email-identity {0} --region " + region
    for spec in senders:
        assert spec.email is not None
        settings = _settings(ctx, spec)
        if settings is None:
            results.append(Result("email", "skip", f"{spec.name}: not deployed on this stage (see stacks)"))
            continue
        sender = address(settings.get(spec.email.from_setting))
        if sender is None:
            results.append(
                Result(
                    "email",
                    "FAIL",
                    f"{spec.name}: settings.{spec.email.from_setting} holds no sender address",
                    f"set settings.{spec.name}.{spec.email.from_setting} (cdk.json or -c settings=...) and deploy",
                )
            )
            continue
        domain = sender.rpartition("@")[2]
        if _verified(known, sender):
            results.append(Result("email", "ok", f"{spec.name}: sender {sender} is a verified SES identity"))
        else:
            results.append(
                Result(
                    "email",
                    "FAIL",
                    f"{spec.name}: sender {sender} is not a verified SES identity in {region}",
                    verify.format(domain) + " and publish the DKIM records it answers in your DNS",
                )
            )
        if sandbox:
            unverified = [m for m in _recipients(spec, settings) if not _verified(known, m)]
            if unverified:
                fields = ", ".join(spec.email.recipients)
                results.append(
                    Result(
                        "email",
                        "FAIL",
                        f"{spec.name}: in the SES sandbox mail to {', '.join(unverified)} ({fields}) is refused: "
                        "not verified identities",
                        f"verify each ({verify.format('<address>')}, then click the link AWS emails) "
                        f"or request production access: {_PRODUCTION_ACCESS}",
                    )
                )
    return results


SES = Check("email", "SES senders and recipients", check_ses)
