"""Switchboard on AWS: the CDK app, its two stacks and the one construct every integration is built from.

Nothing here knows about a particular integration. :mod:`infra.cdk.app` loops over
:func:`shared.registry.load_specs`; :class:`infra.cdk.integration.Integration` turns one spec into its
function, queues, routes, rules, schedules, grants, alarms and outputs.
"""
