"""rtlib.conf.mcu: mix-minus on real samples (nobody hears themself), tiles, real Opus/VP8 round trips."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rtlib.conf.mcu import Mcu, compose_tiles, mix_minus, mix_minus_demo


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 8).flatmap(lambda n: st.lists(arrays(np.float64, 64, elements=st.floats(-0.1, 0.1)),
                                                      min_size=n, max_size=n)))
def test_mix_minus_is_everyone_but_me(signals):
    mixes = mix_minus(dict(enumerate(signals)))
    for j, out in mixes.items():
        expected = sum(x for i, x in enumerate(signals) if i != j)
        np.testing.assert_allclose(out, expected, atol=1e-12)


def test_mix_minus_clips_and_checks_lengths():
    out = mix_minus({"a": np.full(4, 0.9), "b": np.full(4, 0.9), "c": np.full(4, 0.9)})
    assert out["a"].max() == 1.0
    with pytest.raises(ValueError, match="same length"):
        mix_minus({"a": np.zeros(3), "b": np.zeros(4)})


def _tone_power(x, f, rate=48_000):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    band = (freqs > f - 20) & (freqs < f + 20)
    return float((spec[band] ** 2).sum())


def test_through_real_opus_a_speaker_does_not_hear_themself():
    demo = mix_minus_demo(seconds=1.0, participants=3)
    for j, out in demo["outputs"].items():
        x = out[4800:]  # after Opus' start-up
        own = _tone_power(x, demo["freqs_hz"][j])
        others = [_tone_power(x, f) for i, f in demo["freqs_hz"].items() if i != j]
        assert min(others) > 1000 * own  # > 30 dB below the others: not there


def test_compose_tiles_places_each_picture():
    red = np.zeros((10, 10, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((10, 10, 3), np.uint8)
    blue[..., 2] = 255
    c = compose_tiles([red, blue], 40, 20)
    assert c.shape == (20, 40, 3)
    assert (c[:, :20, 0] == 255).all() and (c[:, 20:, 2] == 255).all()
    assert compose_tiles([], 8, 8).sum() == 0


def test_mcu_video_composes_the_others_and_reencodes():
    from rtlib.media.codecs.video import Vp8Codec

    colours = {"a": (250, 0, 0), "b": (0, 250, 0), "c": (0, 0, 250)}
    enc = {p: Vp8Codec(width=64, height=48, fps=15) for p in colours}
    dec = {p: Vp8Codec(width=128, height=96, fps=15) for p in colours}
    mcu = Mcu(list(colours), in_size=(64, 48), out_size=(128, 96), video_bitrate_bps=200_000)
    for k in range(3):
        for p, col in colours.items():
            pic = np.zeros((48, 64, 3), np.uint8) + np.array(col, np.uint8)
            mcu.on_video(p, enc[p].encode(pic, keyframe=(k == 0)))
        seen = {p: dec[p].decode(f) for p, f in mcu.video_tick().items()}
    for p, pic in seen.items():
        means = pic.reshape(-1, 3).mean(axis=0)
        own = list(colours).index(p)
        assert means[own] < 40  # its own colour is absent from its composite
        assert sum(means) > 100
    assert mcu.decodes == 9 and mcu.encodes == 9
