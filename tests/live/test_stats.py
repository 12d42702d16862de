"""The shared sample format and the pure detectors (W3C freezeCount, concealed audio)."""

import numpy as np
import pytest

from rtlib.live.stats import (
    AudioGapCounter,
    CallStats,
    FreezeDetector,
    RateMeter,
    StatsSample,
    count_freezes,
    interval_loss,
)


def test_steady_30fps_has_no_freeze():
    assert count_freezes(np.arange(300) / 30) == (0, 0.0)


def test_a_gap_of_200ms_at_30fps_is_a_freeze():
    # avg 33.3 ms: threshold max(100, 183.3) = 183.3 ms
    t = list(np.arange(60) / 30) + list(2.0 - 1 / 30 + 0.2 + np.arange(30) / 30)
    n, s = count_freezes(t)
    assert n == 1 and s == pytest.approx(0.2)


def test_just_below_threshold_is_not_a_freeze():
    t = list(np.arange(60) / 30)
    t.append(t[-1] + 1 / 30 + 0.149)  # avg+150 ms is the bar; this gap is 182.3 ms
    assert count_freezes(t)[0] == 0


def test_low_frame_rate_uses_three_times_the_mean():
    # 5 fps: avg 200 ms, threshold max(600, 350) = 600 ms
    t = list(np.arange(40) * 0.2)
    det = FreezeDetector()
    for x in t:
        det.frame(x)
    assert det.threshold_s() == pytest.approx(0.6)
    assert not det.frame(t[-1] + 0.55)
    assert det.frame(t[-1] + 0.55 + 0.65)
    assert det.freeze_count == 1


def test_pending_freeze_and_bad_input():
    det = FreezeDetector()
    for x in np.arange(30) / 30:
        det.frame(float(x))
    assert det.pending_s(det.last_t_s + 0.1) == 0.0
    assert det.pending_s(det.last_t_s + 0.5) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="go back"):
        det.frame(0.0)
    with pytest.raises(ValueError, match="window_frames"):
        FreezeDetector(0)


def test_audio_gaps():
    c = AudioGapCounter(48000)
    for k in [0, 1, 2, 5, 6]:  # frames 3 and 4 (20 ms each) missing
        c.frame(k * 960, 960)
    assert c.concealed_ms == pytest.approx(40.0)
    c.frame((1 << 32) - 960 + 0, 960)  # a jump back (late): not counted
    assert c.concealed_samples == 1920


def test_audio_gaps_across_wrap():
    c = AudioGapCounter(48000)
    c.frame((1 << 32) - 960, 960)
    c.frame(960, 960)
    assert c.concealed_samples == 960


def test_rate_meter_and_interval_loss():
    r = RateMeter()
    assert r.update(0.0, 0) is None
    assert r.update(0.25, 25_000) == pytest.approx(800.0)
    assert interval_loss(None, 5, 95) == pytest.approx(0.05)
    assert interval_loss((5, 95), 15, 185) == pytest.approx(0.1)
    assert interval_loss((5, 95), 5, 95) is None


def test_sample_roundtrip_and_json(tmp_path):
    s = StatsSample(t_s=0.25, rtt_ms=100.0, jitter_ms=np.float64(2.5), packets_lost=np.int64(3))
    d = s.to_dict()
    assert type(d["jitter_ms"]) is float and type(d["packets_lost"]) is int and d["fps"] is None
    assert StatsSample.from_dict(d) == StatsSample(**d)
    with pytest.raises(ValueError, match="unknown"):
        StatsSample.from_dict({"t_s": 1, "rtt": 3})
    cs = CallStats(config={"stack": "aiortc"})
    for k in range(1, 41):
        cs.add(StatsSample(t_s=k * 0.25, rtt_ms=100 + k, jitter_ms=3.0, packets_lost=k, packets_received=19 * k,
                           frames_decoded=k * 7, freeze_count=1 if k > 20 else 0, freeze_s=0.5 if k > 20 else 0.0,
                           e2e_delay_ms=None if k < 3 else 120.0))
    cs.to_json(tmp_path / "c.json")
    back = CallStats.from_json(tmp_path / "c.json")
    assert back == cs
    summ = back.summary()
    assert summ["loss_fraction"] == pytest.approx(0.05)
    assert summ["rtt_ms_p50"] == pytest.approx(120.5)
    assert summ["e2e_delay_ms_p95"] == 120.0
    assert summ["freeze_rate_per_min"] == pytest.approx(6.0)
    assert summ["frozen_fraction"] == pytest.approx(0.05)
    assert summ["fps_p50"] is None
    with pytest.raises(ValueError, match="name must be one of"):
        cs.column("latency")


def test_no_freeze_before_five_frame_durations_are_known():
    """libwebrtc's kMinFrameSamplesToDetectFreeze: a start-up gap is not a freeze; the same gap later is."""
    early = [0.0, 0.033, 0.066, 0.8]          # 3 durations, then a 734 ms gap
    later = [i * 0.033 for i in range(7)] + [6 * 0.033 + 0.734]  # 6 durations, then the same gap
    assert count_freezes(early) == (0, 0.0)
    n, total_s = count_freezes(later)
    assert n == 1 and abs(total_s - 0.734) < 1e-9
