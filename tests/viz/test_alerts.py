"""Alert rules on QoS samples: the first sample above a watched threshold pages."""

import pytest

from rtlib.viz.dashboard.alerts import check_rule, first_alert, metric_value, worst_value

SAMPLES = [
    {"t_s": 0.25, "loss_fraction": 0.0, "jitter_ms": 3.0, "e2e_delay_ms": None, "rtt_ms": None},
    {"t_s": 0.5, "loss_fraction": 0.02, "jitter_ms": 4.0, "e2e_delay_ms": 80.0, "rtt_ms": 90.0},
    {"t_s": 0.75, "loss_fraction": 0.0, "jitter_ms": 12.0, "e2e_delay_ms": 85.0, "rtt_ms": 95.0},
    {"t_s": 1.0, "loss_fraction": 0.3, "jitter_ms": 5.0, "e2e_delay_ms": 300.0, "rtt_ms": 92.0},
]


def test_metric_value_converts_the_loss_fraction_to_percent_and_keeps_missing_values():
    assert metric_value(SAMPLES[1], "loss_pct") == pytest.approx(2.0)
    assert metric_value(SAMPLES[0], "delay_ms") is None
    with pytest.raises(ValueError, match="metric must be one of"):
        metric_value(SAMPLES[0], "mos")


def test_first_alert_is_the_first_sample_above_any_watched_threshold():
    rule = {"loss_pct": 10.0, "jitter_ms": 10.0}
    assert first_alert(SAMPLES, rule) == (0.75, "jitter_ms")
    assert first_alert(SAMPLES, rule, after_s=0.75) == (1.0, "loss_pct")
    assert first_alert(SAMPLES, {"delay_ms": 100.0}) == (1.0, "delay_ms")  # the missing value does not page
    assert first_alert(SAMPLES, {"rtt_ms": 100.0}) is None
    assert first_alert(SAMPLES, {"jitter_ms": 12.0}) is None  # at the threshold is not above it


def test_worst_value_looks_only_up_to_the_time_given():
    assert worst_value(SAMPLES, "jitter_ms", until_s=0.5) == 4.0
    assert worst_value(SAMPLES, "delay_ms", until_s=0.25) == 0.0


@pytest.mark.parametrize("rule, says", [
    ([1], "rule must be a dict"),
    ({"mos": 3}, "unknown metric"),
    ({"loss_pct": -1}, "loss_pct must be a threshold >= 0"),
    ({"jitter_ms": "5"}, "jitter_ms must be a threshold"),
    ({"jitter_ms": True}, "jitter_ms must be a threshold"),
])
def test_bad_rules_are_refused_by_name(rule, says):
    with pytest.raises(ValueError, match=says):
        check_rule(rule)
