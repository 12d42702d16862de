"""Real audio codecs through PyAV (FFmpeg), the library aiortc uses: Opus and G.722.

**Opus** (RFC 6716; RTP payload format RFC 7587, 48 kHz RTP clock, dynamic payload
type).  Encoding goes through PyAV's ``libopus`` encoder, which exposes (FFmpeg
``libopusenc`` private options, checked with PyAV 18 / FFmpeg 8 / libopus 1.6):

- ``bit_rate`` (6–510 kbit/s; VBR by default, so the actual rate of speech with
  pauses is lower), ``frame_duration`` (2.5, 5, 10, 20, 40, 60 ms),
  ``application`` (voip, audio, lowdelay), ``packet_loss`` (expected loss in %)
  and ``fec`` (in-band forward error correction, 0/1), ``vbr`` (off, on, constrained),
  and ``compression_level`` (libopus complexity 0–10).
- *Not* exposed: DTX (no ``dtx`` option in this build).

In-band FEC works from the PyAV encoder: with ``fec=True``, ``packet_loss_pct > 0``
and enough bit rate (libopus adds LBRR data from about 16–24 kbit/s up; at 12 kbit/s
it silently leaves it out) each speech packet also carries a coarse copy of the
*previous* frame.  But PyAV's decoder cannot use it, nor run Opus's packet-loss
concealment: FFmpeg's ``libopusdec`` treats an empty packet as end of stream and
never calls ``opus_decode`` with ``decode_fec=1``.  So this module decodes by
calling the libopus that ships inside PyAV's wheel directly, through ``ctypes``:
``decode(None)`` runs libopus PLC and :meth:`OpusCodec.decode_fec` recovers a lost
frame from the next packet's FEC data.  When no libopus library can be found, the
decoder falls back to PyAV, and ``decode(None)`` returns silence (``plc ==
"silence"``).

**G.722** (ITU-T G.722, 1988: sub-band ADPCM, 16 kHz sampling, 64 kbit/s; RTP: RFC
3551 §4.5.2, static payload type 9, whose RTP clock is 8000 Hz "for historical
reasons" although it samples at 16 kHz).

Look-ahead: Opus 6.5 ms (``voip``/``audio``; 2.5 ms with ``lowdelay``), reported by
libopus (``OPUS_GET_LOOKAHEAD``); G.722's QMF filter bank delays by 22 samples
(1.375 ms).

Used in: notebooks/06_codecs.ipynb, notebooks/07_jitter_buffers.ipynb (Opus PLC, FEC).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fractions
import glob
import os
from functools import lru_cache

import numpy as np

from rtlib.media.codecs.base import AudioCodec

OPUS_FRAME_MS = (2.5, 5.0, 10.0, 20.0, 40.0, 60.0)
OPUS_RATES_HZ = (8000, 12000, 16000, 24000, 48000)
_OPUS_APPLICATION = {"voip": 2048, "audio": 2049, "lowdelay": 2051}
_OPUS_GET_LOOKAHEAD = 4027


@lru_cache(maxsize=1)
def libopus():
    """The libopus shared library (the one bundled with PyAV first), or None."""
    candidates = []
    try:
        import av

        here = os.path.dirname(av.__file__)
        for pattern in ("../av.libs/libopus*", ".dylibs/libopus*", "../av.libs/opus*.dll"):
            candidates += sorted(glob.glob(os.path.join(here, pattern)))
    except ImportError:  # pragma: no cover - PyAV is a dependency
        pass
    found = ctypes.util.find_library("opus")
    if found:
        candidates.append(found)
    for path in candidates:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                    ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int]
        lib.opus_encoder_create.restype = ctypes.c_void_p
        lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
        return lib
    return None


def opus_packet_has_fec(payload: bytes) -> bool:
    """Whether an Opus packet carries in-band FEC (LBRR) data for the previous frame."""
    lib = libopus()
    if lib is None or not hasattr(lib, "opus_packet_has_lbrr"):
        raise RuntimeError("libopus >= 1.5 (opus_packet_has_lbrr) is needed to inspect FEC data")
    fn = lib.opus_packet_has_lbrr
    fn.argtypes = [ctypes.c_char_p, ctypes.c_int32]
    return fn(payload, len(payload)) == 1


@lru_cache(maxsize=16)
def opus_lookahead_samples(rate_hz: int, application: str) -> int:
    """libopus's encoder look-ahead at ``rate_hz`` (OPUS_GET_LOOKAHEAD)."""
    lib = libopus()
    if lib is None:  # the values libopus 1.x reports
        return int(rate_hz * (0.0025 if application == "lowdelay" else 0.0065))
    err = ctypes.c_int()
    enc = lib.opus_encoder_create(rate_hz, 1, _OPUS_APPLICATION[application], ctypes.byref(err))
    value = ctypes.c_int32()
    lib.opus_encoder_ctl(ctypes.c_void_p(enc), _OPUS_GET_LOOKAHEAD, ctypes.byref(value))
    lib.opus_encoder_destroy(enc)
    return int(value.value)


def _audio_frame(x: np.ndarray, rate_hz: int, pts: int):
    from av import AudioFrame

    frame = AudioFrame.from_ndarray(x.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate_hz
    frame.pts = pts
    return frame


class _AvEncoder:
    """A PyAV encoder fed one frame at a time, returning the one packet per frame."""

    def __init__(self, codec_name: str, rate_hz: int, bit_rate: int | None = None, options: dict | None = None):
        from av import CodecContext

        ctx = CodecContext.create(codec_name, "w")
        ctx.sample_rate = rate_hz
        ctx.format = "s16"
        ctx.layout = "mono"
        ctx.time_base = fractions.Fraction(1, rate_hz)
        if bit_rate is not None:
            ctx.bit_rate = int(bit_rate)
        if options:
            ctx.options = {k: str(v) for k, v in options.items()}
        ctx.open()
        self.ctx, self.rate_hz, self.pts = ctx, rate_hz, 0

    def encode(self, x: np.ndarray) -> bytes:
        packets = self.ctx.encode(_audio_frame(x, self.rate_hz, self.pts))
        self.pts += len(x)
        return b"".join(bytes(p) for p in packets)


class _AvDecoder:
    def __init__(self, codec_name: str, rate_hz: int):
        from av import CodecContext

        ctx = CodecContext.create(codec_name, "r")
        ctx.sample_rate = rate_hz
        ctx.format = "s16"
        ctx.layout = "mono"
        self.ctx = ctx

    def decode(self, payload: bytes) -> np.ndarray:
        from av import Packet

        frames = self.ctx.decode(Packet(payload))
        if not frames:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.int16)


class _LibopusDecoder:
    """libopus's decoder called directly: normal decoding, PLC and FEC."""

    def __init__(self, rate_hz: int):
        self.lib = libopus()
        err = ctypes.c_int()
        self.dec = self.lib.opus_decoder_create(rate_hz, 1, ctypes.byref(err))
        if err.value != 0 or not self.dec:
            raise RuntimeError(f"opus_decoder_create failed with error {err.value}")
        self.buf = (ctypes.c_int16 * (rate_hz // 1000 * 120))()

    def decode(self, payload: bytes | None, n: int, fec: bool = False) -> np.ndarray:
        if payload is None:
            got = self.lib.opus_decode(self.dec, None, 0, self.buf, n, 0)
        else:
            got = self.lib.opus_decode(self.dec, payload, len(payload), self.buf, n, 1 if fec else 0)
        if got < 0:
            raise ValueError(f"libopus could not decode this payload (error {got})")
        return np.ctypeslib.as_array(self.buf)[:got].copy()

    def __del__(self):
        dec, self.dec = getattr(self, "dec", None), None
        if dec:
            self.lib.opus_decoder_destroy(dec)


class OpusCodec(AudioCodec):
    """Opus through PyAV/libopus (see the module docstring for what is exposed).

    ``rate_hz``: the API sample rate (8, 12, 16, 24 or 48 kHz; Opus codes at most
    the band the rate allows).  ``bitrate_bps``: the encoder's target (VBR).
    ``frame_ms``: 2.5, 5, 10, 20, 40 or 60.  ``fec`` with ``packet_loss_pct``: in-band
    FEC.  ``application``: "voip" (speech-tuned), "audio" or "lowdelay" (CELT only,
    2.5 ms look-ahead).
    """

    name = "opus"
    rtp_name = "opus"
    clock_rate_hz = 48_000  # RFC 7587 §4.1: the RTP clock is 48 kHz whatever the sample rate
    payload_type = None

    def __init__(self, bitrate_bps: float = 32_000, frame_ms: float = 20.0, rate_hz: int = 48_000,
                 fec: bool = False, packet_loss_pct: float = 0.0, application: str = "voip",
                 vbr: str = "on", complexity: int = 10):
        if rate_hz not in OPUS_RATES_HZ:
            raise ValueError(f"rate_hz must be one of {list(OPUS_RATES_HZ)}, got {rate_hz!r}")
        if not 6_000 <= bitrate_bps <= 510_000:
            raise ValueError(f"bitrate_bps must be in [6000, 510000] bit/s, got {bitrate_bps!r}")
        if frame_ms not in OPUS_FRAME_MS:
            raise ValueError(f"frame_ms must be one of {list(OPUS_FRAME_MS)}, got {frame_ms!r}")
        if application not in _OPUS_APPLICATION:
            raise ValueError(f"application must be one of {list(_OPUS_APPLICATION)}, got {application!r}")
        if not 0 <= packet_loss_pct <= 100:
            raise ValueError(f"packet_loss_pct must be in [0, 100] %, got {packet_loss_pct!r}")
        if vbr not in ("on", "off", "constrained"):
            raise ValueError(f"vbr must be 'on', 'off' or 'constrained', got {vbr!r}")
        if not (isinstance(complexity, (int, np.integer)) and 0 <= complexity <= 10):
            raise ValueError(f"complexity must be an integer in [0, 10], got {complexity!r}")
        self.rate_hz = int(rate_hz)
        self.target_bps = float(bitrate_bps)
        self.frame_ms = float(frame_ms)
        self.fec = bool(fec)
        self.packet_loss_pct = float(packet_loss_pct)
        self.application = application
        self.vbr = vbr
        self.complexity = int(complexity)
        self.lookahead_ms = opus_lookahead_samples(self.rate_hz, application) / self.rate_hz * 1000
        self.plc = "codec" if libopus() is not None else "silence"
        self.reset()

    def reset(self) -> None:
        options = {"application": self.application, "frame_duration": f"{self.frame_ms:g}",
                   "packet_loss": int(round(self.packet_loss_pct)), "fec": int(self.fec), "vbr": self.vbr,
                   "compression_level": self.complexity}
        self._enc = _AvEncoder("libopus", self.rate_hz, int(self.target_bps), options)
        self._dec = _LibopusDecoder(self.rate_hz) if libopus() is not None else _AvDecoder("libopus", self.rate_hz)

    @property
    def bitrate_bps(self) -> float:
        return self.target_bps

    @property
    def label(self) -> str:
        extra = ", FEC" if self.fec else ""
        return f"Opus {self.target_bps / 1000:g} kbit/s {self.frame_ms:g} ms{extra}"

    def encode(self, frame) -> bytes:
        return self._enc.encode(self._frame_in(frame))

    def decode(self, payload: bytes | None) -> np.ndarray:
        n = self.samples_per_frame
        if isinstance(self._dec, _LibopusDecoder):
            return self._dec.decode(payload, n)
        if payload is None:
            return self.silence()
        y = self._dec.decode(payload)
        return y if len(y) == n else np.resize(y, n) if len(y) else self.silence()

    def decode_fec(self, next_payload: bytes) -> np.ndarray:
        """Recover the lost frame *before* ``next_payload`` from its in-band FEC data.

        Call it in place of ``decode(None)`` for the lost frame, then decode
        ``next_payload`` normally.  If the packet holds no FEC data, libopus runs its
        PLC instead (so the result is never worse than ``decode(None)``).
        """
        if not isinstance(self._dec, _LibopusDecoder):
            return self.decode(None)
        return self._dec.decode(next_payload, self.samples_per_frame, fec=True)


class G722Codec(AudioCodec):
    """G.722 at 16 kHz, 64 kbit/s, through PyAV (FFmpeg's g722 encoder and decoder)."""

    name = "g722"
    rtp_name = "G722"
    payload_type = 9
    clock_rate_hz = 8000  # RFC 3551 §4.5.2: an 8 kHz RTP clock for 16 kHz audio
    rate_hz = 16_000
    lookahead_ms = 22 / 16  # the QMF analysis + synthesis filter delay (22 samples)

    def __init__(self, frame_ms: float = 20.0):
        if not (isinstance(frame_ms, (int, float)) and 1 <= frame_ms <= 120) or (frame_ms * 16) % 2:
            raise ValueError(f"frame_ms must be in [1, 120] ms (an even number of samples), got {frame_ms!r}")
        self.frame_ms = float(frame_ms)
        self.reset()

    def reset(self) -> None:
        self._enc = _AvEncoder("g722", self.rate_hz)
        self._dec = _AvDecoder("g722", self.rate_hz)

    @property
    def bitrate_bps(self) -> float:
        return 64_000.0

    @property
    def label(self) -> str:
        return "G.722"

    def encode(self, frame) -> bytes:
        return self._enc.encode(self._frame_in(frame))

    def decode(self, payload: bytes | None) -> np.ndarray:
        if payload is None:
            return self.silence()
        return self._dec.decode(payload)
