"""Checks for notebooks/01_im_vs_rtc.ipynb.

1.1 ``ie_eff_g729a``: the effective equipment impairment of G.729A at 2 % random loss.
1.2 ``paris_new_york_budget``: a latency budget built from the stated stage delays.
1.3 ``largest_jitter_buffer``: the largest jitter buffer that keeps MOS >= 4.0.
1.4 ``delay_boundaries``: where a clean, echo-free G.711 call leaves G.107 Annex B's
    "very satisfied" band (R < 90) and enters "many users dissatisfied" (R < 70).
1.5 ``call_and_chat_design`` (design, staged hints): the transport and playout delay of a
    call and the transport of a chat over one lossy path, judged by simulating both.

Feedback says what is wrong (which quantity, roughly how far off, units, which stage or
term), never the value.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import (Feedback, StagedCheck, as_number, close_to, design_settings, fail, is_generic, ok,
                               out_of_range, rough_factor)
from rtlib.quality.budget import LatencyBudget, fibre_delay_ms
from rtlib.quality.emodel import emodel

NOT_YET = "Not answered yet: replace None with your answer and run the cell again."

# --- 1.1 ------------------------------------------------------------------------------

G729A_IE, G729A_BPL, LOSS_PERCENT = 11.0, 19.0, 2.0


def _ie_eff(ie, bpl, ppl, burst_r=1.0):
    return ie + (95 - ie) * ppl / (ppl / burst_r + bpl)


def ie_eff_g729a(answer) -> Feedback:
    """Ie,eff for G.729A (Ie = 11, Bpl = 19.0) at 2 % random loss (BurstR = 1)."""
    value = as_number(answer, "Ie,eff")
    if isinstance(value, Feedback):
        return value
    expected = _ie_eff(G729A_IE, G729A_BPL, LOSS_PERCENT)
    if math.isclose(value, expected, rel_tol=1e-3):
        return ok("Ie,eff is right: 2 % loss costs this codec more than its whole built-in impairment Ie.")
    slips = {
        _ie_eff(G729A_IE, G729A_BPL, LOSS_PERCENT / 100): "Ppl is a percentage in G.107: 2 % loss is Ppl = 2, not 0.02.",
        G729A_IE + 95 * LOSS_PERCENT / (LOSS_PERCENT + G729A_BPL): "The loss term scales the room left above Ie: (95 − Ie), not 95.",
        (95 - G729A_IE) * LOSS_PERCENT / (LOSS_PERCENT + G729A_BPL): "Ie,eff starts from the codec's own Ie, then adds the loss term.",
        G729A_IE + (95 - G729A_IE) * LOSS_PERCENT / G729A_BPL: "The denominator is Ppl/BurstR + Bpl, not Bpl alone.",
        G729A_IE + (95 - G729A_IE) * LOSS_PERCENT / LOSS_PERCENT + G729A_BPL:
            "Mind the parentheses: the whole of Ppl/BurstR + Bpl is the denominator.",
        (G729A_IE + 95 - G729A_IE) * LOSS_PERCENT / (LOSS_PERCENT + G729A_BPL):
            "Only the loss term is scaled by Ppl/(Ppl/BurstR + Bpl); Ie is added on its own.",
    }
    for wrong, hint in slips.items():
        if math.isclose(value, wrong, rel_tol=1e-3):
            return fail("Ie,eff is not right yet.", hint)
    if value < G729A_IE:
        return fail("Ie,eff is below the codec's own Ie: loss can only add impairment.",
                    "Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl), with Ppl in percent.")
    return fail(f"Ie,eff is {rough_factor(value, expected)}.",
                "Ie,eff = Ie + (95 − Ie) · Ppl / (Ppl / BurstR + Bpl), with Ppl in percent.")


# --- 1.2 ------------------------------------------------------------------------------

ROUTE_KM = 7000.0

#: The stages stated in exercise 1.2 (propagation from the fibre route length).
PARIS_NEW_YORK = LatencyBudget(
    capture_ms=10.0, encode_ms=8.0, packetisation_ms=20.0, pacing_ms=0.0,
    propagation_ms=fibre_delay_ms(ROUTE_KM), queueing_ms=15.0, jitter_buffer_ms=60.0,
    decode_ms=2.0, render_ms=10.0,
)


def paris_new_york_budget(budget) -> Feedback:
    """The exercise 1.2 budget: each stage as stated; propagation over 7,000 km of fibre."""
    if budget is None:
        return fail(NOT_YET)
    if not isinstance(budget, LatencyBudget):
        return fail(f"Build a LatencyBudget(...), got {type(budget).__name__}.",
                    "budget = LatencyBudget(capture_ms=..., encode_ms=..., ...)")
    problems, hints = [], []
    stages = PARIS_NEW_YORK.stages
    wrong_stages = [st for st, e in stages.items()
                    if abs(budget.stages[st] - e) > (0.05 * e if st == "propagation" else 1e-6)]
    for a in wrong_stages:  # two stated values typed into each other's field
        for b in wrong_stages:
            if a < b and math.isclose(budget.stages[a], stages[b]) and math.isclose(budget.stages[b], stages[a]):
                hints.append(f"{a.replace('_', ' ')} and {b.replace('_', ' ')} look swapped.")
    for stage in wrong_stages:
        expected, got = stages[stage], budget.stages[stage]
        problems.append(f"{stage.replace('_', ' ')} is {'too high' if got > expected else 'too low'}")
        if expected > 0 and stage != "propagation" and math.isclose(got * 1000, expected, rel_tol=1e-6):
            hints.append(f"{stage.replace('_', ' ').capitalize()}: that looks like seconds; every stage is in ms.")
        if stage == "propagation" and expected > 0:
            ratio = got / expected
            if math.isclose(ratio, 1 / 1000, rel_tol=0.06) or math.isclose(ratio, 1000, rel_tol=0.06):
                hints.append("Propagation: check units, the budget is in milliseconds.")
            elif math.isclose(ratio, 1 / 1.468, rel_tol=0.03):
                hints.append("Propagation: light in fibre is slower than in vacuum (about 2/3 of c).")
            elif math.isclose(ratio, 2, rel_tol=0.06):
                hints.append("Propagation: the budget is one way, not a round trip.")
            else:
                hints.append(f"Propagation is {rough_factor(got, expected)}: fibre_delay_ms(route length in km) "
                             "does the arithmetic.")
        if stage == "packetisation":
            hints.append("Packetisation: one 20 ms frame per packet means waiting for 20 ms of audio.")
    if problems:
        return fail("Not quite: " + "; ".join(problems) + ".", *hints)
    return ok(f"Right: {budget.total_ms:.0f} ms mouth to ear, comfortably below G.114's 400 ms limit.")


# --- 1.3 ------------------------------------------------------------------------------

TARGET_MOS, LOSS_13 = 4.0, 0.01


def _mos_with_buffer(jitter_buffer_ms):
    total = PARIS_NEW_YORK.total_ms - PARIS_NEW_YORK.jitter_buffer_ms + np.asarray(jitter_buffer_ms, float)
    return emodel(total, LOSS_13, "g711", plc=True).MOS


def _last_true(pred, lo: float, hi: float) -> float:
    """Bisection: the largest x in [lo, hi] with ``pred(x)``, for a ``pred`` true below some point."""
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if pred(mid) else (lo, mid)
    return lo


@lru_cache(maxsize=1)
def _largest_buffer_ms() -> float:
    """The exact (real-valued) largest buffer: MOS falls monotonically with the buffer."""
    return _last_true(lambda b: _mos_with_buffer(b) >= TARGET_MOS, 0.0, 2000.0)


@lru_cache(maxsize=8)
def _largest_buffer_variant_ms(*, loss=LOSS_13, plc=True, echo=True, others_ms=None) -> float:
    """The largest buffer under a typical slip (another loss, no PLC, no echo, other stages)."""
    others = PARIS_NEW_YORK.total_ms - PARIS_NEW_YORK.jitter_buffer_ms if others_ms is None else others_ms
    return _last_true(lambda b: emodel(others + b, loss, "g711", plc=plc, echo=echo).MOS >= TARGET_MOS, 0.0, 2000.0)


def largest_jitter_buffer(answer) -> Feedback:
    """Largest jitter buffer [ms] (1.2's other stages, G.711 + PLC, 1 % loss) with MOS >= 4.0.

    Accepted: any buffer that still gives MOS >= 4.0 and is within 1 ms of the limit
    (a 1 ms scan lands on the whole millisecond below it).  Wrong answers are told
    which quantity is off: the MOS their buffer gives, roughly how far the buffer is
    from the limit, and the slip when it is a typical one (seconds, the whole
    mouth-to-ear delay, the 60 ms buffer kept on top, loss or echo left out).
    """
    value = as_number(answer, "The jitter buffer")
    if isinstance(value, Feedback):
        return value
    if value < 0:
        return fail("A buffer cannot be negative.")
    limit = _largest_buffer_ms()
    ratio = value * 1000 / limit
    if 0.9 <= ratio <= 1.1 or 0.9 <= value / (1000 * limit) <= 1.1:
        return fail("The jitter buffer is off by a factor of 1000.",
                    "Check your units: the budget, and the answer, are in milliseconds.")
    others = PARIS_NEW_YORK.total_ms - PARIS_NEW_YORK.jitter_buffer_ms
    slips = (
        (limit + others, "That is the whole mouth-to-ear delay at which MOS reaches 4.0.",
         "The question asks for the jitter buffer alone: the other stages of the budget stay as they are."),
        (limit - PARIS_NEW_YORK.jitter_buffer_ms, "That buffer comes on top of the old 60 ms one.",
         "Replace the 60 ms jitter buffer of the budget, do not add a second buffer to it."),
        (_largest_buffer_variant_ms(loss=0.0), "That is the limit of a call without loss.",
         "This call loses 1 % of its packets: pass loss=0.01 to the quality / emodel call."),
        (_largest_buffer_variant_ms(echo=False), "That is the limit of an echo-free call.",
         "Keep the default echo (echo=True): only the jitter buffer changes."),
    )
    for wrong, message, hint in slips:
        if abs(value - wrong) <= 1.0:
            return fail(message, hint)
    mos = float(_mos_with_buffer(value))
    if mos < TARGET_MOS:
        return fail(f"Too large: with that buffer the call's MOS falls to {mos:.2f}, below 4.0; "
                    f"the buffer is {rough_factor(value, limit)}.",
                    "Compute the MOS for each candidate buffer and keep the largest that stays >= 4.0.")
    if value < limit - 1.0:
        return fail(f"Too small: MOS is still {mos:.2f} there, above 4.0, so there is room for a larger buffer; "
                    f"the buffer is {rough_factor(value, limit)}.",
                    "Try a finer scan (1 ms steps) or a bisection.")
    return ok("Right: that is all the delay headroom a MOS 4.0 target leaves once the other stages and "
              "1 % loss are paid for.")


# --- 1.4 ------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _crossing_ms(r_level: float, echo: bool = False) -> float:
    return _last_true(lambda d: emodel(d, echo=echo).R >= r_level, 0.0, 5000.0)


def delay_boundaries(answer) -> Feedback:
    """``(d90, d70)``: the one-way delays [ms] where a clean, echo-free G.711 call's R
    drops below 90 and below 70.  Accepted within 2 ms of each."""
    if answer is None:
        return fail(NOT_YET)
    if isinstance(answer, str) or not hasattr(answer, "__len__") or len(answer) != 2:
        return fail("Give two numbers: (delay where R drops below 90, delay where R drops below 70).")
    names = ("The R = 90 delay", "The R = 70 delay")
    feedback = []
    for name, value, level in zip(names, answer, (90.0, 70.0)):
        fb = close_to(value, _crossing_ms(level), what=name, rel=0, abs_=2.0,
                      unit_hints={1000: "Check your units: delays are in milliseconds."})
        feedback.append(fb)
    if all(feedback):
        return ok("Right: for a clean, echo-free G.711 call the 200/400 ms rule of thumb sits close to the "
                  "E-model's 'very satisfied' (R 90) and 'many users dissatisfied' (R 70) boundaries.")
    wrong = [fb for fb in feedback if not fb]
    try:
        values = [float(v) for v in answer]
    except (TypeError, ValueError):
        return fail(" ".join(fb.message for fb in wrong))
    if values[0] > values[1]:
        return fail("The R = 90 delay must come before the R = 70 delay: R falls as delay grows.")
    if all(abs(v - _crossing_ms(level, echo=True)) <= 2.0 for v, level in zip(values, (90.0, 70.0))):
        return fail("Those are the crossings of a call with the default echo.",
                    "The exercise asks for an echo-free connection: emodel(delays, echo=False).")
    if values == [200.0, 400.0]:
        return fail("Those are the rule of thumb's own numbers; the exercise asks where the E-model puts the lines.",
                    "Use emodel(delays, echo=False).R on a fine grid of delays.")
    return fail(" ".join(fb.message for fb in wrong), *[h for fb in wrong for h in fb.hints],
                "Use emodel(delays, echo=False).R on a fine grid of delays.")


# --- 1.5 (design): a call and a chat over one lossy path -----------------------------------
# One path (60 ms one way, 8 ms of normal jitter, 2 % random loss) carries a G.711 call
# (60 s of 20 ms packets) and a chat (300 messages over 10 minutes).  Each may ride
# datagrams (UDP) or a reliable in-order stream (TCP-like, rtlib.net.transport).
PATH = {"delay_ms": 60.0, "jitter_ms": 8.0, "loss": 0.02}
CALL_SECONDS, CALL_PACKET_BYTES, CALL_SEED = 60.0, 200, 4  # 160 bytes of G.711 + 40 of RTP/UDP/IPv4
CHAT_MESSAGES, CHAT_SECONDS, CHAT_BYTES, CHAT_SEED = 300, 600.0, 300, 7
#: Capture, encoding, packetisation, pacing, decoding and playout of TYPICAL_CALL: the stages the
#: playout delay (network + jitter buffer) does not cover.
CALL_OTHER_MS = 52.0
CALL_MOS, CALL_MAX_MS = 4.0, 400.0  # MOS target, and G.114's limit on mouth-to-ear delay
CHAT_WITHIN_S, CHAT_SHARE = 1.0, 0.99  # 99 % of the messages delivered within 1 s, none lost
PLAYOUT_RANGE_MS = (0.0, 1000.0)
DESIGN_SLACK_MS = 10.0  # a passing call may wait this much longer than the least playout delay that works
TRANSPORTS = ("datagrams", "stream")


@lru_cache(maxsize=1)
def _call_runs():
    from rtlib.net.transport import compare_stream_and_datagrams

    send = np.arange(0.0, CALL_SECONDS, 0.02)
    return compare_stream_and_datagrams(send, CALL_PACKET_BYTES, seed=CALL_SEED, **PATH)


@lru_cache(maxsize=1)
def _chat_runs():
    from rtlib.net.transport import compare_stream_and_datagrams
    from rtlib.sim import make_rng

    send = np.sort(make_rng(CHAT_SEED, "ch01-chat").uniform(0.0, CHAT_SECONDS, CHAT_MESSAGES))
    return compare_stream_and_datagrams(send, CHAT_BYTES, seed=CHAT_SEED, **PATH)


def simulate_design(call_transport: str, call_playout_ms: float, chat_transport: str) -> dict:
    """Exercise 1.5: the call and the chat over the lossy path, with the given transports.

    A call frame is played ``call_playout_ms`` after it was sent (that delay holds the
    network and the jitter buffer); a frame lost or later than that is concealed.  The
    E-model (G.711 with concealment) rates the call at mouth-to-ear delay
    ``call_playout_ms`` + :data:`CALL_OTHER_MS` with the missed frames as its loss.
    Returns ``call_mos``, ``call_mouth_to_ear_ms``, ``call_missed`` (share of frames),
    ``chat_lost`` (messages never delivered), ``chat_p99_s`` (99th percentile of the
    delivery time, inf if any is lost) and ``chat_mean_s``.  Used by the check and free
    for the learner's sweeps.
    """
    for name, value in (("call_transport", call_transport), ("chat_transport", chat_transport)):
        if value not in TRANSPORTS:
            raise ValueError(f"{name} must be one of {list(TRANSPORTS)}, got {value!r}")
    if isinstance(call_playout_ms, bool) or not isinstance(call_playout_ms, (int, float, np.integer, np.floating)) \
            or not PLAYOUT_RANGE_MS[0] <= float(call_playout_ms) <= PLAYOUT_RANGE_MS[1]:
        raise ValueError(f"call_playout_ms must be a number in [{PLAYOUT_RANGE_MS[0]:g}, {PLAYOUT_RANGE_MS[1]:g}] "
                         f"ms, got {call_playout_ms!r}")
    call = _call_runs()
    d_ms = (call.datagram_delay_s if call_transport == "datagrams" else call.stream_delay_s) * 1000.0
    missed = float(np.mean(~(d_ms <= float(call_playout_ms))))  # nan (lost) and inf (blocked) count as missed
    m2e = float(call_playout_ms) + CALL_OTHER_MS
    chat = _chat_runs()
    c_s = chat.datagram_delay_s if chat_transport == "datagrams" else chat.stream_delay_s
    lost = int(np.sum(~np.isfinite(c_s)))
    return {"call_mos": float(emodel(m2e, missed, "g711", plc=True).MOS), "call_mouth_to_ear_ms": m2e,
            "call_missed": missed, "chat_lost": lost,
            "chat_p99_s": float(np.percentile(c_s, 99)) if lost == 0 else math.inf,
            "chat_mean_s": float(np.nanmean(np.where(np.isfinite(c_s), c_s, np.nan)))}


def _call_ok(r: dict) -> bool:
    return r["call_mos"] >= CALL_MOS and r["call_mouth_to_ear_ms"] <= CALL_MAX_MS


@lru_cache(maxsize=1)
def least_playout_ms() -> float:
    """The least playout delay (1 ms grid) of any design that meets the call's target (inf if none).

    Searched over both transports, every whole millisecond of the range: the MOS is
    not monotone in the playout delay (waiting longer first saves late frames, then
    the delay itself costs), so no bisection.
    """
    grid = np.arange(PLAYOUT_RANGE_MS[0], PLAYOUT_RANGE_MS[1] + 1, 1.0)
    best = math.inf
    for transport in TRANSPORTS:
        for p in grid:
            if p >= best:
                break
            if _call_ok(simulate_design(transport, float(p), "stream")):
                best = float(p)
                break
    return best


def _design_values(design):
    values = design_settings(design, ("call_transport", "call_playout_ms", "chat_transport"),
                             numbers=("call_playout_ms",))
    if isinstance(values, Feedback):
        return values
    for name in ("call_transport", "chat_transport"):
        v = values[name]
        if isinstance(v, str) and v.lower() in ("udp", "tcp"):
            return fail(f"{name} is named by what the transport does here: 'datagrams' (as UDP carries them) or "
                        f"'stream' (reliable and in order, as TCP), got {v!r}.")
        if v not in TRANSPORTS:
            return fail(f"{name} should be 'datagrams' or 'stream', got {v!r}.")
    p = values["call_playout_ms"]
    if 0 < p < 1.0:
        return fail("call_playout_ms looks like seconds: it is asked in milliseconds.")
    bad = out_of_range("call_playout_ms", p, *PLAYOUT_RANGE_MS, "ms")
    return values if bad is None else bad


def _call_and_chat_design(design) -> Feedback:
    values = _design_values(design)
    if isinstance(values, Feedback):
        return values
    r = simulate_design(**values)
    call = (f"the call scores MOS {r['call_mos']:.2f} at {r['call_mouth_to_ear_ms']:.0f} ms mouth to ear, "
            f"{r['call_missed']:.1%} of its frames lost or too late for playout")
    if r["chat_lost"]:
        chat = f"{r['chat_lost']} of the {CHAT_MESSAGES} chat messages never arrived"
    else:
        chat = f"every chat message arrived, 99 % within {r['chat_p99_s'] * 1000:.0f} ms"
    outcome = f"{call}; {chat}"
    chat_ok = r["chat_lost"] == 0 and r["chat_p99_s"] <= CHAT_WITHIN_S
    if _call_ok(r) and chat_ok:
        if values["call_playout_ms"] <= least_playout_ms() + DESIGN_SLACK_MS:
            return ok(f"Both targets met: {outcome}.")
        return fail(f"Both targets met ({outcome}), but the call waits longer than it must.",
                    "Which part of the playout delay buys something on this path, and which is only waiting?",
                    "Frames that arrive in time gain nothing from waiting longer: the playout delay only has to "
                    "cover the path's delay and most of its jitter, until late frames are rare next to lost ones.")
    if not chat_ok:
        return fail(f"The chat misses its target: {outcome}.",
                    "A chat message may take a second, but it must arrive: what does each transport do when "
                    "the path drops a packet?",
                    "Datagrams are never resent; a chat needs the reliable stream, whose resends cost a round "
                    "trip or a timeout, which a chat can afford.")
    if values["call_transport"] == "stream":
        return fail(f"The call misses its target: {outcome}.",
                    "Look at what happens to the frames queued behind a lost packet on this transport.",
                    "A reliable in-order stream holds every later frame until the lost one is resent, a round "
                    "trip or a retransmission timeout later: the call would rather conceal the one lost frame "
                    "and play the rest on time.")
    late = r["call_missed"] - PATH["loss"]
    if r["call_mouth_to_ear_ms"] > CALL_MAX_MS or late < 0.005:
        return fail(f"The call misses its target: {outcome}.",
                    "The frames are there in time; what else does the E-model charge a call for?",
                    "Mouth-to-ear delay costs MOS by itself, fast beyond about 150 ms: a shorter playout delay "
                    "loses a few late frames but gains more than it loses.")
    return fail(f"The call misses its target: {outcome}.",
                "More frames are missed than the path loses: when do the others arrive?",
                "A frame later than the playout delay counts as lost: the playout delay must cover the path's "
                "one-way delay plus its jitter, not less.")


call_and_chat_design = StagedCheck(_call_and_chat_design)
call_and_chat_design.__doc__ = """Exercise 1.5 (design): ``{'call_transport', 'call_playout_ms', 'chat_transport'}``.

The design is simulated (:func:`simulate_design`): a 60 s G.711 call and 300 chat messages
over one path with 60 ms one-way delay, 8 ms jitter and 2 % loss.  It passes when the
call reaches MOS 4.0 within 400 ms mouth to ear, every chat message arrives and 99 % of
them within 1 s, and the call's playout delay is at most 10 ms above the least of any
design that meets the call's target.  The feedback shows the design's own measured
outcome, never the best design; hints come in stages (``hint=True``).
"""
