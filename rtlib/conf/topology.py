"""Closed-form load of a multi-party call: mesh, SFU and MCU (RFC 7667 topologies).

Three ways to connect N participants (RFC 7667):

    mesh (RFC 7667 §3.4, "Point to Multipoint Using Mesh"): every client sends its
        stream to each of the N-1 others, over N-1 peer connections, each with its own
        encoder (as a browser does: one RTCPeerConnection per peer).
    SFU  (§3.7, "Selective Forwarding Middlebox"): every client sends once; the
        server forwards each stream to the N-1 others without decoding.  With
        simulcast (RFC 8853) each client sends several layers and the server forwards
        to each receiver the layer its link allows.
    MCU  (§3.6, "Point to Multipoint Using Mixer"): every client sends once; the
        server decodes all N streams, mixes the audio per receiver (mix-minus) and
        composes the video tiles, re-encodes one stream per receiver and sends it.

:func:`load` returns a :class:`Load` (kbit/s per client and at the server, counts of
video encodes/decodes, CPU in cores).  Bitrates are media rates (RTP payload plus
headers are not split out: the rates the encoders are told).  Audio is counted in
every bitrate; the ``*_encodes``/``*_decodes`` fields count **video** streams, and
the CPU figures include audio.

CPU costs are **measured, not guessed**: ``rtlib/conf/cpu_costs.json`` holds the
time per frame of the real codecs through PyAV on one core (VP8 encode and decode
at 320×180, 640×360, 1280×720 at 30 frames/s; Opus 48 kHz 20 ms; mix-minus; an SFU's
parse + rewrite + serialise of one RTP packet), written by
``python -m benchmarks.bench_conf --cpu-costs`` (see benchmarks/bench_conf.py for
how).  A video stream at ``bitrate_kbps`` is costed at the resolution WebRTC would
send at that rate (:func:`resolution_for`).  ``cores = ms per frame × frames/s / 1000``.

:func:`mesh_saturation_n` is the N at which a mesh client's uplink is full.

Used in: notebooks/10_many_participants.ipynb, ``python -m rtlib conf``.
"""

from __future__ import annotations

import json
import math
import numbers
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

TOPOLOGIES = ("mesh", "sfu", "mcu")
DEFAULT_LAYERS_KBPS = (150.0, 500.0, 1500.0)  # 180p / 360p / 720p: the three simulcast layers
DEFAULT_AUDIO_KBPS = 32.0  # Opus, 20 ms frames
VIDEO_PACKET_BYTES = 1200  # a full video RTP packet (under a 1280-byte MTU budget)
AUDIO_PACKETS_PER_S = 50.0  # 20 ms Opus frames
MAX_PARTICIPANTS = 1000
COSTS_PATH = Path(__file__).with_name("cpu_costs.json")
# bitrate ceiling (kbit/s) up to which each resolution is sent, after WebRTC's
# simulcast table (third_party/webrtc media/engine/simulcast.cc: 180p up to ~200,
# 360p up to ~700-800, 720p above)
RESOLUTION_CEILING_KBPS = (("180p", 300.0), ("360p", 900.0), ("720p", math.inf))


@lru_cache(maxsize=1)
def cpu_costs() -> dict:
    """The measured costs (``cpu_costs.json``), loaded once."""
    return json.loads(COSTS_PATH.read_text())


def resolution_for(bitrate_kbps: float) -> str:
    """The resolution ("180p", "360p" or "720p") a video stream at this rate is sent at."""
    for name, ceiling in RESOLUTION_CEILING_KBPS:
        if bitrate_kbps <= ceiling:
            return name
    return "720p"  # pragma: no cover


def video_cores(bitrate_kbps: float, *, encode: bool) -> float:
    """CPU cores for one VP8 stream at ``bitrate_kbps`` (30 frames/s), measured costs."""
    c = cpu_costs()
    v = c["vp8"][resolution_for(bitrate_kbps)]
    ms = v["encode_ms_per_frame"] if encode else v["decode_ms_per_frame"]
    return ms * c["fps"] / 1000.0


def audio_cores(*, encode: bool) -> float:
    """CPU cores for one Opus stream (20 ms frames), measured costs."""
    o = cpu_costs()["opus"]
    ms = o["encode_ms_per_frame"] if encode else o["decode_ms_per_frame"]
    return ms * (1000.0 / o["frame_ms"]) / 1000.0


def packets_per_s(video_kbps: float, audio_kbps: float) -> float:
    """RTP packets per second of one stream: each of 30 video frames/s split into packets of at most
    1200 bytes (RFC 7741 §4: a frame spans one or more packets; the last one is short), plus 50
    audio packets/s."""
    fps = cpu_costs()["fps"]
    video = fps * math.ceil(video_kbps * 1000.0 / 8.0 / fps / VIDEO_PACKET_BYTES) if video_kbps > 0 else 0.0
    return video + (AUDIO_PACKETS_PER_S if audio_kbps > 0 else 0.0)


@dataclass(frozen=True)
class Load:
    """What one call costs (kbit/s, counts of video streams, CPU cores).

    ``client_*`` are per client; ``server_*`` totals at the server (zero for mesh).
    ``client_cpu_share`` is the share of one core a client spends on codecs.
    ``received_layer_kbps`` is the video rate each receiver gets per forwarded sender.
    """

    topology: str
    participants: int
    client_up_kbps: float
    client_down_kbps: float
    server_in_kbps: float
    server_out_kbps: float
    server_encodes: int
    server_decodes: int
    client_encodes: int
    client_decodes: int
    server_cpu_cores: float
    client_cpu_share: float
    received_layer_kbps: float = 0.0
    video_streams_received: int = 0
    server_packets_per_s: float = 0.0
    notes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _check_real(value, name: str, lo: float, hi: float, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise ValueError(f"{name} must be a number in [{lo:g}, {hi:g}] {unit}, got {value!r}")
    return float(value)


def _check_participants(participants) -> int:
    if isinstance(participants, bool) or not isinstance(participants, numbers.Integral) \
            or not 2 <= participants <= MAX_PARTICIPANTS:
        raise ValueError(f"participants must be an integer in [2, {MAX_PARTICIPANTS}], got {participants!r}")
    return int(participants)


def check_layers(layers_kbps) -> tuple[float, ...]:
    """Validate a simulcast ladder: 1-4 strictly increasing rates in [10, 20000] kbit/s."""
    try:
        layers = tuple(layers_kbps)
    except TypeError:
        raise ValueError(f"layers_kbps must be a sequence of 1 to 4 increasing rates in kbit/s, "
                         f"got {layers_kbps!r}") from None
    if not 1 <= len(layers) <= 4:
        raise ValueError(f"layers_kbps must hold 1 to 4 rates, got {len(layers)}")
    out = tuple(_check_real(x, "layers_kbps", 10, 20_000, "kbit/s") for x in layers)
    if any(b <= a for a, b in zip(out, out[1:])):
        raise ValueError(f"layers_kbps must be strictly increasing, got {layers!r}")
    return out


def pick_layer(layers_kbps, budget_kbps: float) -> int:
    """Index of the highest layer whose rate fits ``budget_kbps`` (the lowest if none fits)."""
    best = 0
    for i, rate in enumerate(layers_kbps):
        if rate <= budget_kbps:
            best = i
    return best


def load(topology: str, participants: int, bitrate_kbps: float, *, simulcast: bool = False,
         layers_kbps=DEFAULT_LAYERS_KBPS, audio_kbps: float = DEFAULT_AUDIO_KBPS,
         last_n: int | None = None) -> Load:
    """Per-client and server load of an N-person call, in closed form.

    Parameters
    ----------
    topology : "mesh", "sfu" or "mcu" (RFC 7667 §3.4, §3.7, §3.6).
    participants : N in [2, 1000]; everyone sends audio and video.
    bitrate_kbps : video rate of one stream in [10, 20000] kbit/s.  With
        ``simulcast`` it is the rate a receiver can take per sender: it gets the
        highest layer of ``layers_kbps`` at or below it (the lowest if none fits).
    simulcast : SFU only: each client sends every layer of ``layers_kbps`` (RFC 8853).
    layers_kbps : the simulcast ladder, 1-4 increasing rates (default 150/500/1500).
    audio_kbps : audio rate per stream in [0, 510] kbit/s (0: no audio).
    last_n : SFU and MCU: forward (or show) only the video of the ``last_n`` most
        recent speakers, in [0, N-1] (None: all N-1).  Audio always goes to everyone.

    Formulas (V = video per stream, A = audio, M = min(N-1, last_n)):

    ====  ===============  =============  ===================  =====================
          client up        client down    server in            server out
    ====  ===============  =============  ===================  =====================
    mesh  (N-1)(V+A)       (N-1)(V+A)     0                    0
    SFU   V_up + A         M·V_rx+(N-1)A  N·(V_up+A)           N·(M·V_rx + (N-1)A)
    MCU   V + A            V + A          N·(V+A)              N·(V+A)
    ====  ===============  =============  ===================  =====================

    with V_up = sum of the layers under simulcast, else V; V_rx the layer received.

    >>> load("mesh", 4, 1000, audio_kbps=0).client_up_kbps
    3000.0
    >>> load("sfu", 4, 1000, audio_kbps=0).server_out_kbps
    12000.0
    """
    if topology not in TOPOLOGIES:
        raise ValueError(f"topology must be one of {list(TOPOLOGIES)}, got {topology!r}")
    n = _check_participants(participants)
    v = _check_real(bitrate_kbps, "bitrate_kbps", 10, 20_000, "kbit/s")
    a = _check_real(audio_kbps, "audio_kbps", 0, 510, "kbit/s")
    if not isinstance(simulcast, bool):
        raise ValueError(f"simulcast must be True or False, got {simulcast!r}")
    layers = check_layers(layers_kbps)
    if simulcast and topology != "sfu":
        raise ValueError(f"simulcast applies to topology 'sfu' only, got topology {topology!r}")
    if last_n is not None:
        if isinstance(last_n, bool) or not isinstance(last_n, numbers.Integral) or not 0 <= last_n <= n - 1:
            raise ValueError(f"last_n must be None or an integer in [0, {n - 1}] (participants - 1), got {last_n!r}")
        if topology == "mesh":
            raise ValueError("last_n applies to topologies 'sfu' and 'mcu' only, got topology 'mesh'")
    m = n - 1 if last_n is None else int(last_n)
    enc_a, dec_a = (audio_cores(encode=True), audio_cores(encode=False)) if a > 0 else (0.0, 0.0)
    fwd_s = cpu_costs()["sfu_forward_us_per_packet"] * 1e-6
    notes: dict = {"resolution": resolution_for(v), "costs_measured": cpu_costs()["when"]}

    if topology == "mesh":
        up = down = (n - 1) * (v + a)
        cpu = (n - 1) * (video_cores(v, encode=True) + enc_a + video_cores(v, encode=False) + dec_a)
        return Load("mesh", n, up, down, 0.0, 0.0, 0, 0, n - 1, n - 1, 0.0, cpu,
                    received_layer_kbps=v, video_streams_received=n - 1, notes=notes)

    if topology == "sfu":
        if simulcast:
            v_up, v_rx = sum(layers), layers[pick_layer(layers, v)]
            enc_cpu = sum(video_cores(x, encode=True) for x in layers)
            encodes = len(layers)
            notes.update(layers_kbps=list(layers), resolution=resolution_for(v_rx))
        else:
            v_up, v_rx, enc_cpu, encodes = v, v, video_cores(v, encode=True), 1
        up = v_up + a
        down = m * v_rx + (n - 1) * a
        v_up_pps = sum(packets_per_s(x, 0) for x in layers) if simulcast else packets_per_s(v, 0)
        pps_in = n * (v_up_pps + (AUDIO_PACKETS_PER_S if a > 0 else 0))
        pps_out = n * (m * packets_per_s(v_rx, 0) + (n - 1) * (AUDIO_PACKETS_PER_S if a > 0 else 0))
        server_cpu = (pps_in + pps_out) * fwd_s
        client_cpu = enc_cpu + enc_a + m * video_cores(v_rx, encode=False) + (n - 1) * dec_a
        return Load("sfu", n, up, down, n * up, n * down, 0, 0, encodes, m, server_cpu, client_cpu,
                    received_layer_kbps=v_rx, video_streams_received=m, server_packets_per_s=pps_in + pps_out,
                    notes=notes)

    # MCU: decode every stream, mix-minus and compose per receiver, re-encode per receiver
    mix_s = cpu_costs()["mix_minus_us_per_output_frame"] * 1e-6 * AUDIO_PACKETS_PER_S
    server_cpu = n * (video_cores(v, encode=False) + dec_a) + n * (video_cores(v, encode=True) + enc_a) \
        + (n * mix_s if a > 0 else 0.0)
    client_cpu = video_cores(v, encode=True) + enc_a + video_cores(v, encode=False) + dec_a
    notes["tiles_shown"] = m
    pps = 2 * n * packets_per_s(v, a)
    return Load("mcu", n, v + a, v + a, n * (v + a), n * (v + a), n, n, 1, 1, server_cpu, client_cpu,
                received_layer_kbps=v, video_streams_received=1, server_packets_per_s=pps, notes=notes)


def mesh_saturation_n(uplink_kbps: float, bitrate_kbps: float, *, audio_kbps: float = DEFAULT_AUDIO_KBPS) -> int:
    """The smallest N at which a mesh client's uplink is full: (N-1)·(V+A) >= uplink.

    A mesh client sends its stream N-1 times (RFC 7667 §3.4), so a home link with
    ``uplink_kbps`` carries ``uplink / (V+A)`` copies; the call with one more
    participant than that saturates it.  (N-1 copies exactly filling the link counts as
    saturated: there is no headroom left for retransmissions or RTCP.)

    >>> mesh_saturation_n(10_000, 1000, audio_kbps=0)   # 10 Mbit/s up, 1 Mbit/s video
    11
    """
    up = _check_real(uplink_kbps, "uplink_kbps", 1, 10_000_000, "kbit/s")
    v = _check_real(bitrate_kbps, "bitrate_kbps", 10, 20_000, "kbit/s")
    a = _check_real(audio_kbps, "audio_kbps", 0, 510, "kbit/s")
    return int(math.ceil(up / (v + a) - 1e-9)) + 1


def load_table(participants_range, bitrate_kbps: float, **kwargs) -> list[dict]:
    """``load(...).to_dict()`` for each topology and each N of ``participants_range`` (for plots)."""
    rows = []
    for n in participants_range:
        for topo in TOPOLOGIES:
            kw = dict(kwargs)
            if topo != "sfu":
                kw.pop("simulcast", None)
            if topo == "mesh":
                kw.pop("last_n", None)
            if kw.get("last_n") is not None and kw["last_n"] > n - 1:
                kw["last_n"] = n - 1
            rows.append(load(topo, n, bitrate_kbps, **kw).to_dict())
    return rows
