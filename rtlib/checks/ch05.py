"""Checks for notebooks/05_rtp_rtcp.ipynb (RTP and RTCP).

Each check says what is wrong (which field, which step, which unit) and never the
expected value.  An unanswered exercise (``None``, or a stub that returns ``None``)
gets "not answered yet".

Exercise 5.4 (design, staged hints): :func:`rtcp_design`, the RTCP bandwidth fraction and
minimum interval of a 30-member session, judged by simulating RFC 3550's timer.
"""

from __future__ import annotations

import math
import struct
from functools import lru_cache

import numpy as np

from rtlib.checks.core import Feedback, StagedCheck, as_number, design_settings, fail, ok, out_of_range, rough_factor

FIELDS = ("version", "padding", "extension", "csrc_count", "marker", "payload_type", "sequence_number",
          "timestamp", "ssrc")

_HINTS = {
    "version": "The version is the top two bits of byte 0: shift right by 6.",
    "padding": "P is bit 5 of byte 0 (the third bit from the top): (byte0 >> 5) & 1.",
    "extension": "X is bit 4 of byte 0: (byte0 >> 4) & 1.",
    "csrc_count": "CC is the low four bits of byte 0: byte0 & 0x0F.",
    "marker": "M is the top bit of byte 1: byte1 >> 7.",
    "payload_type": "PT is the low seven bits of byte 1: mask off the marker bit with 0x7F.",
    "sequence_number": "Bytes 2-3, an unsigned 16-bit number in network byte order: struct format '!H' (or '>H').",
    "timestamp": "Bytes 4-7, an unsigned 32-bit number in network byte order: '!I', not a signed 'i'.",
    "ssrc": "Bytes 8-11, an unsigned 32-bit number in network byte order: '!I'.",
}


def _test_packets() -> list[bytes]:
    """Packets that tell the typical mistakes apart (byte order, sign, masks)."""
    from rtlib.rtp import RtpPacket

    return [
        bytes(RtpPacket(0, 1, 160, 0x11223344, b"\xff" * 160)),
        bytes(RtpPacket(111, 0x1234, 0x89ABCDEF, 0xF00DBEEF, b"abc", marker=True)),
        bytes(RtpPacket(96, 65535, 0xFFFFFFF0, 0x80000001, b"x", csrc=[7, 8, 9], extensions={1: b"\x85"},
                        padding_size=4)),
        bytes(RtpPacket(8, 258, 0x00000102, 0x00000103, b"")),
        bytes(RtpPacket(97, 0x8001, 0x7FFFFFFF, 0x00000001, b"z")),  # odd PT, no marker: M is bit 7, not bit 0
    ]


def _truth(data: bytes) -> dict:
    b0, b1, seq, ts, ssrc = struct.unpack("!BBHII", data[:12])
    return {"version": b0 >> 6, "padding": (b0 >> 5) & 1, "extension": (b0 >> 4) & 1, "csrc_count": b0 & 0x0F,
            "marker": b1 >> 7, "payload_type": b1 & 0x7F, "sequence_number": seq, "timestamp": ts, "ssrc": ssrc}


def _same(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return int(a) == int(b)
    try:
        return int(a) == int(b) and float(a) == float(b)
    except (TypeError, ValueError):
        return False


def parse_header(func) -> Feedback:
    """Exercise 5.1: ``func(data) -> dict`` with the nine fixed-header fields, checked against rtlib."""
    if func is None:
        return fail("Not answered yet: write parse_header(data) and run the cell again.")
    if not callable(func):
        return fail(f"Pass your function itself (parse_header, no parentheses), not a {type(func).__name__}.")
    wrong: dict[str, int] = {}
    for data in _test_packets():
        try:
            got = func(data)
        except Exception as exc:  # the learner's code: report, never crash the notebook
            return fail(f"Your function raised {type(exc).__name__}: {exc}",
                        "Unpack the first 12 bytes with struct.unpack('!BBHII', data[:12]).")
        if got is None:
            return fail("Not answered yet: your function returns None; return a dict of the fields.")
        if not isinstance(got, dict):
            return fail(f"Return a dict (field name -> value), not a {type(got).__name__}.")
        missing = [f for f in FIELDS if f not in got]
        if missing:
            return fail(f"The dict lacks these keys: {', '.join(missing)}.", f"Expected keys: {', '.join(FIELDS)}.")
        truth = _truth(data)
        for f in FIELDS:
            if not _same(got[f], truth[f]):
                wrong[f] = wrong.get(f, 0) + 1
    if not wrong:
        return ok("Your header parser agrees with rtlib on every field of every test packet.")
    fields = [f for f in FIELDS if f in wrong]
    return fail(f"Wrong on some test packets: {', '.join(fields)}.", *[_HINTS[f] for f in fields[:3]])


def _jitter_cases() -> list[tuple[np.ndarray, np.ndarray, int]]:
    from rtlib.sim import make_rng

    rng = make_rng(5, "ch05-jitter")
    cases = []
    for n, clock, spread in ((8, 8000, 0.010), (60, 48000, 0.030), (40, 90000, 0.005)):
        step = 0.02
        send = np.arange(n) * step
        arrival = np.sort(send + 0.05 + rng.exponential(spread, n))
        ts = (np.round(send * clock).astype(np.int64) + 1000) % 2**32
        cases.append((arrival, ts, clock))
    return cases


def _smoothed(abs_d: np.ndarray, gain: float) -> np.ndarray:
    """J after each packet (J = 0 first) for ``J += (|D| - J) / gain``."""
    out, j = [0.0], 0.0
    for x in abs_d:
        j += (x - j) / gain
        out.append(j)
    return np.array(out)


def jitter_estimator(func) -> Feedback:
    """Exercise 5.2: ``func(arrival_s, rtp_ts, clock_rate_hz)`` -> J after each packet, timestamp units."""
    from rtlib.rtp.stats import interarrival_jitter

    if func is None:
        return fail("Not answered yet: write rfc3550_jitter(...) and run the cell again.")
    if not callable(func):
        return fail(f"Pass your function itself, not a {type(func).__name__}.")
    for arrival, ts, clock in _jitter_cases():
        try:
            got = func(arrival.copy(), ts.copy(), clock)
        except Exception as exc:
            return fail(f"Your function raised {type(exc).__name__}: {exc}")
        if got is None:
            return fail("Not answered yet: your function returns None; return one jitter value per packet.")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return fail("Return a list or array of numbers, one per packet.")
        want = interarrival_jitter(arrival, ts, clock)
        if got.shape != want.shape:
            if got.shape == (want.size - 1,):
                return fail("One value short: return J for every packet, starting with J = 0 for the first.")
            return fail(f"Return one value per packet: {want.size} packets in, {got.size} values out.")
        if not np.all(np.isfinite(got)):
            return fail("Some values are not finite numbers.")
        if np.allclose(got, want, rtol=1e-6, atol=1e-6):
            continue
        if not np.isclose(got[0], 0.0, atol=1e-9):
            return fail("The first packet's jitter should be 0: there is no earlier packet to compare with.")
        if np.allclose(got * clock, want, rtol=1e-6, atol=1e-6):
            return fail("These look like seconds: give J in timestamp units.",
                        "Convert arrival times (seconds) to timestamp units by multiplying by the clock rate.")
        if np.allclose(got, want / clock * 1000, rtol=1e-6, atol=1e-9):
            return fail("These look like milliseconds: the exercise asks for timestamp units.")
        d = np.diff(arrival * clock - ts)
        signed = np.zeros(len(arrival))
        acc = 0.0
        for i, x in enumerate(d, start=1):
            acc += (x - acc) / 16
            signed[i] = acc
        if np.allclose(got, signed, rtol=1e-6, atol=1e-6):
            return fail("Use the absolute value |D|: jitter counts variation in either direction.")
        if np.allclose(got[1:], np.abs(d), rtol=1e-6, atol=1e-6):
            return fail("That is |D| itself; J smooths it: J += (|D| - J) / 16.")
        if np.allclose(got[1:], np.abs(d) / 16, rtol=1e-6, atol=1e-6):
            return fail("Each J must build on the previous one: J = J + (|D| - J) / 16, not |D| / 16.")
        for gain in (8, 32, 1 / 16):
            if np.allclose(got, _smoothed(np.abs(d), gain), rtol=1e-6, atol=1e-6):
                return fail("The smoothing gain is off.", "RFC 3550 A.8 moves J by 1/16 of the difference: "
                            "J += (|D| - J) / 16.")
        if np.allclose(got, _smoothed(np.abs(np.diff(arrival * clock)), 16), rtol=1e-6, atol=1e-6):
            return fail("D ignores the timestamps.", "D compares the change in arrival time with the change in "
                        "RTP timestamp: both in timestamp units.")
        return fail("The values differ from RFC 3550's estimator.",
                    "D compares consecutive packets: (R_i - R_{i-1}) - (S_i - S_{i-1}), both in timestamp units.",
                    "Then J = J + (|D| - J) / 16, starting from J = 0.")
    return ok("Your estimator matches RFC 3550 A.8 on every test stream.")


# RTT exercise: an RR arrives back at the sender at A; it echoes LSR and DLSR (all 1/65536 s).
RTT_A = 0xC3A1_C4C0
RTT_LSR = 0xC39F_E000
RTT_DLSR = 0x0001_C000


def rtt_ms(answer, *, a: int = RTT_A, lsr: int = RTT_LSR, dlsr: int = RTT_DLSR) -> Feedback:
    """Exercise 5.3: the round-trip time in milliseconds from A, LSR and DLSR (RFC 3550 6.4.1)."""
    value = as_number(answer, "The round-trip time")
    if isinstance(value, Feedback):
        return value
    from rtlib.rtp.stats import round_trip_time_s

    rtt_s = round_trip_time_s(a, lsr, dlsr)
    expected, units = rtt_s * 1000, rtt_s * 65536
    close = lambda x: math.isclose(value, x, rel_tol=1e-3, abs_tol=1e-6)  # noqa: E731
    if close(expected):
        return ok("Right: A - LSR - DLSR, converted from 1/65536 s to milliseconds.")
    if value < 0:
        return fail("A round-trip time cannot be negative.",
                    "Subtract in the order A − LSR − DLSR: A is the latest time.")
    if 0.95 <= value * 1000 / expected <= 1.05:  # a band: a rounded seconds answer is still seconds
        return fail("That looks like seconds; the answer is asked in milliseconds.")
    if close(units) or close(units / 1000):
        return fail("That is still in the RTCP clock's units.", "One unit is 1/65536 of a second.")
    if close(((a - lsr) & 0xFFFFFFFF) / 65536 * 1000):
        return fail("You forgot to subtract DLSR: the time the receiver held the report is not network delay.")
    if close(((a - lsr + dlsr) & 0xFFFFFFFF) / 65536 * 1000):
        return fail("DLSR must be subtracted, not added.")
    if close(expected * 1000):
        return fail("Off by a factor of 1000: that is microseconds.",
                    "Units of 1/65536 s: divide by 65536 for seconds, then × 1000 for milliseconds.")
    if close(expected / 1e6):
        return fail("Off by a factor of a million: you divided by 1000 where you should multiply.",
                    "Units of 1/65536 s: divide by 65536 for seconds, then × 1000 for milliseconds.")
    if close(units * 65536 * 1000) or close(units * 65536):
        return fail("You multiplied by 65536 where you should divide.", "One unit is 1/65536 of a second.")
    if close(units / 2**32 * 1000) or close(units / 2**32):
        return fail("One unit is 1/65536 s, not 1/2³² s.",
                    "LSR, DLSR and A are the middle 32 bits of the NTP time: 16 bits of seconds, 16 of fraction.")
    return fail(f"The round-trip time is {rough_factor(value, expected)}.",
                "RTT = A - LSR - DLSR, all three in units of 1/65536 s.")


# -- exercise 5.4 (design): how much RTCP, how often ---------------------------------------------
# A lecture: one speaker sends, 29 listeners receive, 256 kbit/s of session bandwidth, RTCP
# compound packets of 100 bytes on average.  One listener's access link loses packets now and
# then; the speaker learns of it from that listener's next receiver report.
SESSION_MEMBERS, SESSION_SENDERS = 30, 1
SESSION_KBPS = 256.0
RTCP_AVG_BYTES = 100.0
RTCP_ONE_WAY_S = 0.05  # a report's trip from the listener to the speaker
RTCP_SECONDS, RTCP_EVENTS, RTCP_SEED = 600.0, 300, 11
RTCP_MAX_SHARE = 0.05  # RFC 3550 6.2: RTCP within 5 % of the session bandwidth
RTCP_FEEDBACK_S = 3.0  # 95 % of the loss events reported to the speaker within this
RTCP_FRACTION_RANGE = (0.001, 0.5)
RTCP_SLACK = 0.10  # a passing fraction may be this much above the least that meets both targets


def _interval_s(we_sent: bool, fraction: float, reduced_minimum: bool) -> float:
    """RFC 3550 6.3.1's deterministic interval Td = max(Tmin, n × avg_size / bw).

    Senders (when at most a quarter of the members) share 25 % of the RTCP bandwidth,
    receivers 75 %.  Tmin is 5 s, or with ``reduced_minimum`` 360 / (session kbit/s) s
    (RFC 3550 6.2).  With the 5 s minimum this is :func:`rtlib.rtp.stats.rtcp_interval`.
    """
    t_min = 360.0 / SESSION_KBPS if reduced_minimum else 5.0
    bw_bytes = fraction * SESSION_KBPS * 1000 / 8
    if we_sent:
        share, n = 0.25, SESSION_SENDERS
    else:
        share, n = 0.75, SESSION_MEMBERS - SESSION_SENDERS
    return max(t_min, RTCP_AVG_BYTES * n / (share * bw_bytes))


def _report_times(td_s: float, rng) -> np.ndarray:
    """One member's report times: RFC 3550 6.3.6's timer with reconsideration, 6.3.1's randomisation (A.7).

    Each draw is Td × (u + 0.5) / (e − 3/2); when the timer expires at tn, a fresh
    interval T is drawn and the report goes out only if tp + T <= tn (else the timer
    is set to tp + T).  RFC 3550 6.3.2 halves Tmin for the first report; this starts with a
    full interval instead, which only moves reports in the first minute, which the
    measurement (:func:`simulate_rtcp`) leaves out.
    """
    comp = math.e - 1.5
    out, tp = [], 0.0
    tn = td_s * (rng.uniform() + 0.5) / comp
    while tn < RTCP_SECONDS:
        t = td_s * (rng.uniform() + 0.5) / comp
        if tp + t <= tn:
            out.append(tn)
            tp = tn
            tn = tp + td_s * (rng.uniform() + 0.5) / comp
        else:
            tn = tp + t
    return np.array(out)


@lru_cache(maxsize=256)
def _rtcp_run(fraction: float, reduced_minimum: bool) -> dict:
    from rtlib.sim import make_rng

    rng = make_rng(RTCP_SEED, "ch05-rtcp-design")
    reports, listener = 0, None
    for m in range(SESSION_MEMBERS):
        times = _report_times(_interval_s(m < SESSION_SENDERS, fraction, reduced_minimum), rng)
        reports += times.size
        if m == SESSION_SENDERS:  # the first listener: the one whose link loses packets
            listener = times
    events = np.sort(rng.uniform(60.0, RTCP_SECONDS - 60.0, RTCP_EVENTS))
    nxt = np.searchsorted(listener, events)
    wait_s = np.where(nxt < listener.size, listener[np.minimum(nxt, listener.size - 1)] - events, np.inf)
    wait_s = wait_s + RTCP_ONE_WAY_S
    return {"rtcp_share": reports * RTCP_AVG_BYTES * 8 / RTCP_SECONDS / (SESSION_KBPS * 1000),
            "feedback_p95_s": float(np.percentile(wait_s, 95)),
            "listener_interval_s": float(np.mean(np.diff(listener))) if listener.size > 1 else math.inf}


def simulate_rtcp(rtcp_fraction: float, reduced_minimum: bool) -> dict:
    """Exercise 5.4: ten minutes of the lecture's RTCP with the given settings.

    Every member runs RFC 3550's report timer (6.3, with reconsideration) with
    ``rtcp_fraction`` of the 256 kbit/s session bandwidth for RTCP and, with
    ``reduced_minimum``, the reduced minimum interval of 6.2 instead of 5 s.  Returns
    the ``rtcp_share`` of the session bandwidth all reports used, ``feedback_p95_s``
    (95 % of the loss events on the listener's link reached the speaker within that,
    in a report) and the listener's mean ``listener_interval_s``.  Used by the check
    and free for the learner's sweeps.
    """
    lo, hi = RTCP_FRACTION_RANGE
    if isinstance(rtcp_fraction, bool) or not isinstance(rtcp_fraction, (int, float, np.integer, np.floating)) \
            or not lo <= float(rtcp_fraction) <= hi:
        raise ValueError(f"rtcp_fraction must be a number in [{lo:g}, {hi:g}] (a share of the session "
                         f"bandwidth), got {rtcp_fraction!r}")
    if not isinstance(reduced_minimum, (bool, np.bool_)):
        raise ValueError(f"reduced_minimum must be True or False, got {reduced_minimum!r}")
    return dict(_rtcp_run(round(float(rtcp_fraction), 6), bool(reduced_minimum)))


def _meets(r: dict) -> bool:
    return r["rtcp_share"] <= RTCP_MAX_SHARE and r["feedback_p95_s"] <= RTCP_FEEDBACK_S


@lru_cache(maxsize=1)
def least_rtcp_fraction() -> float:
    """The least fraction (to 0.001) of any design meeting both targets (nan if none).

    A scan in steps of 0.005, then 0.001 back from the first success, for each
    minimum; the timer's randomness makes the outcome a little ragged in the
    fraction, so no bisection.
    """
    best = math.nan
    for reduced in (False, True):
        for f in np.arange(0.005, RTCP_FRACTION_RANGE[1] + 1e-9, 0.005):
            if _meets(simulate_rtcp(float(f), reduced)):
                for fine in np.arange(f - 0.004, f + 1e-9, 0.001):
                    if _meets(simulate_rtcp(float(fine), reduced)):
                        best = min(best, float(fine)) if not math.isnan(best) else float(fine)
                        break
                break
            if simulate_rtcp(float(f), reduced)["rtcp_share"] > RTCP_MAX_SHARE:
                break  # more RTCP only breaks the limit further
            if _interval_s(False, float(f), reduced) <= (360.0 / SESSION_KBPS if reduced else 5.0):
                break  # the listener's interval sits at the minimum: more bandwidth changes nothing for it
    return best


def _rtcp_values(design):
    values = design_settings(design, ("rtcp_fraction", "reduced_minimum"), numbers=("rtcp_fraction",))
    if isinstance(values, Feedback):
        return values
    if not isinstance(values["reduced_minimum"], (bool, np.bool_)):
        return fail(f"reduced_minimum should be True or False, got {values['reduced_minimum']!r}.")
    f = values["rtcp_fraction"]
    if 1.0 <= f <= 50.0:
        return fail("rtcp_fraction looks like a percentage: it is asked as a fraction (5 % is 0.05).")
    bad = out_of_range("rtcp_fraction", f, *RTCP_FRACTION_RANGE)
    return (f, bool(values["reduced_minimum"])) if bad is None else bad


def _rtcp_design(design) -> Feedback:
    values = _rtcp_values(design)
    if isinstance(values, Feedback):
        return values
    f, reduced = values
    r = simulate_rtcp(f, reduced)
    outcome = (f"RTCP used {r['rtcp_share']:.1%} of the session bandwidth; the listener reported every "
               f"{r['listener_interval_s']:.1f} s on average, and 95 % of its loss events reached the speaker "
               f"within {r['feedback_p95_s']:.2f} s")
    if _meets(r):
        if f <= (1 + RTCP_SLACK) * least_rtcp_fraction() + 1e-9:
            return ok(f"Both targets met: {outcome}.")
        return fail(f"Both targets met ({outcome}), but RTCP takes more of the bandwidth than the targets need.",
                    "How much sooner than the target does the speaker hear of a loss?",
                    "Once the minimum interval no longer binds, the interval grows as 1 / rtcp_fraction: lower "
                    "the fraction until the feedback just meets its target.")
    if r["rtcp_share"] > RTCP_MAX_SHARE:
        return fail(f"RTCP takes too much: {outcome}.",
                    "Compare what your fraction asks for with the share RFC 3550 allows.",
                    "rtcp_fraction is the share of the session bandwidth RTCP may use, and the reports use it "
                    "unless the minimum interval holds them back: a fraction above 0.05 invites them to break "
                    "the 5 % limit.")
    if not reduced:
        return fail(f"The speaker hears of losses too late: {outcome}.",
                    "Compare the feedback delays of two quite different fractions: past some point, what stops "
                    "the interval from shrinking?",
                    "RFC 3550 6.2 keeps every member's interval at 5 s or more whatever the bandwidth; the "
                    "same section allows a reduced minimum of 360 / (session kbit/s) seconds.")
    return fail(f"The speaker hears of losses too late: {outcome}.",
                "The interval grows with the number of members sharing the RTCP bandwidth: how much does each "
                "listener get?",
                "A listener's interval is (listeners) × (average report size) / (the listeners' 75 % of the RTCP "
                "bandwidth): a larger fraction shortens it, within the 5 % limit.")


rtcp_design = StagedCheck(_rtcp_design)
rtcp_design.__doc__ = """Exercise 5.4 (design): ``{'rtcp_fraction': ..., 'reduced_minimum': ...}`` for the lecture.

The design is simulated (:func:`simulate_rtcp`): 30 members (one sender) of a 256 kbit/s
session run RFC 3550's report timer for ten minutes.  It passes when RTCP stays within
5 % of the session bandwidth, 95 % of the listener's loss events reach the speaker
within 3 s, and the fraction is at most 10 % above the least that meets both targets.
The feedback shows the design's own measured outcome; hints come in stages (``hint=True``).
"""
