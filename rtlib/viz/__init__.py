"""Figures, audio players and widgets in one house style.

- :func:`set_style` sets the house style once per notebook; :func:`new_figure`
  returns a figure and axes with labelled, unit-bearing axes.
- :func:`audio_players` lays several labelled players side by side.
- :mod:`rtlib.viz.claims`: prose that is checked; :func:`claim` returns a sentence
  only if the data show it, :func:`say` renders computed Markdown.
- :mod:`rtlib.viz.dashboard`: the QoS dashboard of a live call (:class:`QosDashboard`)
  and the report of a finished one (:func:`report_png`, :func:`report_html`).
- :mod:`rtlib.viz.experiments`: the widget convention; every interactive experiment
  is a pure function registered with its parameter ranges, and :func:`show_experiment`
  wires sliders to it (headless, it shows the default result).

Used in: every notebook.
"""

from rtlib.viz.style import (
    COLORS,
    DBFS_LABEL,
    colorbar,
    label_axes,
    legend,
    legend_overlaps_data,
    new_figure,
    save_figure,
    set_style,
    spectrogram,
    spectrogram_dbfs,
)
from rtlib.viz.audio import audio_players
from rtlib.viz.claims import ClaimError, claim, pick, say
from rtlib.viz.dashboard import QosDashboard, report_html, report_png
from rtlib.viz.experiments import (
    Choice,
    Experiment,
    Param,
    REGISTRY,
    experiment,
    get_experiment,
    show_experiment,
)

__all__ = [
    "COLORS",
    "DBFS_LABEL",
    "Choice",
    "ClaimError",
    "Experiment",
    "Param",
    "QosDashboard",
    "REGISTRY",
    "audio_players",
    "claim",
    "colorbar",
    "experiment",
    "get_experiment",
    "label_axes",
    "legend",
    "legend_overlaps_data",
    "new_figure",
    "pick",
    "report_html",
    "report_png",
    "save_figure",
    "say",
    "set_style",
    "show_experiment",
    "spectrogram",
    "spectrogram_dbfs",
]
