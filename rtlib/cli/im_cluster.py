"""``rtlib im-cluster``: a local IM cluster: N gateways, one Redis, one PostgreSQL.

    python -m rtlib im-cluster --gateways 3
    python -m rtlib im-cluster --gateways 2 --store postgresql://im@127.0.0.1:5432/chat --bus redis://127.0.0.1:6379/0

Starts Redis and a throwaway PostgreSQL in temporary folders (unless ``--bus`` /
``--store`` name running ones), creates ``--users`` users and one group conversation
``general`` with all of them (``--users 0``: none), starts the gateways
(``im-server --store … --bus …``), prints every address and the users' tokens, and runs
until Ctrl-C (SIGINT) or SIGTERM, which stops every process it started.  Killed outright
(``kill -9``), it leaves nothing behind either: the gateways stop when their stdin closes,
and a watchdog (rtlib/im/watchdog.py) stops Redis and PostgreSQL and deletes their
folders.  Connect with
``python -m rtlib im-chat --url ws://… --user u0 --token …`` to any gateway.
See rtlib/im/cluster.py for how the gateways cooperate.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("im-cluster", help="start a local IM cluster (N gateways, Redis, PostgreSQL); Ctrl-C stops it",
                       description="Start N IM gateways sharing one PostgreSQL store and one Redis bus, on 127.0.0.1. "
                                   "Redis and PostgreSQL are started in temp folders unless --bus/--store are given. "
                                   "Prints the addresses (and tokens of demo users), then runs until Ctrl-C, which "
                                   "stops every process it started; if it is killed (kill -9), the gateways stop "
                                   "on their own and a watchdog process stops Redis and PostgreSQL.")
    p.add_argument("--gateways", type=int, default=3, help="how many gateway processes, 1-32 (default 3)")
    p.add_argument("--store", default=None, help="postgresql:// URL of a running database (default: start one)")
    p.add_argument("--bus", default=None, help="redis:// URL of a running Redis (default: start one)")
    p.add_argument("--users", type=int, default=3,
                   help="demo users u0..uN-1 to create, in one conversation 'general' (default 3; 0 = none)")
    p.add_argument("--log-dir", default=None, help="folder for the gateways' logs (default: discard them)")
    p.add_argument("--json", action="store_true", help="print the addresses as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    import signal
    import sys
    import threading

    from rtlib.cli import emit
    from rtlib.im.local_cluster import LocalCluster

    if not 0 <= args.users <= 1000:
        raise ValueError(f"--users must be in [0, 1000], got {args.users}")
    cl = LocalCluster(args.gateways, store=args.store, bus=args.bus, log_dir=args.log_dir)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        cl.start_engines()
        tokens = {}
        if args.users:
            users = [f"u{i}" for i in range(args.users)]
            tokens = cl.setup(users, {"general": users})
        urls = cl.start()
        info = {"gateways": urls, "store": cl.store, "bus": cl.bus, "pids": cl.pids(), "tokens": tokens}
        lines = [f"gateway {i}: {u}" for i, u in enumerate(urls)] + [f"store: {cl.store}", f"bus: {cl.bus}"]
        lines += [f"user {u} token {t}" for u, t in tokens.items()]
        lines.append("Ctrl-C stops every process above")
        emit(info, args.json, "\n".join(lines))
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        cl.stop()
    return 0
