"""Named test scenarios: RFC 8867 cases, constant links, cellular traces.

RFC 8867 ("Test Cases for Evaluating Congestion Control for Interactive Real-Time
Media") fixes a default path for its cases: 50 ms one-way propagation delay, a
tail-drop bottleneck queue of 300 ms, no random loss; we use it unless a case says
otherwise.  The cases here:

- ``rfc8867-5.1`` variable available capacity, one flow: 1.0 Mbit/s, 2.5 from 40 s,
  0.6 from 60 s, 1.0 from 80 s; 100 s.
- ``rfc8867-5.2`` variable available capacity, two flows: 4.0, 2.0 from 25 s, 3.5
  from 50 s, 1.0 from 75 s, 2.0 from 100 s; 125 s.
- ``rfc8867-5.4`` three flows with the same controller on 3.5 Mbit/s, starting at 0,
  20 and 40 s; 120 s.
- ``rfc8867-5.6`` one media flow (from 5 s) against a long TCP flow (from 0 s) on
  2 Mbit/s; 120 s.
- ``constant`` a 2.5 Mbit/s link for 60 s (the convergence check).
- ``cellular-walk`` / ``cellular-drive``: the course's synthetic cellular traces
  (data/traces, :func:`rtlib.net.traces.synthetic_cellular`); 60 s.

Capacity steps come from :mod:`rtlib.net.traces`.  Our video encoder spans
100 kbit/s to 3 Mbit/s (plus 32 kbit/s of audio), so the 2.5 Mbit/s phase of 5.1 can
be filled; the ns-3 reference set-up of the RMCAT group used 150 kbit/s-1.5 Mbit/s.

Used in: notebooks/08_adaptive_bitrate.ipynb, ``python -m rtlib abr``, benchmarks/bench_cc.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Callable

from rtlib.cc.call import CallResult, CallSim, FlowSpec
from rtlib.net import ConstantCapacity
from rtlib.net import traces as net_traces


@dataclass(frozen=True)
class Scenario:
    """A named test: a capacity, a duration, media flows (start, stop) and TCP flows."""

    name: str
    description: str
    capacity: Callable[[], object]
    duration_s: float
    media: tuple[tuple[float, float | None], ...] = ((0.0, None),)
    tcp: tuple[tuple[float, float | None], ...] = ()
    reference: str = ""


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("rfc8867-5.1", "variable capacity (1 / 2.5 / 0.6 / 1 Mbit/s), one flow",
             net_traces.rfc8867_5_1, 100.0, reference="RFC 8867 section 5.1"),
    Scenario("rfc8867-5.2", "variable capacity (4 / 2 / 3.5 / 1 / 2 Mbit/s), two flows",
             net_traces.rfc8867_5_2, 125.0, media=((0.0, None), (0.0, None)), reference="RFC 8867 section 5.2"),
    Scenario("rfc8867-5.4", "three flows on 3.5 Mbit/s, starting at 0, 20 and 40 s",
             lambda: ConstantCapacity(3.5e6), 120.0, media=((0.0, None), (20.0, None), (40.0, None)),
             reference="RFC 8867 section 5.4"),
    Scenario("rfc8867-5.6", "one media flow against a long TCP flow on 2 Mbit/s",
             lambda: ConstantCapacity(2e6), 120.0, media=((5.0, None),), tcp=((0.0, None),),
             reference="RFC 8867 section 5.6"),
    Scenario("constant", "a constant 2.5 Mbit/s link", lambda: ConstantCapacity(2.5e6), 60.0),
    Scenario("cellular-walk", "the course's synthetic cellular trace, walking",
             lambda: net_traces.course_trace("synthetic-cellular-walk"), 60.0),
    Scenario("cellular-drive", "the course's synthetic cellular trace, driving (with outages)",
             lambda: net_traces.course_trace("synthetic-cellular-drive"), 60.0),
)}


def scenario_names() -> list[str]:
    return sorted(SCENARIOS)


def run_scenario(name: str, controller: str = "gcc", *, seed: int = 0, duration_s: float | None = None,
                 controller_args: dict | None = None, **sim_args) -> CallResult:
    """Run scenario ``name`` with every media flow using ``controller``."""
    if name not in SCENARIOS:
        raise ValueError(f"scenario must be one of {scenario_names()}, got {name!r}")
    sc = SCENARIOS[name]
    duration = sc.duration_s if duration_s is None else duration_s
    flows = [FlowSpec(controller, start, stop, controller_args=dict(controller_args or {}))
             for start, stop in sc.media if start < duration]
    return CallSim(sc.capacity(), duration, flows, tcp_flows=[t for t in sc.tcp if t[0] < duration],
                   seed=seed, **sim_args).run()


def run_trace(path, controller: str = "gcc", *, seed: int = 0, duration_s: float | None = None,
              controller_args: dict | None = None, **sim_args) -> CallResult:
    """One media flow over a Mahimahi trace file (its length, or ``duration_s``, at most 300 s)."""
    p = FsPath(path)
    if not p.is_file():
        raise ValueError(f"trace must be an existing Mahimahi trace file, got {str(path)!r}")
    cap = net_traces.load_mahimahi(p)
    duration = min(cap.duration_s, 300.0) if duration_s is None else duration_s
    return CallSim(cap, duration, [FlowSpec(controller, controller_args=dict(controller_args or {}))],
                   seed=seed, **sim_args).run()
