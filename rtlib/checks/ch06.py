"""Checks for notebooks/06_codecs.ipynb."""

from __future__ import annotations

import math

import numpy as np

from rtlib.checks.core import Feedback, as_number, close_to, fail, ok

_ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def ulaw_encoder(fn) -> Feedback:
    """Does ``fn(samples int16 array) -> uint8 codes`` implement G.711 μ-law bit-exactly?

    Checked on all 65,536 16-bit inputs against the ITU-T G.191 reference; FFmpeg's
    (aiortc's) nearest-level variant is accepted too.  The feedback names *where*
    the codes differ (negative inputs, small ones, the sign, the bit inversion), never
    what they should be.
    """
    from rtlib.media.codecs.pcm import g711_encode

    if fn is None:
        return fail("Not answered yet: write your encoder function and pass it to the check.")
    if not callable(fn):
        return fail(f"Pass your encoder function itself (callable), got {type(fn).__name__}.")
    try:
        raw = fn(_ALL.copy())
    except Exception as err:  # noqa: BLE001 - report any learner error as feedback
        return fail(f"Your function raised {type(err).__name__}: {err}",
                    "It receives a NumPy int16 array of samples; use vectorised operations (np.where, >>, &).")
    if raw is None:
        return fail("Not answered yet: your function returns None.")
    out = np.asarray(raw)
    if out.shape != _ALL.shape:
        return fail(f"Your function should return one code per input sample (shape {_ALL.shape}), got shape {out.shape}.")
    if out.dtype.kind not in "iu":
        return fail(f"Codes should be integers (uint8), got dtype {out.dtype}.")
    if out.min() < 0 or out.max() > 255:
        return fail("Codes must be bytes, in [0, 255]; some of yours are outside.",
                    "Mask with & 0xFF, or check the sign bit: it is bit 7 (0x80).")
    codes = out.astype(np.int64)
    ref = g711_encode(_ALL, "mu").astype(np.int64)
    alt = g711_encode(_ALL, "mu", variant="ffmpeg").astype(np.int64)
    if np.array_equal(codes, ref):
        return ok("Bit-exact with the ITU-T G.191 reference encoder on all 65,536 inputs.")
    if np.array_equal(codes, alt):
        return ok("Bit-exact with FFmpeg's encoder (the one aiortc uses) on all 65,536 inputs; it rounds to the "
                  "nearest level and differs from G.191 only on decision boundaries.")
    bad = codes != ref
    n_bad = int(bad.sum())
    hints = []
    if np.array_equal(codes ^ 0xFF, ref) or np.array_equal(codes ^ 0x7F, ref) or np.array_equal(codes ^ 0x80, ref):
        hints.append("Your codes are right up to a bit inversion: G.711 sends μ-law with every bit except the "
                     "sign inverted, and the sign bit is 1 for positive samples.")
    elif np.mean(bad[_ALL >= 0]) > 0.9 and np.mean(bad[_ALL < 0]) > 0.9:
        hints.append("Nearly every code is wrong: check the sign bit and the final inversion.")
    else:
        neg, pos = bad[_ALL < 0].sum(), bad[_ALL >= 0].sum()
        if neg and not pos:
            hints.append("Only negative inputs are wrong: how do you take the magnitude of a negative sample? "
                         "(G.191 uses the one's complement, so -1 has magnitude 0.)")
        elif pos and not neg:
            hints.append("Only non-negative inputs are wrong.")
        small = bad[np.abs(_ALL.astype(int)) < 256].mean()
        large = bad[np.abs(_ALL.astype(int)) > 8192].mean()
        if small > 2 * large + 0.01:
            hints.append("Most mismatches are at small amplitudes: check the bias (33 on the 14-bit scale) "
                         "and the first segment.")
        elif large > 2 * small + 0.01:
            hints.append("Most mismatches are at large amplitudes: check the segment number and the clipping "
                         "of the biased magnitude.")
        if 0 < n_bad < 2000:
            hints.append("Only a few inputs differ: look at values that sit exactly on a segment boundary.")
    return fail(f"{n_bad:,} of 65,536 inputs get a different code.", *hints)


def quantisation_snr_db(answer, *, bits: int = 12) -> Feedback:
    """SNR of a full-scale sine quantised uniformly with ``bits`` bits (the 6.02·b + 1.76 dB rule)."""
    if answer is None:
        return fail("Not answered yet: replace None with your number (in dB).")
    value = as_number(answer, "The SNR")
    if isinstance(value, Feedback):
        return value
    expected = 6.02 * bits + 1.76
    if math.isclose(value, expected, abs_tol=0.15):
        return ok("The SNR is right: each bit buys about 6 dB.")
    if math.isclose(value, 6.02 * bits, abs_tol=0.15) or math.isclose(value, 20 * math.log10(2 ** bits), abs_tol=0.15):
        return fail("Close, but the sine's own power is missing.",
                    "A full-scale sine has power A²/2, the quantisation noise Δ²/12: work out their ratio.")
    if math.isclose(value, expected / 10, rel_tol=0.02) or math.isclose(value, 10 ** (expected / 10), rel_tol=0.02):
        return fail("Check your units: the answer is wanted in dB (10·log10 of a power ratio).")
    if math.isclose(value, 2 * expected, rel_tol=0.02) or math.isclose(value, expected / 2, rel_tol=0.02):
        return fail("Off by a factor of 2: is it a power ratio (10·log10) or an amplitude ratio (20·log10)?")
    return fail(f"The SNR is {'too high' if value > expected else 'too low'}.",
                "Noise of a uniform quantiser with step Δ: power Δ²/12; the step is full range / 2**bits.")


def wire_bitrate_bps(answer, *, payload_bytes: float = 160, packet_ms: float = 20, ip_version: int = 4) -> Feedback:
    """Bit rate on the wire (RTP + UDP + IP headers) of ``payload_bytes`` every ``packet_ms``, in bit/s."""
    from rtlib.media.packetize import HEADER_BYTES
    from rtlib.media.packetize import wire_bitrate_bps as wire

    if answer is None:
        return fail("Not answered yet: replace None with your number (in bit/s).")
    expected = wire(payload_bytes, packet_ms, ip_version)
    payload_only = payload_bytes * 8 * 1000 / packet_ms
    value = as_number(answer, "The bit rate")
    if isinstance(value, Feedback):
        return value
    if math.isclose(value, payload_only, rel_tol=1e-3):
        return fail("That is the codec's payload rate: the headers of every packet are missing.",
                    "Each packet also carries an RTP, a UDP and an IP header.")
    other_ip = wire(payload_bytes, packet_ms, 10 - ip_version)
    if math.isclose(value, other_ip, rel_tol=1e-3):
        return fail(f"Check the IP header: this stream runs over IPv{ip_version}.")
    for missing in ("RTP", "UDP"):
        if math.isclose(value, expected - HEADER_BYTES[missing.lower()] * 8 * 1000 / packet_ms, rel_tol=1e-3):
            return fail(f"One header is missing: the {missing} header.")
    return close_to(answer, expected, what="The bit rate on the wire", rel=2e-3, unit_hints={
        1000: "Check your units: the answer is wanted in bit/s, not kbit/s (or the time in seconds, not ms).",
        8: "Check your units: bits, not bytes.",
    })


def header_overhead(answer, *, bitrate_bps: float = 6000, packet_ms: float = 20, ip_version: int = 4) -> Feedback:
    """Share of the wire bit rate that is headers, for a codec at ``bitrate_bps`` with ``packet_ms`` packets."""
    from rtlib.media.packetize import HEADER_BYTES

    if answer is None:
        return fail("Not answered yet: replace None with a fraction between 0 and 1.")
    value = as_number(answer, "The overhead")
    if isinstance(value, Feedback):
        return value
    payload = bitrate_bps / 8 * packet_ms / 1000
    headers = HEADER_BYTES["rtp"] + HEADER_BYTES["udp"] + HEADER_BYTES["ipv4" if ip_version == 4 else "ipv6"]
    expected = headers / (headers + payload)
    if 1 < value <= 100 and math.isclose(value / 100, expected, rel_tol=2e-3):
        return fail("Give the share as a fraction between 0 and 1, not a percentage.")
    if math.isclose(value, headers / payload, rel_tol=2e-3):
        return fail("That is headers divided by payload; the question asks for headers as a share of everything sent.")
    if math.isclose(value, 1 - expected, rel_tol=2e-3):
        return fail("That is the payload's share; the question asks for the headers' share.")
    return close_to(answer, expected, what="The header overhead", rel=2e-3)
