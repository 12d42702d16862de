"""Does the QoS dashboard disturb the call it watches?  Frame delivery and end-to-end delay with and without it.

The same live rtlib call (``rtlib.live.endpoint.run_rtlib_call``: Opus + VP8 with GCC
over UDP on 127.0.0.1 through the impairment relay, 50 ms each way, 5 s) runs
``PAIRS`` times with the dashboard and ``PAIRS`` times without, alternating so that
drifts in the machine's load fall on both.  "With" is the notebook's set-up: every
250 ms sample goes to ``QosDashboard.update`` on the call's event loop, and the
figure is redrawn (blitted, PNG-encoded) on the redraw worker thread every
``REFRESH_S``.  "Without" hands the samples to a plain list.

Figures (the bar: within 5 %):

- frames decoded per call, mean with / mean without;
- median end-to-end delay per call (measured from the frames' capture time stamps),
  mean with / mean without;
- the dashboard's own costs: time inside ``update()`` (what the call's loop pays per
  sample) and per redraw (what the worker thread pays).

Run: ``python -m benchmarks dashboard`` (about a minute).
"""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import time

import numpy as np

from benchmarks.common import Row
from rtlib.live.endpoint import run_rtlib_call
from rtlib.live.impair import Impairment
from rtlib.viz.dashboard import QosDashboard, summarize

PAIRS = int(os.environ.get("BENCH_DASHBOARD_PAIRS", "4"))
SECONDS = 5.0
DELAY_MS = 50.0
REFRESH_S = float(os.environ.get("BENCH_DASHBOARD_REFRESH_S", "0.5"))  # the notebook's default


def one_call(with_dashboard: bool, seed: int) -> dict:
    dash = QosDashboard(show=False, refresh_s=REFRESH_S, duration_s=SECONDS) if with_dashboard else None
    plain: list = []
    on_sample = dash.update if dash is not None else plain.append
    stats = asyncio.run(run_rtlib_call(seconds=SECONDS, forward=Impairment(delay_ms=DELAY_MS),
                                       backward=Impairment(delay_ms=DELAY_MS), seed=seed, on_sample=on_sample))
    out = {"frames": stats.samples[-1].frames_decoded, "e2e_ms": summarize(stats.samples)["e2e_delay_p50_ms"]}
    if dash is not None:
        dash.finish()
        out["update_us"] = [1e6 * s for s in dash.update_s]
        out["draws"] = dash.draws
        out["full_draws"] = dash.figure.full_draws
        t0 = time.perf_counter()
        for _ in range(10):
            dash.figure.image("jpeg")
        out["draw_ms"] = (time.perf_counter() - t0) / 10 * 1000
    gc.collect()
    return out


def run() -> list[Row]:
    runs = {True: [], False: []}
    for i in range(PAIRS):
        order = (True, False) if i % 2 == 0 else (False, True)
        for flag in order:
            runs[flag].append(one_call(flag, seed=100 + i))
    w, wo = runs[True], runs[False]
    frames_w, frames_wo = np.mean([r["frames"] for r in w]), np.mean([r["frames"] for r in wo])
    e2e_w, e2e_wo = np.mean([r["e2e_ms"] for r in w]), np.mean([r["e2e_ms"] for r in wo])
    spread = statistics.pstdev([r["e2e_ms"] for r in wo])
    updates = np.concatenate([r["update_us"] for r in w])
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    note = f"{PAIRS} calls each way, alternating, {SECONDS:g} s, {DELAY_MS:g} ms each way; load {load}"
    return [
        Row("frame delivery: frames decoded with / without the dashboard", 100 * abs(frames_w / frames_wo - 1), "%",
            bar=5.0, higher_is_better=False,
            note=f"{frames_w:.1f} vs {frames_wo:.1f} frames per call; {note}"),
        Row("end-to-end delay (median per call): with / without the dashboard", 100 * abs(e2e_w / e2e_wo - 1), "%",
            bar=5.0, higher_is_better=False,
            note=f"{e2e_w:.1f} vs {e2e_wo:.1f} ms; calls without it spread ±{spread:.1f} ms; {note}"),
        Row("dashboard update() per sample, p99 (on the call's event loop)", float(np.percentile(updates, 99)), "µs",
            bar=5000.0, higher_is_better=False,
            note=f"median {np.median(updates):.0f} µs over {updates.size} samples; the bar is one GIL hand-over "
                 "(Python's 5 ms switch interval), what the loop may wait while the worker draws"),
        Row("dashboard live redraw (blit + JPEG, on the redraw worker)", float(np.mean([r["draw_ms"] for r in w])), "ms",
            bar=100.0, higher_is_better=False,
            note=f"{np.mean([r['draws'] for r in w]):.0f} redraws per {SECONDS:g} s call at refresh {REFRESH_S:g} s, "
                 f"{np.mean([r['full_draws'] for r in w]):.1f} whole-figure draws per call (the first before the "
                 "call starts, then one each time an axis grows)"),
    ]
