"""E-model curves: MOS against one-way delay and against packet loss.

The registered experiment ``emodel_curves`` draws both for one codec and one
operating point, with G.107 Annex B's user-satisfaction bands and G.114's 150 ms
and 400 ms landmarks, so a learner sees where delay alone, and delay plus loss,
push a call.

Used in: notebooks/01_im_vs_rtc.ipynb.
"""

from __future__ import annotations

import numpy as np

from rtlib.quality.budget import G114_PLANNING_LIMIT_MS, G114_TRANSPARENT_MS
from rtlib.quality.emodel import CODECS, SATISFACTION, emodel, get_codec, mos_from_r
from rtlib.viz.experiments import Choice, Param, experiment

DELAYS_MS = np.arange(0.0, 801.0, 5.0)
LOSSES = np.linspace(0.0, 0.20, 81)


def _plc_for(codec: str, plc: bool) -> bool:
    # Codecs with built-in concealment have no "without PLC" value in G.113.
    return plc or get_codec(codec).bpl_no_plc is None


def mos_curves(delay_ms: float = 150.0, loss: float = 0.01, codec: str = "g711", plc: bool = True,
               burst_r: float = 1.0, echo: bool = True) -> dict:
    """MOS over 0–800 ms one-way delay and over 0–20 % loss, around one operating point."""
    plc = _plc_for(codec, plc)
    at = emodel(delay_ms, loss, codec, plc=plc, burst_r=burst_r, echo=echo)
    by_delay = {
        "no loss": emodel(DELAYS_MS, 0.0, codec, plc=plc, echo=echo).MOS,
        f"{loss:.1%} loss": emodel(DELAYS_MS, loss, codec, plc=plc, burst_r=burst_r, echo=echo).MOS,
        "echo-free G.711, no loss (G.114's curve)": emodel(DELAYS_MS, 0.0, "g711", echo=False).MOS,
    }
    by_loss = {}
    for name, c in CODECS.items():
        by_loss[c.label.split(" (")[0]] = emodel(delay_ms, LOSSES, name, burst_r=burst_r, echo=echo).MOS
    by_loss["G.711 without PLC"] = emodel(delay_ms, LOSSES, "g711", plc=False, burst_r=burst_r, echo=echo).MOS
    return {"delay_ms": float(delay_ms), "loss": float(loss), "codec": codec, "plc": plc, "burst_r": float(burst_r),
            "point": at, "delays_ms": DELAYS_MS, "by_delay": by_delay, "losses": LOSSES, "by_loss": by_loss}


def _satisfaction_bands(ax, labels: bool):
    """Shade G.107 Annex B's categories (R boundaries mapped to MOS), labelled outside the axes."""
    shades = ["#e3f2e9", "#eef7f1", "#fbf4df", "#fbeadf", "#f6ded4", "#f1d6cf"]
    for (low, high, label), shade in zip(SATISFACTION, shades):
        lo, hi = mos_from_r(low), mos_from_r(high)
        ax.axhspan(lo, hi, color=shade, zorder=0)
        if labels:
            ax.text(1.01, (max(lo, 1.0) + hi) / 2, label, transform=ax.get_yaxis_transform(), ha="left",
                    va="center", fontsize=8, color="#555555")


def _plot_curves(res):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    # A fixed layout: constrained layout would cost a third of the redraw time.
    fig, (ax1, ax2) = new_figure(1, 2, figsize=(12.5, 4.8), layout="none")
    fig.subplots_adjust(left=0.055, right=0.84, bottom=0.11, top=0.92, wspace=0.18)
    _satisfaction_bands(ax1, labels=False)
    styles = [dict(color=COLORS["rtc"], ls="--"), dict(color=COLORS["rtc"], lw=2.4),
              dict(color=COLORS["neutral"], lw=1.0, ls=":")]
    for (name, mos), st in zip(res["by_delay"].items(), styles):
        ax1.plot(res["delays_ms"], mos, label=name, **st)
    p = res["point"]
    ax1.plot([res["delay_ms"]], [p.MOS], "o", color=COLORS["bad"], ms=8, zorder=5)
    for x, txt in ((G114_TRANSPARENT_MS, "150 ms"), (G114_PLANNING_LIMIT_MS, "400 ms")):
        ax1.axvline(x, color=COLORS["neutral"], lw=1, ls="--")
        ax1.text(x + 5, 1.08, txt, fontsize=8, color=COLORS["neutral"])
    # Few, explicit ticks: tick labels are a large part of a redraw's cost.
    ax1.set(ylim=(1, 4.6), xlim=(0, DELAYS_MS[-1]), xticks=[0, 200, 400, 600, 800], yticks=[1, 2, 3, 4, 4.5])
    codec = get_codec(res["codec"]).label.split(" (")[0]
    label_axes(ax1, "one-way (mouth-to-ear) delay [ms]", "MOS (1–4.5)",
               f"{codec}: MOS vs delay (● {res['delay_ms']:.0f} ms → {p.MOS:.2f})")
    legend(ax1, where="below", ncols=2, fontsize=8)

    _satisfaction_bands(ax2, labels=True)
    for name, mos in res["by_loss"].items():
        ax2.plot(100 * res["losses"], mos, label=name, ls="--" if "without" in name else "-")
    ax2.plot([100 * res["loss"]], [p.MOS], "o", color=COLORS["bad"], ms=8, zorder=5)
    ax2.set(ylim=(1, 4.6), xlim=(0, 100 * res["losses"][-1]), xticks=[0, 5, 10, 15, 20], yticks=[1, 2, 3, 4, 4.5])
    burst = "random loss" if res["burst_r"] == 1 else f"BurstR = {res['burst_r']:g}"
    label_axes(ax2, "packet loss [%]", "MOS (1–4.5)",
               f"MOS vs loss at {res['delay_ms']:.0f} ms, {burst} (● {100 * res['loss']:.1f} %)")
    legend(ax2, where="below", ncols=3, fontsize=8)
    ax2.text(1.01, 4.58, "G.107 Annex B:", transform=ax2.get_yaxis_transform(), fontsize=8, fontweight="bold",
             color="#555555", va="center")
    return fig


@experiment(
    "emodel_curves",
    plot=_plot_curves,
    notebook="01_im_vs_rtc",
    delay_ms=Param(150.0, 0.0, 800.0, 10.0, label="one-way delay", unit="ms"),
    loss=Param(0.01, 0.0, 0.2, 0.005, label="packet loss (fraction)"),
    codec=Choice("g711", tuple(CODECS), label="codec"),
    plc=Choice(True, (True, False), label="loss concealment (PLC)"),
    burst_r=Param(1.0, 1.0, 4.0, 0.25, label="BurstR (1 = random)"),
)
def emodel_curves(delay_ms, loss, codec, plc, burst_r) -> dict:
    """MOS against delay and against loss around one operating point (G.107 E-model)."""
    return mos_curves(delay_ms, loss, codec, plc, burst_r)
