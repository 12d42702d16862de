"""Checks of chapter 05: right answers pass, typical wrong ones fail with a reason, no answer leaks."""

import struct

import numpy as np
import pytest

from rtlib.checks import ch05
from rtlib.checks.ch05 import RTT_A, RTT_DLSR, RTT_LSR
from tests.checks.table import assert_hint


# -- 5.1 header parser -------------------------------------------------------------------------
def good_parser(data):
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return {"version": b0 >> 6, "padding": (b0 >> 5) & 1, "extension": (b0 >> 4) & 1, "csrc_count": b0 & 15,
            "marker": b1 >> 7, "payload_type": b1 & 0x7F, "sequence_number": seq, "timestamp": ts, "ssrc": ssrc}


def little_endian(data):
    d = good_parser(data)
    d["sequence_number"], d["timestamp"], d["ssrc"] = struct.unpack("<HII", data[2:12])
    return d


def marker_in_pt(data):
    d = good_parser(data)
    d["payload_type"] = data[1]
    return d


def signed_timestamp(data):
    d = good_parser(data)
    d["timestamp"] = struct.unpack("!i", data[4:8])[0]
    return d


def test_right_parser_passes():
    assert ch05.parse_header(good_parser)
    assert ch05.parse_header(lambda d: {**good_parser(d), "marker": bool(d[1] >> 7)})  # bools are fine


@pytest.mark.parametrize("func, field, hint", [
    (little_endian, "sequence_number", "network byte order"),
    (marker_in_pt, "payload_type", "0x7F"),
    (signed_timestamp, "timestamp", "unsigned"),
    (lambda d: {**good_parser(d), "version": d[0] & 0xC0}, "version", "shift right by 6"),
    (lambda d: {**good_parser(d), "csrc_count": d[0] & 0x1F}, "csrc_count", "low four bits"),
    (lambda d: {**good_parser(d), "marker": d[1] & 1}, "marker", "top bit of byte 1"),
    (lambda d: {**good_parser(d), "ssrc": struct.unpack("<I", d[8:12])[0]}, "ssrc", "Bytes 8-11"),
])
def test_typical_parser_mistakes_are_named(func, field, hint):
    fb = ch05.parse_header(func)
    assert not fb and field in fb.message and any(hint in h for h in fb.hints)


def test_parser_edge_cases():
    assert "Not answered" in ch05.parse_header(None).message
    assert "Not answered" in ch05.parse_header(lambda d: None).message
    assert "lacks these keys" in ch05.parse_header(lambda d: {"version": 2}).message
    assert "Return a dict" in ch05.parse_header(lambda d: list(good_parser(d).values())).message
    assert "raised ZeroDivisionError" in ch05.parse_header(lambda d: 1 / 0).message
    assert "function itself" in ch05.parse_header(good_parser(b"\x80" * 12)).message


# -- 5.2 jitter estimator -----------------------------------------------------------------------
def good_jitter(arrival_s, rtp_ts, clock_rate_hz):
    j, out, prev = 0.0, [0.0], None
    for r, s in zip(arrival_s, rtp_ts):
        transit = r * clock_rate_hz - s
        if prev is not None:
            d = transit - prev
            j += (abs(d) - j) / 16
            out.append(j)
        prev = transit
    return out


def test_right_estimator_passes():
    assert ch05.jitter_estimator(good_jitter)


@pytest.mark.parametrize("func, words", [
    (lambda a, t, c: [x / c for x in good_jitter(a, t, c)], "seconds"),
    (lambda a, t, c: [x / c * 1000 for x in good_jitter(a, t, c)], "milliseconds"),
    (lambda a, t, c: good_jitter(a, t, c)[1:], "One value short"),
    (lambda a, t, c: [0.0] + list(np.abs(np.diff(np.asarray(a) * c - t)) / 16), "build on the previous"),
    (lambda a, t, c: [0.0] + list(np.abs(np.diff(np.asarray(a) * c - t))), "smooths"),
    (lambda a, t, c: [1.0] * len(a), "should be 0"),
    (lambda a, t, c: [0.0] * len(a), "differ from RFC 3550"),
    (lambda a, t, c: list(ch05._smoothed(np.abs(np.diff(np.asarray(a) * c - t)), 8)), "gain is off"),
    (lambda a, t, c: list(ch05._smoothed(np.abs(np.diff(np.asarray(a) * c - t)), 32)), "gain is off"),
    (lambda a, t, c: list(ch05._smoothed(np.abs(np.diff(np.asarray(a) * c)), 16)), "ignores the timestamps"),
    (lambda a, t, c: [float("nan")] * len(a), "not finite"),
    (lambda a, t, c: ["x"] * len(a), "list or array of numbers"),
    (lambda a, t, c: good_jitter(a, t, c)[2:], "one value per packet"),
    (lambda a, t, c: 1 / 0, "raised ZeroDivisionError"),
    (good_jitter(np.zeros(2), np.zeros(2), 8000), "function itself"),
])
def test_typical_estimator_mistakes(func, words):
    fb = ch05.jitter_estimator(func)
    assert not fb and (words in fb.message or any(words in h for h in fb.hints))


def test_signed_d_is_caught():
    def signed(a, t, c):
        j, out = 0.0, [0.0]
        d = np.diff(np.asarray(a) * c - t)
        for x in d:
            j += (x - j) / 16
            out.append(j)
        return out
    assert "absolute value" in ch05.jitter_estimator(signed).message


def test_estimator_edge_cases():
    assert "Not answered" in ch05.jitter_estimator(None).message
    assert "Not answered" in ch05.jitter_estimator(lambda a, t, c: None).message


# -- 5.3 RTT -----------------------------------------------------------------------------------
RIGHT_MS = (RTT_A - RTT_LSR - RTT_DLSR) / 65536 * 1000


def test_rtt_right_answer_passes():
    assert ch05.rtt_ms(RIGHT_MS)
    assert ch05.rtt_ms((RTT_A - RTT_LSR - RTT_DLSR) * 1000 / 65536)


UNITS = RTT_A - RTT_LSR - RTT_DLSR
RTT_WRONG = [
    (RIGHT_MS / 1000, "looks like seconds"),
    (0.144, "looks like seconds"),            # seconds, rounded: a band
    (UNITS, "RTCP clock's units"),
    (UNITS / 1000, "RTCP clock's units"),
    ((RTT_A - RTT_LSR) / 65536 * 1000, "forgot to subtract DLSR"),
    ((RTT_A - RTT_LSR + RTT_DLSR) / 65536 * 1000, "not added"),
    (RIGHT_MS * 1000, "factor of 1000: that is microseconds"),
    (RIGHT_MS / 1e6, "divided by 1000 where you should multiply"),
    (UNITS * 65536, "multiplied by 65536"),
    (UNITS / 2**32 * 1000, "not 1/2³² s"),
    (-RIGHT_MS, "cannot be negative"),
    (RIGHT_MS * 2, ("about 2× too high", "RTT = A - LSR - DLSR")),
    (RIGHT_MS * 1.05, ("a little too high", "RTT = A - LSR - DLSR")),
    ("143", "single number"),
    (None, "Not answered"),
]


@pytest.mark.parametrize("answer, words", RTT_WRONG)
def test_rtt_mistakes(answer, words):
    assert_hint(ch05.rtt_ms(answer), words, RIGHT_MS)


def test_feedback_never_reveals_the_answers():
    texts = []
    for wrong in (0, RIGHT_MS / 1000, RIGHT_MS * 2, (RTT_A - RTT_LSR) / 65536 * 1000):
        fb = ch05.rtt_ms(wrong)
        texts.append(repr(fb) + fb._repr_html_())
    for func in (little_endian, marker_in_pt, signed_timestamp):
        fb = ch05.parse_header(func)
        texts.append(repr(fb) + fb._repr_html_())
    blob = " ".join(texts)
    assert f"{RIGHT_MS:.1f}" not in blob and f"{RIGHT_MS:.0f}" not in blob and "143" not in blob
    for data in ch05._test_packets():
        truth = ch05._truth(data)
        for f in ("sequence_number", "timestamp", "ssrc"):
            if truth[f] > 9:
                assert str(truth[f]) not in blob


# -- 5.4 (design): how much RTCP, how often --------------------------------------------------------
from tests.checks.table import assert_hint as _assert_hint, shown as _shown  # noqa: E402

LEAST = ch05.least_rtcp_fraction()
BEST_RTCP = {"rtcp_fraction": LEAST, "reduced_minimum": True}


def fresh(design, **kw):
    ch05.rtcp_design.reset()
    return ch05.rtcp_design(design, **kw)


def test_rtcp_design_the_least_fraction_passes_and_less_fails():
    assert 0.01 < LEAST < 0.05
    r = ch05.simulate_rtcp(LEAST, True)
    fb = fresh(BEST_RTCP)
    assert fb and f"{r['feedback_p95_s']:.2f} s" in _shown(fb)
    assert fresh(dict(BEST_RTCP, rtcp_fraction=LEAST * 1.09))  # within the 10 % of slack
    below = ch05.simulate_rtcp(round(LEAST - 0.001, 3), True)
    assert below["feedback_p95_s"] > ch05.RTCP_FEEDBACK_S  # a little less RTCP misses the target
    # with the 5 s minimum no fraction reaches the target
    assert all(ch05.simulate_rtcp(float(f), False)["feedback_p95_s"] > ch05.RTCP_FEEDBACK_S
               for f in np.arange(0.005, 0.5, 0.025))


def test_rtcp_simulation_follows_rfc3550_interval():
    from rtlib.rtp.stats import rtcp_interval

    # with the 5 s minimum, the deterministic interval is the library's
    for f in (0.01, 0.05, 0.2):
        bw = f * ch05.SESSION_KBPS * 1000
        assert ch05._interval_s(False, f, False) == pytest.approx(
            rtcp_interval(ch05.SESSION_MEMBERS, ch05.SESSION_SENDERS, bw, False, ch05.RTCP_AVG_BYTES))
        assert ch05._interval_s(True, f, False) == pytest.approx(
            rtcp_interval(ch05.SESSION_MEMBERS, ch05.SESSION_SENDERS, bw, True, ch05.RTCP_AVG_BYTES))
    # reconsideration and A.7's compensation keep the mean interval at Td
    r = ch05.simulate_rtcp(0.02, True)
    assert r["listener_interval_s"] == pytest.approx(ch05._interval_s(False, 0.02, True), rel=0.1)


RTCP_WRONG = [
    ({"rtcp_fraction": 0.05, "reduced_minimum": False}, ("too late", "what stops the interval")),
    ({"rtcp_fraction": 0.3, "reduced_minimum": False}, ("too late", "what stops the interval")),
    ({"rtcp_fraction": 0.02, "reduced_minimum": True}, ("too late", "members sharing")),
    ({"rtcp_fraction": 0.25, "reduced_minimum": True}, ("takes too much", "share RFC 3550 allows")),
    ({"rtcp_fraction": 0.055, "reduced_minimum": True}, ("both targets met", "more of the bandwidth")),
    ({"rtcp_fraction": 5, "reduced_minimum": True}, "looks like a percentage"),
    ({"rtcp_fraction": 0.0001, "reduced_minimum": True}, "between 0.001 and 0.5"),
    ({"rtcp_fraction": 0.05, "reduced_minimum": "yes"}, "True or False"),
    ({"rtcp_fraction": "0.05", "reduced_minimum": True}, "single number"),
    ({"rtcp_fraction": 0.05}, "needs both"),
    ({"rtcp_fraction": 0.05, "reduced_minimum": True, "avg_bytes": 80}, "Unknown setting"),
    ((0.05, True), "should be a dict"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", RTCP_WRONG)
def test_rtcp_design_typical_wrong_designs_fail_with_a_reason(design, hint):
    _assert_hint(fresh(design, hint=True), hint, LEAST)


def test_rtcp_design_hints_come_in_stages_and_never_name_the_least_fraction():
    fb = fresh({"rtcp_fraction": 0.05, "reduced_minimum": False})
    assert "what stops the interval" not in _shown(fb) and "hint=True" in _shown(fb)
    fb = ch05.rtcp_design({"rtcp_fraction": 0.05, "reduced_minimum": False}, hint=True)
    assert "what stops the interval" in _shown(fb) and "360" not in _shown(fb)
    fb = ch05.rtcp_design({"rtcp_fraction": 0.1, "reduced_minimum": False}, hint=True)  # another try
    assert "360 / (session kbit/s)" in _shown(fb)
    for f in np.arange(0.005, 0.3, 0.005):
        for reduced in (False, True):
            t = _shown(fresh({"rtcp_fraction": float(f), "reduced_minimum": reduced}, hint=True))
            assert f"{LEAST:.3f}" not in t and f"{LEAST:.2f}" not in t.replace(f"{f:.2f}", "")
    ch05.rtcp_design.reset()


def test_rtcp_simulation_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"rtcp_fraction must be a number in \[0.001, 0.5\]"):
        ch05.simulate_rtcp(5, True)
    with pytest.raises(ValueError, match="reduced_minimum must be True or False"):
        ch05.simulate_rtcp(0.05, "no")


def test_rtcp_design_check_is_fast():
    import time

    ch05.least_rtcp_fraction.cache_clear()
    ch05._rtcp_run.cache_clear()
    t0 = time.perf_counter()
    fresh({"rtcp_fraction": 0.06, "reduced_minimum": True})
    assert time.perf_counter() - t0 <= 3.0
