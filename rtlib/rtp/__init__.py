"""RTP and RTCP on the wire (RFC 3550 and friends), receiver statistics, pcap.

==========================  ===============================================================
module                      what
==========================  ===============================================================
:mod:`.packet`              :class:`RtpPacket` (RFC 3550 5.1) with RFC 8285 header extensions
:mod:`.extensions`          named extensions: abs-send-time, transport-wide seq, audio level (RFC 6464)
:mod:`.rtcp`                SR, RR, SDES, BYE, APP, generic NACK, PLI, FIR, REMB, transport-cc; compound packets
:mod:`.stats`               RFC 3550 A.1/A.3/A.8 receiver statistics, RTT from LSR/DLSR, RTCP interval (6.3)
:mod:`.rtx`                 RFC 4588 retransmission payload format (:func:`wrap_rtx`, :func:`unwrap_rtx`)
:mod:`.session`             sans-IO :class:`RtpSender` / :class:`RtpReceiver` (NACK, optional RTX)
:mod:`.pcap`                captures written with dpkt, for Wireshark
:mod:`.call`                a one-way call through :func:`rtlib.net.simulate_path` (``rtlib call``)
:mod:`.tshark`              what Wireshark's tshark says about a capture (optional)
==========================  ===============================================================

Every parser raises :class:`ParseError` (a ``ValueError``) for malformed input and
nothing else; it is the one class of :mod:`rtlib.errors`, also ``rtlib.ParseError``,
which the depacketizers of :mod:`rtlib.media.packetize` raise too.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""

from rtlib.rtp.errors import ParseError
from rtlib.rtp.extensions import (
    ABS_SEND_TIME_URI,
    AUDIO_LEVEL_URI,
    DEFAULT_EXTENSION_MAP,
    TRANSPORT_CC_URI,
    ExtensionMap,
    NamedExtensions,
)
from rtlib.rtp.packet import RtpPacket, describe_header, is_rtcp
from rtlib.rtp.rtcp import (
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
    RtcpPacket,
    Sdes,
    SdesChunk,
    SenderReport,
    TransportCC,
    build_rtcp,
    parse_rtcp,
)
from rtlib.rtp.stats import (
    SourceStats,
    extend_sequence_numbers,
    interarrival_jitter,
    ntp_from_unix_s,
    ntp_short,
    round_trip_time_s,
    rtcp_interval,
    unix_s_from_ntp,
)
from rtlib.rtp.rtx import unwrap_rtx, wrap_rtx
from rtlib.rtp.session import Frame, RtpReceiver, RtpSender
from rtlib.rtp.pcap import read_pcap, write_pcap


def parse(data: bytes):
    """Parse a datagram as RTP or RTCP (told apart as in RFC 5761).

    Returns an :class:`RtpPacket` or a list of RTCP packets; :class:`ParseError` when
    malformed.
    """
    return parse_rtcp(data) if is_rtcp(data) else RtpPacket.parse(data)


__all__ = [
    "ABS_SEND_TIME_URI", "AUDIO_LEVEL_URI", "App", "Bye", "DEFAULT_EXTENSION_MAP", "ExtensionMap", "Feedback",
    "Fir", "Frame", "GenericNack", "NamedExtensions", "ParseError", "Pli", "RawRtcp", "ReceiverReport", "Remb",
    "ReportBlock", "RtcpPacket", "RtpPacket", "RtpReceiver", "RtpSender", "Sdes", "SdesChunk", "SenderReport",
    "SourceStats", "TRANSPORT_CC_URI", "TransportCC", "build_rtcp", "describe_header", "extend_sequence_numbers",
    "interarrival_jitter", "is_rtcp", "ntp_from_unix_s", "ntp_short", "parse", "parse_rtcp", "read_pcap",
    "round_trip_time_s", "rtcp_interval", "unix_s_from_ntp", "unwrap_rtx", "wrap_rtx", "write_pcap",
]
