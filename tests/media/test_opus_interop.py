"""Opus interop with aiortc, both ways, through real RTP bytes.

- rtlib → aiortc: rtlib's :class:`OpusCodec` (48 and 16 kHz, 10/20/60 ms frames,
  in-band FEC on) → :class:`AudioPacketizer` → RTP bytes → ``aiortc.rtp.RtpPacket``
  → aiortc's ``OpusDecoder``.
- aiortc → rtlib: aiortc's ``OpusEncoder`` (48 and 16 kHz input) → RTP bytes built
  by ``aiortc.rtp`` → :meth:`rtlib.rtp.RtpPacket.parse` → rtlib's decoder.

What aiortc offers limits the second direction: its encoder always sends 20 ms
stereo frames at 96 kbit/s and never switches on in-band FEC, and its decoder
(FFmpeg's libopusdec) cannot decode FEC data.  So the 10 and 60 ms frames and the
16 kHz encoder rate are tested rtlib → aiortc only, and FEC is tested as far as it
exists: rtlib's FEC-carrying packets decode in aiortc, and aiortc's own encoder
object, with libopus's ``fec`` option set through its PyAV codec (aiortc never sets
it), yields packets whose FEC data rtlib's decoder recovers a lost frame from.

Checked: RTP timestamps advance by the frame length at the 48 kHz RTP clock whatever
the sample rate (RFC 7587 4.1), every packet's TOC byte states the frame length
(RFC 6716 3.1), decoded sizes, and the decoded audio against the input (correlation
and SNR after aligning for the codec's look-ahead).
"""

import fractions

import numpy as np
import pytest

pytest.importorskip("aiortc")
from aiortc import rtp as aiortc_rtp  # noqa: E402
from aiortc.codecs.opus import OpusDecoder, OpusEncoder  # noqa: E402
from aiortc.jitterbuffer import JitterFrame  # noqa: E402
from av import AudioFrame  # noqa: E402
from scipy.signal import correlate, resample_poly  # noqa: E402

from rtlib.media.clips import load_speech  # noqa: E402
from rtlib.media.codecs.real import OpusCodec, libopus, opus_packet_has_fec  # noqa: E402
from rtlib.media.packetize import AudioPacketizer, to_rtp_packets  # noqa: E402
from rtlib.rtp import RtpPacket  # noqa: E402

pytestmark = [pytest.mark.interop,
              pytest.mark.skipif(libopus() is None, reason="libopus (bundled with PyAV) not found")]

RTP_CLOCK_HZ = 48_000  # RFC 7587 4.1
SECONDS = 3.0
BITRATE_BPS = 32_000


def toc_frame_ms(payload: bytes) -> float:
    """Audio duration of one Opus packet from its TOC byte (RFC 6716 3.1 and 3.2)."""
    config, code = payload[0] >> 3, payload[0] & 3
    if config < 12:
        size = (10, 20, 40, 60)[config % 4]       # SILK-only
    elif config < 16:
        size = (10, 20)[config % 2]               # hybrid
    else:
        size = (2.5, 5, 10, 20)[config % 4]       # CELT-only
    frames = 1 if code == 0 else 2 if code in (1, 2) else payload[1] & 0x3F
    return size * frames


def aligned(ref: np.ndarray, out: np.ndarray) -> tuple[int, float, float]:
    """(lag in samples, correlation, SNR in dB) of ``out`` against ``ref`` after the best alignment."""
    n = min(len(ref), len(out))
    lag = int(np.argmax(correlate(out[:n], ref[:n], mode="full", method="fft"))) - (n - 1)
    a, b = (ref[:n - lag], out[lag:n]) if lag >= 0 else (ref[-lag:n], out[:n + lag])
    k = min(len(a), len(b))
    a, b = a[:k], b[:k]
    return lag, float(np.corrcoef(a, b)[0, 1]), float(10 * np.log10(np.sum(a ** 2) / np.sum((b - a) ** 2)))


def aiortc_decode(payloads_and_ts) -> list[np.ndarray]:
    """aiortc's OpusDecoder (48 kHz stereo s16): one array (left channel) per packet."""
    dec = OpusDecoder()
    out = []
    for payload, ts in payloads_and_ts:
        frames = dec.decode(JitterFrame(data=payload, timestamp=ts))
        assert len(frames) == 1
        fr = frames[0]
        assert fr.sample_rate == 48_000 and fr.layout.name == "stereo"
        out.append(fr.to_ndarray().reshape(-1, 2)[:, 0].astype(float) / 32768)
    return out


# -- rtlib → RTP → aiortc ------------------------------------------------------------------------
@pytest.mark.parametrize("rate_hz", [48_000, 16_000])
@pytest.mark.parametrize("frame_ms", [10, 20, 60])
def test_rtlib_opus_decodes_in_aiortc(rate_hz, frame_ms):
    x = load_speech("en", rate_hz, seconds=SECONDS)
    codec = OpusCodec(BITRATE_BPS, frame_ms, rate_hz, fec=True, packet_loss_pct=10)
    n = codec.samples_per_frame
    pk = AudioPacketizer(codec, initial_timestamp=0xFFFFFFFF - 5 * codec.timestamp_step)  # crosses the wrap
    payloads = []
    for i in range(len(x) // n):
        payloads += pk.push(codec.encode(x[i * n:(i + 1) * n]), talkspurt_start=(i == 0))
    wire = [bytes(p) for p in to_rtp_packets(payloads, 111, 0x1234ABCD, first_sequence_number=65530)]

    theirs = [aiortc_rtp.RtpPacket.parse(w) for w in wire]
    assert [p.sequence_number for p in theirs] == [(65530 + i) & 0xFFFF for i in range(len(wire))]
    steps = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(theirs, theirs[1:])}
    assert steps == {frame_ms * RTP_CLOCK_HZ // 1000}  # 48 kHz RTP clock at 16 kHz too
    assert theirs[0].marker == 1 and not any(p.marker for p in theirs[1:])
    assert {toc_frame_ms(p.payload) for p in theirs} == {frame_ms}
    mean_bps = np.mean([len(p.payload) for p in theirs]) * 8 * 1000 / frame_ms
    assert 0.5 * BITRATE_BPS < mean_bps < 1.6 * BITRATE_BPS
    with_fec = np.mean([opus_packet_has_fec(p.payload) for p in theirs])
    assert with_fec > 0.7  # in-band FEC is really in the packets aiortc decodes

    decoded = aiortc_decode((p.payload, p.timestamp) for p in theirs)
    assert {len(d) for d in decoded} == {frame_ms * 48}  # 48 kHz output whatever the encoder's rate
    y = np.concatenate(decoded)
    ref = x.astype(float) / 32768
    ref48 = ref if rate_hz == 48_000 else resample_poly(ref, 3, 1)
    lag, corr, snr_db = aligned(ref48, y)
    assert 0 <= lag <= 0.010 * 48_000  # the look-ahead (6.5 ms) and nothing more
    assert corr > 0.9 and snr_db > 6.0

    # the same packets through rtlib's own decoder at 48 kHz: the same libopus, the same audio
    ours48 = OpusCodec(BITRATE_BPS, frame_ms, 48_000)
    mine = np.concatenate([ours48.decode(p.payload) for p in theirs]).astype(float) / 32768
    assert 10 * np.log10(np.sum(y ** 2) / max(np.sum((mine - y) ** 2), 1e-20)) > 40


def test_rtlib_fec_recovers_a_loss_that_aiortc_can_only_skip():
    """The FEC data in rtlib's packets is real: rtlib's decoder rebuilds a lost frame from it.

    (aiortc's decoder has no FEC or PLC path: a lost packet is simply missing there.)
    """
    x = load_speech("en", 48_000, seconds=SECONDS)
    codec = OpusCodec(BITRATE_BPS, 20, 48_000, fec=True, packet_loss_pct=10)
    n = codec.samples_per_frame
    payloads = [codec.encode(x[i * n:(i + 1) * n]) for i in range(len(x) // n)]
    lost = next(i for i in range(60, len(payloads) - 1) if opus_packet_has_fec(payloads[i + 1]))
    full, fec, plc = (OpusCodec(BITRATE_BPS, 20, 48_000) for _ in range(3))
    seg = {}
    for name, dec in (("full", full), ("fec", fec), ("plc", plc)):
        out = []
        for i, p in enumerate(payloads[:lost + 2]):
            if i == lost and name == "fec":
                out.append(dec.decode_fec(payloads[i + 1]))
            elif i == lost and name == "plc":
                out.append(dec.decode(None))
            else:
                out.append(dec.decode(p))
        seg[name] = out[lost].astype(float)
    snr = {k: 10 * np.log10(np.sum(seg["full"] ** 2) / np.sum((seg[k] - seg["full"]) ** 2)) for k in ("fec", "plc")}
    assert snr["fec"] > 15 and snr["fec"] > snr["plc"] + 10


# -- aiortc → RTP → rtlib ------------------------------------------------------------------------
def aiortc_encode(x: np.ndarray, rate_hz: int, fec: bool = False) -> list[bytes]:
    """aiortc's OpusEncoder over ``x`` (int16, mono, 20 ms chunks); RTP packets serialised by aiortc."""
    enc = OpusEncoder()
    if fec:  # aiortc never sets these; its encoder's PyAV codec takes them before the first frame
        enc.codec.options = {"application": "voip", "fec": "1", "packet_loss": "10"}
    n = rate_hz // 50
    wire = []
    for i in range(len(x) // n):
        frame = AudioFrame.from_ndarray(x[i * n:(i + 1) * n].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate_hz, i * n, fractions.Fraction(1, rate_hz)
        payloads, ts = enc.encode(frame)
        for k, payload in enumerate(payloads):
            seq = len(wire)
            wire.append(aiortc_rtp.RtpPacket(payload_type=111, sequence_number=(65000 + seq) & 0xFFFF,
                                             timestamp=(0xFFFFF000 + ts + 960 * k) & 0xFFFFFFFF, ssrc=77,
                                             payload=payload).serialize())
    return wire


@pytest.mark.parametrize("rate_hz", [48_000, 16_000])
def test_aiortc_opus_decodes_in_rtlib(rate_hz):
    x = load_speech("en", rate_hz, seconds=SECONDS)
    ours = [RtpPacket.parse(w) for w in aiortc_encode(x, rate_hz)]
    assert len(ours) >= len(x) // (rate_hz // 50) - 1  # its resampler may hold the last frame back
    steps = {(b.timestamp - a.timestamp) & 0xFFFFFFFF for a, b in zip(ours, ours[1:])}
    assert steps == {20 * RTP_CLOCK_HZ // 1000}  # 960 per 20 ms packet, also for 16 kHz input
    assert {toc_frame_ms(p.payload) for p in ours} == {20}  # aiortc sends 20 ms frames only
    dec = OpusCodec(BITRATE_BPS, 20, rate_hz)
    decoded = [dec.decode(p.payload) for p in ours]
    assert {len(d) for d in decoded} == {rate_hz // 50}
    y = np.concatenate(decoded).astype(float) / 32768
    lag, corr, snr_db = aligned(x.astype(float) / 32768, y)
    assert 0 <= lag <= 0.010 * rate_hz
    assert corr > 0.9 and snr_db > 6.0


@pytest.mark.parametrize("rate_hz", [48_000, 16_000])
def test_fec_from_aiortcs_encoder_recovers_a_loss_in_rtlib(rate_hz):
    x = load_speech("en", rate_hz, seconds=SECONDS)
    ours = [RtpPacket.parse(w) for w in aiortc_encode(x, rate_hz, fec=True)]
    assert np.mean([opus_packet_has_fec(p.payload) for p in ours]) > 0.7
    assert not any(opus_packet_has_fec(p.payload) for p in (RtpPacket.parse(w) for w in aiortc_encode(x, rate_hz)))
    lost = next(i for i in range(50, len(ours) - 1) if opus_packet_has_fec(ours[i + 1].payload))
    seg = {}
    for name in ("full", "fec", "plc"):
        dec = OpusCodec(BITRATE_BPS, 20, rate_hz)
        out = [dec.decode(p.payload) for p in ours[:lost]]
        out.append(dec.decode_fec(ours[lost + 1].payload) if name == "fec" else dec.decode(None) if name == "plc"
                   else dec.decode(ours[lost].payload))
        seg[name] = out[lost].astype(float)
    snr = {k: 10 * np.log10(np.sum(seg["full"] ** 2) / np.sum((seg[k] - seg["full"]) ** 2)) for k in ("fec", "plc")}
    assert snr["fec"] > 15 and snr["fec"] > snr["plc"] + 10
