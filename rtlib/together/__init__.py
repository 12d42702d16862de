"""Watch together: a video played in sync by viewers in different cities (chapter 13).

- :mod:`rtlib.together.clock`: device clocks, NTP's offset and delay (RFC 5905 section 8),
  the best-of-N estimator;
- :mod:`rtlib.together.player`: a player's position and drift correction by rate or seek;
- :mod:`rtlib.together.protocol`: the sans-IO leader and followers;
- :mod:`rtlib.together.paths`: the IM machine and the RTC data path on the simulator;
- :mod:`rtlib.together.session`: a scripted session and its sync error;
- :mod:`rtlib.together.product`: the online-class plan (machine, architecture, budget, cost).

Used in: notebooks/13_capstone.ipynb.
"""

from rtlib.together.clock import DeviceClock, NtpSample, OffsetEstimator, ntp_sample, offset_error_s
from rtlib.together.player import Player, RateController
from rtlib.together.protocol import Follower, Leader
from rtlib.together.session import SessionResult, run_session

__all__ = ["DeviceClock", "Follower", "Leader", "NtpSample", "OffsetEstimator", "Player", "RateController",
           "SessionResult", "ntp_sample", "offset_error_s", "run_session"]
