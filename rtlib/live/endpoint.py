"""The rtlib call, live: two sans-IO endpoints over real UDP on 127.0.0.1, through the impairment relay.

The protocol code is the simulator's: :class:`rtlib.live.endpoint_core.EndpointCore` wires
:mod:`rtlib.rtp`'s :class:`~rtlib.rtp.RtpSender`/:class:`~rtlib.rtp.RtpReceiver`
(RFC 3550, RFC 4585 NACK, RFC 4588 RTX), :mod:`rtlib.cc`'s GCC
(draft-ietf-rmcat-gcc-02) with transport-wide feedback
(draft-holmer-rmcat-transport-wide-cc-extensions-01), pacer and media models.  This
module is only the shell, twice over:

- :func:`run_rtlib_call`: asyncio.  Each endpoint is one UDP socket (RTP and RTCP
  multiplexed, RFC 5761); every datagram goes through :class:`rtlib.live.relay.UdpRelay`
  (A sends to ``relay.port_for_a``, B to ``relay.port_for_b``), so the relay's live
  :class:`~rtlib.live.impair.Impairment` objects shape the call while it runs.  A timer
  wakes each endpoint at its ``next_deadline_s()``; that is all the driver does.
- :func:`simulate_same_scenario`: the same two endpoint objects in virtual time
  (:class:`rtlib.sim.EventLoop`) over :class:`rtlib.net.Path` (chapter 04's path model,
  with the same delay, jitter, loss, rate and queue), sampled by the same code: the
  run notebooks/12_live_call.ipynb shows beside the live one.

Every 250 ms a :class:`rtlib.live.stats.StatsSample` of the A→B direction is taken from
the endpoints' own state: RTT from A's SR/RR exchange (LSR/DLSR, RFC 3550 6.4.1), jitter
(RFC 3550 A.8, audio stream) and loss (A.3) at B's receiver, bytes on each socket,
rendered frames and W3C freezes (:class:`~rtlib.live.stats.FreezeDetector`), the measured
capture-to-render delay (abs-capture-time, :mod:`rtlib.live.rtp_stamp`) and concealed audio
(:class:`~rtlib.live.stats.AudioGapCounter`).

Used in: notebooks/12_live_call.ipynb, ``python -m rtlib live-call --stack rtlib``.
"""

from __future__ import annotations

import asyncio
import math
import time
from concurrent.futures import ThreadPoolExecutor
from statistics import median

from rtlib.live.endpoint_core import EndpointConfig, EndpointCore
from rtlib.live.impair import Impairment
from rtlib.live.relay import HOST, UdpRelay
from rtlib.live.stats import (
    SAMPLE_INTERVAL_S,
    AudioGapCounter,
    CallStats,
    FreezeDetector,
    RateMeter,
    StatsSample,
    interval_loss,
)
from rtlib.net.sim import Path
from rtlib.sim import EventLoop


# -- sampling (shared by the live and the simulated run) ---------------------------------------
class CallSampler:
    """Turns the state of endpoints ``a`` (sender) and ``b`` (receiver) into StatsSamples of A→B."""

    def __init__(self, a: EndpointCore, b: EndpointCore):
        self.a, self.b = a, b
        self._send = RateMeter()
        self._recv = RateMeter()
        self._send.update(0.0, 0)
        self._recv.update(0.0, 0)
        self._prev_counts: tuple[int, int] | None = None
        self._freeze = FreezeDetector()
        self._audio_gap = AudioGapCounter(48_000)
        self._renders_seen = 0
        self._audio_seen = 0

    def sample(self, t_s: float) -> StatsSample:
        a, b = self.a, self.b
        rtt = a.rtt_s()
        jitter = b.audio_jitter_ms()
        if jitter is None:
            jitter = b.video_jitter_ms()
        lost, received = b.rx_counts()
        loss = interval_loss(self._prev_counts, lost, received) if lost + received > 0 else None
        if lost + received > 0:
            self._prev_counts = (lost, received)
        new = b.renders[self._renders_seen:]
        self._renders_seen = len(b.renders)
        for r_s, _ in new:
            self._freeze.frame(r_s)
        e2e = [(r - c) * 1000 for r, c in new if c is not None]
        for _, _, ts in b.audio_frames[self._audio_seen:]:
            self._audio_gap.frame(ts, 960)
        self._audio_seen = len(b.audio_frames)
        recent = [r for r, _ in b.renders[-200:] if r > t_s - 1.0]
        return StatsSample(
            t_s=round(t_s, 6),
            rtt_ms=None if rtt is None else rtt[1] * 1000,
            jitter_ms=jitter,
            loss_fraction=loss,
            packets_lost=lost if lost + received else None,
            packets_received=received if lost + received else None,
            send_kbps=self._send.update(t_s, a.bytes_sent),
            recv_kbps=self._recv.update(t_s, b.bytes_received),
            frames_decoded=b.frames_rendered,
            fps=len(recent) / min(max(t_s, 1e-9), 1.0),
            freeze_count=self._freeze.freeze_count,
            freeze_s=self._freeze.freeze_s,
            e2e_delay_ms=median(e2e) if e2e else None,
            audio_concealed_ms=self._audio_gap.concealed_ms,
        )


def _details(a: EndpointCore, b: EndpointCore) -> dict:
    """What the endpoints did besides the samples (for tests and the notebook's closing table)."""
    gcc = a.controller
    return {
        "frames_encoded": a.frames_encoded, "frames_rendered": b.frames_rendered,
        "frames_discarded": b.frames_discarded, "keyframes_rendered": b.keyframes_rendered,
        "plis_sent": b.plis_sent, "nacks_sent": b.video_rx.nacks_sent, "rtx_sent": a.video_tx.retransmitted,
        "rtx_repaired": b.video_rx.rtx_repaired, "encoder_rebuilds": a.video.rebuilds,
        "target_kbps_final": gcc.target_rate_bps / 1000,
        "target_kbps": [(round(t, 3), round(r / 1000, 1)) for t, r in a.target_log],
        "rtt_samples": len(a.audio_tx.rtt_samples) + len(a.video_tx.rtt_samples),
        "invalid": a.invalid + b.invalid,
    }


def _check_seconds(seconds) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.5 <= seconds <= 3600:
        raise ValueError(f"seconds must be in [0.5, 3600] s, got {seconds!r}")
    return float(seconds)


# -- the asyncio shell ------------------------------------------------------------------------
class _Wakeable:
    """One timer per driver: wake the core at its next deadline (``loop.call_at`` of asyncio or
    of rtlib.sim, both of which return a handle with ``cancel()``); re-armed only when it moves."""

    _handle = None
    _handle_at = math.inf

    def wake(self) -> None:
        raise NotImplementedError

    def _arm(self, at: float) -> None:
        if at != self._handle_at:
            if self._handle is not None:
                self._handle.cancel()
            self._handle_at = at
            self._handle = self.loop.call_at(at, self._fire) if math.isfinite(at) else None

    def _fire(self) -> None:
        self._handle, self._handle_at = None, math.inf
        self.wake()


class _LiveDriver(_Wakeable, asyncio.DatagramProtocol):
    """Feeds one EndpointCore with datagrams and the time; sends what it returns."""

    def __init__(self, core: EndpointCore, t0: float, peer: tuple[str, int]):
        self.core, self.t0, self.peer = core, t0, peer
        core.encode_inline = False
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"rtlib-encoder-{core.name}")
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.DatagramTransport | None = None
        self.send_errors = 0
        self.encode_errors = 0

    def connection_made(self, transport):
        self.transport = transport

    def now_s(self) -> float:
        return max(self.loop.time() - self.t0, 0.0)

    def datagram_received(self, data, addr):
        self.core.receive(data, self.now_s())
        self.wake()

    def error_received(self, exc):  # ICMP port unreachable after the relay closed
        self.send_errors += 1

    def wake(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        for d in self.core.poll(self.now_s()):
            self.transport.sendto(d, self.peer)
        for job in self.core.take_encode_jobs():  # one worker: jobs run in order
            self._encoder.submit(job.run).add_done_callback(
                lambda f, j=job: self.loop.call_soon_threadsafe(self._encoded, j, f))
        self._arm(self.t0 + self.core.next_deadline_s())

    def _encoded(self, job, fut) -> None:
        if fut.cancelled() or self.transport is None or self.transport.is_closing():
            return
        if fut.exception() is not None:
            self.encode_errors += 1
            return
        self.core.encoded(job, self.now_s())
        self.wake()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._encoder.shutdown(wait=True, cancel_futures=True)
        if self.transport is not None:
            self.transport.close()


async def run_rtlib_call(*, seconds: float, forward: Impairment | None = None, backward: Impairment | None = None,
                         seed: int = 0,
                         pcap: str | None = None, on_sample=None, relay: UdpRelay | None = None,
                         config: EndpointConfig | None = None) -> CallStats:
    """Run a two-way rtlib call for ``seconds`` through the impairment relay; return its statistics.

    ``forward`` / ``backward``: the A→B / B→A impairments (None: an unimpaired direction),
    used to create a relay when ``relay`` is None; that relay writes ``pcap`` and is
    closed at the end.  A given
    ``relay`` is used as it is (its own ``forward``/``backward`` apply) and left open.
    ``on_sample(sample)`` is called with each :class:`StatsSample` (every 250 ms) while
    the call runs.  ``config``: the endpoints' :class:`EndpointConfig` (default: real
    Opus + VP8, GCC from 300 kbit/s).  The returned :class:`CallStats` has the samples
    and, in ``config``, the scenario and ``config["rtlib"]``: what the endpoints did
    (frames, PLIs, NACKs, RTX, GCC's target over time), ``config["relay"]`` (its counters)
    and ``config["loop_lag_ms"]`` (how late the sampler's timer fired: when the machine
    is busy, every datagram is late by as much, and the measured delays include it).

    Everything opened is closed before returning, also on error or cancellation.
    """
    seconds = _check_seconds(seconds)
    config = config or EndpointConfig()
    own_relay = relay is None
    if own_relay:
        relay = await UdpRelay.start(forward=forward, backward=backward, seed=seed, pcap=pcap)
    loop = asyncio.get_running_loop()
    epoch_s = time.time()
    t0 = loop.time()
    a = b = None
    drivers: list[_LiveDriver] = []
    stats = CallStats(config={"stack": "rtlib", "seconds": seconds, "seed": seed, "media": config.media,
                              "forward": relay.forward.to_dict(), "backward": relay.backward.to_dict()})
    try:
        a = EndpointCore(0, config, seed=seed, epoch_s=epoch_s)
        b = EndpointCore(1, config, seed=seed, epoch_s=epoch_s)
        for core, port in ((a, relay.port_for_a), (b, relay.port_for_b)):
            _, drv = await loop.create_datagram_endpoint(
                lambda c=core, p=port: _LiveDriver(c, t0, (HOST, p)), local_addr=(HOST, 0))
            drivers.append(drv)
        # tell the relay who A and B are now (a relay passed in may have served an earlier call)
        relay.connect(drivers[0].transport.get_extra_info("sockname")[:2],
                      drivers[1].transport.get_extra_info("sockname")[:2])
        t0 = loop.time()
        for drv in drivers:
            drv.t0 = t0
        a.start(0.0)
        b.start(0.0)
        for drv in drivers:
            drv.wake()
        sampler = CallSampler(a, b)
        n = int(round(seconds / SAMPLE_INTERVAL_S))
        lag_ms = []
        for k in range(1, n + 1):
            await asyncio.sleep(max(t0 + k * SAMPLE_INTERVAL_S - loop.time(), 0.0))
            lag_ms.append((loop.time() - t0 - k * SAMPLE_INTERVAL_S) * 1000)
            s = sampler.sample(k * SAMPLE_INTERVAL_S)
            stats.add(s)
            if on_sample is not None:
                on_sample(s)
        stats.config["rtlib"] = _details(a, b)
        stats.config["rtlib"]["encode_errors"] = sum(d.encode_errors for d in drivers)
        stats.config["relay"] = relay.counters()
        # how late the 250 ms sampler woke: a busy machine delays every packet the same way
        lag_ms.sort()
        stats.config["loop_lag_ms"] = {"p50": lag_ms[len(lag_ms) // 2], "p95": lag_ms[int(0.95 * (len(lag_ms) - 1))],
                                       "max": lag_ms[-1]}
    finally:
        for core in (a, b):
            if core is not None:
                core.stop()
        for drv in drivers:
            drv.close()
        if own_relay:
            await relay.close()
        await asyncio.sleep(0)  # let the transports run connection_lost
    return stats


# -- the same scenario in virtual time --------------------------------------------------------
def path_params(imp: Impairment) -> dict:
    """:class:`rtlib.net.Path` keyword arguments meaning what ``imp`` means in the relay."""
    if imp.outage:
        raise ValueError("outage=True cannot be simulated as a fixed path; simulate without it")
    return dict(delay_ms=imp.delay_ms, jitter_ms=imp.jitter_ms, jitter_dist=imp.jitter_dist, reorder=imp.reorder,
                loss=imp.loss, burst_len=imp.burst_len, pareto_shape=imp.pareto_shape,
                capacity_bps=None if imp.rate_kbps is None else imp.rate_kbps * 1000.0,
                queue_limit_ms=None if imp.rate_kbps is None else imp.queue_ms)


class _SimDriver(_Wakeable):
    def __init__(self, core: EndpointCore, loop: EventLoop, path: Path, peer: "_SimDriver | None" = None):
        self.core, self.loop, self.path, self.peer = core, loop, path, peer

    def on_datagram(self, data: bytes) -> None:
        self.core.receive(data, self.loop.time())
        self.wake()

    def wake(self) -> None:
        for d in self.core.poll(self.loop.time()):
            self.path.send(d, len(d), self.peer.on_datagram)  # UDP payload bytes, as the relay counts them
        self._arm(self.core.next_deadline_s())


def simulate_same_scenario(*, seconds: float, forward: Impairment, backward: Impairment, seed: int = 0,
                           on_sample=None, config: EndpointConfig | None = None) -> CallStats:
    """The call of :func:`run_rtlib_call`, same endpoints and sampler, in virtual time over rtlib.net paths.

    ``forward``/``backward`` become :class:`rtlib.net.Path` objects with the same
    parameters (:func:`path_params`); the result has the same :class:`CallStats` format,
    so ``live.summary()`` and ``sim.summary()`` compare field by field.  The media
    models and the random streams are seeded by ``seed``, so a re-run gives the same numbers.
    """
    seconds = _check_seconds(seconds)
    config = config or EndpointConfig()
    loop = EventLoop()
    a = EndpointCore(0, config, seed=seed)
    b = EndpointCore(1, config, seed=seed)
    fwd = Path(loop, seed=seed, stream="forward", name="forward", **path_params(forward))
    bwd = Path(loop, seed=seed, stream="backward", name="backward", **path_params(backward))
    da, db = _SimDriver(a, loop, fwd), _SimDriver(b, loop, bwd)
    da.peer, db.peer = db, da
    stats = CallStats(config={"stack": "rtlib-sim", "seconds": seconds, "seed": seed, "media": config.media,
                              "forward": forward.to_dict(), "backward": backward.to_dict()})
    sampler = CallSampler(a, b)

    def take(k: int) -> None:
        s = sampler.sample(k * SAMPLE_INTERVAL_S)
        stats.add(s)
        if on_sample is not None:
            on_sample(s)

    n = int(round(seconds / SAMPLE_INTERVAL_S))
    for k in range(1, n + 1):
        loop.call_at(k * SAMPLE_INTERVAL_S, take, k)
    a.start(0.0)
    b.start(0.0)
    da.wake()
    db.wake()
    loop.run(until=n * SAMPLE_INTERVAL_S)
    stats.config["rtlib"] = _details(a, b)
    stats.config["paths"] = {"forward": fwd.stats(), "backward": bwd.stats()}
    return stats


__all__ = ["CallSampler", "EndpointConfig", "path_params", "run_rtlib_call", "simulate_same_scenario"]
