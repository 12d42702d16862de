"""Loss concealment: silence, repetition, pitch-based repetition (G.711 App. I style), Opus PLC."""

import numpy as np
import pytest

from rtlib.media.plc import conceal, frames_lost, opus_concealment, pitch_period

RATE = 8000
FRAME = 160  # 20 ms


def voiced(seconds=1.0, f0=160.0, rate=RATE):
    """A voiced-speech stand-in: a few harmonics of ``f0``."""
    t = np.arange(int(seconds * rate)) / rate
    return 0.4 * np.sin(2 * np.pi * f0 * t) + 0.2 * np.sin(2 * np.pi * 2 * f0 * t + 1) \
        + 0.1 * np.sin(2 * np.pi * 3 * f0 * t + 2)


def frame_rms(x, i):
    return float(np.sqrt(np.mean(x[i * FRAME:(i + 1) * FRAME] ** 2)))


@pytest.mark.parametrize("f0", [70.0, 100.0, 133.0, 190.0])
def test_pitch_period_finds_the_period_or_a_multiple(f0):
    p = pitch_period(voiced(0.2, f0), RATE)
    period = RATE / f0
    assert 40 <= p <= 120  # the 5-15 ms search range at 8 kHz
    assert abs(p / period - round(p / period)) < 0.03


def test_pitch_period_needs_enough_history():
    with pytest.raises(ValueError, match="history must hold at least"):
        pitch_period(np.zeros(100), RATE)


def test_silence_zeroes_lost_frames_and_leaves_the_rest():
    x = voiced()
    lost = np.zeros(50, bool)
    lost[[5, 20, 21]] = True
    y = conceal(x, lost, RATE, method="silence")
    assert np.all(y.reshape(50, FRAME)[lost] == 0)
    assert np.array_equal(y.reshape(50, FRAME)[~lost], x.reshape(50, FRAME)[~lost])


def test_repeat_copies_the_last_good_frame():
    x = np.random.default_rng(0).normal(size=50 * FRAME)
    lost = np.zeros(50, bool)
    lost[[10, 11]] = True
    y = conceal(x, lost, RATE, method="repeat")
    assert np.array_equal(y[10 * FRAME:11 * FRAME], x[9 * FRAME:10 * FRAME])
    assert np.array_equal(y[11 * FRAME:12 * FRAME], x[9 * FRAME:10 * FRAME])


def test_pitch_repetition_continues_the_waveform_in_phase():
    # 160 Hz: a 20 ms frame holds 3.2 periods, so plain repetition jumps phase.
    x = voiced(f0=160.0)
    lost = np.zeros(50, bool)
    lost[20] = True
    errors = {}
    for method in ("silence", "repeat", "pitch"):
        y = conceal(x, lost, RATE, method=method)
        first_half = slice(20 * FRAME, 20 * FRAME + FRAME // 2)  # before any fade-out
        errors[method] = float(np.sqrt(np.mean((y[first_half] - x[first_half]) ** 2)))
    assert errors["pitch"] < 0.02 < 0.2 < errors["repeat"]
    assert errors["silence"] > 0.2


def test_pitch_concealment_fades_out_long_holes():
    x = voiced(2.0)
    lost = np.zeros(100, bool)
    lost[30:40] = True  # 200 ms
    y = conceal(x, lost, RATE, method="pitch")
    assert frame_rms(y, 30) > 0.2  # the first 20 ms still sound
    assert frame_rms(y, 32) < frame_rms(y, 31) < frame_rms(y, 30)
    assert all(frame_rms(y, i) == 0 for i in range(33, 40))  # silent after 60 ms
    # Outside the hole and the cross-fades the signal is untouched.
    assert np.array_equal(y[:29 * FRAME], x[:29 * FRAME])
    assert np.array_equal(y[41 * FRAME:], x[41 * FRAME:])


def test_pitch_concealment_at_the_very_start_falls_back_to_silence():
    x = voiced()
    lost = np.zeros(50, bool)
    lost[0] = True
    assert np.all(conceal(x, lost, RATE)[:FRAME] == 0)


def test_int16_in_int16_out_and_lengths():
    x = (voiced(0.51) * 20000).astype(np.int16)  # not a whole number of frames
    lost = frames_lost(0.3, -(-x.size // FRAME), seed=3)
    for method in ("silence", "repeat", "pitch"):
        y = conceal(x, lost, RATE, method=method)
        assert y.dtype == np.int16 and y.shape == x.shape


def test_bad_arguments():
    x = voiced()
    with pytest.raises(ValueError, match="method must be one of"):
        conceal(x, np.zeros(50, bool), RATE, method="magic")
    with pytest.raises(ValueError, match="one flag per 20 ms frame"):
        conceal(x, np.zeros(49, bool), RATE)
    with pytest.raises(ValueError, match="rate_hz"):
        conceal(x, np.zeros(50, bool), 100)


def test_frames_lost_uses_the_network_loss_model():
    lost = frames_lost(0.1, 20_000, burst_len=3, seed=1)
    assert lost.mean() == pytest.approx(0.1, abs=0.01)
    runs = np.diff(np.flatnonzero(np.diff(np.concatenate(([0], lost.astype(int), [0])))))[::2]
    assert runs.mean() == pytest.approx(3, rel=0.15)


def test_opus_plc_fills_the_holes():
    from rtlib.media.codecs import get_codec

    if get_codec("opus", rate_hz=16000).plc != "codec":
        pytest.skip("libopus decoder not reachable: Opus PLC unavailable here")
    x = voiced(1.0, rate=16000)
    lost = np.zeros(50, bool)
    lost[[10, 25, 26]] = True
    y = opus_concealment(x, lost, 16000)
    assert y.dtype == np.int16 and y.shape == x.shape
    frames = y.reshape(50, 320).astype(float) / 32768
    rms = np.sqrt(np.mean(frames ** 2, axis=1))
    assert rms[10] > 0.1 and rms[25] > 0.05  # not silence: the codec extrapolated
    with pytest.raises(ValueError, match="one flag per"):
        opus_concealment(x, lost[:-1], 16000)
