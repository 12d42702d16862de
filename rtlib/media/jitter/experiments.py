"""Chapter 07's playout widgets: pure functions registered with their ranges.

- ``playout_timeline``: one scenario, the delay of every packet and the playout
  delay each buffer chooses over time, late packets marked.
- ``delay_vs_late_loss``: the trade-off curve of each buffer (one point per
  setting) against the oracle's curve, the best any fixed delay can do.

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import numpy as np

from rtlib.media.jitter.adaptive import AdaptivePlayout
from rtlib.media.jitter.fixed import FixedBuffer
from rtlib.media.jitter.oracle import late_loss_at, oracle_delay_s
from rtlib.media.jitter.playout import play_trace
from rtlib.media.jitter.quantile import QuantileBuffer
from rtlib.media.jitter.scenarios import SCENARIOS, make_scenario
from rtlib.viz.experiments import Choice, Param, experiment

SECONDS = 60.0
SEED = 7
K_SWEEP = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
Q_SWEEP = (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99, 0.995)
BUFFER_SWEEP_MS = (0, 10, 20, 30, 40, 60, 80, 100, 130, 160, 200, 250, 300)
LOSS_FLOOR = 1e-4  # late loss 0 is drawn at this value on the log axis


def _plot_timeline(r):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(9, 5.6))
    t = r["send_s"]
    ax.plot(t, r["delay_ms"], ".", ms=2.5, color="#999999", label="network delay of each packet")
    styles = {"fixed": COLORS["im"], "adaptive": COLORS["rtc"], "quantile": COLORS["good"], "oracle": "black"}
    # Break the lines in the silences: nothing is played there.
    breaks = np.flatnonzero(r["talkspurt_start"])[1:]
    tb = np.insert(t, breaks, np.nan)
    for key, res in r["results"].items():
        ls = "--" if key == "oracle" else "-"
        ax.plot(tb, np.insert(res["playout_delay_ms"], breaks, np.nan), ls, color=styles[key], lw=1.8,
                label=f"{res['label']}: {res['mean_delay_ms']:.0f} ms, late {res['late_loss'] * 100:.1f} %")
    late = r["results"]["adaptive"]["late"]
    ax.plot(t[late], r["delay_ms"][late], "x", color=COLORS["bad"], ms=5, label="late for the adaptive buffer")
    top = np.nanpercentile(r["delay_ms"], 99.5) * 1.25 + 10
    ax.set_ylim(0, max(top, max(np.nanmax(v["playout_delay_ms"]) for v in r["results"].values()) * 1.05))
    label_axes(ax, "time [s]", "delay since sending [ms]", f"Playout delay over time: {r['scenario']} ({SCENARIOS[r['scenario']]})")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=8.5, ncols=2)
    return fig


@experiment(
    "playout_timeline",
    plot=_plot_timeline,
    notebook="07_jitter_buffers",
    scenario=Choice("spikes", tuple(SCENARIOS), label="jitter scenario"),
    k=Param(4.0, 0.5, 12.0, 0.5, label="adaptive K"),
    buffer_ms=Param(60.0, 0.0, 300.0, 10.0, label="fixed buffer", unit="ms"),
)
def playout_timeline(scenario: str, k: float, buffer_ms: float) -> dict:
    """The playout delay chosen by a fixed, an adaptive and a quantile buffer on one scenario.

    The oracle's constant delay is drawn at the adaptive buffer's late loss.
    """
    trace = make_scenario(scenario, SECONDS, SEED)
    runs = {
        "fixed": play_trace(trace, FixedBuffer(buffer_ms)),
        "adaptive": play_trace(trace, AdaptivePlayout(k=k)),
        "quantile": play_trace(trace, QuantileBuffer()),
    }
    oracle_s = oracle_delay_s(trace, runs["adaptive"].late_loss_rate)
    results = {}
    for key, res in runs.items():
        results[key] = {"label": res.policy, "playout_delay_ms": res.delay_s * 1e3, "late": res.late,
                        "mean_delay_ms": res.mean_delay_ms, "late_loss": res.late_loss_rate}
    results["oracle"] = {"label": "oracle at the adaptive's late loss",
                         "playout_delay_ms": np.full(len(trace), oracle_s * 1e3), "late": trace.delay_s > oracle_s,
                         "mean_delay_ms": oracle_s * 1e3, "late_loss": float(late_loss_at(trace, oracle_s))}
    return {"scenario": scenario, "send_s": trace.send_s, "delay_ms": trace.delay_s * 1e3, "results": results,
            "talkspurt_start": trace.talkspurt_start}


def tradeoff_curves(trace, *, mode: str = "talkspurt") -> dict:
    """Mean playout delay (ms) and late loss of each buffer over its setting, plus the oracle curve."""
    out = {}
    for key, make, settings in (("fixed buffer", FixedBuffer, BUFFER_SWEEP_MS),
                                ("adaptive (Ramjee)", lambda s: AdaptivePlayout(k=s), K_SWEEP),
                                ("quantile (NetEQ-like)", QuantileBuffer, Q_SWEEP)):
        res = [play_trace(trace, make(s), mode=mode) for s in settings]
        out[key] = {"setting": np.array(settings, dtype=float), "delay_ms": np.array([r.mean_delay_ms for r in res]),
                    "late_loss": np.array([r.late_loss_rate for r in res])}
    d = np.sort(trace.delay_s[trace.received])
    grid = np.unique(np.concatenate([np.linspace(d[0], d[-1], 200), d[-50:]]))
    out["oracle"] = {"delay_ms": grid * 1e3, "late_loss": late_loss_at(trace, grid)}
    return out


def _plot_tradeoff(r):
    from rtlib.viz import COLORS, label_axes, legend, new_figure

    fig, ax = new_figure(figsize=(8.5, 4.8))
    colors = {"fixed buffer": COLORS["im"], "adaptive (Ramjee)": COLORS["rtc"], "quantile (NetEQ-like)": COLORS["good"]}
    o = r["curves"]["oracle"]
    ax.plot(o["delay_ms"], np.maximum(o["late_loss"], LOSS_FLOOR) * 100, color="black", lw=2,
            label="oracle: best fixed delay in hindsight")
    marks = {"adaptive (Ramjee)": 4.0, "quantile (NetEQ-like)": 0.97, "fixed buffer": 60.0}
    for key, c in r["curves"].items():
        if key == "oracle":
            continue
        y = np.maximum(c["late_loss"], LOSS_FLOOR) * 100
        ax.plot(c["delay_ms"], y, "o-", color=colors[key], ms=4, lw=1.2, label=key)
        i = int(np.argmin(np.abs(c["setting"] - marks[key])))
        ax.plot(c["delay_ms"][i], y[i], "s", color=colors[key], ms=10, mfc="none", mew=2)
    ax.axhline(1.0, color=COLORS["neutral"], lw=0.8, ls=":")
    ax.plot([], [], " ", label=f"(late loss 0 is drawn at {LOSS_FLOOR * 100:g} %)")
    ax.text(ax.get_xlim()[1], 1.0, " 1 %", va="center", ha="left", color=COLORS["neutral"], fontsize=9)
    ax.set_yscale("log")
    ax.minorticks_off()  # log-axis minor ticks cost ~40 ms of drawing and add little here
    ax.set_ylim(LOSS_FLOOR * 100 * 0.8, 100)
    label_axes(ax, "mean playout delay (send to play) [ms]", "late loss [% of arrived packets]",
               f"Delay vs late loss: {r['scenario']}, {r['mode']} mode (squares: K=4, q=0.97, 60 ms)")
    legend(ax)
    return fig


@experiment(
    "delay_vs_late_loss",
    plot=_plot_tradeoff,
    notebook="07_jitter_buffers",
    scenario=Choice("wifi", tuple(SCENARIOS), label="jitter scenario"),
    mode=Choice("talkspurt", ("talkspurt", "stretch"), label="adapt"),
)
def delay_vs_late_loss(scenario: str, mode: str) -> dict:
    """Each buffer's delay/late-loss curve over its setting, against the oracle's."""
    trace = make_scenario(scenario, SECONDS, SEED)
    return {"scenario": scenario, "mode": mode, "curves": tradeoff_curves(trace, mode=mode)}
