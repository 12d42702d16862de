"""Jitter buffers and playout: trade playout delay against late loss.

| module | concept |
| --- | --- |
| :mod:`~rtlib.media.jitter.trace` | a packet trace: send and arrival time of each frame |
| :mod:`~rtlib.media.jitter.scenarios` | the chapter's jitter scenarios (steady, wifi, spikes, congestion) |
| :mod:`~rtlib.media.jitter.playout` | playing a trace through a policy; late loss, delay, time stretched |
| :mod:`~rtlib.media.jitter.fixed` | fixed buffer and fixed delay |
| :mod:`~rtlib.media.jitter.adaptive` | Ramjee et al.'s adaptive estimator, ``d + K·v`` |
| :mod:`~rtlib.media.jitter.quantile` | a NetEQ-like histogram (quantile) buffer |
| :mod:`~rtlib.media.jitter.oracle` | the best fixed delay in hindsight |
| :mod:`~rtlib.media.jitter.buffer` | a sans-IO jitter buffer that holds packets and hands out frames |

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from rtlib.media.jitter.adaptive import AdaptivePlayout, adaptive_estimates
from rtlib.media.jitter.fixed import FixedBuffer, FixedDelay
from rtlib.media.jitter.oracle import compare_to_oracle, late_loss_at, oracle_curve, oracle_delay_s, oracle_result
from rtlib.media.jitter.playout import PlayoutPolicy, PlayoutResult, late_packets, play_trace
from rtlib.media.jitter.quantile import QuantileBuffer
from rtlib.media.jitter.scenarios import SCENARIOS, make_scenario
from rtlib.media.jitter.trace import PacketTrace, continuous_trace

__all__ = [
    "AdaptivePlayout", "FixedBuffer", "FixedDelay", "PacketTrace", "PlayoutPolicy", "PlayoutResult",
    "QuantileBuffer", "SCENARIOS", "adaptive_estimates", "compare_to_oracle", "continuous_trace",
    "late_loss_at", "late_packets", "make_scenario", "oracle_curve", "oracle_delay_s", "oracle_result", "play_trace",
]
