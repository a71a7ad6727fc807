"""Names of deployed resources, in one place so the stacks, the CLI and the runbooks agree on them.

Physical names are ``switchboard-<stage>-<integration>[-suffix]`` (SQS queues, functions, schedules)
and ``switchboard/<stage>/<connection>`` (secrets; SSM parameters ``/switchboard/<stage>/<connection>``
for the connections :mod:`shared.store` keeps there): an operator can find everything of one stage, or of
one integration, by prefix. Construct ids and CloudFormation output keys must be alphanumeric, hence
:func:`pascal`.

This module imports nothing from the CDK: the ``switchboard`` CLI and the local runtime
(``infra/local/resources.py``) use the same functions, so a name is written once for all three.

=====================  ==========================================
what                   name
=====================  ==========================================
stacks                 ``Switchboard-<stage>-core``, ``Switchboard-<stage>-integrations``
queue / DLQ            ``switchboard-<stage>-<integration>[-dlq]`` (``_`` -> ``-``)
function               ``switchboard-<stage>-<integration>``, logs ``/aws/lambda/<function>``
table                  ``switchboard-<stage>-ledger``
bus                    ``switchboard-<stage>``
secret                 ``switchboard/<stage>/<connection>``
parameter              ``/switchboard/<stage>/<connection>`` (signing secrets, own keys)
dashboard              ``switchboard-<stage>``
=====================  ==========================================
"""

from __future__ import annotations

import hashlib
import re

__all__ = [
    "bus_name",
    "dashboard_name",
    "dlq_name",
    "function_name",
    "log_group_name",
    "parameter_name",
    "parameter_prefix",
    "pascal",
    "queue_name",
    "resource_name",
    "secret_name",
    "secret_prefix",
    "short_name",
    "stack_names",
    "table_name",
]

_WORD = re.compile(r"[A-Za-z0-9]+")


def pascal(*parts: str) -> str:
    """``("website_to_crm", "tally")`` -> ``"WebsiteToCrmTally"`` (construct ids, output keys)."""
    words = [w for part in parts for w in _WORD.findall(part)]
    return "".join(w[:1].upper() + w[1:] for w in words)


def resource_name(stage: str, *parts: str) -> str:
    """``switchboard-<stage>-<part>-<part>``; underscores become dashes (valid for every AWS service)."""
    return "-".join(("switchboard", stage, *parts)).replace("_", "-")


def short_name(name: str, limit: int) -> str:
    """``name`` if it fits in ``limit`` characters, else a prefix plus a stable hash of the whole.

    Some services cap names at 64 characters (schedules, IAM roles); a readable prefix keeps the name
    searchable and the hash keeps it unique.
    """
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def secret_prefix(stage: str) -> str:
    """What the runtime prepends to a connection name to find its secret (``SWITCHBOARD_SECRET_PREFIX``)."""
    return f"switchboard/{stage}/"


def secret_name(stage: str, connection: str) -> str:
    return secret_prefix(stage) + connection


def parameter_prefix(stage: str) -> str:
    """What the runtime prepends to a connection name to find its SSM parameter
    (``SWITCHBOARD_PARAMETER_PREFIX``). Parameter names with slashes must start with one."""
    return f"/switchboard/{stage}/"


def parameter_name(stage: str, connection: str) -> str:
    return parameter_prefix(stage) + connection


def stack_names(stage: str) -> tuple[str, str]:
    """``(core, integrations)`` stack names of a stage."""
    return f"Switchboard-{stage}-core", f"Switchboard-{stage}-integrations"


def queue_name(stage: str, integration: str) -> str:
    return resource_name(stage, integration)


def dlq_name(stage: str, integration: str) -> str:
    return resource_name(stage, integration, "dlq")


def function_name(stage: str, integration: str) -> str:
    return resource_name(stage, integration)


def log_group_name(stage: str, integration: str) -> str:
    return f"/aws/lambda/{function_name(stage, integration)}"


def table_name(stage: str) -> str:
    return resource_name(stage, "ledger")


def bus_name(stage: str) -> str:
    return resource_name(stage)


def dashboard_name(stage: str) -> str:
    return resource_name(stage)
