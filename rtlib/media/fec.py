"""Forward error correction: XOR parity (RFC 5109 ULPFEC) and redundant audio (RFC 2198 RED).

**Parity FEC.**  After every ``k`` media packets the sender adds one FEC packet
holding the bitwise XOR of the ``k``.  If exactly one of the ``k + 1`` is lost, XOR
of the others gives it back, bit for bit; if two are lost, nothing can be recovered
(and nothing must be invented).  The price: ``1/k`` more packets, and a delay, since
the repair only comes after the whole group has been sent.

The wire format is RFC 5109's (section 7): an RTP header, the 10-byte FEC header,
then one level-0 ULP header and its payload::

    FEC header (7.3)   |E|L|P|X|  CC   |M| PT recovery |          SN base            |
                       |                          TS recovery                          |
                       |        length recovery        |
    ULP level 0 (7.4)  |       protection length       |   mask (16 bits, or 48 if L)  |

Generation (section 8.1): for each media packet, take the first 8 bytes of its RTP
header, its length after the 12-byte fixed header (CSRC list, extension, payload,
padding) as a 16-bit number, then those bytes themselves; pad all to one length
with zeros and XOR.  Bits 2-7 of the result are P, X, CC, M; byte 1 is PT; bytes
4-7 the timestamp; the 16-bit length goes to *length recovery*; the rest is the FEC
payload.  ``SN base`` is the lowest protected sequence number and bit ``i`` of the
mask (most significant first) marks ``SN base + i``.  Recovery (8.2) runs the same
XOR over the received packets and the FEC packet and rebuilds the missing packet
with the SSRC of the stream and the sequence number the mask leaves over.

FEC packets go in a stream of their own (section 14.1): own payload type and
sequence numbers, the media's SSRC, marker 0, the timestamp of the media at the
time of sending (here: that of the group's last packet).

**RED** (RFC 2198) puts an older frame's payload again in each packet ("redundant
encoding"): with a distance of one frame, packet ``n`` carries frame ``n`` and frame
``n - 1``.  Any loss followed by a received packet is repaired, one frame later; a
burst of ``b`` losses needs a distance ``>= b``.  Opus's in-band FEC (LBRR) is the
same idea inside the codec, at a lower bitrate.

Trace-level helpers (:func:`fec_schedule`, :func:`fec_recover`, :func:`red_recover`)
compute *when* each lost packet is repaired, so that the jitter buffer can decide
whether the repair came in time.

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from rtlib.rtp.errors import ParseError
from rtlib.viz.experiments import Param, experiment

FEC_HEADER_BYTES = 10
RTP_HEADER_BYTES = 12
SHORT_MASK_BITS, LONG_MASK_BITS = 16, 48
FEC_PAYLOAD_TYPE = 117  # a dynamic payload type, negotiated in SDP in real life
RED_PAYLOAD_TYPE = 116


# -- media packets -------------------------------------------------------------------
def _media_fields(data: bytes) -> tuple[int, int, int]:
    """(sequence number, timestamp, ssrc) of an RTP packet, checking only what FEC needs."""
    if not isinstance(data, (bytes, bytearray)):
        raise ParseError(f"an RTP packet must be bytes, got {type(data).__name__}")
    if len(data) < RTP_HEADER_BYTES:
        raise ParseError(f"RTP packet is {len(data)} bytes, shorter than the 12-byte fixed header")
    if data[0] >> 6 != 2:
        raise ParseError(f"RTP version must be 2, got {data[0] >> 6}")
    if len(data) - RTP_HEADER_BYTES > 0xFFFF:
        raise ParseError(f"RTP packet of {len(data)} bytes is too long for ULPFEC's 16-bit length")
    _, _, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    return seq, ts, ssrc


def _bit_string(data: bytes) -> bytes:
    """RFC 5109 8.1: first 8 header bytes, 16-bit length of the rest, then the rest."""
    return bytes(data[:8]) + struct.pack("!H", len(data) - RTP_HEADER_BYTES) + bytes(data[RTP_HEADER_BYTES:])


def _xor(strings) -> bytes:
    """Bitwise XOR of byte strings, the shorter ones padded with zeros (vectorised)."""
    strings = list(strings)
    size = max(len(s) for s in strings)
    acc = np.zeros(size, dtype=np.uint8)
    for s in strings:
        acc[: len(s)] ^= np.frombuffer(s, dtype=np.uint8)
    return acc.tobytes()


# -- the FEC packet ------------------------------------------------------------------
@dataclass(frozen=True)
class FecPacket:
    """A parsed RFC 5109 FEC packet (one protection level)."""

    seq: int  # of the FEC stream
    timestamp: int
    ssrc: int
    payload_type: int
    recovery: bytes  # the 10-byte bit-string head: 8 header bytes XORed, 16-bit length XORed
    sn_base: int
    mask: int  # bit (bits-1-i) set <=> SN base + i is protected
    long_mask: bool
    payload: bytes  # level-0 payload, protection-length bytes

    @property
    def mask_bits(self) -> int:
        return LONG_MASK_BITS if self.long_mask else SHORT_MASK_BITS

    def protected(self) -> list[int]:
        """The protected sequence numbers, in mask order (mod 2^16)."""
        bits = self.mask_bits
        return [(self.sn_base + i) & 0xFFFF for i in range(bits) if self.mask >> (bits - 1 - i) & 1]

    def __bytes__(self) -> bytes:
        rtp = struct.pack("!BBHII", 0x80, self.payload_type & 0x7F, self.seq, self.timestamp, self.ssrc)
        r = self.recovery
        # E=0, L, then P X CC from the recovery bits (the V bits are not sent), M+PT, SN base.
        b0 = (0x40 if self.long_mask else 0) | (r[0] & 0x3F)
        fec = bytes([b0, r[1]]) + struct.pack("!H", self.sn_base) + r[4:8] + r[8:10]
        mask = self.mask.to_bytes(self.mask_bits // 8, "big")
        level = struct.pack("!H", len(self.payload)) + mask
        return rtp + fec + level + self.payload

    @classmethod
    def parse(cls, data: bytes) -> "FecPacket":
        """Parse an FEC packet; :class:`rtlib.rtp.ParseError` for malformed bytes."""
        seq, ts, ssrc = _media_fields(data)
        head = RTP_HEADER_BYTES + FEC_HEADER_BYTES
        if len(data) < head + 4:
            raise ParseError(f"FEC packet is {len(data)} bytes, shorter than RTP + FEC + level headers ({head + 4})")
        fec = data[RTP_HEADER_BYTES:head]
        if fec[0] & 0x80:
            raise ParseError("FEC header E bit must be 0 (RFC 5109 7.3: reserved for extensions)")
        long_mask = bool(fec[0] & 0x40)
        mask_bytes = LONG_MASK_BITS // 8 if long_mask else SHORT_MASK_BITS // 8
        if len(data) < head + 2 + mask_bytes:
            raise ParseError(f"FEC packet is {len(data)} bytes, too short for its {8 * mask_bytes}-bit mask")
        (prot_len,) = struct.unpack_from("!H", data, head)
        mask = int.from_bytes(data[head + 2: head + 2 + mask_bytes], "big")
        body = data[head + 2 + mask_bytes:]
        if len(body) < prot_len:
            raise ParseError(f"FEC level 0 announces {prot_len} protected bytes, the packet holds {len(body)}")
        if mask == 0:
            raise ParseError("FEC mask protects no packet")
        (sn_base,) = struct.unpack_from("!H", fec, 2)
        recovery = bytes([fec[0] & 0x3F, fec[1], 0, 0]) + fec[4:8] + fec[8:10]
        return cls(seq, ts, ssrc, data[1] & 0x7F, recovery, sn_base, mask, long_mask, bytes(body[:prot_len]))


def make_fec_packet(media, *, seq: int = 0, payload_type: int = FEC_PAYLOAD_TYPE) -> bytes:
    """The RFC 5109 FEC packet protecting the RTP packets ``media`` (full protection, one level).

    The packets must share one SSRC and their sequence numbers must fit in a 16-bit
    mask from the lowest one (48 bits with the long mask, chosen automatically).
    """
    media = list(media)
    if not media:
        raise ValueError("media must hold at least one RTP packet to protect")
    fields = [_media_fields(p) for p in media]
    ssrcs = {f[2] for f in fields}
    if len(ssrcs) != 1:
        raise ValueError(f"media packets must share one SSRC, got {len(ssrcs)} different")
    seqs = [f[0] for f in fields]
    if len(set(seqs)) != len(seqs):
        raise ValueError("media packets must have distinct sequence numbers")
    # SN base: the sequence number from which all others are at most 47 ahead (wrap-aware).
    base = min(seqs, key=lambda s: max((t - s) & 0xFFFF for t in seqs))
    offsets = [(s - base) & 0xFFFF for s in seqs]
    if max(offsets) >= LONG_MASK_BITS:
        raise ValueError(f"protected sequence numbers must lie within {LONG_MASK_BITS} of each other, "
                         f"got a span of {max(offsets) + 1}")
    long_mask = max(offsets) >= SHORT_MASK_BITS
    bits = LONG_MASK_BITS if long_mask else SHORT_MASK_BITS
    mask = 0
    for o in offsets:
        mask |= 1 << (bits - 1 - o)
    parity = _xor(_bit_string(p) for p in media)
    last_ts = fields[int(np.argmax(offsets))][1]
    fec = FecPacket(seq & 0xFFFF, last_ts, ssrcs.pop(), payload_type, parity[:10], base, mask, long_mask,
                    parity[10:])
    return bytes(fec)


def recover(fec, received) -> bytes | None:
    """The one protected packet missing from ``received``, rebuilt bit for bit; else None.

    ``fec``: FEC packet bytes or a :class:`FecPacket`.  ``received``: media RTP packets
    (bytes) that arrived (others are ignored).  Returns None when nothing is missing
    or when two or more protected packets are missing: XOR parity cannot tell two
    unknowns apart, so it never guesses.
    """
    f = fec if isinstance(fec, FecPacket) else FecPacket.parse(fec)
    protected = f.protected()
    have = {}
    for p in received:
        seq, _, ssrc = _media_fields(p)
        if ssrc == f.ssrc and seq in protected:
            have[seq] = p
    missing = [s for s in protected if s not in have]
    if len(missing) != 1:
        return None
    fec_string = f.recovery + f.payload
    bits = _xor([fec_string, *(_bit_string(p) for p in have.values())])
    length = struct.unpack_from("!H", bits, 8)[0]
    if 10 + length > len(bits):
        return None  # inconsistent with the FEC packet: refuse rather than invent
    header = bytes([0x80 | (bits[0] & 0x3F), bits[1]]) + struct.pack("!H", missing[0]) + bits[4:8] \
        + struct.pack("!I", f.ssrc)
    return header + bits[10:10 + length]


class FecEncoder:
    """Sans-IO sender side: after every ``k`` media packets, one FEC packet (RFC 5109)."""

    def __init__(self, k: int, *, payload_type: int = FEC_PAYLOAD_TYPE, first_seq: int = 0):
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= LONG_MASK_BITS:
            raise ValueError(f"k must be an integer in [1, {LONG_MASK_BITS}] packets per FEC packet, got {k!r}")
        self.k, self.payload_type, self.seq = k, payload_type, first_seq & 0xFFFF
        self._group: list[bytes] = []

    def push(self, media: bytes) -> list[bytes]:
        """A media packet goes out; returns the FEC packet to send after it, if the group is full."""
        self._group.append(bytes(media))
        if len(self._group) < self.k:
            return []
        fec = make_fec_packet(self._group, seq=self.seq, payload_type=self.payload_type)
        self.seq = (self.seq + 1) & 0xFFFF
        self._group = []
        return [fec]


class FecDecoder:
    """Sans-IO receiver side: keeps recent media and FEC packets, returns what it can rebuild."""

    def __init__(self, history: int = 256):
        self.history = history
        self._media: dict[int, bytes] = {}
        self._fec: list[FecPacket] = []
        self.recovered = 0

    def push_media(self, media: bytes) -> list[bytes]:
        seq, _, _ = _media_fields(media)
        self._media[seq] = bytes(media)
        return self._try()

    def push_fec(self, data: bytes) -> list[bytes]:
        self._fec.append(FecPacket.parse(data))
        return self._try()

    def _try(self) -> list[bytes]:
        out = []
        progress = True
        while progress:  # a rebuilt packet may complete another group
            progress = False
            for f in list(self._fec):
                missing = [s for s in f.protected() if s not in self._media]
                if not missing:
                    self._fec.remove(f)
                    continue
                if len(missing) == 1:
                    pkt = recover(f, [self._media[s] for s in f.protected() if s in self._media])
                    self._fec.remove(f)
                    if pkt is not None:
                        self._media[missing[0]] = pkt
                        out.append(pkt)
                        self.recovered += 1
                        progress = True
        if len(self._media) > self.history:
            for s in sorted(self._media)[: len(self._media) - self.history]:
                del self._media[s]
        self._fec = self._fec[-self.history:]
        return out


# -- RED (RFC 2198) ------------------------------------------------------------------
def red_pack(primary: bytes, primary_pt: int, redundant=()) -> bytes:
    """An RFC 2198 payload: ``redundant`` blocks ``(pt, timestamp_offset, data)`` (oldest first), then the primary.

    Each redundant block has a 4-byte header (F=1, block PT, 14-bit timestamp
    offset, 10-bit length); the primary a 1-byte header (F=0, PT) (RFC 2198 section 3).
    """
    head = b""
    for pt, offset, data in redundant:
        if not 0 <= pt <= 127:
            raise ValueError(f"block payload type must be in [0, 127], got {pt!r}")
        if not 0 <= offset < 1 << 14:
            raise ValueError(f"timestamp offset must be in [0, 16383], got {offset!r}")
        if len(data) >= 1 << 10:
            raise ValueError(f"a redundant block must be shorter than 1024 bytes, got {len(data)}")
        head += struct.pack("!I", 0x80000000 | pt << 24 | offset << 10 | len(data))
    if not 0 <= primary_pt <= 127:
        raise ValueError(f"primary_pt must be in [0, 127], got {primary_pt!r}")
    return head + bytes([primary_pt]) + b"".join(bytes(d) for _, _, d in redundant) + bytes(primary)


def red_unpack(payload: bytes) -> list[tuple[int, int, bytes]]:
    """The blocks of an RFC 2198 payload as ``(pt, timestamp_offset, data)``, primary last (offset 0)."""
    headers = []
    pos = 0
    while True:
        if pos >= len(payload):
            raise ParseError("RED payload ends inside its block headers")
        if payload[pos] & 0x80:
            if pos + 4 > len(payload):
                raise ParseError("RED payload ends inside a 4-byte block header")
            (word,) = struct.unpack_from("!I", payload, pos)
            headers.append(((word >> 24) & 0x7F, (word >> 10) & 0x3FFF, word & 0x3FF))
            pos += 4
        else:
            primary_pt = payload[pos] & 0x7F
            pos += 1
            break
    blocks = []
    for pt, offset, length in headers:
        if pos + length > len(payload):
            raise ParseError(f"RED block of {length} bytes runs past the end of the payload")
        blocks.append((pt, offset, bytes(payload[pos:pos + length])))
        pos += length
    blocks.append((primary_pt, 0, bytes(payload[pos:])))
    return blocks


# -- trace level: when is each loss repaired? ------------------------------------------------
def fec_schedule(send_s, k: int):
    """Media send times plus one FEC packet after every ``k``: ``(send_s, is_fec, group)``.

    The FEC packet of a group leaves with its last media packet; a last, incomplete
    group gets no FEC.  Feed ``send_s`` to a path (e.g. ``rtlib.net.simulate_path``)
    and the arrivals to :func:`fec_recover`.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= LONG_MASK_BITS:
        raise ValueError(f"k must be an integer in [1, {LONG_MASK_BITS}], got {k!r}")
    media = np.asarray(send_s, dtype=float)
    n_groups = media.size // k
    group = np.arange(media.size) // k
    fec_send = media[k - 1::k][:n_groups] if n_groups else np.zeros(0)
    all_send = np.concatenate([media, fec_send])
    is_fec = np.concatenate([np.zeros(media.size, bool), np.ones(n_groups, bool)])
    all_group = np.concatenate([group, np.arange(n_groups)])
    order = np.lexsort((is_fec, all_send))  # by time; a group's FEC right after its last media packet
    return all_send[order], is_fec[order], all_group[order]


def fec_recover(arrival_s, is_fec, group, k: int) -> np.ndarray:
    """Media arrival times after parity FEC: a lost packet is rebuilt when the rest of its group is in.

    Inputs as returned by :func:`fec_schedule` plus the path's ``arrival_s`` (``nan`` =
    lost).  Returns one arrival time per media packet, in media order: the original
    arrival, or for a repaired packet the arrival of the last packet its repair
    needed (the other ``k - 1`` media packets and the FEC packet), or ``nan``.
    """
    arrival = np.asarray(arrival_s, dtype=float)
    is_fec = np.asarray(is_fec, dtype=bool)
    group = np.asarray(group)
    media_arr = arrival[~is_fec]
    media_group = group[~is_fec]
    out = media_arr.copy()
    n_groups = int(is_fec.sum())
    full = media_group < n_groups
    if n_groups == 0:
        return out
    lost = np.isnan(media_arr)
    lost_per_group = np.bincount(media_group[full], weights=lost[full], minlength=n_groups)
    fec_arr = np.full(n_groups, np.nan)
    fec_arr[group[is_fec]] = arrival[is_fec]
    # When the last needed packet of each group arrives (nan if the FEC packet is lost).
    last = np.full(n_groups, -np.inf)
    np.maximum.at(last, media_group[full & ~lost], media_arr[full & ~lost])
    ready = np.maximum(last, fec_arr)
    fixable = full & lost & (lost_per_group[np.minimum(media_group, n_groups - 1)] == 1)
    out[fixable] = ready[media_group[fixable]]
    return out


def red_recover(arrival_s, distance: int = 1) -> np.ndarray:
    """Arrival times after RED with one redundant copy ``distance`` frames later (``nan`` = still lost)."""
    if isinstance(distance, bool) or not isinstance(distance, (int, np.integer)) or not 1 <= distance <= 16:
        raise ValueError(f"distance must be an integer in [1, 16] frames, got {distance!r}")
    arrival = np.asarray(arrival_s, dtype=float)
    out = arrival.copy()
    later = np.full(arrival.size, np.nan)
    later[:-distance] = arrival[distance:]
    lost = np.isnan(arrival)
    out[lost] = later[lost]
    return out


# -- chapter 07 widget: bursty loss against FEC ------------------------------------------
BURST_SWEEP = (1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def repair_vs_bursts(*, loss: float, burst_lens=BURST_SWEEP, n_packets: int = 30_000, seed: int = 0) -> dict:
    """Residual loss after parity FEC (k = 2, 4, 8) and RED (distance 1 and 3) as losses bunch up.

    Loss flags come from ``rtlib.net``'s Gilbert-Elliott model at mean ``loss`` and
    mean burst length ``burst_len`` (packets); FEC packets are in the same stream,
    so a burst can take media and FEC packets alike.  No deadline here: only
    whether the repair is possible at all.
    """
    from rtlib.net.loss import loss_pattern

    send = 0.02 * np.arange(n_packets)
    out = {"none": [], "fec k=2": [], "fec k=4": [], "fec k=8": [], "red d=1": [], "red d=3": []}
    schedules = {k: fec_schedule(send, k) for k in (2, 4, 8)}  # the same for every burst length
    for b in burst_lens:
        lost = loss_pattern(n_packets, loss, b, seed=seed)
        media_only = np.where(lost, np.nan, send)
        out["none"].append(float(lost.mean()))
        for k, (all_send, is_fec, group) in schedules.items():
            gone = loss_pattern(all_send.size, loss, b, seed=seed)
            arr = fec_recover(np.where(gone, np.nan, all_send), is_fec, group, k)
            out[f"fec k={k}"].append(float(np.isnan(arr).mean()))
        for d in (1, 3):
            out[f"red d={d}"].append(float(np.isnan(red_recover(media_only, d)).mean()))
    return {"burst_len": np.asarray(burst_lens, dtype=float), "loss": loss,
            "residual": {k: np.array(v) for k, v in out.items()}}


def _plot_bursts(r):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.5, 4.6))
    styles = {"none": ("no repair", COLORS["neutral"], "-"),
              "fec k=2": ("parity FEC k=2 (+50 % packets)", COLORS["good"], "-"),
              "fec k=4": ("parity FEC k=4 (+25 %)", COLORS["good"], "--"),
              "fec k=8": ("parity FEC k=8 (+12.5 %)", COLORS["good"], ":"),
              "red d=1": ("RED, previous frame (+100 % payload)", COLORS["accent"], "-"),
              "red d=3": ("RED, frame n-3 (+100 % payload, 60 ms later)", COLORS["accent"], "--")}
    for key, y in r["residual"].items():
        label, color, ls = styles[key]
        ax.plot(r["burst_len"], 100 * y, ls, marker="o", ms=3.5, color=color, label=label)
    label_axes(ax, "mean burst length [packets]", "frames still lost after repair [%]",
               f"Bursty loss vs FEC: {r['loss'] * 100:g} % of packets lost")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8.5)
    return fig


@experiment(
    "fec_vs_bursts",
    plot=_plot_bursts,
    notebook="07_jitter_buffers",
    loss=Param(0.05, 0.01, 0.2, 0.01, label="loss (fraction)"),
)
def fec_vs_bursts(loss: float) -> dict:
    """How parity FEC and RED fare as the same loss rate comes in longer bursts."""
    return repair_vs_bursts(loss=loss)
