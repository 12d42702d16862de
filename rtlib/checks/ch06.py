"""Checks for notebooks/06_codecs.ipynb."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from rtlib.checks.core import (Feedback, StagedCheck, as_number, close_to, design_settings, fail, is_generic, ok,
                               out_of_range, rough_factor)

_ALL = np.arange(-32768, 32768, dtype=np.int32).astype(np.int16)


def _ulaw_recipe(x, *, magnitude: str = "ones", shift: int = 2, bias: int = 33, clip: bool = True,
                 mantissa_shift: int = 1, sign_for_positive: bool = True, invert: int = 0x7F) -> np.ndarray:
    """The notebook's six-step μ-law recipe, with knobs that reproduce the typical slips."""
    x = np.asarray(x).astype(np.int64)
    m = np.where(x >= 0, x, ~x) if magnitude == "ones" else np.abs(x)
    m = (m >> shift) + bias
    if clip:
        m = np.minimum(m, 8191)
    top = m >> 6
    seg = np.where(top > 0, np.floor(np.log2(np.maximum(top, 1))).astype(np.int64) + 1, 0)
    mant = (m >> (seg + mantissa_shift)) & 0x0F
    code = (seg << 4) | mant
    positive = x >= 0
    code = np.where(positive if sign_for_positive else ~positive, code | 0x80, code)
    return (code ^ invert) & 0xFF


# (knobs, message, the one hint); checked in order, the first that matches is told.
_ULAW_SLIPS = (
    (dict(magnitude="abs"), "Only negative inputs are wrong.",
     "How do you take the magnitude of a negative sample? G.191 uses the one's complement (~x), so -1 has "
     "magnitude 0; abs() gives 1."),
    (dict(invert=0xFF), "Your codes are right except for the sign bit.",
     "Bit 7 must end up 1 for x >= 0: set 0x80 for non-negative samples and invert only the seven low bits "
     "(code ^ 0x7F)."),
    (dict(invert=0x00), "Your codes are right up to a bit inversion.",
     "G.711 sends μ-law with every bit except the sign inverted: finish with code ^ 0x7F."),
    (dict(bias=0), "The bias is missing.", "Add 33 to the 14-bit magnitude before finding the segment."),
    (dict(clip=False), "Only the loudest inputs are wrong.",
     "Clip the biased magnitude to 8191 before finding the segment."),
    (dict(shift=0), "The magnitude is on the wrong scale.",
     "The recipe works on a 14-bit magnitude: shift the 16-bit sample right by 2 first."),
    (dict(mantissa_shift=0), "The mantissa is taken from the wrong bits.",
     "The mantissa is the 4 bits just below the leading one: (m >> (segment + 1)) & 0x0F."),
)


def ulaw_encoder(fn) -> Feedback:
    """Does ``fn(samples int16 array) -> uint8 codes`` implement G.711 μ-law bit-exactly?

    Checked on all 65,536 16-bit inputs against the ITU-T G.191 reference; FFmpeg's
    (aiortc's) nearest-level variant is accepted too.  A typical slip (``abs`` for the
    one's complement, a missing bias, inversion or clip, the sign bit the wrong way
    round ...) is recognised by comparing with the recipe done that wrong way, and
    only its own hint is given; otherwise the feedback names *where* the codes differ
    (negative inputs, small ones, segment boundaries), never what they should be.
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
    message = f"{n_bad:,} of 65,536 inputs get a different code."
    for knobs, slip, hint in _ULAW_SLIPS:
        # at most 2 stray inputs (e.g. int16 overflow of abs(-32768)) still count as this slip
        if int(np.sum(codes != _ulaw_recipe(_ALL, **knobs))) <= 2:
            return fail(f"{message} {slip}", hint)
    neg, pos = int(bad[_ALL < 0].sum()), int(bad[_ALL >= 0].sum())
    small = bad[np.abs(_ALL.astype(int)) < 256].mean()
    large = bad[np.abs(_ALL.astype(int)) > 8192].mean()
    if np.mean(bad[_ALL >= 0]) > 0.9 and np.mean(bad[_ALL < 0]) > 0.9:
        hint = "Nearly every code is wrong: check the sign bit and the final inversion."
    elif neg and not pos:
        hint = ("Only negative inputs are wrong: how do you take the magnitude of a negative sample? "
                "(G.191 uses the one's complement, so -1 has magnitude 0.)")
    elif pos and not neg:
        hint = "Only non-negative inputs are wrong: check the sign bit and the magnitude of x >= 0."
    elif small > 2 * large + 0.01:
        hint = "Most mismatches are at small amplitudes: check the bias (33 on the 14-bit scale) and the first segment."
    elif large > 2 * small + 0.01:
        hint = ("Most mismatches are at large amplitudes: check the segment number and the clipping of the "
                "biased magnitude.")
    elif n_bad < 2000:
        hint = "Only a few inputs differ: look at values that sit exactly on a segment boundary."
    else:
        hint = "Follow the six steps one at a time and compare a few samples with rtlib.media.codecs.pcm.g711_encode."
    return fail(message, hint)


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
    slips = (
        (10 * math.log10(6 * 4 ** bits), "The step is too small by half.",
         "The range is −A to A, so the step is Δ = 2A / 2ᵇ, not A / 2ᵇ."),
        (10 * math.log10(3 * 4 ** bits), "The signal power is twice too large.",
         "A sine of amplitude A has power A²/2, not A²."),
        (10 * math.log10(4 ** bits / 8), "The noise power is 12 times too large.",
         "A uniform error spread over one step Δ has power Δ²/12, not Δ²."),
    )
    for wrong, message, hint in slips:
        if math.isclose(value, wrong, abs_tol=0.15):
            return fail(message, hint)
    for other in (8, 16, bits - 1, bits + 1):
        if other != bits and math.isclose(value, 6.02 * other + 1.76, abs_tol=0.15):
            return fail(f"That is the SNR for {other} bits; this quantiser has {bits}.")
    return fail(f"The SNR is {rough_factor(value, expected)}.",
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
    ip = "ipv4" if ip_version == 4 else "ipv6"
    for missing, key in (("RTP", "rtp"), ("UDP", "udp"), ("IP", ip)):
        if math.isclose(value, expected - HEADER_BYTES[key] * 8 * 1000 / packet_ms, rel_tol=1e-3):
            return fail(f"One header is missing: the {missing} header.")
    for link_bytes in (14, 18, 38):  # Ethernet header (+ FCS, + preamble and gap)
        if math.isclose(value, expected + link_bytes * 8 * 1000 / packet_ms, rel_tol=1e-3):
            return fail("That counts a link-layer (Ethernet) header too.",
                        "The exercise asks for RTP + UDP + IP only, no link layer.")
    if math.isclose(value, (payload_bytes * 8 + (expected * packet_ms / 1000 / 8 - payload_bytes)) * 1000 / packet_ms,
                    rel_tol=1e-3):
        return fail("The headers are counted in bytes, the payload in bits.", "Turn every byte into 8 bits.")
    fb = close_to(answer, expected, what="The bit rate on the wire", rel=2e-3, unit_rel=0.01, unit_hints={
        1000: "Check your units: the answer is wanted in bit/s, not kbit/s (or the time in seconds, not ms).",
        8: "Check your units: bits, not bytes.",
    })
    return fb if not is_generic(fb) else fail(fb.message, "Bits of one whole packet (payload + RTP + UDP + IP "
                                                          "headers) times packets per second.")


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
    if math.isclose(value, headers / (headers + payload * 8), rel_tol=2e-3):
        return fail("The payload is counted in bits, the headers in bytes.",
                    "bitrate_bps × packet time gives bits: divide by 8 for bytes.")
    other_ip = HEADER_BYTES["rtp"] + HEADER_BYTES["udp"] + HEADER_BYTES["ipv6" if ip_version == 4 else "ipv4"]
    if math.isclose(value, other_ip / (other_ip + payload), rel_tol=2e-3):
        return fail(f"Check the IP header: this stream runs over IPv{ip_version}.")
    for missing in ("rtp", "udp"):
        h = headers - HEADER_BYTES[missing]
        if math.isclose(value, h / (h + payload), rel_tol=2e-3):
            return fail(f"One header is missing: the {missing.upper()} header.")
    for other_ms in (10, 40, 60):
        p = bitrate_bps / 8 * other_ms / 1000
        if other_ms != packet_ms and math.isclose(value, headers / (headers + p), rel_tol=2e-3):
            return fail(f"That is the share with {other_ms} ms packets; these packets carry {packet_ms:g} ms.")
    fb = close_to(answer, expected, what="The header overhead", rel=2e-3)
    return fb if not is_generic(fb) else fail(fb.message, "Share = header bytes / (header bytes + payload bytes) "
                                                          "of one packet.")


# -- exercise 6.5 (design): Opus settings for a tight uplink --------------------------------------
VOICE_WIRE_BUDGET_KBPS = 24.0  # on the wire: Opus payload + RTP + UDP + IPv4 headers
VOICE_MAX_LSD_DB = 9.0  # log-spectral distance to the 16 kHz original, at most
VOICE_FRAMES_MS = (10, 20, 40, 60)
VOICE_BITRATE_RANGE_KBPS = (6.0, 64.0)


def _header_kbps(frame_ms: float) -> float:
    from rtlib.media.packetize import HEADER_BYTES

    return (HEADER_BYTES["rtp"] + HEADER_BYTES["udp"] + HEADER_BYTES["ipv4"]) * 8 / frame_ms


@lru_cache(maxsize=128)
def _voice_run(bitrate_kbps: float, frame_ms: int) -> dict:
    from rtlib.media.codecs.lab import opus_codec

    r = opus_codec(bitrate_kbps, frame_ms)
    return {"lsd_db": float(r["lsd_db"]), "payload_kbps": float(r["actual_kbps"]),
            "wire_kbps": float(r["actual_kbps"]) + _header_kbps(frame_ms), "delay_ms": float(r["delay_ms"])}


def simulate_voice(bitrate_kbps: float, frame_ms: int) -> dict:
    """Exercise 6.5: Opus (16 kHz, VBR) at ``bitrate_kbps`` target with ``frame_ms`` frames, one frame per packet.

    Encodes and decodes the chapter's 2 s of speech (the ``opus_codec`` widget's
    function) and returns the measured ``lsd_db`` (log-spectral distance to the
    original), ``payload_kbps``, ``wire_kbps`` (payload plus RTP/UDP/IPv4 headers) and
    the codec's algorithmic ``delay_ms`` (frame plus look-ahead).
    """
    lo, hi = VOICE_BITRATE_RANGE_KBPS
    if isinstance(bitrate_kbps, bool) or not isinstance(bitrate_kbps, (int, float, np.integer, np.floating)) \
            or not lo <= float(bitrate_kbps) <= hi:
        raise ValueError(f"bitrate_kbps must be a number in [{lo:g}, {hi:g}] kbit/s, got {bitrate_kbps!r}")
    if isinstance(frame_ms, bool) or frame_ms not in VOICE_FRAMES_MS:
        raise ValueError(f"frame_ms must be one of {list(VOICE_FRAMES_MS)}, got {frame_ms!r}")
    return dict(_voice_run(float(bitrate_kbps), int(frame_ms)))


def _voice_feasible(frame_ms: int) -> bool:
    """Whether some target bit rate (whole kbit/s) meets both bounds with ``frame_ms`` frames.

    The best candidate is the highest rate that fits the wire budget (quality only
    improves with the rate), found by stepping down from the rate the headers leave.
    """
    lo, hi = VOICE_BITRATE_RANGE_KBPS
    b = min(hi, math.floor(VOICE_WIRE_BUDGET_KBPS - _header_kbps(frame_ms)) + 6)  # VBR may spend less than the target
    while b >= lo:
        r = simulate_voice(b, frame_ms)
        if r["wire_kbps"] <= VOICE_WIRE_BUDGET_KBPS:
            return r["lsd_db"] <= VOICE_MAX_LSD_DB
        b -= 1
    return False


@lru_cache(maxsize=1)
def _least_voice_delay_ms() -> float:
    for f in VOICE_FRAMES_MS:  # delay grows with the frame
        if _voice_feasible(f):
            return simulate_voice(VOICE_BITRATE_RANGE_KBPS[0], f)["delay_ms"]
    return math.inf


def _voice_values(design):
    values = design_settings(design, ("bitrate_kbps", "frame_ms"))
    if isinstance(values, Feedback):
        return values
    b, f = values["bitrate_kbps"], values["frame_ms"]
    if 6000 <= b <= 64000:
        return fail("bitrate_kbps looks like bit/s: it is asked in kbit/s.")
    bad = out_of_range("bitrate_kbps", b, *VOICE_BITRATE_RANGE_KBPS, "kbit/s")
    if bad is not None:
        return bad
    if f in (0.01, 0.02, 0.04, 0.06):
        return fail("frame_ms looks like seconds: it is asked in milliseconds.")
    if f not in VOICE_FRAMES_MS:
        return fail(f"frame_ms should be one of {list(VOICE_FRAMES_MS)} (Opus frame sizes used for speech).")
    return b, int(f)


def _voice_design(design) -> Feedback:
    values = _voice_values(design)
    if isinstance(values, Feedback):
        return values
    b, f = values
    r = simulate_voice(b, f)
    outcome = (f"{r['wire_kbps']:.1f} kbit/s on the wire ({r['payload_kbps']:.1f} of Opus payload), "
               f"log-spectral distance {r['lsd_db']:.1f} dB, algorithmic delay {r['delay_ms']:g} ms")
    fits, good = r["wire_kbps"] <= VOICE_WIRE_BUDGET_KBPS, r["lsd_db"] <= VOICE_MAX_LSD_DB
    if fits and good:
        if r["delay_ms"] <= _least_voice_delay_ms():
            return ok(f"Both bounds met at the least delay the budget allows: {outcome}.")
        return fail(f"Both bounds met ({outcome}), but a shorter frame can meet them too, with less delay.",
                    "Each frame size adds its own length to the delay: which is the shortest that still leaves "
                    "the codec enough bits?",
                    "Headers cost the same per packet whatever the frame, so shorter frames spend more of the "
                    "budget on headers; try the next shorter frame with the highest rate that fits.")
    if not fits and good:
        header = _header_kbps(f)
        return fail(f"Over the budget: {outcome}.",
                    f"The headers alone take {header:.0f} kbit/s with {f} ms packets: what is left for Opus?",
                    "Lower the target rate until the wire rate fits, or send longer frames: fewer packets, "
                    "fewer headers, more bits for the codec.")
    if fits and not good and r["lsd_db"] > 15:
        return fail(f"The sound is poor: {outcome}.",
                    "A distance this large means a whole band of the spectrum is missing: what does Opus do "
                    "at its lowest rates?",
                    "At its lowest target rates Opus gives up the 4–8 kHz band (section 6): the target must be "
                    "high enough for wide band, so the frame must leave room for it in the budget.")
    if fits and not good:
        return fail(f"The sound is not good enough yet: {outcome}.",
                    "More bits for the codec would help: where in the budget are they spent instead?",
                    "Raise the target rate as far as the wire budget allows; if that is not enough, longer "
                    "frames free header bits for the codec.")
    return fail(f"Over the budget and not good enough: {outcome}.",
                "Start with the frame size: how much of the budget do its headers take?",
                "With one packet per frame, headers cost 40 bytes per packet; pick a frame that leaves room, then "
                "the highest rate that fits.")


voice_design = StagedCheck(_voice_design)
voice_design.__doc__ = """Exercise 6.5 (design): ``{'bitrate_kbps': ..., 'frame_ms': ...}`` for Opus on a 24 kbit/s uplink.

Encoded and decoded by :func:`simulate_voice`; passes when the wire rate (payload plus
RTP/UDP/IPv4 headers) is at most 24 kbit/s, the log-spectral distance at most 9 dB,
and the algorithmic delay the least any frame size that can meet both allows.  The
feedback shows the design's own measured outcome; hints come in stages (``hint=True``).
"""
