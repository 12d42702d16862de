"""An aiortc peer that signals its calls through the live IM server: :class:`CallPeer`.

The thin asyncio shell around :class:`~rtlib.signal.machine.CallMachine`: an
:class:`rtlib.im.live.IMClient` carries the ``call`` bodies in a 1:1 conversation, an
aiortc ``RTCPeerConnection`` carries the media (the course's speech clip as Opus and
its time-coded test pattern as VP8, :mod:`rtlib.live.aiortc_call`), and everything the
machine decides is done here.  Media stays on 127.0.0.1: candidates are gathered
inside :func:`rtlib.live.loopback.loopback_candidates` and filtered again in the
bodies, and (:func:`rtlib.live.loopback_checks.loopback_checks_only`) connectivity checks
from any other address (a browser checks from all of its interfaces) go unanswered.  Each side sends its complete SDP (all candidates in it, "vanilla" ICE);
trickled ``candidate`` bodies from the other side are applied too.

With a started :class:`rtlib.live.relay.UdpRelay` the media goes through the
impairment relay: this peer is its side A (``forward`` impairs what this peer sends),
the other peer is told that this peer lives at the relay's ``port_for_b``, and this
peer talks to the relay's ``port_for_a`` (the candidates are rewritten as in
:func:`rtlib.live.aiortc_call.rewrite_candidates`).

:attr:`CallPeer.t` holds the wall-clock time of each step of a call's setup (what
:func:`setup_breakdown_ms` turns into the parts of the setup time).

Used in: notebooks/12_live_call.ipynb, ``python -m rtlib call-demo``, benchmarks/bench_call_setup.py.
"""

from __future__ import annotations

import asyncio
import json
import time

from rtlib.live.aiortc_call import (_luma, _tracks, candidate_ports, read_timecode, rewrite_candidates,
                                    timecode_delay_ms)
from rtlib.live.loopback import LOOPBACK_HOST, loopback_candidates
from rtlib.signal.machine import CONNECTING, ENDED, IN_CALL, RINGING, CallMachine

#: every CallPeer of a process stamps its video with milliseconds since this instant, so two
#: peers in one process read each other's time codes: the glass-to-glass delay, measured
EPOCH_S = time.monotonic()


class CallPeer:
    """One user's device: calls or answers ``peer`` in conversation ``conv`` of the IM server at ``url``.

    >>> async def demo(url, tok_a, tok_b):                                      # doctest: +SKIP
    ...     async with CallPeer(url, "alice", tok_a, "bob", "alice-bob") as a, \\
    ...                CallPeer(url, "bob", tok_b, "alice", "alice-bob", auto_answer=True) as b:
    ...         await a.call()
    ...         await a.wait_state("in_call")
    """

    def __init__(self, url: str, user: str, token: str, peer: str, conv: str, device: str = "py", *,
                 auto_answer: bool = False, relay=None, ring_timeout_s: float = 30.0,
                 connect_timeout_s: float = 15.0, width: int = 320, height: int = 240, fps: float = 15.0):
        self.url, self.user, self.token, self.peer, self.conv, self.device = url, user, token, peer, conv, device
        self.auto_answer = bool(auto_answer)
        self.relay = relay
        self.width, self.height, self.fps = width, height, fps
        self.machine = CallMachine(user, device, peer, ring_timeout_s=ring_timeout_s,
                                   connect_timeout_s=connect_timeout_s)
        self.im = None
        self.pc = None
        self.log: list[dict] = []  # every call body seen or sent: {"t", "dir", "sender", "body"}
        self.t: dict[str, float] = {}  # wall-clock time of each setup step of the current call
        self.frames = {"audio": 0, "video": 0}  # frames decoded from the other side
        self.e2e_delay_ms: list[float] = []  # glass-to-glass delay of each received frame with a time code
        self.errors: list[str] = []
        self.ringing = asyncio.Event()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._media_tasks: list[asyncio.Task] = []
        self._tracks: list = []
        self._local_port: int | None = None
        self._remote_port: int | None = None
        self._closed = False
        self._seen = 0
        self._stack = None

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> "CallPeer":
        from rtlib.im.live import IMClient

        import contextlib

        from rtlib.live.loopback_checks import loopback_checks_only

        self._stack = contextlib.ExitStack()
        self._stack.enter_context(loopback_checks_only())
        self.im = IMClient(self.url, self.user, self.token, device=self.device)
        await self.im.connect()
        self._tasks.append(asyncio.create_task(self._pump()))
        await self._catch_up()
        return self

    async def _catch_up(self, timeout_s: float = 30.0) -> None:
        """Wait until the conversation's stored messages (as of ``auth_ok``) were pulled and handled."""
        opened = [e[1] for e in self.im.events if e[0] == "open"]
        last = opened[-1].get(self.conv, {}).get("last_seq", 0) if opened else 0
        deadline = time.monotonic() + timeout_s
        while (self.im.core.cursor.get(self.conv, 0) < last or self._seen < len(self.im.messages)
               or self._lock.locked()):
            if time.monotonic() > deadline:
                raise asyncio.TimeoutError(f"{self.user}: history of {self.conv} not pulled within {timeout_s} s")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Hang up if in a call, then close the media and the IM connection."""
        if self._closed:
            return
        if self.machine.state not in ("idle", ENDED) and self.im is not None:
            async with self._lock:
                self.machine.hangup(time.time())
                await self._act()
            await asyncio.sleep(0.05)  # let the hangup leave
        self._closed = True
        async with self._lock:  # let the pump finish what it is doing (closing the media, say)
            for t in self._tasks:
                t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_media()
        if self.im is not None:
            await self.im.close()
        if self._stack is not None:
            self._stack.close()

    async def __aenter__(self):
        return await self.start()

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def missed(self) -> list[str]:
        """Call ids of missed calls (an offer pulled after its ring timeout, or not taken)."""
        return self.machine.missed

    @property
    def state(self) -> str:
        return self.machine.state

    async def wait_state(self, *states: str, timeout_s: float = 20.0) -> str:
        """Wait until the machine is in one of ``states``; returns it (TimeoutError names the state it is in)."""
        deadline = time.monotonic() + timeout_s
        while self.machine.state not in states:
            if time.monotonic() > deadline:
                raise asyncio.TimeoutError(f"{self.user}: still {self.machine.state} after {timeout_s} s, "
                                           f"waiting for {' or '.join(states)} (errors: {self.errors})")
            await asyncio.sleep(0.01)
        return self.machine.state

    async def wait_frames(self, video: int = 1, audio: int = 1, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.frames["video"] < video or self.frames["audio"] < audio:
            if time.monotonic() > deadline:
                raise asyncio.TimeoutError(f"{self.user}: only {self.frames} frames after {timeout_s} s")
            await asyncio.sleep(0.02)

    # -- the user's choices -------------------------------------------------------------------
    async def call(self) -> str:
        """Ring ``peer``: make an offer, send it; returns the call id."""
        async with self._lock:
            self.t = {"start": time.time()}
            self.frames = {"audio": 0, "video": 0}
            self.e2e_delay_ms = []
            await self._new_pc()
            with loopback_candidates():
                await self.pc.setLocalDescription(await self.pc.createOffer())
            sdp = self._outgoing_sdp(self.pc.localDescription.sdp)
            self.t["offer_ready"] = time.time()
            call_id = self.machine.call(sdp, time.time())
            await self._act()
            return call_id

    async def answer(self) -> None:
        """Take the ringing call."""
        async with self._lock:
            await self._answer()

    async def reject(self) -> None:
        async with self._lock:
            self.machine.reject(time.time())
            await self._act()

    async def hangup(self) -> None:
        async with self._lock:
            self.machine.hangup(time.time())
            await self._act()

    async def stats(self) -> dict:
        """Inbound counters from aiortc's ``getStats()``: packets received and lost per kind."""
        out = {}
        if self.pc is None:
            return out
        report = await self.pc.getStats()
        for s in report.values():
            if s.type == "inbound-rtp":
                out[s.kind] = {"packetsReceived": s.packetsReceived, "packetsLost": s.packetsLost}
        return out

    # -- plumbing ---------------------------------------------------------------------------------
    async def _answer(self) -> None:
        m = self.machine
        if m.state != RINGING or m.direction != "in":
            raise RuntimeError(f"{self.user}: nothing to answer (state {m.state})")
        self.t.setdefault("start", time.time())
        self.frames = {"audio": 0, "video": 0}
        await self._new_pc()
        from aiortc import RTCSessionDescription

        with loopback_candidates():
            await self.pc.setRemoteDescription(RTCSessionDescription(self._incoming_sdp(m.offer_sdp), "offer"))
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        sdp = self._outgoing_sdp(self.pc.localDescription.sdp)
        self.t["answer_ready"] = time.time()
        m.accept(sdp, time.time())
        await self._act()

    def _outgoing_sdp(self, sdp: str) -> str:
        ports = candidate_ports(sdp)
        self._local_port = ports[0] if ports else None
        if self.relay is None:
            return sdp
        self._connect_relay()
        return rewrite_candidates(sdp, self.relay.port_for_b)

    def _incoming_sdp(self, sdp: str) -> str:
        ports = candidate_ports(sdp)
        self._remote_port = ports[0] if ports else None
        if self.relay is None:
            return sdp
        self._connect_relay()
        return rewrite_candidates(sdp, self.relay.port_for_a)

    def _connect_relay(self) -> None:
        if self._local_port and self._remote_port:
            self.relay.connect((LOOPBACK_HOST, self._local_port), (LOOPBACK_HOST, self._remote_port))

    async def _new_pc(self) -> None:
        from aiortc import RTCConfiguration, RTCPeerConnection
        from aiortc.rtcconfiguration import RTCBundlePolicy

        await self._close_media()
        self._local_port = self._remote_port = None
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.pc = pc
        SpeechTrack, TimecodeVideoTrack = _tracks()
        clock = time.monotonic
        self._tracks = [SpeechTrack(clock), TimecodeVideoTrack(clock, EPOCH_S, self.width, self.height, self.fps)]
        for track in self._tracks:
            pc.addTransceiver(track, direction="sendrecv")

        @pc.on("track")
        def _on_track(track):
            self._media_tasks.append(asyncio.ensure_future(self._consume(track)))

        @pc.on("iceconnectionstatechange")
        async def _ice():
            if pc is self.pc:
                self.t.setdefault(f"ice_{pc.iceConnectionState}", time.time())

        @pc.on("connectionstatechange")
        async def _conn():
            if pc is not self.pc:
                return
            state = pc.connectionState
            self.t.setdefault(f"pc_{state}", time.time())
            if state in ("connected", "failed"):
                async with self._lock:
                    if state == "connected":
                        self.machine.media_connected(time.time())
                    else:
                        self.machine.media_failed(time.time())
                    await self._act()

    async def _consume(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except (MediaStreamError, asyncio.CancelledError):
                return
            except Exception as exc:  # a decoder error must not kill the peer
                self.errors.append(f"{track.kind} receive: {exc!r}")
                return
            if self.frames[track.kind] == 0:
                self.t[f"first_{track.kind}"] = time.time()
            self.frames[track.kind] += 1
            if track.kind == "video":
                code = read_timecode(_luma(frame))
                if code is not None:  # a peer of this process (a browser's fake camera has no time code)
                    self.e2e_delay_ms.append(timecode_delay_ms((time.monotonic() - EPOCH_S) * 1000, code))

    async def _close_media(self) -> None:
        for t in self._media_tasks:
            t.cancel()
        if self._media_tasks:
            await asyncio.gather(*self._media_tasks, return_exceptions=True)
        self._media_tasks = []
        for tr in self._tracks:
            tr.stop()
        self._tracks = []
        if self.pc is not None:
            pc, self.pc = self.pc, None
            # shielded: cancelling the task that closes must not cancel aiortc's own "closed" future
            # (another close() may be awaiting it; a cancelled one makes aiortc's set_result fail)
            await asyncio.shield(pc.close())

    async def _pump(self) -> None:
        """Feed the conversation's messages, in order, to the machine; run its timer."""
        im = self.im
        while not self._closed:
            try:
                await im.wait_for(lambda c: len(c.messages) > self._seen, timeout_s=0.1)
            except asyncio.TimeoutError:
                pass
            async with self._lock:
                while self._seen < len(im.messages):
                    msg = im.messages[self._seen]
                    self._seen += 1
                    if msg["conv"] != self.conv:
                        continue
                    self._note("in", msg["sender"], msg["body"], msg.get("ts"))
                    self.machine.on_message(msg["sender"], msg["body"], msg.get("ts") or time.time(), time.time())
                    await self._act()
                self.machine.on_timer(time.time())
                await self._act()

    def _note(self, direction: str, sender: str, body: str, ts=None) -> None:
        try:
            obj = json.loads(body)
        except ValueError:
            return
        if isinstance(obj, dict) and "call" in obj:
            self.log.append({"t": time.time(), "dir": direction, "sender": sender, "ts": ts, "body": obj})

    async def _act(self) -> None:
        """Do what the machine asked (called with the lock held)."""
        from aiortc import RTCSessionDescription
        from aiortc.sdp import candidate_from_sdp

        m = self.machine
        for a in m.take_actions():
            kind = a[0]
            if kind == "send":
                self._note("out", self.user, a[1])
                await self.im.send(self.conv, a[1], wait=False)
            elif kind == "ring":
                self.t = {"start": time.time(), "offer_received": time.time()}
                self.e2e_delay_ms = []
                self.ringing.set()
                if a[3] or self.auto_answer:
                    await self._answer()
            elif kind == "stop_ring":
                self.ringing.clear()
            elif kind == "remote_ringing":
                self.t.setdefault("remote_ringing", time.time())
            elif kind == "remote_sdp":
                self.t["answer_received"] = time.time()
                if self.pc is not None:
                    with loopback_candidates():
                        await self.pc.setRemoteDescription(RTCSessionDescription(self._incoming_sdp(a[2]), a[1]))
            elif kind == "add_candidate":
                if self.pc is not None and self.relay is None:
                    cand = candidate_from_sdp(a[1].split(":", 1)[1])
                    cand.sdpMid = "0"
                    await self.pc.addIceCandidate(cand)
            elif kind == "glare_lost":
                await self._close_media()
            elif kind == "ended":
                self.ringing.clear()
                self.t["ended"] = time.time()
                await self._close_media()
            elif kind == "bad_body":
                self.errors.append(a[1])


def setup_breakdown_ms(caller_t: dict, caller_marks: dict) -> dict:
    """The caller's setup time split into its parts [ms], from :attr:`CallPeer.t` and the machine's marks.

    - ``gather_ms``: making the offer (codecs, ICE gathering of the 127.0.0.1 candidate);
    - ``ring_ms``: offer sent → the callee's ``ring`` arrives (what the caller hears as "ringing");
    - ``im_send_ack_ms``: the offer's send → ack (one IM round trip, with the database commit);
    - ``signalling_ms``: offer sent → answer applied (the offer's trip to the callee over IM, the
      callee's answer made, and ``accept`` + ``answer`` back over IM);
    - ``ice_ms``: answer applied → ICE connectivity checks completed (RFC 8445 section 7);
    - ``dtls_ms``: ICE completed → DTLS handshake done (RFC 5763/5764: the peer connection is connected);
    - ``first_frame_ms``: connected → the first video frame decoded from the other side;
    - ``total_ms``: the user pressed "call" → the first video frame.
    """
    t, m = caller_t, caller_marks

    def d(a, b):
        return (b - a) * 1000 if a is not None and b is not None else None

    ice_done = t.get("ice_completed") or t.get("ice_connected")
    return {
        "gather_ms": d(t.get("start"), t.get("offer_ready")),
        "ring_ms": d(m.get("offer_sent"), m.get("remote_ringing")),
        "im_send_ack_ms": d(m.get("offer_sent"), m.get("offer_stored")),
        "signalling_ms": d(m.get("offer_sent"), t.get("answer_received")),
        "ice_ms": d(t.get("answer_received"), ice_done),
        "dtls_ms": d(ice_done, t.get("pc_connected")),
        "first_frame_ms": d(t.get("pc_connected"), t.get("first_video")),
        "total_ms": d(t.get("start"), t.get("first_video")),
    }


__all__ = ["CallPeer", "setup_breakdown_ms"]
