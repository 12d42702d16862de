"""Baseline from a real implementation: aiortc's receive-side estimator and REMB.

aiortc (the Python WebRTC stack the course uses for real calls) implements the
*receive-side* variant of GCC (draft-ietf-rmcat-gcc-02 section 3, second variant)
in ``aiortc.rate.RemoteBitrateEstimator``, a port of an older libwebrtc: an
inter-arrival filter on abs-send-time, a two-state Kalman "overuse estimator", an
over-use detector with WebRTC's adaptive threshold (k_up 0.0087, k_down 0.039), and
an AIMD rate control.  Its receiver (``RTCRtpReceiver``) feeds it every RTP packet
with an abs-send-time extension and sends a REMB whenever it returns an estimate
(every 0.5 s, or at once on over-use).  Its sender (``RTCRtpSender``) sets the
encoder's target bitrate to the REMB value; there is no loss-based controller.

Here the same objects are driven by the simulated packet arrivals:
:class:`AiortcRembReceiver` wraps the estimator (aiortc's own code, unmodified) at
the receiver and turns its output into REMB bytes; :class:`AiortcRembController`
is the sender, following the REMB as aiortc does.  This is an adapter: aiortc's
classes expect integer milliseconds and the raw 24-bit abs-send-time, given here
exactly as its receiver gives them.

Used in: notebooks/08_adaptive_bitrate.ipynb (the ``aiortc-remb`` baseline).
"""

from __future__ import annotations

from rtlib.cc.base import RateController
from rtlib.cc.feedback import remb_bytes


class AiortcRembReceiver:
    """Receiver side: aiortc's RemoteBitrateEstimator fed packet arrivals, REMB bytes out."""

    def __init__(self, ssrc: int = 1):
        from aiortc.rate import RemoteBitrateEstimator

        self.ssrc = ssrc
        self.estimator = RemoteBitrateEstimator()
        self.estimates: list[tuple[float, int]] = []

    def on_packet(self, arrival_s: float, abs_send_time_24: int, payload_bytes: int, media_ssrc: int) -> bytes | None:
        """Feed one RTP packet, as aiortc's receiver does; returns REMB bytes when it has an estimate."""
        out = self.estimator.add(arrival_time_ms=int(arrival_s * 1000), abs_send_time=abs_send_time_24,
                                 payload_size=payload_bytes, ssrc=media_ssrc)
        if out is None:
            return None
        bitrate, ssrcs = out
        self.estimates.append((arrival_s, bitrate))
        return remb_bytes(self.ssrc, bitrate, ssrcs)


class AiortcRembController(RateController):
    """Sender side of the aiortc baseline: the target is the last REMB (clamped)."""

    name = "aiortc-remb"
    feedback = "remb"

    def on_remb(self, now_s: float, rate_bps: float) -> float:
        self.target_rate_bps = self._clamp(rate_bps)
        return self.target_rate_bps
