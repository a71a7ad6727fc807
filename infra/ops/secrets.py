"""``switchboard secrets``: set and inspect a connection's secret, values masked.

A connection's secret is one JSON object whose keys are the connection's declared ``fields``
(required) and ``optional`` fields, kept where :mod:`shared.store` says by the connection's kind:
target credentials in Secrets Manager (``switchboard/<stage>/<connection>``), signing secrets and
Switchboard's own keys in an SSM ``SecureString`` parameter (``/switchboard/<stage>/<connection>``,
created by the first ``set``: CloudFormation cannot create one). ``set`` merges ``key=value``
pairs into it and refuses keys the connection does not declare (a typo would otherwise be stored and
silently ignored); ``key=-`` reads the value from the terminal (hidden) or standard input, so it stays
out of the shell history; it says per field what happened (set, cleared, unchanged). ``show`` prints
every field with its value masked.

``show --reveal`` prints values only where they are not credentials: on the local runtime, the fields
that still hold the stand-ins' fixed sample values (``Connection.local``), so a developer can sign a
test request of their own without reading source code. Anything else - a value set by hand or written
by Switchboard locally, every value of a deployed stage - stays masked; on a stage ``--reveal`` is
refused outright (real credentials are read with the AWS CLI, under the reader's own IAM permission
and CloudTrail's record).
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from infra.ops.target import (
    CliError,
    NotDeployed,
    Target,
    aws_errors,
    connections,
    operator_connections,
    operator_env,
)
from shared import store
from shared.spec import Connection

__all__ = [
    "KINDS",
    "connection_kind",
    "list_connections",
    "local_sample",
    "mask",
    "parse_assignments",
    "read_secret",
    "set_secret",
    "show_secret",
    "write_secret",
]

#: What each kind ``secrets list`` shows means (printed under the list).
KINDS = {
    "api": "credentials Switchboard calls the app with",
    "oauth2": "an OAuth 2.0 client and its tokens",
    "signing": "verifies the app's webhooks",
    "own-key": "a key of Switchboard's own (API keys its callers present, the connect-link state key)",
}

#: How ``secrets list`` names each store.
_STORE_LABEL: dict[store.Store, str] = {"secretsmanager": "secrets", "ssm": "ssm-parameter"}

#: Values shorter than this are shown as ``***`` (their first characters would be most of them).
_SHOW_PREFIX_FROM = 12


def mask(value: Any) -> str:
    """``pat…(44 chars)`` for long values, ``***`` for short ones, ``(empty)`` for empty ones."""
    text = "" if value is None else str(value)
    if not text:
        return "(empty)"
    if len(text) < _SHOW_PREFIX_FROM:
        return "***"
    return f"{text[:3]}…({len(text)} chars)"


def _connection(name: str) -> tuple[Connection, list[str]]:
    known = connections()
    if name not in known:
        operator = operator_connections().get(name)
        if operator is not None:
            variables = " / ".join(operator_env(operator, f) for f in operator.fields)
            raise CliError(
                f"{name} is not stored: no function uses it, and `switchboard webhooks register` takes it "
                f"from {variables} or asks for it"
            )
        raise CliError(f"no connection {name!r}; there are: {', '.join(known)}")
    return known[name]


def connection_kind(conn: Connection) -> str:
    """What the connection is (one of :data:`KINDS`), as declared.

    The declarations are kept honest by a test: a ``signing`` connection is one a webhook trigger
    verifies with, and every webhook trigger's secret is ``signing``.
    """
    return conn.kind


def local_sample(target: Target, conn: Connection) -> dict[str, str]:
    """The fixed sample values the local runtime stores for ``conn`` (``{sandbox}`` filled in)."""
    if not target.is_local or not target.gateway:
        return {}
    sandbox = f"{target.gateway.rstrip('/')}/_sandbox"
    return {k: v.replace("{sandbox}", sandbox) for k, v in conn.local.items()}


def _describe_fields(conn: Connection) -> str:
    fields = [f"{f} (required)" for f in conn.fields] + [f"{f} (optional)" for f in conn.optional]
    return ", ".join(fields)


def parse_assignments(
    conn: Connection, assignments: Sequence[str], stdin: TextIO | None = None
) -> dict[str, str]:
    """``["token=pat-…", "base_url=-"]`` -> ``{"token": "pat-…", "base_url": <read>}``, checked."""
    if not assignments:
        raise CliError(f"say what to set: switchboard secrets set {conn.name} <key>=<value> …")
    allowed = (*conn.fields, *conn.optional)
    values: dict[str, str] = {}
    for position, item in enumerate(assignments, 1):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            # Not echoed: a value typed without its key is likely a credential.
            raise CliError(
                f"argument {position} after the connection is not key=value "
                "(e.g. token=pat-…, or token=- to type the value)"
            )
        if key not in allowed:
            raise CliError(
                f"connection {conn.name} has no field {key!r}; its fields are: {_describe_fields(conn)}"
            )
        if key in values:
            raise CliError(f"{key} is given twice")
        if value == "-":
            value = _read_value(conn, key, stdin)
        if not value and key in conn.fields:
            raise CliError(f"{key} is required for {conn.name}; an empty value would disable the connection")
        values[key] = value
    return values


def _read_value(conn: Connection, key: str, stdin: TextIO | None) -> str:
    stream = stdin or sys.stdin
    if stream.isatty():
        return getpass.getpass(f"{conn.name}.{key}: ")
    line = stream.readline()
    if not line:
        raise CliError(f"{key}=- reads the value from standard input, which is empty")
    return line.rstrip("\r\n")


def read_secret(target: Target, connection: Connection) -> dict[str, Any]:
    """A connection's secret as its JSON object, from its store.

    Every command that reads a connection's fields reads them here, so a secret that is not a JSON
    object is the same one-line error that says how to mend it, wherever it is met. A parameter not
    written yet reads as ``{}`` (every field "not set"): it is created by the first ``secrets set``.
    A secret not there is the AWS error (the stack creates every secret).
    """
    name = target.stored_name(connection)
    what = store.describe(connection, name)
    with aws_errors(target, f"reading {what}"):
        raw = store.read_value(target.store_client(connection), connection, name)
    if raw is None and store.store_of(connection) == "ssm":
        return {}
    if raw is None:
        raise NotDeployed(f"reading {what}: not found in {target.where} (the stack creates every secret)")
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise CliError(f"{what} does not hold a JSON object; set every field again with `secrets set`")
    return value


def write_secret(target: Target, connection: Connection, value: dict[str, Any]) -> None:
    """Store ``value`` as the connection's secret, in its store (a parameter as a ``SecureString``)."""
    name = target.stored_name(connection)
    with aws_errors(target, f"writing {store.describe(connection, name)}"):
        store.write_value(target.store_client(connection), connection, name, json.dumps(value))


def set_secret(target: Target, connection: str, assignments: Sequence[str], out: TextIO) -> None:
    conn, used_by = _connection(connection)
    values = parse_assignments(conn, assignments)
    name = target.stored_name(conn)
    current = read_secret(target, conn)
    merged = {**current, **values}
    for key, value in values.items():
        if not value:  # an empty optional field: remove it
            merged.pop(key, None)
    outcome = _outcome(current, values)
    if merged != current:
        write_secret(target, conn, merged)
    out.write(f"{name}: {outcome} (values not shown)\n")
    missing = [f for f in conn.fields if not merged.get(f)]
    if missing:
        out.write(
            f"  still missing (required): {', '.join(missing)} - {', '.join(used_by)} will fail until set\n"
        )
    if merged != current and not target.is_local:
        out.write("  functions read it within 5 minutes (their secret cache)\n")


def _outcome(current: dict[str, Any], values: dict[str, str]) -> str:
    """What ``set`` did, per field: ``set a; cleared b; unchanged c (same value), d (was not set)``."""
    done: dict[str, list[str]] = {"set": [], "cleared": [], "unchanged": []}
    for key in sorted(values):
        value = values[key]
        if not value and key in current:
            done["cleared"].append(key)
        elif not value:
            done["unchanged"].append(f"{key} (was not set)")
        elif current.get(key) == value:
            done["unchanged"].append(f"{key} (same value)")
        else:
            done["set"].append(key)
    parts = [f"{what} {', '.join(keys)}" for what, keys in done.items() if keys]
    if not done["set"] and not done["cleared"]:
        parts.append("nothing written")
    return "; ".join(parts)


def show_secret(target: Target, connection: str, out: TextIO, *, reveal: bool = False) -> None:
    conn, used_by = _connection(connection)
    name = target.stored_name(conn)
    if reveal and not target.is_local:
        read = (
            f"aws ssm get-parameter --with-decryption --name {name}"
            if store.store_of(conn) == "ssm"
            else f"aws secretsmanager get-secret-value --secret-id {name}"
        )
        raise CliError(
            f"--reveal works on the local runtime only, where values are the stand-ins' samples; on "
            f"{target.where} they are real credentials: read one with `{read}` "
            "(your IAM permission, recorded by CloudTrail)"
        )
    value = read_secret(target, conn)
    samples = local_sample(target, conn) if reveal else {}
    out.write(f"{name}  ({conn.app}, {connection_kind(conn)}; used by {', '.join(used_by)})\n")
    width = max(len(k) for k in (*conn.fields, *conn.optional, *value))
    kept = 0
    for key in (*conn.fields, *conn.optional):
        kind = "required" if key in conn.fields else "optional"
        if key in value:
            shown = _shown(value[key], samples.get(key), reveal)
            if shown.endswith(_KEPT):
                kept += 1
        else:
            shown = "(not set)" + (
                "  <- the connection fails closed without it" if kind == "required" else ""
            )
        out.write(f"  {key:<{width}}  {kind:<8}  {shown}\n")
    for key in sorted(set(value) - {*conn.fields, *conn.optional}):
        if key.startswith("_"):
            continue  # CloudFormation's generated placeholder key; the runtime ignores it
        out.write(f"  {key:<{width}}  {'unknown':<8}  {mask(value[key])}  <- not declared; ignored\n")
    if reveal:
        out.write("Shown: the local stand-ins' fixed sample values, not credentials.")
        if kept:
            out.write(" Masked: values set here or written by Switchboard, which may be real.")
        out.write("\n")


#: Marks a field ``--reveal`` kept masked.
_KEPT = "(masked: not a local sample value)"


def _shown(value: Any, sample: str | None, reveal: bool) -> str:
    if not reveal:
        return mask(value)
    if sample is not None and value == sample:
        return str(value)
    return f"{mask(value)}  {_KEPT}"


def list_connections(target: Target, out: TextIO) -> None:
    known = connections()
    width = max(len(target.stored_name(conn)) for conn, _ in known.values())
    out.write(f"{'SECRET':<{width}}  {'APP':<18} {'KIND':<8} {'STORE':<14} USED BY\n")
    for conn, used_by in known.values():
        out.write(
            f"{target.stored_name(conn):<{width}}  {conn.app:<18} {connection_kind(conn):<8} "
            f"{_STORE_LABEL[store.store_of(conn)]:<14} {', '.join(used_by)}\n"
        )
    out.write("KIND: " + "; ".join(f"{kind} = {meaning}" for kind, meaning in KINDS.items()) + "\n")
    out.write(
        "Inspect one: switchboard secrets show <connection> [--reveal: local sample values]   "
        "set: switchboard secrets set <connection> key=value\n"
    )
