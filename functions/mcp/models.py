"""Models of the MCP function: its settings, the JSON-RPC message shape its route takes, and the
approval decision its worker takes.

The MCP SDK parses and validates the protocol messages itself; :class:`JsonRpcMessage` only states
the shape for the OpenAPI document. :class:`ApprovalDecision` is what its queue carries: a click on
an approval request's Approve or Reject button (:mod:`functions.mcp.approvals`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

__all__ = ["ApprovalDecision", "JsonRpcMessage", "Settings", "normal_origin"]


def normal_origin(value: str) -> str:
    """An origin as browsers send it: ``scheme://host[:port]``, lower case, no path or trailing slash.

    A setting that is not one (a path, a wildcard, ``null``) is refused at deployment, not matched
    against nothing at runtime.
    """
    text = value.strip().lower().rstrip("/")
    scheme, sep, rest = text.partition("://")
    if (
        scheme not in ("http", "https")
        or not sep
        or not rest
        or any(c in rest for c in "/?#@* ")
        or rest.startswith(":")
    ):
        raise ValueError(
            f"{value!r} is not an origin: give scheme://host[:port], e.g. https://claude.ai or http://localhost:6274"
        )
    return text


Origin = Annotated[str, AfterValidator(normal_origin)]


class Settings(BaseModel):
    """The MCP function's configuration, per stage (CDK context ``settings.mcp``).

    Fields named by an action's ``config`` (``shared/actions``) are decided here, never by the
    caller: the From address of ``email.send``, the locations ``stock.get`` counts, the QuickBooks
    account and currency of ``accounting.*``, the calendar of ``calendar.*``. A tool whose config is
    not set is not offered.
    """

    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)

    #: Sender of ``email.send`` (a verified SES identity; the function may send from it only).
    from_address: str | None = None
    #: Square locations ``stock.get`` sums (the shops that sell online orders).
    stock_location_ids: tuple[str, ...] = ()
    #: Square locations whose takings ``payments.list`` lists.
    sales_location_ids: tuple[str, ...] = ()
    #: QuickBooks account ``accounting.record_sale`` / ``record_refund`` book into (and refund from).
    quickbooks_deposit_account: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    #: QuickBooks item of a line that names none.
    quickbooks_default_item: str | None = Field(default=None, pattern=r"^\d{1,20}$")
    #: The QuickBooks company's home currency: the only one the accounting tools book in.
    home_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    #: The Google calendar the ``calendar.*`` tools work on (``primary``, or a calendar id).
    calendar_id: str | None = Field(default=None, min_length=1, max_length=300)
    #: Whether Google emails the guests itself when a ``calendar.*`` tool changes an event.
    google_send_updates: Literal["none", "all", "externalOnly"] = "none"
    #: Days audit records are kept (then deleted by the table's TTL).
    audit_days: int = Field(default=90, ge=1, le=3650)
    #: Name and version the server reports to MCP clients.
    server_name: str = "switchboard"
    #: Browser origins whose pages may call ``/mcp`` (``https://claude.ai``): a request with any other
    #: ``Origin`` header is refused (403), as the MCP transport requires against DNS rebinding. A request
    #: without ``Origin`` - every non-browser client - is not affected. Empty: no browser page may call.
    allowed_origins: tuple[Origin, ...] = ()
    #: Slack channel (``#name`` or a ``C…`` id) where approval requests are posted. A tool that
    #: needs approval is offered only when this is set: without it nobody could say yes.
    approval_channel: str | None = Field(
        default=None, pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,20})$"
    )
    #: Whether every tool marked destructive (cancelling a meeting, removing guests) needs approval.
    approve_destructive: bool = True
    #: Tools that need approval besides the destructive ones (``accounting_record_refund``: money out).
    approval_tools: tuple[str, ...] = ("accounting_record_refund",)
    #: Slack user ids (``U…``) who may approve; empty: anyone who can click in the channel.
    approvers: tuple[str, ...] = ()
    #: Hours an approval request stays open; after that it is expired and nothing is done.
    approval_hours: int = Field(default=24, ge=1, le=168)

    @field_validator("approval_tools")
    @classmethod
    def _known_tools(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from shared.actions import every_action, tool_name

        known = {a.tool_name for a in every_action() if a.effect}
        names = tuple(tool_name(v.strip()) for v in value)
        unknown = sorted(set(names) - known)
        if unknown:
            raise ValueError(
                f"approval_tools names {', '.join(unknown)}, which change nothing or do not exist; "
                f"tools that change something: {', '.join(sorted(known))}"
            )
        return names

    @field_validator("approvers")
    @classmethod
    def _slack_users(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not v.startswith(("U", "W")) or not v[1:].isalnum()]
        if bad:
            raise ValueError(f"approvers must be Slack user ids (U…): {', '.join(bad)}")
        return value


class JsonRpcMessage(BaseModel):
    """A JSON-RPC 2.0 request or notification, as MCP clients POST it to ``/mcp``."""

    model_config = ConfigDict(extra="allow", frozen=True)

    jsonrpc: str = Field(pattern=r"^2\.0$")
    method: str = Field(min_length=1, description="initialize, tools/list, tools/call, ping ...")
    id: str | int | None = Field(default=None, description="absent for a notification")
    params: dict[str, Any] | None = None


class ApprovalDecision(BaseModel):
    """A click on an approval request's Approve or Reject button (from ``chat.button_clicked``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    approval_id: str = Field(pattern=r"^apr_[0-9a-f]{24}$")
    approve: bool
    user_id: str = Field(min_length=1, max_length=40)
    user_name: str | None = Field(default=None, max_length=200)
    channel: str = Field(min_length=1, max_length=40)
    message_ts: str = Field(min_length=1, max_length=40)
