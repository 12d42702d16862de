"""``rtlib im-server``: the live IM server (asyncio + WebSockets + SQLite).

Prints one line when it listens (one JSON object with ``--json``: host, port, db, pid,
and gateway/bus in a cluster), then serves until SIGINT/SIGTERM.  ``--store
postgresql://…`` stores in PostgreSQL; adding ``--bus redis://…`` makes this process
one gateway of a cluster (several of them, one service: see rtlib/im/cluster.py).  ``--port 0`` picks a free port and reports it.
Logs go to stderr.  See rtlib/im/PROTOCOL.md for the frames.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("im-server", help="run the live IM server (WebSocket, JSON frames, SQLite or PostgreSQL)",
                       description="Run one IM server.  Alone: --db chat.sqlite.  As one gateway of a cluster: "
                                   "--store postgresql://USER@HOST:PORT/DB --bus redis://HOST:PORT/0, started once "
                                   "per gateway (python -m rtlib im-cluster does that for you).")
    p.add_argument("--db", "--store", dest="db", required=True,
                   help="SQLite database file (created if missing), or a postgresql:// URL (tables created if missing)")
    p.add_argument("--bus", default=None,
                   help="redis:// URL of the cluster's bus (presence + cross-gateway delivery); needs a postgresql "
                        "store")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port; default 8765)")
    p.add_argument("--synchronous", default="FULL", choices=["NORMAL", "FULL", "EXTRA"],
                   help="SQLite synchronous mode: FULL survives power loss, NORMAL only a killed process")
    p.add_argument("--idle-timeout-s", type=float, default=75.0, help="close connections silent this long")
    p.add_argument("--send-rate-per-s", type=float, default=None,
                   help="sends per second per user, sustained (default: the protocol's, see PROTOCOL.md)")
    p.add_argument("--send-burst", type=int, default=None, help="sends per user at once (default: the protocol's)")
    p.add_argument("--frame-rate-per-s", type=float, default=None,
                   help="frames read per second from one connection, sustained; burst twice that (default: the "
                        "protocol's)")
    p.add_argument("--max-out-kib", type=int, default=None,
                   help="a connection's outgoing queue bound in KiB before it is closed as a slow reader")
    p.add_argument("--log-level", default="WARNING", help="stderr log level (DEBUG, INFO, WARNING...)")
    p.add_argument("--json", action="store_true", help="print the ready line as one JSON object")
    p.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="stop when standard input closes (a parent that started this server died)")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import logging
    import os
    import signal
    import sys

    from rtlib.cli import emit
    from rtlib.im.pgstore import is_postgres_url
    from rtlib.im.server import IMServer

    if args.bus is not None and not args.bus.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"--bus must be a redis:// URL, got {args.bus!r}")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {args.port}")
    if not 0 < args.idle_timeout_s <= 86400:
        raise ValueError(f"--idle-timeout-s must be in (0, 86400] s, got {args.idle_timeout_s}")
    from rtlib.im import protocol as P

    rate = P.SEND_RATE_PER_S if args.send_rate_per_s is None else args.send_rate_per_s
    burst = P.SEND_BURST if args.send_burst is None else args.send_burst
    if not 0 < rate <= 1e6:
        raise ValueError(f"--send-rate-per-s must be in (0, 1e6] per second, got {rate}")
    if not 1 <= burst <= 10**6:
        raise ValueError(f"--send-burst must be an integer in [1, 1000000], got {burst}")
    frame = (P.FRAME_RATE_PER_S, P.FRAME_BURST) if args.frame_rate_per_s is None else (
        args.frame_rate_per_s, int(2 * args.frame_rate_per_s))
    if not 1 <= frame[0] <= 1e6:
        raise ValueError(f"--frame-rate-per-s must be in [1, 1e6] per second, got {frame[0]}")
    out_kib = P.MAX_OUT_QUEUE_BYTES // 1024 if args.max_out_kib is None else args.max_out_kib
    if not 16 <= out_kib <= 1024 * 1024:
        raise ValueError(f"--max-out-kib must be in [16, 1048576] KiB, got {out_kib}")
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        server = IMServer(args.db, args.host, args.port, synchronous=args.synchronous,
                          idle_timeout_s=args.idle_timeout_s, send_limit=(rate, burst), frame_limit=frame,
                          max_out_bytes=out_kib * 1024, bus=args.bus)
        host, port = await server.start()
        db = args.db if is_postgres_url(args.db) else os.path.abspath(args.db)
        info = {"listening": True, "host": host, "port": port, "db": db, "pid": os.getpid()}
        if server.bus is not None:
            info.update(gateway=server.bus.id, bus=args.bus)
        emit(info, args.json, f"im-server listening on ws://{host}:{port} (db {args.db}"
                              + (f", gateway {server.bus.id} on {args.bus}" if server.bus else "") + "); Ctrl+C to stop")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if args.exit_on_stdin_eof:
            fd = sys.stdin.fileno()

            def on_stdin():
                if not os.read(fd, 4096):
                    loop.remove_reader(fd)
                    stop.set()

            loop.add_reader(fd, on_stdin)
        await stop.wait()
        await server.stop()

    asyncio.run(main())
    return 0
