"""A small MDCT transform codec with a quality knob: how Opus's CELT, AAC and MP3 think.

Each frame of ``N`` new samples is analysed together with the previous frame
(``2N`` samples, sine window) by the modified discrete cosine transform (MDCT,
Princen & Bradley 1986): ``N`` coefficients per frame, critically sampled, and the
overlap-add of consecutive inverse transforms cancels the time-domain aliasing
exactly.  The price is delay: the decoder can finish a frame only when the *next*
block arrives, so the look-ahead is one frame and the algorithmic delay two frames.

Coding, per frame:

1. split the coefficients into bands about a critical band wide (narrow at low
   frequencies, wide at high ones);
2. send each band's energy as a scale factor (3 dB steps; the first in 5 bits, the
   others as Rice-coded differences from the band below);
3. quantise each coefficient uniformly with a step chosen so that each band gets
   about ``3 × quality`` dB of signal-to-noise ratio, and never finer than the
   loudest band allows (quiet bands next to loud ones are masked, so they get
   coarse steps, which saves most of the bits);
4. a band whose step is coarser than its energy is not coded at all: the decoder
   fills it with noise of the right energy (*noise filling*, as AAC and Opus do);
5. entropy-code the integers with Rice codes (unary quotient + ``k`` remainder
   bits), ``k`` derived from the band's energy-to-step ratio, which the decoder
   knows, so no side information is needed.

``quality`` (1–10) is the knob: higher means finer steps, more bits, more delay-free
quality; ``frame_ms`` trades delay against frequency resolution and side
information.  The rate is variable (VBR): ``bitrate_bps`` reports the average over
the frames encoded since the last reset (before any, an estimate measured on the
course's English clip).  A lost frame (``decode(None)``) contributes nothing, so
the overlap-add fades the previous block out instead of clicking.

Used in: notebooks/06_codecs.ipynb (transform coding; bitrate vs quality vs delay).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.media.codecs.base import AudioCodec, as_float

# Band edges in Hz, about one critical band (Zwicker 1961) each, merged above 4 kHz.
BAND_EDGES_HZ = (0, 200, 400, 600, 800, 1000, 1250, 1500, 1750, 2000, 2400, 2800, 3200, 3600, 4000,
                 4800, 5600, 6400, 7200, 8000, 10000, 12000, 16000, 20000, 24000)
SF_BITS = 5
SF_MIN = -(1 << SF_BITS) + 2       # scale factor index range (3 dB steps); the lowest means "band off"
SILENCE_RMS = 10 ** (-75 / 20)     # bands below -75 dBFS (per coefficient) are not coded


@lru_cache(maxsize=16)
def _mdct_tables(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sine window and the FFT twiddles of an n-coefficient MDCT (block of 2n samples)."""
    t = np.arange(2 * n)
    k = np.arange(n)
    n0 = 0.5 + n / 2
    window = np.sin(np.pi * (t + 0.5) / (2 * n))
    pre = np.exp(-1j * np.pi * t / (2 * n))                    # x[t]·e^{-iπt/2n}, then a 2n-point FFT
    post = np.sqrt(2.0 / n) * np.exp(-1j * np.pi * n0 * (k + 0.5) / n)
    ipre = np.exp(1j * np.pi * n0 * k / n)
    ipost = np.sqrt(2.0 / n) * 2 * n * np.exp(1j * np.pi * (t + n0) / (2 * n))
    return window, pre, post, ipre, ipost


def mdct(block: np.ndarray) -> np.ndarray:
    """MDCT of a block of 2n samples (the sine window applied here) -> n coefficients.

    X[k] = sqrt(2/n) Σ w[t] x[t] cos(π/n (t + 1/2 + n/2)(k + 1/2)), computed with one
    2n-point FFT (no matrix, so it costs O(n log n)).
    """
    n = block.shape[-1] // 2
    window, pre, post, _, _ = _mdct_tables(n)
    spectrum = np.fft.fft(block * window * pre, axis=-1)[..., :n]
    return np.real(spectrum * post)


def imdct(coeffs: np.ndarray) -> np.ndarray:
    """Inverse MDCT, windowed: n coefficients -> 2n samples to overlap-add."""
    n = coeffs.shape[-1]
    window, _, _, ipre, ipost = _mdct_tables(n)
    padded = np.zeros(coeffs.shape[:-1] + (2 * n,), dtype=complex)
    padded[..., :n] = coeffs * ipre
    return np.real(np.fft.ifft(padded, axis=-1) * ipost) * window


def _bands(n: int, rate_hz: int) -> np.ndarray:
    """Start index of each band (and the end, n) for n coefficients spanning 0 .. rate/2."""
    edges = [e for e in BAND_EDGES_HZ if e < rate_hz / 2] + [rate_hz / 2]
    idx = np.unique(np.round(np.array(edges) / (rate_hz / 2) * n).astype(int))
    return idx


def _rice_k(ratio: np.ndarray) -> np.ndarray:
    """Rice parameter from the expected |q| (band rms / step), known to both sides."""
    return np.clip(np.floor(np.log2(np.maximum(ratio * 0.6, 1.0))), 0, 14).astype(np.int64)


class _BitWriter:
    def __init__(self):
        self.chunks = []

    def uint(self, values, bits: int):
        v = np.asarray(values, dtype=np.int64).reshape(-1, 1)
        shifts = np.arange(bits - 1, -1, -1)
        self.chunks.append(((v >> shifts) & 1).astype(np.uint8).ravel())

    def rice(self, u: np.ndarray, k: np.ndarray):
        """Rice codes, all unary parts first, then all remainders (so both parse vectorised)."""
        q = u >> k
        ends = np.cumsum(q + 1) - 1               # the unary stream is all ones but each code's final zero
        unary = np.ones(int(ends[-1]) + 1 if len(ends) else 0, dtype=np.uint8)
        unary[ends] = 0
        self.chunks.append(unary)
        kmax = int(k.max()) if len(k) else 0
        if kmax:
            j = np.arange(kmax)
            shifts = k[:, None] - 1 - j               # most significant remainder bit first
            bits = (u[:, None] >> np.maximum(shifts, 0)) & 1
            self.chunks.append(bits[shifts >= 0].astype(np.uint8))

    def bytes(self) -> bytes:
        bits = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.uint8)
        return np.packbits(bits).tobytes()


class _BitReader:
    def __init__(self, payload: bytes):
        self.bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8))
        self.pos = 0

    def uint(self, count: int, bits: int) -> np.ndarray:
        end = self.pos + count * bits
        if end > len(self.bits):
            raise ValueError("MDCT payload is truncated")
        chunk = self.bits[self.pos:end].reshape(count, bits).astype(np.int64)
        self.pos = end
        return chunk @ (1 << np.arange(bits - 1, -1, -1))

    def rice(self, k: np.ndarray) -> np.ndarray:
        n = len(k)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        zeros = np.flatnonzero(self.bits[self.pos:] == 0)
        if len(zeros) < n:
            raise ValueError("MDCT payload is truncated")
        ends = zeros[:n]
        q = np.empty(n, dtype=np.int64)
        q[0] = ends[0]
        q[1:] = ends[1:] - ends[:-1] - 1
        self.pos += int(ends[-1]) + 1
        kmax = int(k.max())
        rem = np.zeros(n, dtype=np.int64)
        if kmax:
            total_k = int(k.sum())
            if self.pos + total_k > len(self.bits):
                raise ValueError("MDCT payload is truncated")
            j = np.arange(kmax)
            shifts = k[:, None] - 1 - j
            used = shifts >= 0
            grid = np.zeros((n, kmax), dtype=np.int64)
            grid[used] = self.bits[self.pos:self.pos + total_k]
            rem = (grid << np.maximum(shifts, 0)).sum(axis=1)
            self.pos += total_k
        return (q << k) | rem


class MdctCodec(AudioCodec):
    """The teaching transform codec (see the module docstring).

    ``rate_hz``: 8000, 16000 or 48000; ``frame_ms``: 5–60 ms; ``quality``: 1–10.
    """

    name = "mdct"
    rtp_name = ""

    def __init__(self, quality: float = 5, frame_ms: float = 20.0, rate_hz: int = 16_000):
        if rate_hz not in (8000, 16000, 48000):
            raise ValueError(f"rate_hz must be one of [8000, 16000, 48000], got {rate_hz!r}")
        if not 5 <= frame_ms <= 60:
            raise ValueError(f"frame_ms must be in [5, 60] ms, got {frame_ms!r}")
        if not 1 <= quality <= 10:
            raise ValueError(f"quality must be in [1, 10], got {quality!r}")
        self.rate_hz = int(rate_hz)
        self.clock_rate_hz = self.rate_hz
        self.frame_ms = float(frame_ms)
        self.quality = float(quality)
        self.lookahead_ms = self.frame_ms  # the decoder needs the next block to finish a frame
        self._edges = _bands(self.samples_per_frame, self.rate_hz)
        self._band_of = np.repeat(np.arange(len(self._edges) - 1), np.diff(self._edges))
        self.reset()

    def reset(self) -> None:
        n = self.samples_per_frame
        self._prev_in = np.zeros(n)
        self._prev_out = np.zeros(n)
        self._bits = 0
        self._frames = 0
        self._noise = np.random.default_rng(0x6D646374)  # the decoder's noise filler, deterministic

    @property
    def bitrate_bps(self) -> float:
        if self._frames:
            return self._bits / (self._frames * self.frame_ms / 1000)
        return _estimated_bitrate(self.quality, self.frame_ms, self.rate_hz)

    @property
    def label(self) -> str:
        return f"MDCT q{self.quality:g} {self.frame_ms:g} ms"

    def _steps(self, sf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """From scale-factor indices: band rms, quantiser step, coded bands, noise-filled bands."""
        on = sf > SF_MIN
        rms = 2.0 ** (sf / 2.0)                       # 3 dB per index
        snr_db = 3.0 * self.quality
        step = rms * np.sqrt(12) * 10 ** (-snr_db / 20)
        loudest = rms[on].max() if on.any() else 0.0
        # Masking, crudely: noise may reach 15 dB + target SNR below the loudest band.
        step = np.maximum(step, loudest * np.sqrt(12) * 10 ** (-(snr_db + 15) / 20))
        coded = on & (rms >= 0.6 * step)
        return rms, step, coded, on & ~coded

    def _write_sf(self, w: "_BitWriter", sf: np.ndarray) -> None:
        w.uint(sf[:1] - SF_MIN, SF_BITS)
        d = np.diff(sf)
        w.rice((d << 1) ^ (d >> 63), np.ones(len(d), dtype=np.int64))

    def _read_sf(self, r: "_BitReader") -> np.ndarray:
        first = r.uint(1, SF_BITS) + SF_MIN
        u = r.rice(np.ones(len(self._edges) - 2, dtype=np.int64))
        d = (u >> 1) ^ -(u & 1)
        sf = np.concatenate([first, first + np.cumsum(d)])
        if sf.min() < SF_MIN or sf.max() >= SF_MIN + (1 << SF_BITS):
            raise ValueError("MDCT payload holds an out-of-range scale factor")
        return sf

    def encode(self, frame) -> bytes:
        x = as_float(self._frame_in(frame))
        block = np.concatenate([self._prev_in, x])
        self._prev_in = x
        c = mdct(block)
        e = self._edges
        band_rms = np.sqrt(np.add.reduceat(c * c, e[:-1]) / np.diff(e))
        sf = np.where(band_rms > SILENCE_RMS, np.round(2 * np.log2(np.maximum(band_rms, 1e-12))), SF_MIN)
        sf = np.clip(sf, SF_MIN, SF_MIN + (1 << SF_BITS) - 1).astype(np.int64)
        rms, step, coded_band, _ = self._steps(sf)
        coded = coded_band[self._band_of]
        q = np.round(c[coded] / step[self._band_of][coded]).astype(np.int64)
        u = (q << 1) ^ (q >> 63)                       # zigzag: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ...
        k = _rice_k(rms / step)[self._band_of][coded]
        w = _BitWriter()
        self._write_sf(w, sf)
        w.rice(u, k)
        payload = w.bytes()
        self._bits += 8 * len(payload)
        self._frames += 1
        return payload

    def decode(self, payload: bytes | None) -> np.ndarray:
        n = self.samples_per_frame
        if payload is None:
            c = np.zeros(n)
        else:
            r = _BitReader(payload)
            sf = self._read_sf(r)
            rms, step, coded_band, noise_band = self._steps(sf)
            coded = coded_band[self._band_of]
            k = _rice_k(rms / step)[self._band_of][coded]
            u = r.rice(k)
            q = (u >> 1) ^ -(u & 1)
            c = np.zeros(n)
            c[coded] = q * step[self._band_of][coded]
            noisy = noise_band[self._band_of]
            c[noisy] = self._noise.standard_normal(int(noisy.sum())) * rms[self._band_of][noisy]
        y = imdct(c)
        out = self._prev_out + y[:n]
        self._prev_out = y[n:]
        return np.clip(np.round(out * 32768), -32768, 32767).astype(np.int16)


@lru_cache(maxsize=64)
def _estimated_bitrate(quality: float, frame_ms: float, rate_hz: int) -> float:
    """The average rate on 3 s of the course's English clip (what ``bitrate_bps`` says before use)."""
    from rtlib.media.clips import load_speech
    from rtlib.media.codecs.base import encode_clip

    probe = MdctCodec(quality=quality, frame_ms=frame_ms, rate_hz=rate_hz)
    if rate_hz in (8000, 16000, 48000):
        try:
            clip = load_speech("en", rate_hz, seconds=3.0)
        except (OSError, ValueError):
            clip = np.zeros(int(3 * rate_hz), dtype=np.int16)
    payloads = encode_clip(probe, clip)
    return sum(8 * len(p) for p in payloads) / (len(payloads) * frame_ms / 1000)
