"""Linear PCM and G.711 (μ-law, A-law): sampling and quantisation you can hear.

- :class:`LinearPcm` keeps ``bits`` bits per sample (uniform quantiser, mid-tread):
  each bit removed costs about 6 dB of signal-to-noise ratio.
- G.711 (ITU-T G.711, 1988) spends 8 bits per sample on a *logarithmic* scale:
  small amplitudes get small steps, loud ones large steps, so the SNR stays near
  38 dB over a wide range of levels.  It is a piecewise-linear approximation of the
  μ-law curve (North America, Japan; PCMU, RTP payload type 0) and the A-law curve
  (elsewhere; PCMA, payload type 8): 8 segments, each twice as coarse as the one
  below, 16 steps per segment.

:func:`ulaw_encode` / :func:`alaw_encode` follow the ITU-T G.191 reference code
(Software Tool Library, ``g711.c``), vectorised with numpy.  G.711 fixes the
decoder's output levels exactly, and every decoder here is bit-exact with FFmpeg's
(the one aiortc uses for PCMU/PCMA).  Encoders may differ on inputs that sit *on* a
decision value: FFmpeg's ``pcm_mulaw``/``pcm_alaw`` encoders (and so aiortc) round
to the nearest output level on a 14-bit grid, while G.191 follows G.711's decision
table and takes the one's complement of negative inputs.  The two agree on 64,572 of
the 65,536 16-bit inputs and, elsewhere, pick adjacent levels.  ``variant="ffmpeg"``
reproduces FFmpeg's table exactly (tests/media/test_codecs_g711.py checks every
input against aiortc's encoders).  The codec classes use 64 K-entry look-up tables.

Used in: notebooks/06_codecs.ipynb (μ-law, "implement μ-law" exercise), notebooks/07.
"""

from __future__ import annotations

import numpy as np

from rtlib.media.codecs.base import AudioCodec, as_int16


def _check_frame_ms(frame_ms, allowed=None) -> float:
    if allowed is not None:
        if frame_ms not in allowed:
            raise ValueError(f"frame_ms must be one of {list(allowed)}, got {frame_ms!r}")
    elif not 1 <= frame_ms <= 120:
        raise ValueError(f"frame_ms must be in [1, 120] ms, got {frame_ms!r}")
    return float(frame_ms)


def _bit_length(v: np.ndarray) -> np.ndarray:
    """Number of bits needed for each non-negative integer (0 -> 0)."""
    return np.frexp(v.astype(np.float64))[1].astype(np.int32)


# --- μ-law -----------------------------------------------------------------------

def ulaw_encode(samples) -> np.ndarray:
    """16-bit linear samples -> G.711 μ-law bytes (uint8), bit-exact with G.191.

    Steps: take the magnitude on 14 bits (one's complement for negatives, so -1
    maps to magnitude 0), add the bias 33 so every segment starts at a power of
    two, find the segment (position of the leading one), keep the 4 bits below it
    (the mantissa), and invert all bits (G.711 transmits μ-law inverted).
    """
    x = as_int16(samples).astype(np.int32)
    magnitude = np.where(x < 0, ~x, x) >> 2                 # 0 .. 8191
    biased = np.minimum(magnitude + 33, 0x1FFF)             # 33 .. 8191
    segment = _bit_length(biased >> 6)                      # 0 .. 7
    mantissa = (biased >> (segment + 1)) & 0x0F
    code = (segment << 4) | mantissa
    code = np.where(x >= 0, code | 0x80, code)              # sign bit: 1 = positive
    return (code ^ 0x7F).astype(np.uint8)                   # invert all but the sign bit


def ulaw_decode(codes) -> np.ndarray:
    """G.711 μ-law bytes -> 16-bit linear samples (int16), the G.191 expansion."""
    c = np.asarray(codes, dtype=np.int32)
    inv = ~c & 0xFF
    segment = (inv >> 4) & 0x07
    mantissa = inv & 0x0F
    step = 4 << (segment + 1)
    magnitude = (0x80 << segment) + step * mantissa + step // 2 - 4 * 33
    return np.where(c < 0x80, -magnitude, magnitude).astype(np.int16)


# --- A-law -----------------------------------------------------------------------

def alaw_encode(samples) -> np.ndarray:
    """16-bit linear samples -> G.711 A-law bytes (uint8), bit-exact with G.191.

    Magnitude on 12 bits (one's complement for negatives); segment 0 and 1 share the
    same step, so values below 32 are coded linearly; even bits are inverted (XOR
    0x55) as G.711 prescribes for A-law.
    """
    x = as_int16(samples).astype(np.int32)
    magnitude = np.where(x < 0, ~x, x) >> 4                 # 0 .. 2047
    segment = np.maximum(_bit_length(magnitude) - 4, 0)     # 0 .. 7
    mantissa = np.where(segment == 0, magnitude, magnitude >> np.maximum(segment - 1, 0)) & 0x0F
    code = (segment << 4) | mantissa
    code = np.where(x >= 0, code | 0x80, code)
    return (code ^ 0x55).astype(np.uint8)


def alaw_decode(codes) -> np.ndarray:
    """G.711 A-law bytes -> 16-bit linear samples (int16), the G.191 expansion."""
    c = np.asarray(codes, dtype=np.int32)
    ix = (c ^ 0x55) & 0x7F
    segment = ix >> 4
    mantissa = ix & 0x0F
    mantissa = np.where(segment > 0, mantissa + 16, mantissa)
    value = (mantissa << 4) + 8
    value = np.where(segment > 1, value << np.maximum(segment - 1, 0), value)
    return np.where(c > 127, value, -value).astype(np.int16)


_ALL_INT16 = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)
_ULAW_DEC = ulaw_decode(np.arange(256))
_ALAW_DEC = alaw_decode(np.arange(256))


def _nearest_level_table(decode, mask: int) -> np.ndarray:
    """FFmpeg's encoder table (libavcodec/pcm_tablegen.h): the nearest output level.

    Index ``(x + 32768) >> 2`` (a 14-bit grid, negative inputs floored); the
    threshold between level i and i+1 is the mean of the two decoded levels on that
    grid, rounded.
    """
    i = np.arange(127)
    v1 = decode(i ^ mask).astype(np.int32)
    v2 = decode((i + 1) ^ mask).astype(np.int32)
    thresholds = (v1 + v2 + 4) >> 3
    j = np.arange(8193)
    level = np.searchsorted(thresholds, j, side="right")     # how many thresholds are <= j
    table = np.empty(16384, dtype=np.uint8)
    table[8192:] = (level[:8192] ^ mask).astype(np.uint8)
    table[:8192] = (level[1:][::-1] ^ (mask ^ 0x80)).astype(np.uint8)  # 8192 - j for j = 8192 .. 1
    table[0] = table[1]
    return table


_FFMPEG_TABLES = {"mu": _nearest_level_table(ulaw_decode, 0xFF), "a": _nearest_level_table(alaw_decode, 0xD5)}
_ENC_TABLES = {
    ("mu", "g191"): ulaw_encode(_ALL_INT16), ("a", "g191"): alaw_encode(_ALL_INT16),
    ("mu", "ffmpeg"): _FFMPEG_TABLES["mu"][(_ALL_INT16.astype(np.int32) + 32768) >> 2],
    ("a", "ffmpeg"): _FFMPEG_TABLES["a"][(_ALL_INT16.astype(np.int32) + 32768) >> 2],
}


def g711_encode(samples, law: str = "mu", variant: str = "g191") -> np.ndarray:
    """Encode 16-bit samples with G.711 ``law`` ("mu" or "a") by table look-up.

    ``variant="g191"``: the ITU-T reference encoder (same as :func:`ulaw_encode` /
    :func:`alaw_encode`); ``variant="ffmpeg"``: FFmpeg's nearest-level table, which
    aiortc's PCMU/PCMA encoders use.
    """
    if (law, variant) not in _ENC_TABLES:
        raise ValueError(f"law must be 'mu' or 'a' and variant 'g191' or 'ffmpeg', got {law!r}, {variant!r}")
    return _ENC_TABLES[law, variant][as_int16(samples).astype(np.int32) + 32768]


def g711_decode(codes, law: str = "mu") -> np.ndarray:
    """Decode G.711 bytes (uint8 array or bytes) to int16 samples."""
    if law not in ("mu", "a"):
        raise ValueError(f"law must be 'mu' or 'a', got {law!r}")
    c = np.frombuffer(codes, dtype=np.uint8) if isinstance(codes, (bytes, bytearray)) else np.asarray(codes)
    return (_ULAW_DEC if law == "mu" else _ALAW_DEC)[c.astype(np.int32)]


# --- codecs ----------------------------------------------------------------------

class LinearPcm(AudioCodec):
    """Uniform PCM with ``bits`` bits per sample (RFC 3551 §4.5.11 L16 when bits = 16).

    With fewer bits the payload still carries one byte (bits <= 8) or two bytes per
    sample, but the quantisation is that of a ``bits``-bit converter: the
    ``bitrate_bps`` reported is the information rate ``bits × rate_hz``.
    """

    name = "pcm"
    rtp_name = "L16"

    def __init__(self, rate_hz: int = 8000, bits: int = 16, frame_ms: float = 20.0):
        if rate_hz not in (8000, 16000, 32000, 44100, 48000):
            raise ValueError(f"rate_hz must be one of [8000, 16000, 32000, 44100, 48000], got {rate_hz!r}")
        if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 16:
            raise ValueError(f"bits must be an integer in [1, 16], got {bits!r}")
        self.rate_hz = int(rate_hz)
        self.clock_rate_hz = self.rate_hz
        self.bits = int(bits)
        self.frame_ms = _check_frame_ms(frame_ms)

    @property
    def bitrate_bps(self) -> float:
        return float(self.bits * self.rate_hz)

    @property
    def label(self) -> str:
        return f"PCM {self.bits}-bit {self.rate_hz / 1000:g} kHz"

    def quantise(self, x: np.ndarray) -> np.ndarray:
        """Round each sample to the nearest of 2**bits uniform levels (mid-tread)."""
        shift = 16 - self.bits
        if shift == 0:
            return x
        step = 1 << shift
        q = (x.astype(np.int32) + step // 2) >> shift   # round to nearest level
        q = np.clip(q, -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1)
        return q

    def encode(self, frame) -> bytes:
        x = self._frame_in(frame)
        q = self.quantise(x)
        if self.bits <= 8:
            return (q.astype(np.int8)).tobytes()
        return q.astype(">i2").tobytes()

    def decode(self, payload: bytes | None) -> np.ndarray:
        if payload is None:
            return self.silence()
        dtype = np.int8 if self.bits <= 8 else np.dtype(">i2")
        q = np.frombuffer(payload, dtype=dtype).astype(np.int32)
        return (q << (16 - self.bits)).astype(np.int16)


class G711(AudioCodec):
    """G.711 at 8 kHz, 64 kbit/s: μ-law (``law="mu"``, PCMU) or A-law (``law="a"``, PCMA).

    RTP payload format: RFC 3551 §4.5.14, one byte per sample, static payload type 0
    (PCMU) or 8 (PCMA).  No look-ahead: algorithmic delay = one frame.
    ``variant``: "g191" (ITU-T reference encoder) or "ffmpeg" (aiortc's encoder table).
    """

    rate_hz = 8000
    clock_rate_hz = 8000

    def __init__(self, law: str = "mu", frame_ms: float = 20.0, variant: str = "g191"):
        if law not in ("mu", "a"):
            raise ValueError(f"law must be 'mu' or 'a', got {law!r}")
        if variant not in ("g191", "ffmpeg"):
            raise ValueError(f"variant must be 'g191' or 'ffmpeg', got {variant!r}")
        self.variant = variant
        self.law = law
        self.name = "pcmu" if law == "mu" else "pcma"
        self.rtp_name = self.name.upper()
        self.payload_type = 0 if law == "mu" else 8
        self.frame_ms = _check_frame_ms(frame_ms)
        self._enc = _ENC_TABLES[law, variant]
        self._dec = _ULAW_DEC if law == "mu" else _ALAW_DEC

    @property
    def bitrate_bps(self) -> float:
        return 64_000.0

    @property
    def label(self) -> str:
        return f"G.711 {'μ' if self.law == 'mu' else 'A'}-law"

    def encode(self, frame) -> bytes:
        x = self._frame_in(frame)
        return self._enc[x.astype(np.int32) + 32768].tobytes()

    def decode(self, payload: bytes | None) -> np.ndarray:
        if payload is None:
            return self.silence()
        return self._dec[np.frombuffer(payload, dtype=np.uint8)]
