"""The events of a run and the order of their deliveries, from the seed alone."""

from __future__ import annotations

import random
from collections.abc import Sequence

from infra.ops.chaos.config import ChaosConfig
from infra.ops.chaos.protocol import EventFactory, Planned

__all__ = ["plan"]


def _choose(factories: Sequence[EventFactory], rng: random.Random) -> EventFactory:
    return rng.choices(list(factories), weights=[f.weight for f in factories])[0]


def plan(
    config: ChaosConfig, factories: Sequence[EventFactory]
) -> tuple[list[Planned], list[tuple[Planned, bool]]]:
    """The events and the order of deliveries (``(event, is_duplicate)``), from the seed alone.

    A duplicate is either sent at the same moment as the first delivery (the next two deliveries run
    on two sender threads at once) or later, after a random number of other deliveries.
    """
    rng = random.Random(config.seed)
    events = [
        Planned(i, config.seed, _choose(factories, rng), rng.random() < config.rate("poison"))
        for i in range(config.events)
    ]
    schedule: list[tuple[Planned, bool]] = []
    later: dict[int, list[Planned]] = {}
    for i, p in enumerate(events):
        schedule.append((p, False))
        if rng.random() < config.rate("dup"):
            if rng.random() < 0.5:
                schedule.append((p, True))  # concurrently
            else:
                later.setdefault(i + rng.randint(5, 300), []).append(p)
        schedule.extend((d, True) for d in later.pop(i, []))
    for pending in later.values():
        schedule.extend((d, True) for d in pending)
    return events, schedule
