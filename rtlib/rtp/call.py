"""A one-way audio call through an impaired path, measured the RFC 3550 way.

:func:`simulate_call` encodes speech with G.711 into 20 ms frames, sends them with an
:class:`~rtlib.rtp.session.RtpSender` (plus its periodic SR), pushes every datagram
through :func:`rtlib.net.simulate_path` (delay, jitter, loss), feeds what arrives, in
arrival order, to an :class:`~rtlib.rtp.session.RtpReceiver`, and reports what the
receiver measured: packets received, lost, duplicated, RFC 3550 jitter, one-way delay,
and packets that came too late for a playout buffer.  Optionally it writes the
receiver's capture as a pcap for Wireshark.

:func:`simulate_session` is the closed-loop version on an :class:`rtlib.sim.EventLoop`
with a :class:`rtlib.net.DuplexPath`: receiver reports and NACKs travel back, so the
sender measures the round-trip time from LSR/DLSR and repairs losses.

Used in: notebooks/05_rtp_rtcp.ipynb, ``python -m rtlib call``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rtlib.rtp.packet import RtpPacket, is_rtcp
from rtlib.rtp.pcap import write_pcap
from rtlib.rtp.session import RtpReceiver, RtpSender
from rtlib.sim import make_rng

CODECS = ("pcmu", "pcma")
IP_UDP_OVERHEAD_BYTES = 28  # IPv4 (20) + UDP (8) headers on the path


def parse_buffer(spec: str) -> tuple[str, float | None]:
    """``"fixed:80"`` → ("fixed", 80.0); ``"adaptive"`` → ("adaptive", None)."""
    if not isinstance(spec, str):
        raise ValueError(f"buffer must be 'fixed:MS' (e.g. fixed:80) or 'adaptive', got {spec!r}")
    if spec == "adaptive":
        return "adaptive", None
    kind, _, ms = spec.partition(":")
    try:
        value = float(ms)
    except ValueError:
        value = math.nan
    if kind != "fixed" or not 0 <= value <= 10_000:
        raise ValueError(f"buffer must be 'fixed:MS' with MS in [0, 10000] (e.g. fixed:80) or 'adaptive', got {spec!r}")
    return "fixed", value


def playout(send_s, arrival_s, buffer: str, frame_ms: float = 20.0):
    """Play the received frames through chapter 07's playout policies.

    ``buffer`` "fixed:MS" holds the first packet MS ms after it arrives, then plays
    every frame on the media clock from there (:class:`rtlib.media.jitter.FixedBuffer`);
    a packet arriving after its playout moment is *late*, as good as lost.
    "adaptive" follows the delay with Ramjee et al.'s ``d + 4v`` estimator
    (:class:`rtlib.media.jitter.AdaptivePlayout`), time-stretching to move, since
    this call's audio never pauses.  Returns a :class:`rtlib.media.jitter.PlayoutResult`.
    """
    from rtlib.media.jitter import AdaptivePlayout, FixedBuffer, PacketTrace, play_trace

    kind, ms = parse_buffer(buffer)
    trace = PacketTrace(np.asarray(send_s, dtype=float), np.asarray(arrival_s, dtype=float), frame_s=frame_ms / 1000)
    if kind == "fixed":
        return play_trace(trace, FixedBuffer(ms), mode="talkspurt")
    return play_trace(trace, AdaptivePlayout(), mode="stretch")


@dataclass
class CallResult:
    """What :func:`simulate_call` measured (``to_dict()`` is the CLI's JSON)."""

    params: dict
    sent: int
    received: int
    expected: int
    lost: int
    path_lost: int
    late: int
    playout_delay_ms: float
    duplicated: int
    jitter_ms: float
    delay_ms_mean: float
    delay_ms_p95: float
    ssrc: int
    send_s: np.ndarray = field(repr=False)          # per RTP packet, send order
    arrival_s: np.ndarray = field(repr=False)       # nan when lost
    seq: np.ndarray = field(repr=False)
    rtp_timestamp: np.ndarray = field(repr=False)
    arrival_order: np.ndarray = field(repr=False)   # indices of received packets, in arrival order
    jitter_series_ms: np.ndarray = field(repr=False)  # receiver's A.8 estimate after each arrival
    datagrams: list = field(repr=False, default_factory=list)  # (arrival_s, bytes) the receiver saw
    pcap: str | None = None

    def to_dict(self) -> dict:
        return {
            "codec": self.params["codec"], "seconds": self.params["seconds"],
            "sent": self.sent, "received": self.received, "expected": self.expected, "lost": self.lost,
            "path_lost": self.path_lost, "late": self.late, "duplicated": self.duplicated,
            "playout_delay_ms": round(self.playout_delay_ms, 3),
            "jitter_ms": round(self.jitter_ms, 3),
            "delay_ms_mean": round(self.delay_ms_mean, 3), "delay_ms_p95": round(self.delay_ms_p95, 3),
            "buffer": self.params["buffer"], "ssrc": self.ssrc, "pcap": self.pcap,
            "params": {k: v for k, v in self.params.items() if k not in ("codec", "seconds", "buffer")},
        }


def _speech_frames(codec_name: str, n_frames: int, frame_ms: float):
    from rtlib.media.clips import load_speech
    from rtlib.media.codecs import encode_clip, get_codec

    codec = get_codec(codec_name, frame_ms=frame_ms)
    spf = codec.samples_per_frame
    speech = load_speech("en", 8000)
    reps = int(math.ceil(n_frames * spf / max(1, speech.size)))
    return codec, encode_clip(codec, np.tile(speech, max(1, reps))[: n_frames * spf])


def simulate_call(*, codec: str = "pcmu", seconds: float = 20.0, delay_ms: float = 60.0, jitter_ms: float = 20.0,
                  loss: float = 0.0, seed: int = 0, buffer: str = "fixed:80", jitter_dist: str = "normal",
                  burst_len: float = 1.0, reorder: bool = True, frame_ms: float = 20.0,
                  pcap: str | Path | None = None, rtcp_interval_s: float = 5.0,
                  initial_seq: int | None = None) -> CallResult:
    """One-way G.711 audio through :func:`rtlib.net.simulate_path`; RFC 3550 statistics.

    ``delay_ms``, ``jitter_ms`` (mean extra delay, shape ``jitter_dist``), ``loss``,
    ``burst_len`` and ``reorder`` are the path's (see :func:`rtlib.net.simulate_path`).
    ``buffer`` ("fixed:MS" or "adaptive") is the receiver's playout policy, which
    decides which packets arrive *late* (:func:`playout`).  The SSRC,
    initial sequence number and timestamp offset are drawn from ``seed`` (RFC 3550
    5.1 wants them random); ``initial_seq`` overrides the first sequence number (to
    show a wrap-around).  ``pcap`` writes what the receiver saw.
    """
    from rtlib.net import simulate_path

    if codec not in CODECS:
        raise ValueError(f"codec must be one of {list(CODECS)}, got {codec!r}")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0.1 <= seconds <= 3600:
        raise ValueError(f"seconds must be in [0.1, 3600], got {seconds!r}")
    if not 0 <= loss <= 1:
        raise ValueError(f"loss must be in [0, 1], got {loss!r}")
    parse_buffer(buffer)
    rng = make_rng(seed, "rtp-call")
    ssrc = int(rng.integers(1, 2**32))
    seq0 = int(rng.integers(0, 2**16))
    if initial_seq is not None:
        if isinstance(initial_seq, bool) or not isinstance(initial_seq, int) or not 0 <= initial_seq <= 0xFFFF:
            raise ValueError(f"initial_seq must be an integer in [0, 65535], got {initial_seq!r}")
        seq0 = initial_seq
    ts0 = int(rng.integers(0, 2**32))
    n_frames = int(round(seconds * 1000 / frame_ms))
    cod, payloads = _speech_frames(codec, n_frames, frame_ms)

    sender = RtpSender(ssrc, cod.payload_type, cod.clock_rate_hz, seq=seq0, timestamp_offset=ts0,
                       rtcp_interval_s=rtcp_interval_s, cname="caller@rtlib")
    sends: list[tuple[float, bytes]] = []
    for i, payload in enumerate(payloads):
        t = i * frame_ms / 1000
        for d in sender.send_frame(payload, t):
            sends.append((t, d))
        while sender.next_deadline_s() is not None and sender.next_deadline_s() <= t:
            sends.extend((t, d) for d in sender.on_timer(t))
    send_s = np.array([t for t, _ in sends])
    sizes = np.array([len(d) + IP_UDP_OVERHEAD_BYTES for _, d in sends])
    path = simulate_path(send_s, sizes, delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=jitter_dist,
                         reorder=reorder, loss=loss, burst_len=burst_len, seed=seed)

    receiver = RtpReceiver(0x0BADCAFE, cod.clock_rate_hz, nack=False)
    arrived = [(path.arrival_s[i], i) for i in range(len(sends)) if not path.lost[i]]
    arrived.sort()
    jitter_series = []
    for t, i in arrived:
        receiver.receive(sends[i][1], float(t))
        if not is_rtcp(sends[i][1]):
            jitter_series.append(receiver.sources[ssrc].jitter_ms if ssrc in receiver.sources else 0.0)
    src = receiver.sources.get(ssrc)

    is_media = np.array([not is_rtcp(d) for _, d in sends])
    media_idx = np.flatnonzero(is_media)
    arrival = path.arrival_s[media_idx]
    headers = [RtpPacket.parse(sends[i][1]) for i in media_idx]
    seq = np.array([h.sequence_number for h in headers])
    rtp_ts = np.array([h.timestamp for h in headers], dtype=np.int64)
    pos_of = {int(i): k for k, i in enumerate(media_idx)}
    order = np.array([pos_of[i] for _, i in arrived if i in pos_of], dtype=int)
    delays_ms = (arrival - send_s[media_idx])[~np.isnan(arrival)] * 1000
    # the media clock of each frame (RTP timestamp, unwrapped, in seconds) against its arrival
    media_s = ((rtp_ts - rtp_ts[0]) % 2**32) / cod.clock_rate_hz
    played = playout(media_s, arrival, buffer, frame_ms)

    datagrams = [(float(t), sends[i][1]) for t, i in arrived]
    pcap_out = None
    if pcap is not None:
        write_pcap(pcap, datagrams)
        pcap_out = str(pcap)
    params = {"codec": codec, "seconds": float(seconds), "delay_ms": float(delay_ms), "jitter_ms": float(jitter_ms),
              "jitter_dist": jitter_dist, "loss": float(loss), "burst_len": float(burst_len), "reorder": bool(reorder),
              "seed": seed, "buffer": buffer, "frame_ms": float(frame_ms)}
    return CallResult(
        params=params, sent=int(media_idx.size), received=src.received if src else 0,
        expected=src.expected if src else 0, lost=src.lost if src else 0,
        path_lost=int(np.isnan(arrival).sum()), late=int(played.late.sum()), playout_delay_ms=played.mean_delay_ms,
        duplicated=src.duplicates if src else 0, jitter_ms=src.jitter_ms if src else 0.0,
        delay_ms_mean=float(delays_ms.mean()) if delays_ms.size else math.nan,
        delay_ms_p95=float(np.percentile(delays_ms, 95)) if delays_ms.size else math.nan,
        ssrc=ssrc, send_s=send_s[media_idx], arrival_s=arrival, seq=seq, rtp_timestamp=rtp_ts,
        arrival_order=order, jitter_series_ms=np.array(jitter_series), datagrams=datagrams, pcap=pcap_out,
    )


# -- closed loop: RTT from SR/RR, NACK --------------------------------------------------------
@dataclass
class SessionResult:
    """What :func:`simulate_session` saw at both ends."""

    rtt_samples: list            # (time_s, rtt_s) at the sender
    report_blocks: list          # (time_s, ReportBlock) at the sender
    sent: int
    retransmitted: int
    nacks_sent: int
    received: int
    lost: int
    frames_received: int
    rtt_floor_s: float
    repaired: int = 0            # packets an RFC 4588 retransmission filled in (``rtx=True``)


def simulate_session(*, seconds: float = 20.0, delay_ms: float = 50.0, back_delay_ms: float | None = None,
                     jitter_ms: float = 5.0, loss: float = 0.02, seed: int = 0, nack: bool = True,
                     rtcp_interval_s: float = 1.0, frame_ms: float = 20.0, payload_bytes: int = 160,
                     rtx: bool = False) -> SessionResult:
    """Sender and receiver on an :class:`rtlib.sim.EventLoop`, joined by a :class:`rtlib.net.DuplexPath`.

    Media (one ``payload_bytes`` frame every ``frame_ms``) goes forward with
    ``delay_ms``, ``jitter_ms`` and ``loss``; RTCP (SR forward; RR and NACK back over
    a loss-free path of ``back_delay_ms``, default ``delay_ms``) lets the sender
    measure the RTT (RFC 3550 6.4.1) and, with ``nack``, retransmit what was lost
    (RFC 4585).  With ``rtx`` the retransmissions travel as RFC 4588 RTX (SSRC 0x5E4E,
    payload type 97), so the receiver's loss and jitter describe the original stream
    alone and ``repaired`` counts the repairs.  The payload bytes are placeholders:
    this is about the protocol.
    """
    from rtlib.net import DuplexPath
    from rtlib.sim import EventLoop

    if not 0.1 <= seconds <= 3600:
        raise ValueError(f"seconds must be in [0.1, 3600], got {seconds!r}")
    loop = EventLoop()
    back = delay_ms if back_delay_ms is None else back_delay_ms
    path = DuplexPath(loop, {"delay_ms": delay_ms, "jitter_ms": jitter_ms, "loss": loss},
                      {"delay_ms": back}, seed=seed)
    rtx_args = {"rtx_payload_types": {97: 0}, "rtx_ssrcs": {0x5E4E: 0x5E4D}} if rtx else {}
    sender = RtpSender(0x5E4D, 0, 8000, rtcp_interval_s=rtcp_interval_s, rtx_ssrc=0x5E4E if rtx else None)
    receiver = RtpReceiver(0x4EC5, 8000, nack=nack, rtcp_interval_s=rtcp_interval_s,
                           nack_retry_s=max(0.02, (delay_ms + back) / 1000 * 1.5), **rtx_args)
    frames = [0]
    payload = bytes(payload_bytes)

    def to_receiver(data):
        frames[0] += len(receiver.receive(data, loop.time()))
        flush_receiver()

    def flush_receiver():
        for d in receiver.datagrams_to_send():
            path.backward.send(d, len(d) + IP_UDP_OVERHEAD_BYTES, to_sender)
        arm_receiver()

    timer = {"rx": None}  # the receiver's pending RTCP/NACK timer

    def arm_receiver():
        t = receiver.next_deadline_s()
        if t is not None and (timer["rx"] is None or timer["rx"].cancelled() or timer["rx"].when != t):
            if timer["rx"] is not None:
                timer["rx"].cancel()
            timer["rx"] = loop.call_at(max(t, loop.time()), receiver_timer)

    def receiver_timer():
        timer["rx"] = None
        for d in receiver.on_timer(loop.time()):
            path.backward.send(d, len(d) + IP_UDP_OVERHEAD_BYTES, to_sender)
        arm_receiver()

    def to_sender(data):
        for d in sender.receive_rtcp(data, loop.time()):
            path.forward.send(d, len(d) + IP_UDP_OVERHEAD_BYTES, to_receiver)

    def send_frame(i):
        t = loop.time()
        for d in sender.send_frame(payload, t):
            path.forward.send(d, len(d) + IP_UDP_OVERHEAD_BYTES, to_receiver)
        for d in sender.on_timer(t):
            path.forward.send(d, len(d) + IP_UDP_OVERHEAD_BYTES, to_receiver)
        if (i + 1) * frame_ms / 1000 < seconds:
            loop.call_at((i + 1) * frame_ms / 1000, send_frame, i + 1)

    loop.call_at(0.0, send_frame, 0)
    loop.run(until=seconds + 2 * (delay_ms + back) / 1000 + 1)
    src = receiver.sources.get(sender.ssrc)
    return SessionResult(sender.rtt_samples, sender.report_blocks, sender.packet_count, sender.retransmitted,
                         receiver.nacks_sent, src.received if src else 0, src.lost if src else 0, frames[0],
                         path.rtt_floor_s(), receiver.rtx_repaired)
