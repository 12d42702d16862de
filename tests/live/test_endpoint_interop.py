"""The rtlib endpoint's media is accepted by a real stack: aiortc parses its RTP and decodes its VP8 and Opus.

Two :class:`EndpointCore` objects talk over a perfect virtual wire for two seconds
(real Opus + VP8, ``media="codec"``); every RTP packet A sends is then handed to
aiortc: its RTP parser (header extensions as an SDP would map them), its RFC 7741 VP8
depayloader and its libvpx / Opus decoders.
"""

import pytest

pytest.importorskip("aiortc")

from aiortc.codecs import OpusDecoder, Vp8Decoder, depayload  # noqa: E402
from aiortc.jitterbuffer import JitterFrame  # noqa: E402
from aiortc.rtcrtpparameters import (  # noqa: E402
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap  # noqa: E402
from aiortc.rtp import RtpPacket as AiortcRtpPacket  # noqa: E402

from rtlib.live.endpoint_core import EndpointConfig, EndpointCore  # noqa: E402
from rtlib.live.endpoint_media import MAX_CODEC_SIZE, OPUS_PT, VP8_PT  # noqa: E402
from rtlib.rtp import DEFAULT_EXTENSION_MAP, is_rtcp  # noqa: E402

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def a_sent():
    """(A's datagrams, A) from a 2 s call on a perfect wire, 1 ms ticks."""
    cfg = EndpointConfig(media="codec")
    a, b = EndpointCore(0, cfg), EndpointCore(1, cfg)
    a.start(0.0)
    b.start(0.0)
    out = []
    t = 0.0
    while t < 2.0:
        for d in a.poll(t):
            out.append(d)
            b.receive(d, t)
        for d in b.poll(t):
            a.receive(d, t)
        t = round(t + 0.001, 6)
    return out, a, b


def _aiortc_parse(datagrams):
    ext_map = HeaderExtensionsMap()
    ext_map.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=u) for u, i in DEFAULT_EXTENSION_MAP.uris().items()]))
    return [AiortcRtpPacket.parse(d, ext_map) for d in datagrams if not is_rtcp(d)]


def test_aiortc_parses_every_rtp_packet_and_its_transport_wide_numbers(a_sent):
    datagrams, a, _ = a_sent
    pkts = _aiortc_parse(datagrams)
    assert len(pkts) > 100
    tseq = [p.extensions.transport_sequence_number for p in pkts]
    assert None not in tseq
    # numbered in the order the packets left, across audio, video and probes (transport-wide)
    assert tseq == [(tseq[0] + i) & 0xFFFF for i in range(len(tseq))]
    assert all(p.extensions.abs_send_time is not None for p in pkts)
    assert {p.ssrc for p in pkts} >= {a.ssrcs.audio, a.ssrcs.video}


def test_aiortc_decodes_the_vp8_video(a_sent):
    datagrams, a, b = a_sent
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=VP8_PT)
    frames: dict[int, list] = {}
    for p in _aiortc_parse(datagrams):
        if p.ssrc == a.ssrcs.video:
            frames.setdefault(p.timestamp, []).append(p)
    decoder = Vp8Decoder()
    decoded = []
    for ts, pkts in frames.items():
        pkts.sort(key=lambda p: p.sequence_number)
        assert pkts[-1].marker
        data = b"".join(depayload(vp8, p.payload) for p in pkts)
        decoded += decoder.decode(JitterFrame(data=data, timestamp=ts))
    assert len(frames) == a.frames_encoded > 40
    assert len(decoded) == len(frames)  # every frame sent decodes
    assert {(f.width, f.height) for f in decoded} <= {(w, h) for w, h in [(320, 180), MAX_CODEC_SIZE]}
    assert b.frames_rendered == len(frames)  # and rtlib's receiver rendered them all too


def test_aiortc_decodes_the_opus_audio(a_sent):
    datagrams, a, _ = a_sent
    opus = [p for p in _aiortc_parse(datagrams) if p.ssrc == a.ssrcs.audio]
    assert all(p.payload_type == OPUS_PT for p in opus)
    assert len(opus) >= 95  # 20 ms frames for 2 s
    # 20 ms apart on the 48 kHz RTP clock (RFC 7587 section 4.1)
    assert {(q.timestamp - p.timestamp) & 0xFFFFFFFF for p, q in zip(opus, opus[1:])} == {960}
    decoder = OpusDecoder()
    out = [f for p in opus for f in decoder.decode(JitterFrame(data=p.payload, timestamp=p.timestamp))]
    assert len(out) == len(opus)
    assert all(f.samples == 960 and f.sample_rate == 48000 for f in out)
    loud = sum(abs(int(x)) for x in out[-1].to_ndarray().ravel()[:960]) / 960
    assert loud > 100  # the tone came through, not silence


def test_ffmpeg_rtp_demuxer_decodes_the_video_from_an_sdp(a_sent, tmp_path):
    """FFmpeg's own RTP stack (through PyAV), told only what an SDP says, decodes every frame."""
    import socket
    import threading
    import time

    import av

    datagrams, a, _ = a_sent
    video = [d for d in datagrams if not is_rtcp(d) and int.from_bytes(d[8:12], "big") == a.ssrcs.video]
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1] & ~1  # RTP on an even port (RFC 3550 11)
    probe.close()
    sdp = tmp_path / "video.sdp"
    sdp.write_text(f"v=0\no=- 0 0 IN IP4 127.0.0.1\ns=rtlib endpoint A\nc=IN IP4 127.0.0.1\nt=0 0\n"
                   f"m=video {port} RTP/AVP {VP8_PT}\na=rtpmap:{VP8_PT} VP8/90000\n")
    sizes, errors = [], []

    def demux():
        try:
            with av.open(str(sdp), format="sdp", timeout=(5, 1),
                         options={"protocol_whitelist": "file,udp,rtp", "reorder_queue_size": "0"}) as c:
                for f in c.decode(video=0):
                    sizes.append((f.width, f.height))
        except av.error.ExitError:
            pass  # the 1 s read timeout after the last packet ends the stream
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    th = threading.Thread(target=demux)
    th.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # wait until FFmpeg has bound the port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                break
        time.sleep(0.02)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
        for d in video:
            tx.sendto(d, ("127.0.0.1", port))
            time.sleep(0.0005)
    th.join(15)
    assert not th.is_alive() and not errors
    assert len(sizes) == a.frames_encoded
