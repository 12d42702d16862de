"""Multi-party topologies (issue 15): measured codec CPU costs, SFU forwarding speed, a 6-person call.

Three parts:

1. **CPU costs** (:func:`measure_cpu_costs`), written to ``rtlib/conf/cpu_costs.json``,
   which :mod:`rtlib.conf.topology` reads.  Each cost is the wall-clock time of the
   real codec, through PyAV, on one core (``thread_count = 1``), as CPU time
   (``time.process_time``), best of 5 runs:

   - VP8 (libvpx, aiortc's real-time settings, :class:`rtlib.media.codecs.video.Vp8Codec`)
     encode and decode of ``FRAMES`` frames of the synthetic test pattern
     (:func:`rtlib.media.clips.synthetic_video_frame`, moving box + scrolling ramp),
     one keyframe then inter frames, at 320×180, 640×360 and 1280×720, the bitrate of
     the simulcast layer of that size; ``ms per frame`` includes the RGB↔YUV
     conversion the codec interface does (an MCU composes in RGB, so it pays it too);
   - Opus (libopus, 48 kHz mono, 20 ms frames, 32 kbit/s) encode and decode of the
     course's speech clip;
   - mixing: one mix-minus output per 20 ms frame at 48 kHz (numpy sum minus own);
   - SFU forwarding: the CPU time of :class:`rtlib.conf.sfu.Sfu` per packet handled
     (in or out) in :func:`forward_benchmark` (header unpacked, SSRC/sequence
     number/timestamp patched per receiver, payload untouched).

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
REPEAT = 5


def best_cpu_s(fn, repeat: int = REPEAT) -> float:
    """The smallest CPU time of ``repeat`` runs of ``fn()``, in seconds.

    CPU time rather than wall clock: the codecs run single-threaded in this process,
    and other processes sharing the machine then inflate the figure much less."""
    return best_of(fn, repeat, clock=time.process_time)


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

    enc_s = best_cpu_s(enc)
    dec_s = best_cpu_s(dec)
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

    return best_cpu_s(enc) / len(frames) * 1000, best_cpu_s(dec) / len(frames) * 1000


def _mix_us_per_output() -> float:
    rng = np.random.default_rng(0)
    ins = rng.standard_normal((8, 960)).astype(np.float32)
    reps = 2000

    def go():
        for _ in range(reps):
            total = ins.sum(axis=0)
            for k in range(8):
                np.clip(total - ins[k], -1.0, 1.0)

    return best_cpu_s(go) / (reps * 8) * 1e6


def _forward_us_per_packet() -> float:
    """CPU per packet the SFU handles (in or out), from :func:`forward_benchmark`."""
    out_pps, in_pps = forward_benchmark(seconds=2.0, clock=time.process_time)  # per CPU second, same run
    return 1e6 / (out_pps + in_pps)


def measure_cpu_costs(path: Path = COSTS_PATH) -> dict:
    """Measure the codec costs on this machine and write them to ``path`` (JSON)."""
    video = {}
    for name, (w, h, bps) in RESOLUTIONS.items():
        e, d = _vp8_ms(w, h, bps)
        video[name] = {"width": w, "height": h, "bitrate_kbps": bps / 1000, "encode_ms_per_frame": round(e, 4),
                       "decode_ms_per_frame": round(d, 4)}
    oe, od = _opus_ms()
    costs = {
        "what": "CPU time (process_time) per operation of the real codecs through PyAV on one core "
                "(thread_count=1), best of 5 runs; read by rtlib.conf.topology",
        "how": f"benchmarks/bench_conf.py measure_cpu_costs(): VP8 (libvpx, aiortc real-time settings) encode "
               f"and decode of {FRAMES} frames of rtlib.media.clips.synthetic_video_frame (1 keyframe + inter "
               f"frames) at the simulcast layer's size and bitrate, RGB<->YUV conversion included; Opus 48 kHz "
               f"mono 20 ms 32 kbit/s on 4 s of the speech clip; mix-minus numpy sum per output; SFU forward = "
               f"rtlib.conf.sfu.Sfu.on_rtp on the event loop (forward_benchmark), CPU seconds per packet in or out",
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
    out_pps, in_pps = forward_benchmark()
    rows.append(Row("SFU forwarding in the simulator", out_pps, "packets/s", bar=100_000,
                    note=f"rewritten packets out per wall second (+{in_pps:,.0f} in/s): 6 senders × 3 simulcast "
                         f"layers + audio, 5 receivers each, on an rtlib.sim EventLoop, one core"))
    call_s, summary = call_benchmark()
    rows.append(Row("6-person 60 s SFU call (simulcast, one receiver on 1.2 Mbit/s)", call_s, "s",
                    bar=6.0, higher_is_better=False, note=f"wall clock, best of 2, one core; {summary}"))
    rows += agreement_rows()
    return rows


def forward_benchmark(seconds: float = 3.0, clock=time.perf_counter) -> tuple[float, float]:
    """Forwarded packets/s (and incoming packets/s) of :class:`rtlib.conf.sfu.Sfu` on the event loop.

    Pre-built real RTP datagrams (the senders of :mod:`rtlib.conf.call`) are scheduled
    on an :class:`rtlib.sim.EventLoop` at their send times; each callback hands one to
    ``Sfu.on_rtp`` and counts what comes out.  Best of 3 runs, timed by ``clock``
    (wall clock by default; ``time.process_time`` for the CPU cost).
    """
    from rtlib.conf.call import ConfCall
    from rtlib.conf.sfu import Sfu
    from rtlib.sim import EventLoop

    call = ConfCall("sfu", 6, 10.0, simulcast=True)
    schedule = []
    for f in range(int(seconds * 30)):
        t = f / 30
        for i, s in enumerate(call.senders):
            schedule += [(t, i, p) for p in s.video_frame(t)]
            if f % 3 != 2:  # ~50 audio packets/s
                schedule.append((t, i, s.audio_packet(t)))

    def once():
        sfu = Sfu(layers_kbps=call.layers_kbps)
        for i, s in enumerate(call.senders):
            sfu.add_participant(i, video_ssrcs=s.video_ssrcs, audio_ssrc=s.audio_ssrc)
        for lg in sfu.legs():  # everyone on a good link: the top layer
            if lg.selector is not None:
                lg.selector.layer = lg.target = 2
        loop = EventLoop()
        count = [0]

        def deliver(i, pkt):
            count[0] += len(sfu.on_rtp(loop.time(), i, pkt))

        for t, i, p in schedule:
            loop.call_at(t, deliver, i, p)
        t0 = clock()
        loop.run()
        return count[0], clock() - t0

    best = min((once() for _ in range(3)), key=lambda r: r[1])
    return best[0] / best[1], len(schedule) / best[1]


def call_benchmark() -> tuple[float, str]:
    """Wall time of a 6-person, 60 s simulcast SFU call with one receiver on 1.2 Mbit/s (best of 2)."""
    from rtlib.conf.call import ConfCall

    best, best_cpu, res = float("inf"), float("inf"), None
    for _ in range(2):
        t0, c0 = time.perf_counter(), time.process_time()
        res = ConfCall("sfu", participants=6, duration_s=60.0, simulcast=True, poor_link_kbps=1200.0, seed=1).run()
        best, best_cpu = min(best, time.perf_counter() - t0), min(best_cpu, time.process_time() - c0)
    poor = [r for r in res.per_participant if r["poor_link"]][0]
    good = [r for r in res.per_participant if not r["poor_link"]]
    return best, (f"CPU time {best_cpu:.2f} s; poor receiver: layer {poor['final_layer'][0]}, {poor['received_kbps']:.0f} kbit/s, freeze "
                  f"{poor['freeze_s']:.2f} s; others: layer {good[0]['final_layer'][0]}, "
                  f"{np.mean([r['received_kbps'] for r in good]):.0f} kbit/s, freeze "
                  f"{max(r['freeze_s'] for r in good):.2f} s; SFU {res.server['packets_per_s']:.0f} packets/s")


def agreement_rows() -> list[Row]:
    """Calculator vs simulation: worst relative difference of the four bandwidths, per topology."""
    from rtlib.conf.call import simulate
    from rtlib.conf.topology import load

    rows = []
    for topo, kw, calc_rate in (("mesh", {}, 600), ("sfu", {}, 600), ("mcu", {}, 600),
                                ("sfu", {"simulcast": True, "start_layer": 2}, 1500)):
        res = simulate(topo, 4, 10.0, bitrate_kbps=600, seed=3, **kw)
        calc = load(topo, 4, calc_rate, simulcast=bool(kw.get("simulcast")))
        pairs = [(r["sent_kbps"], calc.client_up_kbps) for r in res.per_participant]
        pairs += [(r["received_kbps"], calc.client_down_kbps) for r in res.per_participant]
        if topo != "mesh":
            pairs += [(res.server["in_kbps"], calc.server_in_kbps), (res.server["out_kbps"], calc.server_out_kbps)]
        worst = max(abs(a - b) / b for a, b in pairs)
        name = f"{topo}{' simulcast' if kw else ''}"
        rows.append(Row(f"calculator vs simulation, {name}, 4 people, 10 s", worst * 100, "% (worst)",
                        bar=6.0, higher_is_better=False,
                        note=f"client up {calc.client_up_kbps:.0f} vs {np.mean([p[0] for p in pairs[:4]]):.0f} "
                             f"kbit/s simulated"))
    return rows


if __name__ == "__main__":
    if "--cpu-costs" in sys.argv:
        print(json.dumps(measure_cpu_costs(), indent=1))
    else:
        for r in run():
            print(r.to_dict())
