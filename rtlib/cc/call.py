"""The closed loop: media flows with rate control across a simulated bottleneck.

One :class:`CallSim` wires, on an :class:`rtlib.sim.EventLoop`:

    encoder + audio -> pacer -> [forward rtlib.net.Path: bottleneck queue, 50 ms] -> receiver
         ^                                                                          |
         |  controller <- RTCP (transport-cc / REMB / PLI bytes) <- [return Path] <-+

for each media flow (several may share the bottleneck, with different controllers),
plus optional Reno-like TCP flows (:mod:`rtlib.cc.tcp`) in the same queue.  Nothing
in the loop knows the capacity: the controllers learn it only from feedback.

The result (:class:`CallResult`) keeps per-packet logs; :meth:`CallResult.report`
bins them every 200 ms (capacity, sending rate, goodput, queueing delay, loss, frame
rate) and :meth:`CallResult.summary` gives the figures the benchmarks and the CLI
print (utilisation, p50/p95 queueing delay, loss, freeze rate, Jain fairness).

Used in: notebooks/08_adaptive_bitrate.ipynb, ``python -m rtlib abr``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from rtlib.cc.aiortc_remb import AiortcRembController, AiortcRembReceiver
from rtlib.cc.base import FixedRate, LossAimd, RateController
from rtlib.cc.feedback import RTCP_OVERHEAD_BYTES, SendHistory, TransportFeedbackReceiver, pli_bytes
from rtlib.cc.gcc import GccController
from rtlib.cc.oracle import LaggedOracle
from rtlib.cc.scream import ScreamController
from rtlib.cc.selfclocked import SelfClockedController, SproutController
from rtlib.cc.media import MAX_PAYLOAD_BYTES, OVERHEAD_BYTES, AudioCbr, Pacer, VideoEncoderModel, packet_sizes
from rtlib.cc.tcp import RenoSender
from rtlib.cc.yardstick import signal_delay_p95_ms
from rtlib.net import Path, as_capacity
from rtlib.rtp.rtcp import Pli, Remb, TransportCC, parse_rtcp
from rtlib.sim import EventLoop

CONTROLLERS: dict[str, type[RateController]] = {
    "gcc": GccController,
    "aimd": LossAimd,
    "fixed": FixedRate,
    "aiortc-remb": AiortcRembController,
    "oracle": LaggedOracle,
    "selfclocked": SelfClockedController,
    "sprout": SproutController,
    "scream": ScreamController,
}


def make_controller(name: str, *, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3,
                    max_rate_bps: float = 10e6, **kwargs) -> RateController:
    """A controller by name: one of ``gcc``, ``aimd``, ``fixed``, ``aiortc-remb``, ``oracle``,
    ``selfclocked`` and ``sprout`` (:mod:`rtlib.cc.selfclocked`, :mod:`rtlib.cc.forecast`),
    ``scream`` (:mod:`rtlib.cc.scream`).

    ``oracle`` (:class:`rtlib.cc.oracle.LaggedOracle`) needs ``capacity=``, the link's
    own; :class:`CallSim` passes it."""
    if name not in CONTROLLERS:
        raise ValueError(f"controller must be one of {sorted(CONTROLLERS)}, got {name!r}")
    return CONTROLLERS[name](start_rate_bps, min_rate_bps, max_rate_bps, **kwargs)


@dataclass
class FlowSpec:
    """One media flow: its controller and when it runs (seconds)."""

    controller: str = "gcc"
    start_s: float = 0.0
    stop_s: float | None = None
    start_rate_bps: float = 300e3
    controller_args: dict = field(default_factory=dict)


class _Pkt:
    __slots__ = ("flow", "seq16", "size", "payload", "enqueue_s", "send_s", "frame", "nfrag", "key", "audio", "abs24")

    def __init__(self, flow, size, payload, frame, nfrag, key, audio, enqueue_s):
        self.flow, self.size, self.payload = flow, size, payload
        self.frame, self.nfrag, self.key, self.audio = frame, nfrag, key, audio
        self.seq16 = 0
        self.enqueue_s = enqueue_s
        self.send_s = 0.0
        self.abs24 = 0


class MediaFlow:
    """One video call direction: sender (encoder, audio, pacer, controller) and receiver."""

    def __init__(self, sim: "CallSim", index: int, spec: FlowSpec):
        self.sim, self.index, self.spec = sim, index, spec
        loop = sim.loop
        self.loop = loop
        self.ssrc = 0x1000 + index
        self.rtcp_ssrc = 0x2000 + index
        self.audio = AudioCbr(sim.audio_rate_bps) if sim.audio_rate_bps else None
        audio_bps = self.audio.wire_rate_bps if self.audio else 0.0
        args = dict(spec.controller_args)
        if spec.controller == "oracle":
            args.setdefault("capacity", sim.capacity)  # the yardstick is told the link's capacity
        self.controller = make_controller(
            spec.controller, start_rate_bps=spec.start_rate_bps,
            min_rate_bps=sim.video_min_bps + audio_bps, max_rate_bps=sim.video_max_bps + audio_bps, **args)
        # a self-clocked controller drives the encoder frame by frame: each frame is sized
        # to the window's room at once (no first-order lag), or skipped when there is none
        self.frame_by_frame = bool(getattr(self.controller, "frame_by_frame", False))
        self.encoder = VideoEncoderModel(start_rate_bps=self._video_target(self.controller.target_rate_bps),
                                         min_rate_bps=sim.video_min_bps, max_rate_bps=sim.video_max_bps,
                                         response_time_s=0.0 if self.frame_by_frame else sim.encoder_response_s, seed=sim.seed,
                                         keyframe_interval_s=sim.keyframe_interval_s, stream=f"video-{index}")
        self.pacer = Pacer(self.controller.target_rate_bps)
        self.history = SendHistory()
        self.remb_mode = self.controller.feedback == "remb"
        self.twcc = TransportFeedbackReceiver(self.rtcp_ssrc, self.ssrc)
        self.remb_rx = AiortcRembReceiver(self.rtcp_ssrc) if self.remb_mode else None
        self.back = Path(loop, delay_ms=sim.return_delay_ms, loss=sim.return_loss, seed=sim.seed,
                         stream=f"return-{index}", name=f"return-{index}")
        self.stop_s = spec.stop_s if spec.stop_s is not None else sim.duration_s
        self._pacing = False
        self._pace_handle = None
        self._window_blocked = False
        self._probe_busy_until = 0.0
        self._probe_windows: list[tuple[int, float, float]] = []
        self._probing_possible = type(self.controller).probes is not RateController.probes
        # logs
        self.log_enqueue: list[float] = []
        self.log_send: list[float] = []
        self.log_size: list[int] = []
        self.log_arrival: list[float] = []
        self.log_audio: list[bool] = []
        self.log_target: list[tuple[float, float]] = [(spec.start_s, self.controller.target_rate_bps)]
        self.render_s: list[float] = []
        self.frames_sent = 0
        self.rtcp_bytes = 0
        # receiver state
        self._frag: dict[int, int] = {}
        self._last_decoded = -1
        self._decodable = False
        self._last_pli_s = -math.inf
        self.plis = 0

    # -- sender ----------------------------------------------------------------------------
    def _video_target(self, total_bps: float) -> float:
        audio = self.audio.wire_rate_bps if self.audio else 0.0
        return max(total_bps - audio, 1.0) * MAX_FRACTION

    def clock_phases_s(self) -> tuple[float, float, float]:
        """(camera, microphone, feedback) phase offsets of this flow's clocks, in seconds.

        The first flow's clocks define time zero.  Every other flow is another sender
        and receiver, whose camera, microphone and feedback timer tick at phases of their
        own: drawn here (seeded by the run's seed and the flow's index) within one frame
        (1/30 s), one audio packet (20 ms) and one feedback interval.  With all phases
        equal, flows that start at round times send their frames and get their reports
        at the same instants, every time, and a flow's samples of the shared queue depend
        on its window size (RFC 8867 5.4 with SCReAM: Jain 0.55 phase-locked, 0.96 with
        independent phases)."""
        if self.index == 0:
            return 0.0, 0.0, 0.0
        rng = np.random.default_rng([self.sim.seed, self.index, 0xC10C])
        a = self.audio.frame_s if self.audio is not None else 0.0
        return (float(rng.uniform(0, 1 / 30)), float(rng.uniform(0, a)),
                float(rng.uniform(0, self.sim.feedback_interval_s)))

    def start(self) -> None:
        t0 = self.spec.start_s
        frame_s, audio_s, feedback_s = self.clock_phases_s()
        self.loop.call_at(t0 + frame_s, self._on_frame)
        if self.audio is not None:
            self.loop.call_at(t0 + audio_s, self._on_audio)
        if not self.remb_mode:
            self.loop.call_at(t0 + feedback_s + self.sim.feedback_interval_s, self._on_feedback_timer)
        self.loop.call_at(t0, self._check_probes)

    def _check_probes(self) -> None:
        now = self.loop.time()
        if now >= self.stop_s:
            return
        t = max(now, self._probe_busy_until)
        for cid, rate, n in self.controller.probes(now):
            size = PROBE_PAYLOAD_BYTES + OVERHEAD_BYTES
            gap = size * 8 / rate
            for k in range(n):  # one cluster after the other, never interleaved
                self.loop.call_at(t + k * gap, self._send_probe, cid)
            # media sent while the cluster goes out is part of it (WebRTC probes with media
            # plus padding), so the cluster measures the whole rate the link delivered
            self._probe_windows.append((cid, t, t + (n - 1) * gap))
            t += n * gap + 0.010
        self._probe_busy_until = t

    def _send_probe(self, cid: int) -> None:
        now = self.loop.time()
        p = _Pkt(self, PROBE_PAYLOAD_BYTES + OVERHEAD_BYTES, PROBE_PAYLOAD_BYTES, -2, 1, False, False, now)
        self._send(p, now, probe=cid)

    def _on_frame(self) -> None:
        now = self.loop.time()
        if now >= self.stop_s:
            return
        if self.pacer.queue_delay_s() > self.sim.frame_drop_queue_s:
            # the transport has not taken the earlier frames yet: drop this one before
            # encoding it rather than queue more (an encoder's frame dropper)
            self.encoder.skip(now)
            self.loop.call_at(self.encoder.next_frame_s, self._on_frame)
            return
        cap = None
        if self.frame_by_frame:
            # rate per frame: the room the window leaves after what is in flight and
            # what the pacer still holds; none (less than a small packet) = skip the frame
            room = (self.controller.congestion_window_bytes(now) - self.history.outstanding_bytes(now)
                    - self.pacer.queued_bytes)
            if room < MIN_FRAME_BYTES:
                self.encoder.skip(now)
                self.loop.call_at(self.encoder.next_frame_s, self._on_frame)
                return
            cap = room - OVERHEAD_BYTES * (1 + room // (MAX_PAYLOAD_BYTES + OVERHEAD_BYTES))
        frame = self.encoder.encode(now, cap)
        self.frames_sent += 1
        sizes = packet_sizes(frame.size_bytes)
        n = len(sizes)
        for payload in sizes:
            self.pacer.enqueue(_Pkt(self, payload + OVERHEAD_BYTES, payload, frame.index, n, frame.keyframe, False,
                                    now), payload + OVERHEAD_BYTES)
        self._kick()
        self.loop.call_at(self.encoder.next_frame_s, self._on_frame)

    def _on_audio(self) -> None:
        now = self.loop.time()
        if now >= self.stop_s:
            return
        a = self.audio
        self.pacer.enqueue(_Pkt(self, a.payload_bytes + OVERHEAD_BYTES, a.payload_bytes, -1, 1, False, True, now),
                           a.payload_bytes + OVERHEAD_BYTES, audio=True)
        self._kick()
        self.loop.call_later(a.frame_s, self._on_audio)

    def _kick(self) -> None:
        if not self._pacing:
            self._pace()
        elif self._window_blocked and self.pacer.audio_waiting():
            self._pace_handle.cancel()  # audio passes a full window at once, not at the next retry
            self._pace()

    def _pace(self) -> None:
        now = self.loop.time()
        window = self.controller.congestion_window_bytes(now)
        room = math.inf if window is None else window - self.history.outstanding_bytes(now)
        self._window_blocked = False
        if room <= 0 and self.pacer.audio_waiting():
            room = 1  # audio is not held back by the window (small, and the most urgent)
        if room <= 0 and len(self.pacer):
            # congestion window full: wait for feedback (``_on_rtcp`` kicks the pacer),
            # or for in-flight packets to time out
            self._window_blocked = True
            self._pacing = True
            self._pace_handle = self.loop.call_at(now + WINDOW_RETRY_S, self._pace)
            return
        pkts, nxt = self.pacer.poll(now, room)
        send = self._send
        for p in pkts:
            send(p, now)
        if nxt is None:
            self._pacing = False
        else:
            self._pacing = True
            self._pace_handle = self.loop.call_at(nxt, self._pace)

    def _send(self, p: _Pkt, now: float, probe: int | None = None) -> None:
        p.send_s = now
        p.seq16 = self.history.next_seq(now, p.size)
        if self._probe_windows:
            self._register_probe(p, now, probe)
        if self.remb_mode:
            p.abs24 = int(now * 262144.0) & 0xFFFFFF  # abs-send-time, 6.18 fixed point (64 s wrap)
        arrival = self.sim.forward.send(p, p.size, self._on_arrival)
        self.log_enqueue.append(p.enqueue_s)
        self.log_send.append(now)
        self.log_size.append(p.size)
        self.log_arrival.append(math.nan if arrival is None else arrival)
        self.log_audio.append(p.audio)

    def _register_probe(self, p: _Pkt, now: float, probe: int | None) -> None:
        wins = self._probe_windows
        while wins and wins[0][2] < now and wins[0][0] != probe:
            wins.pop(0)
        for cid, t0, t1 in wins:
            if cid == probe or t0 <= now <= t1:
                self.controller.on_packet_sent(now, self.history.last_seq, p.size, cid, padding=cid == probe)
                break

    def _on_rtcp(self, data: bytes) -> None:
        now = self.loop.time()
        c = self.controller
        for pkt in parse_rtcp(data):
            if isinstance(pkt, TransportCC):
                if self.frame_by_frame:
                    c.bytes_in_flight = self.history.outstanding_bytes(now)
                results, rtt = self.history.results(pkt, now)
                c.on_packet_results(now, results, rtt)
            elif isinstance(pkt, Remb):
                c.on_remb(now, pkt.bitrate_bps)
            elif isinstance(pkt, Pli):
                self.encoder.request_keyframe()
        target = c.target_rate_bps
        if self._probing_possible:
            self._check_probes()
        self.pacer.set_rate(target)
        self.encoder.set_target(self._video_target(target))
        self.log_target.append((now, target))
        if self._window_blocked:  # feedback freed room in the window: send at once
            self._pace_handle.cancel()
            self._pace()

    # -- receiver ---------------------------------------------------------------------------
    def _send_rtcp(self, data: bytes) -> None:
        self.rtcp_bytes += len(data) + RTCP_OVERHEAD_BYTES
        self.back.send(data, len(data) + RTCP_OVERHEAD_BYTES, self._on_rtcp)

    def _on_feedback_timer(self) -> None:
        now = self.loop.time()
        data = self.twcc.build(now)
        if data is not None:
            self._send_rtcp(data)
        if now < self.stop_s + 1.0:
            self.loop.call_later(self.sim.feedback_interval_s, self._on_feedback_timer)

    def _on_arrival(self, p: _Pkt) -> None:
        now = self.loop.time()
        if self.remb_mode:
            out = self.remb_rx.on_packet(now, p.abs24, p.payload, self.ssrc)
            if out is not None:
                self._send_rtcp(out)
        else:
            self.twcc.on_packet(p.seq16, now)
        if p.audio or p.frame < 0:  # audio, or probe padding
            return
        frag = self._frag
        got = frag.get(p.frame, 0) + 1
        if got < p.nfrag:
            frag[p.frame] = got
            return
        frag.pop(p.frame, None)
        idx = p.frame
        if p.key or (self._decodable and idx == self._last_decoded + 1):
            self._decodable = True
            self._last_decoded = idx
            self.render_s.append(now)
        else:
            # an earlier frame was lost: the decoder waits for a keyframe, ask for one
            self._decodable = False
            if now - self._last_pli_s >= self.sim.pli_interval_s:
                self._last_pli_s = now
                self.plis += 1
                self._send_rtcp(pli_bytes(self.rtcp_ssrc, self.ssrc))
        if len(frag) > 64:  # frames that lost a packet never complete
            for k in [k for k in frag if k < idx]:
                del frag[k]

    def log(self) -> "FlowLog":
        t = np.array(self.log_target)
        trace = getattr(self.controller, "trace", None)
        return FlowLog(
            kind="media", name=f"{self.spec.controller} #{self.index + 1}", controller=self.spec.controller,
            start_s=self.spec.start_s, stop_s=self.stop_s, enqueue_s=np.array(self.log_enqueue),
            send_s=np.array(self.log_send), size_bytes=np.array(self.log_size, dtype=float),
            arrival_s=np.array(self.log_arrival), audio=np.array(self.log_audio, dtype=bool),
            target_t_s=t[:, 0], target_bps=t[:, 1], render_s=np.array(self.render_s),
            max_rate_bps=self.controller.max_rate_bps,
            extra={"keyframes": self.encoder.keyframes, "plis": self.plis, "frames_sent": self.frames_sent,
                   "frames_skipped": self.encoder.frames_skipped,
                   "rtcp_bytes": self.rtcp_bytes,
                   "gcc_trace": np.array(trace, dtype=object) if trace else None},
        )


#: Padding bytes in a probe packet (RTP padding, RFC 3550 5.1).
PROBE_PAYLOAD_BYTES = 1200

#: How often a pacer blocked by a full congestion window looks again when no feedback
#: comes (in-flight packets time out of the window; see SendHistory).
WINDOW_RETRY_S = 0.010

#: The smallest room (bytes) in a congestion window worth encoding a frame into, for
#: controllers whose encoder follows the window frame by frame.
MIN_FRAME_BYTES = 300

#: Fraction of the video share of the target given to the encoder as payload: the
#: rest pays for the 52 header bytes of each (up to 1252-byte) packet.
MAX_FRACTION = 1200 / (1200 + OVERHEAD_BYTES)


class TcpFlow:
    """A bulk TCP transfer across the same bottleneck (Reno-like, :mod:`rtlib.cc.tcp`)."""

    def __init__(self, sim: "CallSim", index: int, start_s: float, stop_s: float | None):
        self.sim, self.index = sim, index
        self.loop = sim.loop
        self.start_s = start_s
        self.stop_s = stop_s if stop_s is not None else sim.duration_s
        self.sender = RenoSender()
        self.back = Path(self.loop, delay_ms=sim.return_delay_ms, seed=sim.seed, stream=f"tcp-ack-{index}")
        self._timer = False
        self.log_send: list[float] = []
        self.log_arrival: list[float] = []

    def start(self) -> None:
        self.loop.call_at(self.start_s, self._fill)

    def _fill(self) -> None:
        now = self.loop.time()
        if now >= self.stop_s:
            return
        s = self.sender
        size = s.segment_bytes
        fwd = self.sim.forward
        while s.can_send():
            seq = s.send(now)
            arrival = fwd.send(seq, size, self._on_data)
            self.log_send.append(now)
            self.log_arrival.append(math.nan if arrival is None else arrival)
        if not self._timer:
            due = s.timeout_due()
            if due is not None:
                self._timer = True
                self.loop.call_at(due, self._on_timer)

    def _on_data(self, seq: int) -> None:
        self.back.send(seq, 40, self._on_ack)  # a 40-byte ACK

    def _on_ack(self, seq: int) -> None:
        self.sender.on_ack(seq, self.loop.time())
        self._fill()

    def _on_timer(self) -> None:
        self._timer = False
        now = self.loop.time()
        due = self.sender.timeout_due()
        if due is None:
            return
        if now >= due:
            self.sender.on_timeout(now)
            self._fill()
        else:
            self._timer = True
            self.loop.call_at(due, self._on_timer)

    def log(self) -> "FlowLog":
        n = len(self.log_send)
        return FlowLog(kind="tcp", name=f"TCP #{self.index + 1}", controller="reno", start_s=self.start_s,
                       stop_s=self.stop_s, send_s=np.array(self.log_send),
                       size_bytes=np.full(n, float(self.sender.segment_bytes)), arrival_s=np.array(self.log_arrival),
                       audio=np.zeros(n, dtype=bool), target_t_s=np.array([]), target_bps=np.array([]),
                       render_s=np.array([]), max_rate_bps=math.inf,
                       extra={"losses": self.sender.losses, "timeouts": self.sender.timeouts})


@dataclass
class FlowLog:
    """Per-packet log of one flow (media or TCP)."""

    kind: str
    name: str
    controller: str
    start_s: float
    stop_s: float
    send_s: np.ndarray
    size_bytes: np.ndarray
    arrival_s: np.ndarray   # NaN: lost
    audio: np.ndarray
    target_t_s: np.ndarray
    target_bps: np.ndarray
    render_s: np.ndarray
    max_rate_bps: float
    extra: dict = field(default_factory=dict)
    enqueue_s: np.ndarray | None = None  # when the sender queued each packet (None: = send_s)

    def __post_init__(self):
        if self.enqueue_s is None:
            self.enqueue_s = self.send_s

    @property
    def lost(self) -> np.ndarray:
        return np.isnan(self.arrival_s)


def freeze_time_s(render_s: np.ndarray, end_s: float) -> float:
    """Total frozen time, by WebRTC's rule for its freeze statistics.

    A freeze is an interval between two rendered frames longer than
    ``max(3 * avg, avg + 150 ms)``, ``avg`` being the mean of the last 30 normal
    intervals; an interval that long counts whole.  The time from the last frame to
    ``end_s`` counts too, so a stream that stops rendering is not called smooth.
    """
    r = np.asarray(render_s, dtype=float)
    if r.size < 2:
        return max(end_s - (r[0] if r.size else end_s), 0.0)
    gaps = np.diff(np.append(r, max(end_s, r[-1])))
    recent: list[float] = []
    total = 0.0
    for g in gaps.tolist():
        avg = sum(recent) / len(recent) if recent else 1 / 30
        if g > max(3 * avg, avg + 0.150):
            total += g
        else:
            recent.append(g)
            if len(recent) > 30:
                recent.pop(0)
    return total


def frames_per_second(render_s: np.ndarray, at_s: np.ndarray, window_s: float = 1.0) -> np.ndarray:
    """Frames rendered in the ``window_s`` before each time of ``at_s``, per second.

    A frame rate over one second, as a player's overlay reports it.  Counting 200 ms
    bins instead would show 35 fps from a 30 fps encoder whenever one bin happens to
    hold seven frames.  The value can still exceed the encoder's rate for a moment
    when a draining queue delivers delayed frames in a burst (the player renders
    each frame as soon as it is complete).  Before ``window_s`` has passed, the
    count is divided by the time so far.
    """
    render_s = np.sort(np.asarray(render_s, dtype=float))
    at_s = np.asarray(at_s, dtype=float)
    hi = np.searchsorted(render_s, at_s, side="right")
    lo = np.searchsorted(render_s, at_s - window_s, side="right")
    span_s = np.clip(np.minimum(at_s, window_s), 1e-9, None)
    return (hi - lo) / span_s


def jain_index(x) -> float:
    """Jain's fairness index (sum x)^2 / (n sum x^2): 1 = equal shares, 1/n = one takes all."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or not np.any(x > 0):
        return float("nan")
    return float(x.sum() ** 2 / (x.size * np.sum(x * x)))


@dataclass
class CallResult:
    """The logs of one closed-loop run; ``report()`` bins them, ``summary()`` sums them up."""

    duration_s: float
    capacity: object
    delay_s: float
    flows: list[FlowLog]
    params: dict
    events: int = 0

    @property
    def media(self) -> list[FlowLog]:
        return [f for f in self.flows if f.kind == "media"]

    def capacity_bps(self, edges: np.ndarray) -> np.ndarray:
        return self.capacity.rate_bps(edges)

    def report(self, bin_s: float = 0.2) -> dict:
        """Every ``bin_s`` (200 ms): capacity and, per flow, sending rate, goodput, queueing
        delay, loss, frame rate and target.  Arrays of one value per bin (``t_s`` = bin start).

        ``fps`` is the frames rendered in the second up to the bin's end (see
        :func:`frames_per_second`), as a player's statistics overlay shows it."""
        if not 0.01 <= bin_s <= 10:
            raise ValueError(f"bin_s must be in [0.01, 10] s, got {bin_s!r}")
        edges = np.arange(0.0, self.duration_s + bin_s / 2, bin_s)
        nb = edges.size - 1
        out = {"t_s": edges[:-1], "bin_s": bin_s, "capacity_bps": self.capacity_bps(edges), "flows": []}
        for f in self.flows:
            ok = ~f.lost
            sent_b = np.histogram(f.send_s, edges, weights=f.size_bytes)[0]
            got_b = np.histogram(f.arrival_s[ok], edges, weights=f.size_bytes[ok])[0]
            n_sent = np.histogram(f.send_s, edges)[0]
            n_lost = np.histogram(f.send_s[~ok], edges)[0]
            qd = (f.arrival_s[ok] - f.enqueue_s[ok] - self.delay_s) * 1000
            n_arr = np.histogram(f.arrival_s[ok], edges)[0]
            q_sum = np.histogram(f.arrival_s[ok], edges, weights=qd)[0]
            with np.errstate(invalid="ignore", divide="ignore"):
                qmean = np.where(n_arr > 0, q_sum / np.maximum(n_arr, 1), np.nan)
                loss = np.where(n_sent > 0, n_lost / np.maximum(n_sent, 1), np.nan)
            fps = frames_per_second(f.render_s, edges[1:])
            if f.target_t_s.size:
                k = np.clip(np.searchsorted(f.target_t_s, edges[:-1], side="right") - 1, 0, None)
                target = f.target_bps[k]
            else:
                target = np.full(nb, np.nan)
            active = (edges[:-1] >= f.start_s) & (edges[:-1] < f.stop_s)
            out["flows"].append({
                "name": f.name, "kind": f.kind, "send_bps": sent_b * 8 / bin_s, "goodput_bps": got_b * 8 / bin_s,
                "queue_delay_ms": qmean, "loss": loss, "fps": fps, "target_bps": target, "active": active,
            })
        return out

    def summary(self, warmup_s: float = 0.0) -> dict:
        """The headline figures over the run (after ``warmup_s``), media flows pooled.

        - ``utilization``: media goodput / *usable* capacity, where usable capacity
          in each 200 ms bin is the smaller of the link capacity and what the active
          media flows could send at most (their encoders' ceiling); on a link wider
          than a video call needs, not filling it is no fault.
        - ``link_utilization``: all flows' goodput (TCP included) / capacity.
        - ``delay_p50_ms``/``delay_p95_ms``: queueing delay of media packets, from the
          moment the encoder handed a packet to the pacer to its arrival, minus
          propagation: time waiting in the sender (pacer, congestion window) plus in
          the bottleneck queue, a packet's own transmission time included.
          ``network_delay_p95_ms`` counts the bottleneck queue alone;
          ``video_delay_p95_ms``/``audio_delay_p95_ms``: the same p95 per medium
          (audio flows into every outage, video can stop: they differ on bad links).
        - ``signal_delay_p95_ms``: the same delay taken over *time* instead of over
          packets, as Sprout's evaluation does (:func:`rtlib.cc.yardstick.signal_delay_p95_ms`:
          at each millisecond, the age of the freshest media the receiver holds, minus
          propagation): an outage counts for as long as it lasts.  Minus the link's
          omniscient floor it is Sprout's *self-inflicted delay*.
        - ``loss``: media packets lost / sent; ``freeze_rate``: share of the media
          flows' active time spent frozen (:func:`freeze_time_s`).
        - ``jain``: Jain's index of the flows' mean goodput over the time they all run.
        """
        bin_s = 0.2
        rep = self.report(bin_s)
        t = rep["t_s"]
        keep = t >= warmup_s
        cap_b = rep["capacity_bps"] * bin_s / 8
        media_idx = [i for i, f in enumerate(self.flows) if f.kind == "media"]
        usable = np.zeros_like(cap_b)
        media_good = np.zeros_like(cap_b)
        all_good = np.zeros_like(cap_b)
        for i, f in enumerate(self.flows):
            fr = rep["flows"][i]
            g = fr["goodput_bps"] * bin_s / 8
            all_good += g
            if f.kind == "media":
                media_good += g
                usable += np.where(fr["active"], f.max_rate_bps * bin_s / 8, 0.0)
        usable = np.minimum(usable, cap_b)
        media = [self.flows[i] for i in media_idx]
        qd, qn, qv, qa, sent, lost = [], [], [], [], 0, 0
        for f in media:
            m = f.send_s >= warmup_s
            ok = m & ~f.lost
            d = (f.arrival_s[ok] - f.enqueue_s[ok] - self.delay_s) * 1000
            qd.append(d)
            qa.append(d[f.audio[ok]])
            qv.append(d[~f.audio[ok]])
            qn.append((f.arrival_s[ok] - f.send_s[ok] - self.delay_s) * 1000)
            sent += int(m.sum())
            lost += int((m & f.lost).sum())
        qd = np.concatenate(qd) if qd else np.array([])
        qn = np.concatenate(qn) if qn else np.array([])
        qv = np.concatenate(qv) if qv else np.array([])
        qa = np.concatenate(qa) if qa else np.array([])
        span = max(self.duration_s - warmup_s, 1e-9)
        freeze = active = 0.0
        for f in media:
            r = f.render_s[f.render_s >= warmup_s]
            end = min(f.stop_s, self.duration_s)
            active += max(end - max(f.start_s, warmup_s), 0.0)
            freeze += freeze_time_s(r, end) if r.size else max(end - max(f.start_s, warmup_s), 0.0)
        # fairness over the time all flows run together
        t0 = max([warmup_s] + [f.start_s for f in self.flows])
        t1 = min([self.duration_s] + [f.stop_s for f in self.flows])
        shares = []
        if t1 > t0:
            for f in self.flows:
                ok = ~f.lost & (f.arrival_s >= t0) & (f.arrival_s < t1)
                shares.append(f.size_bytes[ok].sum() * 8 / (t1 - t0))
        sent_bits = sum(f.size_bytes[f.send_s >= warmup_s].sum() for f in media) * 8
        signal = (signal_delay_p95_ms(np.concatenate([f.arrival_s for f in media]),
                                      np.concatenate([f.enqueue_s for f in media]), warmup_s, self.duration_s,
                                      offset_s=self.delay_s)
                  if media and self.duration_s > warmup_s else math.nan)
        cap_kbps = float(cap_b[keep].sum() * 8 / span / 1000)
        return {
            "utilization": float(media_good[keep].sum() / usable[keep].sum()) if usable[keep].sum() > 0 else math.nan,
            "link_utilization": float(all_good[keep].sum() / cap_b[keep].sum()) if cap_b[keep].sum() > 0 else math.nan,
            "delay_p50_ms": float(np.percentile(qd, 50)) if qd.size else math.nan,
            "delay_p95_ms": float(np.percentile(qd, 95)) if qd.size else math.nan,
            "network_delay_p95_ms": float(np.percentile(qn, 95)) if qn.size else math.nan,
            "video_delay_p95_ms": float(np.percentile(qv, 95)) if qv.size else math.nan,
            "audio_delay_p95_ms": float(np.percentile(qa, 95)) if qa.size else math.nan,
            "signal_delay_p95_ms": signal,
            "loss": lost / sent if sent else math.nan,
            "rate_kbps_mean": float(sent_bits / span / 1000),
            "goodput_kbps_mean": float(media_good[keep].sum() * 8 / span / 1000),
            "capacity_kbps_mean": cap_kbps,
            "freeze_rate": freeze / active if active > 0 else math.nan,
            "jain": jain_index(shares) if len(shares) > 1 else 1.0,
            "flows": len(self.flows),
        }


class CallSim:
    """Build and run a closed-loop simulation (see the module docstring).

    ``capacity``: anything :func:`rtlib.net.as_capacity` takes (bit/s, a Capacity,
    steps).  The bottleneck drops at its tail when a packet would wait more than
    ``queue_ms`` (300 ms, RFC 8867 section 4's default), or, for trace-driven links
    with outages, more than ``queue_bytes`` when given.  A video frame is dropped
    before encoding when the pacer still holds more than ``frame_drop_queue_ms`` of
    packets (at its pacing rate).
    """

    def __init__(self, capacity, duration_s: float, flows: list[FlowSpec] | None = None, *,
                 tcp_flows: list[tuple[float, float | None]] = (), delay_ms: float = 50.0,
                 queue_ms: float | None = 300.0, queue_bytes: float | None = None,
                 return_delay_ms: float | None = None, return_loss: float = 0.0,
                 video_min_bps: float = 100e3, video_max_bps: float = 3e6, audio_rate_bps: float | None = 32e3,
                 encoder_response_s: float = 0.3, keyframe_interval_s: float | None = None,
                 feedback_interval_s: float = 0.05, pli_interval_s: float = 0.3, frame_drop_queue_ms: float = 100.0,
                 seed: int = 0):
        if not isinstance(duration_s, numbers.Real) or not 0 < duration_s <= 3600:
            raise ValueError(f"duration_s must be in (0, 3600] s, got {duration_s!r}")
        if not 0.005 <= feedback_interval_s <= 1:
            raise ValueError(f"feedback_interval_s must be in [0.005, 1] s, got {feedback_interval_s!r}")
        if not 0 <= return_loss < 1:
            raise ValueError(f"return_loss must be in [0, 1), got {return_loss!r}")
        if not 0 <= frame_drop_queue_ms <= 10_000:
            raise ValueError(f"frame_drop_queue_ms must be in [0, 10000] ms, got {frame_drop_queue_ms!r}")
        if not 0 < video_min_bps <= video_max_bps:
            raise ValueError(f"need 0 < video_min_bps <= video_max_bps, got {video_min_bps!r}, {video_max_bps!r}")
        self.loop = EventLoop()
        self.duration_s = float(duration_s)
        self.capacity = as_capacity(capacity)
        if self.capacity is None:
            raise ValueError("capacity must be finite: a bottleneck is what the controllers adapt to")
        self.delay_ms = float(delay_ms)
        self.return_delay_ms = float(delay_ms if return_delay_ms is None else return_delay_ms)
        self.return_loss = return_loss
        self.video_min_bps, self.video_max_bps = float(video_min_bps), float(video_max_bps)
        self.audio_rate_bps = audio_rate_bps
        self.encoder_response_s = encoder_response_s
        self.keyframe_interval_s = keyframe_interval_s
        self.feedback_interval_s = feedback_interval_s
        self.pli_interval_s = pli_interval_s
        self.frame_drop_queue_s = frame_drop_queue_ms / 1000
        self.seed = seed
        self.forward = Path(self.loop, delay_ms=delay_ms, capacity_bps=self.capacity,
                            queue_limit_ms=queue_ms if queue_bytes is None else None, queue_limit_bytes=queue_bytes,
                            seed=seed, stream="forward", name="bottleneck")
        specs = list(flows) if flows is not None else [FlowSpec()]
        self.flows = [MediaFlow(self, i, s) for i, s in enumerate(specs)]
        self.tcp = [TcpFlow(self, i, s, e) for i, (s, e) in enumerate(tcp_flows)]
        self.params = {"delay_ms": delay_ms, "queue_ms": queue_ms, "queue_bytes": queue_bytes,
                       "return_delay_ms": self.return_delay_ms, "return_loss": return_loss, "seed": seed,
                       "controllers": [s.controller for s in specs], "tcp_flows": list(tcp_flows)}

    def run(self) -> CallResult:
        for f in self.flows:
            f.start()
        for t in self.tcp:
            t.start()
        self.loop.run(until=self.duration_s)
        logs = [f.log() for f in self.flows] + [t.log() for t in self.tcp]
        return CallResult(self.duration_s, self.capacity, self.delay_ms / 1000, logs, self.params,
                          events=self.loop.events_run)


def simulate_call(capacity, duration_s: float, controller: str = "gcc", **kwargs) -> CallResult:
    """One media flow with ``controller`` over ``capacity`` for ``duration_s``: the shortest way in."""
    flows = kwargs.pop("flows", None) or [FlowSpec(controller)]
    return CallSim(capacity, duration_s, flows, **kwargs).run()
