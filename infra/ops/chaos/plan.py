"""The events of a run and the order of their deliveries, from the seed alone."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import NamedTuple

from infra.ops.chaos.config import ChaosConfig
from infra.ops.chaos.protocol import EventFactory, Planned

__all__ = ["REORDER_DUP", "REORDER_SPREAD", "Delivery", "plan"]

#: Under ``--reorder``, each version of an entity is also delivered again with this probability
#: (besides the run's ``dup`` rate), some time later.
REORDER_DUP = 0.5
#: How many deliveries later (at most) an entity's other versions arrive: far enough apart that
#: the shuffled order reaches the workers, near enough that they meet in the queue.
REORDER_SPREAD = 40


class Delivery(NamedTuple):
    """One POST of the schedule: which event, whether it is a re-send, and which version of it."""

    event: Planned
    duplicate: bool
    version: int = 0


def _choose(factories: Sequence[EventFactory], rng: random.Random) -> EventFactory:
    return rng.choices(list(factories), weights=[f.weight for f in factories])[0]


def plan(config: ChaosConfig, factories: Sequence[EventFactory]) -> tuple[list[Planned], list[Delivery]]:
    """The events and the order of deliveries, from the seed alone.

    A duplicate is either sent at the same moment as the first delivery (the next two deliveries run
    on two sender threads at once) or later, after a random number of other deliveries.

    Sequence factories (those with ``versions``) take part only under ``config.reorder``: an entity's
    versions are put in a random order, the first of them at the entity's place and the others a
    few to :data:`REORDER_SPREAD` deliveries later, and each is re-sent later with probability
    :data:`REORDER_DUP`. Sequence events are never poison (their judge is the final state), nor are a
    factory's that cannot make one (``poisonable``); the draw is made anyway, so the rest of the plan
    does not move.
    """
    rng = random.Random(config.seed)
    usable = [f for f in factories if f.versions is None or config.reorder]
    events: list[Planned] = []
    for i in range(config.events):
        made = _choose(usable, rng)
        poison = rng.random() < config.rate("poison")
        events.append(Planned(i, config.seed, made, poison and made.versions is None and made.poisonable))
    schedule: list[Delivery] = []
    later: dict[int, list[Delivery]] = {}
    for i, p in enumerate(events):
        versions = list(range(p.factory.count(p)))
        if len(versions) > 1:
            rng.shuffle(versions)
            for version in versions[1:]:
                later.setdefault(i + rng.randint(1, REORDER_SPREAD), []).append(Delivery(p, False, version))
            for version in versions:
                if rng.random() < REORDER_DUP:
                    later.setdefault(i + rng.randint(1, 2 * REORDER_SPREAD), []).append(
                        Delivery(p, True, version)
                    )
        schedule.append(Delivery(p, False, versions[0]))
        if rng.random() < config.rate("dup"):
            if rng.random() < 0.5:
                schedule.append(Delivery(p, True, versions[0]))  # concurrently
            else:
                later.setdefault(i + rng.randint(5, 300), []).append(Delivery(p, True, versions[0]))
        schedule.extend(later.pop(i, []))
    for pending in later.values():
        schedule.extend(pending)
    return events, schedule
