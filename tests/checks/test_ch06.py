"""Chapter 06 checks, table-driven: right answers pass; each typical wrong answer gets its own hint
(and, for the μ-law encoder, only that hint)."""

import numpy as np
import pytest

from rtlib.checks import ch06
from rtlib.media.codecs.pcm import g711_encode, ulaw_encode
from tests.checks.table import assert_hint, shown


# -- 6.2 μ-law ------------------------------------------------------------------------------------
def recipe(**knobs):
    return lambda x: ch06._ulaw_recipe(x, **knobs).astype(np.uint8)


def twos_complement(x):  # the learner's abs(): -1 -> 1 instead of 0 (in int32, as the stub casts)
    x = x.astype(np.int32)
    mag = np.minimum((np.abs(x) >> 2) + 33, 0x1FFF)
    seg = np.frexp((mag >> 6).astype(float))[1]
    code = (seg << 4) | ((mag >> (seg + 1)) & 15)
    return (np.where(x >= 0, code | 0x80, code) ^ 0x7F).astype(np.uint8)


def abs_in_int16(x):  # abs() without the cast: abs(-32768) overflows, one more input differs
    out = ch06._ulaw_recipe(x, magnitude="abs").astype(np.uint8)
    out[x == -32768] = 0x55
    return out


ULAW_RIGHT = [ulaw_encode, lambda x: g711_encode(x, "mu", variant="ffmpeg"), recipe()]
ULAW_WRONG = [
    (twos_complement, "one's complement"),
    (abs_in_int16, "one's complement"),
    (lambda x: ulaw_encode(x) ^ 0x80, "except for the sign bit"),
    (recipe(sign_for_positive=False), "except for the sign bit"),
    (lambda x: ulaw_encode(x) ^ 0x7F, "up to a bit inversion"),
    (recipe(bias=0), "bias is missing"),
    (recipe(clip=False), "Clip the biased magnitude"),
    (recipe(shift=0), "shift the 16-bit sample right by 2"),
    (recipe(mantissa_shift=0), "just below the leading one"),
    (lambda x: np.where(x < -100, 0, ulaw_encode(x)).astype(np.uint8), "Only negative inputs are wrong"),
    (lambda x: np.where(x > 100, 0, ulaw_encode(x)).astype(np.uint8), "Only non-negative inputs"),
    (lambda x: np.where(abs(x.astype(int)) < 200, 0, ulaw_encode(x)).astype(np.uint8), "small amplitudes"),
    (lambda x: np.where(abs(x.astype(int)) > 20000, 0, ulaw_encode(x)).astype(np.uint8), "large amplitudes"),
    (lambda x: np.where(np.isin(x, [1000, -1000, 4000]), 0, ulaw_encode(x)).astype(np.uint8), "segment boundary"),
    (lambda x: (ulaw_encode(x) + 1).astype(np.uint8), "Nearly every code is wrong"),
    (lambda x: np.where(np.arange(x.size) % 3 == 0, ulaw_encode(x) ^ 1, ulaw_encode(x)).astype(np.uint8),
     "one at a time"),
    (lambda x: 1 / 0, "raised ZeroDivisionError"),
    (lambda x: x[:10], "shape"),
    (lambda x: x.astype(np.int32) + 1000, "in [0, 255]"),
    (lambda x: ulaw_encode(x).astype(float), "integers"),
    (lambda x: None, "Not answered"),
    (None, "Not answered"),
    (42, "function itself"),
]


@pytest.mark.parametrize("func", ULAW_RIGHT)
def test_ulaw_right(func):
    assert ch06.ulaw_encoder(func)


@pytest.mark.parametrize("func, hint", ULAW_WRONG)
def test_ulaw_wrong(func, hint):
    assert_hint(ch06.ulaw_encoder(func), hint)


def test_ulaw_abs_gets_only_its_own_hint():
    fb = ch06.ulaw_encoder(twos_complement)
    assert len(fb.hints) == 1 and "one's complement" in fb.hints[0]


# -- 6.1 SNR --------------------------------------------------------------------------------------
SNR = 6.02 * 12 + 1.76
SNR_RIGHT = [SNR, 74.0, 10 * np.log10(1.5 * 4 ** 12)]
SNR_WRONG = [
    (6.02 * 12, "sine's own power"),
    (20 * np.log10(2 ** 12), "sine's own power"),
    (10 * np.log10(6 * 4 ** 12), "2A / 2ᵇ"),
    (10 * np.log10(3 * 4 ** 12), "power A²/2, not A²"),
    (10 * np.log10(4 ** 12 / 8), "Δ²/12, not Δ²"),
    (6.02 * 16 + 1.76, "for 16 bits"),
    (6.02 * 8 + 1.76, "for 8 bits"),
    (SNR / 10, "wanted in dB"),
    (10 ** (SNR / 10), "wanted in dB"),
    (2 * SNR, "factor of 2"),
    (66.0, ("too low by roughly 10–50 %", "Δ²/12")),
    ("74", "without quotes"),
    (None, "Not answered yet: replace None with your number (in dB)"),
]


@pytest.mark.parametrize("answer", SNR_RIGHT)
def test_snr_right(answer):
    assert ch06.quantisation_snr_db(answer)


@pytest.mark.parametrize("answer, hint", SNR_WRONG)
def test_snr_wrong(answer, hint):
    fb = ch06.quantisation_snr_db(answer)
    assert_hint(fb, hint)
    assert "74" not in shown(fb)


# -- 6.3 bit rate on the wire -----------------------------------------------------------------------
WIRE_WRONG = [
    (64_000, "payload rate"),
    (88_000, "IPv4"),
    (80_000 - 12 * 8 * 50, "RTP header"),
    (80_000 - 8 * 8 * 50, "UDP header"),
    (80_000 - 20 * 8 * 50, "IP header"),
    (80_000 + 14 * 8 * 50, "link-layer"),
    (64_000 + 40 * 50, "counted in bytes, the payload in bits"),
    (80, "kbit/s"),
    (10_000, "bits, not bytes"),
    (79_000, ("a little too low", "packets per second")),
    (None, "Not answered yet: replace None with your number (in bit/s)"),
]


def test_wire_bitrate_right():
    assert ch06.wire_bitrate_bps(80_000)
    assert ch06.wire_bitrate_bps(80_000.0)
    assert ch06.wire_bitrate_bps(88_000, ip_version=6)


@pytest.mark.parametrize("answer, hint", WIRE_WRONG)
def test_wire_bitrate_wrong(answer, hint):
    fb = ch06.wire_bitrate_bps(answer)
    assert_hint(fb, hint)
    assert "80000" not in shown(fb) and "80,000" not in shown(fb) and "80 000" not in shown(fb)


# -- 6.4 header share -------------------------------------------------------------------------------
SHARE = 40 / (40 + 15)
SHARE_WRONG = [
    (100 * SHARE, "not a percentage"),
    (1 - SHARE, "payload's share"),
    (40 / 15, "divided by payload"),
    (40 / (40 + 120), "payload is counted in bits"),
    (60 / 75, "IPv4"),
    (28 / 43, "RTP header"),
    (32 / 47, "UDP header"),
    (40 / 85, "60 ms packets"),
    (0.5, ("too low by roughly 10–50 %", "header bytes / (header bytes + payload bytes)")),
    (None, "Not answered yet: replace None with a fraction"),
]


def test_overhead_right():
    assert ch06.header_overhead(SHARE)
    assert ch06.header_overhead(0.727)


@pytest.mark.parametrize("answer, hint", SHARE_WRONG)
def test_overhead_wrong(answer, hint):
    fb = ch06.header_overhead(answer)
    assert_hint(fb, hint)
    assert "0.727" not in shown(fb) and "72.7" not in shown(fb)


# -- 6.5 (design): Opus settings for a 24 kbit/s uplink -----------------------------------------
def fresh(design, **kw):
    ch06.voice_design.reset()
    return ch06.voice_design(design, **kw)


def test_voice_least_delay_is_the_shortest_feasible_frame():
    best = ch06._least_voice_delay_ms()
    feasible = [f for f in ch06.VOICE_FRAMES_MS if ch06._voice_feasible(f)]
    assert feasible and best == ch06.simulate_voice(16, feasible[0])["delay_ms"]
    assert not ch06._voice_feasible(ch06.VOICE_FRAMES_MS[0])  # 10 ms: the headers alone exceed the budget
    # quality only improves with the rate on this clip (what the feasibility search relies on)
    for f in feasible:
        lsd = [ch06.simulate_voice(b, f)["lsd_db"] for b in range(10, 25, 2)]
        assert all(a >= b for a, b in zip(lsd, lsd[1:]))


@pytest.mark.parametrize("bitrate_kbps", [16, 17, 18])
def test_voice_right_designs_pass_with_their_own_outcome(bitrate_kbps):
    f = next(f for f in ch06.VOICE_FRAMES_MS if ch06._voice_feasible(f))
    r = ch06.simulate_voice(bitrate_kbps, f)
    assert r["wire_kbps"] <= ch06.VOICE_WIRE_BUDGET_KBPS and r["lsd_db"] <= ch06.VOICE_MAX_LSD_DB
    fb = fresh({"bitrate_kbps": bitrate_kbps, "frame_ms": f})
    assert fb and f"{r['wire_kbps']:.1f} kbit/s on the wire" in repr(fb)


VOICE_WRONG = [
    ({"bitrate_kbps": 16, "frame_ms": 60}, ("Both bounds met", "shorter frame", "shortest")),
    ({"bitrate_kbps": 16, "frame_ms": 20}, ("Over the budget", "headers alone take 16 kbit/s")),
    ({"bitrate_kbps": 24, "frame_ms": 10}, ("Over the budget", "headers alone take 32 kbit/s")),
    ({"bitrate_kbps": 8, "frame_ms": 20}, ("sound is poor", "whole band")),
    ({"bitrate_kbps": 12, "frame_ms": 40}, ("not good enough yet", "More bits")),
    ({"bitrate_kbps": 32, "frame_ms": 20}, ("Over the budget", "headers alone")),
    ({"bitrate_kbps": 14, "frame_ms": 20}, ("Over the budget and not good enough", "frame size")),
    ({"bitrate_kbps": 16000, "frame_ms": 40}, "looks like bit/s"),
    ({"bitrate_kbps": 16, "frame_ms": 0.04}, "looks like seconds"),
    ({"bitrate_kbps": 16, "frame_ms": 30}, "should be one of"),
    ({"bitrate_kbps": 100, "frame_ms": 40}, "between 6 and 64"),
    ({"bitrate_kbps": 16}, "needs both"),
    ({"bitrate_kbps": 16, "frame_ms": 40, "fec": True}, "Unknown setting"),
    ((16, 40), "should be a dict"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", VOICE_WRONG)
def test_voice_typical_wrong_designs_fail_with_a_reason(design, hint):
    fb = fresh(design, hint=True)  # the first hint, on request
    assert_hint(fb, hint)
    best_frame = next(f for f in ch06.VOICE_FRAMES_MS if ch06._voice_feasible(f))
    assert f"{best_frame} ms frame" not in repr(fb) and f"{ch06._least_voice_delay_ms():g} ms" not in repr(fb) \
        or (isinstance(design, dict) and design.get("frame_ms") == best_frame)


def test_voice_hints_come_in_stages():
    wrong = {"bitrate_kbps": 16, "frame_ms": 20}
    fb = fresh(wrong)
    assert "headers alone" not in repr(fb) and "hint=True" in repr(fb)
    fb = ch06.voice_design(wrong, hint=True)
    assert "headers alone" in repr(fb) and "longer frames" not in repr(fb)
    fb = ch06.voice_design(dict(wrong, bitrate_kbps=18), hint=True)  # another try, the same mistake
    assert "longer frames" in repr(fb)
    ch06.voice_design.reset()


def test_voice_simulation_rejects_bad_settings():
    with pytest.raises(ValueError, match="frame_ms must be one of"):
        ch06.simulate_voice(16, 30)
    with pytest.raises(ValueError, match="bitrate_kbps must be a number in"):
        ch06.simulate_voice(100, 20)


def test_voice_check_is_fast():
    import time

    ch06._least_voice_delay_ms.cache_clear()
    ch06._voice_run.cache_clear()
    t0 = time.perf_counter()
    fresh({"bitrate_kbps": 20, "frame_ms": 60})  # the first call also finds the least delay
    assert time.perf_counter() - t0 <= 2.0
