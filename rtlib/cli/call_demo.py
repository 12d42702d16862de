"""``rtlib call-demo``: the IM server, the call page and an aiortc peer, on 127.0.0.1; prints the URLs to open.

Used in: notebooks/12_live_call.ipynb (the same setup from the command line).
"""

from __future__ import annotations

import math


def register(sub) -> None:
    p = sub.add_parser(
        "call-demo", help="call setup over the IM server, media over WebRTC: open the printed URL in a browser",
        description="Starts, on 127.0.0.1 only: the course's IM server (a fresh database with users alice and "
                    "bob and their 1:1 conversation alice-bob), a small web server for the call page "
                    "(plain JavaScript shipped with rtlib), and, unless --peer none, an aiortc peer signed in as "
                    "alice (device 'kernel') that answers every call at once. Prints one page URL per user: open "
                    "bob's in Chromium or Firefox and press Call (alice's aiortc peer answers), or open both in two "
                    "tabs and call from one to the other. The call's setup (offer, ring, accept, answer, hangup) "
                    "travels as IM messages through the server (rtlib/im/PROTOCOL.md, 'Calls: signalling over "
                    "IM'); the media goes peer to peer on 127.0.0.1. Stop with Ctrl-C, or give --seconds.",
    )
    p.add_argument("--db", default=None, help="the IM server's SQLite file (default: a new temporary file)")
    p.add_argument("--web-port", type=int, default=0, help="the page's HTTP port on 127.0.0.1 (default 0: any free)")
    p.add_argument("--peer", default="aiortc", choices=["aiortc", "none"],
                   help="aiortc: an aiortc peer signs in as alice and answers every call (default); none: "
                        "only the server and the page")
    p.add_argument("--seconds", type=float, default=None,
                   help="stop after this many seconds (default: run until Ctrl-C)")
    p.add_argument("--json", action="store_true", help="print one JSON object (the URLs) instead of text")
    p.set_defaults(func=run)


def run(args) -> int:
    import asyncio
    import contextlib
    import json
    import signal
    import sys
    import tempfile
    from pathlib import Path

    from rtlib.cli import emit
    from rtlib.im.live import ServerProcess, setup_db
    from rtlib.signal.web import PageServer, page_url

    if args.seconds is not None and not (math.isfinite(args.seconds) and 0 < args.seconds <= 86400):
        raise ValueError(f"--seconds must be in (0, 86400], got {args.seconds:g}")
    if not 0 <= args.web_port <= 65535:
        raise ValueError(f"--web-port must be in [0, 65535], got {args.web_port}")
    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="rtlib-call-demo-")
        db = Path(tmp.name) / "chat.sqlite"
    else:
        db = Path(args.db)
        if db.exists():
            raise ValueError(f"--db must name a new file (the demo creates its users), {db} exists")
    conv = "alice-bob"
    tokens = setup_db(db, users=("alice", "bob"), conversations={conv: ("alice", "bob")})
    srv = ServerProcess(db)
    try:
        srv.start()
        with PageServer(port=args.web_port) as web:
            pages = {u: page_url(web.url, ws=srv.url, user=u, token=tokens[u], peer=p, conv=conv, device="browser")
                     for u, p in (("alice", "bob"), ("bob", "alice"))}
            info = {"im_url": srv.url, "page_base": web.url, "pages": pages, "conv": conv, "peer": args.peer}
            text = (f"IM server: {srv.url}\ncall page: {web.url}\n\n"
                    f"Open bob's page and press Call{' (an aiortc peer answers as alice)' if args.peer == 'aiortc' else ''}:\n"
                    f"  {pages['bob']}\nalice's page (a second tab, to call browser to browser):\n  {pages['alice']}\n"
                    f"\nCtrl-C stops everything.")
            emit(info, args.json, text)
            sys.stdout.flush()
            asyncio.run(_serve(srv.url, tokens, conv, args.peer, args.seconds))
    finally:
        srv.stop()
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.cleanup()
    return 0


async def _serve(url: str, tokens: dict, conv: str, peer: str, seconds: float | None) -> None:
    import asyncio
    import signal

    from rtlib.signal.peer import CallPeer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds is not None:
        loop.call_later(seconds, stop.set)
    agent = None
    if peer == "aiortc":
        agent = CallPeer(url, "alice", tokens["alice"], "bob", conv, device="kernel", auto_answer=True)
        await agent.start()
    try:
        await stop.wait()
    finally:
        if agent is not None:
            await agent.close()
