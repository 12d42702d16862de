"""Checks of chapter 10: right answers pass, typical wrong answers get a distinctive hint,
and no feedback shows the expected value."""

import copy

import numpy as np
import pytest

from rtlib.checks import ch10
from rtlib.checks.core import Feedback
from tests.checks.table import assert_hint

# -- 10.1 the bandwidth table -------------------------------------------------------------
RIGHT = ch10.meeting_table(5, 800.0)


def _with(topo, q, value):
    t = copy.deepcopy(RIGHT)
    t[topo][q] = value
    return t


def test_right_table_passes():
    assert ch10.bandwidth_table(RIGHT)
    assert RIGHT["sfu"]["server_out"] == 5 * 4 * 800 and RIGHT["mesh"]["client_up"] == 4 * 800


@pytest.mark.parametrize("table, hint", [
    (_with("sfu", "server_out", 5 * 5 * 800), "own stream back"),
    (_with("mesh", "client_up", 5 * 800), "to itself"),
    (_with("mcu", "client_down", 4 * 800), "one stream"),
    (_with("mesh", "server_in", 4000), "no media server"),
    (_with("sfu", "client_down", 3_200_000), "kbit/s, not bit/s"),
    (_with("sfu", "client_up", None), "not answered yet"),
    ({"mesh": RIGHT["mesh"]}, "missing"),
    (None, "Not answered yet"),
    ([1, 2], "dict of dicts"),
])
def test_table_wrong(table, hint):
    fb = ch10.bandwidth_table(table)
    assert_hint(fb, hint, 12800.0, 16000.0)


# -- 10.2 the layer selector ------------------------------------------------------------------
def right_selector(t_s, est):
    layers, layer, run = [], 0, 0
    for e in est:
        if layer > 0 and e < ch10.LAYERS_KBPS[layer]:
            layer = max([i for i, r in enumerate(ch10.LAYERS_KBPS) if r <= e], default=0)
            run = 0
        elif layer < 2 and e >= ch10.UP_FACTOR * ch10.LAYERS_KBPS[layer + 1]:
            run += 1
            if run >= ch10.UP_HOLD_SAMPLES:
                layer, run = layer + 1, 0
        else:
            run = 0
        layers.append(layer)
    return layers


def no_hysteresis(t_s, est):
    layers = []
    for e in est:
        fits = [i for i, r in enumerate(ch10.LAYERS_KBPS) if r <= e]
        layers.append(fits[-1] if fits else 0)
    return layers


def test_right_selector_passes():
    fb = ch10.layer_selector(right_selector)
    assert fb and "switches" in fb.message


def test_the_trace_is_the_shipped_one():
    t_s, est = ch10.load_estimate()
    assert len(t_s) == 300 and np.allclose(np.diff(t_s), 0.2) and est.min() >= 150


def test_selector_never_forwards_above_estimate_longer_than_hysteresis():
    """Down is immediate, so the forwarded rate is never above the estimate (the lowest layer aside)."""
    t_s, est = ch10.load_estimate()
    layers = np.asarray(ch10.reference_layers(est))
    rate = np.asarray(ch10.LAYERS_KBPS)[layers]
    assert np.all((rate <= est) | (layers == 0))
    assert ch10.switches(layers) < ch10.switches(no_hysteresis(t_s, est))


@pytest.mark.parametrize("func, hint", [
    (lambda t, e: ch10.reference_layers(e, up_hold_samples=1, up_factor=1.0), "no hysteresis"),
    (lambda t, e: ch10.reference_layers(e, up_factor=1.0), "headroom"),
    (lambda t, e: ch10.reference_layers(e, up_hold_samples=1), "consecutive samples"),
    (lambda t, e: ch10.reference_layers(e, reset_after_switch=False), "Restart the count"),
    (lambda t, e: ch10.reference_layers(e, one_step_up=False), "one layer at a time"),
    (lambda t, e: ch10.reference_layers(e, up_hold_samples=11), "Off by one"),
    (lambda t, e: [2] * len(e), "Start on the lowest"),
    (lambda t, e: [0] + [2] * (len(e) - 1), "cannot carry"),
    (lambda t, e: [0] * len(e), "never leave"),
    (lambda t, e: [0] * 3, "one per sample"),
    (lambda t, e: [5] * len(e), "0 (low), 1 (mid) or 2 (high)"),
    (lambda t, e: None, "returns None"),
    (lambda t, e: 1 / 0, "raised ZeroDivisionError"),
    ("layers", "should be a function"),
    (None, "Not answered yet"),
])
def test_selector_wrong(func, hint):
    assert_hint(ch10.layer_selector(func), hint)


# -- 10.3 the relay rule ------------------------------------------------------------------------
EIM, APD = "endpoint-independent", "address-and-port-dependent"


def right_rule(a, b):
    return (a.mapping.value != EIM and b.filtering.value == APD) or (b.mapping.value != EIM and a.filtering.value == APD)


def test_right_rule_passes():
    fb = ch10.relay_rule(right_rule)
    assert fb, fb


@pytest.mark.parametrize("func, hint", [
    (lambda a, b: a.mapping.value != EIM or b.mapping.value != EIM, "peer-reflexive"),
    (lambda a, b: a.mapping.value != EIM and b.mapping.value != EIM, "which port"),
    (lambda a, b: (a.mapping.value != EIM and b.filtering.value == APD), "both orders"),
    (lambda a, b: "yes", "True or False"),
    (lambda a, b: a.nope, "raised AttributeError"),
    (None, "Not answered yet"),
])
def test_rule_wrong(func, hint):
    fb = ch10.relay_rule(func)
    if hint == "both orders":  # a one-sided rule fails one order of some pair
        assert not fb and "Not right yet" in fb.message
        return
    assert_hint(fb, hint)


def test_feedback_type():
    assert isinstance(ch10.relay_rule(None), Feedback)


# -- 10.4 (design): topology and simulcast layers ------------------------------------------------------
from tests.checks.table import assert_hint as _assert_hint, shown as _shown  # noqa: E402

BEST_CONF = {"topology": "sfu", "layers_kbps": [150, 500]}


def fresh(design, **kw):
    ch10.conference_design.reset()
    return ch10.conference_design(design, **kw)


def test_conference_design_the_cheapest_passing_design_passes():
    r = ch10.simulate_conference("sfu", [150, 500])
    assert r["server_kbps"] == pytest.approx(ch10.least_server_kbps())
    fb = fresh(BEST_CONF)
    assert fb and f"{r['server_kbps'] / 1000:.1f} Mbit/s" in _shown(fb)
    assert fresh({"topology": "SFU", "layers_kbps": (500.0, 150.0)})  # any order, any case
    # every other design of the exercise either misses a target or costs clearly more
    for topology, layers in ch10.conf_candidates():
        if (topology, layers) != ("sfu", (150.0, 500.0)):
            o = ch10.simulate_conference(topology, layers)
            assert not all(ch10._conf_meets(o)) or o["server_kbps"] > 1.1 * r["server_kbps"]


CONF_WRONG = [
    ({"topology": "sfu", "layers_kbps": [150, 500, 1500]}, ("both targets met", "sent for nobody")),
    ({"topology": "sfu", "layers_kbps": [150, 1500]}, ("good links get too little", "why not a higher one")),
    ({"topology": "mesh", "layers_kbps": [500]}, ("poor link misses frames", "how many streams")),
    ({"topology": "sfu", "layers_kbps": [500]}, ("poor link misses frames", "how many streams")),
    ({"topology": "sfu", "layers_kbps": [500, 1500]}, ("poor link misses frames", "smallest layer")),
    ({"topology": "mesh", "layers_kbps": [150]}, ("good links get too little", "weakest link")),
    ({"topology": "mcu", "layers_kbps": [1500]}, ("not every receiver", "one mcu stream")),
    ({"topology": "mcu", "layers_kbps": [150, 500]}, "only an SFU can use"),
    ({"topology": "sfu", "layers_kbps": [150, 800]}, "rates of the ladder"),
    ({"topology": "sfu", "layers_kbps": [150_000, 500_000]}, "looks like bit/s"),
    ({"topology": "sfu", "layers_kbps": [150, 150]}, "different rates"),
    ({"topology": "sfu", "layers_kbps": "150, 500"}, "should be a list"),
    ({"topology": "p2p", "layers_kbps": [500]}, "topology should be one of"),
    ({"topology": "sfu"}, "needs both"),
    ({"topology": "sfu", "layers_kbps": [150], "last_n": 3}, "Unknown setting"),
    (("sfu", [150, 500]), "should be a dict"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", CONF_WRONG)
def test_conference_design_typical_wrong_designs_fail_with_a_reason(design, hint):
    _assert_hint(fresh(design, hint=True), hint, ch10.least_server_kbps() / 1000)


def test_conference_design_hints_come_in_stages():
    wrong = {"topology": "mesh", "layers_kbps": [500]}
    fb = fresh(wrong)
    assert "How many streams" not in _shown(fb) and "hint=True" in _shown(fb)
    fb = ch10.conference_design(wrong, hint=True)
    assert "How many streams" in _shown(fb) and "simulcast)" not in _shown(fb)
    fb = ch10.conference_design({"topology": "mesh", "layers_kbps": [1500]}, hint=True)  # another try
    assert "simulcast)" in _shown(fb)
    ch10.conference_design.reset()


def test_conference_simulation_rejects_bad_parameters():
    with pytest.raises(ValueError, match="topology must be one of"):
        ch10.simulate_conference("p2p", [500])
    with pytest.raises(ValueError, match="needs topology 'sfu'"):
        ch10.simulate_conference("mesh", [150, 500])
    with pytest.raises(ValueError, match="rates of the ladder"):
        ch10.simulate_conference("sfu", [700])


def test_conference_design_check_is_fast():
    import time

    ch10.least_server_kbps.cache_clear()
    ch10._conf_run.cache_clear()
    t0 = time.perf_counter()
    fresh({"topology": "sfu", "layers_kbps": [150, 500, 1500]})
    assert time.perf_counter() - t0 <= 5.0
