"""The media source: encoder model, audio CBR and pacer."""

import numpy as np
import pytest

from rtlib.cc.media import OVERHEAD_BYTES, AudioCbr, Pacer, VideoEncoderModel, packet_sizes


def run_encoder(enc, seconds, start=0.0):
    frames, t = [], start
    while t < start + seconds:
        f = enc.encode(t)
        frames.append(f)
        t = enc.next_frame_s
    return frames


def test_encoder_follows_the_target_with_its_response_time():
    enc = VideoEncoderModel(start_rate_bps=500e3, response_time_s=0.3, noise=0.0)
    last_before = run_encoder(enc, 1.0)[-1].t_s
    enc.set_target(1.5e6)
    frames = run_encoder(enc, 0.3, start=1.0)
    # a first-order lag: after t seconds it has covered 1 - exp(-t / 0.3) of the step
    elapsed = frames[-1].t_s - last_before
    assert enc.rate_bps - 500e3 == pytest.approx(1e6 * (1 - np.exp(-elapsed / 0.3)), rel=0.02)
    run_encoder(enc, 3.0, start=1.3)
    assert enc.rate_bps == pytest.approx(1.5e6, rel=0.01)


def test_frame_sizes_vary_within_five_percent_and_average_to_the_target():
    enc = VideoEncoderModel(start_rate_bps=1e6, noise=0.05, seed=3)
    frames = run_encoder(enc, 10.0)[1:]  # skip the first keyframe
    frames = [f for f in frames if f.t_s > 2.0]  # after its debt is repaid
    sizes = np.array([f.size_bytes for f in frames])
    nominal = 1e6 / 30 / 8
    assert sizes.min() >= 0.95 * nominal - 1 and sizes.max() <= 1.05 * nominal + 1
    assert sizes.std() > 0.01 * nominal  # the noise is there
    assert sizes.mean() * 8 * 30 == pytest.approx(1e6, rel=0.01)


def test_keyframe_on_request_costs_more_and_is_repaid():
    enc = VideoEncoderModel(start_rate_bps=1e6, noise=0.0, keyframe_factor=4.0)
    run_encoder(enc, 2.0)
    enc.request_keyframe()
    frames = run_encoder(enc, 3.0, start=2.0)
    assert frames[0].keyframe and not frames[1].keyframe
    assert frames[0].size_bytes == pytest.approx(4 * 1e6 / 30 / 8, rel=0.01)
    assert sum(f.size_bytes for f in frames) * 8 / 3.0 == pytest.approx(1e6, rel=0.02)


def test_ladder_lowers_resolution_and_frame_rate_with_the_target():
    enc = VideoEncoderModel(start_rate_bps=2.5e6, response_time_s=0.0)
    assert enc.encode(0.0).rung.label == "720p30"
    enc.set_target(120e3)
    f = enc.encode(0.1)
    assert f.rung.label == "180p15" and enc.next_frame_s == pytest.approx(0.1 + 1 / 15)
    enc.set_target(60e3)
    assert enc.encode(0.2).rung.fps == 7.5
    enc.set_target(2.5e6)  # going up waits a second and needs 10 % headroom
    assert enc.encode(0.5).rung.fps == 7.5
    assert enc.encode(1.3).rung.label == "720p30"


def test_packet_sizes():
    assert packet_sizes(3000) == [1000, 1000, 1000]
    assert packet_sizes(1201) == [601, 600]
    assert packet_sizes(1) == [1]
    assert sum(packet_sizes(123457)) == 123457 and max(packet_sizes(123457)) <= 1200


def test_audio_cbr():
    a = AudioCbr(32e3, 0.02)
    assert a.payload_bytes == 80
    assert a.wire_rate_bps == pytest.approx((80 + OVERHEAD_BYTES) * 8 / 0.02)
    with pytest.raises(ValueError, match="rate_bps"):
        AudioCbr(1e6)


def test_pacer_spreads_a_frame_at_pacing_factor_times_the_rate():
    p = Pacer(1e6, pacing_factor=2.5, burst_s=0.005)
    for i in range(20):
        p.enqueue(("v", i), 1250)
    p.enqueue(("a", 0), 130, audio=True)
    t, sent, times = 0.0, [], []
    while True:
        out, nxt = p.poll(t)
        sent += out
        times += [t] * len(out)
        if nxt is None:
            break
        t = nxt
    assert sent[0] == ("a", 0)  # audio first
    assert len(sent) == 21 and p.queued_bytes == 0
    # 25 kB at 2.5 Mbit/s take 80 ms
    assert times[-1] == pytest.approx(20 * 1250 * 8 / 2.5e6, abs=0.006)


def test_pacer_releases_no_more_than_the_window_allows():
    p = Pacer(10e6)
    for i in range(10):
        p.enqueue(i, 1000)
    out, nxt = p.poll(0.0, limit_bytes=2500)
    assert out == [0, 1, 2]  # the packet that reaches the limit still goes
    assert nxt is not None and p.queued_bytes == 7000
    assert p.poll(0.005, limit_bytes=0)[0] == []
    assert not p.audio_waiting()
    p.enqueue("a", 100, audio=True)
    assert p.audio_waiting()


def test_skipped_frame_keeps_the_frame_index_and_the_schedule():
    enc = VideoEncoderModel(start_rate_bps=1e6)
    f0 = enc.encode(0.0)
    enc.skip(enc.next_frame_s)
    assert enc.frames_skipped == 1 and enc.next_frame_s == pytest.approx(2 / 30)
    f1 = enc.encode(enc.next_frame_s)
    assert f1.index == f0.index + 1  # the decoder sees no gap: nothing was encoded
