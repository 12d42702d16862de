"""rtlib.conf.simulcast (layer selector, VP8 keyframe detection) and rtlib.conf.speaker (RFC 6464)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.conf.simulcast import LayerSelector, over_estimate_spans, replay, vp8_keyframe_start
from rtlib.conf.speaker import DominantSpeaker
from rtlib.media.packetize import Vp8Descriptor

LAYERS = (150.0, 500.0, 1500.0)


def test_keyframe_detection_reads_rfc7741_descriptor_and_p_bit():
    assert vp8_keyframe_start(b"\x10\x00rest")           # S=1, PID=0, P=0
    assert not vp8_keyframe_start(b"\x10\x01rest")       # P=1: inter frame
    assert not vp8_keyframe_start(b"\x00\x00rest")       # not the start of the frame
    assert not vp8_keyframe_start(b"\x11\x00rest")       # PID 1
    with_pid = Vp8Descriptor(start=True, picture_id=300).to_bytes()
    assert vp8_keyframe_start(with_pid + b"\x00")
    assert not vp8_keyframe_start(with_pid + b"\x01")
    assert not vp8_keyframe_start(b"")


def test_real_vp8_keyframe_is_detected():
    from rtlib.media.clips import synthetic_video_frame
    from rtlib.media.codecs.video import Vp8Codec
    from rtlib.media.packetize import vp8_packetize

    codec = Vp8Codec(width=64, height=48, bitrate_bps=100_000)
    key = codec.encode(synthetic_video_frame(0, 64, 48), keyframe=True)
    inter = codec.encode(synthetic_video_frame(1, 64, 48))
    assert vp8_keyframe_start(vp8_packetize(key, picture_id=1)[0])
    assert not vp8_keyframe_start(vp8_packetize(inter, picture_id=2)[0])


def test_selector_up_needs_a_stable_estimate_down_is_bounded():
    sel = LayerSelector(LAYERS, up_hold_s=2.0, down_hold_s=0.5)
    t = np.arange(0, 10, 0.1)
    est = np.where(t < 6, 3000.0, 300.0)
    layers = replay(sel, t, est)
    # 2 s at 3000 kbit/s before each step up: 0 -> 1 at t = 2, 1 -> 2 at t = 4.1 (the hold restarts after a switch)
    assert layers[int(1.9 / 0.1)] == 0 and layers[int(2.05 / 0.1)] == 1 and layers[int(4.25 / 0.1)] == 2
    # down to the layer that fits within 0.5 s of the drop
    assert layers[int(6.6 / 0.1)] == 0
    assert sel.switches == 3


def test_selector_ignores_a_short_dip():
    sel = LayerSelector(LAYERS, start_layer=2, down_hold_s=0.5)
    t = np.arange(0, 3, 0.05)
    est = np.where((t > 1) & (t < 1.3), 800.0, 2500.0)
    assert set(replay(sel, t, est)) == {2}


def test_selector_bad_parameters():
    with pytest.raises(ValueError, match="start_layer"):
        LayerSelector(LAYERS, start_layer=3)
    with pytest.raises(ValueError, match="down_hold_s"):
        LayerSelector(LAYERS, down_hold_s=-1)
    with pytest.raises(ValueError, match="layers_kbps"):
        LayerSelector((500, 150))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(50, 4000), min_size=5, max_size=200), st.floats(0.0, 2.0), st.floats(0.05, 0.5))
def test_selector_never_keeps_a_layer_above_the_estimate_longer_than_its_hysteresis(est, hold_s, step_s):
    sel = LayerSelector(LAYERS, down_hold_s=hold_s, up_hold_s=1.0)
    t = np.arange(len(est)) * step_s
    layers = replay(sel, t, est)
    spans = over_estimate_spans(t, est, layers, LAYERS)
    # sampled every step_s, a switch lands on the first sample at or after the hold
    assert all(s <= hold_s + step_s + 1e-9 for s in spans)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(50, 4000), min_size=2, max_size=100))
def test_selector_only_goes_up_one_layer_at_a_time(est):
    sel = LayerSelector(LAYERS, up_hold_s=0.0)
    layers = replay(sel, np.arange(len(est)) * 0.1, est)
    assert all(b - a <= 1 for a, b in zip(layers, layers[1:]))


def test_dominant_speaker_needs_hold_and_last_n_orders_by_recency():
    ds = DominantSpeaker(window_s=0.5, hold_s=1.0)
    t = 0.0
    for _ in range(100):  # A talks for 2 s, B silent
        ds.on_level(t, "A", -20)
        ds.on_level(t, "B", -90)
        t += 0.02
    assert ds.dominant == "A"
    for _ in range(30):  # B coughs for 0.6 s: not enough
        ds.on_level(t, "A", -90)
        ds.on_level(t, "B", -10)
        t += 0.02
    assert ds.dominant == "A"
    for _ in range(100):  # B keeps talking
        ds.on_level(t, "A", -90)
        ds.on_level(t, "B", -15)
        t += 0.02
    assert ds.dominant == "B"
    assert ds.last_n(2) == ["B", "A"] and ds.last_n(1, exclude="B") == ["A"]
    with pytest.raises(ValueError, match="hold_s"):
        DominantSpeaker(hold_s=-1)
