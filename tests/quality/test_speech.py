"""Speech quality measures: SNR, segmental SNR, spectral distance, alignment, PESQ/STOI when installed."""

import sys

import numpy as np
import pytest

from rtlib.media.clips import load_speech
from rtlib.quality import speech
from rtlib.quality.speech import (
    MetricUnavailable, align, compare_players, log_spectral_distance_db, pesq_score, segmental_snr_db,
    snr_db, speech_quality, stoi_score,
)


@pytest.fixture(scope="module")
def clip():
    return load_speech("en", 16000, seconds=6, as_float=True)


def noisy(x, snr, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.standard_normal(len(x))
    return x + n * np.sqrt(np.mean(x ** 2) / np.mean(n ** 2) / 10 ** (snr / 10))


def test_snr_of_known_noise(clip):
    assert snr_db(clip, clip) == float("inf")
    for target in (5, 20, 40):
        assert snr_db(clip, noisy(clip, target)) == pytest.approx(target, abs=0.2)
    int16 = (clip * 32768).astype(np.int16)
    assert snr_db(int16, int16) == float("inf")


def test_segmental_snr_weighs_quiet_frames(clip):
    # Same noise power everywhere: loud frames have a high SNR, quiet ones a low one,
    # so the segmental SNR falls below the global one.
    y = noisy(clip, 20)
    seg = segmental_snr_db(clip, y, 16000)
    assert seg < snr_db(clip, y)
    assert segmental_snr_db(clip, clip, 16000) == 35.0            # clamped at the top
    assert segmental_snr_db(clip, -clip, 16000) == pytest.approx(-6.02, abs=0.01)   # error = 2 × signal


def test_log_spectral_distance(clip):
    assert log_spectral_distance_db(clip, clip, 16000) == 0
    d = [log_spectral_distance_db(clip, noisy(clip, s), 16000) for s in (30, 15, 5)]
    assert d[0] < d[1] < d[2]
    # Phase-blind: a sign flip changes nothing
    assert log_spectral_distance_db(clip, -clip, 16000) == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("lag", [0, 37, -120, 800])
def test_align_finds_the_lag(clip, lag):
    y = np.roll(clip, lag)
    r, d, found = align(clip, y, 16000)
    assert found == lag and len(r) == len(d)
    assert snr_db(r[1000:-1000], d[1000:-1000]) > 100


def test_bad_inputs():
    with pytest.raises(ValueError, match="one-dimensional"):
        snr_db(np.zeros((2, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="rate_hz"):
        segmental_snr_db(np.zeros(10), np.zeros(10), 10)
    with pytest.raises(ValueError, match="8000 or 16000"):
        pesq_score(np.zeros(10), np.zeros(10), 48000)


def test_speech_quality_and_players(clip):
    q = speech_quality(clip, noisy(clip, 25), 16000, pesq=False)
    assert set(q) == {"lag_samples", "snr_db", "segsnr_db", "lsd_db", "pesq", "stoi"}
    assert q["pesq"] is None and q["lag_samples"] == 0
    row = compare_players(clip[:8000], {"noisy": noisy(clip[:8000], 10)}, 16000)
    html = row._repr_html_()
    assert html.count("<audio") == 2 and "segSNR" in html


def test_missing_packages_raise_metric_unavailable(monkeypatch, clip):
    monkeypatch.setitem(sys.modules, "pesq", None)
    monkeypatch.setitem(sys.modules, "pystoi", None)
    assert not speech.has_pesq() and not speech.has_stoi()
    with pytest.raises(MetricUnavailable, match="quality"):
        pesq_score(clip, clip, 16000)
    with pytest.raises(MetricUnavailable):
        stoi_score(clip, clip, 16000)
    assert speech_quality(clip, clip, 16000, stoi=True)["pesq"] is None


def test_pesq_path_when_installed(clip):
    pytest.importorskip("pesq")
    clean = pesq_score(clip, clip, 16000)
    assert clean > 4.4
    assert pesq_score(clip, noisy(clip, 5), 16000) < clean - 2
    x8 = load_speech("en", 8000, seconds=6, as_float=True)
    assert pesq_score(x8, x8, 8000) > 4.4                       # narrow-band P.862
    assert speech_quality(clip, noisy(clip, 20), 16000)["pesq"] is not None


def test_stoi_path_when_installed(clip):
    pytest.importorskip("pystoi")
    assert stoi_score(clip, clip, 16000) > 0.99
    assert stoi_score(clip, noisy(clip, -5), 16000) < 0.9
