"""``rtlib abr``: run an adaptive-bitrate scenario or a capacity trace with one controller.

Example::

    python -m rtlib abr --scenario rfc8867-5.1 --controller gcc --json
    python -m rtlib abr --trace data/traces/mahimahi/ATT-LTE-driving-2016.down --controller aimd --json
    python -m rtlib abr --scenario cellular-drive --controller selfclocked

Used in: notebooks/08_adaptive_bitrate.ipynb (for instructors and batch runs).
"""

from __future__ import annotations

#: The figures ``--json`` always prints (plus a few more).
KEYS = ("utilization", "delay_p50_ms", "delay_p95_ms", "video_delay_p95_ms", "audio_delay_p95_ms", "loss",
        "rate_kbps_mean", "capacity_kbps_mean", "freeze_rate")


def register(sub) -> None:
    from rtlib.cc.call import CONTROLLERS
    from rtlib.cc.scenarios import scenario_names

    p = sub.add_parser(
        "abr", help="adaptive bitrate: a rate controller over an RFC 8867 scenario or a capacity trace",
        description="Simulates a video call (encoder, pacer, RTCP feedback) through a bottleneck with a 300 ms "
                    "tail-drop queue and 50 ms one-way delay, and prints utilisation, queueing delay, loss and "
                    "freezes. Scenarios: " + ", ".join(scenario_names()) + ".",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--scenario", help=f"a named scenario: {', '.join(scenario_names())}")
    src.add_argument("--trace", help="a Mahimahi capacity trace file (one line per 1500-byte opportunity, in ms)")
    p.add_argument("--controller", default="gcc",
                   help=f"one of {', '.join(sorted(CONTROLLERS))} (default gcc). gcc: delay-gradient (Google "
                        "Congestion Control); selfclocked: a window of the delivered rate times a target delay "
                        "(Sprout-EWMA style, its recent maximum while no queue shows); sprout: the same window from "
                        "Sprout's stochastic forecast (what the link delivers with 95 %% probability); scream: RFC "
                        "8298's self-clocked "
                        "window; oracle: told the capacity "
                        "100 ms late (a yardstick); aimd, aiortc-remb, fixed: baselines")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds to simulate (default: the scenario's length, or the trace's, at most 300 s)")
    p.add_argument("--seed", type=int, default=0, help="random seed (encoder noise; default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cc.call import CONTROLLERS
    from rtlib.cc.scenarios import run_scenario, run_trace
    from rtlib.cli import emit

    if args.controller not in CONTROLLERS:
        raise ValueError(f"--controller must be one of {sorted(CONTROLLERS)}, got {args.controller!r}")
    if args.duration is not None and not 1 <= args.duration <= 3600:
        raise ValueError(f"--duration must be in [1, 3600] s, got {args.duration!r}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed!r}")
    if args.scenario is not None:
        res = run_scenario(args.scenario, args.controller, seed=args.seed, duration_s=args.duration)
        source = {"scenario": args.scenario}
    else:
        res = run_trace(args.trace, args.controller, seed=args.seed, duration_s=args.duration)
        source = {"trace": args.trace}
    s = res.summary()
    out = {**source, "controller": args.controller, "duration_s": res.duration_s, "seed": args.seed, **s}
    name = args.scenario or args.trace
    text = "\n".join([
        f"{name}: {args.controller}, {res.duration_s:g} s, {s['flows']} flow(s)",
        f"  capacity     {s['capacity_kbps_mean']:8.0f} kbit/s (mean)",
        f"  sending rate {s['rate_kbps_mean']:8.0f} kbit/s (mean, media)",
        f"  utilisation  {s['utilization']:8.1%}  (media goodput / usable capacity)",
        f"  queueing delay p50 {s['delay_p50_ms']:.0f} ms, p95 {s['delay_p95_ms']:.0f} ms "
        f"(video p95 {s['video_delay_p95_ms']:.0f} ms, audio p95 {s['audio_delay_p95_ms']:.0f} ms)",
        f"  delay over time p95 {s['signal_delay_p95_ms']:.0f} ms  (age of the freshest media at the receiver)",
        f"  loss {s['loss']:.2%}, freeze rate {s['freeze_rate']:.2%}, Jain fairness {s['jain']:.3f}",
    ])
    emit(out, args.json, text)
    return 0
