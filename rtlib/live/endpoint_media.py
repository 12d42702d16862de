"""What the live rtlib endpoint sends: audio and video frames that follow the rate controller.

The *timing and size decisions* are the simulator's own media models
(:mod:`rtlib.cc.media`): :class:`~rtlib.cc.media.VideoEncoderModel` decides when a
frame is due (its ladder's frame rate), how many bytes it should have (it follows the
controller's target with a lag), when a keyframe is needed (start, PLI) and when to skip
a frame; :class:`~rtlib.cc.media.AudioCbr` gives one audio frame per 20 ms.  What fills
the payload is chosen by ``media``:

- ``"codec"`` (the default of :func:`rtlib.live.endpoint.run_rtlib_call`): **real
  encoded media**.  Video is VP8 (libvpx through PyAV, :class:`rtlib.media.codecs.Vp8Codec`)
  of a moving synthetic test pattern, packetized with the RFC 7741 payload descriptor
  (:func:`rtlib.media.packetize.vp8_packetize`); audio is Opus (RFC 7587, 48 kHz RTP
  clock, 20 ms frames) of a synthetic tone.  libvpx in FFmpeg cannot change its bitrate
  while it runs, so the encoder is rebuilt (a new keyframe, as a resolution switch
  costs in WebRTC) when the model's rate moves more than ``REBUILD_RATIO`` from the
  encoder's, at most once per ``REBUILD_MIN_S``; the resolution is the ladder rung's,
  capped at ``MAX_CODEC_SIZE`` so two encoders stay real-time on a two-core laptop.
  tests/live/test_endpoint_interop.py shows FFmpeg's RTP demuxer decoding the stream.
- ``"model"``: the simulator's sizes exactly, the payload a small rtlib header
  (``MODEL_MAGIC``, frame index, keyframe flag) plus filler; what
  :func:`rtlib.live.endpoint.simulate_same_scenario` compares with one for one.

The capture time does not travel in the payload: the endpoint stamps every packet
with the abs-capture-time header extension (:mod:`rtlib.live.rtp_stamp`).

Used in: notebooks/12_live_call.ipynb (the live rtlib call beside its simulation).
"""

from __future__ import annotations

import struct
from functools import lru_cache
from dataclasses import dataclass

import numpy as np

from rtlib.cc.media import AudioCbr, VideoEncoderModel
from rtlib.media.packetize import Vp8Descriptor, vp8_packetize
from rtlib.rtp.errors import ParseError

MEDIA_KINDS = ("codec", "model")

#: RTP payload types (dynamic, RFC 3551 section 3): what an SDP would announce.
OPUS_PT, VP8_PT, RTX_PT = 111, 96, 97
MODEL_AUDIO_PT, MODEL_VIDEO_PT = 100, 101
PROBE_PT = 127  # padding probes (GCC start-up probing) on their own SSRC

#: RTP payload budget per video packet (bytes), below a 1500-byte MTU with headers.
VIDEO_PAYLOAD_BYTES = 1100
#: Encoder rebuilt when the model's rate differs from the encoder's by more than this ratio.
REBUILD_RATIO = 1.3
REBUILD_MIN_S = 1.0
#: Largest picture the live VP8 encoder codes (width, height).
MAX_CODEC_SIZE = (480, 270)

MODEL_MAGIC = b"RTLB"
_MODEL_HDR = struct.Struct("!4sIB")  # magic, frame index, keyframe flag


@dataclass
class VideoOut:
    """One encoded video frame: its RTP payloads (in order), capture time, keyframe flag."""

    index: int
    capture_s: float
    payloads: list[bytes]
    keyframe: bool

    @property
    def size_bytes(self) -> int:
        return sum(len(p) for p in self.payloads)


def _model_payload(index: int, keyframe: bool, size_bytes: int) -> bytes:
    head = _MODEL_HDR.pack(MODEL_MAGIC, index & 0xFFFFFFFF, 1 if keyframe else 0)
    return head + bytes(max(size_bytes - len(head), 0))


@lru_cache(maxsize=4)
def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    return tuple(np.indices((height, width)))


def pattern_picture(width: int, height: int, index: int, rng: np.random.Generator) -> np.ndarray:
    """A moving RGB test pattern (gradients, a white box, a noisy corner) for frame ``index``."""
    yy, xx = _grid(width, height)
    img = np.empty((height, width, 3), np.uint8)
    img[..., 0] = (xx * 255 // width + index * 3) % 256
    img[..., 1] = (yy * 255 // height + index * 2) % 256
    img[..., 2] = ((xx + yy) // 4 + index * 5) % 256
    x0 = (index * 6) % max(width - 40, 1)
    img[height // 3:height // 3 + 40, x0:x0 + 40] = 255
    img[:height // 4, :width // 4] = rng.integers(0, 256, (height // 4, width // 4, 3), dtype=np.uint8)
    return img


class VideoSource:
    """Video frames following the controller: :class:`VideoEncoderModel` decides, ``media`` fills.

    ``set_target(rate_bps)`` (the controller's video share), ``request_keyframe()`` (a
    PLI), ``skip(now_s)`` (the pacer is full), ``encode(now_s)`` at ``next_frame_s``.
    """

    def __init__(self, media: str = "codec", *, start_rate_bps: float = 300e3, min_rate_bps: float = 100e3,
                 max_rate_bps: float = 1.2e6, response_time_s: float = 0.3, seed: int = 0, stream: str = "video"):
        if media not in MEDIA_KINDS:
            raise ValueError(f"media must be one of {list(MEDIA_KINDS)}, got {media!r}")
        self.media = media
        self.model = VideoEncoderModel(start_rate_bps=start_rate_bps, min_rate_bps=min_rate_bps,
                                       max_rate_bps=max_rate_bps, response_time_s=response_time_s, seed=seed,
                                       stream=stream)
        self.payload_type = VP8_PT if media == "codec" else MODEL_VIDEO_PT
        self._rng = np.random.default_rng(seed)
        self._codec = None
        self._codec_key: tuple | None = None
        self._codec_rate_bps = 0.0
        self._codec_built_s = -1e9
        self.rebuilds = 0
        if media == "codec":
            # import and build the encoder now, not while the call's first frame is due
            self._ensure_codec(-REBUILD_MIN_S, self.model.rung, self.model.rate_bps)
            self.rebuilds = 0

    def _ensure_codec(self, now_s: float, rung, rate_bps: float) -> tuple[int, int]:
        """The VP8 encoder for ``rung`` and ``rate_bps`` (rebuilt when they moved); its picture size."""
        w = min(rung.width, MAX_CODEC_SIZE[0])
        h = min(rung.height, MAX_CODEC_SIZE[1])
        key = (w, h, rung.fps)
        rate = min(max(rate_bps, 20e3), 20e6)
        stale = (self._codec is None or key != self._codec_key
                 or (now_s - self._codec_built_s >= REBUILD_MIN_S
                     and not 1 / REBUILD_RATIO <= rate / self._codec_rate_bps <= REBUILD_RATIO))
        if stale:
            from rtlib.media.codecs.video import Vp8Codec

            self._codec = Vp8Codec(w, h, rung.fps, rate)
            self._codec_key, self._codec_rate_bps, self._codec_built_s = key, rate, now_s
            self.rebuilds += 1
        return w, h

    @property
    def next_frame_s(self) -> float:
        return self.model.next_frame_s

    def set_target(self, rate_bps: float) -> None:
        self.model.set_target(rate_bps)

    def request_keyframe(self) -> None:
        self.model.request_keyframe()

    def skip(self, now_s: float) -> None:
        self.model.skip(now_s)

    def plan(self, now_s: float) -> "EncodeJob":
        """The model's decision for the frame due at ``now_s`` (cheap; the main thread's part)."""
        frame = self.model.encode(now_s)
        return EncodeJob(self, frame.index, now_s, frame.keyframe, frame.size_bytes, frame.rung,
                         self.model.rate_bps)

    def encode(self, now_s: float) -> VideoOut:
        """:meth:`plan` and :meth:`EncodeJob.run` at once."""
        return self.plan(now_s).run()

    def _fill(self, job: "EncodeJob") -> VideoOut:
        if self.media == "model":
            payload = _model_payload(job.index, job.keyframe, job.size_bytes)
            pieces = [payload[i:i + VIDEO_PAYLOAD_BYTES] for i in range(0, len(payload), VIDEO_PAYLOAD_BYTES)]
            return VideoOut(job.index, job.capture_s, pieces, job.keyframe)
        w, h = self._ensure_codec(job.capture_s, job.rung, job.rate_bps)
        data = self._codec.encode(pattern_picture(w, h, job.index, self._rng), keyframe=job.keyframe)
        if not data:  # libvpx dropped the frame (rate control): send nothing
            return VideoOut(job.index, job.capture_s, [], False)
        return VideoOut(job.index, job.capture_s, vp8_packetize(data, picture_id=job.index & 0x7FFF,
                                                                max_payload_bytes=VIDEO_PAYLOAD_BYTES),
                        vp8_is_keyframe(data))


@dataclass
class EncodeJob:
    """One planned video frame; :meth:`run` encodes it (the costly part, safe in a worker thread).

    A source's jobs must run one at a time and in order (one encoder)."""

    source: VideoSource
    index: int
    capture_s: float
    keyframe: bool
    size_bytes: int
    rung: object
    rate_bps: float
    out: VideoOut | None = None

    def run(self) -> VideoOut:
        self.out = self.source._fill(self)
        return self.out


def vp8_is_keyframe(vp8_frame: bytes) -> bool:
    """RFC 6386 section 9.1: the frame tag's bit 0 is 0 for a key frame."""
    return len(vp8_frame) > 0 and not vp8_frame[0] & 0x01


def frame_is_keyframe(payload: bytes, media: str) -> bool:
    """Whether a reassembled frame payload (RTP payloads joined) is a keyframe.

    ``codec``: the first packet's VP8 payload descriptor (RFC 7741 section 4.2) is
    skipped and the VP8 frame tag read (RFC 7741 section 4.3: the P bit); ``model``:
    the rtlib header's flag.  Malformed payloads are not keyframes.
    """
    if media == "model":
        return len(payload) >= _MODEL_HDR.size and payload[:4] == MODEL_MAGIC and payload[8] == 1
    try:
        desc, data = Vp8Descriptor.parse(payload)
    except ParseError:
        return False
    return desc.start and vp8_is_keyframe(data)


class AudioSource:
    """20 ms audio frames: real Opus of a tone (``codec``) or :class:`AudioCbr` filler (``model``)."""

    def __init__(self, media: str = "codec", *, rate_bps: float = 32e3):
        if media not in MEDIA_KINDS:
            raise ValueError(f"media must be one of {list(MEDIA_KINDS)}, got {media!r}")
        self.media = media
        self.cbr = AudioCbr(rate_bps, 0.020)
        self.frame_s = self.cbr.frame_s
        self.payload_type = OPUS_PT if media == "codec" else MODEL_AUDIO_PT
        self.clock_rate_hz = 48_000
        self._index = 0
        self._codec = None
        if media == "codec":
            from rtlib.media.codecs.real import OpusCodec

            self._codec = OpusCodec(bitrate_bps=rate_bps, frame_ms=20.0)
            n = self._codec.samples_per_frame
            t = np.arange(50 * n) / 48_000  # one second of a 440 Hz tone with a slow tremolo
            self._signal = (0.3 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t)) * 32767
                            ).astype(np.int16)

    def encode(self) -> bytes:
        """The next 20 ms frame's payload."""
        i = self._index
        self._index += 1
        if self._codec is None:
            return _model_payload(i, False, self.cbr.payload_bytes)
        n = self._codec.samples_per_frame
        k = i % 50
        return self._codec.encode(self._signal[k * n:(k + 1) * n])


__all__ = ["AudioSource", "EncodeJob", "MEDIA_KINDS", "VideoOut", "VideoSource", "frame_is_keyframe", "pattern_picture",
           "vp8_is_keyframe"]
