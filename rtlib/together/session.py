"""A watch-together session on the simulator, and its sync error.

:func:`run_session` puts one :class:`~rtlib.together.protocol.Leader` and
``len(cities) − 1`` :class:`~rtlib.together.protocol.Follower` s on one of the two
machines (:mod:`rtlib.together.paths`), each on its own :class:`DeviceClock`
(a random offset of up to ``clock_offset_s`` and a random skew of up to
``skew_ppm``), plays a script of play / seek / pause commands at the leader, and
samples every ``sample_s`` of true time each follower's position minus the
leader's: the **sync error**.  :class:`SessionResult` gives the time series and its
percentiles, over the whole session or within ``window_s`` after each command.

Used in: notebooks/13_capstone.ipynb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rtlib.sim import make_rng
from rtlib.together.clock import DeviceClock
from rtlib.together.paths import ImPaths, RtcPaths
from rtlib.together.player import RateController
from rtlib.together.protocol import CLOCK_SYNC, Follower, Leader
from rtlib.validate import check_number

PATHS = ("im", "rtc")
#: the default script: (time [s], command, argument)
SCRIPT = ((2.0, "play", None), (14.0, "seek", 600.0), (26.0, "pause", None), (31.0, "play", None),
          (43.0, "seek", 1200.0))
DURATION_S = 55.0
#: four friends in four Chinese cities; the IM server in Shanghai
CITIES = ("Shanghai", "Beijing", "Chengdu", "Hong Kong")


@dataclass
class SessionResult:
    """Sync error of one session: ``error_ms[i, j]`` is follower j's position minus the
    leader's at ``t_s[i]`` (true time), in ms."""

    path: str
    t_s: np.ndarray
    error_ms: np.ndarray
    events: tuple
    followers: list
    params: dict = field(default_factory=dict)
    stats: dict = field(default_factory=dict)

    @property
    def abs_error_ms(self) -> np.ndarray:
        return np.abs(self.error_ms)

    @property
    def spread_ms(self) -> np.ndarray:
        """The worst pair at each instant: max − min position over all viewers (leader included), in ms."""
        e = np.column_stack([np.zeros(self.t_s.size), self.error_ms])
        return e.max(axis=1) - e.min(axis=1)

    def mask_after_events(self, window_s: float) -> np.ndarray:
        """Samples within ``window_s`` after a command."""
        m = np.zeros(self.t_s.size, bool)
        for t, _, _ in self.events:
            m |= (self.t_s >= t) & (self.t_s < t + window_s)
        return m

    def percentiles(self, qs=(50, 95, 99), *, window_s: float | None = None, start_s: float | None = None) -> dict:
        """Percentiles of |error| [ms] over all followers, after ``start_s`` (default: the first command)
        or, with ``window_s``, only within ``window_s`` after each command."""
        start = self.events[0][0] if start_s is None else start_s
        m = self.t_s >= start
        if window_s is not None:
            m &= self.mask_after_events(window_s)
        a = self.abs_error_ms[m].ravel()
        return {q: float(np.percentile(a, q)) for q in qs}

    def settle_times_s(self, tolerance_ms: float = 50.0) -> np.ndarray:
        """For each command, the time [s] until every follower is within ``tolerance_ms`` of
        the leader and stays so until the next command (``nan`` if that never happens)."""
        check_number("tolerance_ms", tolerance_ms, 0, 1e9, "ms")
        ends = [e[0] for e in self.events[1:]] + [self.t_s[-1] + 1e-9]
        out = []
        for (t0, _, _), t1 in zip(self.events, ends):
            m = (self.t_s >= t0) & (self.t_s < t1)
            bad = (self.abs_error_ms[m] > tolerance_ms).any(axis=1)
            ts = self.t_s[m]
            if not bad.any():
                out.append(0.0)
            elif bad[-1]:
                out.append(math.nan)
            else:
                out.append(float(ts[np.nonzero(bad)[0][-1] + 1] - t0))
        return np.array(out)

    def steady_mask(self, settle_s: float) -> np.ndarray:
        """Samples more than ``settle_s`` after the last command before them."""
        return (self.t_s >= self.events[0][0]) & ~self.mask_after_events(settle_s)


def _clocks(n: int, seed: int, clock_offset_s: float, skew_ppm: float) -> list[DeviceClock]:
    rng = make_rng(seed, "together-clocks")
    off = rng.uniform(-clock_offset_s, clock_offset_s, n)
    skew = rng.uniform(-skew_ppm, skew_ppm, n)
    return [DeviceClock(float(o), float(s)) for o, s in zip(off, skew)]


def run_session(path: str = "rtc", *, cities=CITIES, script=SCRIPT, duration_s: float = DURATION_S,
                loss: float = 0.02, jitter_ms: float = 10.0, access: str = "4g", server: str = "Shanghai",
                clock_sync: str = "ntp", clock_offset_s: float = 5.0, skew_ppm: float = 50.0,
                ping_interval_s: float = 1.0, state_interval_s: float = 1.0, max_adjust: float = 0.05,
                horizon_s: float = 1.0, seek_threshold_s: float = 0.4, sample_s: float = 0.02,
                seed: int = 0) -> SessionResult:
    """Run a watch-together session over ``path`` ("im" or "rtc"); see the module docstring.

    ``cities``: 2 to 8 viewers (the first leads); ``loss`` in [0, 0.5] per packet or frame
    on both machines alike; ``jitter_ms`` the mean extra delay per packet (RTC) or batch
    of frames (IM); ``clock_sync`` "ntp" or "none".
    """
    if path not in PATHS:
        raise ValueError(f"path must be one of {list(PATHS)}, got {path!r}")
    if clock_sync not in CLOCK_SYNC:
        raise ValueError(f"clock_sync must be one of {list(CLOCK_SYNC)}, got {clock_sync!r}")
    cities = list(cities)
    if not 2 <= len(cities) <= 8:
        raise ValueError(f"cities must name 2 to 8 viewers, got {len(cities)}")
    check_number("duration_s", duration_s, 1, 3600, "s")
    check_number("sample_s", sample_s, 0.001, 10, "s")
    check_number("clock_offset_s", clock_offset_s, 0, 86400, "s")
    check_number("skew_ppm", skew_ppm, 0, 1000, "ppm")
    script = tuple(sorted(script, key=lambda e: e[0]))
    for t, cmd, _ in script:
        if cmd not in ("play", "pause", "seek"):
            raise ValueError(f"script commands must be 'play', 'pause' or 'seek', got {cmd!r}")
        check_number("script time", t, 0, duration_s, "s")
    names = [f"v{i}" for i in range(len(cities))]
    if path == "rtc":
        net = RtcPaths(names, cities, access=access, jitter_ms=jitter_ms, loss=loss, seed=seed)
    else:
        net = ImPaths(names, cities, server=server, access=access, jitter_ms=jitter_ms, loss=loss, seed=seed)
    loop = net.loop
    clocks = dict(zip(names, _clocks(len(names), seed, clock_offset_s, skew_ppm)))
    controller = RateController(max_adjust, horizon_s, seek_threshold_s)
    leader = Leader(names[0], now_s=clocks[names[0]].local(0.0), state_interval_s=state_interval_s)
    nodes = {names[0]: leader}
    for n in names[1:]:
        nodes[n] = Follower(n, names[0], now_s=clocks[n].local(0.0), ping_interval_s=ping_interval_s,
                            controller=controller, clock_sync=clock_sync)
    timers: dict[str, list] = {n: [math.inf, None] for n in names}

    def send(src, outs):
        for dst, msg in outs:
            net.send(src, dst, msg)

    def arm(n):
        local = nodes[n].next_deadline()
        when = max(clocks[n].true(local), loop.time())
        slot = timers[n]
        if when < slot[0] or slot[1] is None or slot[1].cancelled():
            if slot[1] is not None:
                slot[1].cancel()
            slot[0] = when
            slot[1] = loop.call_at(when, fire, n, local)

    def fire(n, local):
        timers[n] = [math.inf, None]
        # the clock's reading at the scheduled instant may round just below the deadline
        now = max(clocks[n].local(loop.time()), local)
        send(n, nodes[n].on_timer(now))
        arm(n)

    def deliver(dst, msg, src):
        send(dst, nodes[dst].on_message(msg, src, clocks[dst].local(loop.time())))
        arm(dst)

    net.deliver = deliver

    def command(cmd, arg):
        now = clocks[names[0]].local(loop.time())
        outs = leader.seek(arg, now) if cmd == "seek" else getattr(leader, cmd)(now)
        send(names[0], outs)
        arm(names[0])

    ts = np.arange(0.0, duration_s + 1e-9, sample_s)
    err = np.empty((ts.size, len(names) - 1))

    def sample(i):
        t = loop.time()
        lp = leader.position(clocks[names[0]].local(t))
        for j, n in enumerate(names[1:]):
            err[i, j] = (nodes[n].position(clocks[n].local(t)) - lp) * 1000.0

    net.start()
    for n in names:
        arm(n)
    for t, cmd, arg in script:
        loop.call_at(t, command, cmd, arg)
    for i, t in enumerate(ts):
        loop.call_at(float(t), sample, i)
    loop.run(until=duration_s)
    followers = [nodes[n] for n in names[1:]]
    stats = {
        "messages_sent": net.sent,
        "messages_stored": net.stored_messages(),
        "seeks": sum(f.player.seeks for f in followers),
        "max_rate_adjust": max(f.max_rate_adjust for f in followers),
        "offset_error_ms": [abs(f.offset_s - (clocks[names[0]].local(duration_s) - clocks[f.name].local(duration_s)))
                            * 1000.0
                            if f.offset_s is not None else math.nan for f in followers],
    }
    params = dict(cities=cities, loss=loss, jitter_ms=jitter_ms, access=access, server=server, clock_sync=clock_sync,
                  seed=seed, duration_s=duration_s)
    return SessionResult(path, ts, err, script, followers, params, stats)


def compare_paths(seeds=range(8), *, window_s: float = 3.0, settle_s: float = 5.0, tolerance_ms: float = 50.0,
                  qs=(50, 95, 99), **kw) -> dict:
    """Both machines, the same sessions (``seeds``): pooled percentiles of |error| [ms] over the
    whole session (``"all"``), within ``window_s`` after each command (``"after"``) and
    more than ``settle_s`` after one (``"steady"``), and the settle times [s] to ``tolerance_ms``."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must name at least one seed")
    out = {}
    for path in PATHS:
        runs = [run_session(path, seed=s, **kw) for s in seeds]
        pooled = {}
        for key in ("all", "after", "steady"):
            parts = []
            for r in runs:
                m = r.t_s >= r.events[0][0]
                if key == "after":
                    m &= r.mask_after_events(window_s)
                elif key == "steady":
                    m = r.steady_mask(settle_s)
                parts.append(r.abs_error_ms[m].ravel())
            a = np.concatenate(parts)
            pooled[key] = {q: float(np.percentile(a, q)) for q in qs}
        settle = np.concatenate([r.settle_times_s(tolerance_ms) for r in runs])
        pooled["settle_s"] = settle
        pooled["runs"] = runs
        pooled["stored"] = sum(r.stats["messages_stored"] for r in runs) / len(runs)
        pooled["offset_error_ms"] = np.concatenate([r.stats["offset_error_ms"] for r in runs])
        out[path] = pooled
    return out
