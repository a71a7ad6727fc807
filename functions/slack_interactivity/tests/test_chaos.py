"""The chaos factory of Slack clicks, on a real local runtime without the random faults: a click books
its lead once (four effects, each counted once), a double click adds nothing, and a poison click ends
in lead_followup's DLQ under the id the factory names, with nothing booked.
"""

from __future__ import annotations

import io
from collections import Counter
from typing import Any

from functions.slack_interactivity import chaos
from infra.ops.chaos.config import ChaosConfig
from infra.ops.chaos.discovery import app_hooks, factories, observers
from infra.ops.chaos.faults import set_faults
from infra.ops.chaos.protocol import Planned
from infra.ops.chaos.run import deliver, dlq_letters
from infra.ops.chaos.state import ChaosRun
from infra.ops.target import Target
from shared.registry import load_spec
from shared.spec import WebhookTrigger

[FACTORY] = chaos.FACTORIES
SPEC = load_spec("slack_interactivity")


def test_the_factory_is_discovered_for_the_route_and_its_observer_with_it() -> None:
    assert FACTORY in factories() and chaos.booked in observers()
    assert (FACTORY.integration, FACTORY.trigger, FACTORY.dlq) == (
        "slack_interactivity",
        "slack",
        "lead_followup",
    )


def test_a_click_books_once_a_double_click_adds_nothing_and_poison_is_dead_lettered(runtime: Any) -> None:
    run = ChaosRun(runtime, ChaosConfig(events=3, seed=7, faults={}), io.StringIO())
    trigger = SPEC.trigger("slack")
    assert isinstance(trigger, WebhookTrigger)
    run.triggers = {("slack_interactivity", "slack"): trigger}
    secrets = {("slack_interactivity", "slack"): str(runtime.signing_secret(SPEC, "slack"))}
    good, twice, poison = (Planned(i, 7, FACTORY, poison=i == 2) for i in range(3))
    assert FACTORY.prepare is not None
    FACTORY.prepare(run, [good, twice, poison])
    set_faults(run, app_hooks(), poison_only=True)  # the poison mark is refused for good
    for p in (good, twice, twice, poison):
        assert deliver(run, p, secrets) == 200
    assert runtime.wait_drained(60)
    seen = chaos.booked(run)
    wanted = Counter(k for p in (good, twice) for k in FACTORY.effects(p))
    assert seen == wanted  # each effect once, the double click's too; nothing of the poison click
    target = Target(
        stage=runtime.stage, region="us-east-1", endpoint=runtime.aws_endpoint, gateway=runtime.url
    )
    letters = dlq_letters(run, target)
    assert [e for e, _ in letters["lead_followup"]] == [FACTORY.build(run, poison).event_id]
    assert FACTORY.build(run, poison).event_id.startswith("book:C")  # the offer: book:<channel>:<ts>
    assert not letters["slack_interactivity"]
