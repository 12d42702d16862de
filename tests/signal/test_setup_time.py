"""The IM-path delay proxy: every chunk late by delay_ms each way, order kept; bad delays refused."""

import asyncio
import time

import pytest

from rtlib.signal.peer import setup_breakdown_ms
from rtlib.signal.setup_time import DelayProxy


async def _echo_rtt_ms(delay_ms: float, n: int = 3) -> tuple[list[float], list[bytes]]:
    async def echo(reader, writer):
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxy = await DelayProxy.start(server.sockets[0].getsockname()[1], delay_ms)
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    rtts, got = [], []
    for i in range(n):
        t0 = time.perf_counter()
        writer.write(f"ping {i}\n".encode())
        got.append(await reader.readline())
        rtts.append((time.perf_counter() - t0) * 1000)
    writer.close()
    await proxy.close()
    server.close()
    return rtts, got


def test_the_proxy_delays_each_direction_and_keeps_the_bytes_in_order():
    rtts, got = asyncio.run(_echo_rtt_ms(60.0))
    assert got == [b"ping 0\n", b"ping 1\n", b"ping 2\n"]
    assert all(120.0 <= r < 400.0 for r in rtts), rtts  # 2 x 60 ms, plus scheduling
    fast, _ = asyncio.run(_echo_rtt_ms(0.0))
    assert max(fast) < 60.0, fast


@pytest.mark.parametrize("bad", [-1, float("nan"), 10001, True, "5"])
def test_bad_delays_are_refused(bad):
    with pytest.raises(ValueError, match="delay_ms must be in"):
        DelayProxy(1234, bad)


def test_the_breakdown_adds_up_and_leaves_missing_steps_empty():
    t = {"start": 0.0, "offer_ready": 0.01, "answer_received": 0.11, "ice_completed": 0.14, "pc_connected": 0.15,
         "first_video": 0.25}
    marks = {"offer_sent": 0.01, "offer_stored": 0.03, "remote_ringing": 0.06}
    p = setup_breakdown_ms(t, marks)
    assert p["gather_ms"] + p["signalling_ms"] + p["ice_ms"] + p["dtls_ms"] + p["first_frame_ms"] == pytest.approx(
        p["total_ms"])
    assert p["ring_ms"] == pytest.approx(50) and p["im_send_ack_ms"] == pytest.approx(20)
    assert setup_breakdown_ms({"start": 0.0}, {})["total_ms"] is None
