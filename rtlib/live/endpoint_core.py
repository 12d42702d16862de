"""One side of an rtlib call, sans-IO: datagrams and the time in, datagrams and a deadline out.

:class:`EndpointCore` wires the pieces the simulator uses (the same classes, not copies),
as :class:`rtlib.cc.call.MediaFlow` does in virtual time, but for real RTP bytes::

    AudioSource / VideoSource (rtlib.cc.media models; Opus + VP8 or model payloads)
      -> RtpSender (rtlib.rtp.session: packetize, SR, NACK -> RFC 4588 RTX)
      -> Pacer (rtlib.cc.media) -> stamp transport seq, abs-send-time, abs-capture-time
      -> datagrams out ....................................... datagrams in
      -> RtpReceiver (RFC 3550 A.1/A.3/A.8 statistics, frames, NACK, RR)
      -> TransportFeedbackReceiver (rtlib.cc.feedback) -> transport-cc every 50 ms
      -> frame buffer (in order, keyframe after a gap, PLI) -> render times, e2e delay
    transport-cc in -> SendHistory -> GccController (rtlib.cc.gcc) -> pacer rate, encoder target

Each endpoint sends audio and video and receives the other's, over one 5-tuple (RTP and
RTCP multiplexed, RFC 5761).  Nothing here reads a clock or touches a socket: a driver
calls :meth:`EndpointCore.receive` for each datagram and :meth:`EndpointCore.poll` at
:meth:`EndpointCore.next_deadline_s`; :mod:`rtlib.live.endpoint` is the asyncio driver,
and the same object runs in :class:`rtlib.sim.EventLoop` over :class:`rtlib.net.Path`
(:func:`rtlib.live.endpoint.simulate_same_scenario`).

Choices beyond the simulator's MediaFlow (the first two as WebRTC does): video losses are repaired
by generic NACK (RFC 4585 6.2.1) answered with RFC 4588 RTX, so the receiver's loss
statistics keep describing the network; the receiver renders frames in order and waits
up to ``frame_wait_s`` for a repair before it gives up on a gap and asks for a keyframe
(PLI, RFC 4585 6.3.1); GCC's probe clusters (start-up and periodic) are 1200-byte
packets of zeros (WebRTC sends RTX padding) on their own SSRC and payload type 127, which the receiver counts for
transport-cc and then drops.

Used in: notebooks/12_live_call.ipynb (the live rtlib call and its simulation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rtlib.cc.call import MAX_FRACTION, PROBE_PAYLOAD_BYTES, WINDOW_RETRY_S, make_controller
from rtlib.cc.feedback import SendHistory, TransportFeedbackReceiver, pli_bytes
from rtlib.cc.media import Pacer
from rtlib.live.endpoint_media import (
    PROBE_PT,
    RTX_PT,
    VIDEO_PAYLOAD_BYTES,
    AudioSource,
    VideoSource,
    frame_is_keyframe,
)
from rtlib.live.rtp_stamp import ABS_CAPTURE_TIME_ID, decode_abs_capture_time, stamp_on_send
from rtlib.rtp.errors import ParseError
from rtlib.rtp.extensions import DEFAULT_EXTENSION_MAP
from rtlib.rtp.packet import RtpPacket, is_rtcp
from rtlib.rtp.rtcp import Pli, TransportCC, parse_rtcp
from rtlib.rtp.session import RtpReceiver, RtpSender
from rtlib.rtp.stats import DEFAULT_EPOCH_S, ntp_from_unix_s, unix_s_from_ntp
from rtlib.sim import make_rng

#: IPv4 (20) + UDP (8) bytes around every datagram: what a link carries on top.
IP_UDP_BYTES = 28


@dataclass
class EndpointConfig:
    """What one endpoint sends and how it reacts (defaults: a small WebRTC-like video call).

    ``media``: "codec" (Opus + VP8 bytes) or "model" (the simulator's sizes, filler
    payloads); ``controller``: a name of :func:`rtlib.cc.call.make_controller` ("gcc");
    rates in bit/s; ``rtcp_interval_s`` 0.5 s is RFC 3550 6.2's reduced minimum
    (360 / session kbit/s) for a call near 700 kbit/s; ``nack_retry_s`` a little more than
    the round trip, so a NACK is repeated only when its repair is really late; ``feedback_interval_s`` 50 ms is
    transport-cc's usual period (draft-ietf-rmcat-gcc-02 section 3).
    """

    media: str = "codec"
    controller: str = "gcc"
    controller_args: dict = field(default_factory=dict)
    start_rate_bps: float = 300e3
    video_min_bps: float = 100e3
    video_max_bps: float = 1.2e6
    audio_rate_bps: float = 32e3
    nack: bool = True
    nack_retry_s: float = 0.12
    rtcp_interval_s: float = 0.5
    feedback_interval_s: float = 0.05
    frame_drop_queue_ms: float = 100.0
    pli_interval_s: float = 0.3
    frame_wait_s: float = 0.3
    encoder_response_s: float = 0.3

    def __post_init__(self):
        if self.media not in ("codec", "model"):
            raise ValueError(f"media must be 'codec' or 'model', got {self.media!r}")
        for name, lo, hi in (("rtcp_interval_s", 0.05, 10.0), ("feedback_interval_s", 0.005, 1.0),
                             ("frame_wait_s", 0.0, 5.0), ("pli_interval_s", 0.01, 10.0)):
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}] s, got {v!r}")
        if not 0 < self.video_min_bps <= self.video_max_bps:
            raise ValueError(f"need 0 < video_min_bps <= video_max_bps, got {self.video_min_bps!r}, "
                             f"{self.video_max_bps!r}")


@dataclass(frozen=True)
class Ssrcs:
    """The SSRCs of one endpoint (RFC 3550 8: random in a real stack; fixed per side here)."""

    audio: int
    video: int
    rtx: int
    probe: int
    audio_rx: int
    video_rx: int

    @classmethod
    def for_side(cls, side: int) -> "Ssrcs":
        base = 0x5EED0000 + 0x100 * side
        return cls(base + 1, base + 2, base + 3, base + 4, base + 5, base + 6)


class _Queued:
    __slots__ = ("data", "capture_ntp", "audio")

    def __init__(self, data: bytes, capture_ntp: int | None, audio: bool):
        self.data, self.capture_ntp, self.audio = data, capture_ntp, audio


class EndpointCore:
    """One endpoint of the call (see the module docstring); ``side`` 0 is A, 1 is B."""

    def __init__(self, side: int, config: EndpointConfig | None = None, *, seed: int = 0,
                 epoch_s: float = DEFAULT_EPOCH_S):
        if side not in (0, 1):
            raise ValueError(f"side must be 0 (A) or 1 (B), got {side!r}")
        self.side, self.config, self.epoch_s = side, config or EndpointConfig(), float(epoch_s)
        cfg = self.config
        self.name = "AB"[side]
        self.ssrcs = me = Ssrcs.for_side(side)
        self.remote = peer = Ssrcs.for_side(1 - side)
        rng = make_rng(seed, "live", "endpoint", self.name)
        offsets = [int(x) for x in rng.integers(0, 2 ** 32, 2)]
        seqs = [int(x) for x in rng.integers(0, 2 ** 15, 3)]
        # -- sender ----------------------------------------------------------------------
        self.audio = AudioSource(cfg.media, rate_bps=cfg.audio_rate_bps)
        audio_bps = self.audio.cbr.wire_rate_bps
        self._audio_wire_bps = audio_bps
        self.controller = make_controller(cfg.controller, start_rate_bps=cfg.start_rate_bps,
                                          min_rate_bps=cfg.video_min_bps + audio_bps,
                                          max_rate_bps=cfg.video_max_bps + audio_bps, **cfg.controller_args)
        self.video = VideoSource(cfg.media, start_rate_bps=self._video_target(self.controller.target_rate_bps),
                                 min_rate_bps=cfg.video_min_bps, max_rate_bps=cfg.video_max_bps,
                                 response_time_s=cfg.encoder_response_s, seed=seed, stream=f"video-{self.name}")
        common = dict(ext_map=DEFAULT_EXTENSION_MAP, rtcp_interval_s=cfg.rtcp_interval_s, epoch_s=self.epoch_s,
                      cname=f"{self.name.lower()}@rtlib.live")
        self.audio_tx = RtpSender(me.audio, self.audio.payload_type, 48_000, kind="audio", seq=seqs[0],
                                  timestamp_offset=offsets[0], history_size=0, **common)
        self.video_tx = RtpSender(me.video, self.video.payload_type, 90_000, kind="video", seq=seqs[1],
                                  timestamp_offset=offsets[1], mtu_bytes=VIDEO_PAYLOAD_BYTES + 64,
                                  rtx_ssrc=me.rtx, rtx_payload_type=RTX_PT, rtx_seq=seqs[2], **common)
        self.probe_tx = RtpSender(me.probe, PROBE_PT, 90_000, kind="video", mtu_bytes=PROBE_PAYLOAD_BYTES + 64,
                                  history_size=0, **common)
        self.pacer = Pacer(self.controller.target_rate_bps)
        self.history = SendHistory()
        self._probing_possible = hasattr(self.controller, "probes")
        self._probe_sends: list[tuple[float, int]] = []  # (time, cluster) of padding packets to send
        self._probe_windows: list[tuple[int, float, float]] = []
        self._probe_busy_until_s = 0.0
        # -- receiver --------------------------------------------------------------------
        self.audio_rx = RtpReceiver(me.audio_rx, 48_000, kind="audio", nack=False,
                                    rtcp_interval_s=cfg.rtcp_interval_s, epoch_s=self.epoch_s,
                                    cname=common["cname"])
        self.video_rx = RtpReceiver(me.video_rx, 90_000, kind="video", nack=cfg.nack, nack_retry_s=cfg.nack_retry_s,
                                    rtcp_interval_s=cfg.rtcp_interval_s, epoch_s=self.epoch_s,
                                    cname=common["cname"], rtx_payload_types={RTX_PT: self.video.payload_type},
                                    rtx_ssrcs={peer.rtx: peer.video})
        self.twcc = TransportFeedbackReceiver(me.video_rx, peer.video)
        self._capture_by_ts: dict[int, float] = {}  # remote video RTP timestamp -> capture time (s)
        self._pending: dict[int, tuple] = {}  # first seq -> (frame, keyframe, capture_s)
        self._expect: int | None = None       # first seq of the next frame in order, None: need a keyframe
        self._gap_since_s: float | None = None
        self._last_pli_s = -math.inf
        # -- state and counters ---------------------------------------------------------
        self._started = False
        self._stopped = False
        self._next_audio_s = math.inf
        self._pace_s: float | None = None
        self._window_blocked = False
        self._next_feedback_s = math.inf
        self._outbox: list[bytes] = []
        self._jobs: list = []
        #: encode video inside poll() (the simulator); the asyncio driver sets False and
        #: runs :meth:`take_encode_jobs` in a worker thread so VP8 does not stall the loop
        self.encode_inline = True
        self.bytes_sent = 0          # UDP payload bytes this endpoint sent (RTP + RTCP)
        self.bytes_received = 0      # UDP payload bytes it received
        self.invalid = 0             # datagrams that did not parse
        self.frames_encoded = 0
        self.frames_rendered = 0
        self.frames_discarded = 0    # complete frames that could not be decoded (a reference was missing)
        self.plis_sent = 0
        self.keyframes_rendered = 0
        self.renders: list[tuple[float, float | None]] = []        # (render time, capture time) per video frame
        self.audio_frames: list[tuple[float, float | None, int]] = []  # (arrival, capture, RTP timestamp)
        self.target_log: list[tuple[float, float]] = [(0.0, self.controller.target_rate_bps)]

    # -- the sans-IO face -------------------------------------------------------------------
    def start(self, now_s: float) -> None:
        """Start capturing media at ``now_s`` (the first audio and video frames are due now)."""
        self._started = True
        self._next_audio_s = now_s
        self.video.model.next_frame_s = now_s
        self._next_feedback_s = now_s + self.config.feedback_interval_s
        self._check_probes(now_s)

    def stop(self) -> None:
        """Stop capturing (packets already queued still leave; RTCP goes on)."""
        self._stopped = True

    def datagrams_to_send(self) -> list[bytes]:
        out, self._outbox = self._outbox, []
        return out

    def next_deadline_s(self) -> float:
        """When :meth:`poll` next has something to do (``inf``: nothing scheduled)."""
        times = [self._next_feedback_s]
        if not self._stopped:
            times += [self._next_audio_s, self.video.next_frame_s]
        if self._pace_s is not None:
            times.append(self._pace_s)
        if self._probe_sends:
            times.append(self._probe_sends[0][0])
        if self._gap_since_s is not None:
            times.append(self._gap_since_s + self.config.frame_wait_s)
        for obj in (self.audio_tx, self.video_tx, self.audio_rx, self.video_rx):
            t = obj.next_deadline_s()
            if t is not None:
                times.append(t)
        return min(times) if self._started else math.inf

    def poll(self, now_s: float) -> list[bytes]:
        """Do what is due at ``now_s``; returns the datagrams to send (also :meth:`datagrams_to_send`)."""
        if not self._started:
            return self.datagrams_to_send()
        if not self._stopped:
            frame_s = self.audio.frame_s
            if now_s - self._next_audio_s > 0.2:  # the driver stalled: do not send a burst of old audio
                self._next_audio_s = now_s
            while self._next_audio_s <= now_s:
                self._capture_audio(self._next_audio_s)
                self._next_audio_s += frame_s
            due = self.video.next_frame_s
            if due <= now_s:
                self._capture_video(due if now_s - due < 0.1 else now_s)
        while self._probe_sends and self._probe_sends[0][0] <= now_s:
            _, cid = self._probe_sends.pop(0)
            self._send_probe(cid, now_s)
        if self._pace_s is not None and self._pace_s <= now_s:
            self._pace(now_s)
        for tx in (self.audio_tx, self.video_tx):
            self._emit(tx.on_timer(now_s))
        for rx in (self.audio_rx, self.video_rx):
            self._emit(rx.on_timer(now_s))
        if now_s >= self._next_feedback_s:
            fb = self.twcc.build(now_s)
            if fb is not None:
                self._emit([fb])
            self._next_feedback_s = max(self._next_feedback_s + self.config.feedback_interval_s, now_s)
        self._drain_frames(now_s)
        return self.datagrams_to_send()

    def receive(self, data: bytes, now_s: float) -> None:
        """A datagram from the peer arrived at ``now_s``; replies wait in :meth:`datagrams_to_send`."""
        self.bytes_received += len(data)
        if is_rtcp(data):
            self._on_rtcp(data, now_s)
            return
        try:
            pkt = RtpPacket.parse(data)
            ext = DEFAULT_EXTENSION_MAP.decode(pkt.extensions)
            cap = pkt.extensions.get(ABS_CAPTURE_TIME_ID)
            capture_s = None if cap is None else unix_s_from_ntp(decode_abs_capture_time(cap)) - self.epoch_s
        except ParseError:
            self.invalid += 1
            return
        if ext.transport_seq is not None:
            self.twcc.on_packet(ext.transport_seq, now_s)
        if pkt.ssrc == self.remote.probe:
            return  # padding: only its arrival time matters (transport-cc)
        if pkt.ssrc == self.remote.audio:
            for f in self.audio_rx.receive(data, now_s):
                self.audio_frames.append((now_s, capture_s, f.timestamp))
        elif pkt.ssrc in (self.remote.video, self.remote.rtx):
            if capture_s is not None and pkt.ssrc == self.remote.video:
                self._capture_by_ts[pkt.timestamp] = capture_s
            for f in self.video_rx.receive(data, now_s):
                self._on_frame(f, now_s)
            self._emit(self.video_rx.datagrams_to_send())  # NACKs
        else:
            self.invalid += 1

    # -- sender internals -------------------------------------------------------------------
    def _video_target(self, total_bps: float) -> float:
        return max(total_bps - self._audio_wire_bps, 1.0) * MAX_FRACTION

    def _ntp(self, t_s: float) -> int:
        return ntp_from_unix_s(self.epoch_s + t_s)

    def _emit(self, datagrams) -> None:
        for d in datagrams:
            self.bytes_sent += len(d)
            self._outbox.append(d)

    def _capture_audio(self, t_s: float) -> None:
        payload = self.audio.encode()
        data = self.audio_tx.send_frame(payload, t_s, capture_s=t_s, audio_level_dbov=-30, voice=True)
        for d in data:
            self.pacer.enqueue(_Queued(d, self._ntp(t_s), True), len(d) + IP_UDP_BYTES, audio=True)
        self._kick(t_s)

    def _capture_video(self, t_s: float) -> None:
        if self.pacer.queue_delay_s() > self.config.frame_drop_queue_ms / 1000:
            self.video.skip(t_s)  # the pacer still holds the earlier frames: drop this one (frame dropper)
            return
        job = self.video.plan(t_s)
        self.frames_encoded += 1
        if self.encode_inline:
            self._send_video(job.run(), t_s)
        else:
            self._jobs.append(job)

    def take_encode_jobs(self) -> list:
        """Video frames to encode (when ``encode_inline`` is False): run each job's ``run()``,
        in order, off the event loop if you like, then hand it back with :meth:`encoded`."""
        jobs, self._jobs = self._jobs, []
        return jobs

    def encoded(self, job, now_s: float) -> None:
        """A job from :meth:`take_encode_jobs` finished at ``now_s``: packetize and queue its frame."""
        if not self._stopped:
            self._send_video(job.out, now_s)

    def _send_video(self, out, now_s: float) -> None:
        ntp = self._ntp(out.capture_s)
        for i, payload in enumerate(out.payloads):
            for d in self.video_tx.send_frame(payload, now_s, capture_s=out.capture_s,
                                              marker=i == len(out.payloads) - 1):
                self.pacer.enqueue(_Queued(d, ntp, False), len(d) + IP_UDP_BYTES)
        self._kick(now_s)

    def _kick(self, now_s: float) -> None:
        if self._pace_s is None or (self._window_blocked and self.pacer.audio_waiting()):
            self._pace(now_s)

    def _pace(self, now_s: float) -> None:
        window = self.controller.congestion_window_bytes(now_s)
        room = math.inf if window is None else window - self.history.outstanding_bytes(now_s)
        self._window_blocked = False
        if room <= 0 and self.pacer.audio_waiting():
            room = 1  # audio is not held back by the window
        if room <= 0 and len(self.pacer):
            self._window_blocked = True
            self._pace_s = now_s + WINDOW_RETRY_S
            return
        items, self._pace_s = self.pacer.poll(now_s, room)
        for q in items:
            self._transmit(q, now_s)

    def _transmit(self, q: _Queued, now_s: float, probe: int | None = None) -> None:
        pkt = RtpPacket.parse(q.data)
        size = len(stamp_on_send(pkt, DEFAULT_EXTENSION_MAP, transport_seq=0, send_s=now_s,
                                 capture_ntp=q.capture_ntp)) + IP_UDP_BYTES
        seq16 = self.history.next_seq(now_s, size)
        if self._probe_windows:
            self._register_probe(now_s, size, probe)
        self._emit([stamp_on_send(pkt, DEFAULT_EXTENSION_MAP, transport_seq=seq16, send_s=now_s,
                                  capture_ntp=q.capture_ntp)])

    # probing: the same schedule as rtlib.cc.call.MediaFlow (clusters one after the other)
    def _check_probes(self, now_s: float) -> None:
        if not self._probing_possible or self._stopped:
            return
        t = max(now_s, self._probe_busy_until_s)
        for cid, rate, n in self.controller.probes(now_s):
            gap = (PROBE_PAYLOAD_BYTES + 64) * 8 / rate
            self._probe_sends.extend((t + k * gap, cid) for k in range(n))
            self._probe_windows.append((cid, t, t + (n - 1) * gap))
            t += n * gap + 0.010
        self._probe_sends.sort()
        self._probe_busy_until_s = t

    def _send_probe(self, cid: int, now_s: float) -> None:
        for d in self.probe_tx.send_frame(bytes(PROBE_PAYLOAD_BYTES), now_s):
            self._transmit(_Queued(d, None, False), now_s, probe=cid)

    def _register_probe(self, now_s: float, size: int, probe: int | None) -> None:
        wins = self._probe_windows
        while wins and wins[0][2] < now_s and wins[0][0] != probe:
            wins.pop(0)
        for cid, t0, t1 in wins:
            if cid == probe or t0 <= now_s <= t1:
                self.controller.on_packet_sent(now_s, self.history.last_seq, size, cid, padding=cid == probe)
                break

    def _on_rtcp(self, data: bytes, now_s: float) -> None:
        try:
            packets = parse_rtcp(data)
        except ParseError:
            self.invalid += 1
            return
        for rx in (self.audio_rx, self.video_rx):
            rx.receive(data, now_s)  # SRs: LSR for our reports
        for tx in (self.audio_tx, self.video_tx):
            resend = tx.receive_rtcp(data, now_s)  # RR blocks (RTT), NACK -> RTX
            tx.transport_feedback.clear()
            for d in resend:
                self.pacer.enqueue(_Queued(d, None, False), len(d) + IP_UDP_BYTES)
            if resend:
                self._kick(now_s)
        c = self.controller
        touched = False
        for p in packets:
            if isinstance(p, TransportCC) and p.media_ssrc == self.ssrcs.video:
                results, rtt_s = self.history.results(p, now_s)
                c.on_packet_results(now_s, results, rtt_s)
                touched = True
            elif isinstance(p, Pli) and p.media_ssrc == self.ssrcs.video:
                self.video.request_keyframe()
        if touched:
            target = c.target_rate_bps
            self._check_probes(now_s)
            self.pacer.set_rate(target)
            self.video.set_target(self._video_target(target))
            self.target_log.append((now_s, target))
            if self._window_blocked:
                self._pace(now_s)

    # -- receiver internals -----------------------------------------------------------------
    def _on_frame(self, f, now_s: float) -> None:
        key = frame_is_keyframe(f.payload, self.config.media)
        cap = self._capture_by_ts.pop(f.timestamp, None)
        if len(self._capture_by_ts) > 512:  # frames that never completed
            for ts in list(self._capture_by_ts)[:256]:
                del self._capture_by_ts[ts]
        self._pending[f.first_seq] = (f, key, cap)
        self._drain_frames(now_s)

    def _render(self, first_seq: int, now_s: float) -> None:
        f, key, cap = self._pending.pop(first_seq)
        self._expect = (f.last_seq + 1) & 0xFFFF
        self.frames_rendered += 1
        self.keyframes_rendered += key
        self.renders.append((now_s, cap))

    def _order(self, s: int) -> int:
        """Distance of first seq ``s`` from the frame expected next (16-bit wrap)."""
        base = self._expect if self._expect is not None else min(self._pending)
        return (s - base) & 0xFFFF

    def _drain_frames(self, now_s: float) -> None:
        pend = self._pending
        while pend:
            if self._expect is not None and self._expect in pend:
                self._render(self._expect, now_s)
                self._gap_since_s = None
                continue
            keys = sorted((s for s, v in pend.items() if v[1]), key=self._order)
            # (the same sum as in next_deadline_s, so the deadline always finds the wait over)
            waited = self._gap_since_s is not None and now_s >= self._gap_since_s + self.config.frame_wait_s
            if keys and (self._expect is None or waited):
                k = keys[0]
                for s in [s for s in pend if self._order(s) < self._order(k)]:
                    del pend[s]
                    self.frames_discarded += 1
                self._render(k, now_s)
                self._gap_since_s = None
                continue
            if self._expect is None or waited:
                # the gap will not be repaired: what waits cannot be decoded; ask for a keyframe
                self.frames_discarded += len(pend)
                pend.clear()
                self._expect = None
                self._gap_since_s = None
                break
            if self._gap_since_s is None:
                self._gap_since_s = now_s
            break
        if self._expect is None and self.frames_rendered + self.frames_discarded > 0 \
                and now_s - self._last_pli_s >= self.config.pli_interval_s:
            self._last_pli_s = now_s
            self.plis_sent += 1
            self._emit([pli_bytes(self.ssrcs.video_rx, self.remote.video)])

    # -- statistics the sampler reads --------------------------------------------------------
    def rx_counts(self) -> tuple[int, int]:
        """``(lost, received)`` over the remote media streams (RFC 3550 A.3, cumulative)."""
        lost = received = 0
        for rx in (self.audio_rx, self.video_rx):
            for src in rx.sources.values():
                if src.started and not src.probation:
                    lost += max(src.lost, 0)
                    received += src.received
        return lost, received

    def audio_jitter_ms(self) -> float | None:
        """RFC 3550 A.8 interarrival jitter of the remote audio stream, in ms."""
        src = self.audio_rx.sources.get(self.remote.audio)
        return src.jitter_ms if src is not None and src.started else None

    def video_jitter_ms(self) -> float | None:
        src = self.video_rx.sources.get(self.remote.video)
        return src.jitter_ms if src is not None and src.started else None

    def rtt_s(self) -> tuple[float, float] | None:
        """The latest ``(time, rtt_s)`` from an RR block about our streams (RFC 3550 6.4.1)."""
        samples = self.audio_tx.rtt_samples[-1:] + self.video_tx.rtt_samples[-1:]
        return max(samples) if samples else None


__all__ = ["EndpointConfig", "EndpointCore", "IP_UDP_BYTES", "Ssrcs"]
