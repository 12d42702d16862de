"""G.711: decoders bit-exact with aiortc (FFmpeg), encoders against aiortc and the G.191 reference."""

import warnings

import numpy as np
import pytest
from hypothesis import given, strategies as st

from rtlib.media.codecs import G711, get_codec
from rtlib.media.codecs.pcm import alaw_decode, alaw_encode, g711_decode, g711_encode, ulaw_decode, ulaw_encode

ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def aiortc_encode(law: str, samples: np.ndarray) -> np.ndarray:
    """Run aiortc's own PCMU/PCMA encoder over ``samples`` (multiple of 160)."""
    from av import AudioFrame
    from aiortc.codecs.g711 import PcmaEncoder, PcmuEncoder

    enc = PcmuEncoder() if law == "mu" else PcmaEncoder()
    frame = AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = 8000
    frame.pts = 0
    payloads, _ = enc.encode(frame)
    return np.frombuffer(b"".join(payloads), dtype=np.uint8)


def aiortc_decode(law: str, codes: bytes) -> np.ndarray:
    from aiortc.codecs.g711 import PcmaDecoder, PcmuDecoder
    from aiortc.jitterbuffer import JitterFrame

    dec = PcmuDecoder() if law == "mu" else PcmaDecoder()
    frames = dec.decode(JitterFrame(data=codes, timestamp=0))
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames])


@pytest.mark.interop
@pytest.mark.parametrize("law", ["mu", "a"])
def test_decoder_is_bit_exact_with_aiortc_for_every_code(law):
    codes = bytes(range(256))
    assert np.array_equal(g711_decode(codes, law), aiortc_decode(law, codes))
    codec = G711(law)
    assert np.array_equal(codec.decode(bytes(range(160))), aiortc_decode(law, bytes(range(160))))


@pytest.mark.interop
@pytest.mark.parametrize("law", ["mu", "a"])
def test_ffmpeg_variant_encoder_is_bit_exact_with_aiortc_on_every_input(law):
    ref = aiortc_encode(law, ALL)                         # 65,536 = 409.6 frames: aiortc keeps the tail
    ours = g711_encode(ALL, law, variant="ffmpeg")
    assert len(ref) == 409 * 160
    assert np.array_equal(ours[: len(ref)], ref)
    tail = ALL[-256:]                                     # the last 96 samples, in a frame of their own
    tail_ref = aiortc_encode(law, np.concatenate([tail, np.zeros(64, np.int16)]))
    assert np.array_equal(g711_encode(tail, law, variant="ffmpeg"), tail_ref[:256])
    codec = G711(law, variant="ffmpeg")
    speechy = (np.sin(np.arange(160) / 7) * 20000).astype(np.int16)
    assert codec.encode(speechy) == aiortc_encode(law, speechy).tobytes()


@pytest.mark.interop
@pytest.mark.parametrize("law", ["mu", "a"])
def test_g191_and_aiortc_differ_only_on_decision_values_by_one_level(law):
    ref = g711_encode(ALL, law, variant="ffmpeg")
    ours = g711_encode(ALL, law)
    differ = np.flatnonzero(ours != ref)
    assert 0 < len(differ) < 0.02 * len(ALL)
    dec_ref, dec_ours = g711_decode(ref[differ], law).astype(int), g711_decode(ours[differ], law).astype(int)
    x = ALL[differ].astype(int)
    # The two decoded levels are neighbours and the input lies between them.
    levels = np.unique(g711_decode(np.arange(256), law).astype(int))
    pos = np.searchsorted(levels, np.minimum(dec_ref, dec_ours))
    assert np.array_equal(levels[pos + 1], np.maximum(dec_ref, dec_ours))
    grid = 4 if law == "mu" else 8   # FFmpeg quantises on a 14-bit (μ) / 13-bit (A) grid first
    assert np.all((np.minimum(dec_ref, dec_ours) <= x + grid) & (x - grid <= np.maximum(dec_ref, dec_ours)))
    # FFmpeg rounds to the nearest level of its coarser grid: never further than one grid step more.
    assert np.all(np.abs(dec_ref - x) <= np.abs(dec_ours - x) + 2 * grid)


def test_g191_reference_values():
    # Classic G.711 code points: zero, the smallest negatives, the extremes.
    assert list(ulaw_encode(np.array([0, -1, 32767, -32768], np.int16))) == [0xFF, 0x7F, 0x80, 0x00]
    assert list(alaw_encode(np.array([0, -1, 32767, -32768], np.int16))) == [0xD5, 0x55, 0xAA, 0x2A]
    assert list(ulaw_decode([0xFF, 0x7F, 0x80, 0x00])) == [0, 0, 32124, -32124]
    assert list(alaw_decode([0xD5, 0x55, 0xAA, 0x2A])) == [8, -8, 32256, -32256]


def test_alaw_g191_matches_pythons_audioop():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    ref = np.frombuffer(audioop.lin2alaw(ALL.astype("<i2").tobytes(), 2), dtype=np.uint8)
    assert np.array_equal(alaw_encode(ALL), ref)


@given(st.integers(-32768, 32767))
def test_decoded_value_is_within_half_a_step(x):
    for law, enc, dec in (("mu", ulaw_encode, ulaw_decode), ("a", alaw_encode, alaw_decode)):
        y = int(dec(enc(np.array([x], np.int16)))[0])
        # The step in a segment doubles with the magnitude: at most 1/16 of it, plus the bias.
        assert abs(y - x) <= max(abs(x), 256) / 16 + 16, (law, x, y)


def test_encoders_are_monotonic():
    for law in ("mu", "a"):
        for variant in ("g191", "ffmpeg"):
            y = g711_decode(g711_encode(ALL, law, variant), law).astype(int)
            assert np.all(np.diff(y) >= 0), (law, variant)


def test_codec_interface_and_errors():
    c = get_codec("pcmu")
    assert (c.payload_type, c.rtp_name, c.bitrate_bps, c.samples_per_frame) == (0, "PCMU", 64000.0, 160)
    assert get_codec("pcma").payload_type == 8
    assert c.algorithmic_delay_ms == 20.0 and c.timestamp_step == 160
    assert len(c.encode(np.zeros(160, np.int16))) == 160
    assert np.array_equal(c.decode(None), np.zeros(160, np.int16))
    with pytest.raises(ValueError, match="frame must hold 160 mono samples"):
        c.encode(np.zeros(100, np.int16))
    with pytest.raises(ValueError, match="law must be"):
        G711("b")
    with pytest.raises(ValueError, match="variant must be"):
        G711("mu", variant="fast")
    with pytest.raises(ValueError, match="law must be 'mu' or 'a'"):
        g711_encode(ALL, "x")
