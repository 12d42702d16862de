"""``rtlib edge``: mouth-to-ear delay of a conference through one central server or nearest edges.

Participants are city names from ``data/geo/cities.csv``; the central deployment puts one
SFU in ``--server`` (default Washington, D.C., i.e. US East), the edge deployment places
``--k`` edge sites for these participants (exact k-center search, or ``--edges`` to name
them) and joins them by an overlay-routed backbone (:mod:`rtlib.conf.edge`).
Used in: notebooks/11_edge_latency.ipynb.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "edge", help="global latency of a call: central server vs nearest edges with a backbone",
        description="Mouth-to-ear delay of every pair of participants (chapter 01's budget plus the modelled "
                    "path) through one central server or through nearest edge servers joined by a backbone, "
                    "and the share of pairs within G.114's 150 and 400 ms.",
    )
    p.add_argument("--participants", required=True,
                   help='comma-separated city names, e.g. "Shanghai,São Paulo,Berlin" (at least 2)')
    p.add_argument("--deployment", required=True, choices=("central", "edge"), help="central or edge")
    p.add_argument("--k", type=int, default=3,
                   help="edge: number of edge sites to place, 1-6 (default 3; exact search up to 3 million "
                        "combinations of the 66 candidate cities, greedy beyond)")
    p.add_argument("--edges", default=None, help="edge: comma-separated edge cities instead of placing --k")
    p.add_argument("--server", default=None, help="central: the server's city (default Washington, D.C.)")
    p.add_argument("--access", default="fibre", help="access type of every participant: fibre, cable, wifi, "
                                                     "4g, 5g (default fibre)")
    p.add_argument("--objective", default="max", choices=("max", "p95"),
                   help="edge placement: minimise the worst or the 95th-percentile access delay (default max)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cli import emit
    from rtlib.conf import edge as E

    people = E.participants(args.participants, access=args.access)
    if args.deployment == "central":
        if args.edges is not None:
            raise ValueError("--edges applies to --deployment edge only")
        res = E.central_call(people, server=args.server or E.DEFAULT_CENTRAL)
        placement = None
    else:
        if args.server is not None:
            raise ValueError("--server applies to --deployment central only")
        if args.edges is not None:
            sites = [s.strip() for s in args.edges.split(",") if s.strip()]
            placement = None
        else:
            if not 1 <= args.k <= 6:
                raise ValueError(f"--k must be in [1, 6] (edge sites to place), got {args.k}")
            placement = E.place_edges(people, args.k, objective=args.objective)
            sites = placement.sites
        res = E.edge_call(people, sites)
    out = res.to_dict()
    if placement is not None:
        out["placement"] = placement.to_dict()
    if args.deployment == "central":
        where = "server " + next(iter(res.server_of.values()))
    else:
        where = "edges " + ", ".join(sorted(set(res.server_of.values())))
    lines = [f"{len(people)} participants, {args.deployment} deployment ({where})"]
    for pr in res.pairs:
        lines.append(f"  {pr.a:>18} -> {pr.b:<18} network {pr.network_one_way_ms:6.1f} ms   mouth-to-ear "
                     f"{pr.mouth_to_ear_ms:6.1f} ms   via {' > '.join(pr.path[1:-1])}")
    lines.append(f"  pairs within 150 ms: {100 * out['share_within_150_ms']:.0f} %, within 400 ms: "
                 f"{100 * out['share_within_400_ms']:.0f} %; worst {out['worst_mouth_to_ear_ms']:.0f} ms")
    emit(out, args.json, "\n".join(lines))
    return 0
