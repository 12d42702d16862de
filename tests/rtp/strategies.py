"""Hypothesis strategies for RTP and RTCP packets (shared by the rtp tests)."""

from hypothesis import strategies as st

from rtlib.rtp import (
    App,
    Bye,
    Feedback,
    Fir,
    GenericNack,
    Pli,
    RawRtcp,
    ReceiverReport,
    Remb,
    ReportBlock,
    RtpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    TransportCC,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
words = st.integers(0, 6).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


@st.composite
def rtp_packets(draw):
    form = draw(st.sampled_from(["none", "one", "two", "auto", "generic", "empty8285"]))
    extensions, profile, data = {}, None, b""
    if form in ("one", "auto"):
        extensions = draw(st.dictionaries(st.integers(1, 14), st.binary(min_size=1, max_size=16), max_size=6))
        profile = 0xBEDE if form == "one" else None
    elif form == "two":
        extensions = draw(st.dictionaries(st.integers(1, 255), st.binary(max_size=40), max_size=6))
        profile = 0x1000 | draw(st.integers(0, 15))
    elif form == "generic":
        profile = draw(u16.filter(lambda p: p != 0xBEDE and p & 0xFFF0 != 0x1000))
        data = draw(words)
    elif form == "empty8285":
        profile = draw(st.sampled_from([0xBEDE, 0x1000, 0x100F]))
    return RtpPacket(
        payload_type=draw(st.integers(0, 127)), sequence_number=draw(u16), timestamp=draw(u32), ssrc=draw(u32),
        payload=draw(st.binary(max_size=300)), marker=draw(st.booleans()),
        csrc=draw(st.lists(u32, max_size=15)), extensions=extensions, extension_profile=profile,
        extension_data=data, padding_size=draw(st.integers(0, 255)),
    )


report_blocks = st.builds(ReportBlock, ssrc=u32, fraction_lost=u8, packets_lost=st.integers(-(1 << 23), (1 << 23) - 1),
                          highest_seq=u32, jitter=u32, lsr=u32, dlsr=u32)
sender_reports = st.builds(SenderReport, ssrc=u32, ntp_timestamp=st.integers(0, 2**64 - 1), rtp_timestamp=u32,
                           packet_count=u32, octet_count=u32, reports=st.lists(report_blocks, max_size=31),
                           profile_extension=words)
receiver_reports = st.builds(ReceiverReport, ssrc=u32, reports=st.lists(report_blocks, max_size=31),
                             profile_extension=words)
sdes = st.builds(Sdes, chunks=st.lists(st.builds(SdesChunk, ssrc=u32, items=st.lists(
    st.tuples(st.integers(1, 255), st.binary(max_size=255)), max_size=4)), max_size=31))
byes = st.builds(Bye, sources=st.lists(u32, max_size=31),
                 reason=st.text(max_size=60).filter(lambda r: len(r.encode()) <= 255))
apps = st.builds(App, ssrc=u32, name=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=4,
                                             max_size=4), subtype=st.integers(0, 31), data=words)


@st.composite
def nacks(draw):
    start = draw(u16)
    offsets = sorted(draw(st.sets(st.integers(0, 2000), min_size=1, max_size=60)))
    return GenericNack(draw(u32), draw(u32), [(start + o) & 0xFFFF for o in offsets])


plis = st.builds(Pli, ssrc=u32, media_ssrc=u32)
firs = st.builds(Fir, ssrc=u32, entries=st.lists(st.tuples(u32, u8), min_size=1, max_size=10), media_ssrc=u32)
rembs = st.builds(Remb, ssrc=u32, bitrate_bps=st.builds(lambda m, e: m << e, st.integers(0, 0x3FFFF), st.integers(0, 63)),
                  ssrcs=st.lists(u32, max_size=20), media_ssrc=u32)
deltas = st.one_of(st.none(), st.integers(0, 255), st.integers(-32768, 32767))
tccs = st.builds(TransportCC, ssrc=u32, media_ssrc=u32, base_seq=u16,
                 reference_time=st.integers(-(1 << 23), (1 << 23) - 1), fb_pkt_count=u8,
                 recv_deltas=st.one_of(st.lists(deltas, min_size=1, max_size=300),
                                       st.lists(st.sampled_from([None, 4]), min_size=1, max_size=3000)))


@st.composite
def feedbacks(draw):
    pt = draw(st.sampled_from([205, 206]))
    taken = {205: {1, 15}, 206: {1, 4, 15}}[pt]
    fmt = draw(st.integers(0, 31).filter(lambda f: f not in taken))
    return Feedback(pt, fmt, draw(u32), draw(u32), draw(words))


raws = st.builds(RawRtcp, packet_type=st.integers(192, 223).filter(lambda t: not 200 <= t <= 206),
                 count=st.integers(0, 31), payload=st.binary(max_size=40))

rtcp_packets = st.one_of(sender_reports, receiver_reports, sdes, byes, apps, nacks(), plis, firs, rembs, tccs,
                         feedbacks(), raws)
compounds = st.lists(rtcp_packets, min_size=1, max_size=5)


def byte_edits(max_pos: int):
    """Edits to apply to a packet: (position, value, op) with op flip/insert/delete/truncate."""
    return st.lists(st.tuples(st.integers(0, max_pos), st.integers(0, 255), st.sampled_from("fidt")),
                    min_size=1, max_size=4)


def mutate(data: bytes, edits) -> bytes:
    """Apply ``byte_edits`` to ``data``: flip bits, insert, delete or truncate bytes."""
    out = bytearray(data)
    for pos, val, op in edits:
        i = pos % (len(out) + 1)
        if op == "f" and i < len(out):
            out[i] ^= val or 1
        elif op == "i":
            out.insert(i, val)
        elif op == "d" and i < len(out):
            del out[i]
        elif op == "t":
            del out[i:]
    return bytes(out)
