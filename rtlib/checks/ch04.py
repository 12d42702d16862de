"""Checks for notebooks/04_network.ipynb (the network: delay, jitter, loss, bandwidth).

Each check says what is wrong (too high, units, which part is missing) and never
the expected value.  An unanswered exercise (``None``) gets "not answered yet".
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import (Feedback, StagedCheck, as_number, close_to, design_settings, fail, is_generic, ok,
                               out_of_range)
from rtlib.net.loss import gilbert_params
from rtlib.net.transport import in_order_delivery as _in_order_reference

SPEED_IN_FIBRE_M_PER_S = 2.0e8  # about two thirds of c (refractive index ~1.5)


def one_way_delay_ms(answer, *, size_bytes: int = 1200, rate_bps: float = 2e6, distance_km: float = 2000.0
                     ) -> Feedback:
    """Exercise 4.1: serialisation of one packet on the access link plus propagation through fibre, in ms."""
    value = as_number(answer, "The one-way delay")
    if isinstance(value, Feedback):
        return value
    serial_ms = size_bytes * 8 / rate_bps * 1000
    prop_ms = distance_km * 1000 / SPEED_IN_FIBRE_M_PER_S * 1000
    expected = serial_ms + prop_ms
    if math.isclose(value, expected, rel_tol=2e-3):
        return ok("The one-way delay is right: serialisation plus propagation.")
    if math.isclose(value, prop_ms, rel_tol=2e-3):
        return fail("You have the propagation part only.", "A packet must also be clocked onto the link bit by bit: "
                    "size [bits] / rate [bit/s].")
    if math.isclose(value, serial_ms, rel_tol=2e-3):
        return fail("You have the serialisation part only.", "Light in fibre also needs time to cover the distance.")
    if math.isclose(value, size_bytes / rate_bps * 1000 + prop_ms, rel_tol=2e-3):
        return fail("The serialisation part is off by a factor of 8.", "The size is in bytes, the rate in bits per second.")
    if math.isclose(value, distance_km * 1000 / 3e8 * 1000 + serial_ms, rel_tol=2e-3):
        return fail("The propagation part uses the speed of light in vacuum.",
                    "In glass fibre light travels about a third slower.")
    if math.isclose(value, 2 * expected, rel_tol=2e-3) or math.isclose(value, serial_ms + 2 * prop_ms, rel_tol=2e-3):
        return fail("That is a round trip.", "The question asks for the one-way delay.")
    if math.isclose(value, serial_ms + prop_ms / 1000, rel_tol=2e-3):
        return fail("The propagation part is 1000 times too small.",
                    "Check its units: the distance is in km and the speed in m/s; the answer is in ms.")
    if math.isclose(value, serial_ms * 1000 + prop_ms, rel_tol=2e-3):
        return fail("The serialisation part is 1000 times too large.",
                    "Check its units: 2 Mbit/s is 2,000,000 bit/s; the answer is in ms.")
    fb = close_to(value, expected, what="The one-way delay", rel=2e-3,
                  unit_hints={1000: "The answer is asked in milliseconds."})
    if is_generic(fb):
        return fail(fb.message, "Add two parts: the time to put the packet on the link and the time to cross the distance.")
    return fb


def queue_growth_ms_per_s(answer, *, send_bps: float = 2.5e6, capacity_bps: float = 1.5e6) -> Feedback:
    """Exercise 4.2: how fast the queueing delay grows when sending faster than the link drains."""
    value = as_number(answer, "The growth rate")
    if isinstance(value, Feedback):
        return value
    excess = send_bps - capacity_bps
    expected = excess / capacity_bps * 1000
    if math.isclose(value, expected, rel_tol=5e-3):
        return ok("Right: the backlog grows by the excess rate, and the link drains it at its own rate.")
    if math.isclose(value, excess / send_bps * 1000, rel_tol=5e-3):
        return fail("You divided by the sending rate.", "Delay = backlog / the rate that *drains* the queue.")
    if math.isclose(value, excess / 1e6 * 1000, rel_tol=5e-3) or math.isclose(value, excess, rel_tol=5e-3):
        return fail("That is the backlog growth in bits per second, not a delay.",
                    "Turn bits waiting into time: divide by the link's rate.")
    if math.isclose(value, send_bps / capacity_bps * 1000, rel_tol=5e-3):
        return fail("You divided the whole sending rate by the capacity.",
                    "Only the excess (sending rate − capacity) joins the queue.")
    if math.isclose(value, capacity_bps / send_bps * 1000, rel_tol=5e-3):
        return fail("That is the capacity as a share of the sending rate.",
                    "The queue grows by the excess rate; it drains at the capacity.")
    if math.isclose(value, excess / 8 / capacity_bps * 1000, rel_tol=5e-3):
        return fail("Off by a factor of 8.", "Both rates are in bits per second already: do not convert to bytes.")
    fb = close_to(value, expected, what="The growth rate", rel=5e-3,
                  unit_hints={1000: "The answer is asked in milliseconds of delay per second."})
    if is_generic(fb):
        return fail(fb.message, "Each second, (sending rate − capacity) bits join the queue.")
    return fb


def gilbert_transitions(p_gb, p_bg=None, *, loss: float = 0.04, burst_len: float = 5.0) -> Feedback:
    """Exercise 4.3: the Gilbert chain's P(good→bad) and P(bad→good) for a mean loss and burst length."""
    if p_gb is None or p_bg is None:
        return fail("Not answered yet: set both p_gb and p_bg.")
    a = as_number(p_gb, "p_gb")
    if isinstance(a, Feedback):
        return a
    b = as_number(p_bg, "p_bg")
    if isinstance(b, Feedback):
        return b
    if math.isclose(b, burst_len, rel_tol=1e-2) or math.isclose(a, burst_len, rel_tol=1e-2):
        return fail("The burst length is not a probability.",
                    "A burst of mean length L ends at each bad packet with a fixed chance: what chance gives mean L?")
    if not (0 <= a <= 1 and 0 <= b <= 1):
        return fail("Transition probabilities must lie in [0, 1].", "Did you give a percentage?")
    want_gb, want_bg = gilbert_params(loss, burst_len)
    good_a, good_b = math.isclose(a, want_gb, rel_tol=1e-2), math.isclose(b, want_bg, rel_tol=1e-2)
    if good_a and good_b:
        return ok("Both transition probabilities are right.")
    if math.isclose(a, want_bg, rel_tol=1e-2) and math.isclose(b, want_gb, rel_tol=1e-2):
        return fail("The two probabilities are swapped.", "A burst *ends* with the bad→good step.")
    if good_b:
        if math.isclose(a, loss, rel_tol=1e-2):
            return fail("p_bg is right; p_gb equals the loss rate, which only holds for independent loss.",
                        "Use the stationary share of bad packets: p_gb / (p_gb + p_bg) = loss.")
        if math.isclose(a, loss * want_bg, rel_tol=1e-2):
            return fail("p_bg is right; p_gb is close but only approximate (loss × p_bg).",
                        "Solve p_gb / (p_gb + p_bg) = loss exactly.")
        return fail(f"p_bg is right; p_gb is {'too high' if a > want_gb else 'too low'}.",
                    "Use the stationary share of bad packets: p_gb / (p_gb + p_bg) = loss.")
    if good_a and math.isclose(b, 1 - want_bg, rel_tol=1e-2):
        return fail("p_gb is right; p_bg is the chance of *staying* bad.", "p_bg is the chance of leaving the bad "
                    "state: the two add up to 1.")
    if good_a:
        return fail(f"p_gb is right; p_bg is {'too high' if b > want_bg else 'too low'}.",
                    "Bursts are geometric: their mean length is 1 / P(leave the bad state).")
    return fail("Neither probability is right yet.", "Start from the burst length: how likely is a burst to end "
                "at each packet?")


_CASES = [
    np.array([0.10, 0.12, 0.14]),
    np.array([0.10, 0.30, 0.15, 0.20, 0.50, 0.45]),
    np.array([0.20, 0.10, 0.05, 0.40]),
    np.array([0.05]),
]


def in_order_delivery(func) -> Feedback:
    """Exercise 4.4: a function turning first-arrival times into in-order delivery times."""
    if func is None or not callable(func):
        return fail("Not answered yet: define the function in_order(arrival_s) and pass it (without calling it).")
    for case in [*_CASES, np.array([0.1, np.nan, 0.3, 0.2])]:
        try:
            got = func(case.copy())
        except Exception as err:  # the learner's code: report, never raise
            return fail(f"Your function raised {type(err).__name__}: {err}")
        if got is None:
            return fail("Not answered yet: your function returns None.")
        got = np.asarray(got, dtype=float)
        if got.shape != case.shape:
            return fail(f"Your function should return one time per packet (shape {case.shape}), got shape {got.shape}.")
        want = _in_order_reference(case)
        if np.isnan(case).any():
            if not np.all(np.isinf(got[np.argmax(np.isnan(case)):])):
                return fail("A packet that never arrives (nan) must hold back itself and everything after it for ever.",
                            "Represent 'never' as np.inf.")
            continue
        if np.any(got < case - 1e-12):
            return fail("A packet is handed to the application before it arrived.")
        if np.any(np.diff(got) < -1e-12):
            return fail("Packets are handed over out of order: one comes out before an earlier one.")
        if not np.allclose(got, want):
            return fail("Some packets are delivered later than necessary.",
                        "A packet waits only for the packets before it, not for those after it.")
    return ok("Right: each packet waits for every earlier one, and no longer.")


# -- exercise 4.5 (design): a router buffer and a sending rate for a cellular uplink ----------------
LINK_TRACE = "synthetic-cellular-walk"
LINK_SECONDS = 60.0
LINK_PROPAGATION_MS = 30.0
LINK_PACKET_BYTES = 1200
LINK_SEED = 2
LINK_MAX_LOSS = 0.01
LINK_MAX_P95_MS = 150.0
LINK_RATE_RANGE = (0.2, 6.0)  # Mbit/s
LINK_BUFFER_RANGE = (10.0, 2000.0)  # ms
LINK_RATE_SLACK = 0.05  # a passing rate may be this fraction below the highest feasible one


@lru_cache(maxsize=1)
def _link_capacity():
    from rtlib.net.traces import course_trace

    return course_trace(LINK_TRACE)


def simulate_link(send_mbps: float, buffer_ms: float) -> dict:
    """Exercise 4.5: a constant-rate stream of 1200-byte packets over the ``walk`` trace.

    ``send_mbps`` in Mbit/s, ``buffer_ms`` the router's tail-drop limit on waiting
    (``queue_limit_ms``).  Returns the measured ``loss`` (fraction), the 95th
    percentile ``p95_ms`` of the one-way delay of the packets that arrived, their
    ``mean_ms`` and the ``goodput_mbps``.  Used by the check and free for sweeps.
    """
    from rtlib.net import simulate_path

    for name, value, (lo, hi) in (("send_mbps", send_mbps, LINK_RATE_RANGE),
                                  ("buffer_ms", buffer_ms, LINK_BUFFER_RANGE)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                or not lo <= float(value) <= hi:
            raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}], got {value!r}")
    send = np.arange(0.0, LINK_SECONDS, LINK_PACKET_BYTES * 8 / (float(send_mbps) * 1e6))
    res = simulate_path(send, LINK_PACKET_BYTES, delay_ms=LINK_PROPAGATION_MS, capacity_bps=_link_capacity(),
                        queue_limit_ms=float(buffer_ms), seed=LINK_SEED)
    d = res.delay_s[~res.lost] * 1000
    return {"loss": float(res.loss_rate), "p95_ms": float(np.percentile(d, 95)) if d.size else math.inf,
            "mean_ms": float(d.mean()) if d.size else math.inf,
            "goodput_mbps": float(send_mbps) * (1 - float(res.loss_rate))}


def _meets(r: dict) -> bool:
    return r["loss"] <= LINK_MAX_LOSS and r["p95_ms"] <= LINK_MAX_P95_MS


def _least_buffer_for_loss(send_mbps: float) -> float:
    """The smallest buffer (1 ms) keeping loss within the bound at ``send_mbps`` (inf if none)."""
    lo, hi = LINK_BUFFER_RANGE
    if simulate_link(send_mbps, hi)["loss"] > LINK_MAX_LOSS:
        return math.inf
    while hi - lo > 1.0:  # loss never rises with a longer buffer on one fixed packet stream
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if simulate_link(send_mbps, mid)["loss"] <= LINK_MAX_LOSS else (mid, hi)
    return hi


def _feasible(send_mbps: float) -> bool:
    """Whether some buffer meets both targets at ``send_mbps``: the least buffer for the loss has the least delay."""
    b = _least_buffer_for_loss(send_mbps)
    return math.isfinite(b) and _meets(simulate_link(send_mbps, b))


@lru_cache(maxsize=1)
def _best_rate_mbps() -> float:
    """The highest sending rate (to 0.005 Mbit/s) at which some buffer meets both targets."""
    lo, hi = LINK_RATE_RANGE
    if not _feasible(lo):
        return math.nan
    while hi - lo > 0.005:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _feasible(mid) else (lo, mid)
    return lo


def _link_values(design):
    values = design_settings(design, ("send_mbps", "buffer_ms"))
    if isinstance(values, Feedback):
        return values
    rate, buf = values["send_mbps"], values["buffer_ms"]
    if 200 <= rate <= 6000:
        return fail("send_mbps looks like kbit/s: it is asked in Mbit/s.")
    if 0 < buf < 2.0:
        return fail("buffer_ms looks like seconds: it is asked in milliseconds.")
    for bad in (out_of_range("send_mbps", rate, *LINK_RATE_RANGE, "Mbit/s"),
                out_of_range("buffer_ms", buf, *LINK_BUFFER_RANGE, "ms")):
        if bad is not None:
            return bad
    return rate, buf


def _link_design(design) -> Feedback:
    values = _link_values(design)
    if isinstance(values, Feedback):
        return values
    rate, buf = values
    r = simulate_link(rate, buf)
    outcome = f"{r['loss']:.2%} of the packets lost, 95 % delivered within {r['p95_ms']:.0f} ms"
    loss_ok, delay_ok = r["loss"] <= LINK_MAX_LOSS, r["p95_ms"] <= LINK_MAX_P95_MS
    if loss_ok and delay_ok:
        if rate >= (1 - LINK_RATE_SLACK) * _best_rate_mbps():
            return ok(f"Both targets met at {rate:g} Mbit/s with a {buf:g} ms buffer: {outcome}.")
        return fail(f"Both targets met ({outcome}), but the link can carry a faster stream within them.",
                    "Send faster, then size the buffer again: what limits the rate is the link's dips, not "
                    "its average.",
                    "For each rate, the smallest buffer that keeps the loss in bound also gives the least "
                    "delay; raise the rate until that buffer's delay reaches the target.")
    if not loss_ok and not delay_ok:
        return fail(f"Both targets are missed: {outcome}.",
                    "A buffer cannot fix a stream the link cannot carry: compare your rate with what the "
                    "trace delivers when it dips.",
                    "The queue grows whenever the rate exceeds the capacity; it then either overflows (loss) "
                    "or waits (delay). Lower the rate first, then size the buffer.")
    if not loss_ok:
        big = simulate_link(rate, LINK_BUFFER_RANGE[1])["loss"] > LINK_MAX_LOSS
        if big:
            return fail(f"Too much loss: {outcome}.",
                        "Even the largest buffer in the range drops too much at this rate: what does a buffer "
                        "do with traffic the link never catches up with?",
                        "A buffer only stores the excess until the link catches up; at this rate it never does. "
                        "Send less.")
        return fail(f"Too much loss: {outcome}.",
                    "The packets are dropped at the bottleneck when the capacity dips: what would let them wait "
                    "instead?",
                    "A longer buffer turns those drops into waiting; each extra ms of buffer can add up to a ms "
                    "of delay, so grow it only as far as the loss bound needs.")
    return fail(f"Too much delay: {outcome}.",
                "The packets arrive, but some wait too long in the router: what sets the longest wait?",
                "A packet waits at most the buffer, plus the propagation delay and its own transmission: a "
                "buffer near the delay target leaves no room for those. Shrink it, or send less so the queue "
                "stays short.")


link_design = StagedCheck(_link_design)
link_design.__doc__ = """Exercise 4.5 (design): ``{'send_mbps': ..., 'buffer_ms': ...}`` for the ``walk`` uplink.

Simulated by :func:`simulate_link` (60 s of the synthetic cellular ``walk`` trace, 30 ms
propagation, 1200-byte packets).  Passes when at most 1 % of the packets are lost, 95 %
arrive within 150 ms, and the rate is within 5 % of the highest rate at which any
buffer in the range meets both.  The feedback shows the design's own measured
outcome, never the best rate; hints come in stages (``hint=True``).
"""
