"""The pitch tracker finds F0 on known signals and the error measure sees a bent contour."""

import numpy as np
import pytest

from rtlib.quality.pitch import pitch_error, pitch_track


def _voice(f0_hz, rate_hz=8000, seconds=1.0):
    """A buzz with harmonics whose fundamental follows ``f0_hz`` (a number or a function of t)."""
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    f = f0_hz(t) if callable(f0_hz) else np.full(t.size, float(f0_hz))
    phase = 2 * np.pi * np.cumsum(f) / rate_hz
    return sum(np.sin(k * phase) / k for k in range(1, 8)) * 0.3


@pytest.mark.parametrize("f0", [100.0, 180.0, 300.0])
def test_steady_pitch_is_found(f0):
    t, track = pitch_track(_voice(f0), 8000)
    assert np.isfinite(track).mean() > 0.9
    assert np.nanmedian(np.abs(1200 * np.log2(track / f0))) < 10  # within a tenth of a semitone


def test_a_rising_tone_rises():
    # Mandarin's second tone, roughly: 150 Hz up to 250 Hz over half a second
    t, track = pitch_track(_voice(lambda t: 150 + 200 * t, rate_hz=16000, seconds=0.5), 16000)
    ok = np.isfinite(track)
    assert ok.mean() > 0.8 and np.all(np.diff(track[ok]) > -2)
    assert track[ok][0] < 170 and track[ok][-1] > 225


def test_silence_and_noise_are_unvoiced():
    rng = np.random.default_rng(1)
    x = np.concatenate([np.zeros(4000), rng.normal(0, 0.1, 8000)])
    _, track = pitch_track(x, 8000)
    assert np.isfinite(track).mean() < 0.1


def test_error_of_a_shifted_track():
    ref = np.array([200.0, 210.0, np.nan, 220.0])
    up_semitone = ref * 2 ** (150 / 1200)
    e = pitch_error(ref, up_semitone)
    assert e["median_abs_cents"] == pytest.approx(150) and e["off_semitone_share"] == 1.0
    assert e["voicing_kept"] == 1.0 and e["frames"] == 3
    assert pitch_error(ref, ref)["median_abs_cents"] == 0.0
    lost = pitch_error(ref, np.array([200.0, np.nan, np.nan, 220.0]))
    assert lost["voicing_kept"] == pytest.approx(2 / 3)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="rate_hz"):
        pitch_track(np.zeros(1000), 0)
    with pytest.raises(ValueError, match="one channel"):
        pitch_track(np.zeros((2, 100)), 8000)
    with pytest.raises(ValueError, match="fmax_hz"):
        pitch_track(np.zeros(1000), 8000, fmax_hz=5000)
    with pytest.raises(ValueError, match="frame_ms must hold two periods"):
        pitch_track(np.zeros(1000), 8000, frame_ms=20, fmin_hz=60)
    with pytest.raises(ValueError, match="equal length"):
        pitch_error([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="no frame is voiced"):
        pitch_error([np.nan], [100.0])
