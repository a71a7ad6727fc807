"""``switchboard console``: a web console for the operator, on 127.0.0.1, over what is already there.

It reads the running local runtime, or a deployed stage with the operator's own AWS credentials
(:mod:`infra.ops.target`), through the same sources the CLI reads - the integrations' JSON log lines
(:mod:`infra.console.logs`), the effects ledger and the dead-letter queues (:mod:`infra.ops.trace`,
:mod:`infra.ops.dlq`), the connections' secrets (:mod:`infra.ops.secrets`), the MCP keys and audit
(:mod:`infra.ops.keys`, :mod:`functions.mcp.audit`) and the refused requests (:mod:`shared.refused`) -
so it adds no hosted surface and no store of its own. One module per page gathers that page's data;
:mod:`infra.console.server` serves them as server-rendered Jinja2 pages, guarded as
:mod:`infra.console.security` describes.
"""
