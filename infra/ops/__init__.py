"""Day-to-day operations behind the ``switchboard`` command: URLs, secrets, dead letters, traces.

Every command works the same way against the running local runtime (found through its state file,
``.switchboard/local.json``) and against a deployed stage (``--stage prod``, resources found by the
naming convention of :mod:`infra.cdk.naming`). :mod:`infra.ops.target` resolves which one; the other
modules only ever ask it for clients and names. Nothing here imports the CDK.
"""
