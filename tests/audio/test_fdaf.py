"""The partitioned-block frequency-domain adaptive filter against NLMS and known systems."""

import numpy as np
import pytest

from rtlib.audio.fdaf import FdafCanceller
from rtlib.audio.metrics import mean_erle_db, misalignment_db
from rtlib.audio.nlms import NlmsCanceller, run_frames
from rtlib.audio.echo_scenes import echo_scene

RATE = 16000


def test_structure_from_parameters():
    c = FdafCanceller(128.0, RATE)
    assert (c.block_size, c.partitions, c.taps) == (256, 8, 2048)
    assert len(c.weights) == 2048
    assert FdafCanceller(taps=100, block_size=32).partitions == 4     # rounded up


@pytest.mark.parametrize("constrained", [True, False])
def test_identifies_a_fir_spanning_several_partitions_on_white_noise(constrained):
    rng = np.random.default_rng(0)
    h = rng.standard_normal(100) * np.exp(-np.arange(100) / 30)
    x = rng.standard_normal(16000)
    d = np.convolve(x, h)[: len(x)]
    c = FdafCanceller(taps=128, block_size=32, step=0.5, constrained=constrained)
    e = run_frames(c, x, d, 64)
    if constrained:       # linear convolution, exactly: the error vanishes
        assert misalignment_db(h, c.weights) < -30
    assert mean_erle_db(d, e, RATE, start_s=0.5) > 30


def test_adapt_false_freezes_and_predict_is_what_process_subtracts():
    rng = np.random.default_rng(1)
    x, d = rng.standard_normal(1024), rng.standard_normal(1024)
    c = FdafCanceller(taps=64, block_size=32)
    run_frames(c, x[:512], d[:512], 64)
    w = c.weights
    y = c.predict(x[512:768])
    e = c.process(x[512:768], d[512:768], adapt=False)
    assert np.array_equal(c.weights, w)
    assert np.allclose(e, d[512:768] - y)
    # overlap-save computes a linear convolution of the far end with the weights
    assert np.allclose(y, np.convolve(x[:768], w)[512:768])


@pytest.fixture(scope="module")
def scene():
    return echo_scene(8.0, seed=0)


def test_fdaf_erle_matches_nlms_on_room_speech(scene):
    s = scene
    e_f = run_frames(FdafCanceller(128.0, RATE, step=0.5), s.far, s.mic, 256)
    e_n = run_frames(NlmsCanceller(128.0, RATE, step=0.5), s.far, s.mic, 256)
    erle_f = mean_erle_db(s.mic, e_f, RATE, start_s=4.0)
    erle_n = mean_erle_db(s.mic, e_n, RATE, start_s=4.0)
    assert erle_f >= 20.0
    assert erle_f >= erle_n - 3.0


def test_fdaf_approaches_the_echo_path_sooner_than_nlms(scene):
    """The module docstring's claim: per-bin steps learn speech's weak bands fast too."""
    s, n = scene, RATE                     # the first second
    f, m = FdafCanceller(128.0, RATE), NlmsCanceller(128.0, RATE)
    run_frames(f, s.far[:n], s.mic[:n], 256)
    run_frames(m, s.far[:n], s.mic[:n], 256)
    assert misalignment_db(s.rir, f.weights) < misalignment_db(s.rir, m.weights) - 5.0


def test_resuming_after_a_long_freeze_stays_stable(scene):
    """Regression: the per-bin powers must follow the far end while adaptation is frozen."""
    s = scene
    c = FdafCanceller(128.0, RATE)
    run_frames(c, s.far[:RATE], s.mic[:RATE], 256, adapt=False)     # 1 s frozen, from scratch
    run_frames(c, s.far[RATE:], s.mic[RATE:], 256)
    assert misalignment_db(s.rir, c.weights) < -5


@pytest.mark.parametrize("kwargs, name", [
    (dict(step=0.0), "step"), (dict(step=2.5), "step"), (dict(block_size=4), "block_size"),
    (dict(taps=0), "taps"), (dict(reg=0.0), "reg"), (dict(filter_ms=-1.0), "filter_ms"),
])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        FdafCanceller(**kwargs)


def test_run_frames_pads_only_the_last_frame():
    rng = np.random.default_rng(2)
    x, d = rng.standard_normal(1000), rng.standard_normal(1000)
    whole = run_frames(FdafCanceller(taps=64, block_size=32), x, d, 64)
    assert whole.shape == (1000,)
    # the same stream in one go (padded once at the end) gives the same output
    one_go = run_frames(FdafCanceller(taps=64, block_size=32), x, d, 1024)
    assert np.allclose(whole, one_go)
    with pytest.raises(ValueError, match="frame_size"):
        run_frames(FdafCanceller(taps=64, block_size=32), x, d, 48)


def test_frames_must_be_whole_blocks():
    c = FdafCanceller(taps=64, block_size=32)
    with pytest.raises(ValueError, match="block_size=32"):
        c.process(np.zeros(40), np.zeros(40))
    with pytest.raises(ValueError, match="block_size=32"):
        c.predict(np.zeros(40))


# -- residual echo suppression after the FDAF canceller ------------------------------------
from rtlib.audio.res import ResCanceller, ResidualEchoSuppressor  # noqa: E402


def test_suppressor_is_transparent_without_echo_estimate():
    """No echo estimate, no residual: the windowed overlap-add gives the input back, N late."""
    rng = np.random.default_rng(0)
    e = rng.standard_normal(2048)
    r = ResidualEchoSuppressor(RATE, frame_ms=16.0)
    out = np.concatenate([r.process(e[i:i + 256], np.zeros(256)) for i in range(0, 2048, 256)])
    assert r.delay_samples == 256
    assert np.allclose(out[256:], e[:-256])


@pytest.mark.parametrize("drive", [0.0, 5.0], ids=["linear", "soft-clipping"])
def test_suppressor_removes_the_echo_the_linear_filter_leaves(drive):
    s = echo_scene(6.0, drive=drive, seed=0)
    e = run_frames(FdafCanceller(128.0, RATE), s.far, s.mic, 256)
    c = ResCanceller(FdafCanceller(128.0, RATE), ResidualEchoSuppressor(RATE))
    out = run_frames(c, s.far, s.mic, 256)
    n = c.delay_samples
    linear = mean_erle_db(s.mic, e, RATE, start_s=3.0)
    suppressed = mean_erle_db(s.mic[:-n], out[n:], RATE, start_s=3.0)
    assert 0.0 < c.suppressor.leak < 1.0
    assert c.suppressor.leak >= c.suppressor.min_leak
    assert suppressed > linear + 3.0


@pytest.mark.parametrize("kwargs, name", [
    (dict(floor_db=5.0), "floor_db"), (dict(over=0.1), "over"), (dict(smoothing=1.0), "smoothing"),
    (dict(leak_smoothing=0.0), "leak_smoothing"), (dict(decay=1.0), "decay"),
    (dict(min_leak=2.0), "min_leak"),
])
def test_bad_suppressor_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        ResidualEchoSuppressor(**kwargs)
