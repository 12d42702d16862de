"""``rtlib im-chat``: a terminal chat client for the live IM server.

Interactive (type a line to send it; ``/quit`` to leave)::

    rtlib im-chat --url ws://127.0.0.1:8765 --user alice --token TOKEN --conv general

One-shot, for scripts (send, wait for the acks, print them, exit)::

    rtlib im-chat ... --send "hello" --send "are you there?" --json

Listen for a while and print what arrives (and the history since ``--since``)::

    rtlib im-chat ... --listen-s 5 --json

It reconnects by itself, resends what was not acked, and shows each message once,
in order: the same sans-IO client as the simulator (rtlib.im.client).
"""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("im-chat", help="terminal chat client for the live IM server")
    p.add_argument("--url", default="ws://127.0.0.1:8765",
                   help="server URL (default ws://127.0.0.1:8765); a cluster's gateways comma-separated "
                        "(ws://A,ws://B): when the connection breaks, the next one is tried")
    p.add_argument("--user", required=True)
    p.add_argument("--token", required=True, help="the token printed by `rtlib im-admin add-user`")
    p.add_argument("--conv", required=True, help="conversation to chat in")
    p.add_argument("--device", default="terminal", help="device name (default terminal)")
    p.add_argument("--send", action="append", default=[], metavar="TEXT",
                   help="send TEXT and exit once acked (repeatable); no interactive prompt")
    p.add_argument("--listen-s", type=float, default=None,
                   help="print incoming messages for this many seconds, then exit (no prompt)")
    p.add_argument("--json", action="store_true", help="non-interactive modes: print one JSON object at exit")
    p.set_defaults(func=run)


def _line(m: dict) -> str:
    mark = " ✓" if m.get("own") else ""
    return f"[{m['conv']} #{m['seq']}] {m['sender']}: {m['body']}{mark}"


def run(args) -> int:
    import asyncio
    import sys

    from rtlib.cli import emit
    from rtlib.im.live import IMClient

    if args.listen_s is not None and not 0 <= args.listen_s <= 86400:
        raise ValueError(f"--listen-s must be in [0, 86400] s, got {args.listen_s}")
    urls = [u.strip() for u in args.url.split(",") if u.strip()]
    if not urls or not all(u.startswith(("ws://", "wss://")) for u in urls):
        raise ValueError(f"--url must be ws:// or wss:// URLs (comma-separated for a cluster), got {args.url!r}")

    async def batch() -> dict:
        async with IMClient(urls, args.user, args.token, args.device) as client:
            acks = [await client.send(args.conv, text) for text in args.send]
            if args.listen_s:
                await asyncio.sleep(args.listen_s)
            else:
                await asyncio.sleep(0.2)  # let the history pulled at login arrive
            msgs = [m for m in client.messages if m["conv"] == args.conv]
            return {"acks": acks, "messages": [{k: m.get(k) for k in ("conv", "seq", "sender", "cid", "body")}
                                               for m in msgs]}

    async def interactive() -> None:
        loop = asyncio.get_running_loop()
        async with IMClient(urls, args.user, args.token, args.device) as client:
            print(f"connected to {client.url} as {args.user}; type to send to {args.conv}, /quit to leave")
            shown = 0

            async def printer():
                nonlocal shown
                while True:
                    await client.wait_for(lambda c: len(c.messages) > shown, timeout_s=3600)
                    for m in client.messages[shown:]:
                        if m["conv"] == args.conv:
                            print(_line(m), flush=True)
                    shown = len(client.messages)

            task = asyncio.create_task(printer())
            try:
                while True:
                    text = await loop.run_in_executor(None, sys.stdin.readline)
                    if not text or text.strip() == "/quit":
                        break
                    if text.strip():
                        await client.send(args.conv, text.rstrip("\n"), wait=False)
            finally:
                task.cancel()

    try:
        if args.send or args.listen_s is not None:
            result = asyncio.run(batch())
            lines = [f"acked {a['cid']} as #{a['seq']}" for a in result["acks"]] + [_line(m) for m in result["messages"]]
            emit(result, args.json, "\n".join(lines))
        else:
            asyncio.run(interactive())
    except (ConnectionError, OSError, RuntimeError, asyncio.TimeoutError) as exc:
        print(f"rtlib im-chat: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
