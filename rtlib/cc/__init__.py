"""Rate controllers behind one interface: fixed, loss-based AIMD, GCC-style; and the closed loop.

- :mod:`rtlib.cc.base`: the interface (:class:`RateController`, :class:`PacketResult`),
  :class:`FixedRate` and :class:`LossAimd`;
- :mod:`rtlib.cc.gcc`: the parts of Google Congestion Control after
  draft-ietf-rmcat-gcc-02 (packet groups, arrival-time filters, over-use detector with
  adaptive threshold, increase/hold/decrease rate control, loss-based control) and
  :class:`GccController`, which combines them;
- :mod:`rtlib.cc.aiortc_remb`: aiortc's receive-side estimator as a baseline;
- :mod:`rtlib.cc.selfclocked`: a Sprout-EWMA-style self-clocked sender (window = delivered
  rate x target delay, the rate's recent maximum while no queue shows), and ``sprout``, the
  same window from Sprout's stochastic forecast (:mod:`rtlib.cc.forecast`);
  :mod:`rtlib.cc.scream`: SCReAM's window (RFC 8298);
- :mod:`rtlib.cc.oracle`: a yardstick told the link capacity one round trip late;
  :mod:`rtlib.cc.yardstick`: the omniscient floor, the oracle's frontier F(d) and the
  delay budget D; :mod:`rtlib.cc.selfclocked_lab`: chapter 08's self-clocked section;
- :mod:`rtlib.cc.feedback`: transport-wide feedback, REMB and PLI as RTCP bytes;
- :mod:`rtlib.cc.media`: encoder model, audio, pacer; :mod:`rtlib.cc.tcp`: a Reno-like TCP;
- :mod:`rtlib.cc.call`: the closed-loop simulation (:func:`simulate_call`, :class:`CallSim`);
- :mod:`rtlib.cc.scenarios`: RFC 8867 cases and traces (:func:`run_scenario`, :func:`run_trace`).

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from rtlib.cc.base import FixedRate, LossAimd, PacketResult, RateController
from rtlib.cc.gcc import GccController
from rtlib.cc.aiortc_remb import AiortcRembController
from rtlib.cc.oracle import LaggedOracle
from rtlib.cc.scream import ScreamController
from rtlib.cc.forecast import StochasticForecaster
from rtlib.cc.selfclocked import ArrivalRateEstimator, SelfClockedController, SproutController
from rtlib.cc.call import CONTROLLERS, CallResult, CallSim, FlowSpec, make_controller, simulate_call
from rtlib.cc.scenarios import SCENARIOS, run_scenario, run_trace

__all__ = [
    "ArrivalRateEstimator", "ScreamController", "SelfClockedController", "SproutController", "StochasticForecaster", "CONTROLLERS", "SCENARIOS", "AiortcRembController", "CallResult", "CallSim", "FixedRate", "FlowSpec",
    "GccController", "LaggedOracle", "LossAimd", "PacketResult", "RateController", "make_controller", "run_scenario",
    "run_trace", "simulate_call",
]
