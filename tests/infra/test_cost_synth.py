"""The cost model on the real app's synthesized templates (the session's ``real`` synthesis): it
counts what the stacks deploy for every spec, and prices the committed bench results exactly as the
bench did (``switchboard cost``'s "$/M (bench)" is the bench's figure)."""

from __future__ import annotations

import json

import pytest

from infra.cdk.alarms import alarm_kinds
from infra.cdk.bundling import ARCHITECTURE
from infra.cdk.core import connections_of
from infra.cdk.health_alarms import called_apps
from infra.cost.inventory import inventory_from_templates
from infra.cost.measured import BENCH_RESULTS, load_bench
from infra.cost.model import ModelError, deployment_cost
from shared import store
from tests.infra.cdk_apps import Synth

pytestmark = pytest.mark.cdk


def test_counts_every_integration_of_the_real_stage(real: Synth) -> None:
    stage = inventory_from_templates(real.stage, real.core, real.integrations)
    assert sorted(stage.integrations) == sorted(s.name for s in real.specs)
    for spec in real.specs:
        found = stage.integrations[spec.name]
        assert found.function.memory_mb == spec.memory_mb, spec.name
        assert found.function.architecture == ARCHITECTURE.name, spec.name
        assert found.function.tracing == "Active", spec.name  # cdk.json: active on dev
        # A queued integration: a queue and its DLQ, one event source with maximum concurrency set
        # (so Lambda keeps its five long polls while idle).
        assert found.queues == (2 if spec.queued_triggers else 0), spec.name
        assert found.event_source_pollers == ([5] if spec.queued_triggers else []), spec.name
        # One billed alarm metric per alarm, two for the target-rate-limited math alarm.
        kinds = alarm_kinds(spec)
        assert found.alarms == len(kinds), spec.name
        assert found.alarm_metrics == len(kinds) + ("target-rate-limited" in kinds), spec.name
        assert len(found.schedules) == sum(1 for t in spec.triggers if type(t).__name__ == "ScheduleTrigger")
    # Target credentials are billed secrets; signing secrets and own keys are free SSM parameters.
    every = connections_of(real.specs)
    assert stage.secrets == len([c for c in every if store.store_of(c) == "secretsmanager"])
    assert set(stage.parameter_names) == {c.name for c in every if store.store_of(c) == "ssm"}
    assert stage.secrets + len(stage.parameter_names) == len(every)
    assert (stage.kms_keys, stage.dashboards, stage.tables) == (1, 1, 1)
    assert stage.shared_alarms == stage.shared_alarm_metrics == len(called_apps(real.specs))


def test_prices_the_committed_bench_as_the_bench_did(real: Synth) -> None:
    stage = inventory_from_templates(real.stage, real.core, real.integrations)
    bench = load_bench(BENCH_RESULTS)
    # An integration added since the last `make bench` is named, not priced at zero.
    new = sorted(set(stage.integrations) - set(bench.integrations))
    if new:
        with pytest.raises(ModelError, match=f"no figures for {', '.join(new)}: run `make bench`"):
            deployment_cost(stage, bench, 10_000)
        for name in new:
            del stage.integrations[name]
    deployment = deployment_cost(stage, bench, 10_000)
    written = json.loads(BENCH_RESULTS.read_text())["usd_per_million"]
    assert {c.name: round(c.measured_per_million, 3) for c in deployment.integrations} == pytest.approx(
        {name: written[name] for name in stage.integrations}, abs=0.001
    )
    assert deployment.total > 0
