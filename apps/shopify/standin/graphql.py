"""Just enough GraphQL for the Shopify stand-in: parse one operation, run it over dicts, price it.

Not a GraphQL server: no schema, no fragments by name, no introspection. What it does is what the
stand-in needs to answer Switchboard's client (and any client asking the same things) as the Admin API
would: the operation's selection sets with aliases and inline fragments (``... on InventoryItem``),
arguments and directives (``@idempotent(key: $key)``) with variables and literals, and an answer that
holds exactly the fields asked for. A field the stand-in's objects lack is refused as Shopify refuses
it before running anything: ``{"errors": [{"message": "Field 'x' doesn't exist on type 'Y'",
"extensions": {"code": "undefinedField", "typeName": "Y", "fieldName": "x"}}]}`` (the shape Shopify's
validation errors have; https://shopify.dev/docs/api/admin-graphql#status-and-error-codes).

Objects are dicts with a ``__typename``; a field that takes arguments is a callable ``args -> value``.

Query cost follows Shopify's published rules, simplified
(https://shopify.dev/docs/api/usage/limits#cost-calculation): a scalar or enum field costs 0, an
object 1, a connection 2 plus ``first`` times the cost of one of its nodes, a ``nodes(ids:)`` list
one per id plus its nodes, and a mutation 10. :func:`requested_cost` prices the selection before it
runs (what the bucket must hold), :func:`actual_cost` what the answer really held.

The grammar is GraphQL's (https://spec.graphql.org/October2021/), cut to the parts above; anything
else is a syntax error in GraphQL's error shape (``{"message", "locations"}``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "Document",
    "Field",
    "GraphQLSyntaxError",
    "UndefinedField",
    "actual_cost",
    "execute",
    "parse",
    "requested_cost",
]

_TOKEN: Final = re.compile(
    r"""(?P<skip>[\s,\ufeff]+|\#[^\n]*)
      |(?P<spread>\.\.\.)
      |(?P<punct>[!$():=@\[\]{}|])
      |(?P<string>"(?:\\.|[^"\\\n])*")
      |(?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      |(?P<name>[_A-Za-z][_0-9A-Za-z]*)""",
    re.VERBOSE,
)
_MUTATION_COST: Final = 10


class GraphQLSyntaxError(ValueError):
    """The document is not GraphQL the stand-in reads; ``position`` is the character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


class UndefinedField(LookupError):
    def __init__(self, type_name: str, field_name: str) -> None:
        super().__init__(f"Field '{field_name}' doesn't exist on type '{type_name}'")
        self.type_name = type_name
        self.field_name = field_name


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class Field:
    name: str
    alias: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)
    directives: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: ``None`` for a leaf; else the selections (fields, or ``(type, selections)`` inline fragments).
    selections: tuple[Field | tuple[str, tuple[Any, ...]], ...] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True)
class Document:
    kind: str  # "query" or "mutation"
    name: str | None
    selections: tuple[Field | tuple[str, tuple[Any, ...]], ...]


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None:
                raise GraphQLSyntaxError(f"Parse error on {text[position]!r}", position)
            kind = match.lastgroup or ""
            if kind != "skip":
                self.tokens.append((kind, match.group(), position))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", "", -1)

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        token_kind, token, position = self.peek()
        if (value is not None and token != value) or (kind is not None and token_kind != kind):
            shown = token or "end of document"
            raise GraphQLSyntaxError(f"Parse error on {shown!r}, expected {value or kind}", position)
        self.index += 1
        return token

    def at(self, value: str) -> bool:
        return self.peek()[1] == value

    def document(self) -> Document:
        kind, name = "query", None
        if self.peek()[1] in ("query", "mutation"):
            kind = self.take()
            if self.peek()[0] == "name":
                name = self.take()
            if self.at("("):
                self.variable_definitions()
            self.directives()
        selections = self.selection_set()
        if self.peek()[0] != "end":
            raise GraphQLSyntaxError("only one operation per document is served", self.peek()[2])
        return Document(kind, name, selections)

    def variable_definitions(self) -> None:
        self.take("(")
        while not self.at(")"):
            self.take("$")
            self.take(kind="name")
            self.take(":")
            self.type_ref()
            if self.at("="):
                self.take("=")
                self.value()
        self.take(")")

    def type_ref(self) -> None:
        if self.at("["):
            self.take("[")
            self.type_ref()
            self.take("]")
        else:
            self.take(kind="name")
        if self.at("!"):
            self.take("!")

    def selection_set(self) -> tuple[Field | tuple[str, tuple[Any, ...]], ...]:
        self.take("{")
        selections: list[Field | tuple[str, tuple[Any, ...]]] = []
        while not self.at("}"):
            if self.peek()[0] == "spread":
                self.take()
                if not self.at("on"):
                    raise GraphQLSyntaxError("named fragments are not served", self.peek()[2])
                self.take("on")
                type_name = self.take(kind="name")
                selections.append((type_name, self.selection_set()))
            else:
                selections.append(self.field())
        self.take("}")
        if not selections:
            raise GraphQLSyntaxError("a selection set cannot be empty", self.peek()[2])
        return tuple(selections)

    def field(self) -> Field:
        name, alias = self.take(kind="name"), None
        if self.at(":"):
            self.take(":")
            alias, name = name, self.take(kind="name")
        args = self.arguments() if self.at("(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.at("{") else None
        return Field(name, alias, args, directives, selections)

    def arguments(self) -> dict[str, Any]:
        self.take("(")
        args: dict[str, Any] = {}
        while not self.at(")"):
            name = self.take(kind="name")
            self.take(":")
            args[name] = self.value()
        self.take(")")
        return args

    def directives(self) -> dict[str, Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        while self.at("@"):
            self.take("@")
            name = self.take(kind="name")
            found[name] = self.arguments() if self.at("(") else {}
        return found

    def value(self) -> Any:
        kind, token, _ = self.peek()
        if token == "$":
            self.take("$")
            return Variable(self.take(kind="name"))
        if token == "[":
            self.take("[")
            items = []
            while not self.at("]"):
                items.append(self.value())
            self.take("]")
            return items
        if token == "{":
            self.take("{")
            obj = {}
            while not self.at("}"):
                key = self.take(kind="name")
                self.take(":")
                obj[key] = self.value()
            self.take("}")
            return obj
        self.take()
        if kind == "string":
            return json.loads(token)
        if kind == "number":
            return float(token) if any(c in token for c in ".eE") else int(token)
        if kind == "name":
            return {"true": True, "false": False, "null": None}.get(token, token)  # enums stay text
        raise GraphQLSyntaxError(f"Parse error on {token!r}, expected a value", self.peek()[2])


def parse(text: str) -> Document:
    return _Parser(text).document()


def resolve_args(args: Mapping[str, Any], variables: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments with their variables filled in (a missing variable is ``None``, as GraphQL's null)."""

    def fill(value: Any) -> Any:
        if isinstance(value, Variable):
            return variables.get(value.name)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value

    return {k: fill(v) for k, v in args.items()}


def execute(
    obj: Mapping[str, Any],
    selections: tuple[Field | tuple[str, tuple[Any, ...]], ...],
    variables: Mapping[str, Any],
) -> dict[str, Any]:
    """The answer to ``selections`` on ``obj``: exactly the fields asked for, under their aliases."""
    out: dict[str, Any] = {}
    type_name = str(obj.get("__typename", "Object"))
    for selection in selections:
        if isinstance(selection, tuple):
            fragment_type, inner = selection
            if fragment_type == type_name:
                out.update(execute(obj, inner, variables))
            continue
        if selection.name == "__typename":
            out[selection.key] = type_name
            continue
        if selection.name not in obj:
            raise UndefinedField(type_name, selection.name)
        value = obj[selection.name]
        if callable(value):
            value = value(resolve_args(selection.args, variables))
        out[selection.key] = _shape(value, selection, variables)
    return out


def _shape(value: Any, selection: Field, variables: Mapping[str, Any]) -> Any:
    if selection.selections is None or value is None:
        return value
    if isinstance(value, list):
        return [_shape(v, selection, variables) for v in value]
    if isinstance(value, Mapping):
        return execute(value, selection.selections, variables)
    return value


def requested_cost(doc: Document, variables: Mapping[str, Any]) -> int:
    """What the bucket must hold before the operation runs (Shopify's rules, simplified)."""
    if doc.kind == "mutation":
        return _MUTATION_COST * sum(1 for s in doc.selections if isinstance(s, Field))
    return _selection_cost(doc.selections, variables)


def _selection_cost(
    selections: tuple[Field | tuple[str, tuple[Any, ...]], ...] | None, variables: Mapping[str, Any]
) -> int:
    total = 0
    for selection in selections or ():
        if isinstance(selection, tuple):
            total += _selection_cost(selection[1], variables)
            continue
        if selection.selections is None:
            continue
        args = resolve_args(selection.args, variables)
        inner = _selection_cost(selection.selections, variables)
        if isinstance(args.get("first"), int):
            total += 2 + args["first"] * (1 + inner)
        elif selection.name == "nodes" and isinstance(args.get("ids"), list):
            total += len(args["ids"]) * (1 + inner)
        elif selection.name in ("nodes", "edges", "node"):
            total += inner  # a connection's nodes: one node's objects, priced by the connection's ``first``
        else:
            total += 1 + inner
    return total


def actual_cost(doc: Document, data: Any) -> int:
    """What the answer held: one point per object returned (a mutation: its fixed price)."""
    if doc.kind == "mutation":
        return _MUTATION_COST * sum(1 for s in doc.selections if isinstance(s, Field))
    return max(1, _objects(data) - 1)


def _objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(_objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(_objects(v) for v in value)
    return 0
