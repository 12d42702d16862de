"""Multi-party topologies (issue 15): measured codec CPU costs, SFU forwarding speed, a 6-person call.

Three parts:

1. **CPU costs** (:func:`measure_cpu_costs`), written to ``rtlib/conf/cpu_costs.json``,
   which :mod:`rtlib.conf.topology` reads.  Each cost is the wall-clock time of the
   real codec, through PyAV, on one core (``thread_count = 1``), best of 3 runs:

   - VP8 (libvpx, aiortc's real-time settings, :class:`rtlib.media.codecs.video.Vp8Codec`)
     encode and decode of ``FRAMES`` frames of the synthetic test pattern
     (:func:`rtlib.media.clips.synthetic_video_frame`, moving box + scrolling ramp),
     one keyframe then inter frames, at 320×180, 640×360 and 1280×720, the bitrate of
     the simulcast layer of that size; ``ms per frame`` includes the RGB↔YUV
     conversion the codec interface does (an MCU composes in RGB, so it pays it too);
   - Opus (libopus, 48 kHz mono, 20 ms frames, 32 kbit/s) encode and decode of the
     course's speech clip;
   - mixing: one mix-minus output per 20 ms frame at 48 kHz (numpy sum minus own);
   - SFU forwarding: parse a 1200-byte VP8 RTP packet, rewrite SSRC/sequence
     number/timestamp, serialise it (what :class:`rtlib.conf.sfu.Sfu` does per packet
     and per receiver).

   Re-measure with ``python -m benchmarks.bench_conf --cpu-costs`` (a few seconds).

2. **SFU packets/s** in the simulator on one core (bar: ≥ 100 k packets/s).
3. **A 6-person, 60 s SFU call** with simulcast (bar: ≤ 6 s of wall clock).

``python -m benchmarks conf`` runs 2 and 3 (and re-measures 1 if the JSON is missing)
and records them in benchmarks/RESULTS.md.

Used in: notebooks/10_many_participants.ipynb.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Row, best_of

COSTS_PATH = Path(__file__).resolve().parents[1] / "rtlib" / "conf" / "cpu_costs.json"
FRAMES = 30
RESOLUTIONS = {"180p": (320, 180, 150_000), "360p": (640, 360, 500_000), "720p": (1280, 720, 1_500_000)}


def _vp8_ms(width: int, height: int, bitrate_bps: int) -> tuple[float, float]:
    from rtlib.media.clips import synthetic_video_frame
    from rtlib.media.codecs.video import Vp8Codec

    frames = [synthetic_video_frame(i, width, height) for i in range(FRAMES)]
    codec = Vp8Codec(width=width, height=height, bitrate_bps=bitrate_bps)
    encoded: list[bytes] = []

    def enc():
        codec.reset()
        encoded.clear()
        encoded.extend(codec.encode(f, keyframe=(i == 0)) for i, f in enumerate(frames))

    def dec():
        codec.reset()
        for b in encoded:
            codec.decode(b)

    enc_s = best_of(enc, repeat=3)
    dec_s = best_of(dec, repeat=3)
    return enc_s / FRAMES * 1000, dec_s / FRAMES * 1000


def _opus_ms() -> tuple[float, float]:
    from rtlib.media.clips import load_speech
    from rtlib.media.codecs import get_codec

    x = load_speech("en", 48_000, seconds=4.0)
    codec = get_codec("opus", rate_hz=48_000, bitrate_bps=32_000, frame_ms=20)
    n = codec.samples_per_frame
    frames = [x[i:i + n] for i in range(0, len(x) - n + 1, n)]
    payloads: list[bytes] = []

    def enc():
        codec.reset()
        payloads.clear()
        payloads.extend(codec.encode(f) for f in frames)

    def dec():
        codec.reset()
        for p in payloads:
            codec.decode(p)

    return best_of(enc) / len(frames) * 1000, best_of(dec) / len(frames) * 1000


def _mix_us_per_output() -> float:
    rng = np.random.default_rng(0)
    ins = rng.standard_normal((8, 960)).astype(np.float32)
    reps = 2000

    def go():
        for _ in range(reps):
            total = ins.sum(axis=0)
            for k in range(8):
                np.clip(total - ins[k], -1.0, 1.0)

    return best_of(go) / (reps * 8) * 1e6


def _forward_us_per_packet() -> float:
    from rtlib.rtp.packet import RtpPacket

    data = bytes(RtpPacket(96, 1000, 90_000, 0x1111, b"\x10\x00\x00" + bytes(1188), marker=False))
    reps = 20_000

    def go():
        for i in range(reps):
            p = RtpPacket.parse(data)
            p.ssrc, p.sequence_number, p.timestamp = 0x2222, i & 0xFFFF, (i * 3000) & 0xFFFFFFFF
            bytes(p)

    return best_of(go) / reps * 1e6


def measure_cpu_costs(path: Path = COSTS_PATH) -> dict:
    """Measure the codec costs on this machine and write them to ``path`` (JSON)."""
    video = {}
    for name, (w, h, bps) in RESOLUTIONS.items():
        e, d = _vp8_ms(w, h, bps)
        video[name] = {"width": w, "height": h, "bitrate_kbps": bps / 1000, "encode_ms_per_frame": round(e, 4),
                       "decode_ms_per_frame": round(d, 4)}
    oe, od = _opus_ms()
    costs = {
        "what": "CPU time per operation of the real codecs through PyAV on one core (thread_count=1), "
                "best of 3 runs; read by rtlib.conf.topology",
        "how": f"benchmarks/bench_conf.py measure_cpu_costs(): VP8 (libvpx, aiortc real-time settings) encode "
               f"and decode of {FRAMES} frames of rtlib.media.clips.synthetic_video_frame (1 keyframe + inter "
               f"frames) at the simulcast layer's size and bitrate, RGB<->YUV conversion included; Opus 48 kHz "
               f"mono 20 ms 32 kbit/s on 4 s of the speech clip; mix-minus numpy sum per output; SFU forward = "
               f"RtpPacket.parse + rewrite SSRC/seq/ts + bytes() of a 1200-byte packet",
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}, "
                   f"Python {platform.python_version()}",
        "fps": 30.0,
        "vp8": video,
        "opus": {"rate_hz": 48_000, "frame_ms": 20.0, "bitrate_kbps": 32.0, "encode_ms_per_frame": round(oe, 4),
                 "decode_ms_per_frame": round(od, 4)},
        "mix_minus_us_per_output_frame": round(_mix_us_per_output(), 3),
        "sfu_forward_us_per_packet": round(_forward_us_per_packet(), 3),
    }
    path.write_text(json.dumps(costs, indent=1) + "\n")
    return costs


def run() -> list[Row]:
    if not COSTS_PATH.exists():
        measure_cpu_costs()
    costs = json.loads(COSTS_PATH.read_text())
    rows = []
    for name, v in costs["vp8"].items():
        rows.append(Row(f"VP8 {name} encode (from cpu_costs.json)", v["encode_ms_per_frame"], "ms/frame",
                        note=f"measured {costs['when']}"))
        rows.append(Row(f"VP8 {name} decode (from cpu_costs.json)", v["decode_ms_per_frame"], "ms/frame",
                        note=f"measured {costs['when']}"))
    try:
        from benchmarks.bench_conf_sim import sim_rows  # noqa: F401  (never present; kept simple)
    except ImportError:
        pass
    rows += _sim_rows()
    return rows


def _sim_rows() -> list[Row]:
    rows: list[Row] = []
    try:
        from rtlib.conf.sfu import forward_benchmark
    except ImportError:
        return rows
    pps = forward_benchmark()
    rows.append(Row("SFU forwarding in the simulator", pps, "packets/s", bar=100_000,
                    note="real RTP packets in, rewritten packets out, one core"))
    try:
        from rtlib.conf.call import ConfCall
    except ImportError:
        return rows
    t0 = time.perf_counter()
    ConfCall("sfu", participants=6, duration_s=60.0, simulcast=True, poor_link_kbps=400.0, seed=1).run()
    rows.append(Row("6-person 60 s SFU call (simulcast, one poor link)", time.perf_counter() - t0, "s",
                    bar=6.0, higher_is_better=False, note="wall clock, one core"))
    return rows


if __name__ == "__main__":
    if "--cpu-costs" in sys.argv:
        print(json.dumps(measure_cpu_costs(), indent=1))
    else:
        for r in run():
            print(r.to_dict())
