"""``rtlib live-call``: a real call on this machine through the impairment relay; prints its QoS summary.

Used in: notebooks/12_live_call.ipynb (the same call from the command line).
"""

from __future__ import annotations

import inspect
import math


def register(sub) -> None:
    p = sub.add_parser(
        "live-call", help="a real call on 127.0.0.1 (aiortc or rtlib) through an impairment relay; QoS summary",
        description="Runs a real call between two endpoints in this process, all media through a UDP relay on "
                    "127.0.0.1 that adds delay, jitter, loss, a rate cap with a drop-tail queue and outages "
                    "(chapter 04's parameters). Media flows A->B through the forward impairment; feedback (RTCP) "
                    "flows B->A with the same delay and jitter but no loss and no cap. Prints RTT, jitter, loss, "
                    "bitrate, frame rate, freezes (W3C freezeCount) and the measured end-to-end delay "
                    "(p50/p95 of 250 ms samples). --stack aiortc: WebRTC (Opus + VP8, DTLS-SRTP); --stack rtlib: "
                    "the course's own RTP endpoint.",
    )
    p.add_argument("--stack", default="aiortc", choices=["aiortc", "rtlib"], help="which endpoints (default aiortc)")
    p.add_argument("--seconds", type=float, default=10.0, help="call length [s] (default 10)")
    p.add_argument("--delay-ms", type=float, default=50.0, help="one-way delay, both directions [ms] (default 50)")
    p.add_argument("--jitter-ms", type=float, default=10.0, help="mean extra random delay, both directions [ms] "
                                                                  "(default 10)")
    p.add_argument("--jitter-dist", default="normal", choices=["uniform", "normal", "pareto"],
                   help="shape of the random delay (default normal: half-normal)")
    p.add_argument("--reorder", action="store_true", help="let jitter reorder packets (default: never)")
    p.add_argument("--loss", type=float, default=0.0, help="A->B packet-loss fraction in [0, 1] (default 0)")
    p.add_argument("--burst-len", type=float, default=1.0,
                   help="mean loss-burst length in packets; 1 = independent losses (default 1)")
    p.add_argument("--rate-kbps", type=float, default=None, help="A->B bottleneck rate [kbit/s] (default: no cap)")
    p.add_argument("--queue-ms", type=float, default=200.0,
                   help="drop-tail limit of the bottleneck queue, as time to drain at --rate-kbps [ms] (default 200)")
    p.add_argument("--outage-at", type=float, default=None, help="start an outage (both directions) at this call "
                                                                  "time [s]")
    p.add_argument("--outage-s", type=float, default=None, help="length of the outage [s]")
    p.add_argument("--seed", type=int, default=0, help="random seed of the relay (default 0)")
    p.add_argument("--pcap", default=None, help="write what the relay forwarded to this pcap file")
    p.add_argument("--stats-json", default=None, help="write every 250 ms sample (rtlib.live.stats.CallStats) here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _check(args) -> None:
    if not (math.isfinite(args.seconds) and 0 < args.seconds <= 3600):
        raise ValueError(f"--seconds must be in (0, 3600], got {args.seconds:g}")
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer, got {args.seed}")
    if (args.outage_at is None) != (args.outage_s is None):
        raise ValueError("--outage-at and --outage-s go together (when the outage starts and how long it lasts)")
    if args.outage_at is not None:
        if not (math.isfinite(args.outage_at) and 0 <= args.outage_at < args.seconds):
            raise ValueError(f"--outage-at must be in [0, --seconds) = [0, {args.seconds:g}) s, got {args.outage_at:g}")
        if not (math.isfinite(args.outage_s) and args.outage_s > 0):
            raise ValueError(f"--outage-s must be a number > 0 s, got {args.outage_s:g}")


def _runner(stack: str):
    if stack == "aiortc":
        from rtlib.live.aiortc_call import run_aiortc_call

        return run_aiortc_call
    try:
        from rtlib.live.endpoint import run_rtlib_call
    except ImportError as exc:
        missing = getattr(exc, "name", "") or ""
        if missing.startswith("rtlib.live.endpoint") or "run_rtlib_call" in str(exc):
            return None
        raise
    return run_rtlib_call


def _fmt(v, spec: str = ".1f", unit: str = "") -> str:
    return "n/a" if v is None else f"{v:{spec}}{unit}"


def run(args) -> int:
    import asyncio
    import sys

    from rtlib.cli import emit
    from rtlib.live.impair import Impairment
    from rtlib.live.stats import CallStats

    _check(args)
    forward = Impairment(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms, jitter_dist=args.jitter_dist,
                         reorder=args.reorder, loss=args.loss, burst_len=args.burst_len, rate_kbps=args.rate_kbps,
                         queue_ms=args.queue_ms)
    backward = Impairment(delay_ms=args.delay_ms, jitter_ms=args.jitter_ms, jitter_dist=args.jitter_dist,
                          reorder=args.reorder)
    runner = _runner(args.stack)
    if runner is None:
        print("rtlib live-call: error: --stack rtlib needs rtlib.live.endpoint.run_rtlib_call, which this checkout "
              "does not have yet; use --stack aiortc", file=sys.stderr)
        return 2

    seen = CallStats(config={"stack": args.stack})
    kwargs = dict(seconds=args.seconds, forward=forward, backward=backward, seed=args.seed, pcap=args.pcap)
    outage = None
    if args.outage_at is not None:
        outage = (args.outage_at, args.outage_at + args.outage_s)
        if "events" in inspect.signature(runner).parameters:
            from rtlib.live.aiortc_call import outage_events

            kwargs["events"] = outage_events(args.outage_at, args.outage_s)
            outage = None  # the runner schedules it

    def on_sample(sample):
        seen.add(sample)
        if outage is not None:  # flip the live impairments at the first sample past each edge (250 ms steps)
            down = outage[0] <= sample.t_s < outage[1]
            if forward.outage != down:
                forward.outage = backward.outage = down

    interrupted = False
    stats = None
    try:
        stats = asyncio.run(runner(on_sample=on_sample, **kwargs))
    except KeyboardInterrupt:  # asyncio.run cancelled the call, which closed everything on its way out
        interrupted = True
    if stats is None:
        stats = seen
    stats.config.setdefault("stack", args.stack)
    if args.stats_json:
        stats.to_json(args.stats_json)
    s = stats.summary()
    measured = stats.config.get("measured", {})
    out = {"stack": args.stack, "interrupted": interrupted, "summary": s, "forward": forward.to_dict(),
           "backward": backward.to_dict(), "seed": args.seed, "pcap": args.pcap,
           "outage": None if args.outage_at is None else {"at_s": args.outage_at, "duration_s": args.outage_s},
           "measured": measured}
    relay = (measured.get("relay") or {}).get("forward") or {}
    relay_text = ""
    if relay:
        relay_text = (f"; the relay dropped {relay['dropped_loss']} (loss) + {relay['dropped_queue']} (queue) + "
                      f"{relay['dropped_outage']} (outage) of {relay['packets_in']} A->B datagrams")
    text = "\n".join([
        f"live call ({args.stack}) for {s['duration_s']:.1f} s{' (interrupted)' if interrupted else ''}: "
        f"A->B {args.delay_ms:g} ms + {args.jitter_ms:g} ms {args.jitter_dist} jitter, loss {args.loss:.1%}"
        f"{f' (bursts of {args.burst_len:g})' if args.burst_len > 1 else ''}"
        f"{f', cap {args.rate_kbps:g} kbit/s' if args.rate_kbps else ''}"
        f"{f', outage {args.outage_s:g} s at {args.outage_at:g} s' if args.outage_at is not None else ''}",
        f"  RTT           p50 {_fmt(s['rtt_ms_p50'])} ms   p95 {_fmt(s['rtt_ms_p95'])} ms",
        f"  jitter        p50 {_fmt(s['jitter_ms_p50'], '.2f')} ms   p95 {_fmt(s['jitter_ms_p95'], '.2f')} ms",
        f"  loss          {_fmt(s['loss_fraction'], '.2%')} ({s['packets_lost']} lost, "
        f"{s['packets_received']} received){relay_text}",
        f"  bitrate       send p50 {_fmt(s['send_kbps_p50'], '.0f')} kbit/s, receive p50 "
        f"{_fmt(s['recv_kbps_p50'], '.0f')} kbit/s",
        f"  video         {s['frames_decoded']} frames, fps p50 {_fmt(s['fps_p50'])}; freezes {s['freeze_count']} "
        f"({_fmt(s['freeze_s'], '.2f')} s, {_fmt(s['frozen_fraction'], '.1%')} of the call)",
        f"  end-to-end    p50 {_fmt(s['e2e_delay_ms_p50'])} ms   p95 {_fmt(s['e2e_delay_ms_p95'])} ms "
        f"(measured from time codes in the frames)",
        f"  audio concealed {_fmt(s['audio_concealed_ms'], '.0f')} ms",
        *([f"  capture: {args.pcap}"] if args.pcap else []),
    ])
    emit(out, args.json, text)
    return 130 if interrupted else 0
