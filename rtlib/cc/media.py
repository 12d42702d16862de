"""A media source that follows the target rate: video encoder model, audio CBR, pacer.

A congestion controller only says *how fast*; the sender's media pipeline has to
follow, and it does so imperfectly, which the controller then sees in its feedback:

- :class:`VideoEncoderModel`: a video encoder reduced to what matters for rate
  control.  Its output bitrate moves towards the target with a first-order lag
  (``response_time_s``: real encoders adjust their quantiser over a few frames), each
  frame's size varies by ±5 % (``noise``), a *keyframe* (sent at the start, when the
  receiver asks with a PLI, and every ``keyframe_interval_s`` if set) costs
  ``keyframe_factor`` times a normal frame, repaid by the next second of frames, and a
  *ladder* of resolutions and frame rates is climbed and descended as the target
  moves (e.g. 720p30 at 2 Mbit/s, 180p15 at 150 kbit/s), as WebRTC's quality scaler does.
- :class:`AudioCbr`: Opus-like constant-bitrate audio, one packet per 20 ms.
- :class:`Pacer`: spreads the packets of a frame over time instead of sending them
  back to back (draft-ietf-rmcat-gcc-02 section 4: a burst every ``burst_time`` = 5 ms),
  at ``pacing_factor`` (2.5, as in WebRTC) times the target so a keyframe does not
  wait long; audio goes first.

All three are sans-IO: they are asked for their next event time and fed the time.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from rtlib.sim import make_rng

#: Bytes of headers on the wire per media packet: IPv4 (20) + UDP (8) + RTP (12) +
#: an RFC 8285 one-byte extension block holding abs-send-time and the transport-wide
#: sequence number (4 + 4 + 3, padded to 12).
OVERHEAD_BYTES = 52
#: Largest RTP payload per packet, so the IP packet stays well below a 1500-byte MTU.
MAX_PAYLOAD_BYTES = 1200


@dataclass(frozen=True)
class Rung:
    """One step of the encoder's ladder: used while the target is at least ``min_bps``."""

    width: int
    height: int
    fps: float
    min_bps: float

    @property
    def label(self) -> str:
        return f"{self.height}p{self.fps:g}"


#: Resolution / frame-rate ladder, from poorest to best (bit/s thresholds close to
#: WebRTC's defaults for VP8 simulcast layers and its quality scaler).
LADDER = (
    Rung(320, 180, 7.5, 0.0),
    Rung(320, 180, 15.0, 100e3),
    Rung(480, 270, 30.0, 250e3),
    Rung(640, 360, 30.0, 500e3),
    Rung(960, 540, 30.0, 1000e3),
    Rung(1280, 720, 30.0, 1800e3),
)


@dataclass(slots=True)
class Frame:
    """One encoded video frame."""

    index: int
    t_s: float
    size_bytes: int
    keyframe: bool
    rung: Rung


class VideoEncoderModel:
    """A rate-following video encoder (see the module docstring).

    ``set_target(rate_bps)`` sets the payload bitrate it aims at;
    ``encode(now_s)`` returns the next :class:`Frame` (call it at ``next_frame_s``).
    """

    def __init__(self, *, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 3e6,
                 response_time_s: float = 0.3, noise: float = 0.05, keyframe_interval_s: float | None = None,
                 keyframe_factor: float = 4.0, ladder: tuple[Rung, ...] = LADDER, seed: int = 0, stream: str = "video"):
        if not 0 < min_rate_bps <= max_rate_bps:
            raise ValueError(f"need 0 < min_rate_bps <= max_rate_bps, got {min_rate_bps!r}, {max_rate_bps!r}")
        if not 0 <= response_time_s <= 10:
            raise ValueError(f"response_time_s must be in [0, 10] s, got {response_time_s!r}")
        if not 0 <= noise < 1:
            raise ValueError(f"noise must be in [0, 1), got {noise!r}")
        if keyframe_interval_s is not None and not keyframe_interval_s > 0:
            raise ValueError(f"keyframe_interval_s must be > 0 s or None, got {keyframe_interval_s!r}")
        if not 1 <= keyframe_factor <= 20:
            raise ValueError(f"keyframe_factor must be in [1, 20], got {keyframe_factor!r}")
        self.min_rate_bps, self.max_rate_bps = float(min_rate_bps), float(max_rate_bps)
        self.response_time_s, self.noise = response_time_s, noise
        self.keyframe_interval_s, self.keyframe_factor = keyframe_interval_s, keyframe_factor
        self.ladder = tuple(sorted(ladder, key=lambda r: r.min_bps))
        self.target_bps = self._clip(start_rate_bps)
        self.rate_bps = self.target_bps       # what the encoder currently produces
        self.rung = self._rung_for(self.target_bps)
        self._rng = make_rng(seed, "cc", stream)
        self._noise_buf: list[float] = []
        self._index = 0
        self._last_s: float | None = None
        self._last_key_s = -math.inf
        self._key_requested = True            # the first frame is a keyframe
        self._debt_bytes = 0.0
        self._rung_changed_s = -math.inf
        self.next_frame_s = 0.0
        self.keyframes = 0
        self.frames_skipped = 0

    def _clip(self, rate_bps: float) -> float:
        return min(max(float(rate_bps), self.min_rate_bps), self.max_rate_bps)

    def _rung_for(self, rate_bps: float) -> Rung:
        rung = self.ladder[0]
        for r in self.ladder:
            if rate_bps >= r.min_bps:
                rung = r
        return rung

    def set_target(self, rate_bps: float) -> None:
        self.target_bps = self._clip(rate_bps)

    def request_keyframe(self) -> None:
        """A PLI arrived (RFC 4585 6.3.1): make the next frame a keyframe."""
        self._key_requested = True

    def _adapt_rung(self, now_s: float) -> None:
        # go down at once when the rung's floor is no longer met; go up only with 10 %
        # headroom and at most once a second, so noise does not flip the resolution
        want = self._rung_for(self.rate_bps)
        if want.min_bps < self.rung.min_bps:
            self.rung, self._rung_changed_s = want, now_s
        elif want.min_bps > self.rung.min_bps and now_s - self._rung_changed_s >= 1.0:
            up = self._rung_for(self.rate_bps / 1.1)
            if up.min_bps > self.rung.min_bps:
                self.rung, self._rung_changed_s = up, now_s

    def skip(self, now_s: float) -> None:
        """Drop the frame due at ``now_s`` before encoding it (the transport cannot take it).

        The next encoded frame still references the last one sent, so a skipped frame
        costs smoothness (a longer gap between rendered frames), never decodability."""
        self.frames_skipped += 1
        self.next_frame_s = now_s + 1.0 / self.rung.fps

    def encode(self, now_s: float, max_bytes: float | None = None) -> Frame:
        """Produce the frame due at ``now_s`` and schedule the next one.

        ``max_bytes``: a cap on this frame's size (a congestion window's room, for a
        sender whose encoder follows the window frame by frame); ``None`` = no cap."""
        if self._last_s is not None and self.response_time_s > 0:
            a = 1.0 - math.exp(-(now_s - self._last_s) / self.response_time_s)
            self.rate_bps += (self.target_bps - self.rate_bps) * a
        else:
            self.rate_bps = self.target_bps
        self._last_s = now_s
        self._adapt_rung(now_s)
        fps = self.rung.fps
        nominal = self.rate_bps / fps / 8.0
        if not self._noise_buf:
            self._noise_buf = self._rng.uniform(1 - self.noise, 1 + self.noise, 256).tolist()
        size = nominal * self._noise_buf.pop()
        key = self._key_requested or (self.keyframe_interval_s is not None
                                      and now_s - self._last_key_s >= self.keyframe_interval_s)
        if key:
            self._key_requested = False
            self._last_key_s = now_s
            self.keyframes += 1
            extra = (self.keyframe_factor - 1) * nominal
            size += extra
            self._debt_bytes += extra
        elif self._debt_bytes > 0:
            # repay the keyframe over about a second of frames, keeping each >= 30 %
            repay = min(self._debt_bytes, nominal / 3.0 if fps >= 3 else nominal * 0.7, 0.7 * size)
            size -= repay
            self._debt_bytes -= repay
        if max_bytes is not None and size > max_bytes:
            if key:  # a capped keyframe leaves less to repay
                self._debt_bytes = max(self._debt_bytes - (size - max_bytes), 0.0)
            size = max_bytes
        frame = Frame(self._index, now_s, max(int(size), 1), key, self.rung)
        self._index += 1
        self.next_frame_s = now_s + 1.0 / fps
        return frame


def packet_sizes(payload_bytes: int, max_payload_bytes: int = MAX_PAYLOAD_BYTES) -> list[int]:
    """Split a frame's payload into near-equal RTP payloads of at most ``max_payload_bytes``."""
    n = max(1, -(-payload_bytes // max_payload_bytes))
    base, extra = divmod(payload_bytes, n)
    return [base + 1 if i < extra else base for i in range(n)]


class AudioCbr:
    """Constant-bitrate audio (Opus-like): one ``rate_bps * frame_s / 8``-byte payload per frame."""

    def __init__(self, rate_bps: float = 32e3, frame_s: float = 0.020):
        if not 6e3 <= rate_bps <= 510e3:
            raise ValueError(f"rate_bps must be in [6000, 510000] bit/s (Opus's range), got {rate_bps!r}")
        if not 0.0025 <= frame_s <= 0.120:
            raise ValueError(f"frame_s must be in [0.0025, 0.12] s, got {frame_s!r}")
        self.rate_bps, self.frame_s = float(rate_bps), float(frame_s)
        self.payload_bytes = max(1, int(round(rate_bps * frame_s / 8)))

    @property
    def wire_rate_bps(self) -> float:
        """The rate on the wire, headers included."""
        return (self.payload_bytes + OVERHEAD_BYTES) * 8 / self.frame_s


class Pacer:
    """A leaky-bucket pacer (draft-ietf-rmcat-gcc-02 section 4).

    ``enqueue(item, size_bytes, audio=False)`` queues a packet; ``poll(now_s)`` returns
    the packets to send now and the time to poll next (``None`` when idle).  Every
    ``burst_s`` (5 ms) the budget grows by ``pacing_factor * rate * burst_s`` bytes,
    capped at one burst so an idle pacer cannot save up a long burst; packets are sent
    while the budget is positive (the last one may overdraw it).
    """

    def __init__(self, rate_bps: float, *, pacing_factor: float = 2.5, burst_s: float = 0.005):
        if not 1 <= pacing_factor <= 10:
            raise ValueError(f"pacing_factor must be in [1, 10], got {pacing_factor!r}")
        if not 0.001 <= burst_s <= 0.1:
            raise ValueError(f"burst_s must be in [0.001, 0.1] s, got {burst_s!r}")
        self.pacing_factor, self.burst_s = pacing_factor, burst_s
        self.rate_bps = float(rate_bps)
        self._audio: deque = deque()
        self._video: deque = deque()
        self._budget = 0.0
        self._last_s: float | None = None
        self.queued_bytes = 0

    def set_rate(self, rate_bps: float) -> None:
        self.rate_bps = float(rate_bps)

    def enqueue(self, item, size_bytes: int, audio: bool = False) -> None:
        (self._audio if audio else self._video).append((item, size_bytes))
        self.queued_bytes += size_bytes

    def audio_waiting(self) -> bool:
        return bool(self._audio)

    def __len__(self) -> int:
        return len(self._audio) + len(self._video)

    def queue_delay_s(self) -> float:
        """How long the queued bytes take to leave at the pacing rate."""
        return self.queued_bytes * 8 / (self.pacing_factor * self.rate_bps)

    def poll(self, now_s: float, limit_bytes: float = math.inf) -> tuple[list, float | None]:
        """Packets to send now, and when to poll next (``None``: the queue is empty).

        ``limit_bytes`` caps what this call releases (a congestion window's room): the
        packet that reaches it still goes, as WebRTC's pacer checks the window before
        each packet and not its size."""
        Bps = self.pacing_factor * self.rate_bps / 8.0
        cap = Bps * self.burst_s
        if self._last_s is None:
            self._budget = cap
        else:
            self._budget = min(self._budget + Bps * (now_s - self._last_s), cap)
        self._last_s = now_s
        out = []
        audio, video = self._audio, self._video
        while self._budget > 0 and limit_bytes > 0 and (audio or video):
            item, size = (audio or video).popleft()
            self._budget -= size
            limit_bytes -= size
            self.queued_bytes -= size
            out.append(item)
        if not audio and not video:
            self._last_s = None  # idle: restart with a fresh burst next time
            return out, None
        return out, now_s + self.burst_s
