"""A call between the kernel's aiortc peer and headless Chromium, set up through the live IM server.

aiortc calls the browser (the page rings; the test clicks Answer), then the browser
calls aiortc back (the test clicks Call; aiortc answers): media flows both ways each
time (frames decoded by aiortc, and ``framesDecoded`` / audio packets in the
browser's own ``getStats()``), the selected candidate pair is 127.0.0.1 on both ends,
and hanging up on either side ends both.  Afterwards no Chromium, chromedriver or IM
server process is left.  Needs Debian's ``chromium`` and ``chromium-driver`` and
``selenium``; skips otherwise.
"""

from __future__ import annotations

import asyncio

import pytest

from rtlib.im.live import ServerProcess, setup_db
from rtlib.signal.browser import HeadlessChromium, find_chromium, pids_mentioning
from rtlib.signal.peer import CallPeer
from rtlib.signal.web import PageServer, page_url

CONV = "alice-bob"
STATS = "const done = arguments[arguments.length - 1]; rtlibStats().then(done)"


def _need_browser():
    if find_chromium() is None:
        pytest.skip("no Chromium, chromedriver or selenium for the browser call test")


async def _browser_stats(br, min_frames: int) -> dict:
    """The browser's getStats() once it has decoded ``min_frames`` video frames (or after 15 s)."""
    for _ in range(150):
        s = await asyncio.to_thread(br.js_async, STATS)
        if (s.get("video") or {}).get("framesDecoded", 0) >= min_frames:
            return s
        await asyncio.sleep(0.1)
    return s


@pytest.mark.timeout(120)
def test_aiortc_calls_the_browser_and_the_browser_calls_back(tmp_path):
    _need_browser()
    db = tmp_path / "chat.sqlite"
    tok = setup_db(db, users=("alice", "bob"), conversations={CONV: ("alice", "bob")})
    results = {}

    async def main(srv, web, br):
        url = page_url(web.url, ws=srv.url, user="bob", token=tok["bob"], peer="alice", conv=CONV)
        await asyncio.to_thread(br.open, url)
        await asyncio.to_thread(br.wait_js, "document.getElementById('me').textContent === 'bob'", 15)
        async with CallPeer(srv.url, "alice", tok["alice"], "bob", CONV, device="kernel") as a:
            # 1. aiortc -> browser; the browser's user answers; aiortc hangs up
            call_id = await a.call()
            await asyncio.to_thread(br.wait_js, "window.rtlibCall.state === 'ringing'", 15)
            await asyncio.to_thread(br.click, "answer")
            await a.wait_state("in_call", timeout_s=20)
            await a.wait_frames(video=10, audio=10)
            results["out"] = {"aiortc_frames": dict(a.frames), "aiortc_stats": await a.stats(),
                              "browser": await _browser_stats(br, 10), "call_id": call_id,
                              "browser_call_id": await asyncio.to_thread(br.js, "return window.rtlibCall.id")}
            await a.hangup()
            results["out"]["browser_end"] = await asyncio.to_thread(
                br.wait_js, "window.rtlibCall.state === 'ended' && window.rtlibCall.reason", 10)
            results["out"]["aiortc_end"] = a.machine.reason
            # 2. browser -> aiortc; aiortc answers; the browser's user hangs up
            a.auto_answer = True
            await asyncio.to_thread(br.click, "call")
            await a.wait_state("in_call", timeout_s=20)
            await a.wait_frames(video=10, audio=10)
            results["back"] = {"aiortc_frames": dict(a.frames), "aiortc_stats": await a.stats(),
                               "browser": await _browser_stats(br, 10), "direction": a.machine.direction}
            await asyncio.to_thread(br.click, "hangup")
            await a.wait_state("ended", timeout_s=10)
            results["back"]["aiortc_end"] = a.machine.reason
            results["back"]["browser_end"] = await asyncio.to_thread(br.js, "return window.rtlibCall.reason")
            results["errors"] = (a.errors, await asyncio.to_thread(br.js, "return window.rtlibCall.errors"))
            results["pc_closed"] = a.pc is None

    srv = ServerProcess(db)
    srv.start()
    br = None
    try:
        with PageServer() as web:
            br = HeadlessChromium()
            asyncio.run(main(srv, web, br))
    finally:
        if br is not None:
            br.close()
        srv.stop()
    leftovers = br.leftovers() + pids_mentioning(str(db))
    br.cleanup()

    out, back = results["out"], results["back"]
    assert out["browser_call_id"] == out["call_id"]
    for leg in (out, back):
        assert leg["aiortc_frames"]["video"] >= 10 and leg["aiortc_frames"]["audio"] >= 10
        assert leg["aiortc_stats"]["video"]["packetsReceived"] > 0
        assert leg["browser"]["video"]["framesDecoded"] >= 10, leg["browser"]
        assert leg["browser"]["audio"]["packetsReceived"] > 0
        pair = leg["browser"]["selectedPair"]
        assert pair["local"].startswith("127.0.0.1:") and pair["remote"].startswith("127.0.0.1:"), pair
    assert (out["aiortc_end"], out["browser_end"]) == ("hangup", "remote_hangup")
    assert back["direction"] == "in" and (back["aiortc_end"], back["browser_end"]) == ("remote_hangup", "hangup")
    assert results["errors"] == ([], []) and results["pc_closed"]
    assert leftovers == [], f"processes left running: {leftovers}"
