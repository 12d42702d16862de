"""Call setup over the IM server: how long from "call" to the first decoded video frame, and where it goes.

Real calls on this machine: alice's aiortc peer calls bob, whose device answers at
once; the setup travels as ``call`` messages through the live IM server
(``python -m rtlib im-server`` in its own process, SQLite with ``synchronous=FULL``),
the media (Opus + VP8, DTLS-SRTP) peer to peer on 127.0.0.1.  Each call's setup time
is split into its parts (:func:`rtlib.signal.peer.setup_breakdown_ms`): making the
offer, signalling (offer over IM to the callee, its ``accept`` + ``answer`` back),
ICE connectivity checks, the DTLS handshake and the first decoded video frame.

Conditions: nothing added; 100 ms one-way on every IM hop (a TCP delay proxy in front
of the server, :class:`rtlib.signal.setup_time.DelayProxy`); 50 ms one-way on the
media path both ways (:class:`rtlib.live.relay.UdpRelay`); both.  Then the same with
headless Chromium as the callee (the course's page, answering at once), without and
with the media delay.  Each condition: ``REPEATS`` calls after one warm-up call
(the first call in a process pays for loading the codecs); the median of each part.

Used in: notebooks/12_live_call.ipynb (the section "Calls: setup over IM").
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import Row

REPEATS = 5
CONDITIONS = [(0.0, 0.0), (100.0, 0.0), (0.0, 50.0), (100.0, 50.0)]  # (IM one-way ms, media one-way ms)
PARTS = ("gather_ms", "im_send_ack_ms", "signalling_ms", "ice_ms", "dtls_ms", "first_frame_ms", "total_ms")


def _median_parts(calls: list[dict]) -> dict:
    return {k: statistics.median(c[k] for c in calls) for k in PARTS}


def _row(label: str, m: dict, n: int) -> Row:
    return Row(f"{label}: setup to first video frame (median)", m["total_ms"], "ms", None, False,
               f"median of {n} calls: offer {m['gather_ms']:.0f} ms, signalling over IM {m['signalling_ms']:.0f} ms "
               f"(offer send→ack {m['im_send_ack_ms']:.0f} ms), ICE {m['ice_ms']:.0f} ms, DTLS {m['dtls_ms']:.0f} ms, "
               f"first frame {m['first_frame_ms']:.0f} ms")


async def _aiortc_conditions(url: str, tokens: dict) -> dict:
    from rtlib.signal.setup_time import measure_call

    await measure_call(url, tokens, "ab")  # warm-up
    out = {}
    for im, media in CONDITIONS:
        out[(im, media)] = [await measure_call(url, tokens, "ab", im_delay_ms=im, media_delay_ms=media)
                            for _ in range(REPEATS)]
    return out


async def _browser_conditions(srv_url: str, tokens: dict) -> dict:
    from rtlib.signal.browser import HeadlessChromium, find_chromium
    from rtlib.signal.setup_time import measure_call
    from rtlib.signal.web import PageServer, page_url

    if find_chromium() is None:
        return {}
    out = {}
    with PageServer() as web:
        br = HeadlessChromium()
        try:
            url = page_url(web.url, ws=srv_url, user="bob", token=tokens["bob"], peer="alice", conv="ab2",
                           auto_answer=True)
            await asyncio.to_thread(br.open, url)
            await asyncio.to_thread(br.wait_js, "document.getElementById('me').textContent === 'bob'", 15)
            await measure_call(srv_url, tokens, "ab2", callee="browser", browser=br)  # warm-up
            for media in (0.0, 50.0):
                out[media] = [await measure_call(srv_url, tokens, "ab2", media_delay_ms=media, callee="browser",
                                                 browser=br) for _ in range(REPEATS)]
        finally:
            br.close()
            br.cleanup()
    return out


def run() -> list[Row]:
    from rtlib.im.live import ServerProcess, setup_db

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as d:
        db = Path(d) / "chat.sqlite"
        tokens = setup_db(db, users=("alice", "bob"), conversations={"ab": ("alice", "bob"), "ab2": ("alice", "bob")})
        with ServerProcess(db) as srv:
            res = asyncio.run(_aiortc_conditions(srv.url, tokens))
            browser = asyncio.run(_browser_conditions(srv.url, tokens))
    base = _median_parts(res[(0.0, 0.0)])
    for (im, media), calls in res.items():
        m = _median_parts(calls)
        label = "aiortc → aiortc, " + (", ".join(p for p in (f"IM +{im:g} ms one-way" if im else "",
                                                            f"media +{media:g} ms one-way" if media else "") if p)
                                       or "nothing added")
        rows.append(_row(label, m, len(calls)))
        if im:
            rows.append(Row(f"{label}: signalling − base, per added IM one-way delay", (m["signalling_ms"] -
                            base["signalling_ms"]) / im, "× delay", None, False,
                            "offer device→server→callee, accept+answer callee→server→caller: 4 one-way hops "
                            "expected"))
        if media:
            rows.append(Row(f"{label}: ICE − base, per added media round trip", (m["ice_ms"] - base["ice_ms"]) /
                            (2 * media), "× RTT", None, False, "a connectivity check and its response: 1 RTT expected"))
            rows.append(Row(f"{label}: DTLS − base, per added media round trip", (m["dtls_ms"] - base["dtls_ms"]) /
                            (2 * media), "× RTT", None, False,
                            "DTLS 1.2 full handshake (RFC 6347 4.2): 2 flights each way"))
    for media, calls in browser.items():
        m = _median_parts(calls)
        rows.append(_row("aiortc → Chromium, " + (f"media +{media:g} ms one-way" if media else "nothing added"),
                         m, len(calls)))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
