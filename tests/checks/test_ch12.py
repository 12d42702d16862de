import json

import pytest

from rtlib.checks import ch12
from rtlib.live.stats import CallStats
from rtlib.viz.dashboard import synthetic_samples
from tests.checks.table import assert_hint
from tests.conftest import ROOT


# -- 12.3 the mystery calls ------------------------------------------------------------------
@pytest.mark.parametrize("call, words", [("a", "rate cap"), ("a", "a bandwidth limit"), ("a", "Bottleneck"),
                                         ("b", "bursty loss"), ("b", "Gilbert-Elliott loss"), ("c", "jitter"),
                                         ("c", "packet delay variation (PDV)")])
def test_right_faults_pass(call, words):
    assert ch12.mystery_fault(words, call)


MYSTERY_WRONG = [
    ("a", "loss", "sent and received bitrates"),
    ("a", "delay", "constant"),
    ("a", "outage", "never reaches zero"),
    ("b", "random loss", "right family"),
    ("b", "rate cap", "follows the sent one"),
    ("c", "latency", "wobbles"),
    ("c", "outage", "frame rate never drops"),
    ("a", "cosmic rays", "Name one of"),
    ("a", None, "Not answered yet"),
    ("a", "...", "Not answered yet"),
    ("a", 3, "in words"),
]


@pytest.mark.parametrize("call, answer, hint", MYSTERY_WRONG)
def test_mystery_wrong(call, answer, hint):
    fb = ch12.mystery_fault(answer, call)
    assert_hint(fb, hint)
    assert "fault is" not in repr(fb)  # the answer is never named


def test_every_mystery_file_has_a_stored_fault_and_a_clean_config():
    for call in ("a", "b", "c"):
        data = json.loads((ROOT / "data" / "live" / f"mystery_{call}.json").read_text())
        assert len(data["samples"]) >= 20
        assert set(data["config"]) <= {"name", "stack", "seconds", "note", "made_by"}  # nothing gives it away
        assert ch12._truth(call) in ch12.FAULTS
        CallStats.from_dict(data)
    with pytest.raises(ValueError, match="call must be"):
        ch12.mystery_fault("jitter", "z")


def test_normalise_fault():
    assert ch12.normalise_fault("  Rate-Limit ") == "rate cap"
    assert ch12.normalise_fault("loss in bursts") == "bursty loss"
    assert ch12.normalise_fault("packet loss") == "loss"
    assert ch12.normalise_fault("the weather") is None


# -- 12.1 what the endpoints add ---------------------------------------------------------------
SAMPLES = synthetic_samples(6, delay_ms=50.0)
STATS = {"samples": SAMPLES}


def _e2e():
    from rtlib.viz.dashboard import summarize

    s = summarize(SAMPLES)
    return s["e2e_delay_p50_ms"], s["rtt_p50_ms"]


def test_endpoint_share_right():
    e2e, _ = _e2e()
    assert ch12.endpoint_share_ms(e2e - 50, STATS, 50.0)


@pytest.mark.parametrize("wrong, hint", [
    (lambda e, r: e, "whole end-to-end"),
    (lambda e, r: r - 50, "round-trip"),
    (lambda e, r: e - 100, "twice"),
    (lambda e, r: 50 - e, "sign"),
    (lambda e, r: (e - 50) / 1000, "seconds"),
    (lambda e, r: 3 * (e - 50), "median"),
    (lambda e, r: None, "Not answered yet"),
])
def test_endpoint_share_wrong(wrong, hint):
    e2e, rtt = _e2e()
    assert_hint(ch12.endpoint_share_ms(wrong(e2e, rtt), STATS, 50.0), hint, e2e - 50)


# -- 12.2 loss over a window ---------------------------------------------------------------------
def _counters():
    data = json.loads((ROOT / "data" / "live" / "mystery_b.json").read_text())["samples"]
    at = {round(s["t_s"], 2): s for s in data}
    a, b = at[2.0], at[6.0]
    lost, got = b["packets_lost"] - a["packets_lost"], b["packets_received"] - a["packets_received"]
    return data, a, b, lost, got


def test_window_loss_right():
    _, _, _, lost, got = _counters()
    assert ch12.window_loss(lost / (lost + got))


def test_window_loss_wrong():
    data, a, b, lost, got = _counters()
    right = lost / (lost + got)
    fractions = [s["loss_fraction"] for s in data if 2.0 < s["t_s"] <= 6.0 and s["loss_fraction"] is not None]
    for answer, hint in [
        (100 * right, "percentage"),
        (b["packets_lost"] / (b["packets_lost"] + b["packets_received"]), "whole call"),
        (lost / got, "divided by the packets received"),
        (sum(fractions) / len(fractions), "mean of the per-interval"),
        (1.5, "between 0 and 1"),
        (right * 2, "too high"),
        ("0.1", "without quotes"),
    ]:
        assert_hint(ch12.window_loss(answer), hint, right)


# -- 12.5 predicting a call's setup time -------------------------------------------------------------
CLEAN = {"total_ms": 150.0, "im_send_ack_ms": 4.0}
SLOW = {"total_ms": 955.0, "im_send_ack_ms": 404.0}  # a 200 ms one-way IM path: + 2 x 400 ms
IM_RTT = 404.0


@pytest.mark.parametrize("answer", [150 + 2 * 400, 955, 900, 1050])
def test_setup_prediction_right(answer):
    assert ch12.setup_prediction_ms(answer, SLOW, CLEAN, IM_RTT)


SETUP_WRONG = [
    (0.95, "seconds"),
    (150, "ignores the slower IM path"),
    (150 + 400, "one IM round trip"),
    (150 + 4 * 400, "every one-way hop"),
    (20, "below what the call costs"),
    (3000, "too high"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer, hint", SETUP_WRONG)
def test_setup_prediction_wrong(answer, hint):
    assert_hint(ch12.setup_prediction_ms(answer, SLOW, CLEAN, IM_RTT), hint, SLOW["total_ms"])


def test_setup_prediction_whole_round_trips_hint():
    slow = {"total_ms": 3150.0, "im_send_ack_ms": 1504.0}  # a slow path where the difference shows
    clean = {"total_ms": 1500.0, "im_send_ack_ms": 700.0}
    assert_hint(ch12.setup_prediction_ms(1500 + 2 * 1504, slow, clean, 1504.0), "whole slow round trips")


def test_setup_prediction_refuses_bad_measurements():
    with pytest.raises(ValueError, match="slow_call must be"):
        ch12.setup_prediction_ms(900, {"total_ms": None}, CLEAN, IM_RTT)


def test_setup_prediction_from_the_round_trips_passes_even_when_the_live_call_ran_slow():
    busy = {"total_ms": 1300.0, "im_send_ack_ms": 404.0}  # the machine was loaded during the slow call
    assert ch12.setup_prediction_ms(150 + 2 * 400, busy, CLEAN, IM_RTT)
    assert not ch12.setup_prediction_ms(150 + 400, busy, CLEAN, IM_RTT)


# -- 12.4 design: alert rules ------------------------------------------------------------------

def _healthy_worst(field, factor=1.0):
    worst = 0.0
    for name in "abc":
        for s in json.loads((ROOT / "data" / "live" / f"mystery_{name}.json").read_text())["samples"]:
            if s["t_s"] <= ch12.FAULT_AT_S and s[field] is not None:
                worst = max(worst, s[field] * factor)
    return worst


def _rule(**kw):
    return {"loss_pct": None, "jitter_ms": None, "delay_ms": None, "rtt_ms": None, **kw}


def test_alert_floors_are_the_margin_above_the_healthy_worst():
    floors = ch12.alert_floors()
    assert floors["jitter_ms"] == pytest.approx(1.25 * _healthy_worst("jitter_ms"))
    assert floors["delay_ms"] == pytest.approx(1.25 * _healthy_worst("e2e_delay_ms"))
    assert floors["loss_pct"] == 1.0  # the healthy parts lose nothing: the 1 % floor holds


def test_the_fewest_metrics_that_page_every_fault_in_time():
    best = ch12.best_alert_designs()
    assert best["metrics"] == 2
    floors = ch12.alert_floors()
    for metric in ("loss_pct", "jitter_ms", "delay_ms", "rtt_ms"):  # no single metric catches all three
        r = ch12.replay_alerts(_rule(**{metric: floors[metric]}))
        assert any(x["delay_s"] is None or x["delay_s"] > ch12.DETECT_WITHIN_S for x in r.values()), metric


def test_alert_design_optimum_passes_and_a_slower_pair_passes_with_a_note():
    floors = ch12.alert_floors()
    ch12.alert_design.reset()
    fb = ch12.alert_design(_rule(loss_pct=floors["loss_pct"], jitter_ms=floors["jitter_ms"]))
    assert fb and "the fewest that can" in fb.message and "The best rule" not in fb.message
    fb = ch12.alert_design(_rule(loss_pct=5, delay_ms=130))
    assert fb and "The best rule of 2 metrics pages after 0.33 s" in fb.message


@pytest.mark.parametrize("rule, says", [
    (_rule(loss_pct=5), "Not every fault pages within 1 s"),
    (_rule(loss_pct=5, jitter_ms=20, delay_ms=130), "but with 3 metrics; fewer can do it"),
    (_rule(loss_pct=0.5, jitter_ms=20), "loss_pct threshold 0.5 % is too close to normal"),
    (_rule(jitter_ms=9.0, loss_pct=2), "jitter_ms threshold 9 ms is too close to normal"),
    (_rule(), "watches nothing"),
    ({"loss_pct": 2}, "misses"),
    ({**_rule(), "fps": 10}, "Unknown setting"),
    (_rule(loss_pct="2"), "should be a threshold"),
    (_rule(loss_pct=-1), "at least 0"),
    (None, "Not answered yet"),
    ([1, 2], "should be a dict"),
])
def test_alert_design_wrong(rule, says):
    ch12.alert_design.reset()
    fb = ch12.alert_design(rule)
    assert not fb and says in fb.message


def test_alert_design_hints_never_give_a_threshold():
    floors = ch12.alert_floors()
    ch12.alert_design.reset()
    ch12.alert_design(_rule(loss_pct=5))
    first = ch12.alert_design(_rule(loss_pct=5), hint=True)
    ch12.alert_design(_rule(loss_pct=6))
    second = ch12.alert_design(_rule(loss_pct=6), hint=True)
    assert first.hints[0].startswith("Look at call C's report") and "another try" in first.hints[1]
    assert "moves some panels" in second.hints[1]  # after another try, the second hint
    for h in second.hints:
        for value in floors.values():
            assert f"{value:.1f}" not in h and f"{value:g}" not in h
