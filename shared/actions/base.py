"""The action type: one target operation, declared once, called by handlers and by AI tools alike.

An :class:`Action` is what an integration *does* to a target - create or update a CRM contact, post
a Slack message, send an email, read stock - with a pydantic input model, an output model and a
one-line description. The worker handlers call actions inside their ledger steps; the MCP function
lists the same actions as tools and calls them; the OpenAPI document and the function-calling
schemas are generated from them. So an operation's contract is written once.

An action's ``run`` calls the app's typed client (``apps/<app>/``); it never speaks HTTP
itself, and it has no idempotency of its own: the caller wraps it (``WorkContext.step`` on the
worker path, the MCP function's idempotency key on the tool path).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from shared.app import App
    from shared.http import ApiClient
    from shared.runtime import Runtime
    from shared.spec import Connection

__all__ = ["Action", "ActionContext", "tool_name"]

InT = TypeVar("InT", bound=BaseModel)
OutT = TypeVar("OutT", bound=BaseModel)


class ActionContext(Protocol):
    """What an action needs from its caller: the runtime (AWS clients, settings) and app clients.

    :class:`shared.worker.WorkContext` and :class:`shared.sync.RouteContext` both satisfy it, and so
    does the MCP function's tool context - an action runs the same way wherever it is called from.
    """

    rt: Runtime

    def api(self, app: App, connection: Connection) -> ApiClient: ...


def tool_name(action_name: str) -> str:
    """The name an AI model calls an action by: ``crm.upsert_contact`` -> ``crm_upsert_contact``.

    Function-calling APIs (OpenAI, Anthropic) accept ``^[a-zA-Z0-9_-]{1,64}$`` only - no dots - and
    MCP clients often forward tool names to them unchanged, so tools use this form everywhere.
    """
    return action_name.replace(".", "_")


@dataclass(frozen=True)
class Action(Generic[InT, OutT]):
    """One target operation. See the module docstring."""

    #: ``<domain>.<verb>`` - ``crm.upsert_contact``; one per app (two apps may perform the same one).
    name: str
    #: One line, for people and for models choosing a tool.
    description: str
    input: type[InT]
    output: type[OutT]
    #: The app that does it (``hubspot``), for docs and for the tools' annotations.
    app: str
    #: The credentials it needs; a host function (the MCP function) declares them as its connections.
    connections: tuple[Connection, ...]
    #: ``run(ctx, input) -> output``: calls the app's typed client.
    run: Callable[[ActionContext, InT], OutT]
    #: False for reads: nothing changes at the target, so no idempotency key is needed.
    effect: bool = True
    #: Deletes or overwrites wholesale (cancel an event, replace a guest list): MCP clients ask the
    #: person before calling a tool marked so (``destructiveHint``).
    destructive: bool = False
    #: Input fields the *deployment* decides, never the caller: input field -> the host's settings
    #: field (``{"from_address": "from_address"}`` - a model must not choose the sender). Hidden from
    #: tool schemas and filled from the host integration's settings.
    config: Mapping[str, str] = field(default_factory=dict)
    #: Sends email through SES (the host needs an ``EmailSender`` for the grant).
    sends_email: bool = False
    #: Input fields of the domain's contract this app does not take (QuickBooks books a line to its
    #: item, so it has no use for a line account): hidden from its tool schema, refused if given.
    unused: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        domain, dot, verb = self.name.partition(".")
        if not dot or not domain.isidentifier() or not verb.isidentifier():
            raise ValueError(f"action name {self.name!r} must be <domain>.<verb>, e.g. crm.upsert_contact")
        if not self.description or "\n" in self.description:
            raise ValueError(f"{self.name}: the description must be one line")
        for kind, names in (("config", self.config), ("unused", self.unused)):
            unknown = set(names) - set(self.input.model_fields)
            if unknown:
                raise ValueError(f"{self.name}: {kind} names fields the input model lacks: {sorted(unknown)}")
        if set(self.config) & set(self.unused):
            raise ValueError(f"{self.name}: a field cannot be both config and unused")

    def __call__(self, ctx: ActionContext, data: InT) -> OutT:
        if not isinstance(data, self.input):
            raise TypeError(f"{self.name} takes {self.input.__name__}, not {type(data).__name__}")
        given = [name for name in self.unused if getattr(data, name, None) is not None]
        if given:
            from shared.errors import InvalidEvent

            raise InvalidEvent(f"{self.name} in {self.app} takes no {', '.join(given)}: leave it unset")
        result = self.run(ctx, data)
        if not isinstance(result, self.output):  # pragma: no cover - a bug in the action itself
            raise TypeError(f"{self.name} returned {type(result).__name__}, not {self.output.__name__}")
        return result

    @property
    def tool_name(self) -> str:
        return tool_name(self.name)

    def input_schema(self) -> dict[str, Any]:
        """The JSON Schema a caller fills in: the input model without the deployment's config fields."""
        schema = copy.deepcopy(self.input.model_json_schema(mode="validation"))
        for name in (*self.config, *self.unused):
            schema.get("properties", {}).pop(name, None)
            if name in schema.get("required", []):
                schema["required"].remove(name)
        if "required" in schema and not schema["required"]:
            del schema["required"]
        return schema

    def output_schema(self) -> dict[str, Any]:
        return self.output.model_json_schema(mode="serialization")

    def function_schema(self) -> dict[str, Any]:
        """The action as a function-calling tool (``{"name", "description", "parameters"}``)."""
        return {"name": self.tool_name, "description": self.description, "parameters": self.input_schema()}
