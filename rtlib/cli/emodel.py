"""``rtlib emodel``: the ITU-T G.107 E-model for one call (R, MOS and every term)."""

from __future__ import annotations


def register(sub) -> None:
    from rtlib.quality.emodel import CODECS

    p = sub.add_parser(
        "emodel", help="E-model (ITU-T G.107) quality of a voice call: R, MOS and each impairment term",
        description="R = Ro - Is - Id - Ie,eff + A (ITU-T G.107), codec values from ITU-T G.113 Appendix I. "
                    "Delay is one-way mouth-to-ear; echo travels the same path unless --echo-free.",
    )
    p.add_argument("--delay-ms", type=float, default=0.0, help="one-way mouth-to-ear delay Ta [ms] (default 0)")
    p.add_argument("--loss", type=float, default=0.0, help="packet-loss fraction in [0, 1] (default 0)")
    p.add_argument("--codec", default="g711", help=f"one of {', '.join(CODECS)} (default g711)")
    p.add_argument("--no-plc", action="store_true", help="no packet-loss concealment (G.711 only)")
    p.add_argument("--burst-r", type=float, default=1.0, help="G.107 BurstR: 1 = random loss, >1 bursty (default 1)")
    p.add_argument("--echo-free", action="store_true", help="echo-free connection: only Idd grows with delay")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cli import emit
    from rtlib.quality.emodel import STANDARD, emodel, get_codec, satisfaction

    codec = get_codec(args.codec)
    plc = not args.no_plc
    bpl = codec.bpl(plc)
    res = emodel(args.delay_ms, args.loss, codec, plc=plc, burst_r=args.burst_r, echo=not args.echo_free)
    out = {
        "delay_ms": args.delay_ms, "loss": args.loss, "codec": codec.name, "plc": plc, "burst_r": args.burst_r,
        "echo": not args.echo_free, "Ie": codec.Ie, "Bpl": bpl, **res.to_dict(),
        "satisfaction": satisfaction(res.R), "standard": STANDARD, "codec_source": codec.source,
    }
    text = "\n".join([
        f"E-model ({STANDARD}): {codec.label}, {'with' if plc else 'without'} PLC",
        f"  one-way delay {args.delay_ms:g} ms, loss {args.loss:.2%}, BurstR {args.burst_r:g}"
        f"{', echo-free' if args.echo_free else ''}",
        f"  Ro     = {res.Ro:7.2f}   basic signal-to-noise ratio",
        f"  Is     = {res.Is:7.2f}   simultaneous impairments",
        f"  Id     = {res.Id:7.2f}   delay: Idte {res.Idte:.2f} (talker echo) + Idle {res.Idle:.2f} "
        f"(listener echo) + Idd {res.Idd:.2f} (absolute delay)",
        f"  Ie,eff = {res.Ie_eff:7.2f}   codec Ie {codec.Ie:g} with loss (Bpl {bpl:g})",
        f"  A      = {res.A:7.2f}   advantage factor",
        f"  R      = {res.R:7.2f}   ->  MOS {res.MOS:.2f} ({satisfaction(res.R)})",
    ])
    emit(out, args.json, text)
    return 0
