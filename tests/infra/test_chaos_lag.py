"""Eventual consistency under chaos (``switchboard chaos --lag``): Slack's history trails posts by 8 s
while late answers lose the answers to posts Slack made. A retried post searches the history for its
earlier attempt's post, does not find it yet, waits out the lag it assumes (``HISTORY_LAG_S``), finds
it and posts nothing. Without that wait the same run posted two leads' messages twice
(``apps/slack/tests/test_slack.py`` shows the mechanism without a runtime).
"""

from __future__ import annotations

import contextlib
import io

import pytest

from apps.slack.actions import HISTORY_LAG_S
from infra.cli import main
from infra.ops.chaos import ChaosConfig, print_report, run_chaos
from infra.ops.chaos.config import FaultRate

pytestmark = pytest.mark.e2e

LAG_S = 8.0


def test_a_lagging_history_does_not_double_a_retried_slack_post() -> None:
    assert LAG_S <= HISTORY_LAG_S  # the lag the flows are built for; a longer one is the stated gap
    config = ChaosConfig(
        events=8,
        seed=3,
        faults={"timeout": FaultRate(0.3, ("slack",))},  # Slack posted, the answer is lost
        drain_timeout_s=150,
        integrations=("website_to_crm",),
        lag_s=LAG_S,
    )
    err = io.StringIO()
    report = run_chaos(config, err)
    out = io.StringIO()
    print_report(report, out)
    text = out.getvalue()
    assert report.ok, text + err.getvalue()[-3000:]
    assert report.duplicate_effects == 0 and report.by_kind["slack.message"]["observed"] == 8
    assert report.lag_s == LAG_S and report.hidden_reads.get("slack", 0) >= 1, report.hidden_reads
    assert report.faults_served.get("slow", 0) >= 1  # answers were lost: the retries had to search
    assert f"list and search reads trail writes by {LAG_S:g} s (slack " in text


@pytest.mark.parametrize("value", ["-1", "601", "soon"])
def test_a_bad_lag_is_refused_naming_the_option(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    # A number out of range is the harness's refusal (exit 2); a word is argparse's (SystemExit 2).
    with pytest.raises(SystemExit) if value == "soon" else contextlib.nullcontext():
        assert main(["chaos", "--lag", value]) == 2
    assert "--lag" in capsys.readouterr().err
