"""``rtlib call``: one-way audio through an impaired path, measured as RFC 3550 does."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "call", help="one-way G.711 audio over RTP through an impaired path: loss, jitter, delay; optional pcap",
        description="Encodes speech as 20 ms G.711 frames, sends them as RTP (with RTCP sender reports) through "
                    "rtlib.net.simulate_path, and reports what the receiver measured the RFC 3550 way (A.1/A.3/A.8): "
                    "packets received, lost (expected - received), duplicated, interarrival jitter, one-way delay, "
                    "and packets too late for the playout buffer. --pcap writes what the receiver saw "
                    "(arrival timestamps, UDP port 5004 for RTP, 5005 for RTCP) for Wireshark.",
    )
    p.add_argument("--codec", default="pcmu", choices=["pcmu", "pcma"], help="G.711 mu-law (PT 0) or A-law (PT 8)")
    p.add_argument("--seconds", type=float, default=20.0, help="call length [s] (default 20)")
    p.add_argument("--delay-ms", type=float, default=60.0, help="one-way propagation delay [ms] (default 60)")
    p.add_argument("--jitter-ms", type=float, default=20.0, help="mean extra random delay [ms] (default 20)")
    p.add_argument("--jitter-dist", default="normal", choices=["uniform", "normal", "pareto"],
                   help="shape of the random delay (default normal: half-normal)")
    p.add_argument("--no-reorder", action="store_true", help="the path keeps packets in order")
    p.add_argument("--loss", type=float, default=0.0, help="packet-loss fraction in [0, 1] (default 0)")
    p.add_argument("--burst-len", type=float, default=1.0,
                   help="mean loss-burst length in packets; 1 = independent losses (default 1)")
    p.add_argument("--buffer", default="fixed:80",
                   help="playout buffer: fixed:MS (hold the first packet MS ms) or adaptive (chapter 07's "
                        "d + 4v estimator); decides which packets count as late (default fixed:80)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--pcap", default=None, help="write the receiver's capture to this pcap file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cli import emit
    from rtlib.rtp.call import simulate_call

    if args.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {args.seed}")
    r = simulate_call(codec=args.codec, seconds=args.seconds, delay_ms=args.delay_ms, jitter_ms=args.jitter_ms,
                      jitter_dist=args.jitter_dist, reorder=not args.no_reorder, loss=args.loss,
                      burst_len=args.burst_len, buffer=args.buffer, seed=args.seed, pcap=args.pcap)
    out = r.to_dict()
    text = "\n".join([
        f"call: {args.codec.upper()} for {args.seconds:g} s, SSRC 0x{r.ssrc:08X}; path {args.delay_ms:g} ms "
        f"+ {args.jitter_ms:g} ms {args.jitter_dist} jitter, loss {args.loss:.1%}"
        f"{f' (bursts of {args.burst_len:g})' if args.burst_len > 1 else ''}",
        f"  sent        {r.sent:6d} RTP packets",
        f"  received    {r.received:6d}",
        f"  lost        {r.lost:6d}   (RFC 3550: expected {r.expected} - received; {r.path_lost} dropped on the path)",
        f"  duplicated  {r.duplicated:6d}",
        f"  late        {r.late:6d}   (after their playout time, buffer {args.buffer}; "
        f"playout delay {r.playout_delay_ms:.1f} ms)",
        f"  jitter      {r.jitter_ms:8.2f} ms (RFC 3550 A.8 estimate at the end)",
        f"  one-way delay mean {r.delay_ms_mean:.1f} ms, p95 {r.delay_ms_p95:.1f} ms",
        *([f"  capture: {r.pcap}  (Wireshark: Telephony > RTP > RTP Streams; "
           f"tshark -r {r.pcap} -d udp.port==5004,rtp -q -z rtp,streams)"] if r.pcap else []),
    ])
    emit(out, args.json, text)
    return 0
