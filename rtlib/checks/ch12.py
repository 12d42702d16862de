"""Checks for notebooks/12_live_call.ipynb (quality monitoring: a live call).

Each check says what is wrong (which quantity, which direction, which units) and
never the expected value.  The mystery calls' faults are stored as salted hashes, so
reading this file does not name them; the hints follow the usual confusions (a rate
cap read as loss, jitter read as delay, ...).

- :data:`alert_design`: design task 12.4, an alert rule judged by replaying the recorded
  mystery calls (:mod:`rtlib.viz.dashboard.alerts`).

Data: ``data/live/mystery_*.json`` (made by ``data/live/make_mystery.py``).
"""

from __future__ import annotations

import hashlib
import math
from functools import lru_cache
import re
from pathlib import Path

from rtlib.checks.core import Feedback, StagedCheck, as_number, close_to, fail, is_generic, ok

DATA = Path(__file__).resolve().parents[2] / "data" / "live"

#: the faults a learner may name, and the words that mean each one
FAULTS = {
    "delay": ("delay", "latency", "propagation", "long path", "distance"),
    "jitter": ("jitter", "delay variation", "pdv", "variable delay", "delay jitter"),
    "loss": ("loss", "random loss", "packet loss", "bernoulli", "drops", "dropped packets"),
    "bursty loss": ("bursty loss", "burst loss", "burst", "bursts", "gilbert", "gilbert-elliott", "loss bursts",
                    "burst of loss", "loss in bursts"),
    "rate cap": ("rate cap", "rate limit", "bandwidth", "bandwidth limit", "capacity", "bottleneck", "throttle",
                 "throttling", "cap", "bitrate cap", "congestion", "rate", "limited bandwidth"),
    "outage": ("outage", "blackout", "disconnect", "disconnection", "link down", "dropout", "handover"),
}
_SALT = "rtlib-ch12"
#: sha256(salt + call + fault) of each mystery call's fault
_KEYS = {
    "a": "1e64e7089efb96a2b46dbe4de2c1fddf634924f4e08a8bc5357a37c60d48ed11",
    "b": "8465ca609b8605d7d7105f1f90040fa37319ef35daec1b66d0ffd3fe5fdec7f6",
    "c": "7f44c246f83526fa6f801f5fffd2aa1c5ecb02123d07e4325c64fc790101d888",
}


def _digest(call: str, fault: str) -> str:
    return hashlib.sha256(f"{_SALT}:{call}:{fault}".encode()).hexdigest()


def _truth(call: str) -> str:
    for fault in FAULTS:
        if _digest(call, fault) == _KEYS[call]:
            return fault
    raise RuntimeError(f"no fault matches mystery call {call!r}: data/live/make_mystery.py and ch12._KEYS disagree")


def normalise_fault(answer: str) -> str | None:
    """The fault a learner's words name (``"Bandwidth limit"`` → "rate cap"), or None."""
    text = re.sub(r"[\s_\-]+", " ", answer.strip().lower()).strip(" .!")
    text = text.replace("gilbert elliott", "gilbert-elliott")
    best = None
    for fault, words in FAULTS.items():
        for w in words:
            if text == w:
                return fault
            if re.search(rf"\b{re.escape(w)}\b", text) and (best is None or len(w) > best[1]):
                best = (fault, len(w))
    return best[0] if best else None


# What each fault does to the dashboard, told when a learner names a neighbour instead.
_LOOK_AGAIN = {
    ("rate cap", "loss"): "Packets were lost, yes: but why? Compare the sent and received bitrates before and "
                          "after the change, and look at the delay while the loss happens.",
    ("rate cap", "bursty loss"): "The losses are not the cause here. What do the received bitrate and the "
                                 "delay do at the same moment?",
    ("rate cap", "delay"): "The delay grew, but a longer path adds a constant. Does it stay put, or climb and "
                           "fall? And what does the received bitrate do?",
    ("rate cap", "jitter"): "The jitter moved a little, but it is not the first thing that changed. Look at the "
                            "received bitrate.",
    ("rate cap", "outage"): "Media kept arriving throughout: the received bitrate never reaches zero.",
    ("bursty loss", "loss"): "Loss is the right family. Look at how the loss panel and the freezes behave: is "
                             "it spread evenly, or does it come in clumps that freeze the picture?",
    ("bursty loss", "rate cap"): "The received bitrate follows the sent one: the path is not capping it.",
    ("bursty loss", "outage"): "Media keeps arriving: the received bitrate never reaches zero.",
    ("bursty loss", "delay"): "The delay panel stays near its start value; another panel moves from 2 s on.",
    ("bursty loss", "jitter"): "The jitter panel stays low; another panel moves from 2 s on.",
    ("jitter", "delay"): "The delay did grow, and it wobbles. Which panel moves first and by the most, in ms, "
                         "from 2 s on?",
    ("jitter", "loss"): "Hardly anything is lost in this call.",
    ("jitter", "bursty loss"): "Hardly anything is lost in this call.",
    ("jitter", "rate cap"): "The received bitrate keeps up with the sent one: nothing caps it.",
    ("jitter", "outage"): "The frame rate never drops to zero.",
}


def mystery_fault(answer, call: str = "a") -> Feedback:
    """Exercise 12.3: name the fault of mystery call ``call`` ("a", "b" or "c") in words."""
    call = str(call).lower()
    if call not in _KEYS:
        raise ValueError(f"call must be one of {sorted(_KEYS)}, got {call!r}")
    if answer is None or (isinstance(answer, str) and answer.strip() in ("", "...")):
        return fail("Not answered yet: write the fault's name as a string, e.g. \"delay\", then run the cell again.")
    if not isinstance(answer, str):
        return fail(f"Name the fault in words (a string), got {type(answer).__name__}.")
    named = normalise_fault(answer)
    if named is None:
        return fail(f"I do not recognise {answer!r} as a network fault.",
                    "Name one of: " + ", ".join(FAULTS) + ".")
    truth = _truth(call)
    if named == truth:
        article = {"rate cap": "a ", "outage": "an "}.get(truth, "")
        return ok(f"Right: mystery call {call.upper()}'s fault is {article}{truth}.")
    hint = _LOOK_AGAIN.get((truth, named), "Which panel changes first after 2 s, and which do not change at all?")
    return fail(f"Not {named}.", hint)


# -- 12.1 what the endpoints add to the path's delay --------------------------------------------

def endpoint_share_ms(answer, stats, delay_ms: float) -> Feedback:
    """Exercise 12.1: the median measured end-to-end delay minus the configured one-way delay, in ms.

    ``stats``: the learner's call (a ``CallStats`` or its dict); ``delay_ms``: the
    one-way delay the relay added.
    """
    from rtlib.viz.dashboard import load_call, summarize

    value = as_number(answer, "The endpoints' share")
    if isinstance(value, Feedback):
        return value
    s = summarize(load_call(stats)[0])
    e2e, rtt = s["e2e_delay_p50_ms"], s["rtt_p50_ms"]
    if not math.isfinite(e2e):
        return fail("This call has no measured end-to-end delay to compare with.")
    expected = e2e - delay_ms
    if math.isclose(value, expected, rel_tol=0.02, abs_tol=1.0):
        return ok("Right: that is what capture, encoding, pacing, the jitter buffer and decoding add on top of "
                  "the path.")
    if math.isclose(value, e2e, rel_tol=0.02, abs_tol=1.0):
        return fail("That is the whole end-to-end delay.", "Subtract the one-way delay the relay added.")
    if math.isfinite(rtt) and math.isclose(value, rtt - delay_ms, rel_tol=0.02, abs_tol=1.0):
        return fail("You started from the round-trip time.", "The RTT covers both directions and no media "
                    "processing; use the measured end-to-end delay (median).")
    if math.isclose(value, e2e - 2 * delay_ms, rel_tol=0.02, abs_tol=1.0):
        return fail("You subtracted the delay twice.", "The end-to-end delay crosses the relay once (A to B).")
    if math.isclose(value, -expected, rel_tol=0.02, abs_tol=1.0):
        return fail("The sign is reversed.", "Measured minus configured: what the endpoints add is positive.")
    if math.isclose(value, expected / 1000, rel_tol=0.02, abs_tol=1e-3):
        return fail("That looks like seconds.", "Give the answer in ms.")
    fb = close_to(value, expected, what="The endpoints' share", rel=0.02)
    return fb if not is_generic(fb) else fail(fb.message, "Use the median (p50) of the measured end-to-end "
                                                          "delay over the call.")


# -- 12.2 loss from the cumulative counters -----------------------------------------------------

def _window_loss(samples: list[dict], start_s: float, end_s: float) -> tuple[float, dict]:
    def at(t):
        return min(samples, key=lambda s: abs(s["t_s"] - t))

    a, b = at(start_s), at(end_s)
    lost, got = b["packets_lost"] - a["packets_lost"], b["packets_received"] - a["packets_received"]
    return lost / (lost + got), {"lost": lost, "got": got, "a": a, "b": b}


def window_loss(answer, call: str = "b", *, start_s: float = 2.0, end_s: float = 6.0) -> Feedback:
    """Exercise 12.2: the fraction of packets lost between ``start_s`` and ``end_s`` in a mystery call,
    from the cumulative counters ``packets_lost`` and ``packets_received`` (RFC 3550 A.3)."""
    from rtlib.viz.dashboard import load_call

    value = as_number(answer, "The loss fraction")
    if isinstance(value, Feedback):
        return value
    samples = load_call(DATA / f"mystery_{call}.json")[0]
    expected, parts = _window_loss(samples, start_s, end_s)
    if math.isclose(value, expected, rel_tol=1e-3, abs_tol=1e-6):
        return ok("Right: lost / (lost + received), both counted over the window, as RFC 3550 A.3 does.")
    if math.isclose(value, 100 * expected, rel_tol=1e-3):
        return fail("That looks like a percentage.", "Give the loss as a fraction (0 to 1).")
    b = parts["b"]
    if math.isclose(value, b["packets_lost"] / (b["packets_lost"] + b["packets_received"]), rel_tol=1e-3):
        return fail("That is the loss of the whole call so far.", f"Count only what happened between {start_s:g} "
                    f"and {end_s:g} s: take the differences of the cumulative counters.")
    if parts["got"] and math.isclose(value, parts["lost"] / parts["got"], rel_tol=1e-3):
        return fail("You divided by the packets received.", "Divide by the packets expected: lost + received.")
    in_window = [s["loss_fraction"] for s in samples if start_s < s["t_s"] <= end_s and s["loss_fraction"] is not None]
    if in_window and math.isclose(value, sum(in_window) / len(in_window), rel_tol=1e-3):
        return fail("That is the mean of the per-interval fractions.", "Intervals carry different numbers of "
                    "packets: count packets, from the cumulative counters.")
    if value < 0 or value > 1:
        return fail("A loss fraction lies between 0 and 1.")
    return close_to(value, expected, what="The loss fraction", rel=1e-3)


# -- 12.5 predict a call's setup time from the measured IM round trip ------------------------------

def setup_prediction_ms(answer, slow_call: dict, clean_call: dict, im_rtt_ms: float) -> Feedback:
    """Exercise 12.5: the setup time [ms] (pressing "call" to the first video frame) of a call whose IM
    path is slow, predicted from a clean call's parts and the slow path's measured IM round trip.

    ``slow_call`` and ``clean_call``: :func:`rtlib.signal.setup_time.measure_call` results (the
    slow one measured after the prediction); ``im_rtt_ms``: the slow path's median send → ack.
    The prediction passes when it follows from the measurements (the clean total plus what the
    slow path adds to two IM round trips, within 5 % or 30 ms), or lands within 15 % (at least
    60 ms) of the measured setup time: a busy machine can make the live call itself slower than
    any prediction from round trips.
    """
    value = as_number(answer, "Your predicted setup time")
    if isinstance(value, Feedback):
        return value
    for name, d in (("slow_call", slow_call), ("clean_call", clean_call)):
        if not isinstance(d, dict) or not all(isinstance(d.get(k), (int, float)) for k in ("total_ms", "im_send_ack_ms")):
            raise ValueError(f"{name} must be a measure_call result with total_ms and im_send_ack_ms")
    measured = float(slow_call["total_ms"])
    clean, extra = float(clean_call["total_ms"]), float(im_rtt_ms) - float(clean_call["im_send_ack_ms"])
    tol = max(60.0, 0.15 * measured)
    band = max(40.0, 0.07 * measured)  # narrower, to recognise a known mistake

    def near(x):
        return abs(value - x) <= band

    model = clean + 2 * extra
    if abs(value - model) <= max(30.0, 0.05 * model) or abs(value - measured) <= tol:
        return ok("Right: a call's setup pays two IM round trips (the offer to the callee, its answer back) "
                  "on top of what the same call costs on a clean path; ICE, DTLS and the first frame do not "
                  "cross the IM server.")
    if math.isclose(value, measured / 1000, rel_tol=0.15, abs_tol=0.06):
        return fail("That looks like seconds.", "Give the setup time in ms.")
    if near(clean):
        return fail("Your prediction ignores the slower IM path.",
                    "Which messages of the setup travel through the IM server, and how many times does each "
                    "cross the slow path?")
    if near(clean + extra):
        return fail("You counted one IM round trip.",
                    "The offer goes caller → server → callee; the accept and answer come back callee → server "
                    "→ caller. How many one-way hops is that, and how many round trips?")
    if near(clean + 2 * float(im_rtt_ms)) or near(2 * float(im_rtt_ms)):
        return fail("Close in spirit, but you added the whole slow round trips.",
                    "The clean call already paid for a fast IM round trip twice: add only what the slow path "
                    "adds to each (slow round trip minus clean round trip); and keep the clean call's other "
                    "parts (offer, ICE, DTLS, first frame).")
    if near(clean + 4 * extra):
        return fail("You counted every one-way hop as a round trip.",
                    "Four one-way hops make two round trips.")
    if value < clean:
        return fail("Your prediction is below what the call costs on a clean path.",
                    "A slower IM path can only add to the setup time.")
    return fail("Your prediction is too high." if value > measured else "Your prediction is too low.",
                "Start from the clean call's total, then add what the slow IM path adds to each IM round "
                "trip of the setup.")


__all__ = ["FAULTS", "endpoint_share_ms", "mystery_fault", "normalise_fault", "setup_prediction_ms",
           "window_loss"]


# -- 12.4 design: alert rules that page on every fault, early, and never on a healthy call --------

#: When each mystery call's fault was switched on (data/live/make_mystery.py).
FAULT_AT_S = 2.0
#: A threshold must sit this far above the worst value the healthy part of any call showed,
#: so that a slightly busier healthy call does not page anyone.
MARGIN = 1.25
#: ... and loss is never paged below 1 %: healthy calls lose a packet now and then.
LOSS_FLOOR_PCT = 1.0
#: Every fault must page within this long of its start.
DETECT_WITHIN_S = 1.0


@lru_cache(maxsize=1)
def _mystery_samples() -> dict[str, list[dict]]:
    from rtlib.viz.dashboard import load_call

    return {name: load_call(DATA / f"mystery_{name}.json")[0] for name in "abc"}


def alert_floors() -> dict[str, float]:
    """The lowest threshold each metric may have: MARGIN above the worst value of the healthy
    part (before FAULT_AT_S) of any mystery call; loss at least LOSS_FLOOR_PCT."""
    from rtlib.viz.dashboard.alerts import METRICS, worst_value

    calls = _mystery_samples()
    floors = {m: MARGIN * max(worst_value(s, m, until_s=FAULT_AT_S) for s in calls.values()) for m in METRICS}
    floors["loss_pct"] = max(floors["loss_pct"], LOSS_FLOOR_PCT)
    return floors


def replay_alerts(rule: dict) -> dict[str, dict]:
    """Run ``rule`` over the three mystery calls: per call, a false page before the fault
    (``false``: (t_s, metric) or None) and the first page after it (``page``, with
    ``delay_s`` from the fault's start, None if it never pages)."""
    from rtlib.viz.dashboard.alerts import first_alert

    out = {}
    for name, samples in _mystery_samples().items():
        early = first_alert(samples, rule)
        false = early if early is not None and early[0] <= FAULT_AT_S else None
        page = first_alert(samples, rule, after_s=FAULT_AT_S)
        out[name] = {"false": false, "page": page, "delay_s": None if page is None else page[0] - FAULT_AT_S}
    return out


def _works(result: dict) -> bool:
    return all(r["false"] is None and r["delay_s"] is not None and r["delay_s"] <= DETECT_WITHIN_S + 1e-9
               for r in result.values())


def best_alert_designs() -> dict:
    """The fewest metrics that page every fault in time with thresholds at their floors, and the
    least mean delay [s] such a design reaches (lower thresholds are not allowed, higher ones
    only page later)."""
    from itertools import combinations

    from rtlib.viz.dashboard.alerts import METRICS

    floors = alert_floors()
    for k in range(1, len(METRICS) + 1):
        delays = []
        for subset in combinations(METRICS, k):
            r = replay_alerts({m: floors[m] if m in subset else None for m in METRICS})
            if _works(r):
                delays.append(sum(x["delay_s"] for x in r.values()) / len(r))
        if delays:
            return {"metrics": k, "mean_delay_s": min(delays)}
    return {"metrics": None, "mean_delay_s": None}


def _alert_design(design) -> Feedback:
    from rtlib.checks.core import design_settings
    from rtlib.viz.dashboard.alerts import METRICS

    rule = design_settings(design, tuple(METRICS), numbers=(), note="None for a metric you do not watch")
    if isinstance(rule, Feedback):
        return rule
    for metric, value in rule.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return fail(f"{metric} should be a threshold (a number) or None, got {value!r}.")
        if value < 0:
            return fail(f"{metric} should be a threshold of at least 0, got {value:g}.")
    watched = [m for m, v in rule.items() if v is not None]
    if not watched:
        return fail("The rule watches nothing, so it never pages.", "Give a threshold to the metrics you watch.")
    floors = alert_floors()
    for m in watched:
        if rule[m] < floors[m] - 1e-9:
            unit = METRICS[m][0].rsplit("[", 1)[1].rstrip("]")
            rule_text = (f"at least {LOSS_FLOOR_PCT:g} % and {MARGIN:g} × the worst healthy value" if m == "loss_pct"
                         else f"{MARGIN:g} × the worst value any call showed before its fault")
            return fail(f"The {m} threshold {rule[m]:g} {unit} is too close to normal: the rule asks for {rule_text} "
                        f"({floors[m]:.1f} {unit}). A busier but healthy call would page someone at night.",
                        "Read each call's healthy part (before 2 s) for the metric, then leave the margin above it.")
    result = replay_alerts({m: rule[m] for m in METRICS})
    parts = []
    for name, r in result.items():
        if r["false"] is not None:
            parts.append(f"call {name.upper()} paged at {r['false'][0]:.2f} s, before its fault, on {r['false'][1]}")
        elif r["page"] is None:
            parts.append(f"call {name.upper()} never paged")
        else:
            parts.append(f"call {name.upper()} paged {r['delay_s']:.2f} s after its fault began, on {r['page'][1]}")
    outcome = "; ".join(parts)
    # (No false page is possible here: every threshold is above the healthy parts' worst.)
    late = [n.upper() for n, r in result.items() if r["delay_s"] is None or r["delay_s"] > DETECT_WITHIN_S + 1e-9]
    if late:
        return fail(f"Not every fault pages within {DETECT_WITHIN_S:g} s: {outcome}.",
                    f"Look at call {late[0]}'s report: which panel leaves its normal band right after 2 s?",
                    "Each fault moves some panels and leaves others flat: a metric that never moves for a fault "
                    "cannot page on it, however low its threshold. Watch one that moves for each fault, with a "
                    "threshold just above the margin.")
    best = best_alert_designs()
    mean = sum(r["delay_s"] for r in result.values()) / len(result)
    if len(watched) > best["metrics"]:
        return fail(f"Every fault pages in time ({outcome}), but with {len(watched)} metrics; fewer can do it.",
                    "Every metric watched is one more source of false pages at scale: which of yours pages on a "
                    "fault that another one already catches in time?",
                    "List, for each call, the metrics that page within the time; then pick the fewest that cover "
                    "all three calls.")
    faster = (f" The best rule of {best['metrics']} metrics pages after {best['mean_delay_s']:.2f} s on average, "
              f"yours after {mean:.2f} s." if mean > best["mean_delay_s"] + 1e-9 else "")
    return ok(f"Every fault pages within {DETECT_WITHIN_S:g} s, with no false page and {len(watched)} metrics, "
              f"the fewest that can: {outcome}.{faster}")


alert_design = StagedCheck(_alert_design)
alert_design.__doc__ = """Design task 12.4: an alert rule (a threshold per metric of
:data:`rtlib.viz.dashboard.alerts.METRICS`, None for a metric not watched) that pages on each
mystery call's fault within DETECT_WITHIN_S, never before the fault, with every threshold at
least MARGIN above the healthy calls' worst (:func:`alert_floors`), and watching the fewest
metrics that can (:func:`best_alert_designs`), judged by replaying the recorded calls
(:func:`replay_alerts`).  Hints come in stages; none gives a threshold."""
