"""Quality: the E-model (ITU-T G.107/G.113), MOS, latency budgets.

- :mod:`rtlib.quality.emodel`: R = Ro − Is − Id − Ie,eff + A and MOS, vectorised;
  codec values from G.113 Appendix I.
- :mod:`rtlib.quality.budget`: the mouth-to-ear latency budget and its waterfall.
- :mod:`rtlib.quality.curves`, :mod:`rtlib.quality.delay_feel`, :mod:`rtlib.quality.two_models`:
  the chapter 01 widgets.

Used in: notebooks/01_im_vs_rtc.ipynb and later chapters.
"""

from rtlib.quality.budget import STAGES, TYPICAL_CALL, LatencyBudget, fibre_delay_ms, plot_budget
from rtlib.quality.emodel import (
    CODECS,
    G107_DEFAULTS,
    SATISFACTION,
    Codec,
    EModelResult,
    burst_ratio,
    emodel,
    g107,
    get_codec,
    mos_from_r,
    satisfaction,
)

from rtlib.quality import curves, delay_feel, two_models  # noqa: E402,F401  (register the chapter 01 widgets)

__all__ = [
    "CODECS", "G107_DEFAULTS", "SATISFACTION", "STAGES", "TYPICAL_CALL", "Codec", "EModelResult",
    "LatencyBudget", "burst_ratio", "emodel", "fibre_delay_ms", "g107", "get_codec", "mos_from_r",
    "plot_budget", "satisfaction",
]
