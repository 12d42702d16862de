"""The codec interface, the teaching codecs (PCM, IMA ADPCM, MDCT) and the real ones (Opus, G.722)."""

import warnings

import numpy as np
import pytest

from rtlib.media.clips import load_speech
from rtlib.media.codecs import CODEC_NAMES, as_float, as_int16, decode_clip, encode_clip, get_codec, roundtrip
from rtlib.media.codecs.adpcm import adpcm_decode, adpcm_encode
from rtlib.media.codecs.real import libopus, opus_packet_has_fec
from rtlib.media.codecs.transform import imdct, mdct
from rtlib.quality.speech import align, log_spectral_distance_db, segmental_snr_db, snr_db

AUDIO = {
    "pcm": {}, "pcmu": {}, "pcma": {}, "dvi4": {}, "mdct": {"rate_hz": 8000},
    "opus": {"rate_hz": 8000, "bitrate_bps": 16000}, "g722": {},
}


@pytest.fixture(scope="module")
def speech8():
    return load_speech("en", 8000, seconds=4)


@pytest.fixture(scope="module")
def speech16():
    return load_speech("en", 16000, seconds=4)


@pytest.mark.parametrize("name", list(AUDIO))
def test_every_audio_codec_keeps_the_contract(name):
    c = get_codec(name, **AUDIO[name])
    n = c.samples_per_frame
    assert n == round(c.frame_ms * c.rate_hz / 1000)
    x = (np.sin(np.arange(n) * 0.3) * 8000).astype(np.int16)
    payload = c.encode(x)
    assert isinstance(payload, bytes) and len(payload) > 0
    y = c.decode(payload)
    assert y.dtype == np.int16 and y.shape == (n,)
    lost = c.decode(None)
    assert lost.dtype == np.int16 and lost.shape == (n,)
    assert c.algorithmic_delay_ms == pytest.approx(c.frame_ms + c.lookahead_ms)
    assert c.bitrate_bps > 0 and c.kind == "audio"
    assert c.timestamp_step == round(c.frame_ms * c.clock_rate_hz / 1000)
    assert set(c.describe()) == {"codec", "frame_ms", "lookahead_ms", "algorithmic_delay_ms", "bitrate_bps"}
    with pytest.raises(ValueError, match="frame must hold"):
        c.encode(np.zeros(n + 1, np.int16))
    # float input in [-1, 1] is accepted too
    assert len(c.decode(c.encode(x / 32768.0))) == n


def test_get_codec_rejects_unknown_names():
    assert {"pcmu", "opus", "vp8"} <= set(CODEC_NAMES)
    with pytest.raises(ValueError, match="name must be one of"):
        get_codec("mp3")


def test_sample_conversions():
    assert as_int16(np.array([1.0, -1.0, 0.5, 2.0])).tolist() == [32767, -32768, 16384, 32767]
    assert as_float(np.array([16384], np.int16)).tolist() == [0.5]
    with pytest.raises(ValueError, match="samples must be"):
        as_int16(np.array(["a"]))


@pytest.mark.parametrize("name, kwargs, min_snr_db", [
    ("pcm", {}, 200), ("pcm", {"bits": 8}, 25), ("pcmu", {}, 34), ("pcma", {}, 34), ("dvi4", {}, 15),
    ("mdct", {"rate_hz": 8000, "quality": 10}, 25), ("mdct", {"rate_hz": 8000, "quality": 5}, 11),
])
def test_waveform_codecs_reach_their_snr_and_stay_aligned(speech8, name, kwargs, min_snr_db):
    c = get_codec(name, **kwargs)
    y = roundtrip(c, speech8)
    assert y.shape == speech8.shape
    assert snr_db(speech8, y) > min_snr_db
    assert align(speech8, y, 8000)[2] == 0


def test_each_bit_of_pcm_is_worth_about_6_db(speech8):
    snrs = [snr_db(speech8, roundtrip(get_codec("pcm", bits=b), speech8)) for b in (6, 8, 10, 12)]
    steps = np.diff(snrs) / 2
    assert np.all((steps > 5) & (steps < 7)), snrs


def test_pcm_bits_and_rates_are_checked():
    with pytest.raises(ValueError, match=r"bits must be an integer in \[1, 16\]"):
        get_codec("pcm", bits=17)
    with pytest.raises(ValueError, match="rate_hz must be one of"):
        get_codec("pcm", rate_hz=11025)
    assert get_codec("pcm", bits=4).bitrate_bps == 32000


def test_mulaw_beats_8_bit_linear_on_quiet_speech(speech8):
    quiet = (speech8.astype(float) * 0.03).astype(np.int16)   # about -30 dB
    lin8 = snr_db(quiet, roundtrip(get_codec("pcm", bits=8), quiet))
    ulaw = snr_db(quiet, roundtrip(get_codec("pcmu"), quiet))
    assert ulaw > lin8 + 15


# --- IMA ADPCM --------------------------------------------------------------------------

def test_adpcm_matches_pythons_ima_coder(speech8):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        audioop = pytest.importorskip("audioop")
    ref, _ = audioop.lin2adpcm(speech8.astype("<i2").tobytes(), 2, None)
    packed = np.frombuffer(ref, np.uint8)
    ref_codes = np.empty(2 * len(packed), np.uint8)
    ref_codes[0::2], ref_codes[1::2] = packed >> 4, packed & 15
    codes, _, _ = adpcm_encode(speech8)
    assert np.array_equal(codes, ref_codes[: len(codes)])
    ref_dec = np.frombuffer(audioop.adpcm2lin(ref, 2, None)[0], np.int16)
    assert np.array_equal(adpcm_decode(ref_codes)[0][: len(ref_dec)], ref_dec)


def test_adpcm_decoder_saturates_like_the_loop():
    codes = np.full(400, 7, np.uint8)              # keep pushing up: the predictor must clamp at 32767
    y, p, idx = adpcm_decode(codes)
    assert y.max() == 32767 and p == 32767 and idx == 88
    assert np.all(np.diff(y.astype(int)) >= 0)


def test_dvi4_packets_are_independent(speech8):
    c = get_codec("dvi4")
    payloads = encode_clip(c, speech8)
    assert all(len(p) == 4 + 80 for p in payloads)
    assert c.payload_type == 5 and c.bitrate_bps == pytest.approx(33_600)
    full = decode_clip(get_codec("dvi4"), payloads)
    lossy = decode_clip(get_codec("dvi4"), [None if i == 10 else p for i, p in enumerate(payloads)])
    n = c.samples_per_frame
    assert np.array_equal(lossy[11 * n:], full[11 * n:])     # the header resynchronises at once
    assert not lossy[10 * n:11 * n].any()
    with pytest.raises(ValueError, match="header"):
        c.decode(b"\x00")


# --- MDCT -------------------------------------------------------------------------------

def test_mdct_overlap_add_reconstructs_exactly():
    rng = np.random.default_rng(1)
    n = 64
    x = rng.standard_normal(10 * n)
    padded = np.concatenate([np.zeros(n), x, np.zeros(n)])
    out = np.zeros(len(padded) + n)
    for k in range(len(padded) // n - 1):
        out[k * n:(k + 2) * n] += imdct(mdct(padded[k * n:(k + 2) * n]))
    assert np.allclose(out[n: n + len(x)], x, atol=1e-10)


def test_mdct_quality_knob_trades_bits_for_fidelity(speech16):
    rates, snrs = [], []
    for q in (2, 5, 8):
        c = get_codec("mdct", quality=q)
        y = roundtrip(c, speech16)
        rates.append(c.bitrate_bps)
        snrs.append(snr_db(speech16, y))
    assert rates[0] < rates[1] < rates[2]
    assert snrs[0] < snrs[1] < snrs[2]
    assert get_codec("mdct", frame_ms=20).algorithmic_delay_ms == 40     # one frame of look-ahead


def test_mdct_estimate_before_use_and_errors():
    c = get_codec("mdct", quality=5, rate_hz=8000)
    assert 3000 < c.bitrate_bps < 64000
    with pytest.raises(ValueError, match=r"quality must be in \[1, 10\]"):
        get_codec("mdct", quality=0)
    with pytest.raises(ValueError, match="truncated"):
        c.decode(b"")


def test_mdct_loss_fades_instead_of_clicking(speech8):
    c = get_codec("mdct", rate_hz=8000)
    payloads = encode_clip(c, speech8)
    c.reset()
    y = decode_clip(c, [None if 50 <= i < 53 else p for i, p in enumerate(payloads)])
    n = c.samples_per_frame
    gap = y[51 * n:53 * n]           # frames whose both blocks are lost are silent
    assert not gap.any()


# --- real codecs ------------------------------------------------------------------------

def test_g722_wideband_at_64_kbits(speech16):
    c = get_codec("g722")
    assert (c.payload_type, c.clock_rate_hz, c.timestamp_step) == (9, 8000, 160)
    payloads = encode_clip(c, speech16)
    assert {len(p) for p in payloads} == {160}
    y = roundtrip(get_codec("g722"), speech16)
    assert snr_db(speech16, y) > 18 and align(speech16, y, 16000)[2] == 0


@pytest.mark.parametrize("frame_ms", [2.5, 10, 20, 60])
def test_opus_frames_and_bitrate(speech16, frame_ms):
    c = get_codec("opus", rate_hz=16000, bitrate_bps=24000, frame_ms=frame_ms,
                  application="lowdelay" if frame_ms < 10 else "voip")
    payloads = encode_clip(c, speech16)
    rate = sum(8 * len(p) for p in payloads) / (len(payloads) * frame_ms / 1000)
    assert 0.5 * 24000 < rate < 1.3 * 24000
    assert c.clock_rate_hz == 48000 and c.timestamp_step == round(48 * frame_ms)
    assert c.lookahead_ms == (2.5 if frame_ms < 10 else 6.5)


def test_opus_quality_grows_with_bitrate(speech16):
    lsd = [log_spectral_distance_db(speech16, roundtrip(get_codec("opus", rate_hz=16000, bitrate_bps=b), speech16),
                                    16000) for b in (6000, 16000, 48000)]
    assert lsd[0] > lsd[1] > lsd[2]


def test_opus_rejects_bad_settings():
    with pytest.raises(ValueError, match="frame_ms must be one of"):
        get_codec("opus", frame_ms=30)
    with pytest.raises(ValueError, match=r"bitrate_bps must be in \[6000, 510000\]"):
        get_codec("opus", bitrate_bps=1000)
    with pytest.raises(ValueError, match="application"):
        get_codec("opus", application="music")


@pytest.mark.skipif(libopus() is None, reason="libopus not found for PLC/FEC")
def test_opus_plc_conceals_and_fec_recovers(speech16):
    c = get_codec("opus", rate_hz=16000, bitrate_bps=32000, fec=True, packet_loss_pct=20)
    assert c.plc == "codec"
    payloads = encode_clip(c, speech16)
    fec_share = np.mean([opus_packet_has_fec(p) for p in payloads])
    assert fec_share > 0.5
    lost = set(range(20, len(payloads) - 1, 7))
    n = c.samples_per_frame

    def run(mode):
        """Decode with each lost frame replaced by silence, libopus PLC or FEC recovery."""
        dec = get_codec("opus", rate_hz=16000, bitrate_bps=32000)
        out = []
        for i, p in enumerate(payloads):
            if i not in lost:
                out.append(dec.decode(p))
            elif mode == "fec":
                out.append(dec.decode_fec(payloads[i + 1]))
            else:
                concealed = dec.decode(None)
                out.append(concealed if mode == "plc" else np.zeros(n, np.int16))
        return np.concatenate(out)

    ref = decode_clip(get_codec("opus", rate_hz=16000, bitrate_bps=32000), payloads)
    plc, fec, zero = run("plc"), run("fec"), run("zero")
    d = lambda y: segmental_snr_db(ref, y, 16000)     # noqa: E731 - closeness to the loss-free decode
    assert d(fec) > d(plc) > d(zero)


# --- video --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["vp8", "h264"])
def test_video_codecs_encode_decode_and_freeze(name):
    from rtlib.media.clips import synthetic_video
    from rtlib.media.codecs.video import h264_available

    if name == "h264" and not h264_available():
        pytest.skip("PyAV without libx264")
    video = synthetic_video(12, 160, 120)
    c = get_codec(name, width=160, height=120, bitrate_bps=300_000)
    assert c.kind == "video" and c.clock_rate_hz == 90_000 and c.timestamp_step == 3000
    sizes, psnr = [], []
    for i, f in enumerate(video):
        payload = c.encode(f, keyframe=(i in (0, 8)))
        sizes.append(len(payload))
        y = c.decode(payload)
        assert y.shape == f.shape and y.dtype == np.uint8
        psnr.append(10 * np.log10(255 ** 2 / np.mean((y.astype(float) - f) ** 2)))
    assert min(psnr) > 28
    assert sizes[8] > 2 * np.median(sizes[1:8])          # a requested key frame is big
    assert np.array_equal(c.decode(None), y)              # loss: the last picture stays (freeze)
    with pytest.raises(ValueError, match="frame must be a 120×160×3 uint8"):
        c.encode(np.zeros((10, 10, 3), np.uint8))
