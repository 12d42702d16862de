"""The rtlib endpoint, sans-IO and in virtual time: the same objects the live call drives."""

import math

import pytest

from rtlib.live.endpoint import path_params, simulate_same_scenario
from rtlib.live.endpoint_core import EndpointConfig, EndpointCore
from rtlib.live.endpoint_media import AudioSource, VideoSource, frame_is_keyframe
from rtlib.live.impair import Impairment
from rtlib.live.rtp_stamp import ABS_CAPTURE_TIME_ID, decode_abs_capture_time, stamp_on_send
from rtlib.rtp import DEFAULT_EXTENSION_MAP, RtpPacket, RtpSender
from rtlib.rtp.stats import ntp_from_unix_s

LOSSY = dict(forward=Impairment(delay_ms=50, jitter_ms=5, loss=0.05), backward=Impairment(delay_ms=50))


def test_stamp_on_send_writes_transport_seq_send_time_and_capture_time():
    tx = RtpSender(1234, 96, 90_000, kind="video")
    data = tx.send_frame(b"x" * 100, 1.0)[0]
    ntp = ntp_from_unix_s(1_704_067_200.0 + 0.98)
    out = RtpPacket.parse(stamp_on_send(RtpPacket.parse(data), DEFAULT_EXTENSION_MAP, transport_seq=777, send_s=2.5,
                                        capture_ntp=ntp))
    ext = DEFAULT_EXTENSION_MAP.decode(out.extensions)
    assert ext.transport_seq == 777
    assert ext.abs_send_time_s == pytest.approx(2.5, abs=1e-5)
    assert decode_abs_capture_time(out.extensions[ABS_CAPTURE_TIME_ID]) == ntp
    assert out.payload == b"x" * 100 and out.sequence_number == RtpPacket.parse(data).sequence_number


def test_model_media_has_the_simulator_sizes_and_flags_keyframes():
    v = VideoSource("model", start_rate_bps=300e3, seed=3)
    first = v.encode(0.0)
    assert first.keyframe and frame_is_keyframe(b"".join(first.payloads), "model")
    second = v.encode(v.next_frame_s)
    assert not second.keyframe and not frame_is_keyframe(b"".join(second.payloads), "model")
    # the same model, seeded alike, decides the same sizes
    ref = VideoSource("model", start_rate_bps=300e3, seed=3).model
    assert first.size_bytes == ref.encode(0.0).size_bytes
    a = AudioSource("model", rate_bps=32e3)
    assert len(a.encode()) == 80  # 32 kbit/s x 20 ms


def test_codec_media_is_vp8_and_opus():
    v = VideoSource("codec", start_rate_bps=300e3)
    out = v.encode(0.0)
    assert out.keyframe and frame_is_keyframe(b"".join(out.payloads), "codec")
    assert out.payloads[0][0] & 0x10  # RFC 7741: S bit on the first packet of the frame
    later = v.encode(v.next_frame_s)
    assert not later.keyframe
    assert 10 < len(AudioSource("codec").encode()) < 400  # an Opus packet


def test_config_and_impairment_errors_name_the_parameter():
    with pytest.raises(ValueError, match="media"):
        EndpointConfig(media="h265")
    with pytest.raises(ValueError, match="frame_wait_s"):
        EndpointConfig(frame_wait_s=-1)
    with pytest.raises(ValueError, match="side"):
        EndpointCore(2)
    with pytest.raises(ValueError, match="outage"):
        path_params(Impairment(outage=True))
    with pytest.raises(ValueError, match="seconds"):
        simulate_same_scenario(seconds=0, **LOSSY)


def test_virtual_call_reports_what_the_path_does():
    stats = simulate_same_scenario(seconds=5, seed=2, config=EndpointConfig(media="model"), **LOSSY)
    s = stats.summary()
    assert s["samples"] == 20
    assert abs(s["loss_fraction"] - 0.05) <= 0.03
    assert s["jitter_ms_p50"] > 0
    assert abs(s["rtt_ms_p50"] - 100) <= 20
    e2e = [x.e2e_delay_ms for x in stats.samples if x.e2e_delay_ms is not None]
    assert e2e and min(e2e) >= 50
    assert s["frames_decoded"] > 120  # about 30 frames/s once GCC has found the path
    d = stats.config["rtlib"]
    assert d["nacks_sent"] > 0 and d["rtx_repaired"] > 0  # losses repaired by RFC 4588 RTX
    # deterministic: the same seed gives the same run
    again = simulate_same_scenario(seconds=5, seed=2, config=EndpointConfig(media="model"), **LOSSY)
    assert again.to_dict()["samples"] == stats.to_dict()["samples"]


def test_gcc_backs_off_below_a_rate_cap_in_virtual_time():
    stats = simulate_same_scenario(seconds=6, forward=Impairment(delay_ms=20, rate_kbps=250),
                                   backward=Impairment(delay_ms=20), config=EndpointConfig(media="model"))
    late = [x.send_kbps for x in stats.samples if x.t_s > 3.5]
    assert sum(late) / len(late) < 250
    assert stats.config["rtlib"]["target_kbps_final"] < 250


def test_frame_buffer_waits_for_a_repair_then_gives_up_and_asks_for_a_keyframe():
    """Frames render in order; a gap that no RTX fills ends in a PLI (RFC 4585 6.3.1) and a keyframe."""
    cfg = EndpointConfig(media="model", nack=False)
    a, b = EndpointCore(0, cfg), EndpointCore(1, cfg)
    a.start(0.0)
    b.start(0.0)
    dropped = set()
    t = 0.0
    while t < 2.0:
        for d in a.poll(t):
            pkt = None if d[1] >= 192 and d[1] <= 223 else RtpPacket.parse(d)
            # drop one video packet at 0.5 s: every later frame references the lost one
            if pkt is not None and pkt.ssrc == a.ssrcs.video and 0.5 <= t and not dropped:
                dropped.add(pkt.sequence_number)
                continue
            b.receive(d, t)
        for d in b.poll(t):
            a.receive(d, t)
        t = round(t + 0.001, 6)
    assert dropped
    assert b.plis_sent >= 1 and b.frames_discarded >= 1
    assert b.keyframes_rendered >= 2  # the first frame and the one the PLI asked for
    gaps = [r2 - r1 for (r1, _), (r2, _) in zip(b.renders, b.renders[1:])]
    assert max(gaps) >= cfg.frame_wait_s  # the screen froze while the receiver waited, then recovered
    assert b.renders[-1][0] > 1.9 and math.isfinite(a.next_deadline_s())
