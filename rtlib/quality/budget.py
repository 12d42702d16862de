"""The mouth-to-ear latency budget: named stages that add up to one-way delay.

A call's one-way delay is the sum of what every stage between the talker's mouth
and the listener's ear adds.  ITU-T G.114 (05/2003) recommends keeping it below
400 ms for general network planning and notes that most applications feel
"essentially transparent" below 150 ms; the E-model (:mod:`rtlib.quality.emodel`)
turns the total into a predicted quality.

    capture → encode → packetisation → pacing → propagation → queueing
            → jitter buffer → decode → render

:class:`LatencyBudget` holds one number per stage (ms), checks them, sums them and
draws a waterfall (:func:`plot_budget`).  :func:`fibre_delay_ms` gives propagation
over optical fibre.

Used in: notebooks/01_im_vs_rtc.ipynb (later: 07 jitter buffers, 11 edge nodes).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields, replace

import numpy as np

from rtlib.quality.emodel import CODECS, emodel
from rtlib.viz.experiments import Choice, Param, experiment

#: The stages in path order, with what each one holds.
STAGES: dict[str, str] = {
    "capture": "microphone and sound-card buffering before the encoder sees a sample",
    "encode": "the codec's look-ahead plus the time to run the encoder",
    "packetisation": "waiting until one packet's worth of audio (the ptime) has been collected",
    "pacing": "holding packets back to smooth the send rate",
    "propagation": "the signal travelling along fibre, copper or radio (about 5 µs per km of fibre)",
    "queueing": "waiting in router and modem queues (grows when a link is overloaded)",
    "jitter_buffer": "the receiver holding packets so that late ones still play on time",
    "decode": "running the decoder and any loss concealment",
    "render": "playout device buffering before the sound reaches the loudspeaker",
}

#: Speed of light in vacuum [km/s] and group index of standard single-mode fibre
#: (about 1.468 at 1550 nm): light covers ~204,000 km/s, i.e. ~4.9 µs per km.
C_KM_PER_S = 299_792.458
FIBRE_GROUP_INDEX = 1.468

#: ITU-T G.114 (05/2003) landmarks for one-way delay [ms].
G114_TRANSPARENT_MS = 150.0
G114_PLANNING_LIMIT_MS = 400.0


def fibre_delay_ms(distance_km, group_index: float = FIBRE_GROUP_INDEX):
    """One-way propagation delay [ms] over ``distance_km`` of optical fibre.

    Fibre routes are longer than the great circle, often by 20–50 %: pass the
    route length, not the map distance, when you know it.
    """
    d = np.asarray(distance_km, dtype=float)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError(f"distance_km must be finite and >= 0 km, got {distance_km!r}")
    if not (isinstance(group_index, numbers.Real) and 1.0 <= group_index <= 3.0):
        raise ValueError(f"group_index must be in [1, 3], got {group_index!r}")
    ms = d / (C_KM_PER_S / group_index) * 1000.0
    return float(ms) if np.ndim(distance_km) == 0 else ms


@dataclass(frozen=True)
class LatencyBudget:
    """One-way delay per stage [ms], in path order; ``total_ms`` is mouth-to-ear.

    Every stage defaults to 0 and must be a finite number >= 0.  Budgets are
    immutable: :meth:`with_` returns a copy with some stages changed.

    >>> LatencyBudget(packetisation_ms=20, propagation_ms=40, jitter_buffer_ms=60).total_ms
    120.0
    """

    capture_ms: float = 0.0
    encode_ms: float = 0.0
    packetisation_ms: float = 0.0
    pacing_ms: float = 0.0
    propagation_ms: float = 0.0
    queueing_ms: float = 0.0
    jitter_buffer_ms: float = 0.0
    decode_ms: float = 0.0
    render_ms: float = 0.0

    def __post_init__(self):
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{f.name} must be a finite number >= 0 ms, got {v!r}")
            object.__setattr__(self, f.name, float(v))

    @property
    def stages(self) -> dict[str, float]:
        """Stage name (without ``_ms``) → delay [ms], in path order."""
        return {f.name[:-3]: getattr(self, f.name) for f in fields(self)}

    @property
    def total_ms(self) -> float:
        """Mouth-to-ear delay: the sum of all stages [ms]."""
        return float(sum(self.stages.values()))

    def with_(self, **stages_ms) -> "LatencyBudget":
        """A copy with some stages changed, e.g. ``budget.with_(jitter_buffer_ms=80)``."""
        unknown = set(stages_ms) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown stage(s) {sorted(unknown)}; stages: {[f.name for f in fields(self)]}")
        return replace(self, **stages_ms)

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "total_ms": self.total_ms}

    def quality(self, loss: float = 0.0, codec: str = "g711", plc: bool = True, burst_r: float = 1.0,
                echo: bool = True):
        """The E-model for this budget's mouth-to-ear delay (see :func:`rtlib.quality.emodel.emodel`)."""
        return emodel(self.total_ms, loss, codec, plc=plc, burst_r=burst_r, echo=echo)

    def plot(self, ax=None, title: str | None = None):
        """Draw this budget as a waterfall; returns the figure."""
        return plot_budget(self, ax=ax, title=title)


#: A plausible WebRTC-style voice call across a continent: 20 ms packets, ~6,000 km of
#: fibre route, a lightly loaded path and a 40 ms jitter buffer.  Only an example.
TYPICAL_CALL = LatencyBudget(
    capture_ms=10.0, encode_ms=8.0, packetisation_ms=20.0, pacing_ms=2.0,
    propagation_ms=30.0, queueing_ms=10.0, jitter_buffer_ms=40.0, decode_ms=2.0, render_ms=10.0,
)


def plot_budget(budget: LatencyBudget, ax=None, title: str | None = None):
    """A horizontal waterfall: each stage starts where the previous one ended.

    The last bar is the mouth-to-ear total; dashed lines mark G.114's 150 ms
    ("essentially transparent" for most applications) and 400 ms (the general
    planning limit).
    """
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    if not isinstance(budget, LatencyBudget):
        raise ValueError(f"budget must be a LatencyBudget, got {type(budget).__name__}")
    if ax is None:
        # Fixed margins: constrained layout would cost a third of a slider redraw.
        fig, ax = new_figure(figsize=(8.5, 4.6), layout="none")
        fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=0.9)
    else:
        fig = ax.figure
    names = [n.replace("_", " ") for n in budget.stages] + ["mouth-to-ear"]
    values = list(budget.stages.values())
    starts = np.concatenate([[0.0], np.cumsum(values)[:-1]])
    total = budget.total_ms
    y = np.arange(len(names))[::-1]
    ax.barh(y[:-1], values, left=starts, color=COLORS["rtc"], height=0.6, label="stage")
    over = total > G114_PLANNING_LIMIT_MS
    ax.barh(y[-1], total, color=COLORS["bad"] if over else COLORS["good"], height=0.6, label="total (one way)")
    xmax = max(total, G114_PLANNING_LIMIT_MS) * 1.18
    for yi, s, v in zip(y[:-1], starts, values):
        if v > 0:
            ax.text(s + v + xmax * 0.01, yi, f"{v:g}", va="center", fontsize=9)
    ax.text(total + xmax * 0.01, y[-1], f"{total:.0f} ms", va="center", fontsize=10, fontweight="bold")
    ax.axvline(G114_TRANSPARENT_MS, color=COLORS["neutral"], ls="--", lw=1)
    ax.axvline(G114_PLANNING_LIMIT_MS, color=COLORS["bad"], ls="--", lw=1)
    ax.text(G114_TRANSPARENT_MS, y[0] + 0.55, " 150 ms", color=COLORS["neutral"], fontsize=9, va="bottom")
    ax.text(G114_PLANNING_LIMIT_MS, y[0] + 0.55, " 400 ms (G.114 limit)", color=COLORS["bad"], fontsize=9,
            va="bottom")
    ax.set_yticks(y, names)
    ax.set_xlim(0, xmax)
    ax.set_ylim(-0.6, len(names) - 0.1)
    ax.grid(axis="y", visible=False)
    label_axes(ax, "one-way delay [ms]", "stage (path order)",
               title or f"Latency budget: {total:.0f} ms mouth to ear", unitless=("y",))
    legend(ax, where="below")
    return fig


def _plot_budget_experiment(result):
    q = result["quality"]
    return plot_budget(result["budget"], title=(
        f"{result['budget'].total_ms:.0f} ms mouth to ear → R = {q.R:.1f}, MOS = {q.MOS:.2f} "
        f"({result['codec']}, no loss)"))


_S = dict(unit="ms")


@experiment(
    "latency_budget",
    plot=_plot_budget_experiment,
    notebook="01_im_vs_rtc",
    capture_ms=Param(10.0, 0.0, 100.0, 1.0, label="capture", **_S),
    encode_ms=Param(8.0, 0.0, 60.0, 0.5, label="encode", **_S),
    packetisation_ms=Param(20.0, 0.0, 120.0, 10.0, label="packetisation", **_S),
    pacing_ms=Param(2.0, 0.0, 50.0, 1.0, label="pacing", **_S),
    propagation_ms=Param(30.0, 0.0, 300.0, 5.0, label="propagation", **_S),
    queueing_ms=Param(10.0, 0.0, 1000.0, 5.0, label="queueing", **_S),
    jitter_buffer_ms=Param(40.0, 0.0, 400.0, 10.0, label="jitter buffer", **_S),
    decode_ms=Param(2.0, 0.0, 30.0, 0.5, label="decode", **_S),
    render_ms=Param(10.0, 0.0, 100.0, 1.0, label="render", **_S),
    codec=Choice("g711", tuple(CODECS), label="codec"),
)
def latency_budget(capture_ms, encode_ms, packetisation_ms, pacing_ms, propagation_ms, queueing_ms,
                   jitter_buffer_ms, decode_ms, render_ms, codec) -> dict:
    """A latency budget from nine stage delays, and the E-model's verdict on its total."""
    budget = LatencyBudget(capture_ms, encode_ms, packetisation_ms, pacing_ms, propagation_ms, queueing_ms,
                           jitter_buffer_ms, decode_ms, render_ms)
    return {"budget": budget, "codec": codec, "quality": budget.quality(codec=codec)}
