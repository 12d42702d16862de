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
