"""Checks for notebooks/10_many_participants.ipynb (mesh, SFU, MCU, simulcast, NAT traversal).

Each check says what is wrong (which row, which rule, which pair) and never the
expected value.  An unanswered exercise (``None``) gets "not answered yet".

- :func:`bandwidth_table`: exercise 10.1, the bandwidth of a 5-person meeting;
- :func:`layer_selector`: exercise 10.2, an SFU's simulcast layer selector with
  hysteresis, run on the recorded estimate in ``data/conf/estimate_drive.csv``;
- :func:`relay_rule`: exercise 10.3, when a pair of NATs needs a TURN relay
  (compared with ICE simulated through the NATs, :mod:`rtlib.conf.ice`);
- :data:`conference_design`: exercise 10.4 (design, staged hints), the topology and the
  simulcast layers of a six-person call with one poor downlink, judged by simulating
  the call (:class:`rtlib.conf.call.ConfCall`) against the least server bandwidth.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from rtlib.checks.core import Feedback, StagedCheck, as_number, design_settings, fail, ok

# -- 10.1 the bandwidth table --------------------------------------------------------------
TOPOLOGIES = ("mesh", "sfu", "mcu")
QUANTITIES = ("client_up", "client_down", "server_in", "server_out")
_WHAT = {"client_up": "a client's uplink", "client_down": "a client's downlink",
         "server_in": "the server's ingress", "server_out": "the server's egress"}


def meeting_table(participants: int, bitrate_kbps: float) -> dict[str, dict[str, float]]:
    """Per-client and server bandwidth in kbit/s, one video stream of ``bitrate_kbps`` per sender.

    Every participant sends video only (audio left out); no simulcast; the MCU sends
    each participant one mixed stream at the same bitrate; a mesh has no server (0 in
    and out).  The numbers are :func:`rtlib.conf.topology.load`'s.
    """
    from rtlib.conf.topology import TOPOLOGIES as _TOPOS, load

    out = {}
    for topo in _TOPOS:
        ld = load(topo, participants, bitrate_kbps, audio_kbps=0.0)
        out[topo] = {"client_up": ld.client_up_kbps, "client_down": ld.client_down_kbps,
                     "server_in": ld.server_in_kbps, "server_out": ld.server_out_kbps}
    return out


def _unanswered(answer) -> Feedback | None:
    if answer is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    return None


def bandwidth_table(table, *, participants: int = 5, bitrate_kbps: float = 800.0) -> Feedback:
    """Exercise 10.1: ``table[topology][quantity]`` in kbit/s for ``participants`` people."""
    if (fb := _unanswered(table)) is not None:
        return fb
    if not isinstance(table, dict):
        return fail(f"table should be a dict of dicts, got {type(table).__name__}.")
    expected = meeting_table(participants, bitrate_kbps)
    n, b = participants, bitrate_kbps
    wrong = []
    for topo in TOPOLOGIES:
        row = table.get(topo)
        if not isinstance(row, dict):
            return fail(f"table[{topo!r}] is missing or not a dict.",
                        f"Keep the keys of the template: {list(TOPOLOGIES)}, each with {list(QUANTITIES)}.")
        for q in QUANTITIES:
            value = as_number(row.get(q), f"table[{topo!r}][{q!r}]")
            if isinstance(value, Feedback):
                if row.get(q) is None:
                    return fail(f"table[{topo!r}][{q!r}] is not answered yet.")
                return value
            if not math.isclose(value, expected[topo][q], rel_tol=1e-6, abs_tol=1e-6):
                wrong.append((topo, q, value))
    if not wrong:
        return ok(f"Right: all twelve numbers of the {n}-person meeting. A mesh client sends and receives "
                  "N − 1 streams; the SFU's egress grows as N(N − 1); the MCU's stays N streams.")
    topo, q, value = wrong[0]
    exp = expected[topo][q]
    hint = {
        ("mesh", "client_up"): "In a mesh a client sends its stream to every other participant, separately.",
        ("mesh", "client_down"): "In a mesh a client receives one stream from every other participant.",
        ("mesh", "server_in"): "A full mesh has no media server: nothing goes through one.",
        ("mesh", "server_out"): "A full mesh has no media server: nothing goes through one.",
        ("sfu", "client_up"): "With an SFU each client sends one stream, to the server only.",
        ("sfu", "client_down"): "The SFU forwards every other participant's stream to each client (not its own).",
        ("sfu", "server_in"): "Every participant sends one stream up to the SFU.",
        ("sfu", "server_out"): "Each of the N receivers gets N − 1 streams from the SFU.",
        ("mcu", "client_up"): "With an MCU each client sends one stream, to the server only.",
        ("mcu", "client_down"): "The MCU mixes and sends each client one stream.",
        ("mcu", "server_in"): "Every participant sends one stream up to the MCU.",
        ("mcu", "server_out"): "The MCU sends one mixed stream to each participant.",
    }[(topo, q)]
    if exp and math.isclose(value, exp * 1000, rel_tol=1e-6):
        hint = "The table is asked in kbit/s, not bit/s."
    elif exp and math.isclose(value * 1000, exp, rel_tol=1e-6):
        hint = "The table is asked in kbit/s, not Mbit/s."
    elif topo == "sfu" and q == "server_out" and math.isclose(value, n * n * b, rel_tol=1e-6):
        hint = "The SFU does not send a participant's own stream back to them."
    elif q in ("client_up", "client_down") and topo == "mesh" and math.isclose(value, n * b, rel_tol=1e-6):
        hint = "A participant does not send its stream to itself (or receive it back)."
    others = f" ({len(wrong) - 1} other cell{'s' if len(wrong) > 2 else ''} also differ)" if len(wrong) > 1 else ""
    return fail(f"Not right yet: {_WHAT[q]} for the {topo.upper()}{others}.", hint)


# -- 10.2 the layer selector -------------------------------------------------------------
LAYERS_KBPS = (150.0, 500.0, 1500.0)  # the three simulcast layers of exercise 10.2 (low, mid, high)
UP_FACTOR = 1.25                      # switch up only with 25 % headroom above the next layer ...
UP_HOLD_SAMPLES = 10                  # ... held for 10 consecutive samples (2 s at one sample per 0.2 s)
ESTIMATE_CSV = Path(__file__).resolve().parents[2] / "data" / "conf" / "estimate_drive.csv"


def load_estimate(path: str | Path = ESTIMATE_CSV) -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, estimate_kbps)`` of the recorded estimate (``data/conf/make_estimate_trace.py``)."""
    data = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return data[:, 0].copy(), data[:, 1].copy()


def reference_layers(estimate_kbps, layers_kbps=LAYERS_KBPS, up_factor: float = UP_FACTOR,
                     up_hold_samples: int = UP_HOLD_SAMPLES, *, reset_after_switch: bool = True,
                     one_step_up: bool = True, down_to_fit: bool = True) -> list[int]:
    """The rules of exercise 10.2 (the keyword switches build the typical slips the check names).

    Start on layer 0.  Down at once: when the estimate is below the current layer's
    rate, go to the highest layer whose rate fits the estimate (layer 0 if none).
    Up with hysteresis: one layer up after the estimate has been at least
    ``up_factor`` × the next layer's rate for ``up_hold_samples`` consecutive samples
    (the count restarts after every switch).
    """
    layer, run, out = 0, 0, []
    top = len(layers_kbps) - 1
    for e in estimate_kbps:
        if e < layers_kbps[layer] and layer > 0:
            if down_to_fit:
                fits = [i for i, r in enumerate(layers_kbps) if r <= e]
                layer = fits[-1] if fits else 0
            else:
                layer -= 1
            run = 0
        elif layer < top and e >= up_factor * layers_kbps[layer + 1]:
            run += 1
            if run >= up_hold_samples:
                if one_step_up:
                    layer += 1
                else:
                    fits = [i for i, r in enumerate(layers_kbps) if e >= up_factor * r]
                    layer = max(layer + 1, fits[-1])
                run = 0 if reset_after_switch else run
        else:
            run = 0
        out.append(layer)
    return out


def switches(layers) -> int:
    """How many times the forwarded layer changes."""
    arr = np.asarray(layers)
    return int(np.count_nonzero(arr[1:] != arr[:-1]))


def layer_selector(func, *, path: str | Path = ESTIMATE_CSV) -> Feedback:
    """Exercise 10.2: ``func(t_s, estimate_kbps)`` -> the layer (0, 1, 2) forwarded at each sample."""
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"select_layers should be a function, got {type(func).__name__}.")
    t_s, est = load_estimate(path)
    try:
        got = func(t_s.copy(), est.copy())
    except Exception as exc:  # a learner's bug: report it, never raise
        return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                    "It takes two arrays (times in s, estimates in kbit/s) and returns one layer per sample.")
    if got is None:
        return fail("Your function returns None: it should return a list with one layer index per sample.")
    try:
        layers = [int(x) for x in got]
    except (TypeError, ValueError):
        return fail("Your function should return a list of layer indices (0, 1 or 2), one per sample.")
    if len(layers) != len(est):
        return fail(f"Your function returned {len(layers)} layers for {len(est)} samples: one per sample, please.")
    if any(x not in (0, 1, 2) for x in layers):
        return fail("Every layer should be an index: 0 (low), 1 (mid) or 2 (high).")
    ref = reference_layers(est)
    if layers == ref:
        naive = reference_layers(est, up_hold_samples=1, up_factor=1.0)
        return ok(f"Right: your selector switches {switches(ref)} times on this trace; without hysteresis "
                  f"(up as soon as the next layer fits) it would switch {switches(naive)} times.")
    arr = np.asarray(layers)
    rate = np.asarray(LAYERS_KBPS)[arr]
    if layers[0] != 0:
        return fail("Start on the lowest layer (0): the SFU knows nothing about the receiver yet.")
    above = np.flatnonzero(rate > est)
    if above.size:
        i = int(above[0])
        return fail(f"At t = {t_s[i]:.1f} s you forward a layer the estimate cannot carry.",
                    "Going down is not delayed: as soon as the estimate falls below the current layer's rate, "
                    "switch to the highest layer that fits.")
    variants = [
        (dict(up_hold_samples=1, up_factor=1.0), "You switch up as soon as the next layer fits: that is no "
         "hysteresis at all. Wait for the headroom (× UP_FACTOR) to hold for UP_HOLD_SAMPLES samples."),
        (dict(up_factor=1.0), "Going up needs headroom: the estimate must be at least UP_FACTOR × the next "
         "layer's rate, not just its rate."),
        (dict(up_hold_samples=1), "The headroom must hold for UP_HOLD_SAMPLES consecutive samples before you go "
         "up, not just once."),
        (dict(reset_after_switch=False), "Restart the count after a switch: the next layer up needs its own "
         "UP_HOLD_SAMPLES samples of headroom."),
        (dict(one_step_up=False), "Go up one layer at a time."),
        (dict(down_to_fit=False), "Going down, jump straight to the highest layer that fits, not one step."),
        (dict(up_hold_samples=UP_HOLD_SAMPLES + 1), "Off by one sample: switch up on the UP_HOLD_SAMPLES-th "
         "consecutive sample with headroom (counting that sample)."),
        (dict(up_hold_samples=UP_HOLD_SAMPLES - 1), "Off by one sample: switch up on the UP_HOLD_SAMPLES-th "
         "consecutive sample with headroom (counting that sample), not before."),
    ]
    for kwargs, hint in variants:
        if layers == reference_layers(est, **kwargs):
            return fail("Not right yet.", hint)
    if max(layers) == 0:
        return fail("You never leave the lowest layer.", "The estimate often has room for more: go up (one "
                    "layer) when the headroom has held long enough.")
    first = int(np.flatnonzero(np.asarray(ref) != arr)[0])
    return fail(f"Not right yet: the first difference is at t = {t_s[first]:.1f} s "
                f"({switches(layers)} switches in all).",
                "Check the three rules: down at once to what fits; up one layer after UP_HOLD_SAMPLES consecutive "
                "samples with the estimate ≥ UP_FACTOR × the next layer; restart the count after a switch.")


# -- 10.3 when does a pair of NATs need a relay? -----------------------------------------------
def _relay_cases():
    from rtlib.conf.nat import NAT_PRESETS, NatBehaviour

    cases = [(a, b) for i, a in enumerate(NAT_PRESETS) for b in list(NAT_PRESETS)[i:]]
    # two behaviours without a classic name (RFC 4787 allows any combination)
    adm = NatBehaviour("address-dependent", "address-and-port-dependent", "random")
    eim_open = NatBehaviour("endpoint-independent", "address-dependent", "random")
    extra = [(adm, "port-restricted cone"), (adm, "restricted cone"), (adm, eim_open), ("symmetric", eim_open)]
    return cases + extra


@lru_cache(maxsize=1)
def _relay_truth() -> tuple:
    from rtlib.conf.ice import nat_pair_outcome
    from rtlib.conf.nat import NAT_PRESETS

    out = []
    for a, b in _relay_cases():
        beh_a = NAT_PRESETS[a] if isinstance(a, str) else a
        beh_b = NAT_PRESETS[b] if isinstance(b, str) else b
        out.append((a, b, beh_a, beh_b, nat_pair_outcome(a, b).turn_needed))
    return tuple(out)


def _name(x) -> str:
    return x if isinstance(x, str) else f"(mapping {x.mapping.value}, filtering {x.filtering.value})"


def relay_rule(func) -> Feedback:
    """Exercise 10.3: ``func(a, b)`` for two :class:`rtlib.conf.NatBehaviour` -> True when only TURN connects.

    The truth is ICE itself, simulated through the two NATs (:func:`rtlib.conf.ice.nat_pair_outcome`),
    for every pair of the classic presets and four behaviours without a classic name.
    """
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail(f"needs_relay should be a function, got {type(func).__name__}.")
    wrong = []
    for a, b, beh_a, beh_b, truth in _relay_truth():
        for x, y in ((beh_a, beh_b), (beh_b, beh_a)):
            try:
                got = func(x, y)
            except Exception as exc:
                return fail(f"Your function raised {type(exc).__name__}: {exc}.",
                            "It takes two NatBehaviour objects; read their .mapping and .filtering.")
            if got is None:
                return fail("Your function returns None: replace the template's return with your rule "
                            "(True or False).")
            if not isinstance(got, (bool, np.bool_)):
                return fail(f"Your function should return True or False, got {type(got).__name__}.")
            if bool(got) != truth:
                wrong.append((a, b, truth))
                break
    if not wrong:
        n = len(_relay_truth())
        return ok(f"Right for all {n} pairs, in both orders: a relay is needed only when one side's mapping "
                  "depends on the destination and the other side's filter checks the port.")
    a, b, truth = wrong[0]
    more = f" ({len(wrong) - 1} more pair{'s' if len(wrong) > 2 else ''} wrong)" if len(wrong) > 1 else ""
    if truth:
        hint = ("ICE found no direct pair here: think about which port the other side's filter expects and "
                "which port actually arrives.")
    else:
        hint = ("ICE connects these two directly: a peer-reflexive candidate, learned from the incoming check, "
                "can rescue a changed port if the other filter only looks at the address.")
    return fail(f"Not right yet for {_name(a)} with {_name(b)}{more}.", hint)


# -- 10.4 (design): topology and simulcast layers ---------------------------------------------------
# Six people, every uplink 3 Mbit/s, every downlink 10 Mbit/s but one at 1.3 Mbit/s; 8 s of call.
CONF_PARTICIPANTS, CONF_SECONDS, CONF_SEED = 6, 8.0, 1
CONF_UPLINK_KBPS, CONF_DOWNLINK_KBPS, CONF_POOR_KBPS = 3000.0, 10_000.0, 1300.0
CONF_LADDER_KBPS = (150.0, 500.0, 1500.0)  # the layers a sender can encode (180p, 360p, 720p)
CONF_MIN_FRAMES = 0.95       # every receiver renders at least this share of the frames it should
CONF_GOOD_KBPS = 350.0       # video per participant shown, on average, on the good downlinks ...
CONF_POOR_VIDEO_KBPS = 100.0  # ... and on the poor one
CONF_COST_SLACK = 0.10       # a passing design's server bandwidth may be this much above the least


@lru_cache(maxsize=32)
def _conf_run(topology: str, layers: tuple[float, ...]) -> dict:
    from rtlib.conf.call import FPS, ConfCall

    simulcast = len(layers) > 1
    call = ConfCall(topology, CONF_PARTICIPANTS, CONF_SECONDS, bitrate_kbps=layers[-1], simulcast=simulcast,
                    layers_kbps=layers if simulcast else CONF_LADDER_KBPS, uplink_kbps=CONF_UPLINK_KBPS,
                    downlink_kbps=CONF_DOWNLINK_KBPS, poor_link_kbps=CONF_POOR_KBPS, seed=CONF_SEED)
    r = call.run()
    shown = CONF_PARTICIPANTS - 1
    streams = 1 if topology == "mcu" else shown  # an MCU sends one composite picture
    expected = streams * CONF_SECONDS * FPS
    per = sorted(r.per_participant, key=lambda p: p["participant"])
    return {"video_per_shown_kbps": [p["received_video_kbps"] / shown for p in per],
            "frames_share": [min(1.0, p["frames_rendered"] / expected) for p in per],
            "poor": [bool(p["poor_link"]) for p in per],
            "uplink_kbps": float(np.mean([p["sent_kbps"] for p in per])),
            "server_kbps": float(r.server.get("in_kbps", 0.0) + r.server.get("out_kbps", 0.0))}


def simulate_conference(topology: str, layers_kbps) -> dict:
    """Exercise 10.4: 8 s of the six-person call with ``topology`` and the layers each sender encodes.

    ``layers_kbps`` holds one to three rates of :data:`CONF_LADDER_KBPS`: one rate is a
    single encoding (any topology), several are simulcast layers (SFU only).  Returns per
    receiver (in participant order; ``poor`` marks the one on the poor downlink) the video
    received per participant shown, ``video_per_shown_kbps``, and the share of the frames
    it should show that it rendered, ``frames_share``; the mean ``uplink_kbps`` a client
    sent; and the server's bandwidth, in plus out, ``server_kbps`` (0 for a mesh).
    Used by the check and free for sweeps.
    """
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {list(TOPOLOGIES)}, got {topology!r}")
    layers = _layers(layers_kbps)
    if isinstance(layers, str):
        raise ValueError(f"layers_kbps {layers}")
    if len(layers) > 1 and topology != "sfu":
        raise ValueError(f"layers_kbps with several layers (simulcast) needs topology 'sfu', got {topology!r}")
    out = _conf_run(topology, layers)
    return {k: list(v) if isinstance(v, list) else v for k, v in out.items()}


def _layers(layers_kbps) -> tuple[float, ...] | str:
    """The sorted layers, or what is wrong with them (a phrase after "layers_kbps")."""
    if isinstance(layers_kbps, (str, bytes)) or not hasattr(layers_kbps, "__iter__"):
        return f"should be a list of one to three rates of {list(CONF_LADDER_KBPS)} kbit/s, got {layers_kbps!r}"
    out = []
    for x in layers_kbps:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            return f"should hold numbers (kbit/s), got {x!r}"
        if float(x) not in CONF_LADDER_KBPS:
            return f"should hold rates of the ladder {[int(v) for v in CONF_LADDER_KBPS]} kbit/s, got {x!r}"
        out.append(float(x))
    if not 1 <= len(out) <= 3 or len(set(out)) != len(out):
        return "should hold one to three different rates of the ladder"
    return tuple(sorted(out))


def _conf_meets(r: dict) -> tuple[bool, bool]:
    """(every receiver renders its frames, every receiver gets its video rate)."""
    frames = min(r["frames_share"]) >= CONF_MIN_FRAMES
    rate = all(v >= (CONF_POOR_VIDEO_KBPS if poor else CONF_GOOD_KBPS)
               for v, poor in zip(r["video_per_shown_kbps"], r["poor"]))
    return frames, rate


def conf_candidates() -> list[tuple[str, tuple[float, ...]]]:
    """Every design of the exercise: each topology with one ladder rate, the SFU also with 2-3 layers."""
    from itertools import combinations

    out = [(t, (rate,)) for t in TOPOLOGIES for rate in CONF_LADDER_KBPS]
    out += [("sfu", c) for k in (2, 3) for c in combinations(CONF_LADDER_KBPS, k)]
    return out


@lru_cache(maxsize=1)
def least_server_kbps() -> float:
    """The least server bandwidth of any design (of :func:`conf_candidates`) meeting both targets."""
    best = math.inf
    for topology, layers in conf_candidates():
        r = simulate_conference(topology, layers)
        if all(_conf_meets(r)):
            best = min(best, r["server_kbps"])
    return best


def _conf_values(design):
    values = design_settings(design, ("topology", "layers_kbps"), numbers=())
    if isinstance(values, Feedback):
        return values
    topology = values["topology"]
    if not isinstance(topology, str) or topology.lower() not in TOPOLOGIES:
        return fail(f"topology should be one of {list(TOPOLOGIES)}, got {topology!r}.")
    topology = topology.lower()
    raw = values["layers_kbps"]
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raw = [raw]  # one rate given bare
    if hasattr(raw, "__iter__") and not isinstance(raw, (str, bytes)):
        try:
            if raw and all(float(x) / 1000 in CONF_LADDER_KBPS for x in raw):
                return fail("layers_kbps looks like bit/s: the rates are asked in kbit/s.")
        except (TypeError, ValueError):
            pass
    layers = _layers(raw)
    if isinstance(layers, str):
        return fail(f"layers_kbps {layers}.")
    if len(layers) > 1 and topology != "sfu":
        return fail(f"Several layers are simulcast, which only an SFU can use: a {topology} has no server that "
                    "picks a layer per receiver.")
    return topology, layers


def _conference_design(design) -> Feedback:
    values = _conf_values(design)
    if isinstance(values, Feedback):
        return values
    topology, layers = values
    r = simulate_conference(topology, layers)
    good = [v for v, p in zip(r["video_per_shown_kbps"], r["poor"]) if not p]
    poor_v = [v for v, p in zip(r["video_per_shown_kbps"], r["poor"]) if p][0]
    poor_f = [f for f, p in zip(r["frames_share"], r["poor"]) if p][0]
    span = f"{min(good):.0f}" if round(min(good)) == round(max(good)) else f"{min(good):.0f}-{max(good):.0f}"
    server = ("no server" if topology == "mesh" else
              f"the server carried {r['server_kbps'] / 1000:.1f} Mbit/s")
    outcome = (f"receivers on good links got {span} kbit/s of video per participant shown, the one on the poor "
               f"link {poor_v:.0f} kbit/s and {poor_f:.0%} of its frames; {server}")
    frames_ok, rate_ok = _conf_meets(r)
    if frames_ok and rate_ok:
        if r["server_kbps"] <= (1 + CONF_COST_SLACK) * least_server_kbps():
            return ok(f"Both targets met: {outcome}.")
        return fail(f"Both targets met ({outcome}), but another design carries clearly less through the server.",
                    "Which layers do the receivers actually get, and which are sent for nobody?",
                    "The server receives every layer of every sender, forwarded or not: a layer that no "
                    "receiver's link takes costs every uplink and the server's ingress for nothing.")
    if topology == "mcu":
        return fail(f"Not every receiver gets what its link can carry: {outcome}.",
                    "What does one MCU stream hold, and how much of it is one participant?",
                    "An MCU sends each receiver one composite picture: each participant is a tile with a fifth "
                    "of the rate, and the poor link caps the one rate for everybody. Forward separate streams "
                    "instead.")
    if not frames_ok:
        if len(layers) == 1:
            return fail(f"The receiver on the poor link misses frames: {outcome}.",
                        "How many streams does the poor downlink have to carry, and at what rate?",
                        "With one encoding, every receiver gets the same rate from each sender, "
                        f"{CONF_PARTICIPANTS - 1} streams of it: a rate the good links want is too much for the "
                        "poor one. A server that picks a smaller layer per receiver solves it (simulcast).")
        return fail(f"The receiver on the poor link misses frames: {outcome}.",
                    "Which is the smallest layer the SFU can forward to the poor link, and does it fit?",
                    f"The SFU can only pick among the layers sent: the lowest must fit the poor link's share, "
                    f"its downlink divided among the {CONF_PARTICIPANTS - 1} senders, with room for audio.")
    if len(layers) == 1:
        return fail(f"The good links get too little video: {outcome}.",
                    "Everyone now gets what the weakest link can carry: is that what the good links can take?",
                    "One rate for all cannot suit both the good and the poor links: a server must forward each "
                    "receiver the layer its link carries (simulcast on an SFU).")
    return fail(f"The good links get too little video: {outcome}.",
                "Which layer does a good receiver end up on, and why not a higher one?",
                "The SFU moves a receiver up only when its estimate, split among the senders, exceeds the next "
                "layer's rate with a margin: a layer the good links' share cannot reach is never forwarded, "
                "and the receivers stay on the layer below it.")


conference_design = StagedCheck(_conference_design)
conference_design.__doc__ = """Exercise 10.4 (design): ``{'topology': ..., 'layers_kbps': [...]}`` for the six-person call.

The design is simulated (:func:`simulate_conference`, :class:`rtlib.conf.call.ConfCall`):
8 s, uplinks 3 Mbit/s, downlinks 10 Mbit/s except one at 1.3 Mbit/s.  It passes when every
receiver renders at least 95 % of the frames it should, the good links get at least
350 kbit/s of video per participant shown and the poor one at least 100 kbit/s, and the
server's bandwidth (in + out) is at most 10 % above the least of any design meeting these.
The feedback shows the design's own measured outcome; hints come in stages (``hint=True``).
"""
