"""The E-model's cost: why MOS curves are cheap enough to redraw on every slider move.

- vectorised: the full G.107 computation (every term, not a shortcut) over a grid of
  200 delays x 500 losses in one call, in E-model points per second;
- scalar: one ``emodel()`` call, as the CLI and the learner checks make it;
- the two checks of notebook 01 that search by bisection (60 E-model calls each).
"""

from __future__ import annotations

import numpy as np

from benchmarks.common import Row, best_of
from rtlib.checks import ch01
from rtlib.quality.emodel import emodel

DELAYS_MS = np.linspace(0, 1000, 200)
LOSSES = np.linspace(0, 0.3, 500)[:, None]


def run() -> list[Row]:
    points = DELAYS_MS.size * LOSSES.size
    t_grid = best_of(lambda: emodel(DELAYS_MS, LOSSES, "g729a", burst_r=2.0), repeat=5)
    t_scalar = best_of(lambda: [emodel(150.0, 0.01, "g711") for _ in range(200)], repeat=5) / 200
    t_bisect = best_of(ch01._largest_buffer_ms, repeat=3)
    return [
        Row("E-model, vectorised grid", points / t_grid, "points/s", note=f"{points:,} (delay, loss) points per call"),
        Row("E-model, one scalar call", t_scalar * 1e6, "µs", higher_is_better=False, note="as rtlib emodel makes it"),
        Row("ch01 largest-jitter-buffer check (bisection)", t_bisect * 1000, "ms", bar=200.0, higher_is_better=False,
            note="60 scalar E-model calls; a check should answer at once"),
    ]
