"""ERLE, convergence time, misalignment and segmental SNR against hand-computed cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.audio.metrics import (
    SEGSNR_MAX_DB,
    SEGSNR_MIN_DB,
    convergence_time_s,
    erle_db_over_time,
    mean_erle_db,
    misalignment_db,
    segmental_snr_db,
)

RATE = 16000


def _noise(n=RATE, seed=0):
    return np.random.default_rng(seed).standard_normal(n)


def test_segmental_snr_hand_cases():
    s = _noise()
    assert segmental_snr_db(s, s, RATE) == SEGSNR_MAX_DB            # perfect: clamped to 35
    assert segmental_snr_db(s, np.zeros_like(s), RATE) == pytest.approx(0.0)   # error = s
    # error of half the amplitude in every frame: 10 log10(1 / 0.25) = 6.02 dB
    assert segmental_snr_db(s, 0.5 * s, RATE) == pytest.approx(10 * math.log10(4))
    assert segmental_snr_db(s, -1e3 * s, RATE) == SEGSNR_MIN_DB      # clamped to -10


def test_segmental_snr_averages_frames_not_energy():
    s = _noise(2 * 320)
    y = s.copy()
    y[:320] = 0.0            # first 20 ms frame: 0 dB; second: perfect (35 dB)
    assert segmental_snr_db(s, y, RATE, frame_ms=20) == pytest.approx((0.0 + 35.0) / 2)


def test_segmental_snr_leaves_out_silent_frames():
    s = _noise(2 * 320)
    s[320:] = 0.0                         # second frame: silence, 300+ dB below the first
    y = s.copy()
    y[320:] = 0.1                         # whatever happens there does not count
    assert segmental_snr_db(s, y, RATE) == SEGSNR_MAX_DB


@settings(max_examples=25, deadline=None)
@given(st.floats(0.01, 100.0))
def test_segmental_snr_of_scaled_error(g):
    s = _noise(3200, seed=1)
    expected = min(max(10 * math.log10(1 / g ** 2), SEGSNR_MIN_DB), SEGSNR_MAX_DB)
    assert segmental_snr_db(s, s + g * s, RATE) == pytest.approx(expected, abs=1e-9)


def test_erle_of_a_tenfold_attenuation_is_20_db():
    d = _noise()
    t, v = erle_db_over_time(d, d / 10, RATE)
    assert len(t) == 50 and t[-1] == pytest.approx(1.0)
    assert np.allclose(v, 20.0)
    assert mean_erle_db(d, d / 10, RATE, start_s=0.5) == pytest.approx(20.0)


def test_erle_is_nan_in_far_end_silence():
    d = _noise()
    d[8000:] = 0.0
    _, v = erle_db_over_time(d, d / 10, RATE, smoothing=0.0)
    assert not np.isnan(v[:25]).any() and np.isnan(v[25:]).all()


def test_convergence_time_is_the_start_of_the_last_stretch_above_target():
    t = np.arange(1, 8) * 0.5
    v = np.array([0.0, 25.0, 10.0, 21.0, np.nan, 22.0, 30.0])   # dips at 1.5 s
    assert convergence_time_s(t, v, 20.0) == 2.0
    assert convergence_time_s(t, v, 5.0) == 1.0
    assert convergence_time_s(t, np.append(v[:-1], 3.0), 20.0) == math.inf


def test_misalignment_hand_cases():
    h = np.array([1.0, 0.5])
    assert misalignment_db(h, np.zeros(2)) == pytest.approx(0.0)
    # ||(0, 0.1)||^2 / ||h||^2 = 0.01 / 1.25
    assert misalignment_db(h, [1.0, 0.4]) == pytest.approx(10 * math.log10(0.01 / 1.25))
    # a one-tap filter pays for the tap it lacks, unless only the first tap is compared
    assert misalignment_db(h, [1.0]) == pytest.approx(10 * math.log10(0.25 / 1.25))
    assert misalignment_db(h, [1.0], length=1) < -150


@pytest.mark.parametrize("call, name", [
    (lambda: segmental_snr_db(np.ones(400), np.ones(399), RATE), "same length"),
    (lambda: segmental_snr_db(np.ones(400), np.ones(400), RATE, frame_ms=0.1), "frame_ms"),
    (lambda: segmental_snr_db(np.ones(10), np.ones(10), RATE), "clean"),
    (lambda: erle_db_over_time(np.ones(400), np.ones(400), RATE, smoothing=1.0), "smoothing"),
    (lambda: mean_erle_db(np.ones(400), np.ones(400), RATE, start_s=1.0), "start_s"),
    (lambda: misalignment_db(np.zeros(3), np.ones(3)), "h_true"),
    (lambda: misalignment_db(np.ones(3), np.ones(3), length=9), "length"),
    (lambda: segmental_snr_db(np.ones(400), np.ones(400), 0), "rate_hz"),
])
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()
