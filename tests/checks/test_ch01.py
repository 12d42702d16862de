import numpy as np
import pytest

from rtlib.checks import ch01
from rtlib.quality import LatencyBudget, emodel, fibre_delay_ms


def shown(fb) -> str:
    return repr(fb) + fb._repr_html_()


def assert_hidden(fb, *values):
    """The feedback must not contain the expected value (to 0, 1 or 2 decimals)."""
    text = shown(fb)
    for v in values:
        for digits in (0, 1, 2):
            assert f"{v:.{digits}f}" not in text, (v, text)


# --- 1.1 --------------------------------------------------------------------------------

def test_ie_eff_right_answer_passes():
    assert ch01.ie_eff_g729a(11 + (95 - 11) * 2 / (2 + 19.0))
    assert ch01.ie_eff_g729a(np.float64(19.0))


@pytest.mark.parametrize(
    "wrong,hint",
    [
        (11 + 84 * 0.02 / (0.02 + 19), "percentage"),
        (11 + 95 * 2 / 21, "(95 − Ie)"),
        (84 * 2 / 21, "own Ie"),
        (11 + 84 * 2 / 19, "denominator"),
        (30.0, "too high"),
        (5.0, "too low"),
    ],
)
def test_ie_eff_typical_slips_get_a_hint_and_no_answer(wrong, hint):
    fb = ch01.ie_eff_g729a(wrong)
    assert not fb and hint.lower() in shown(fb).lower()
    assert_hidden(fb, 19.0)


def test_ie_eff_placeholder_and_non_numbers():
    assert "Not answered yet" in ch01.ie_eff_g729a(None).message
    assert "single number" in ch01.ie_eff_g729a("19").message


# --- 1.2 --------------------------------------------------------------------------------

RIGHT = LatencyBudget(capture_ms=10, encode_ms=8, packetisation_ms=20, pacing_ms=0,
                      propagation_ms=fibre_delay_ms(7000), queueing_ms=15, jitter_buffer_ms=60,
                      decode_ms=2, render_ms=10)


def test_budget_right_answer_passes_including_the_5_us_per_km_shortcut():
    assert ch01.paris_new_york_budget(RIGHT)
    assert ch01.paris_new_york_budget(RIGHT.with_(propagation_ms=7000 * 0.005))


@pytest.mark.parametrize(
    "change,words",
    [
        (dict(propagation_ms=fibre_delay_ms(7000) / 1000), ["propagation is too low", "units"]),
        (dict(propagation_ms=7000 / 299_792.458 * 1000), ["propagation is too low", "fibre"]),
        (dict(propagation_ms=2 * fibre_delay_ms(7000)), ["propagation is too high", "one way"]),
        (dict(packetisation_ms=0), ["packetisation is too low"]),
        (dict(jitter_buffer_ms=80, render_ms=0), ["jitter buffer is too high", "render is too low"]),
    ],
)
def test_budget_names_the_wrong_stage_without_the_value(change, words):
    fb = ch01.paris_new_york_budget(RIGHT.with_(**change))
    assert not fb
    for w in words:
        assert w in shown(fb)
    assert_hidden(fb, fibre_delay_ms(7000), RIGHT.total_ms)


def test_budget_placeholder_and_wrong_type():
    assert "Not answered yet" in ch01.paris_new_york_budget(None).message
    assert "LatencyBudget" in ch01.paris_new_york_budget({"capture_ms": 10}).message


# --- 1.3 --------------------------------------------------------------------------------

def mos_for(buffer_ms):
    return emodel(RIGHT.total_ms - 60 + buffer_ms, 0.01, "g711").MOS


def scan_answer() -> float:
    buffers = np.arange(0, 500, 1.0)
    return float(buffers[mos_for(buffers) >= 4.0].max())


def test_largest_buffer_accepts_a_1ms_scan_and_the_exact_limit():
    best = scan_answer()
    assert mos_for(best) >= 4.0 > mos_for(best + 1)
    assert ch01.largest_jitter_buffer(best)
    assert ch01.largest_jitter_buffer(ch01._largest_buffer_ms())


def test_largest_buffer_rejects_too_large_too_small_and_units():
    best = scan_answer()
    too_big = ch01.largest_jitter_buffer(best + 1)
    assert not too_big and "Too large" in too_big.message
    too_small = ch01.largest_jitter_buffer(best - 5)
    assert not too_small and "Too small" in too_small.message
    units = ch01.largest_jitter_buffer(best / 1000)
    assert not units and "factor of 1000" in units.message
    for fb in (too_big, too_small, units, ch01.largest_jitter_buffer(-3)):
        assert not fb
        assert_hidden(fb, best)
    assert "Not answered yet" in ch01.largest_jitter_buffer(None).message


# --- 1.4 --------------------------------------------------------------------------------

def crossings():
    d = np.arange(0, 1000, 0.5)
    r = emodel(d, echo=False).R
    return float(d[r < 90][0]), float(d[r < 70][0])


def test_boundaries_right_answer_passes():
    assert ch01.delay_boundaries(crossings())
    d90, d70 = crossings()
    assert ch01.delay_boundaries([round(d90), round(d70)])


def test_boundaries_wrong_answers():
    d90, d70 = crossings()
    with_echo = np.arange(0, 1000, 0.5)
    r = emodel(with_echo).R
    echo_answer = (float(with_echo[r < 90][0]), float(with_echo[r < 70][0]))
    for wrong in (echo_answer, (200, 300), (d90 / 1000, d70 / 1000), (d70, d90)):
        fb = ch01.delay_boundaries(wrong)
        assert not fb
        assert_hidden(fb, d90, d70)
    assert "before" in ch01.delay_boundaries((d70, d90)).message
    assert "units" in shown(ch01.delay_boundaries((d90 / 1000, d70 / 1000)))
    assert "two numbers" in ch01.delay_boundaries(200).message
    assert "Not answered yet" in ch01.delay_boundaries(None).message
