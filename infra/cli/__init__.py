"""``switchboard``: run Switchboard locally, send sample events, invoke a handler, and operate it.

    switchboard dev [--port 8787] [--once] [--no-replay]
    switchboard send <integration> <event-file> [--url URL] [--stage STAGE]
    switchboard invoke <integration> <event-file> [--ingress-only] [--json] | --date YYYY-MM-DD [--resend] [--queue]
    switchboard urls                                   [--stage STAGE] [--region REGION]
    switchboard secrets list | show <connection> [--reveal] | set <connection> key=value …
    switchboard webhooks register|list|remove <integration> [--rotate] [--base-url URL]
    switchboard connect <app> [--connection NAME] [--valid-for MINUTES] [--stage STAGE]
    switchboard dlq list [<integration>] | show <id> | replay <id> | redrive <integration>
    switchboard status                                 [--stage STAGE] [--json]
    switchboard cost [--events-per-month N] [--stage STAGE] [--integration NAME] [--free-tier] [--json|--markdown]
    switchboard doctor                                 [--stage STAGE] [--json]
    switchboard trace <event-id> [--since 7d]
    switchboard console [--stage STAGE] [--port 8790]
    switchboard sandbox list | state <app> | break <app> [--status 400] [--times N] | fix <app>
    switchboard openapi [--server URL] [--tools [--format mcp|openai|anthropic]]
    switchboard keys create --name N --tools a,b [--per-minute 30] [--per-day 1000] | list | revoke <id>
    switchboard audit [--key ID] [--tool NAME] [--since 1h] [--limit N] [--json] [--stage STAGE]
    switchboard new <name> --trigger webhook|schedule|event --app <app>
    switchboard chaos [--events N] [--seed S] [--faults 5xx=0.2,…] [--json]
    switchboard load [--rps R] [--seconds T] [--json]

One module per command group parses its arguments and prints (:mod:`infra.cli.core` says what a
group is); what the commands do lives in :mod:`infra.ops`. The operations commands (``urls``,
``secrets``, ``dlq``, ``trace``, ``keys``, ``audit``) act on the running local runtime, or with
``--stage <name>`` on that deployed stage. Every error a user can cause is a one-line
``switchboard: ...`` message that says what to fix, and exit status 2; an operation that was
understood but failed exits 1.
"""

from __future__ import annotations

import sys

from infra.cli import (
    ai,
    audit,
    connect,
    console,
    cost,
    dev,
    dlq,
    doctor,
    harness,
    invoke,
    new,
    sandbox,
    send,
    setup,
    status,
    trace,
    urls_secrets,
    webhooks,
)
from infra.cli.core import Register, build_parser
from infra.ops.target import CliError, OperationFailed

__all__ = ["GROUPS", "CliError", "main"]

#: Every command group, in the order ``switchboard --help`` lists them. A new group is a module
#: with a ``register(commands)`` function, added here.
GROUPS: tuple[Register, ...] = (
    dev.register,
    send.register,
    invoke.register,
    urls_secrets.register,
    connect.register,
    webhooks.register,
    dlq.register,
    status.register,
    cost.register,
    doctor.register,
    setup.register,
    trace.register,
    console.register,
    sandbox.register,
    harness.register,
    ai.register,
    audit.register,
    new.register,
)


def main(argv: list[str] | None = None) -> int:
    args = build_parser(GROUPS).parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except CliError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except OperationFailed as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
