"""rtlib.sim event throughput next to an equivalent simpy model, in the same run.

The model: 100 periodic timers, each firing every 10–109 ms (a pacer, an RTCP
timer, a media clock ...) until 200,000 events have run.  In rtlib.sim a timer is a
callback that re-schedules itself; in simpy it is a process that yields a timeout,
simpy's idiomatic form of the same thing.
"""

from __future__ import annotations

import simpy

from benchmarks.common import Row, best_of
from rtlib.sim import EventLoop

TIMERS = 100
EVENTS = 200_000
HORIZON_S = 1e9


def periods_s():
    return [0.010 + 0.001 * i for i in range(TIMERS)]


def run_rtlib() -> int:
    loop = EventLoop()
    count = [0]

    def fire(period_s):
        count[0] += 1
        if count[0] >= EVENTS:
            loop.stop()
            return
        loop.call_later(period_s, fire, period_s)

    for p in periods_s():
        loop.call_later(p, fire, p)
    loop.run()
    return count[0]


def run_simpy() -> int:
    env = simpy.Environment()
    count = [0]
    done = env.event()

    def timer(period_s):
        while True:
            yield env.timeout(period_s)
            count[0] += 1
            if count[0] == EVENTS:
                done.succeed()

    for p in periods_s():
        env.process(timer(p))
    env.run(until=done)
    return count[0]


def run() -> list[Row]:
    assert run_rtlib() == EVENTS and run_simpy() == EVENTS
    t_rtlib = best_of(run_rtlib)
    t_simpy = best_of(run_simpy)
    rate_rtlib, rate_simpy = EVENTS / t_rtlib, EVENTS / t_simpy
    return [
        Row("rtlib.sim events per second", rate_rtlib, "events/s", note=f"{TIMERS} periodic timers, {EVENTS:,} events"),
        Row("simpy events per second (same model)", rate_simpy, "events/s", note=f"simpy {simpy.__version__}"),
        Row("rtlib.sim / simpy speed ratio", rate_rtlib / rate_simpy, "×", bar=1.0),
    ]
