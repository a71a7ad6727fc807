"""``switchboard secrets``: set and inspect a connection's secret without ever printing a value.

A connection's secret is one JSON object (``switchboard/<stage>/<connection>``) whose keys are the
connection's declared ``fields`` (required) and ``optional`` fields. ``set`` merges ``key=value``
pairs into it and refuses keys the connection does not declare (a typo would otherwise be stored and
silently ignored); ``key=-`` reads the value from the terminal (hidden) or standard input, so it stays
out of the shell history. ``show`` prints every field with its value masked.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from infra.ops.target import CliError, Target, aws_errors, connections
from shared.spec import Connection

__all__ = ["list_connections", "mask", "parse_assignments", "read_secret", "set_secret", "show_secret"]

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
        raise CliError(f"no connection {name!r}; there are: {', '.join(known)}")
    return known[name]


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


def read_secret(target: Target, connection: Connection | str) -> dict[str, Any]:
    """A connection's secret as its JSON object (by connection, or by the secret's full name).

    Every command that reads a connection's fields reads them here, so a secret that is not a JSON
    object is the same one-line error that says how to mend it, wherever it is met.
    """
    name = target.secret_name(connection.name) if isinstance(connection, Connection) else connection
    with aws_errors(target, f"reading secret {name}"):
        raw = target.client("secretsmanager").get_secret_value(SecretId=name).get("SecretString") or "{}"
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise CliError(f"secret {name} does not hold a JSON object; set every field again with `secrets set`")
    return value


def set_secret(target: Target, connection: str, assignments: Sequence[str], out: TextIO) -> None:
    conn, used_by = _connection(connection)
    values = parse_assignments(conn, assignments)
    name = target.secret_name(conn.name)
    current = read_secret(target, name)
    merged = {**current, **values}
    for key, value in values.items():
        if not value:  # an empty optional field: remove it
            merged.pop(key, None)
    with aws_errors(target, f"writing secret {name}"):
        target.client("secretsmanager").put_secret_value(SecretId=name, SecretString=json.dumps(merged))
    missing = [f for f in conn.fields if not merged.get(f)]
    out.write(f"{name}: set {', '.join(sorted(values))} (values not shown)\n")
    if missing:
        out.write(
            f"  still missing (required): {', '.join(missing)} - {', '.join(used_by)} will fail until set\n"
        )
    if not target.is_local:
        out.write("  functions read it within 5 minutes (their secret cache)\n")


def show_secret(target: Target, connection: str, out: TextIO) -> None:
    conn, used_by = _connection(connection)
    name = target.secret_name(conn.name)
    value = read_secret(target, name)
    out.write(f"{name}  ({conn.app}, {conn.kind}; used by {', '.join(used_by)})\n")
    width = max(len(k) for k in (*conn.fields, *conn.optional, *value))
    for key in (*conn.fields, *conn.optional):
        kind = "required" if key in conn.fields else "optional"
        if key in value:
            shown = mask(value[key])
        else:
            shown = "(not set)" + (
                "  <- the connection fails closed without it" if kind == "required" else ""
            )
        out.write(f"  {key:<{width}}  {kind:<8}  {shown}\n")
    for key in sorted(set(value) - {*conn.fields, *conn.optional}):
        if key.startswith("_"):
            continue  # CloudFormation's generated placeholder key; the runtime ignores it
        out.write(f"  {key:<{width}}  {'unknown':<8}  {mask(value[key])}  <- not declared; ignored\n")


def list_connections(target: Target, out: TextIO) -> None:
    known = connections()
    width = max(len(target.secret_name(n)) for n in known)
    out.write(f"{'SECRET':<{width}}  {'APP':<18} {'KIND':<8} USED BY\n")
    for name, (conn, used_by) in known.items():
        out.write(
            f"{target.secret_name(name):<{width}}  {conn.app:<18} {conn.kind:<8} {', '.join(used_by)}\n"
        )
    out.write(
        "Inspect one: switchboard secrets show <connection>   set: switchboard secrets set <connection> key=value\n"
    )
