"""The chapter's jitter scenarios: a talker's frames over four kinds of path.

A scenario is a :class:`~rtlib.media.jitter.trace.PacketTrace`: 20 ms frames sent
during talkspurts, and their arrival times over a path with one of four delay
behaviours.  The path is FIFO (packets leave in the order they entered, as on one
bottleneck queue), so a packet can never overtake the one before it; this is what
turns a stall into the classic delay *spike*: a jump, then a slope of -1 while the
queue drains (Ramjee et al. 1994, fig. 2).

| name | what it models |
| --- | --- |
| ``steady`` | a wired path: 40 ms propagation plus gamma-distributed queueing jitter (mean 8 ms) |
| ``wifi`` | a busy Wi-Fi hop: 20 ms plus exponential jitter (mean 15 ms) and 5 % of packets delayed 50–150 ms by link-layer retries |
| ``spikes`` | 60 ms plus small jitter, and on average every 10 s the link stalls for 150–400 ms |
| ``congestion`` | 40 ms plus small jitter, and a bufferbloat episode: the queue fills to 200 ms over 10 s, stays 10 s, drains over 5 s |

Talkspurts and pauses follow ITU-T P.59 (artificial conversational speech): on
average 1.004 s of speech then 1.587 s of silence, both exponentially distributed.
With ``speech=False`` the talker never pauses (continuous audio, as Opus sends
without DTX), so a playout buffer can only adapt by stretching time.

Used in: notebooks/07_jitter_buffers.ipynb, benchmarks/bench_playout.py.
"""

from __future__ import annotations

import numpy as np

from rtlib.media.jitter.trace import PacketTrace
from rtlib.sim import make_rng

SCENARIOS = {
    "steady": "wired path: 40 ms + gamma jitter (mean 8 ms)",
    "wifi": "Wi-Fi: 20 ms + exponential jitter (mean 15 ms), 5 % retries of 50–150 ms",
    "spikes": "60 ms + small jitter, a 150–400 ms stall every ~10 s",
    "congestion": "40 ms + small jitter, a bufferbloat episode up to +200 ms",
}

TALKSPURT_MEAN_S = 1.004  # ITU-T P.59, table 1
PAUSE_MEAN_S = 1.587


def speech_frames(duration_s: float, frame_s: float, seed: int, *, speech: bool = True):
    """Send times and talkspurt-start flags of the frames a talker sends in ``duration_s``.

    With ``speech=True`` talkspurts and pauses alternate with exponentially
    distributed lengths (ITU-T P.59 means); each talkspurt holds at least one frame.
    """
    n_slots = int(round(duration_s / frame_s))
    if not speech:
        starts = np.zeros(n_slots, dtype=bool)
        starts[0] = True
        return frame_s * np.arange(n_slots), starts
    rng = make_rng(seed, "jitter", "talkspurts")
    # Draw more on/off periods than needed, lay them end to end, cut at the duration.
    n_periods = int(duration_s / (TALKSPURT_MEAN_S + PAUSE_MEAN_S) * 3) + 8
    talk = np.maximum(1, np.round(rng.exponential(TALKSPURT_MEAN_S, n_periods) / frame_s)).astype(int)
    pause = np.maximum(1, np.round(rng.exponential(PAUSE_MEAN_S, n_periods) / frame_s)).astype(int)
    first_slot = np.concatenate(([0], np.cumsum(talk + pause)[:-1]))
    slots = np.concatenate([f + np.arange(t) for f, t in zip(first_slot, talk)])
    starts = np.concatenate([np.arange(t) == 0 for t in talk])
    keep = slots < n_slots
    return frame_s * slots[keep], starts[keep]


def _fifo(send_s: np.ndarray, delay_s: np.ndarray) -> np.ndarray:
    """Arrival times on a FIFO path: no packet leaves before the one ahead of it."""
    return np.maximum.accumulate(send_s + delay_s)


def scenario_delays(name: str, send_s: np.ndarray, seed: int, duration_s: float) -> np.ndarray:
    """One-way delay of each packet sent at ``send_s`` on scenario ``name`` (before FIFO)."""
    rng = make_rng(seed, "jitter", name)
    n = send_s.size
    if name == "steady":
        return 0.040 + rng.gamma(2.0, 0.004, n)
    if name == "wifi":
        d = 0.020 + rng.exponential(0.015, n)
        retry = rng.random(n) < 0.05
        return d + retry * rng.uniform(0.050, 0.150, n)
    if name == "spikes":
        d = 0.060 + rng.gamma(2.0, 0.002, n)
        n_stalls = rng.poisson(duration_s / 10.0)
        for t0, length in zip(rng.uniform(0, duration_s, n_stalls), rng.uniform(0.150, 0.400, n_stalls)):
            # A packet sent during the stall leaves when the link comes back.
            inside = (send_s >= t0) & (send_s < t0 + length)
            d[inside] = np.maximum(d[inside], t0 + length - send_s[inside] + 0.060)
        return d
    if name == "congestion":
        t = send_s / duration_s
        # Queue delay: rise over 1/6 of the run from t=1/3, hold 1/6, drain over 1/12.
        ramp = np.interp(t, [0, 1 / 3, 1 / 2, 2 / 3, 3 / 4, 1], [0, 0, 1, 1, 0, 0])
        return 0.040 + 0.200 * ramp + rng.gamma(2.0, 0.003, n)
    raise ValueError(f"name must be one of {sorted(SCENARIOS)}, got {name!r}")


def make_scenario(name: str = "steady", duration_s: float = 60.0, seed: int = 0, *, frame_ms: float = 20.0,
                  speech: bool = True, loss: float = 0.0) -> PacketTrace:
    """A :class:`PacketTrace` of a talker on scenario ``name`` (see :data:`SCENARIOS`).

    ``loss`` adds independent (Bernoulli) network loss on top.  The ``congestion``
    episode scales with ``duration_s`` (it always sits in the middle third).
    """
    if name not in SCENARIOS:
        raise ValueError(f"name must be one of {sorted(SCENARIOS)}, got {name!r}")
    if not 1.0 <= duration_s <= 3600.0:
        raise ValueError(f"duration_s must be in [1, 3600] s, got {duration_s!r}")
    if not 2.5 <= frame_ms <= 120.0:
        raise ValueError(f"frame_ms must be in [2.5, 120] ms, got {frame_ms!r}")
    if not 0.0 <= loss < 1.0:
        raise ValueError(f"loss must be in [0, 1), got {loss!r}")
    frame_s = frame_ms / 1000.0
    send, starts = speech_frames(duration_s, frame_s, seed, speech=speech)
    arrival = _fifo(send, scenario_delays(name, send, seed, duration_s))
    if loss > 0:
        arrival[make_rng(seed, "jitter", "loss").random(send.size) < loss] = np.nan
    return PacketTrace(send, arrival, starts, frame_s, name)
