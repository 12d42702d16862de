"""Chapter 08's section "When GCC is not enough: self-clocked senders": runs and figures.

- :func:`self_clocked_comparison`: GCC, the self-clocked sender (:mod:`rtlib.cc.selfclocked`)
  with its EWMA and with Sprout's stochastic forecast (``sprout``, :mod:`rtlib.cc.forecast`)
  and SCReAM (:mod:`rtlib.cc.scream`) on one recorded trace,
  with the lagged oracle's grid (:data:`rtlib.cc.yardstick.ORACLE_GRID`), the omniscient
  floor and the delay budget ``D``;
- :func:`self_clocked_figure`: three panels: the frontier with the four controllers,
  video and audio p95 per packet beside the delay over time and the omniscient floor,
  and the published points of Winstein et al. (NSDI 2013) beside ours, both relative
  to Sprout (theirs, and our ``sprout``; self-inflicted delay: :func:`self_inflicted_ms`);
- :data:`SPROUT_PUBLISHED`: those published points.

Used in: notebooks/08_adaptive_bitrate.ipynb, notebooks/solutions/08_adaptive_bitrate_solutions.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.cc.experiments import CONTROLLER_COLORS, mahimahi_path
from rtlib.cc.scenarios import run_trace
from rtlib.cc.yardstick import ORACLE_GRID, delay_budget_ms, frontier, lowest_p95_ms, omniscient_floor_ms

SELF_CLOCKED = ("gcc", "selfclocked", "sprout", "scream")
COLORS = {**CONTROLLER_COLORS, "selfclocked": "#E69F00", "sprout": "#882255", "scream": "#56B4E9"}
#: The controller the relative points are taken against: Sprout's stochastic forecast, as the
#: published points are taken against Sprout.
REFERENCE = "sprout"

#: Winstein, Sivaraman and Balakrishnan, "Stochastic Forecasts Achieve High Throughput and
#: Low Delay over Cellular Networks", USENIX NSDI 2013, abstract: averaged over their
#: Verizon/AT&T/T-Mobile LTE and 3G traces, Sprout achieved 2.2x Skype's bit rate with 7.9x
#: less self-inflicted delay, 4.4x Hangout's with 7.2x less, 1.9x Facetime's with 8.7x less.
#: As (throughput relative to Sprout, self-inflicted delay relative to Sprout).
SPROUT_PUBLISHED = {
    "Sprout": (1.0, 1.0),
    "Skype": (1 / 2.2, 7.9),
    "Hangouts": (1 / 4.4, 7.2),
    "FaceTime": (1 / 1.9, 8.7),
}


@lru_cache(maxsize=4)
def self_clocked_comparison(name: str = "ATT-LTE-driving-2016.down", duration_s: float = 60.0,
                            seed: int = 0) -> dict:
    """The four controllers and the oracle grid on the first ``duration_s`` of a shipped trace."""
    from rtlib.net.traces import load_mahimahi

    path = mahimahi_path(name)
    if not 5 <= duration_s <= 300:
        raise ValueError(f"duration_s must be in [5, 300] s, got {duration_s!r}")
    runs = {c: run_trace(path, c, duration_s=duration_s, seed=seed).summary() for c in SELF_CLOCKED}
    oracle = []
    for kw in ORACLE_GRID:
        s = run_trace(path, "oracle", duration_s=duration_s, seed=seed, controller_args=dict(kw)).summary()
        oracle.append((kw["margin"], kw["window_s"], s["utilization"], s["delay_p95_ms"]))
    pts = [(d, u) for _, _, u, d in oracle]
    d0 = lowest_p95_ms(pts)
    D = delay_budget_ms(d0)
    return {"name": name, "duration_s": duration_s, "controllers": runs, "oracle": oracle,
            "floor_ms": omniscient_floor_ms(load_mahimahi(path), duration_s), "d0_ms": d0, "D_ms": D,
            "F_D": frontier(pts)(D)}


def winner(r: dict) -> str:
    """The controller with the highest utilisation among those with p95 <= D, or ``"none"``."""
    ok = [c for c in SELF_CLOCKED if c in r["controllers"] and r["controllers"][c]["delay_p95_ms"] <= r["D_ms"]]
    return max(ok, key=lambda c: r["controllers"][c]["utilization"]) if ok else "none"


#: Below this, a self-inflicted delay is too small to divide by (ms).
MIN_SELF_INFLICTED_MS = 1.0


def self_inflicted_ms(r: dict, controller: str) -> float:
    """Sprout's self-inflicted delay: the controller's delay over time
    (``signal_delay_p95_ms``) minus the link's omniscient floor."""
    return r["controllers"][controller]["signal_delay_p95_ms"] - r["floor_ms"]


def relative_points(r: dict, ref: str = REFERENCE) -> dict:
    """Each controller relative to ``ref`` (the ``sprout`` sender): (goodput ratio, self-inflicted delay ratio).

    Both delays are Sprout's: over time, minus the omniscient floor (:func:`self_inflicted_ms`),
    so the ratios compare with the published ones, which are relative to Sprout.  A
    self-inflicted delay under :data:`MIN_SELF_INFLICTED_MS` counts as that much (a ratio to
    nothing means nothing)."""
    if ref not in r["controllers"]:
        raise ValueError(f"ref must be one of the run's controllers {sorted(r['controllers'])}, got {ref!r}")
    base = r["controllers"][ref]
    ref_d = max(self_inflicted_ms(r, ref), MIN_SELF_INFLICTED_MS)
    out = {}
    for c, s in r["controllers"].items():
        out[c] = (s["goodput_kbps_mean"] / base["goodput_kbps_mean"],
                  max(self_inflicted_ms(r, c), MIN_SELF_INFLICTED_MS) / ref_d)
    return out


def self_clocked_figure(r: dict | None = None):
    """Frontier with the four controllers | video vs audio p95 | published and our relative points."""
    from rtlib.viz import label_axes, new_figure

    r = r or self_clocked_comparison()
    fig, (a1, a2, a3) = new_figure(1, 3, figsize=(15.5, 4.6))
    # 1. the oracle's frontier and the four controllers
    pts = sorted((d, u) for _, _, u, d in r["oracle"])
    d_sorted = np.array([p[0] for p in pts])
    best = np.maximum.accumulate(np.array([p[1] for p in pts]))
    a1.step(d_sorted, best * 100, where="post", color=COLORS["oracle"], lw=1.8, label="oracle frontier F(d)")
    a1.plot([p[0] for p in pts], [p[1] * 100 for p in pts], "o", color=COLORS["oracle"], ms=4,
            label="oracle settings (margin x window)")
    for c in SELF_CLOCKED:
        s = r["controllers"][c]
        a1.plot(s["delay_p95_ms"], s["utilization"] * 100, "s", ms=9, color=COLORS[c], label=c)
    a1.axvline(r["D_ms"], color="#444444", ls="--", lw=1, label=f"budget D = {r['D_ms']:.0f} ms")
    xmax = max(float(d_sorted.max()), *(r["controllers"][c]["delay_p95_ms"] for c in SELF_CLOCKED)) * 1.1
    a1.set_xlim(0, xmax)
    a1.set_ylim(0, 105)
    a1.legend(loc="lower right", fontsize=7)
    label_axes(a1, "p95 queueing delay [ms]", "utilisation [%]",
               title=f"{r['name'].rsplit('.', 1)[0]}, first {r['duration_s']:.0f} s")
    # 2. video against audio per packet, and the delay over time against the floor
    x = np.arange(len(SELF_CLOCKED))
    v = [r["controllers"][c]["video_delay_p95_ms"] for c in SELF_CLOCKED]
    a = [r["controllers"][c]["audio_delay_p95_ms"] for c in SELF_CLOCKED]
    o = [r["controllers"][c]["signal_delay_p95_ms"] for c in SELF_CLOCKED]
    colors = [COLORS[c] for c in SELF_CLOCKED]
    a2.bar(x - 0.27, v, 0.27, color=colors, label="video, per packet")
    a2.bar(x, a, 0.27, color=colors, alpha=0.45, hatch="//", label="audio, per packet")
    a2.bar(x + 0.27, o, 0.27, color="white", edgecolor=colors, hatch="..", label="all media, over time")
    a2.axhline(r["floor_ms"], color="#444444", ls=":", lw=1.2,
               label=f"omniscient floor (over time) {r['floor_ms']:.0f} ms")
    a2.set_xticks(x, SELF_CLOCKED)
    a2.set_ylim(0, max(v + a + o) * 1.45)
    a2.legend(loc="upper right", fontsize=7)
    label_axes(a2, "controller", "p95 delay [ms]", unitless=("x",),
               title="Per packet (video, audio) and over time")
    # 3. relative points, published and ours
    for c, (tp, dl) in relative_points(r).items():
        a3.plot(dl, tp, "s", ms=9, color=COLORS[c], label=f"{c} (this trace, / {REFERENCE})")
    for n, (tp, dl) in SPROUT_PUBLISHED.items():  # on top: Sprout's own point is where our reference is
        a3.plot(dl, tp, "D", ms=7, color="#777777" if n != "Sprout" else "#000000", zorder=4)
        a3.annotate(n, (dl, tp), textcoords="offset points", xytext=(6, 4), fontsize=8, color="#555555")
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    a3.set_xscale("log")
    a3.set_yscale("log")
    a3.set_xlim(0.3, 20)
    a3.set_ylim(0.15, 3)
    for axis, ticks in ((a3.xaxis, (0.5, 1, 2, 5, 10)), (a3.yaxis, (0.25, 0.5, 1, 2))):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a3.legend(loc="upper right", fontsize=7)
    label_axes(a3, f"self-inflicted delay relative to {REFERENCE} [x]", "throughput relative [x]",
               title=f"Grey: NSDI 2013 means vs Sprout; squares: ours vs our {REFERENCE}")
    for ax in (a1, a2, a3):
        ax.title.set_fontsize(10)
    return fig
