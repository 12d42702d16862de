"""RTP/RTCP parse and serialise throughput: rtlib.rtp next to aiortc.rtp, in the same run.

The packet is what a WebRTC audio sender emits: 12-byte header, three RFC 8285
one-byte header extensions (audio level, abs-send-time, transport-wide sequence
number) and a 160-byte payload.  Both libraries do the same work:

- **parse**: bytes -> packet object *with the named extension values decoded*
  (aiortc decodes them inside ``RtpPacket.parse`` given a configured
  ``HeaderExtensionsMap``; rtlib parses the elements and ``ExtensionMap.decode`` names
  them);
- **serialise**: a packet object -> bytes (each library's own object, extensions
  included);
- **build**: field values and named extension values -> bytes (object creation,
  extension encoding and serialisation);
- **RTCP parse**: an SR with one report block plus SDES(CNAME), the compound every
  sender emits.

Used in: the closing note of issue 4 (the rtlib/aiortc ratio), benchmarks/RESULTS.md.
"""

from __future__ import annotations

from aiortc import rtp as A
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

from benchmarks.common import Row, best_of
from rtlib.rtp import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    TRANSPORT_CC_URI,
    ExtensionMap,
    ReportBlock,
    RtpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    build_rtcp,
    parse_rtcp,
)

N = 20_000
IDS = {AUDIO_LEVEL_URI: 1, ABS_SEND_TIME_URI: 2, TRANSPORT_CC_URI: 3}
EXT = ExtensionMap.from_uris(IDS)
PAYLOAD = bytes(range(160))


def aiortc_map():
    m = A.HeaderExtensionsMap()
    m.configure(RTCRtpParameters(headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=u)
                                                   for u, i in IDS.items()]))
    return m


def rtlib_build() -> bytes:
    ext = EXT.encode(abs_send_time_s=12.5, transport_seq=4321, audio_level_dbov=-30, voice=True)
    return bytes(RtpPacket(111, 1234, 987654, 0x12345678, PAYLOAD, marker=True, extensions=ext))


def make_aiortc_build(amap):
    def aiortc_build() -> bytes:
        p = A.RtpPacket(payload_type=111, marker=1, sequence_number=1234, timestamp=987654, ssrc=0x12345678,
                        payload=PAYLOAD)
        p.extensions.audio_level = (True, 30)
        p.extensions.abs_send_time = int(12.5 * 2**18)
        p.extensions.transport_sequence_number = 4321
        return p.serialize(amap)
    return aiortc_build


def loop(fn, n=N):
    def run():
        for _ in range(n):
            fn()
    return run


def rate(fn, n=N, repeat=5) -> float:
    return n / best_of(loop(fn, n), repeat=repeat)


def run() -> list[Row]:
    amap = aiortc_map()
    data = rtlib_build()
    aiortc_build = make_aiortc_build(amap)
    # same bytes in both directions, same decoded values
    a = A.RtpPacket.parse(data, amap)
    named = EXT.decode(RtpPacket.parse(data).extensions)
    assert (a.extensions.transport_sequence_number, a.extensions.audio_level) == (named.transport_seq, (True, 30))
    assert RtpPacket.parse(aiortc_build()) == RtpPacket.parse(data)
    ours = RtpPacket.parse(data)

    decode = EXT.decode
    parse = RtpPacket.parse
    rtcp = build_rtcp([SenderReport(0x12345678, 2**63, 987654, 100, 16000, [ReportBlock(0xABCDEF, 3, 10, 70000, 55, 1, 2)]),
                       Sdes([SdesChunk(0x12345678, [(1, b"{6c4a2f1e-0b7d-4f1a-9a0e-3c5d7e9f1a2b}")])])])
    assert len(parse_rtcp(rtcp)) == len(A.RtcpPacket.parse(rtcp)) == 2

    # interleave the two libraries so machine load hits both alike
    results = {}
    for _ in range(2):
        for name, fn in (
            ("rtlib parse", lambda: decode(parse(data).extensions)),
            ("aiortc parse", lambda: A.RtpPacket.parse(data, amap)),
            ("rtlib serialise", ours.__bytes__),
            ("aiortc serialise", lambda: a.serialize(amap)),
            ("rtlib build", rtlib_build),
            ("aiortc build", aiortc_build),
            ("rtlib RTCP parse", lambda: parse_rtcp(rtcp)),
            ("aiortc RTCP parse", lambda: A.RtcpPacket.parse(rtcp)),
        ):
            results[name] = max(results.get(name, 0.0), rate(fn))

    import aiortc

    note = f"aiortc {aiortc.__version__}; audio packet: 3 one-byte extensions + 160 B payload"
    rows = []
    for what, label in (("parse", "RTP parse (+ named extensions)"), ("serialise", "RTP serialise"),
                        ("build", "RTP build (values -> bytes)"), ("RTCP parse", "RTCP parse (SR + SDES)")):
        r, ai = results[f"rtlib {what}"], results[f"aiortc {what}"]
        unit = "compounds/s" if what == "RTCP parse" else "packets/s"
        rows.append(Row(f"{label}: rtlib", r, unit, note=note if what == "parse" else ""))
        rows.append(Row(f"{label}: aiortc", ai, unit))
        bar = 1.0 if what in ("parse", "serialise") else None
        rows.append(Row(f"{label}: rtlib / aiortc", r / ai, "×", bar=bar,
                        note="the issue's bar: at least as fast" if bar else "informative"))
    return rows
