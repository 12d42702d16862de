"""``rtlib im-server``: the live IM server (asyncio + WebSockets + SQLite).

Prints one line when it listens (one JSON object with ``--json``: host, port, db, pid),
then serves until SIGINT/SIGTERM.  ``--port 0`` picks a free port and reports it.
Logs go to stderr.  See rtlib/im/PROTOCOL.md for the frames.
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("im-server", help="run the live IM server (WebSocket, JSON frames, SQLite)")
    p.add_argument("--db", required=True, help="SQLite database file (created if missing)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port; default 8765)")
    p.add_argument("--synchronous", default="FULL", choices=["NORMAL", "FULL", "EXTRA"],
                   help="SQLite synchronous mode: FULL survives power loss, NORMAL only a killed process")
    p.add_argument("--idle-timeout-s", type=float, default=75.0, help="close connections silent this long")
    p.add_argument("--log-level", default="WARNING", help="stderr log level (DEBUG, INFO, WARNING...)")
    p.add_argument("--json", action="store_true", help="print the ready line as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import logging
    import os
    import signal
    import sys

    from rtlib.cli import emit
    from rtlib.im.server import IMServer

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be in [0, 65535], got {args.port}")
    if not 0 < args.idle_timeout_s <= 86400:
        raise ValueError(f"--idle-timeout-s must be in (0, 86400] s, got {args.idle_timeout_s}")
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def main() -> None:
        server = IMServer(args.db, args.host, args.port, synchronous=args.synchronous,
                          idle_timeout_s=args.idle_timeout_s)
        host, port = await server.start()
        emit({"listening": True, "host": host, "port": port, "db": os.path.abspath(args.db), "pid": os.getpid()},
             args.json, f"im-server listening on ws://{host}:{port} (db {args.db}); Ctrl+C to stop")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(main())
    return 0
