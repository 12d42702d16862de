"""RTP retransmission payload format (RFC 4588): a lost packet resent in its own stream.

When a receiver NACKs a packet (RFC 4585 6.2.1), the simplest repair resends the very
same bytes.  RFC 4588 instead wraps the packet in a separate *retransmission stream*
(section 4): its own SSRC and payload type (negotiated in SDP as ``a=rtpmap:97 rtx/90000``
and ``a=fmtp:97 apt=96``, "associated payload type"), its own sequence numbers, and a
payload that starts with the 2-byte **original sequence number** (OSN) followed by the
original payload.  The timestamp, the marker bit, the CSRCs and (as aiortc and libwebrtc
do) the header extensions are those of the original packet.

Why bother: a receiver keeps per-stream statistics, and a retransmission that arrives
one round trip late would otherwise look like a packet with a huge delay: it inflates
the interarrival jitter of RFC 3550 A.8 (notebook 05 shows it) and muddles the loss
count.  With RTX the original stream's reports describe the network (loss before
repair, as RFC 7509 calls it), and the repairs are counted apart.

:func:`wrap_rtx` and :func:`unwrap_rtx` build and undo the wrapping;
:class:`rtlib.rtp.session.RtpSender` (``rtx_ssrc=``) and
:class:`~rtlib.rtp.session.RtpReceiver` (``rtx_payload_types=``, ``rtx_ssrcs=``) use them.

Used in: notebooks/05_rtp_rtcp.ipynb (the retransmission section), tests/rtp/test_rtx.py
(interop with aiortc's ``wrap_rtx``/``unwrap_rtx``).
"""

from __future__ import annotations

from rtlib.rtp.errors import ParseError
from rtlib.rtp.packet import RtpPacket

#: Bytes the OSN adds in front of the original payload (RFC 4588 section 4).
OSN_BYTES = 2


def wrap_rtx(packet: RtpPacket, *, ssrc: int, payload_type: int, sequence_number: int) -> RtpPacket:
    """The RTX packet that retransmits ``packet`` in the stream ``ssrc``/``payload_type``.

    ``sequence_number`` is the RTX stream's own next number (RFC 4588 section 4: it
    increases by one per retransmission, like any RTP stream's)."""
    return RtpPacket(payload_type, sequence_number & 0xFFFF, packet.timestamp, ssrc,
                     packet.sequence_number.to_bytes(OSN_BYTES, "big") + packet.payload,
                     marker=packet.marker, csrc=packet.csrc, extensions=packet.extensions,
                     extension_profile=packet.extension_profile, extension_data=packet.extension_data)


def unwrap_rtx(rtx: RtpPacket, *, ssrc: int, payload_type: int) -> RtpPacket:
    """The original packet inside ``rtx``, back in stream ``ssrc`` with ``payload_type``
    (the associated payload type).  A payload shorter than the OSN raises :class:`ParseError`."""
    if len(rtx.payload) < OSN_BYTES:
        raise ParseError(f"RTX payload must hold the 2-byte original sequence number, got {len(rtx.payload)} bytes")
    return RtpPacket(payload_type, int.from_bytes(rtx.payload[:OSN_BYTES], "big"), rtx.timestamp, ssrc,
                     rtx.payload[OSN_BYTES:], marker=rtx.marker, csrc=rtx.csrc, extensions=rtx.extensions,
                     extension_profile=rtx.extension_profile, extension_data=rtx.extension_data)
