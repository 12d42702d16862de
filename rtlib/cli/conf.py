"""``rtlib conf``: bandwidth and CPU of an N-person call through a mesh, an SFU or an MCU.

The closed-form load (:func:`rtlib.conf.topology.load`, RFC 7667 topologies, CPU from
measured codec costs), the N at which a mesh client's uplink saturates, and with
``--simulate SECONDS`` the same call run on the simulator (:mod:`rtlib.conf.call`)
next to it.  Used in: notebooks/10_many_participants.ipynb.
"""

from __future__ import annotations


def _layers(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ValueError(f"--layers-kbps must be comma-separated numbers in kbit/s, e.g. 150,500,1500, "
                         f"got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "conf", help="load of an N-person call: mesh, SFU or MCU (bandwidth per client and server, CPU)",
        description="Per-client uplink/downlink, server ingress/egress and CPU (measured VP8/Opus costs) of an "
                    "N-person call (RFC 7667 topologies); --simulate runs the call on the simulator too.",
    )
    p.add_argument("--topology", required=True, choices=("mesh", "sfu", "mcu"), help="mesh, sfu or mcu")
    p.add_argument("--participants", type=int, required=True, help="N, in [2, 1000] (2-16 with --simulate)")
    p.add_argument("--bitrate-kbps", type=float, required=True,
                   help="video rate per stream [kbit/s]; with --simulcast, what a receiver takes per sender")
    p.add_argument("--simulcast", action="store_true", help="SFU only: senders send every layer of --layers-kbps")
    p.add_argument("--layers-kbps", default="150,500,1500",
                   help="simulcast layers, comma-separated kbit/s (default 150,500,1500)")
    p.add_argument("--audio-kbps", type=float, default=32.0, help="audio rate per stream [kbit/s] (default 32)")
    p.add_argument("--last-n", type=int, default=None, help="SFU/MCU: video of the last N speakers only")
    p.add_argument("--uplink-kbps", type=float, default=10_000.0,
                   help="a home uplink, for the mesh saturation N (default 10000)")
    p.add_argument("--simulate", type=float, default=None, metavar="SECONDS",
                   help="also simulate the call for SECONDS (1-600) and report what it measured")
    p.add_argument("--poor-link-kbps", type=float, default=None,
                   help="with --simulate: the last participant's downlink capacity")
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cli import emit
    from rtlib.conf.topology import load, mesh_saturation_n

    layers = _layers(args.layers_kbps)
    res = load(args.topology, args.participants, args.bitrate_kbps, simulcast=args.simulcast, layers_kbps=layers,
               audio_kbps=args.audio_kbps, last_n=args.last_n)
    sat = mesh_saturation_n(args.uplink_kbps, args.bitrate_kbps, audio_kbps=args.audio_kbps)
    out = {"load": res.to_dict(), "mesh_saturation_n": sat, "uplink_kbps": args.uplink_kbps}
    lines = [
        f"{args.participants}-person call through {args.topology.upper()}, video {args.bitrate_kbps:g} kbit/s"
        f"{' (simulcast ' + '/'.join(f'{x:g}' for x in layers) + ')' if args.simulcast else ''}, "
        f"audio {args.audio_kbps:g} kbit/s",
        f"  client   up {res.client_up_kbps:9.0f} kbit/s   down {res.client_down_kbps:9.0f} kbit/s   "
        f"encodes {res.client_encodes}, decodes {res.client_decodes}, CPU {res.client_cpu_share:.2f} core",
        f"  server   in {res.server_in_kbps:9.0f} kbit/s    out {res.server_out_kbps:9.0f} kbit/s   "
        f"encodes {res.server_encodes}, decodes {res.server_decodes}, CPU {res.server_cpu_cores:.3f} cores",
        f"  a mesh saturates a {args.uplink_kbps:g} kbit/s uplink at N = {sat}",
    ]
    if args.simulate is not None:
        from rtlib.conf.call import simulate

        sim = simulate(args.topology, args.participants, args.simulate, bitrate_kbps=args.bitrate_kbps,
                       simulcast=args.simulcast, layers_kbps=layers, audio_kbps=args.audio_kbps,
                       last_n=args.last_n, poor_link_kbps=args.poor_link_kbps, seed=args.seed)
        out["simulation"] = sim.summary()
        lines.append(f"  simulated {args.simulate:g} s: server in {sim.server['in_kbps']:.0f} kbit/s, "
                     f"out {sim.server['out_kbps']:.0f} kbit/s")
        for row in sim.per_participant:
            layer = "" if row["mean_layer"] is None else f", mean layer {row['mean_layer']:.2f}"
            lines.append(f"    participant {row['participant']}: sent {row['sent_kbps']:.0f} kbit/s, received "
                         f"{row['received_kbps']:.0f} kbit/s{layer}, freeze {row['freeze_s']:.2f} s"
                         f"{' (poor link)' if row['poor_link'] else ''}")
    emit(out, args.json, "\n".join(lines))
    return 0
