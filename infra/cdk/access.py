"""What a function may do in the ledger table, derived from its spec and from the code it is bundled with.

Every item of a stage lives in one DynamoDB table keyed on ``id``, so the table's ARN alone scopes
nothing: a role allowed ``dynamodb:GetItem`` on it could read every integration's records, the MCP
endpoint's API keys and its audit trail. A function's role is therefore scoped with the
``dynamodb:LeadingKeys`` condition key (the partition key values a request touches) to the keys it
owns, and nothing else:

* ``<integration>#*`` - what an integration keeps for itself: idempotency, step and attempt records
  (:mod:`shared.ledger`), counters (:mod:`shared.worker`), booking links, stock copies, and the MCP
  endpoint's API keys (``mcp#apikey#...``) and audit records (``mcp#audit#...``), and the requests
  its ingress refused (``<integration>#refused#<time>#<request id>``, written with ``PutItem``,
  :mod:`shared.refused`) - so a function records its own refusals and can write no other's;
* ``oauth#switchboard/<stage>/<connection>`` and ``oauth#switchboard/<stage>/<connection>#*`` - the
  refresh lease of an OAuth 2.0 connection (:mod:`shared.oauth`), shared on purpose by every function
  that declares the connection: the lease is what keeps their refreshes single-flight. A function
  gets the leases of the connections its spec declares, never another's;
* ``health#<app>`` - the circuit breaker of an app (:mod:`shared.health`), shared on purpose by every
  integration that calls the app: one integration's failures open it for all. A function whose
  worker calls targets gets exactly the breakers of the apps its API connections name (one exact
  key each, no wildcard), never another app's.

The lease and breaker prefixes are why no integration may be named ``oauth`` or ``health``
(:func:`check_name`).

Which DynamoDB operations a function gets is read from code, not listed by hand: the operations the
ledger door (:class:`shared.table.Table`) makes for each of its methods, read from its source
(:func:`door_operations`), and which door methods the function's bundled code calls
(:func:`table_actions`) - every function's bundle holds :mod:`shared.ledger`, whose event leases and
step records go through the door too. ``Scan`` is refused outright: a scan names no
partition key, so ``dynamodb:LeadingKeys`` cannot scope it, and a function that could scan could read
the whole table. Scans are operators' questions (``switchboard keys list``, ``switchboard trace``),
asked with the operator's own credentials.

Which connections' values a function may read is derived from its spec as well, each in the store
:mod:`shared.store` names by the connection's kind: ``secretsmanager:GetSecretValue`` on the secrets
of its target credentials (:func:`secret_connections`), ``ssm:GetParameter`` on exactly the SSM
parameters of its signing secrets and own keys (:func:`parameter_names`), and ``kms:Decrypt`` only
through SSM (``kms:ViaService``) and only for those parameters (SSM puts the parameter's ARN in the
encryption context, ``kms:EncryptionContext:PARAMETER_ARN``): the AWS-managed ``aws/ssm`` key's id is
not known at synthesis, so the key resource is any key of the account, and the conditions are what
scope it.

The tests ask the same questions without synthesizing (``tests/infra/test_iam.py``), and check the
readings of the source against what the door calls when it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Final

from infra.cdk.naming import parameter_name, secret_name
from shared import store
from shared.health import HEALTH_PREFIX, health_key
from shared.spec import Connection, IntegrationSpec

__all__ = [
    "HEALTH_PREFIX",
    "KMS_VIA_SERVICE",
    "LEADING_KEYS",
    "OAUTH_LEASE_PREFIX",
    "PARAMETER_ARN_CONTEXT",
    "RESERVED_NAMES",
    "UNSCOPABLE_OPERATIONS",
    "breaker_keys",
    "bundle_files",
    "check_name",
    "door_operations",
    "ledger_key_patterns",
    "parameter_connections",
    "parameter_names",
    "secret_connections",
    "ssm_via",
    "table_actions",
]

ROOT: Final = Path(__file__).resolve().parents[2]
#: The condition key that scopes item operations to partition key values.
LEADING_KEYS: Final = "dynamodb:LeadingKeys"
#: The key prefix of OAuth 2.0 refresh leases (``shared/oauth.py``: ``oauth#<secret name>``).
OAUTH_LEASE_PREFIX: Final = "oauth#"
#: Integration names that would own another kind of item's keys (``<name>#*``).
RESERVED_NAMES: Final = frozenset({OAUTH_LEASE_PREFIX.rstrip("#"), HEALTH_PREFIX.rstrip("#")})
#: Operations that name no partition key: ``dynamodb:LeadingKeys`` cannot scope them.
UNSCOPABLE_OPERATIONS: Final = frozenset({"Scan"})
#: The condition keys that scope ``kms:Decrypt`` of a ``SecureString`` to SSM and to one parameter.
KMS_VIA_SERVICE: Final = "kms:ViaService"
PARAMETER_ARN_CONTEXT: Final = "kms:EncryptionContext:PARAMETER_ARN"
#: Where the ledger door lives.
_DOOR: Final = Path("shared/table.py")
_DOOR_CLASS: Final = "Table"


def check_name(spec: IntegrationSpec) -> None:
    """Refuse an integration whose name would give its role keys that are not its own."""
    if spec.name in RESERVED_NAMES:
        raise ValueError(
            f"integration name {spec.name!r} is reserved: its ledger keys ({spec.name}#...) are the "
            "OAuth refresh leases or target health items integrations share; rename the integration's folder"
        )


def ledger_key_patterns(spec: IntegrationSpec, stage: str) -> tuple[str, ...]:
    """The ``dynamodb:LeadingKeys`` patterns (``StringLike``) of ``spec``'s function on ``stage``."""
    patterns = [f"{spec.name}#*"]
    for conn in spec.all_connections:
        if conn.kind == "oauth2":
            lease = f"{OAUTH_LEASE_PREFIX}{secret_name(stage, conn.name)}"
            patterns += [lease, f"{lease}#*"]
    return tuple(patterns) + breaker_keys(spec)


def secret_connections(spec: IntegrationSpec) -> tuple[Connection, ...]:
    """The connections of ``spec``'s function kept in Secrets Manager (its target credentials)."""
    return tuple(c for c in spec.all_connections if store.store_of(c) == "secretsmanager")


def parameter_connections(spec: IntegrationSpec) -> tuple[Connection, ...]:
    """The connections of ``spec``'s function kept in SSM Parameter Store (signing secrets, own keys)."""
    return tuple(c for c in spec.all_connections if store.store_of(c) == "ssm")


def parameter_names(spec: IntegrationSpec, stage: str) -> tuple[str, ...]:
    """The SSM parameters ``spec``'s function may read on ``stage`` (``/switchboard/<stage>/<name>``)."""
    return tuple(parameter_name(stage, c.name) for c in parameter_connections(spec))


def ssm_via(region: str) -> str:
    """The ``kms:ViaService`` value of a decryption SSM asks for in ``region``."""
    return f"ssm.{region}.amazonaws.com"


def breaker_keys(spec: IntegrationSpec) -> tuple[str, ...]:
    """The circuit breakers ``spec``'s worker reads and writes: one per app its API connections call.

    Only an integration with a worker (queued triggers) has any: the breaker is consulted on the
    worker path alone (:meth:`shared.worker.WorkContext.api`).
    """
    if not spec.queued_triggers:
        return ()
    apps = {c.app for c in spec.connections if c.kind in ("api", "oauth2")}
    return tuple(health_key(app) for app in sorted(apps))


def table_actions(spec: IntegrationSpec, root: Path = ROOT) -> tuple[str, ...]:
    """The ``dynamodb:*`` actions ``spec``'s function needs, sorted.

    What each ledger-door method that the bundled code calls makes (every bundle holds
    :mod:`shared.ledger`, so every function may take event leases and write step records). A call of a door method that cannot be
    scoped (a scan) fails synthesis, naming the file.
    """
    door = door_operations(root)
    operations: set[str] = set()
    for path in bundle_files(spec.name, root):
        if path == _DOOR:  # its own calls are the client's (``self._client.scan``), read above
            continue
        for method in _called_methods(root / path, frozenset(door)):
            found = door[method]
            if found & UNSCOPABLE_OPERATIONS:
                raise ValueError(
                    f"{spec.name}: {path} calls Table.{method}, a {'/'.join(sorted(found))} that "
                    f"{LEADING_KEYS} cannot scope to the function's own keys; move it out of the "
                    "function's code (operator commands in infra/ops run with the operator's credentials)"
                )
            operations |= found
    return tuple(sorted(f"dynamodb:{op}" for op in operations))


def bundle_files(integration: str, root: Path = ROOT) -> list[Path]:
    """The Python files bundled into ``integration``'s function (the shared part if it has no folder)."""
    from infra.cdk.bundling import common_files, function_files

    try:
        files = function_files(integration, root)
    except FileNotFoundError:  # a spec defined in code (tests) has no folder: only the shared part
        files = common_files(root)
    return [f for f in files if f.suffix == ".py"]


@cache
def door_operations(root: Path = ROOT) -> dict[str, frozenset[str]]:
    """Each public method of the ledger door -> the DynamoDB operations it makes, read from its source.

    A method's operations are the client methods it names (``self._client.put_item``), plus those of
    the door methods it calls (``put_if_absent`` -> ``put`` -> ``PutItem``).
    """
    tree = ast.parse((root / _DOOR).read_text(), filename=str(_DOOR))
    (door,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == _DOOR_CLASS]
    names: dict[str, set[str]] = {}
    calls: dict[str, set[str]] = {}
    for method in door.body:
        if isinstance(method, ast.FunctionDef):
            names[method.name] = _client_methods(method, "_client")
            calls[method.name] = {
                n.func.attr
                for n in ast.walk(method)
                if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name)
                and n.func.value.id == "self"
            }

    def closure(name: str, seen: frozenset[str] = frozenset()) -> set[str]:
        found = set(names.get(name, ()))
        for callee in calls.get(name, set()) - seen - {name}:
            found |= closure(callee, seen | {name})
        return found

    return {name: frozenset(_operations(closure(name))) for name in names if not name.startswith("_")}


def _client_methods(node: ast.AST, attribute: str) -> set[str]:
    """``m`` of every ``self.<attribute>.m`` below ``node``."""
    return {
        n.attr
        for n in ast.walk(node)
        if isinstance(n, ast.Attribute)
        and isinstance(n.value, ast.Attribute)
        and n.value.attr == attribute
        and isinstance(n.value.value, ast.Name)
        and n.value.value.id == "self"
    }


def _operations(client_methods: Iterable[str]) -> set[str]:
    """boto3 client method names (``put_item``) -> DynamoDB operation names (``PutItem``)."""
    by_method = _dynamodb_operations()
    unknown = sorted(m for m in client_methods if m not in by_method)
    if unknown:
        raise ValueError(f"not DynamoDB operations: {unknown}")
    return {by_method[m] for m in client_methods}


@cache
def _dynamodb_operations() -> dict[str, str]:
    import botocore.session
    from botocore import xform_name

    model = botocore.session.get_session().get_service_model("dynamodb")
    return {xform_name(op): op for op in model.operation_names}


def _called_methods(path: Path, methods: frozenset[str]) -> frozenset[str]:
    return _calls_in(path, path.stat().st_mtime_ns) & methods


@cache
def _calls_in(path: Path, _mtime: int) -> frozenset[str]:
    """Every ``<expr>.<name>(...)`` method name called in one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return frozenset(
        n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    )
