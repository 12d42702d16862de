"""Test signals: tones and sweeps, and how a frame of audio is sampled.

Used in: notebooks/00_start_here.ipynb (a first widget and a first listen cell),
notebooks/06_codecs.ipynb.
"""

from __future__ import annotations

import numpy as np

from rtlib.validate import check_rate_hz
from rtlib.viz.experiments import Choice, Param, experiment


def _check_duration(duration_s) -> float:
    if not 0 < duration_s <= 600:
        raise ValueError(f"duration_s must be in (0, 600] s, got {duration_s!r}")
    return float(duration_s)


def tone(freq_hz: float, duration_s: float, rate_hz: int, amplitude: float = 0.5) -> np.ndarray:
    """A sine tone as float samples in [-1, 1]."""
    rate_hz = check_rate_hz(rate_hz)
    n = int(round(_check_duration(duration_s) * rate_hz))
    if not 0 <= freq_hz <= 100_000:
        raise ValueError(f"freq_hz must be in [0, 100000] Hz, got {freq_hz!r}")
    if not 0 <= amplitude <= 1:
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude!r}")
    return amplitude * np.sin(2 * np.pi * freq_hz * np.arange(n) / rate_hz)


def sweep(f0_hz: float, f1_hz: float, duration_s: float, rate_hz: int, amplitude: float = 0.5) -> np.ndarray:
    """A linear frequency sweep from ``f0_hz`` to ``f1_hz``, sampled naively at ``rate_hz``.

    No anti-alias filter is applied on purpose: above ``rate_hz / 2`` the sweep folds
    back down (aliasing), which a learner can hear.
    """
    rate_hz = check_rate_hz(rate_hz)
    duration_s = _check_duration(duration_s)
    if not (0 <= f0_hz <= 100_000 and 0 <= f1_hz <= 100_000):
        raise ValueError(f"f0_hz and f1_hz must be in [0, 100000] Hz, got {f0_hz!r}, {f1_hz!r}")
    t = np.arange(int(round(duration_s * rate_hz))) / rate_hz
    phase = 2 * np.pi * (f0_hz * t + (f1_hz - f0_hz) * t**2 / (2 * duration_s))
    return amplitude * np.sin(phase)


def _plot_frame(result):
    from rtlib.viz import label_axes, legend, new_figure

    fig, ax = new_figure(figsize=(8, 3.6))
    t_fine, x_fine = result["t_fine_ms"], result["x_fine"]
    ax.plot(t_fine, x_fine, color="#999999", lw=1, label="the sound (continuous)")
    ax.stem(result["t_ms"], result["x"], basefmt=" ", label=f"{result['n_samples']} samples")
    label_axes(ax, "time within the frame [ms]", "amplitude (full scale = 1)",
               f"One {result['frame_ms']:g} ms frame of a {result['freq_hz']:g} Hz tone at "
               f"{result['rate_hz'] / 1000:g} kHz")
    legend(ax)
    return fig


@experiment(
    "frame_samples",
    plot=_plot_frame,
    notebook="00_start_here",
    rate_hz=Choice(8000, (8000, 16000, 48000), label="sample rate [Hz]"),
    frame_ms=Param(2.5, 0.5, 10.0, 0.5, label="frame length", unit="ms"),
    freq_hz=Param(440.0, 50.0, 4000.0, 10.0, label="tone", unit="Hz"),
)
def frame_samples(rate_hz: int, frame_ms: float, freq_hz: float) -> dict:
    """The samples that one audio frame of ``frame_ms`` holds at ``rate_hz``."""
    duration_s = frame_ms / 1000
    x = tone(freq_hz, duration_s, rate_hz)
    fine_rate = 192_000
    x_fine = tone(freq_hz, duration_s, fine_rate)
    return {
        "rate_hz": rate_hz, "frame_ms": frame_ms, "freq_hz": freq_hz, "n_samples": len(x),
        "t_ms": np.arange(len(x)) / rate_hz * 1000, "x": x,
        "t_fine_ms": np.arange(len(x_fine)) / fine_rate * 1000, "x_fine": x_fine,
    }
