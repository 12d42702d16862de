import numpy as np

from rtlib.checks import ch06
from rtlib.media.codecs.pcm import g711_encode, ulaw_encode


def _texts(fb):
    return repr(fb) + fb._repr_html_()


def test_ulaw_check_accepts_both_reference_encoders():
    assert ch06.ulaw_encoder(ulaw_encode)
    assert ch06.ulaw_encoder(lambda x: g711_encode(x, "mu", variant="ffmpeg"))


def test_ulaw_check_explains_typical_mistakes():
    assert "Not answered" in ch06.ulaw_encoder(None).message
    assert "Not answered" in ch06.ulaw_encoder(lambda x: None).message
    assert not ch06.ulaw_encoder(lambda x: ulaw_encode(x) ^ 0xFF)
    assert "inversion" in _texts(ch06.ulaw_encoder(lambda x: ulaw_encode(x) ^ 0x7F))

    def twos_complement(x):   # magnitude by negation: -1 -> 1 instead of 0
        x = x.astype(np.int32)
        mag = np.minimum((np.abs(x) >> 2) + 33, 0x1FFF)
        seg = np.frexp((mag >> 6).astype(float))[1]
        code = (seg << 4) | ((mag >> (seg + 1)) & 15)
        return (np.where(x >= 0, code | 0x80, code) ^ 0x7F).astype(np.uint8)

    fb = ch06.ulaw_encoder(twos_complement)
    assert not fb and "negative" in _texts(fb)
    assert "raised" in ch06.ulaw_encoder(lambda x: 1 / 0).message
    assert "shape" in ch06.ulaw_encoder(lambda x: x[:10]).message
    assert "bytes" in ch06.ulaw_encoder(lambda x: x.astype(np.int32) + 1000).message


def test_snr_check():
    assert ch06.quantisation_snr_db(6.02 * 12 + 1.76)
    assert ch06.quantisation_snr_db(74.0)
    assert "power" in _texts(ch06.quantisation_snr_db(6.02 * 12))
    assert "too low" in ch06.quantisation_snr_db(50).message
    assert "Not answered" in ch06.quantisation_snr_db(None).message
    for wrong in (72.24, 50, 148.0, None, "74"):
        assert "74" not in _texts(ch06.quantisation_snr_db(wrong))


def test_wire_bitrate_check():
    assert ch06.wire_bitrate_bps(80_000)
    assert ch06.wire_bitrate_bps(88_000, ip_version=6)
    assert "payload" in ch06.wire_bitrate_bps(64_000).message
    assert "IPv4" in ch06.wire_bitrate_bps(88_000).message
    assert "RTP" in ch06.wire_bitrate_bps(80_000 - 12 * 8 * 50).message
    assert "UDP" in ch06.wire_bitrate_bps(80_000 - 8 * 8 * 50).message
    assert "kbit/s" in _texts(ch06.wire_bitrate_bps(80))
    assert "bytes" in _texts(ch06.wire_bitrate_bps(10_000))
    for wrong in (64_000, 88_000, 80, 10_000, 79_000, None):
        fb = ch06.wire_bitrate_bps(wrong)
        assert not fb and "80000" not in _texts(fb) and "80,000" not in _texts(fb) and "80 000" not in _texts(fb)


def test_overhead_check():
    right = 40 / (40 + 15)
    assert ch06.header_overhead(right)
    assert "fraction" in ch06.header_overhead(100 * right).message
    assert "payload's share" in ch06.header_overhead(1 - right).message
    assert "divided by payload" in ch06.header_overhead(40 / 15).message
    for wrong in (0.5, 72.7, 1 - right, None):
        assert "0.727" not in _texts(ch06.header_overhead(wrong))
