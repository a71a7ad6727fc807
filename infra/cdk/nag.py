"""cdk-nag acknowledgments: every accepted finding, with its reason, in one reviewable place.

cdk-nag 3.x runs as a CDK policy-validation plugin (``Validations.of(app).add_plugins(...)``); a
finding fails synthesis unless the construct (or one of its ancestors) acknowledges that rule with
``Validations.of(construct).acknowledge(Acknowledgment(id, reason))``. Rules that report several
findings per resource (``AwsSolutions-IAM5``) are acknowledged per finding
(``AwsSolutions-IAM5[Resource::*]``); v3 has no prefix matching. Reasons live here as constants so a
reviewer reads every exception side by side, and constructs cannot acknowledge a rule without one.
"""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

__all__ = [
    "KMS_ANY_KEY",
    "PUBLIC_FORM",
    "PUBLIC_ROUTE",
    "PUBLIC_WEBHOOK",
    "SECRET_NOT_ROTATED",
    "SES_ANY_IDENTITY",
    "SES_IDENTITIES",
    "SSM_MANAGED_KEY",
    "XRAY_WILDCARD",
    "acknowledge",
]

XRAY_WILDCARD = (
    "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions "
    "(https://docs.aws.amazon.com/xray/latest/devguide/security_iam_id-based-policy-examples.html); "
    "'*' is the only valid resource. Added by Tracing.ACTIVE."
)

#: How cdk-nag names the resource ``arn:<partition>:ses:<region>:<account>:identity/*`` in a finding.
KMS_ANY_KEY = "arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*"

SSM_MANAGED_KEY = (
    "SecureString parameters are encrypted under the AWS-managed aws/ssm key, whose key id no "
    "template can name; kms:Decrypt is limited by kms:ViaService to SSM in this region and by "
    "kms:EncryptionContext:PARAMETER_ARN to the function's own parameters."
)

SES_IDENTITIES = "arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*"

SES_ANY_IDENTITY = (
    "SES authorises a send against every identity it involves - the sender's, and in the SES sandbox "
    "each recipient's verified identity - so the grant covers this account's identities in this "
    "region, and its ses:FromAddress condition allows them only for sends from the function's own "
    "From address (https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html)."
)

SECRET_NOT_ROTATED = (
    "Connection secrets hold credentials issued by third-party SaaS apps (API keys, private-app "
    "tokens, webhook signing secrets): AWS cannot mint new ones, so a rotation Lambda has nothing to "
    "rotate to. Signing secrets are rotated by the operator with two active values (secret + "
    "previous_secret); OAuth 2.0 refresh tokens are rotated by the runtime's single-flight refresh, "
    "which writes the new tokens back."
)

PUBLIC_WEBHOOK = (
    "Webhook route called by a SaaS provider that cannot present AWS credentials or a JWT; every "
    "request is authenticated by the provider's signature (HMAC, constant-time compare, timestamp "
    "tolerance, fail closed) inside the function before anything is queued."
)

PUBLIC_FORM = (
    "Route posted by a browser form on the business's own website: visitors are anonymous by design. "
    "Guarded by the origin allow-list, a honeypot field, the body-size limit and stage throttling."
)

PUBLIC_ROUTE = (
    "Public synchronous route (e.g. stock lookup for a website); read-only, answered from the target, "
    "with its own route throttling. Authorization, when an integration needs it, is part of its spec."
)


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge ``rule`` on ``scope`` and everything below it."""
    if not reason.strip():
        raise ValueError(f"acknowledging {rule} needs a reason")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule, reason=reason))
