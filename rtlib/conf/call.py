"""An N-person call on the simulator, through a mesh, an SFU or an MCU (RFC 7667).

:class:`ConfCall` wires, on one :class:`rtlib.sim.EventLoop`:

    participant i: video sender (1 or 3 simulcast layers, real RTP/VP8 framing) + audio sender
        -> uplink Path i (rtlib.net: capacity, delay) -> [ server: Sfu | MCU model | none (mesh) ]
        -> downlink Path j -> receiver j (per incoming stream: RTP stats, frames, NACK, PLI, RR)
           ^ RTCP back over uplink Path j (feedback crosses the receiver's uplink)

Every media packet is real RTP bytes (RFC 3550 header, RFC 7741 VP8 payload
descriptor, RFC 6464 audio level on audio); the *video payload* is a model (frame
sizes from the target rate, keyframes three times an inter frame), not libvpx output,
so a 60 s call simulates in seconds; :mod:`rtlib.conf.mcu` runs the real codecs on
real pictures and samples.  The SFU is the real :class:`rtlib.conf.sfu.Sfu`.  Each
receiver's downlink bandwidth estimate is :class:`rtlib.cc.oracle.LaggedOracle`
(the link's capacity one round trip late, times 0.85): the yardstick of
notebooks/08, standing in for a GCC per downlink so the layer choice, not the
estimator, is what this chapter studies.

The MCU here is a packet-level model (it receives everything, sends one composite
stream and one mix-minus audio stream per receiver at the call's bitrate); its CPU
comes from the measured costs of :mod:`rtlib.conf.topology`.  In the mesh, each
copy crosses the sender's uplink then the receiver's downlink, and feedback is not
modelled (no NACK/PLI repair): the mesh shows bandwidth, not loss recovery.

:meth:`ConfResult.summary` gives per participant the received layer, bitrate and
freeze time, and the server's load in the same units as
:func:`rtlib.conf.topology.load`, so tests can hold the two against each other.

Used in: notebooks/10_many_participants.ipynb, ``python -m rtlib conf``.
"""

from __future__ import annotations

import gc
import struct
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from rtlib.cc.oracle import LaggedOracle
from rtlib.conf.sfu import PAUSED, Sfu
from rtlib.conf.simulcast import LayerSelector
from rtlib.conf.topology import DEFAULT_AUDIO_KBPS, DEFAULT_LAYERS_KBPS, TOPOLOGIES, check_layers, load
from rtlib.net import Path
from rtlib.rtp.packet import RtpPacket
from rtlib.rtp.rtcp import GenericNack, Pli, ReceiverReport, ReportBlock, parse_rtcp
from rtlib.sim import EventLoop, make_rng

FPS = 30.0
MAX_PAYLOAD_BYTES = 1200
KEYFRAME_FACTOR = 3.0
VIDEO_PT, AUDIO_PT = 96, 111
FREEZE_MIN_S = max(3 / FPS, 1 / FPS + 0.150)  # WebRTC's freeze: gap > max(3 frames, frame + 150 ms)
_HDR = struct.Struct("!BBHII")


@dataclass
class ConfResult:
    """What a :class:`ConfCall` measured."""

    topology: str
    participants: int
    duration_s: float
    per_participant: list[dict]
    server: dict
    calculator: dict
    layer_logs: dict = field(default_factory=dict)    # (receiver, sender) -> [(t_s, layer)]
    budget_logs: dict = field(default_factory=dict)   # receiver -> [(t_s, per-stream estimate kbit/s)]
    captures: dict = field(default_factory=dict)      # (receiver, sender) -> [(arrival_s, bytes)]
    hysteresis_s: float = 0.0

    def summary(self) -> dict:
        return {"topology": self.topology, "participants": self.participants, "duration_s": self.duration_s,
                "per_participant": self.per_participant, "server": self.server, "calculator": self.calculator}


class _Sender:
    """Participant ``i``'s media: video layers (or copies, in a mesh) and audio, as RTP bytes."""

    def __init__(self, call: "ConfCall", i: int):
        self.call, self.i = call, i
        self.layers = call.layers_kbps if call.simulcast else (call.bitrate_kbps,)
        base = 0x10000000 * (i + 1)
        self.video_ssrcs = [base + k for k in range(len(self.layers))]
        self.audio_ssrc = base + 0xA
        rng = make_rng(call.seed, "conf", f"sender-{i}")
        self.seq = [int(x) for x in rng.integers(0, 65536, len(self.layers))]
        self.ts0 = [int(x) for x in rng.integers(0, 2**32, len(self.layers))]
        self.aseq, self.ats0 = int(rng.integers(0, 65536)), int(rng.integers(0, 2**32))
        self.size_noise = rng.uniform(0.8, 1.2, 4096).tolist()
        self.frame = 0
        self.audio_frame = 0
        self.key_wanted = [True] * len(self.layers)
        self.keyframes = 0
        self.sent_payload_bytes = 0

    def video_frame(self, now_s: float) -> list[bytes]:
        out = []
        ts_off = int(round(self.frame * 90_000 / FPS))
        noise = self.size_noise[self.frame % 4096]
        for k, rate in enumerate(self.layers):
            key = self.key_wanted[k]
            self.key_wanted[k] = False
            size = max(int(rate * 1000 / 8 / FPS * noise * (KEYFRAME_FACTOR if key else 1.0)), 20)
            if key:
                self.keyframes += 1
            n = -(-size // MAX_PAYLOAD_BYTES)
            ts = (self.ts0[k] + ts_off) & 0xFFFFFFFF
            for p in range(n):
                chunk = min(MAX_PAYLOAD_BYTES, size - p * MAX_PAYLOAD_BYTES)
                if p == 0:  # VP8 payload descriptor S=1 PID=0, then the payload header's P bit
                    payload = b"\x10" + (b"\x00" if key else b"\x01") + bytes(chunk - 2)
                else:
                    payload = b"\x00" + bytes(chunk - 1)
                hdr = _HDR.pack(0x80, (0x80 if p == n - 1 else 0) | VIDEO_PT, self.seq[k], ts, self.video_ssrcs[k])
                self.seq[k] = (self.seq[k] + 1) & 0xFFFF
                out.append(hdr + payload)
                self.sent_payload_bytes += chunk
        self.frame += 1
        return out

    def audio_packet(self, now_s: float) -> bytes:
        c = self.call
        talking = int(now_s // c.talk_turn_s) % c.n == self.i
        level = -20 if talking else -90
        level = max(level, -127)
        payload = bytes(int(c.audio_kbps * 1000 / 8 * 0.020))
        p = RtpPacket(AUDIO_PT, self.aseq, (self.ats0 + self.audio_frame * 960) & 0xFFFFFFFF, self.audio_ssrc,
                      payload, extensions={1: bytes(((0x80 if talking else 0) | -level,))})
        self.aseq = (self.aseq + 1) & 0xFFFF
        self.audio_frame += 1
        self.sent_payload_bytes += len(payload)
        return bytes(p)

    def on_keyframe_request(self, ssrc: int) -> None:
        if ssrc in self.video_ssrcs:
            self.key_wanted[self.video_ssrcs.index(ssrc)] = True


class _Stream:
    """One incoming video stream at a receiver: frames, decodability, freezes, NACK, PLI."""

    # ``seen``: sequence numbers found missing (NACKed) and not yet received
    __slots__ = ("ssrc", "ext_max", "ext_base", "received", "jitter", "transit", "exp_prior", "rcv_prior", "frames",
                 "next_seq", "renders", "last_pli_s", "max_seq", "payload_bytes",
                 "pending", "stuck_since", "plis", "nacks", "capture", "seen")

    def __init__(self, ssrc: int, capture: bool):
        self.ssrc = ssrc
        # RFC 3550 A.1/A.3/A.8 receiver statistics, inline (a receiver sees ~1000 packets/s)
        self.ext_max = self.ext_base = -1
        self.received = self.exp_prior = self.rcv_prior = 0
        self.jitter = 0.0
        self.transit: float | None = None
        self.frames: dict[int, list] = {}  # ts -> [first_seq, last_seq, key, packets]
        self.pending: dict[int, tuple] = {}  # first_seq -> (last_seq, key)
        self.next_seq: int | None = None  # first seq of the next decodable frame
        self.renders: list[float] = []
        self.last_pli_s = -1e9
        self.max_seq: int | None = None
        self.payload_bytes = 0
        self.stuck_since: float | None = None
        self.plis = self.nacks = 0
        self.capture: list | None = [] if capture else None
        self.seen: set = set()


class _Receiver:
    def __init__(self, call: "ConfCall", j: int):
        self.call, self.j, self.loop = call, j, call.loop
        self.streams: dict[int, _Stream] = {}
        self.audio_payload_bytes = 0
        self.rtcp_ssrc = 0x7000 + j

    def on_datagram(self, data: bytes) -> None:
        now = self.loop.time()
        if 192 <= data[1] <= 223:
            return  # RTCP from the server (its SR): consumed
        b0, b1, seq, ts, ssrc = _HDR.unpack_from(data)
        if b1 & 0x7F == AUDIO_PT:
            self.audio_payload_bytes += len(data) - 12 - 8  # header + the 8-byte level extension
            return
        st = self.streams.get(ssrc)
        if st is None:
            st = self.streams[ssrc] = _Stream(ssrc, self.call.capture)
        if st.capture is not None:
            st.capture.append((now, data))
        st.payload_bytes += len(data) - 12
        # sequence: a new highest number, or an older one we are missing (a retransmission or
        # a reordered packet), or a duplicate (dropped)
        if st.ext_max < 0:
            st.ext_max = st.ext_base = seq
            st.max_seq = seq
        else:
            d = (seq - st.max_seq) & 0xFFFF
            if 0 < d < 0x8000:
                if d > 1:  # a gap -> NACK (RFC 4585 §6.2.1), once per missing packet
                    missing = [(st.max_seq + k) & 0xFFFF for k in range(1, min(d, 1024))]
                    st.seen.update(missing)
                    lost = missing[:64]
                    st.nacks += 1
                    self.call._send_rtcp(self.j, bytes(GenericNack(self.rtcp_ssrc, ssrc, lost)))
                st.max_seq = seq
                st.ext_max += d
            elif seq in st.seen:  # one we missed
                st.seen.discard(seq)
            else:
                return  # a duplicate
        if len(st.seen) > 2048:
            st.seen.clear()  # long gone
        st.received += 1
        transit = now * 90_000.0 - ts
        if st.transit is not None:
            dd = abs(transit - st.transit)
            if dd < 2**31:
                st.jitter += (dd - st.jitter) / 16.0
        st.transit = transit
        # frame assembly: [first seq, last seq, keyframe, packets]
        fr = st.frames.get(ts)
        if fr is None:
            fr = st.frames[ts] = [None, None, False, 0]
        fr[3] += 1
        if data[12] & 0x10:
            fr[0] = seq
            fr[2] = not data[13] & 0x01
        if b1 & 0x80:
            fr[1] = seq
        if fr[0] is not None and fr[1] is not None and fr[3] == ((fr[1] - fr[0]) & 0xFFFF) + 1:
            del st.frames[ts]
            st.pending[fr[0]] = (fr[1], fr[2])
            self._decode(st, now)
            if len(st.frames) > 64:  # forget incomplete frames far behind
                for t in list(st.frames)[:32]:
                    del st.frames[t]

    def _decode(self, st: _Stream, now: float) -> None:
        progressed = True
        while progressed:
            progressed = False
            for first, (last, key) in list(st.pending.items()):
                if key or first == st.next_seq:
                    if key:  # a keyframe resets the chain; older pending frames are useless
                        for f in [f for f in st.pending if (first - f) & 0x8000 == 0 and f != first]:
                            del st.pending[f]
                    st.pending.pop(first, None)
                    st.next_seq = (last + 1) & 0xFFFF
                    st.renders.append(now)
                    st.stuck_since = None
                    progressed = True
                    break
        if st.pending:
            if st.stuck_since is None:
                st.stuck_since = now
            elif now - st.stuck_since > 0.2 and now - st.last_pli_s > 0.5:
                st.last_pli_s = now
                st.plis += 1
                self.call._send_rtcp(self.j, bytes(Pli(self.rtcp_ssrc, st.ssrc)))

    def report(self) -> bytes:
        blocks = []
        for st in list(self.streams.values())[:31]:
            expected = st.ext_max - st.ext_base + 1
            lost = max(min(expected - st.received, 0x7FFFFF), -0x800000)
            e_int, r_int = expected - st.exp_prior, st.received - st.rcv_prior
            st.exp_prior, st.rcv_prior = expected, st.received
            frac = (((e_int - r_int) << 8) // e_int) if e_int > 0 and e_int > r_int else 0
            blocks.append(ReportBlock(st.ssrc, min(frac, 255), lost, st.ext_max & 0xFFFFFFFF,
                                      int(st.jitter) & 0xFFFFFFFF))
        return bytes(ReceiverReport(self.rtcp_ssrc, blocks))


class ConfCall:
    """A simulated N-person call.  See the module docstring.

    Parameters
    ----------
    topology : "mesh", "sfu" or "mcu".
    participants : N in [2, 16].
    duration_s : simulated seconds in [1, 600].
    bitrate_kbps : video rate per stream (without simulcast), as in :func:`rtlib.conf.topology.load`.
    simulcast, layers_kbps : SFU only: three layers per sender (RFC 8853).
    audio_kbps : audio payload rate per sender.
    uplink_kbps, downlink_kbps : every participant's access link.
    poor_link_kbps : if set, participant ``poor_index``'s downlink capacity: kbit/s, or
        ``(t_s, kbit/s)`` rows of a step pattern (a link that degrades mid-call).
    delay_ms : one-way delay of each access link.
    capture : keep every RTP datagram each receiver got (for pcap/tshark tests).
    selector_factory : passed to :class:`rtlib.conf.sfu.Sfu` (a learner's selector).
    start_layer : the layer every SFU leg starts at (default selector only).
    """

    def __init__(self, topology: str = "sfu", participants: int = 6, duration_s: float = 20.0, *,
                 bitrate_kbps: float = 800.0, simulcast: bool = False, layers_kbps=DEFAULT_LAYERS_KBPS,
                 audio_kbps: float = DEFAULT_AUDIO_KBPS, uplink_kbps: float = 20_000.0,
                 downlink_kbps: float = 20_000.0, poor_link_kbps: float | None = None, poor_index: int = -1,
                 delay_ms: float = 20.0, last_n: int | None = None, seed: int = 0, capture: bool = False,
                 selector_factory=None, start_layer: int = 0, talk_turn_s: float = 5.0):
        self.calc = load(topology, participants, bitrate_kbps, simulcast=simulcast, layers_kbps=layers_kbps,
                         audio_kbps=audio_kbps, last_n=last_n)  # validates the shared parameters
        if participants > 16:
            raise ValueError(f"participants must be an integer in [2, 16] for a simulated call, got {participants!r}")
        if not 1 <= duration_s <= 600:
            raise ValueError(f"duration_s must be in [1, 600] s, got {duration_s!r}")
        if audio_kbps < 8:
            raise ValueError(f"audio_kbps must be in [8, 510] kbit/s for a simulated call, got {audio_kbps!r}")
        for name, v in (("uplink_kbps", uplink_kbps), ("downlink_kbps", downlink_kbps)):
            if not 100 <= v <= 1e6:
                raise ValueError(f"{name} must be in [100, 1000000] kbit/s, got {v!r}")
        poor_steps = None
        if poor_link_kbps is not None and not isinstance(poor_link_kbps, (int, float)):
            poor_steps = np.asarray(poor_link_kbps, dtype=float)
            if poor_steps.ndim != 2 or poor_steps.shape[1] != 2 or not (poor_steps[:, 1] >= 100).all():
                raise ValueError("poor_link_kbps must be None, a number in [100, 1000000] kbit/s or (t_s, kbit/s) "
                                 f"rows with rates >= 100, got {poor_link_kbps!r}")
            poor_link_kbps = float(poor_steps[:, 1].min())
        if poor_link_kbps is not None and not 100 <= poor_link_kbps <= 1e6:
            raise ValueError(f"poor_link_kbps must be None or in [100, 1000000] kbit/s, got {poor_link_kbps!r}")
        if not -participants <= poor_index < participants:
            raise ValueError(f"poor_index must be in [{-participants}, {participants - 1}], got {poor_index!r}")
        self.topology, self.n, self.duration_s = topology, int(participants), float(duration_s)
        self.bitrate_kbps, self.simulcast = float(bitrate_kbps), simulcast
        self.layers_kbps = check_layers(layers_kbps)
        self.audio_kbps, self.seed, self.capture = float(audio_kbps), seed, capture
        self.talk_turn_s = talk_turn_s
        self.poor_index = poor_index % participants if poor_link_kbps is not None else None
        self.loop = EventLoop()
        self.senders = [_Sender(self, i) for i in range(self.n)]
        self.receivers = [_Receiver(self, j) for j in range(self.n)]
        down = [poor_link_kbps if (poor_link_kbps is not None and j == self.poor_index) else downlink_kbps
                for j in range(self.n)]
        self.downlink_kbps = [float(x) for x in down]
        down_cap = [d * 1000 for d in down]
        if poor_steps is not None:
            down_cap[self.poor_index] = np.column_stack((poor_steps[:, 0], poor_steps[:, 1] * 1000))
        self.up = [Path(self.loop, delay_ms=delay_ms, capacity_bps=uplink_kbps * 1000, queue_limit_ms=500,
                        seed=seed, stream=f"up-{i}", name=f"up-{i}") for i in range(self.n)]
        self.down = [Path(self.loop, delay_ms=delay_ms, capacity_bps=down_cap[j], queue_limit_ms=500,
                          seed=seed, stream=f"down-{j}", name=f"down-{j}") for j in range(self.n)]
        self.oracles = [LaggedOracle(300e3, 50e3, 1e9, capacity=self.down[j].capacity, margin=0.85, lag_s=0.1)
                        for j in range(self.n)]
        self.sfu = None
        if topology == "sfu":
            if selector_factory is None:
                def selector_factory(layers, _start=start_layer):
                    return LayerSelector(layers, start_layer=min(_start, len(layers) - 1))
            self.sfu = Sfu(layers_kbps=self.layers_kbps, last_n=last_n, selector_factory=selector_factory,
                           audio_kbps=audio_kbps)
            for i, s in enumerate(self.senders):
                self.sfu.add_participant(i, video_ssrcs=s.video_ssrcs, audio_ssrc=s.audio_ssrc)
        self.budget_logs: dict[int, list] = {j: [] for j in range(self.n)}
        self._up_cb = [partial(self._at_server, i) for i in range(self.n)]
        self._down_cb = [self.receivers[j].on_datagram for j in range(self.n)]
        self._rtcp_up_cb = [partial(self._rtcp_at_server, j) for j in range(self.n)]
        self.server_in_payload = self.server_out_payload = 0
        self.mesh_up_payload = [0] * self.n
        self.mcu_seq: dict = {}

    # -- wiring ---------------------------------------------------------------------------
    def _send_up(self, i: int, data: bytes) -> None:
        if self.topology == "mesh":  # one copy per peer, each over i's uplink then j's downlink
            for j in range(self.n):
                if j != i:
                    self.mesh_up_payload[i] += len(data) - 12
                    self.up[i].send(data, len(data) + 28, partial(self._mesh_hop, j, i))
        else:
            self.up[i].send(data, len(data) + 28, self._up_cb[i])

    def _mesh_hop(self, j: int, i: int, data: bytes) -> None:
        # a mesh leg: the copy for peer j crosses i's uplink, then j's downlink (no server)
        self.down[j].send(data, len(data) + 28, self._down_cb[j])

    def _at_server(self, i: int, data: bytes) -> None:
        now = self.loop.time()
        self.server_in_payload += len(data) - 12
        if self.topology == "sfu":
            down, cb = self.down, self._down_cb
            for j, pkt in self.sfu.on_rtp(now, i, data):
                if pkt[1] == 206:  # a merged PLI on its way to a sender
                    self._from_sfu(j, pkt)
                else:
                    self.server_out_payload += len(pkt) - 12
                    down[j].send(pkt, len(pkt) + 28, cb[j])
        # mcu: consumed here; the composite streams leave from _mcu_tick

    def _to_client(self, j: int, pkt: bytes) -> None:
        if not 192 <= pkt[1] <= 223:
            self.server_out_payload += len(pkt) - 12
        self.down[j].send(pkt, len(pkt) + 28, self._down_cb[j])

    def _send_rtcp(self, j: int, data: bytes) -> None:
        if self.topology == "mesh":
            return  # mesh receivers' feedback goes to the peer; the model sends every frame (no loss repair)
        self.up[j].send(data, len(data) + 28, self._rtcp_up_cb[j])

    def _rtcp_at_server(self, j: int, data: bytes) -> None:
        if self.sfu is None:
            return
        now = self.loop.time()
        for dst, pkt in self.sfu.on_rtcp(now, j, data):
            self._from_sfu(dst, pkt)

    def _from_sfu(self, dst: int, pkt: bytes) -> None:
        if 192 <= pkt[1] <= 223:
            if pkt[1] == 206:  # PSFB: a PLI for one of dst's layers crosses dst's downlink
                self.down[dst].send(pkt, len(pkt) + 28, partial(self._pli_at_sender, dst))
            else:
                self.down[dst].send(pkt, len(pkt) + 28, None)
        else:
            self._to_client(dst, pkt)

    def _pli_at_sender(self, i: int, pkt: bytes) -> None:
        for p in parse_rtcp(pkt):
            if isinstance(p, Pli):
                self.senders[i].on_keyframe_request(p.media_ssrc)

    # -- timers ---------------------------------------------------------------------------
    def _frame_tick(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s:
            return
        for i, s in enumerate(self.senders):
            for pkt in s.video_frame(now):
                self._send_up(i, pkt)
        self.loop.call_later(1 / FPS, self._frame_tick)

    def _audio_tick(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s:
            return
        for i, s in enumerate(self.senders):
            self._send_up(i, s.audio_packet(now))
        self.loop.call_later(0.020, self._audio_tick)

    def _estimate_tick(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s:
            return
        for j in range(self.n):
            est_kbps = self.oracles[j].on_packet_results(now, []) / 1000.0
            if self.sfu is not None:
                n_video = sum(1 for lg in self.sfu._legs_by_dst.get(j, ()) if lg.kind == "video" and lg.active)
                n_audio = self.n - 1
                self.budget_logs[j].append((now, max(est_kbps - self.sfu.audio_kbps * n_audio, 0.0) / max(n_video, 1)))
                for dst, pkt in self.sfu.set_estimate(now, j, est_kbps):
                    self._from_sfu(dst, pkt)
        self.loop.call_later(0.1, self._estimate_tick)

    def _sfu_tick(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s + 0.5:
            return
        for dst, pkt in self.sfu.poll(now):
            if dst is not None:
                self._from_sfu(dst, pkt)
        self.loop.call_later(0.05, self._sfu_tick)

    def _rr_tick(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s:
            return
        for j, r in enumerate(self.receivers):
            if r.streams:
                self._send_rtcp(j, r.report())
        self.loop.call_later(1.0, self._rr_tick)

    def _mcu_tick(self) -> None:
        """The MCU's output: per receiver, one composite video frame (and audio, in _mcu_audio)."""
        now = self.loop.time()
        if now >= self.duration_s:
            return
        size = max(int(self.bitrate_kbps * 1000 / 8 / FPS), 20)
        for j in range(self.n):
            seq, ts0 = self.mcu_seq.setdefault(j, [0, 0])
            n = -(-size // MAX_PAYLOAD_BYTES)
            key = self.mcu_frame == 0
            for p in range(n):
                chunk = min(MAX_PAYLOAD_BYTES, size - p * MAX_PAYLOAD_BYTES)
                payload = (b"\x10" + (b"\x00" if key else b"\x01") + bytes(chunk - 2)) if p == 0 \
                    else b"\x00" + bytes(chunk - 1)
                pkt = _HDR.pack(0x80, (0x80 if p == n - 1 else 0) | VIDEO_PT, seq & 0xFFFF,
                                int(self.mcu_frame * 3000) & 0xFFFFFFFF, 0x4D000000 + j) + payload
                seq += 1
                self._to_client(j, pkt)
            self.mcu_seq[j][0] = seq
        self.mcu_frame += 1
        self.loop.call_later(1 / FPS, self._mcu_tick)

    def _mcu_audio(self) -> None:
        now = self.loop.time()
        if now >= self.duration_s:
            return
        payload = bytes(int(self.audio_kbps * 1000 / 8 * 0.020))
        for j in range(self.n):
            pkt = bytes(RtpPacket(AUDIO_PT, self.mcu_audio_seq & 0xFFFF, self.mcu_audio_seq * 960, 0x4A000000 + j,
                                  payload, extensions={1: b"\x14"}))
            self._to_client(j, pkt)
        self.mcu_audio_seq += 1
        self.loop.call_later(0.020, self._mcu_audio)

    # -- run ------------------------------------------------------------------------------
    def run(self) -> ConfResult:
        self.loop.call_at(0.0, self._frame_tick)
        self.loop.call_at(0.0, self._audio_tick)
        self.loop.call_at(0.5, self._rr_tick)
        if self.sfu is not None:
            self.loop.call_at(0.0, self._estimate_tick)
            self.loop.call_at(0.0, self._sfu_tick)
        if self.topology == "mcu":
            self.mcu_frame, self.mcu_audio_seq = 0, 0
            self.loop.call_at(0.05, self._mcu_tick)
            self.loop.call_at(0.05, self._mcu_audio)
        # The loop allocates a few hundred thousand short-lived handles per simulated
        # minute; Python's young-generation collector would scan them ~every 700
        # allocations.  Collect less often during the run (restored afterwards).
        threshold = gc.get_threshold()
        gc.set_threshold(max(threshold[0], 100_000), *threshold[1:])
        try:
            self.loop.run(until=self.duration_s + 1.0)
        finally:
            gc.set_threshold(*threshold)
        return self._result()

    def _result(self) -> ConfResult:
        d = self.duration_s
        rows = []
        layer_logs, captures = {}, {}
        for j, r in enumerate(self.receivers):
            video_kbps = sum(st.payload_bytes for st in r.streams.values()) * 8 / d / 1000
            audio_kbps = r.audio_payload_bytes * 8 / d / 1000
            freeze = 0.0
            for ssrc, st in r.streams.items():
                leg = self.sfu._legs_by_out.get(ssrc) if self.sfu is not None else None
                freeze += _freeze_s(st.renders, d, _paused(leg.layer_log, d) if leg is not None else ())
            layers = []
            if self.sfu is not None:
                for i in range(self.n):
                    if i == j:
                        continue
                    lg = self.sfu.leg(j, i)
                    layer_logs[(j, i)] = list(lg.layer_log)
                    layers.append(self._time_weighted_layer(lg.layer_log))
                    if self.capture and lg.out_ssrc in r.streams:
                        captures[(j, i)] = r.streams[lg.out_ssrc].capture
            rows.append({
                "participant": j,
                "downlink_kbps": self.downlink_kbps[j],
                "poor_link": j == self.poor_index,
                "received_video_kbps": video_kbps,
                "received_audio_kbps": audio_kbps,
                "received_kbps": video_kbps + audio_kbps,
                "sent_kbps": (self.mesh_up_payload[j] if self.topology == "mesh"
                              else self.senders[j].sent_payload_bytes) * 8 / d / 1000,
                "mean_layer": float(np.mean(layers)) if layers else None,
                "final_layer": [self.sfu.leg(j, i).current if self.sfu.leg(j, i).active else None
                                for i in range(self.n) if i != j] if self.sfu else None,
                "freeze_s": freeze,
                "freeze_s_mean_per_stream": freeze / max(len(r.streams), 1),
                "plis_sent": sum(st.plis for st in r.streams.values()),
                "nacks_sent": sum(st.nacks for st in r.streams.values()),
                "frames_rendered": sum(len(st.renders) for st in r.streams.values()),
                "downlink_queue_drops": self.down[j].queue_drops,
            })
        server = {"in_kbps": self.server_in_payload * 8 / d / 1000, "out_kbps": self.server_out_payload * 8 / d / 1000}
        if self.sfu is not None:
            st = self.sfu.stats()
            server.update(st)
            server["packets_per_s"] = (st["packets_in"] + st["packets_out"]) / d
            still = sum(d - lg.wait_since_s for lg in self.sfu.legs()  # legs still waiting at the end
                        if lg.kind == "video" and lg.active and lg.waiting and lg.mapped and lg.wait_since_s < d)
            server["keyframe_wait_freeze_s"] = st["freeze_s"] + still
        if self.topology == "mesh":
            server = {"in_kbps": 0.0, "out_kbps": 0.0}
        server["cpu_cores_model"] = self.calc.server_cpu_cores
        return ConfResult(self.topology, self.n, d, rows, server, self.calc.to_dict(), layer_logs,
                          {j: v for j, v in self.budget_logs.items()}, captures,
                          self.sfu.legs()[0].selector.hysteresis_s if self.sfu and self.simulcast else 0.0)

    def _time_weighted_layer(self, log) -> float:
        if not log:
            return float("nan")
        t_prev, l_prev, acc, tot = None, None, 0.0, 0.0
        for t, layer in log + [(self.duration_s, None)]:
            if t_prev is not None and l_prev is not None and l_prev >= 0:
                acc += l_prev * (t - t_prev)
                tot += t - t_prev
            t_prev, l_prev = t, layer
        return acc / tot if tot else float("nan")


def _paused(layer_log, duration_s: float) -> list[tuple[float, float]]:
    """The ``(start, end)`` stretches a leg was paused by Last-N (:data:`rtlib.conf.sfu.PAUSED`)."""
    out = []
    for k, (t, layer) in enumerate(layer_log):
        if layer == PAUSED:
            out.append((t, layer_log[k + 1][0] if k + 1 < len(layer_log) else duration_s))
    return out


def _freeze_s(renders: list[float], duration_s: float, paused=()) -> float:
    """Total freeze time: gaps between rendered frames longer than :data:`FREEZE_MIN_S`.

    Time inside ``paused`` stretches (Last-N chose not to show this sender) is not a freeze."""
    if len(renders) == 1:
        return 0.0
    r = np.asarray(renders if renders else [0.0, duration_s])  # nothing rendered: one gap, start to end
    gaps = np.diff(r)
    total = 0.0
    for k in np.flatnonzero(gaps > FREEZE_MIN_S):
        a, b = r[k], r[k + 1]
        gap = (b - a) - sum(max(0.0, min(b, e) - max(a, s)) for s, e in paused)
        if gap > FREEZE_MIN_S:
            total += gap
    return float(total)


def simulate(topology: str = "sfu", participants: int = 6, duration_s: float = 20.0, **kwargs) -> ConfResult:
    """``ConfCall(...).run()``."""
    return ConfCall(topology, participants, duration_s, **kwargs).run()


__all__ = ["TOPOLOGIES", "ConfCall", "ConfResult", "simulate"]
