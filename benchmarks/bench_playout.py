"""Adaptive playout against the oracle on chapter 07's jitter scenarios.

The bar (issue 5): an adaptive buffer's mean playout delay within 10 % of the
oracle's (the best fixed delay in hindsight) *at equal late loss*.  Measured on the
four scenarios of :mod:`rtlib.media.jitter.scenarios` (steady, wifi, spikes,
congestion), 5 seeds × 120 s of a P.59 talker each:

- Ramjee et al.'s estimator in talkspurt mode, and the NetEQ-like quantile buffer
  with time-stretching (NetEQ's own way of moving its delay), each at its default
  setting (K = 4, q = 0.97) and compared with the oracle at the late loss it happens
  to reach (given in the note: a ratio taken at 15 % late loss flatters);
- each tuned (K from 0.5 to 20, q from 0.5 to 0.999) to the smallest delay that
  keeps late loss at or under 1 %, against the oracle at 1 %: the operating point a
  voice call aims for.  A buffer that cannot get there in some seeds is reported as
  ``inf``, with the other seeds' ratios in the note.

A ratio below 1 means the buffer beat the best *fixed* delay by following a delay
that changed during the call.  The quantile buffer keeps NetEQ's 20 ms histogram
buckets, coarse against the ``steady`` scenario's 8 ms of jitter, which is where it
loses most.  Two timing rows give the playout engine's speed.
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import Row, best_of
from rtlib.media.jitter import (
    SCENARIOS, AdaptivePlayout, QuantileBuffer, compare_to_oracle, make_scenario, oracle_delay_s, play_trace,
)
from rtlib.media.jitter.buffer import play_through_buffer

SEEDS = range(5)
SECONDS = 120.0
K_GRID = (0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 7, 8, 10, 12, 15, 20)
Q_GRID = (0.5, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999)
TARGET = 0.01


# (label, policy from a setting, default setting, tuning grid, mode)
BUFFERS = (
    ("adaptive (Ramjee), talkspurt mode", lambda k: AdaptivePlayout(k=k), 4.0, K_GRID, "talkspurt"),
    ("quantile (NetEQ-like), time-stretching", QuantileBuffer, 0.97, Q_GRID, "stretch"),
)


def _at_target(trace, make, grid, mode) -> float | None:
    """Smallest mean delay (ms) over ``grid`` with late loss <= TARGET, or None if none gets there."""
    best = None
    for s in grid:
        r = play_trace(trace, make(s), mode=mode)
        if r.late_loss_rate <= TARGET and (best is None or r.mean_delay_ms < best):
            best = r.mean_delay_ms
    return best


def _rows(scenario: str, traces) -> list[Row]:
    rows = []
    for label, make, default, grid, mode in BUFFERS:
        results = [play_trace(t, make(default), mode=mode) for t in traces]
        cmp = [compare_to_oracle(r) for r in results]
        ratio = np.array([c["ratio"] for c in cmp])
        late = np.array([c["late_loss"] for c in cmp])
        stretched = np.mean([r.stretched_fraction for r in results])
        extra = f", {stretched:.1%} of frames stretched" if mode == "stretch" else ""
        rows.append(Row(f"{scenario}: {label} at its default, delay / oracle at equal late loss", float(ratio.mean()),
                        "×", bar=1.10, higher_is_better=False,
                        note=f"setting {default:g}: late loss {late.mean():.1%}{extra}; seeds {ratio.min():.2f}–{ratio.max():.2f}"))
        ratios, missed = [], 0
        for t in traces:
            got = _at_target(t, make, grid, mode)
            if got is None:
                missed += 1
            else:
                ratios.append(got / (oracle_delay_s(t, TARGET) * 1e3))
        if missed:  # a buffer that cannot reach 1 % in some runs does not meet the bar there
            value = float("inf")
            note = f"{missed} of {len(traces)} seeds never reach 1 % in the grid"
            if ratios:
                note += f"; the others: {np.mean(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
        else:
            value = float(np.mean(ratios))
            note = f"seeds {min(ratios):.2f}–{max(ratios):.2f}"
        rows.append(Row(f"{scenario}: {label} tuned for 1 % late loss, delay / oracle at 1 %", value, "×", bar=1.10,
                        higher_is_better=False, note=note))
    return rows


def run() -> list[Row]:
    rows: list[Row] = []
    for scenario in SCENARIOS:
        traces = [make_scenario(scenario, SECONDS, seed) for seed in SEEDS]
        rows += _rows(scenario, traces)
    trace = make_scenario("wifi", SECONDS, 0)
    t = best_of(lambda: play_trace(trace, AdaptivePlayout()))
    rows.append(Row("play_trace speed (adaptive, talkspurt mode)", len(trace) / t, "frames/s",
                    note=f"{len(trace)} frames; {t * 1e3:.1f} ms per run"))
    t = best_of(lambda: play_through_buffer(trace, AdaptivePlayout()), repeat=2)
    rows.append(Row("sans-IO JitterBuffer on the event loop", len(trace) / t, "frames/s",
                    note="same result as play_trace in talkspurt mode"))
    return rows
