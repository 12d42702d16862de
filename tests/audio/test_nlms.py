"""Time-domain NLMS: the exercise's update, exact identification, ERLE in a simulated room."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.audio.metrics import mean_erle_db, misalignment_db
from rtlib.audio.nlms import NlmsCanceller, nlms_update, run_frames, taps_for
from rtlib.audio.echo_scenes import echo_scene

RATE = 16000


def test_nlms_update_matches_a_hand_computation():
    w, x = np.array([0.5, 0.0]), np.array([1.0, 2.0])
    e, w_new = nlms_update(w, x, d=3.0, mu=0.5, eps=1.0)
    # y = 0.5, e = 2.5, x.x = 5: w += 0.5 * 2.5 / (1 + 5) * x
    assert e == pytest.approx(2.5)
    assert w_new == pytest.approx([0.5 + 1.25 / 6, 2.5 / 6])
    assert w.tolist() == [0.5, 0.0]            # the input is not modified


def _reference(x, d, taps, mu, eps):
    """nlms_update sample by sample, newest sample first in the buffer."""
    w, buf, out = np.zeros(taps), np.zeros(taps), []
    for xn, dn in zip(x, d):
        buf = np.concatenate(([xn], buf[:-1]))
        e, w = nlms_update(w, buf, dn, mu, eps)
        out.append(e)
    return np.array(out), w


@settings(max_examples=20, deadline=None)
@given(taps=st.integers(1, 12), frame=st.integers(1, 40), mu=st.floats(0.05, 1.9),
       seed=st.integers(0, 1000))
def test_the_canceller_is_exactly_nlms_update_whatever_the_framing(taps, frame, mu, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(120)
    d = np.convolve(x, rng.standard_normal(5))[:120]
    c = NlmsCanceller(taps=taps, step=mu, reg=0.1)
    e = run_frames(c, x, d, frame)
    e_ref, w_ref = _reference(x, d, taps, mu, 0.1)
    assert np.allclose(e, e_ref, atol=1e-10)
    assert np.allclose(c.weights, w_ref, atol=1e-10)


def test_identifies_a_short_fir_on_white_noise():
    rng = np.random.default_rng(0)
    h = rng.standard_normal(32) * np.exp(-np.arange(32) / 8)
    x = rng.standard_normal(4000)
    d = np.convolve(x, h)[: len(x)]
    c = NlmsCanceller(taps=32, step=0.8)
    run_frames(c, x, d, 160)
    assert misalignment_db(h, c.weights) < -30


def test_adapt_false_freezes_and_predict_is_what_process_subtracts():
    rng = np.random.default_rng(1)
    x, d = rng.standard_normal(400), rng.standard_normal(400)
    c = NlmsCanceller(taps=16)
    run_frames(c, x[:200], d[:200], 50)
    w = c.weights
    y = c.predict(x[200:300])
    e = c.process(x[200:300], d[200:300], adapt=False)
    assert np.array_equal(c.weights, w)
    assert np.allclose(e, d[200:300] - y)
    assert np.allclose(c.echo_estimate, y)
    # and it is the convolution of the far end with the weights
    assert np.allclose(y, np.convolve(x[:300], c.weights)[200:300])


@pytest.fixture(scope="module")
def single_talk():
    return echo_scene(8.0, seed=0)


def test_erle_at_least_20_db_in_single_talk_speech(single_talk):
    """Issue 17's acceptance bar: 128 ms NLMS, 16 kHz speech in a 0.3 s RT60 room."""
    s = single_talk
    e = run_frames(NlmsCanceller(128.0, RATE, step=0.5), s.far, s.mic, 160)
    assert mean_erle_db(s.mic, e, RATE, start_s=4.0) >= 20.0


def test_taps_for():
    assert taps_for(128.0, 16000) == 2048
    assert taps_for(0.01, 8000) == 1


@pytest.mark.parametrize("kwargs, name", [
    (dict(step=0.0), "step"), (dict(step=2.0), "step"), (dict(filter_ms=0.0), "filter_ms"),
    (dict(taps=0), "taps"), (dict(reg=-1.0), "reg"), (dict(rate_hz=0), "rate_hz"), (dict(rate_hz=16000.5), "rate_hz"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        NlmsCanceller(**kwargs)


def test_mismatched_frames_are_a_value_error():
    c = NlmsCanceller(taps=4)
    with pytest.raises(ValueError, match="far_frame and mic_frame"):
        c.process(np.zeros(10), np.zeros(9))
    with pytest.raises(ValueError, match="x_buf"):
        nlms_update(np.zeros(3), np.zeros(4), 0.0, 0.5, 1.0)
