"""A Selective Forwarding Unit (RFC 7667 §3.7): forwards real RTP packets, never decodes.

::

    sender A --(3 simulcast SSRCs + audio)--> [ SFU ] --(1 video + 1 audio SSRC per sender)--> receiver B
                <-- SFU's own RR, merged PLI --        <-- B's RR, NACK, PLI/FIR
                                                       --> SFU's own SR, retransmissions

One :class:`Sfu` object, sans-IO: feed it datagrams with :meth:`Sfu.on_rtp` /
:meth:`Sfu.on_rtcp` and each receiver's bandwidth estimate with
:meth:`Sfu.set_estimate`; call :meth:`Sfu.poll` at :meth:`Sfu.next_deadline_s`.
Every method returns the datagrams to send as ``(participant, bytes)`` pairs.  The
same object runs in :mod:`rtlib.conf.call` on the simulator.

What it does per packet, and where the idea comes from:

- **Rewriting (RFC 7667 §3.7, "Selective Forwarding Middlebox").**  Each receiver gets,
  per sender, *one* outgoing video stream with its own SSRC, whatever layer feeds it
  (the :class:`_Leg`).  On a layer switch the SFU picks new offsets so the outgoing
  sequence numbers continue with +1 and the timestamps keep increasing by the wall
  time elapsed since the last forwarded packet (×90 kHz); within a layer it adds
  the same offsets to every packet.  The receiver thus sees one continuous RTP
  stream (RFC 3550 §5.1: seq +1 per packet, timestamps monotonic), as mediasoup's
  ``SimulcastConsumer`` (its ``RtpSeqManager`` and timestamp offset on a switch) and
  Janus' ``janus_rtp_switching_context`` do.  The header is patched in place
  (SSRC, sequence number, timestamp: bytes 2-11): the payload is not touched.
- **Switch on keyframes only** (see :mod:`rtlib.conf.simulcast`): the target layer
  comes from a per-receiver :class:`rtlib.conf.simulcast.LayerSelector`; the switch
  waits for the first packet of a VP8 keyframe on the target layer (RFC 7741 §4.3).
- **RTCP terminated per leg (RFC 3550 §6, RFC 7667 §3.7).**  The SFU is an RTP
  endpoint on each leg:

  * *upstream* it sends its **own receiver reports** about each incoming SSRC
    (:class:`rtlib.rtp.stats.SourceStats`): the sender learns the loss and jitter of
    its own uplink only.  Forwarding the N-1 receivers' RRs instead would give it
    reports about SSRCs it never sent (the rewritten ones), for paths it does not
    control, and would make it slow down for the worst receiver, defeating
    simulcast;
  * *downstream* it sends its **own sender reports** for each outgoing stream: the
    packet and octet counts are what it forwarded on that leg, and the NTP↔RTP
    timestamp pair uses the rewritten timestamps; the sender's own SR would carry
    counts of all layers and a timestamp mapping the rewriting broke (lip sync
    would drift after each switch);
  * receivers' RRs are consumed (``leg.last_report``), senders' SRs too.
- **PLI/FIR merged and rate-limited (RFC 4585 §6.3.1, RFC 5104 §3.5.1, §4.3.1).**  A
  receiver's PLI or FIR for an outgoing SSRC, and a layer switch, all become "a
  keyframe of incoming SSRC X please"; the SFU sends at most one PLI per incoming
  SSRC per ``pli_min_interval_s``; a request inside that interval is served by the
  keyframe already on its way (``keyframe_requests_merged``), and a leg still waiting
  after the interval asks again from :meth:`Sfu.poll` (the keyframe may have been
  lost): ten receivers losing the same packet cost the sender one keyframe, not ten.
- **NACK answered from the SFU's cache (RFC 4585 §6.2.1).**  Each leg keeps its
  last ``cache_packets`` outgoing packets; a receiver's NACK is answered from it
  (``nacks_answered``), which repairs the downlink loss in one downlink round trip.
  Misses are counted (``nack_misses``), not forwarded upstream (a sender would not
  know the rewritten numbers).
- **Last-N and dominant speaker (RFC 6464).**  Audio packets carry the audio level
  extension; :class:`rtlib.conf.speaker.DominantSpeaker` reads it from the header.
  With ``last_n``, only the video of the ``last_n`` most recent dominant speakers
  is forwarded to each receiver.

Used in: notebooks/10_many_participants.ipynb, :mod:`rtlib.conf.call`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from rtlib.conf.simulcast import LayerSelector, vp8_keyframe_start
from rtlib.conf.speaker import DominantSpeaker
from rtlib.conf.topology import DEFAULT_LAYERS_KBPS, check_layers
from rtlib.rtp.errors import ParseError
from rtlib.rtp.packet import RtpPacket
from rtlib.rtp.rtcp import (
    Fir,
    GenericNack,
    Pli,
    ReceiverReport,
    SenderReport,
    build_rtcp,
    parse_rtcp,
)
from rtlib.rtp.stats import SourceStats, ntp_from_unix_s, ntp_short

VIDEO_CLOCK_HZ = 90_000  # RFC 7741 §4.1: VP8 uses a 90 kHz clock
AUDIO_CLOCK_HZ = 48_000  # RFC 7587 §4.1: Opus, 48 kHz
WAITING = -1  # in a leg's layer_log: nothing forwarded, waiting for a keyframe (the receiver's picture freezes)
PAUSED = -2   # in a leg's layer_log: Last-N left this sender out (no video on purpose, not a freeze)
_SEQ_TS_SSRC = struct.Struct("!HII")
_HDR = struct.Struct("!BBHII")


@dataclass
class _Source:
    """One incoming SSRC: whose, which layer, and the SFU's receiver statistics of it."""

    pid: object
    ssrc: int
    kind: str  # "video" or "audio"
    layer: int
    stats: SourceStats


@dataclass
class _Leg:
    """One outgoing stream: sender ``src`` as seen by receiver ``dst``, one SSRC."""

    dst: object
    src: object
    kind: str
    out_ssrc: int
    clock_hz: int
    selector: LayerSelector | None = None
    current: int = 0          # layer being forwarded
    target: int = 0           # layer wanted (switch on its next keyframe)
    waiting: bool = True      # nothing forwarded until a keyframe of ``target``
    wait_since_s: float = 0.0
    active: bool = True       # False: Last-N left this sender out
    mapped: bool = False
    seq_offset: int = 0
    ts_offset: int = 0
    start_in_seq: int = 0
    last_out_seq: int = -1
    last_out_ts: int = 0
    last_out_s: float = 0.0
    packets: int = 0
    octets: int = 0
    switches: int = 0
    retransmitted: int = 0
    retransmitted_bytes: int = 0
    keyframe_requests: int = 0
    freeze_s: float = 0.0
    cache: list = field(default_factory=list)  # out_seq % cache_packets -> datagram
    last_report: object = None
    layer_log: list = field(default_factory=list)  # (t_s, layer forwarded | WAITING | PAUSED)


class Sfu:
    """A sans-IO SFU.  See the module docstring for what it does and why.

    Parameters
    ----------
    layers_kbps : the simulcast ladder (rates the layer selector compares with the
        estimates); a participant added with one video SSRC is not simulcast.
    selector_factory : ``f(layers_kbps) -> selector`` with ``update(now_s,
        estimate_kbps) -> layer`` (default :class:`LayerSelector`): plug in a
        learner's selector here.
    pli_min_interval_s : at most one PLI per incoming SSRC per interval (≥ 0).
    cache_packets : outgoing packets kept per leg to answer NACKs (0 or a power of two).
    rtcp_interval_s : period of the SFU's own SR/RR.
    last_n : forward the video of the ``last_n`` most recent dominant speakers only
        (None: everyone's).
    audio_level_id : RFC 8285 id of the RFC 6464 audio level extension.
    audio_kbps : what each forwarded audio stream takes off a receiver's estimate.
    """

    def __init__(self, *, layers_kbps=DEFAULT_LAYERS_KBPS, selector_factory=None, pli_min_interval_s: float = 0.3,
                 cache_packets: int = 1024, rtcp_interval_s: float = 1.0, last_n: int | None = None,
                 audio_level_id: int = 1, audio_kbps: float = 32.0, ssrc: int = 0x5F000000):
        self.layers_kbps = check_layers(layers_kbps)
        self.selector_factory = selector_factory or (lambda layers: LayerSelector(layers))
        if not 0 <= pli_min_interval_s <= 10:
            raise ValueError(f"pli_min_interval_s must be in [0, 10] s, got {pli_min_interval_s!r}")
        if not isinstance(cache_packets, int) or not 0 <= cache_packets <= 65536:
            raise ValueError(f"cache_packets must be an integer in [0, 65536], got {cache_packets!r}")
        if not 0.05 <= rtcp_interval_s <= 60:
            raise ValueError(f"rtcp_interval_s must be in [0.05, 60] s, got {rtcp_interval_s!r}")
        if last_n is not None and (not isinstance(last_n, int) or last_n < 0):
            raise ValueError(f"last_n must be None or an integer >= 0, got {last_n!r}")
        self.pli_min_interval_s = float(pli_min_interval_s)
        if cache_packets & (cache_packets - 1):
            raise ValueError(f"cache_packets must be 0 or a power of two, got {cache_packets!r}")
        self.cache_packets = cache_packets
        self._cache_mask = cache_packets - 1 if cache_packets else 0
        self.rtcp_interval_s = float(rtcp_interval_s)
        self.last_n = last_n
        self.audio_level_id = audio_level_id
        if not 0 <= audio_kbps <= 510:
            raise ValueError(f"audio_kbps must be in [0, 510] kbit/s, got {audio_kbps!r}")
        self.audio_kbps = float(audio_kbps)
        self.ssrc = ssrc
        self.speakers = DominantSpeaker()
        self.participants: list = []
        self._sources: dict[int, _Source] = {}
        self._video_ssrcs: dict[object, list[int]] = {}
        self._legs: dict[tuple, _Leg] = {}          # (dst, src, kind) -> leg
        self._legs_by_src: dict[tuple, list[_Leg]] = {}  # (src, kind) -> legs
        self._legs_by_out: dict[int, _Leg] = {}
        self._legs_by_dst: dict = {}
        self._next_out_ssrc = ssrc + 1
        self._last_pli_s: dict[int, float] = {}
        self._pending_kf: set[int] = set()
        self._next_rtcp_s = 0.0
        self._estimate_kbps: dict[object, float] = {}
        # counters
        self.packets_in = self.bytes_in = 0
        self.plis_received = self.firs_received = self.plis_sent = self.keyframe_requests_merged = 0
        self.nacks_received = self.nacks_answered = self.nack_misses = 0
        self.rtcp_bytes_out = 0

    # -- set-up ------------------------------------------------------------------------------
    def add_participant(self, pid, *, video_ssrcs=(), audio_ssrc: int | None = None) -> None:
        """Join ``pid``, who sends ``video_ssrcs`` (one per simulcast layer, lowest first) and audio."""
        if pid in self.participants:
            raise ValueError(f"participant {pid!r} already joined")
        video_ssrcs = list(video_ssrcs)
        if len(video_ssrcs) > len(self.layers_kbps):
            raise ValueError(f"video_ssrcs must hold at most {len(self.layers_kbps)} SSRCs (one per layer of "
                             f"layers_kbps), got {len(video_ssrcs)}")
        for layer, s in enumerate(video_ssrcs):
            self._add_source(pid, s, "video", layer, VIDEO_CLOCK_HZ)
        if audio_ssrc is not None:
            self._add_source(pid, audio_ssrc, "audio", 0, AUDIO_CLOCK_HZ)
        self._video_ssrcs[pid] = video_ssrcs
        for other in self.participants:
            for a, b in ((other, pid), (pid, other)):  # a receives b
                if self._video_ssrcs[b]:
                    self._make_leg(a, b, "video")
                if any(s.pid == b and s.kind == "audio" for s in self._sources.values()):
                    self._make_leg(a, b, "audio")
        self.participants.append(pid)

    def _add_source(self, pid, ssrc, kind, layer, clock):
        if ssrc in self._sources:
            raise ValueError(f"ssrc {ssrc:#x} is already used")
        self._sources[ssrc] = _Source(pid, ssrc, kind, layer, SourceStats(ssrc, clock, min_sequential=1))

    def _make_leg(self, dst, src, kind):
        simulcast = kind == "video" and len(self._video_ssrcs[src]) > 1
        leg = _Leg(dst, src, kind, self._next_out_ssrc, VIDEO_CLOCK_HZ if kind == "video" else AUDIO_CLOCK_HZ,
                   selector=self.selector_factory(self.layers_kbps) if simulcast else None,
                   cache=[None] * self.cache_packets)
        if kind == "audio":
            leg.waiting = False  # audio frames are all independent
        if simulcast:
            leg.current = leg.target = int(leg.selector.layer)
        self._next_out_ssrc += 1
        self._legs[(dst, src, kind)] = leg
        self._legs_by_src.setdefault((src, kind), []).append(leg)
        self._legs_by_out[leg.out_ssrc] = leg
        self._legs_by_dst.setdefault(dst, []).append(leg)

    def leg(self, dst, src, kind: str = "video") -> _Leg:
        """The outgoing stream of ``src``'s ``kind`` towards ``dst``."""
        return self._legs[(dst, src, kind)]

    def legs(self):
        return list(self._legs.values())

    def source_of(self, ssrc: int) -> tuple:
        """``(participant, kind, layer)`` of an incoming SSRC."""
        s = self._sources[ssrc]
        return s.pid, s.kind, s.layer

    # -- bandwidth estimates and layer choice ------------------------------------------------
    def set_estimate(self, now_s: float, pid, estimate_kbps: float) -> list[tuple]:
        """Receiver ``pid``'s downlink estimate (kbit/s for everything the SFU sends it).

        Audio is taken off the top (``audio_kbps`` per audio leg), the rest is
        split evenly between the video legs being forwarded; each leg's selector
        then picks its layer.
        """
        self._estimate_kbps[pid] = estimate_kbps
        mine = self._legs_by_dst.get(pid, ())
        legs = [lg for lg in mine if lg.kind == "video" and lg.active]
        n_audio = sum(1 for lg in mine if lg.kind == "audio")
        if not legs:
            return self._drain()
        per_leg = max(estimate_kbps - self.audio_kbps * n_audio, 0.0) / len(legs)
        for lg in legs:
            if lg.selector is None:
                continue
            target = int(lg.selector.update(now_s, per_leg))
            if target != lg.target:
                self._retarget(now_s, lg, target)
        return self._drain()

    def _retarget(self, now_s: float, lg: _Leg, target: int) -> None:
        down = target < lg.current
        lg.target = target
        if target == lg.current and not lg.waiting:
            return
        if down and not lg.waiting:  # the current layer no longer fits: stop it now
            lg.waiting, lg.wait_since_s = True, now_s
            lg.layer_log.append((now_s, WAITING))
        self._request_keyframe(now_s, self._video_ssrcs[lg.src][target])
        lg.keyframe_requests += 1

    # -- RTP ---------------------------------------------------------------------------------
    def on_rtp(self, now_s: float, from_pid, data: bytes) -> list[tuple]:
        """One RTP datagram from ``from_pid``; returns ``[(receiver, datagram), ...]``."""
        if len(data) < 12 or data[0] >> 6 != 2:
            raise ParseError(f"not an RTP packet ({len(data)} bytes)")
        _, b1, seq, ts, ssrc = _HDR.unpack_from(data)
        src = self._sources.get(ssrc)
        if src is None or src.pid != from_pid:
            return []  # unknown SSRC: dropped (an SFU only forwards what was negotiated)
        self.packets_in += 1
        self.bytes_in += len(data)
        src.stats.update(seq, ts, now_s)
        out: list[tuple] = []
        if src.kind == "audio":
            self._audio_level(now_s, src.pid, data)
            for lg in self._legs_by_src.get((src.pid, "audio"), ()):
                self._forward(now_s, lg, data, seq, ts, out)
        else:
            layer = src.layer
            key = None
            pack = _SEQ_TS_SSRC.pack
            head, tail = data[:2], data[12:]
            mask = self._cache_mask
            octets = len(data) - 12
            for lg in self._legs_by_src.get((src.pid, "video"), ()):
                if not lg.active:
                    continue
                if lg.waiting or lg.target != lg.current:
                    if layer == lg.target:
                        if key is None:
                            key = vp8_keyframe_start(data[12 + 4 * (data[0] & 0x0F) + self._ext_len(data):])
                        if key:
                            self._switch(now_s, lg, seq, ts)
                            self._forward(now_s, lg, data, seq, ts, out)
                            continue
                    if lg.waiting or layer != lg.current:
                        continue
                elif layer != lg.current:
                    continue
                if (seq - lg.start_in_seq) & 0x8000:
                    continue  # older than the switch point
                # the hot path of _forward, inlined: patch seq, timestamp and SSRC (bytes 2-11)
                out_seq = (seq + lg.seq_offset) & 0xFFFF
                out_ts = (ts + lg.ts_offset) & 0xFFFFFFFF
                pkt = head + pack(out_seq, out_ts, lg.out_ssrc) + tail
                if not (out_seq - lg.last_out_seq) & 0x8000:
                    lg.last_out_seq, lg.last_out_ts, lg.last_out_s = out_seq, out_ts, now_s
                if mask:
                    lg.cache[out_seq & mask] = pkt
                lg.packets += 1
                lg.octets += octets
                out.append((lg.dst, pkt))
        if self._pending_kf:
            out += self._drain_kf(now_s)
        return out

    @staticmethod
    def _ext_len(data: bytes) -> int:
        if not data[0] & 0x10:
            return 0
        pos = 12 + 4 * (data[0] & 0x0F)
        return 4 + 4 * ((data[pos + 2] << 8) | data[pos + 3])

    def _switch(self, now_s: float, lg: _Leg, seq: int, ts: int) -> None:
        if lg.waiting and lg.mapped:
            lg.freeze_s += now_s - lg.wait_since_s
        if lg.mapped:
            lg.switches += 1
            out_seq = (lg.last_out_seq + 1) & 0xFFFF
            out_ts = (lg.last_out_ts + max(1, round((now_s - lg.last_out_s) * lg.clock_hz))) & 0xFFFFFFFF
        else:
            out_seq, out_ts = seq, ts
        lg.seq_offset = (out_seq - seq) & 0xFFFF
        lg.ts_offset = (out_ts - ts) & 0xFFFFFFFF
        lg.start_in_seq = seq
        lg.current = lg.target
        lg.waiting = False
        lg.mapped = True
        lg.layer_log.append((now_s, lg.current))

    def _forward(self, now_s: float, lg: _Leg, data: bytes, seq: int, ts: int, out: list) -> None:
        if not lg.mapped:  # audio: map once
            lg.mapped, lg.seq_offset, lg.ts_offset, lg.start_in_seq = True, 0, 0, seq
        out_seq = (seq + lg.seq_offset) & 0xFFFF
        out_ts = (ts + lg.ts_offset) & 0xFFFFFFFF
        pkt = data[:2] + _SEQ_TS_SSRC.pack(out_seq, out_ts, lg.out_ssrc) + data[12:]
        if lg.last_out_seq < 0 or not (out_seq - lg.last_out_seq) & 0x8000:
            lg.last_out_seq, lg.last_out_ts, lg.last_out_s = out_seq, out_ts, now_s
        if self._cache_mask:
            lg.cache[out_seq & self._cache_mask] = pkt
        lg.packets += 1
        lg.octets += len(data) - 12
        out.append((lg.dst, pkt))

    def _audio_level(self, now_s: float, pid, data: bytes) -> None:
        if not data[0] & 0x10:
            return
        try:
            level = RtpPacket.parse(data).extensions.get(self.audio_level_id)
        except ParseError:
            return
        if level:
            voice = bool(level[0] & 0x80)
            was = self.speakers.dominant
            self.speakers.on_level(now_s, pid, -(level[0] & 0x7F), voice)
            if self.last_n is not None and self.speakers.dominant != was:
                self._apply_last_n(now_s)

    def _apply_last_n(self, now_s: float) -> None:
        for dst in self.participants:
            keep = set(self.speakers.last_n(self.last_n, exclude=dst))
            for src in self.participants:
                lg = self._legs.get((dst, src, "video"))
                if lg is None:
                    continue
                want = src in keep
                if want and not lg.active:
                    lg.active, lg.waiting, lg.wait_since_s = True, True, now_s
                    self._request_keyframe(now_s, self._video_ssrcs[src][lg.target])
                elif not want and lg.active:
                    lg.active = False
                    lg.layer_log.append((now_s, PAUSED))

    # -- RTCP --------------------------------------------------------------------------------
    def on_rtcp(self, now_s: float, from_pid, data: bytes) -> list[tuple]:
        """One RTCP compound from ``from_pid``: consumed here (terminated), answered if need be."""
        out: list[tuple] = []
        for p in parse_rtcp(data):
            if isinstance(p, (Pli, Fir)):
                if isinstance(p, Pli):
                    self.plis_received += 1
                    targets = [p.media_ssrc]
                else:
                    self.firs_received += 1
                    targets = [s for s, _ in p.entries]
                for ssrc in targets:
                    lg = self._legs_by_out.get(ssrc)
                    if lg is not None and lg.dst == from_pid and lg.kind == "video":
                        self._request_keyframe(now_s, self._video_ssrcs[lg.src][lg.target])
                        lg.keyframe_requests += 1
            elif isinstance(p, GenericNack):
                self.nacks_received += 1
                lg = self._legs_by_out.get(p.media_ssrc)
                if lg is None or lg.dst != from_pid:
                    continue
                for s in p.lost:
                    pkt = lg.cache[s & self._cache_mask] if self._cache_mask else None
                    if pkt is None or (pkt[2] << 8 | pkt[3]) != s:
                        self.nack_misses += 1
                    else:
                        self.nacks_answered += 1
                        lg.retransmitted += 1
                        lg.retransmitted_bytes += len(pkt)
                        out.append((lg.dst, pkt))
            elif isinstance(p, (ReceiverReport, SenderReport)):
                for rb in p.reports:
                    lg = self._legs_by_out.get(rb.ssrc)
                    if lg is not None:
                        lg.last_report = rb
        return out + self._drain_kf(now_s)

    def _request_keyframe(self, now_s: float, in_ssrc: int) -> None:
        """Ask for a keyframe of ``in_ssrc``, merged: a request within ``pli_min_interval_s``
        of the last PLI for that SSRC is served by the keyframe already asked for."""
        if in_ssrc in self._pending_kf or now_s - self._last_pli_s.get(in_ssrc, -1e9) < self.pli_min_interval_s:
            self.keyframe_requests_merged += 1
            return
        self._pending_kf.add(in_ssrc)
        self._last_pli_s[in_ssrc] = now_s

    def _drain_kf(self, now_s: float) -> list[tuple]:
        out = []
        for ssrc in sorted(self._pending_kf):
            self.plis_sent += 1
            pkt = bytes(Pli(self.ssrc, ssrc))
            self.rtcp_bytes_out += len(pkt)
            out.append((self._sources[ssrc].pid, pkt))
        self._pending_kf.clear()
        return out

    def _drain(self) -> list[tuple]:
        return self._drain_kf(0.0)

    def next_deadline_s(self) -> float:
        """When :meth:`poll` next has something to do (its own RTCP; keyframe re-requests ride on it)."""
        return self._next_rtcp_s

    def poll(self, now_s: float) -> list[tuple]:
        """Timers: merged keyframe requests, re-requests for legs still waiting, own SR/RR."""
        for lg in self._legs.values():
            if lg.kind == "video" and lg.active and (lg.waiting or lg.target != lg.current) \
                    and now_s - self._last_pli_s.get(self._video_ssrcs[lg.src][lg.target], -1e9) \
                    >= max(self.pli_min_interval_s, 0.2):
                self._request_keyframe(now_s, self._video_ssrcs[lg.src][lg.target])  # the keyframe was lost?
        out = self._drain_kf(now_s)
        if now_s >= self._next_rtcp_s:
            self._next_rtcp_s = now_s + self.rtcp_interval_s
            out += self._reports(now_s)
        return out

    def _reports(self, now_s: float) -> list[tuple]:
        out = []
        ntp = ntp_from_unix_s(now_s)
        # upstream: one RR per sender, a block per SSRC it sends (RFC 3550 §6.4.2)
        for pid in self.participants:
            blocks = [s.stats.report_block() for s in self._sources.values() if s.pid == pid and s.stats.received]
            if blocks:
                pkt = build_rtcp([ReceiverReport(self.ssrc, blocks[:31])])
                out.append((pid, pkt))
        # downstream: one SR per outgoing stream, with the rewritten timestamps (RFC 3550 §6.4.1)
        by_dst: dict = {}
        for lg in self._legs.values():
            if lg.packets:
                rtp_ts = (lg.last_out_ts + round((now_s - lg.last_out_s) * lg.clock_hz)) & 0xFFFFFFFF
                by_dst.setdefault(lg.dst, []).append(
                    SenderReport(lg.out_ssrc, ntp, rtp_ts, lg.packets & 0xFFFFFFFF, lg.octets & 0xFFFFFFFF))
        for dst, srs in by_dst.items():
            out.append((dst, build_rtcp(srs)))
        for _, pkt in out:
            self.rtcp_bytes_out += len(pkt)
        self.last_sr_ntp_short = ntp_short(ntp)
        return out

    # -- figures -----------------------------------------------------------------------------
    @property
    def packets_out(self) -> int:
        """RTP packets sent to receivers (forwarded and retransmitted)."""
        return sum(lg.packets + lg.retransmitted for lg in self._legs.values())

    @property
    def bytes_out(self) -> int:
        """RTP bytes sent to receivers (forwarded and retransmitted)."""
        return sum(lg.octets + 12 * lg.packets + lg.retransmitted_bytes for lg in self._legs.values())

    def stats(self) -> dict:
        return {
            "packets_in": self.packets_in, "packets_out": self.packets_out, "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out, "plis_received": self.plis_received, "firs_received": self.firs_received,
            "plis_sent": self.plis_sent, "keyframe_requests_merged": self.keyframe_requests_merged,
            "nacks_received": self.nacks_received,
            "nacks_answered": self.nacks_answered, "nack_misses": self.nack_misses,
            "rtcp_bytes_out": self.rtcp_bytes_out, "dominant_speaker": self.speakers.dominant,
            "switches": sum(lg.switches for lg in self._legs.values()),
            "freeze_s": sum(lg.freeze_s for lg in self._legs.values()),
        }
