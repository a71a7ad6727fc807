"""Every sample of ``events/inventory_sync/`` through the production handler, ending as it says.

Each sale sample tells a story (a loaf sold at the Market Hall till, 6 -> 5; one sold online, 6 -> 5):
the stand-ins are set to the counts before and after it, so the sample's delivery is what carries
the sale to the other side.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Final

import pytest

from functions.inventory_sync.tests.conftest import SPEC, Shops
from infra.local.samples import EVENTS_DIR, Sample, load_sample, load_samples
from infra.local.scheduler import schedule_message
from shared.spec import ScheduleTrigger
from tests.support import dlq_messages, drain, send_sample

SAMPLES: Final = load_samples(SPEC)
#: Sample -> (counts before the sale, counts when it reaches us, counts after): (square, shopify).
STORIES: Final = {
    "square_till_sale": ((6, 6), (5, 6), (5, 5)),
    "square_till_sale_redelivered": ((6, 6), (5, 6), (5, 5)),
    "shopify_online_sale": ((6, 6), (6, 5), (5, 5)),
    "square_other_location": ((6, 6), (6, 6), (6, 6)),
}
PRECEDED_BY: Final = {"square_till_sale_redelivered": "square_till_sale"}


def queued(shops: Shops) -> int:
    attrs = shops.rt.aws("sqs").get_queue_attributes(QueueUrl=shops.rt.queue_url, AttributeNames=["All"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def test_there_are_samples_of_every_outcome() -> None:
    assert {s.expect for s in SAMPLES} == {"processed", "ignored", "rejected"}
    assert {s.trigger for s in SAMPLES} == {t.name for t in SPEC.triggers}
    assert set(STORIES) <= {s.name for s in SAMPLES}


@pytest.mark.parametrize("s", SAMPLES, ids=[s.name for s in SAMPLES])
def test_every_sample_ends_as_it_says(s: Sample, new_shops: Shops, traced: list[dict[str, Any]]) -> None:
    shops = new_shops
    before, arriving, after = STORIES.get(s.name, ((10, 10), (10, 10), (10, 10)))
    shops.stock(*before)
    shops.record_counts("2026-11-19T05:00:00+00:00")
    shops.stock(*arriving)
    if s.name in PRECEDED_BY:
        send_sample(shops.rt, load_sample(EVENTS_DIR / SPEC.name / f"{PRECEDED_BY[s.name]}.json", SPEC))
        drain(shops.rt)
    if s.kind == "schedule":
        trigger = next(t for t in SPEC.triggers if isinstance(t, ScheduleTrigger))
        due = datetime.fromisoformat(s.scheduled_at)
        shops.rt.aws("sqs").send_message(
            QueueUrl=shops.rt.queue_url, MessageBody=schedule_message(SPEC.name, trigger, due)
        )
    else:
        result = send_sample(shops.rt, s)
        assert result["statusCode"] == (s.expect_status or 202), result["body"]
        if s.expect == "ignored":
            assert json.loads(result["body"])["ids"] == []
        if s.expect in ("ignored", "rejected"):
            assert queued(shops) == 0
    drain(shops.rt)
    assert dlq_messages(shops.rt) == []
    assert shops.counts() == after
    if s.name in PRECEDED_BY:
        assert [e for e in traced if e["stage"] == "duplicate"]
