"""Measure a call's setup time, part by part, with delay on the IM path and/or impairment on the media path.

:class:`DelayProxy` is a TCP forwarder on 127.0.0.1 that holds every chunk for
``delay_ms`` in each direction (order kept): put it between the peers and the IM
server and every signalling message is late by that much on each hop (device →
server, server → device).  The media path gets its delay from
:class:`rtlib.live.relay.UdpRelay` (chapter 04's impairments).

:func:`measure_call` places one aiortc → aiortc call that the callee answers at once,
waits for the first decoded video frame on the caller's side, hangs up, and returns
:func:`rtlib.signal.peer.setup_breakdown_ms` plus the conditions.

Used in: notebooks/12_live_call.ipynb, benchmarks/bench_call_setup.py.
"""

from __future__ import annotations

import asyncio
import math
import time


class DelayProxy:
    """``proxy = await DelayProxy.start(target_port, delay_ms=100)``; connect to ``proxy.port`` instead.

    ``delay_ms`` may be changed while running (it applies to chunks received after the change).
    """

    def __init__(self, target_port: int, delay_ms: float):
        self.target_port = target_port
        self.delay_ms = delay_ms
        self.port = 0
        self._server = None
        self._tasks: set[asyncio.Task] = set()
        self._writers: list[asyncio.StreamWriter] = []

    @property
    def delay_ms(self) -> float:
        return self._delay_ms

    @delay_ms.setter
    def delay_ms(self, v: float) -> None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v <= 10000:
            raise ValueError(f"delay_ms must be in [0, 10000] ms, got {v!r}")
        self._delay_ms = float(v)

    @classmethod
    async def start(cls, target_port: int, delay_ms: float = 0.0) -> "DelayProxy":
        if isinstance(target_port, bool) or not isinstance(target_port, int) or not 1 <= target_port <= 65535:
            raise ValueError(f"target_port must be an integer in [1, 65535], got {target_port!r}")
        self = cls(target_port, delay_ms)
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, scheme: str = "ws") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_w]
        for src, dst in ((reader, up_w), (up_r, writer)):
            t = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(t)
            t.add_done_callback(self._tasks.discard)

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await queue.get()
                if data is None:
                    break
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                dst.write(data)
                await dst.drain()
            dst.close()

        out = asyncio.create_task(deliver())
        try:
            while data := await src.read(65536):
                queue.put_nowait((loop.time() + self._delay_ms / 1000, data))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            queue.put_nowait((0.0, None))
            try:
                await out
            except (ConnectionError, asyncio.CancelledError):
                pass

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for w in self._writers:
            w.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()


async def measure_call(url: str, tokens: dict, conv: str, *, im_delay_ms: float = 0.0,
                       media_delay_ms: float = 0.0, callee: str = "aiortc", browser=None,
                       hold_s: float = 0.0, timeout_s: float = 30.0) -> dict:
    """One call alice → bob through the IM server at ``url``; the setup time's parts [ms].

    ``im_delay_ms``: one-way delay added on every IM hop (a :class:`DelayProxy` in front
    of the server, for both users); ``media_delay_ms``: one-way delay on the media path,
    both directions (a :class:`UdpRelay` at the caller).  ``callee="browser"`` calls the
    page already open in ``browser`` (a :class:`rtlib.signal.browser.HeadlessChromium`,
    signed in as bob with ``auto=1``) instead of an aiortc peer.  With ``hold_s`` > 0 the
    call stays up that long after the first frame, and ``e2e_delay_p50_ms`` is the median
    glass-to-glass delay of the video the caller received (time codes in the pixels).
    """
    from rtlib.live.impair import Impairment
    from rtlib.live.relay import UdpRelay
    from rtlib.signal.peer import CallPeer, setup_breakdown_ms

    port = int(url.rsplit(":", 1)[1])
    proxy = await DelayProxy.start(port, im_delay_ms)
    relay = None
    if media_delay_ms > 0:
        relay = await UdpRelay.start(Impairment(delay_ms=media_delay_ms), Impairment(delay_ms=media_delay_ms))
    a = CallPeer(proxy.url(), "alice", tokens["alice"], "bob", conv, device="pc", relay=relay)
    b = None
    if callee == "aiortc":
        b = CallPeer(proxy.url(), "bob", tokens["bob"], "alice", conv, device="phone", auto_answer=True)
    try:
        await asyncio.gather(a.start(), *([b.start()] if b is not None else []))
        await a.call()
        await a.wait_state("in_call", timeout_s=timeout_s)
        await a.wait_frames(video=1, audio=0, timeout_s=timeout_s)
        parts = setup_breakdown_ms(a.t, a.machine.marks)
        if hold_s > 0:
            await asyncio.sleep(hold_s)
        e2e = sorted(a.e2e_delay_ms)
        parts["e2e_delay_p50_ms"] = e2e[len(e2e) // 2] if e2e else None
        parts["frames_received"] = a.frames["video"]
        await a.hangup()
        if b is not None:
            await b.wait_state("ended", timeout_s=timeout_s)
        elif browser is not None:
            await asyncio.to_thread(browser.wait_js, "window.rtlibCall.state === 'ended'", timeout_s)
    finally:
        await a.close()
        if b is not None:
            await b.close()
        await proxy.close()
        if relay is not None:
            await relay.close()
    return {"im_delay_ms": im_delay_ms, "media_delay_ms": media_delay_ms, "callee": callee, **parts}


async def measure_im_rtt_ms(url: str, user: str, token: str, conv: str, *, im_delay_ms: float = 0.0,
                            n: int = 5) -> float:
    """Median send → ack time [ms] of ``n`` chat messages through a :class:`DelayProxy` of ``im_delay_ms``.

    One IM round trip as a device sees it: the frame to the server, the commit, the ack back.
    """
    import statistics

    from rtlib.im.live import IMClient

    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
        raise ValueError(f"n must be an integer in [1, 100], got {n!r}")
    port = int(url.rsplit(":", 1)[1])
    proxy = await DelayProxy.start(port, im_delay_ms)
    times = []
    try:
        async with IMClient(proxy.url(), user, token, device="rtt-probe") as c:
            for i in range(n):
                t0 = time.perf_counter()
                await c.send(conv, f"round-trip probe {i + 1} of {n}")
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        await proxy.close()
    return statistics.median(times)


__all__ = ["DelayProxy", "measure_call", "measure_im_rtt_ms"]
