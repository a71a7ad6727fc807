"""What the ``switchboard`` commands do; :mod:`infra.cli` only parses their arguments and prints.

Running: ``dev`` (the local runtime in the foreground), ``send`` (a signed sample to a gateway),
``invoke`` (a handler once, or a day's schedule tick); scaffolding and harnesses (``new``,
``chaos``, ``load``). Day-to-day operations - URLs, secrets, webhook subscriptions at the providers
(:mod:`infra.ops.webhooks`), dead letters, traces, API keys - work
the same way against the running local runtime (found through its state file,
``.switchboard/local.json``) and against a deployed stage (``--stage prod``, resources found by the
naming convention of :mod:`infra.cdk.naming`). :mod:`infra.ops.target` resolves which one; the other
modules only ever ask it for clients and names. Nothing here imports the CDK.
"""
