"""The course's speech clips and synthetic video clip."""

import numpy as np
import pytest

from rtlib.media.clips import LANGUAGES, load_speech, read_wav, speech_path, synthetic_video_frame, synthetic_video


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
@pytest.mark.parametrize("rate_hz", [8000, 16000])
def test_speech_clips_are_speech_like(lang, rate_hz):
    x, rate = read_wav(speech_path(lang, rate_hz))
    assert rate == rate_hz and x.dtype == np.int16
    assert 10 <= len(x) / rate <= 30
    peak = np.abs(x.astype(int)).max()
    assert 0.5 * 32768 < peak < 0.9 * 32768                 # normalised to -3 dBFS, never clipped
    frames = x[: len(x) // (rate // 50) * (rate // 50)].reshape(-1, rate // 50).astype(float)
    level_db = 10 * np.log10((frames ** 2).mean(axis=1) + 1e-9)
    active = level_db > level_db.max() - 40
    assert 0.6 < active.mean() < 0.95                        # mostly speech, some pauses
    # Talkspurts: at least three pauses of >= 300 ms between sentences.
    pauses, run = 0, 0
    for a in active:
        run = 0 if a else run + 1
        pauses += run == 15
    assert pauses >= 3
    spectrum = np.abs(np.fft.rfft(x.astype(float)))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    centroid = (spectrum * freqs).sum() / spectrum.sum()
    assert 500 < centroid < 3000                              # voice, not noise or hum


def test_load_speech_rates_and_errors():
    x8, x48 = load_speech("en", 8000), load_speech("en", 48000)
    assert abs(len(x48) - 6 * len(x8)) <= 6
    assert load_speech("zh", 16000, seconds=2).shape == (32000,)
    f = load_speech("en", 8000, as_float=True)
    assert f.dtype == np.float64 and np.abs(f).max() < 1
    with pytest.raises(ValueError, match="rate_hz must be one of"):
        load_speech("en", 44100)
    with pytest.raises(ValueError, match="lang must be one of"):
        load_speech("fr")


def test_test_pattern_moves_and_counts():
    v = synthetic_video(31, 160, 120)
    assert v.shape == (31, 120, 160, 3) and v.dtype == np.uint8
    assert not np.array_equal(v[0], v[1])
    # The counter region differs between frames 7 and 8 (different digits), so does the box.
    corner = (slice(0, 30), slice(0, 40))
    assert not np.array_equal(synthetic_video_frame(7, 160, 120)[corner], synthetic_video_frame(8, 160, 120)[corner])
    with pytest.raises(ValueError, match="width must be an even integer"):
        synthetic_video(2, 161, 120)
