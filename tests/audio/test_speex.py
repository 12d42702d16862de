"""The Speex reference canceller through ctypes (skipped where libspeexdsp is missing)."""

import numpy as np
import pytest

from rtlib.audio.metrics import mean_erle_db
from rtlib.audio.echo_scenes import echo_scene
from rtlib.audio.speex import SpeexEchoCanceller, SpeexUnavailable, load_speexdsp, speex_cancel

RATE = 16000

try:
    load_speexdsp()
    _MISSING = None
except SpeexUnavailable as exc:        # pragma: no cover - depends on the machine
    _MISSING = str(exc)

needs_speex = pytest.mark.skipif(_MISSING is not None, reason=f"libspeexdsp: {_MISSING}")


@pytest.fixture(scope="module")
def scene():
    return echo_scene(8.0, seed=0)


@needs_speex
def test_speex_cancels_echo(scene):
    s = scene
    e = speex_cancel(s.far, s.mic, RATE, frame_ms=16.0, filter_ms=128.0)
    assert e.shape == s.mic.shape and e.dtype == np.float64
    assert mean_erle_db(s.mic, e, RATE, start_s=4.0) > 15.0


@needs_speex
def test_speex_residual_suppressor_adds_erle(scene):
    s = scene
    plain = mean_erle_db(s.mic, speex_cancel(s.far, s.mic, RATE), RATE, start_s=4.0)
    with_res = mean_erle_db(s.mic, speex_cancel(s.far, s.mic, RATE, residual=True), RATE,
                            start_s=4.0)
    assert with_res > plain + 3.0


@needs_speex
def test_partial_last_frame_and_frame_interface():
    rng = np.random.default_rng(0)
    x = 0.1 * rng.standard_normal(1000)
    assert speex_cancel(x, 0.5 * x, RATE, frame_ms=10.0).shape == (1000,)
    c = SpeexEchoCanceller(10.0, 64.0, RATE)
    assert c.frame_size == 160
    assert c.process(x[:320], x[:320]).shape == (320,)
    with pytest.raises(ValueError, match="frame_size=160"):
        c.process(x[:100], x[:100])
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.process(x[:160], x[:160])


@needs_speex
@pytest.mark.parametrize("kwargs, name", [(dict(rate_hz=44100), "rate_hz"),
                                          (dict(frame_ms=100.0), "frame_ms")])
def test_bad_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SpeexEchoCanceller(**kwargs)


def test_missing_library_is_a_clear_error(monkeypatch):
    import ctypes

    import rtlib.audio.speex as sp

    def no_lib(name):
        raise OSError(f"{name}: cannot open shared object file")

    sp.load_speexdsp.cache_clear()
    monkeypatch.setattr(ctypes, "CDLL", no_lib)
    try:
        with pytest.raises(SpeexUnavailable, match="libspeexdsp1"):
            sp.load_speexdsp()
    finally:
        monkeypatch.undo()
        sp.load_speexdsp.cache_clear()
