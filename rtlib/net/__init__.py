"""Links and paths: delay, jitter, loss, bottleneck queues and capacity traces.

- :func:`simulate_path` (open loop, vectorised): send times in, arrival times out,
  through random or bursty loss, a FIFO bottleneck with tail drop, delay and jitter.
- :class:`Path` / :class:`DuplexPath` (closed loop): the same model as components
  of an :class:`rtlib.sim.EventLoop`, ``path.send(packet, size_bytes, on_arrival)``.
- capacity models (:mod:`rtlib.net.capacity`) and traces (:mod:`rtlib.net.traces`):
  constant, RFC 8867 step patterns, Mahimahi traces, a synthetic cellular generator;
  other users' traffic sharing the bottleneck (:func:`poisson_cross_traffic`).

Used in: notebooks/04_network.ipynb and every chapter that simulates a path.
"""

from rtlib.net.capacity import Capacity, ConstantCapacity, OpportunityTrace, StepCapacity, as_capacity
from rtlib.net.loss import burst_lengths, burst_ratio, gilbert_params, loss_pattern
from rtlib.net.path import PathResult, poisson_cross_traffic, simulate_path
from rtlib.net.sim import DuplexPath, Path

__all__ = [
    "Capacity",
    "ConstantCapacity",
    "DuplexPath",
    "OpportunityTrace",
    "Path",
    "PathResult",
    "StepCapacity",
    "as_capacity",
    "burst_lengths",
    "burst_ratio",
    "gilbert_params",
    "loss_pattern",
    "poisson_cross_traffic",
    "simulate_path",
]
