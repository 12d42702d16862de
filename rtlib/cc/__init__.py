"""Rate controllers behind one interface: fixed, loss-based AIMD, GCC-style.

- :mod:`rtlib.cc.base`: the interface (:class:`RateController`, :class:`PacketResult`),
  :class:`FixedRate` and :class:`LossAimd`;
- :mod:`rtlib.cc.gcc`: the parts of Google Congestion Control after
  draft-ietf-rmcat-gcc-02 (packet groups, arrival-time filters, over-use detector with
  adaptive threshold, increase/hold/decrease rate control, loss-based control) and
  :class:`GccController`, which combines them.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from rtlib.cc.base import FixedRate, LossAimd, PacketResult, RateController
from rtlib.cc.gcc import GccController

__all__ = ["FixedRate", "GccController", "LossAimd", "PacketResult", "RateController"]
