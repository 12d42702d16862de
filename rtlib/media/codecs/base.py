"""One interface for every codec in the course, teaching or real.

A codec turns one *frame* of media into one *payload* (the bytes an RTP packet
carries) and back:

- ``encode(frame) -> bytes``: ``frame`` holds exactly ``samples_per_frame`` audio
  samples (int16, or float in [-1, 1]), or one video picture (``height × width × 3``
  uint8 RGB).
- ``decode(payload) -> samples or pixels``; ``decode(None)`` means "this frame was
  lost": the codec returns its own concealment (silence for the teaching codecs,
  libopus's packet-loss concealment for Opus, the last picture for video) and keeps
  its state consistent for the next frame.
- ``frame_ms``: the duration of one frame; ``lookahead_ms``: how much later input the
  encoder needs before it can emit a frame (MDCT overlap, Opus's look-ahead);
  ``algorithmic_delay_ms = frame_ms + lookahead_ms``: the delay the codec adds before
  any network or buffer delay, the figure ITU-T G.114 budgets as "codec delay".
- ``bitrate_bps``: the nominal payload bit rate (RTP/UDP/IP headers excluded).

Audio samples travel as ``int16`` (what G.711, G.722 and PyAV's ``s16`` use);
:func:`as_int16` and :func:`as_float` convert.

Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


def as_int16(samples) -> np.ndarray:
    """Samples as int16: floats in [-1, 1] are scaled by 32768 and clipped, ints are clipped."""
    x = np.asarray(samples)
    if x.dtype == np.int16:
        return x
    if x.dtype.kind == "f":
        return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    if x.dtype.kind in "iu":
        return np.clip(x, -32768, 32767).astype(np.int16)
    raise ValueError(f"samples must be int16 or float in [-1, 1], got dtype {x.dtype}")


def as_float(samples) -> np.ndarray:
    """Samples as float64 in [-1, 1) (int16 divided by 32768; floats returned as float64)."""
    x = np.asarray(samples)
    if x.dtype.kind == "f":
        return x.astype(np.float64, copy=False)
    if x.dtype.kind in "iu":
        return x.astype(np.float64) / 32768.0
    raise ValueError(f"samples must be int16 or float, got dtype {x.dtype}")


class Codec(ABC):
    """What every codec offers; see the module docstring for the contract."""

    #: short name used by :func:`rtlib.media.codecs.get_codec`, e.g. ``"pcmu"``
    name: str = ""
    #: ``"audio"`` or ``"video"``
    kind: str = "audio"
    #: SDP encoding name (RFC 4566 ``a=rtpmap``), e.g. ``"PCMU"``; "" if not an RTP format
    rtp_name: str = ""
    #: static RTP payload type from RFC 3551 Table 4, or None (dynamic, negotiated in SDP)
    payload_type: int | None = None
    #: RTP timestamp clock rate in Hz (RFC 3551: 8000 for G.722 although it samples at 16 kHz)
    clock_rate_hz: int = 8000
    #: the codec's concealment for ``decode(None)``: "silence", "codec" (its own PLC) or "freeze"
    plc: str = "silence"

    frame_ms: float = 20.0
    lookahead_ms: float = 0.0

    @property
    def algorithmic_delay_ms(self) -> float:
        """Frame duration plus look-ahead: the delay the codec adds by itself."""
        return self.frame_ms + self.lookahead_ms

    @property
    @abstractmethod
    def bitrate_bps(self) -> float:
        """Nominal payload bit rate in bit/s (headers excluded)."""

    @property
    def timestamp_step(self) -> int:
        """RTP timestamp increment per frame (RFC 3550 §5.1), in ``clock_rate_hz`` units."""
        return int(round(self.frame_ms * self.clock_rate_hz / 1000))

    @abstractmethod
    def encode(self, frame) -> bytes:
        """One frame in, one payload out."""

    @abstractmethod
    def decode(self, payload: bytes | None):
        """One payload (or None for a lost frame) in, one frame of samples or pixels out."""

    def reset(self) -> None:
        """Forget all state (a new stream starts)."""

    def describe(self) -> dict:
        """The codec's headline figures, for tables."""
        return {
            "codec": self.label,
            "frame_ms": self.frame_ms,
            "lookahead_ms": self.lookahead_ms,
            "algorithmic_delay_ms": self.algorithmic_delay_ms,
            "bitrate_bps": self.bitrate_bps,
        }

    @property
    def label(self) -> str:
        """A human-readable name with its settings."""
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}: {self.frame_ms:g} ms, {self.bitrate_bps / 1000:g} kbit/s>"


class AudioCodec(Codec):
    """A codec of mono audio sampled at ``rate_hz``.

    ``encode`` takes ``samples_per_frame`` samples; ``decode`` returns as many int16
    samples.  The decoded signal lags the input by ``delay_samples`` (the look-ahead).
    """

    kind = "audio"
    rate_hz: int = 8000

    @property
    def samples_per_frame(self) -> int:
        return int(round(self.frame_ms * self.rate_hz / 1000))

    @property
    def delay_samples(self) -> int:
        """How many samples the decoded output lags the input (to align them)."""
        return int(round(self.lookahead_ms * self.rate_hz / 1000))

    def _frame_in(self, frame) -> np.ndarray:
        x = as_int16(frame)
        if x.shape != (self.samples_per_frame,):
            raise ValueError(
                f"frame must hold {self.samples_per_frame} mono samples ({self.frame_ms:g} ms at "
                f"{self.rate_hz} Hz), got shape {x.shape}"
            )
        return x

    def silence(self) -> np.ndarray:
        return np.zeros(self.samples_per_frame, dtype=np.int16)


class VideoCodec(Codec):
    """A codec of RGB pictures ``height × width × 3`` (uint8) at ``fps`` frames per second."""

    kind = "video"
    clock_rate_hz = 90_000  # RFC 3551 §5: video uses a 90 kHz RTP clock
    plc = "freeze"
    width: int = 320
    height: int = 240
    fps: float = 30.0

    @property
    def frame_ms(self) -> float:  # type: ignore[override]
        return 1000.0 / self.fps

    def _frame_in(self, frame) -> np.ndarray:
        x = np.asarray(frame)
        if x.shape != (self.height, self.width, 3) or x.dtype != np.uint8:
            raise ValueError(
                f"frame must be a {self.height}×{self.width}×3 uint8 RGB picture, got shape {x.shape} {x.dtype}"
            )
        return x


def encode_clip(codec: AudioCodec, samples) -> list[bytes]:
    """Cut a clip into frames (the last one padded with silence) and encode each."""
    x = as_int16(samples)
    if x.ndim != 1:
        raise ValueError(f"samples must be one-dimensional (mono), got shape {x.shape}")
    n = codec.samples_per_frame
    frames = -(-len(x) // n)
    padded = np.zeros(frames * n, dtype=np.int16)
    padded[: len(x)] = x
    return [codec.encode(padded[i * n:(i + 1) * n]) for i in range(frames)]


def decode_clip(codec: AudioCodec, payloads) -> np.ndarray:
    """Decode a list of payloads (None for each lost one) into one int16 signal."""
    out = [np.asarray(codec.decode(p), dtype=np.int16) for p in payloads]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int16)


def roundtrip(codec: AudioCodec, samples, lost=None) -> np.ndarray:
    """Encode and decode a clip; return the decoded signal aligned with the input.

    ``lost`` is an optional boolean sequence, one per frame (True = lost).  The
    codec's look-ahead is compensated (extra silence is encoded at the end and the
    first ``delay_samples`` of output dropped), so ``result[i]`` matches
    ``samples[i]``, and the result has the input's length.
    """
    x = as_int16(samples)
    codec.reset()
    tail = np.zeros(codec.delay_samples, dtype=np.int16)
    payloads = encode_clip(codec, np.concatenate([x, tail]))
    if lost is not None:
        lost = np.asarray(lost, dtype=bool)
        if lost.shape != (len(payloads),):
            raise ValueError(f"lost must hold one flag per frame ({len(payloads)}), got shape {lost.shape}")
        payloads = [None if gone else p for p, gone in zip(payloads, lost)]
    y = decode_clip(codec, payloads)
    return y[codec.delay_samples: codec.delay_samples + len(x)]
