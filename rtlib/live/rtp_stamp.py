"""Stamping a packet as it leaves: transport-wide sequence number, abs-send-time, abs-capture-time.

:class:`rtlib.rtp.RtpSender` packetizes a frame when the encoder hands it over, but a
pacer (draft-ietf-rmcat-gcc-02 section 4) may hold the packets for a while.  What a
congestion controller needs is the moment a packet really goes on the wire, so WebRTC
writes two header extensions only then, and so does the live endpoint:

- the **transport-wide sequence number**
  (draft-holmer-rmcat-transport-wide-cc-extensions-01 section 2), numbered in the order
  packets leave (audio, video, retransmissions and probes share one counter), which the
  receiver's transport-cc feedback refers to;
- **abs-send-time** (6.18 fixed-point seconds, see :mod:`rtlib.rtp.extensions`).

It also adds **abs-capture-time**
(``http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time``): the 64-bit NTP
time (RFC 5905 format, as in RTCP SRs, RFC 3550 section 4) at which the frame was
captured, so the receiver *measures* capture-to-render (glass-to-glass) delay instead
of estimating it.  Both endpoints of the live call share one machine clock, so no
clock-offset estimate is needed.

Used in: notebooks/12_live_call.ipynb (measured end-to-end delay), :mod:`rtlib.live.endpoint_core`.
"""

from __future__ import annotations

from rtlib.rtp.errors import ParseError
from rtlib.rtp.extensions import ExtensionMap
from rtlib.rtp.packet import RtpPacket

ABS_CAPTURE_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
#: The RFC 8285 id this course gives abs-capture-time (1-3 are :class:`ExtensionMap`'s defaults).
ABS_CAPTURE_TIME_ID = 4


def encode_abs_capture_time(capture_ntp: int) -> bytes:
    """abs-capture-time's short form: the 64-bit NTP capture timestamp, 8 bytes."""
    if isinstance(capture_ntp, bool) or not isinstance(capture_ntp, int) or not 0 <= capture_ntp < 1 << 64:
        raise ValueError(f"capture_ntp must be a 64-bit unsigned NTP timestamp, got {capture_ntp!r}")
    return capture_ntp.to_bytes(8, "big")


def decode_abs_capture_time(value: bytes) -> int:
    """The 64-bit NTP capture timestamp from an abs-capture-time value (8 or 16 bytes)."""
    if len(value) not in (8, 16):
        raise ParseError(f"abs-capture-time value must be 8 or 16 bytes, got {len(value)}")
    return int.from_bytes(value[:8], "big")


def stamp_on_send(packet: RtpPacket, ext_map: ExtensionMap, *, transport_seq: int, send_s: float,
                  capture_ntp: int | None = None) -> bytes:
    """The packet's bytes with its send-time extensions written now.

    ``packet`` is changed in place (its extension dict); ``transport_seq`` is the
    16-bit transport-wide number, ``send_s`` the send time (seconds, the sender's
    clock, for abs-send-time), ``capture_ntp`` the frame's capture time or None.
    """
    packet.extensions.update(ext_map.encode(abs_send_time_s=send_s, transport_seq=transport_seq))
    if capture_ntp is not None:
        packet.extensions[ABS_CAPTURE_TIME_ID] = encode_abs_capture_time(capture_ntp)
    return bytes(packet)


__all__ = ["ABS_CAPTURE_TIME_ID", "ABS_CAPTURE_TIME_URI", "decode_abs_capture_time", "encode_abs_capture_time",
           "stamp_on_send"]
