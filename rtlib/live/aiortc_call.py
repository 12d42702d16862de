"""A real WebRTC call in one process: two aiortc peers on 127.0.0.1, all media through the impairment relay.

::

    peer A (sender)                                       peer B (receiver)
    speech clip ─► Opus ─┐                           ┌─► Opus decoder ─► concealed-audio counter
    test pattern ─► VP8 ─┤  SRTP over DTLS over ICE  ├─► VP8 decoder ─► time code read back,
      + time code in     └──► UdpRelay (forward) ───►┘                  freeze detector, fps
      the pixels         ◄── UdpRelay (backward) ◄─── RTCP RR, NACK, PLI, REMB

- **Signalling** is a function call: A's offer goes to B, B's answer to A, after
  :func:`rewrite_candidates` has replaced each peer's ICE candidate (RFC 8445
  section 5.1; SDP syntax RFC 8839 section 5.1) by the relay's port, so each peer
  only ever sees the relay.  One transport (``max-bundle``, RFC 9143) and RTCP on the
  RTP port (RFC 5761) give exactly one 5-tuple for the relay to carry.
- **Candidates** are 127.0.0.1 host candidates only (:mod:`rtlib.live.loopback`) and
  no STUN server is asked: nothing leaves the machine.
- **Media** flows A→B: the course's speech clip (``rtlib.media.clips.load_speech``,
  48 kHz) as Opus in 20 ms frames, and the course's synthetic test pattern
  (``rtlib.media.clips.synthetic_video_frame``) as VP8, with the capture time drawn
  into the pixels as a bar code (:func:`stamp_timecode`).  B reads it back after
  decoding (:func:`read_timecode`), so the **glass-to-glass delay is measured**: it
  includes encoding, packetisation, the relay's impairment, the jitter buffer and
  decoding.  Feedback (RTCP receiver reports, NACK, PLI, REMB) flows B→A.
- **Statistics** every 250 ms from both peers' ``getStats()`` plus the receiver's own
  frame clock, as :class:`rtlib.live.stats.StatsSample` (aiortc's ``jitter`` is in
  RTP timestamp units: divided by the clock rate, 48 kHz for Opus).

What the measurements show about aiortc 1.x itself (worth a look in the notebook):
its video jitter buffer hands a frame to the decoder only when the first packet of
the *next* frame arrives, so glass-to-glass delay is typically the path's delay plus
one frame interval (33 ms at 30 fps) plus a few ms of coding;
its audio jitter buffer (16 packets, prefetch 4) waits for a missing packet until
16 more have arrived and then discards a run of them, so one lost 20 ms packet
costs far more than 20 ms of audio (``audio_concealed_ms`` counts what the decoder
never got); its video jitter buffer (512 packets) waits for a missing packet until
NACK/RTX repairs it (RFC 4585 6.2.1, RFC 4588), and after an outage longer than the
sender's 128-packet retransmission history it only moves on when 512 newer packets
have arrived, then releases the backlog at decoding speed: frames stop for several
seconds after the network is back, and the first frames after it are seconds old.

Used in: notebooks/12_live_call.ipynb, ``python -m rtlib live-call --stack aiortc``.
"""

from __future__ import annotations

import asyncio
import fractions
import functools
import inspect
import math
import re
import statistics
import time
from collections import deque
from typing import Any, AsyncIterator, Callable, Iterable

import numpy as np

from rtlib.live.impair import Impairment
from rtlib.live.loopback import LOOPBACK_HOST, loopback_candidates
from rtlib.live.relay import UdpRelay
from rtlib.live.stats import (
    SAMPLE_INTERVAL_S,
    AudioGapCounter,
    CallStats,
    FreezeDetector,
    RateMeter,
    StatsSample,
    interval_loss,
)

AUDIO_RATE_HZ = 48000
AUDIO_FRAME_S = 0.020
VIDEO_CLOCK_HZ = 90000
CLOCK_RATES_HZ = {"audio": AUDIO_RATE_HZ, "video": VIDEO_CLOCK_HZ}  # Opus (RFC 7587 4.1), VP8 (RFC 7741 6.1)

# -- the time code drawn into each frame --------------------------------------------------
TIMECODE_DATA_BITS = 24  # milliseconds since the call's epoch, modulo 2^24 (4.6 hours)
TIMECODE_CRC_BITS = 8
TIMECODE_CELLS = TIMECODE_DATA_BITS + TIMECODE_CRC_BITS
TIMECODE_CELL_PX = 16  # one VP8 macroblock (RFC 6386 section 2): a flat block codes cleanly
TIMECODE_ROWS = 2
_WHITE, _BLACK = 255, 0


def _crc8(value: int) -> int:
    """CRC-8 (polynomial x^8 + x^2 + x + 1, 0x07) over the 3 bytes of ``value``: rejects misread codes."""
    crc = 0
    for byte in value.to_bytes(3, "big"):
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _cells(height: int, width: int) -> list[tuple[int, int]]:
    """Top-left corners of the 32 cells: two rows of 16 macroblock-aligned 16 × 16 squares at the bottom."""
    per_row = TIMECODE_CELLS // TIMECODE_ROWS
    c = TIMECODE_CELL_PX
    if width < per_row * c or height < (TIMECODE_ROWS + 1) * c:
        raise ValueError(f"the frame must be at least {per_row * c} x {(TIMECODE_ROWS + 1) * c} pixels to hold "
                         f"the time code, got {width} x {height}")
    top = (height // c - TIMECODE_ROWS) * c
    return [(top + r * c, k * c) for r in range(TIMECODE_ROWS) for k in range(per_row)]


def stamp_timecode(img: np.ndarray, value_ms: int) -> np.ndarray:
    """Draw ``value_ms`` (mod 2^24) as a bar code of 32 black/white cells at the bottom, in place.

    24 data bits (most significant first) then a CRC-8 of them, in two rows of 16
    cells; each cell is one 16 × 16 macroblock, aligned to the codec's grid, so even a
    low bitrate keeps it flat.  Returns ``img`` (H × W × 3 uint8 RGB).
    """
    if img.ndim != 3:
        raise ValueError(f"img must be an H x W x 3 image, got shape {img.shape}")
    value = int(value_ms) % (1 << TIMECODE_DATA_BITS)
    word = (value << TIMECODE_CRC_BITS) | _crc8(value)
    c = TIMECODE_CELL_PX
    for k, (y0, x0) in enumerate(_cells(*img.shape[:2])):
        bit = (word >> (TIMECODE_CELLS - 1 - k)) & 1
        img[y0:y0 + c, x0:x0 + c] = _WHITE if bit else _BLACK
    return img


def read_timecode(luma: np.ndarray) -> int | None:
    """The value stamped by :func:`stamp_timecode`, read from a decoded frame's luma plane (H × W); None if unreadable.

    Each cell is read as the mean of its inner 8 × 8 pixels (away from edges the codec
    blurs) against a mid-grey threshold; a CRC mismatch gives None.
    """
    try:
        cells = _cells(*luma.shape[:2])
    except ValueError:
        return None
    q = TIMECODE_CELL_PX // 4
    word = 0
    for y0, x0 in cells:
        cell = luma[y0 + q: y0 + TIMECODE_CELL_PX - q, x0 + q: x0 + TIMECODE_CELL_PX - q]
        word = (word << 1) | int(cell.mean() > 128)
    value, crc = word >> TIMECODE_CRC_BITS, word & 0xFF
    return value if _crc8(value) == crc else None


def timecode_delay_ms(now_ms: float, stamped_ms: int) -> float:
    """Delay from a stamped value (mod 2^24) to ``now_ms``, both ms since the same epoch."""
    return (now_ms - stamped_ms) % (1 << TIMECODE_DATA_BITS)


# -- SDP candidates ---------------------------------------------------------------------
_CANDIDATE = re.compile(r"^a=candidate:(\S+) (\d+) (\S+) (\d+) (\S+) (\d+) typ (\S+)(.*)$")


def candidate_ports(sdp: str) -> list[int]:
    """Ports of the 127.0.0.1 UDP host candidates in an SDP (RFC 8839 5.1 candidate-attribute)."""
    ports = []
    for line in sdp.splitlines():
        m = _CANDIDATE.match(line.strip())
        if m and m.group(3).lower() == "udp" and m.group(5) == LOOPBACK_HOST:
            ports.append(int(m.group(6)))
    return ports


def rewrite_candidates(sdp: str, port: int) -> str:
    """Point every ICE candidate of ``sdp`` at ``127.0.0.1:port`` (the relay), dropping any other candidate.

    Also rewrites each ``m=`` line's port and ``c=`` address (the default candidate,
    RFC 8839 4.2.1.3 / RFC 8866 5.14) so the SDP names only the relay.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"port must be an integer in [1, 65535], got {port!r}")
    out = []
    for line in sdp.splitlines():
        s = line.strip()
        m = _CANDIDATE.match(s)
        if m:
            if m.group(3).lower() != "udp" or m.group(7) != "host":
                continue
            line = (f"a=candidate:{m.group(1)} {m.group(2)} {m.group(3)} {m.group(4)} {LOOPBACK_HOST} {port} "
                    f"typ {m.group(7)}{m.group(8)}")
        elif s.startswith("m="):
            parts = s.split(" ")
            if len(parts) > 1 and parts[1] != "0":  # port 0 = a rejected m-line, keep it
                parts[1] = str(port)
            line = " ".join(parts)
        elif s.startswith("c=IN IP4 "):
            line = f"c=IN IP4 {LOOPBACK_HOST}"
        out.append(line)
    return "\r\n".join(out) + "\r\n"


# -- the media sources ------------------------------------------------------------------
def _tracks():
    """The two source track classes (aiortc imported lazily: importing rtlib stays light)."""
    from aiortc.mediastreams import MediaStreamTrack
    import av

    class SpeechTrack(MediaStreamTrack):
        """The course's speech clip at 48 kHz, looped, 20 ms per frame, paced by the clock."""

        kind = "audio"

        def __init__(self, clock: Callable[[], float]):
            super().__init__()
            from rtlib.media.clips import load_speech

            self._pcm = load_speech("en", AUDIO_RATE_HZ)
            self._clock = clock
            self._n = int(AUDIO_RATE_HZ * AUDIO_FRAME_S)
            self._pos = 0
            self._pts = 0
            self._start_s: float | None = None

        async def recv(self):
            if self.readyState != "live":
                from aiortc.mediastreams import MediaStreamError

                raise MediaStreamError
            self._start_s = await _pace(self._clock, self._start_s, self._pts / AUDIO_RATE_HZ)
            idx = (self._pos + np.arange(self._n)) % self._pcm.size
            self._pos = (self._pos + self._n) % self._pcm.size
            frame = av.AudioFrame.from_ndarray(self._pcm[idx].reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = AUDIO_RATE_HZ
            frame.pts = self._pts
            frame.time_base = fractions.Fraction(1, AUDIO_RATE_HZ)
            self._pts += self._n
            return frame

    class TimecodeVideoTrack(MediaStreamTrack):
        """The course's test pattern with the capture time (ms since the call's epoch) stamped in."""

        kind = "video"

        def __init__(self, clock: Callable[[], float], epoch_s: float, width: int, height: int, fps: float):
            super().__init__()
            self._clock, self._epoch_s = clock, epoch_s
            self._w, self._h, self._fps = width, height, fps
            self._index = 0
            self._start_s: float | None = None

        async def recv(self):
            if self.readyState != "live":
                from aiortc.mediastreams import MediaStreamError

                raise MediaStreamError
            from rtlib.media.clips import synthetic_video_frame

            self._start_s = await _pace(self._clock, self._start_s, self._index / self._fps)
            img = synthetic_video_frame(self._index % 600, self._w, self._h, self._fps)
            stamp_timecode(img, int(round((self._clock() - self._epoch_s) * 1000)))
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(round(self._index * VIDEO_CLOCK_HZ / self._fps))
            frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_HZ)
            self._index += 1
            return frame

    return SpeechTrack, TimecodeVideoTrack


async def _pace(clock: Callable[[], float], start_s: float | None, offset_s: float) -> float:
    """Wait until ``offset_s`` after the track's first frame (a live source's pace); returns the start."""
    if start_s is None:
        return clock()
    wait_s = start_s + offset_s - clock()
    if wait_s > 0:
        await asyncio.sleep(wait_s)
    return start_s


def _luma(frame) -> np.ndarray:
    """The Y plane of a decoded frame as an H × W uint8 array."""
    if frame.format.name in ("yuv420p", "yuvj420p", "nv12"):
        plane = frame.planes[0]
        buf = np.frombuffer(plane, dtype=np.uint8).reshape(frame.height, plane.line_size)
        return buf[:, : frame.width]
    return frame.to_ndarray(format="gray")


class _Receiver:
    """B's side: consumes the remote tracks, measures frames, delay, freezes and missing audio."""

    def __init__(self, clock: Callable[[], float], epoch_s: float):
        self.clock, self.epoch_s = clock, epoch_s
        self.freezes = FreezeDetector()
        self.audio = AudioGapCounter(AUDIO_RATE_HZ)
        self.frames_decoded = 0
        self.frames_stamped = 0
        self.frame_times_s: deque[float] = deque()
        self.e2e_ms: list[float] = []  # since the last sample
        self.all_e2e_ms: list[float] = []
        self.tasks: list[asyncio.Task] = []

    def consume(self, track) -> None:
        coro = self._video(track) if track.kind == "video" else self._audio(track)
        self.tasks.append(asyncio.ensure_future(coro))

    async def _audio(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if frame.pts is not None:
                self.audio.frame(frame.pts, frame.samples)

    async def _video(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now_s = self.clock()
            self.frames_decoded += 1
            self.freezes.frame(now_s)
            self.frame_times_s.append(now_s)
            code = read_timecode(_luma(frame))
            if code is not None:
                d = timecode_delay_ms((now_s - self.epoch_s) * 1000.0, code)
                if d < 60_000:  # a misread that passed the CRC would be absurd: ignore
                    self.frames_stamped += 1
                    self.e2e_ms.append(d)
                    self.all_e2e_ms.append(d)

    def fps(self, now_s: float, window_s: float = 1.0) -> float:
        while self.frame_times_s and self.frame_times_s[0] < now_s - window_s:
            self.frame_times_s.popleft()
        return len(self.frame_times_s) / window_s

    def take_e2e_ms(self) -> float | None:
        vals, self.e2e_ms = self.e2e_ms, []
        return statistics.median(vals) if vals else None

    async def stop(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


def _media_counts(pc) -> tuple[int, int] | None:
    """Cumulative (packets lost, packets received) of every media SSRC B receives (RFC 3550 A.3).

    aiortc 1.x ``getStats()`` gives one ``inbound-rtp`` entry per receiver, and when
    a receiver sees two SSRCs (video and its RTX retransmissions, RFC 4588) the one
    seen last overwrites the other, so the video counters are often RTX's.  The
    receiver keeps per-SSRC RFC 3550 statistics, which are read here, leaving out
    the RTX SSRCs (retransmissions are repairs, not the network's delivery).  None
    when this aiortc does not expose them (the caller falls back on getStats).
    """
    lost = received = 0
    found = False
    for r in pc.getReceivers():
        streams = getattr(r, "_RTCRtpReceiver__remote_streams", None)
        rtx = getattr(r, "_RTCRtpReceiver__rtx_ssrc", None)
        if not isinstance(streams, dict) or not isinstance(rtx, dict):
            return None
        for ssrc, st in streams.items():
            if ssrc in rtx:
                continue
            found = True
            lost += max(int(st.packets_lost), 0)
            received += int(st.packets_received)
    return (lost, received) if found else None


def _stats_of(report, kind_type: str) -> list:
    return [s for s in report.values() if getattr(s, "type", None) == kind_type]


class AiortcCall:
    """One aiortc call through a :class:`UdpRelay`: :meth:`start`, :meth:`samples` or :meth:`run`, :meth:`close`.

    ``forward`` impairs A→B (the media), ``backward`` B→A (the feedback); both stay
    live: ``call.relay.forward.loss = 0.2`` takes effect on the next packet.  Pass a
    started ``relay`` to use it instead (its own impairments apply; ``pcap`` is then
    the relay's business, and :meth:`close` leaves it open).
    """

    def __init__(self, *, forward: Impairment | None = None, backward: Impairment | None = None, seed: int = 0,
                 pcap: str | None = None, width: int = 320, height: int = 240, fps: float = 30.0,
                 sample_interval_s: float = SAMPLE_INTERVAL_S, relay: UdpRelay | None = None):
        for name, v, low in (("width", width, 256), ("height", height, 128)):  # the time code needs 256 x 48
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= 1920 or v % 2:
                raise ValueError(f"{name} must be an even integer in [{low}, 1920] pixels, got {v!r}")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 1 <= fps <= 60:
            raise ValueError(f"fps must be in [1, 60] frames per second, got {fps!r}")
        if not isinstance(sample_interval_s, (int, float)) or not 0.05 <= sample_interval_s <= 10:
            raise ValueError(f"sample_interval_s must be in [0.05, 10] s, got {sample_interval_s!r}")
        if relay is not None and not isinstance(relay, UdpRelay):
            raise ValueError(f"relay must be a started UdpRelay or None, got {type(relay).__name__}")
        self._own_relay = relay is None
        if relay is not None:  # a given relay brings its own live impairments
            forward, backward = relay.forward, relay.backward
        self._forward = forward if forward is not None else Impairment()
        self._backward = backward if backward is not None else Impairment()
        self.seed, self.pcap = seed, pcap
        self.width, self.height, self.fps_target = width, height, float(fps)
        self.sample_interval_s = float(sample_interval_s)
        self.relay: UdpRelay | None = relay
        self.pc_a = self.pc_b = None
        self.clock = time.monotonic
        self.epoch_s = self.clock()
        self.media_start_s: float | None = None
        self.receiver = _Receiver(self.clock, self.epoch_s)
        self.stats = CallStats(config={"stack": "aiortc", "forward": self._forward.to_dict(),
                                       "backward": self._backward.to_dict(), "seed": seed,
                                       "video": {"width": width, "height": height, "fps": float(fps),
                                                 "codec": "VP8"},
                                       "audio": {"codec": "opus", "clip": "en", "rate_hz": AUDIO_RATE_HZ}})
        self._send_rate, self._recv_rate = RateMeter(), RateMeter()
        self._prev_counts: tuple[int, int] | None = None
        self._tracks: list = []
        self._timers: list[asyncio.TimerHandle] = []
        self._closed = False
        self._lag_ms: list[float] = []  # how late each sample was taken [ms]

    async def start(self, connect_timeout_s: float = 10.0) -> None:
        """Start the relay, negotiate through it and wait until both peers are connected."""
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCBundlePolicy

        if self.relay is None:
            self.relay = await UdpRelay.start(self._forward, self._backward, seed=self.seed, pcap=self.pcap)
        config = RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pc_a, self.pc_b = RTCPeerConnection(config), RTCPeerConnection(config)
        connected = {"a": asyncio.Event(), "b": asyncio.Event()}
        failed = asyncio.Event()

        def watch(pc, side):
            @pc.on("connectionstatechange")
            async def _changed():
                if pc.connectionState == "connected":
                    connected[side].set()
                elif pc.connectionState == "failed":
                    failed.set()

        watch(self.pc_a, "a")
        watch(self.pc_b, "b")

        @self.pc_b.on("track")
        def _on_track(track):
            self.receiver.consume(track)

        SpeechTrack, TimecodeVideoTrack = _tracks()
        self._tracks = [SpeechTrack(self.clock),
                        TimecodeVideoTrack(self.clock, self.epoch_s, self.width, self.height, self.fps_target)]
        for track in self._tracks:
            self.pc_a.addTransceiver(track, direction="sendonly")

        with loopback_candidates():
            await self.pc_a.setLocalDescription(await self.pc_a.createOffer())
            a_ports = candidate_ports(self.pc_a.localDescription.sdp)
            offer = type(self.pc_a.localDescription)(sdp=rewrite_candidates(self.pc_a.localDescription.sdp,
                                                                            self.relay.port_for_b), type="offer")
            await self.pc_b.setRemoteDescription(offer)
            await self.pc_b.setLocalDescription(await self.pc_b.createAnswer())
            b_ports = candidate_ports(self.pc_b.localDescription.sdp)
            if len(set(a_ports)) != 1 or len(set(b_ports)) != 1:
                raise RuntimeError(f"expected one 127.0.0.1 candidate per peer, got A {a_ports} and B {b_ports}")
            self.relay.connect((LOOPBACK_HOST, a_ports[0]), (LOOPBACK_HOST, b_ports[0]))
            answer = type(self.pc_b.localDescription)(sdp=rewrite_candidates(self.pc_b.localDescription.sdp,
                                                                             self.relay.port_for_a), type="answer")
            await self.pc_a.setRemoteDescription(answer)
        waiter = asyncio.ensure_future(asyncio.gather(connected["a"].wait(), connected["b"].wait()))
        fail = asyncio.ensure_future(failed.wait())
        try:
            done, _ = await asyncio.wait({waiter, fail}, timeout=connect_timeout_s,
                                         return_when=asyncio.FIRST_COMPLETED)
        finally:
            for f in (waiter, fail):
                f.cancel()
            await asyncio.gather(waiter, fail, return_exceptions=True)
        if waiter not in done:
            raise RuntimeError(f"the aiortc peers did not connect through the relay within {connect_timeout_s} s "
                               f"(A {self.pc_a.connectionState}, B {self.pc_b.connectionState})")
        self.media_start_s = self.clock()

    def call_time_s(self) -> float:
        """Seconds since both peers connected (the ``t_s`` of the samples)."""
        return 0.0 if self.media_start_s is None else self.clock() - self.media_start_s

    def schedule(self, events: Iterable[tuple[float, str, dict]]) -> None:
        """Apply ``(t_s, direction, params)`` impairment changes at call time ``t_s``.

        ``direction``: "forward", "backward" or "both"; ``params`` are validated now.
        """
        if self.relay is None or self.media_start_s is None:
            raise RuntimeError("start() the call before scheduling impairment changes")
        loop = asyncio.get_running_loop()
        for t_s, direction, params in events:
            if direction not in ("forward", "backward", "both"):
                raise ValueError(f"direction must be 'forward', 'backward' or 'both', got {direction!r}")
            Impairment(**{**self.relay.forward.to_dict(), **params})  # validate now, not when it fires
            delay_s = max(0.0, self.media_start_s + float(t_s) - self.clock())
            self._timers.append(loop.call_later(delay_s, functools.partial(self.relay.set, direction, **params)))

    async def sample(self) -> StatsSample:
        """Read both peers' getStats() and the receiver's counters now: one :class:`StatsSample`."""
        t_s = self.call_time_s()
        now_s = self.clock()
        rep_a, rep_b = await self.pc_a.getStats(), await self.pc_b.getStats()
        rtts = [s.roundTripTime for s in _stats_of(rep_a, "remote-inbound-rtp") if s.roundTripTime is not None]
        inbound = _stats_of(rep_b, "inbound-rtp")
        audio_in = [x for x in inbound if x.kind == "audio"]
        jitter_ms = None
        if audio_in:  # RTP timestamp units / clock rate (RFC 3550 6.4.1); audio: one packet per 20 ms
            jitter_ms = statistics.mean(1000.0 * x.jitter / CLOCK_RATES_HZ["audio"] for x in audio_in)
        counts = _media_counts(self.pc_b)
        if counts is None:  # fall back on getStats (exact for audio; see _media_counts)
            counts = (sum(max(int(x.packetsLost), 0) for x in audio_in),
                      sum(int(x.packetsReceived) for x in audio_in)) if audio_in else None
        lost = received = loss = None
        if counts is not None:
            lost, received = counts
            loss = interval_loss(self._prev_counts, lost, received)
            self._prev_counts = (lost, received)
        sent_bytes = sum(s.bytesSent for s in _stats_of(rep_a, "transport")) if _stats_of(rep_a, "transport") else None
        recv_bytes = (sum(s.bytesReceived for s in _stats_of(rep_b, "transport"))
                      if _stats_of(rep_b, "transport") else None)
        r = self.receiver
        return StatsSample(
            t_s=t_s, rtt_ms=1000.0 * statistics.mean(rtts) if rtts else None, jitter_ms=jitter_ms,
            loss_fraction=loss, packets_lost=lost, packets_received=received,
            send_kbps=self._send_rate.update(now_s, sent_bytes), recv_kbps=self._recv_rate.update(now_s, recv_bytes),
            frames_decoded=r.frames_decoded, fps=r.fps(now_s),
            freeze_count=r.freezes.freeze_count, freeze_s=r.freezes.freeze_s,
            e2e_delay_ms=r.take_e2e_ms(), audio_concealed_ms=r.audio.concealed_ms)

    async def samples(self, seconds: float) -> AsyncIterator[StatsSample]:
        """Yield a :class:`StatsSample` every ``sample_interval_s`` for ``seconds`` of call time (kept in ``stats``)."""
        if self.media_start_s is None:
            raise RuntimeError("start() the call before sampling it")
        k = 1
        while True:
            due_s = self.media_start_s + k * self.sample_interval_s
            if due_s - self.media_start_s > seconds + 1e-9:
                return
            wait_s = due_s - self.clock()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
            self._lag_ms.append(max(0.0, (self.clock() - due_s) * 1000.0))
            s = await self.sample()
            self.stats.add(s)
            yield s
            k += 1

    async def run(self, seconds: float, on_sample: Callable[[StatsSample], Any] | None = None,
                  events: Iterable[tuple[float, str, dict]] = ()) -> CallStats:
        """Run for ``seconds`` of call time, calling ``on_sample(sample)`` (sync or async) every interval."""
        self.schedule(events)
        async for s in self.samples(seconds):
            if on_sample is not None:
                res = on_sample(s)
                if inspect.isawaitable(res):
                    await res
        self.stats.config["measured"] = self.measured()
        # how late the sampler woke: on a busy machine every packet and every RTCP report
        # waits as long, and the measured delays (RTT included) carry it
        lag = sorted(self._lag_ms) or [0.0]
        self.stats.config["loop_lag_ms"] = {"p50": lag[len(lag) // 2], "p95": lag[int(0.95 * (len(lag) - 1))],
                                            "max": lag[-1]}
        return self.stats

    def measured(self) -> dict:
        """Call-wide figures the samples do not hold: all e2e delays, frames stamped, relay counters."""
        e2e = self.receiver.all_e2e_ms
        return {
            "e2e_delay_ms_min": min(e2e) if e2e else None,
            "e2e_delay_ms_median": statistics.median(e2e) if e2e else None,
            "frames_with_timecode": self.receiver.frames_stamped,
            "frames_decoded": self.receiver.frames_decoded,
            "relay": self.relay.counters() if self.relay is not None else None,
        }

    async def close(self) -> None:
        """Stop the media, close both peers and the relay; leaves no task and no socket behind."""
        if self._closed:
            return
        self._closed = True
        for h in self._timers:
            h.cancel()
        for t in self._tracks:
            t.stop()
        await self.receiver.stop()
        for pc in (self.pc_a, self.pc_b):
            if pc is not None:
                await pc.close()
        if self.relay is not None and self._own_relay:
            await self.relay.close()
        await asyncio.sleep(0)

    async def __aenter__(self) -> "AiortcCall":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()


def outage_events(at_s: float, duration_s: float, direction: str = "both") -> list[tuple[float, str, dict]]:
    """The two events of an outage from ``at_s`` for ``duration_s`` (both directions by default)."""
    for name, v in (("at_s", at_s), ("duration_s", duration_s)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0 seconds, got {v!r}")
    return [(float(at_s), direction, {"outage": True}), (float(at_s + duration_s), direction, {"outage": False})]


async def run_aiortc_call(*, seconds: float = 10.0, forward: Impairment | None = None,
                          backward: Impairment | None = None, seed: int = 0, pcap: str | None = None,
                          on_sample: Callable[[StatsSample], Any] | None = None,
                          events: Iterable[tuple[float, str, dict]] = (), relay: UdpRelay | None = None,
                          **options) -> CallStats:
    """Run one aiortc call for ``seconds`` through the relay and return its :class:`CallStats`.

    ``forward``/``backward``: the live :class:`Impairment` objects of A→B and B→A (the
    relay uses these very objects, so changing them during the call takes effect);
    ``relay``: a started :class:`UdpRelay` to use instead (left open; its impairments apply);
    ``events``: scheduled changes, e.g. :func:`outage_events`; ``options``: width,
    height, fps, sample_interval_s of :class:`AiortcCall`.  Always closes everything,
    also when cancelled.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 3600:
        raise ValueError(f"seconds must be in (0, 3600], got {seconds!r}")
    call = AiortcCall(forward=forward, backward=backward, seed=seed, pcap=pcap, relay=relay, **options)
    try:
        await call.start()
        return await call.run(seconds, on_sample=on_sample, events=events)
    finally:
        await call.close()


__all__ = ["AiortcCall", "candidate_ports", "outage_events", "read_timecode", "rewrite_candidates",
           "run_aiortc_call", "stamp_timecode", "timecode_delay_ms"]
