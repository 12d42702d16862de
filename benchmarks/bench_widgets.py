"""Every registered widget experiment against the 200 ms bar.

For each experiment, at its defaults and at each end of each parameter's range:
the time of the pure function, and of the function plus drawing its figure (what
a slider move costs), each the best of 3 runs.  The row shows the worst point; its
note gives the slowest single run (a garbage-collection pause can land in one).
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from benchmarks.common import Row  # noqa: E402
from rtlib.viz.experiments import freeze_long_lived, load_all  # noqa: E402

BAR_MS = 200.0


def time_point(exp, point) -> tuple[float, float]:
    t0 = time.perf_counter()
    result = exp(**point)
    t1 = time.perf_counter()
    if exp.plot is not None:
        fig = exp.plot(result)
        fig.canvas.draw()
        plt.close(fig)
    t2 = time.perf_counter()
    return (t1 - t0) * 1000, (t2 - t0) * 1000


def run() -> list[Row]:
    rows = []
    experiments = load_all()
    freeze_long_lived()  # as show_experiment does in a notebook
    warm = next(iter(experiments.values()), None)
    if warm is not None:  # the first figure pays matplotlib's one-off start-up
        time_point(warm, warm.defaults())
    for name, exp in sorted(experiments.items()):
        if name.startswith("_"):
            continue
        worst_fn, worst_all, worst_pt, worst_single = 0.0, 0.0, None, 0.0
        for point in exp.range_points():
            runs = [time_point(exp, point) for _ in range(3)]
            fn_ms, all_ms = min(r[0] for r in runs), min(r[1] for r in runs)  # best of 3, each figure
            worst_single = max(worst_single, *(r[1] for r in runs))
            worst_fn = max(worst_fn, fn_ms)
            if all_ms > worst_all:
                worst_all, worst_pt = all_ms, point
        nb = exp.notebook or "?"
        rows.append(Row(f"{name}: function, worst point", worst_fn, "ms", bar=BAR_MS, higher_is_better=False, note=nb))
        rows.append(Row(f"{name}: function + figure, worst point", worst_all, "ms", bar=BAR_MS,
                        higher_is_better=False,
                        note=f"{nb}; at {worst_pt}; slowest single run {worst_single:.0f} ms"))
    return rows
