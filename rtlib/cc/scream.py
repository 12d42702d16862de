"""SCReAM: self-clocked rate adaptation for multimedia (RFC 8298), the parts that set the window.

SCReAM is the IETF's self-clocked controller for interactive media (RFC 8298,
experimental, from the RMCAT working group).  Like TCP it keeps a congestion window
``cwnd`` on the bytes in flight, but it grows and shrinks that window from the
*queueing delay* the feedback reports, against a target:

- ``qdelay`` = one-way delay of the newest reported packet minus the smallest one-way
  delay seen in the last ``base_history_s`` (RFC 8298 section 4.1.2.1: the base delay
  history, ten one-minute minima; clock offsets cancel in the difference);
- ``off_target = (qdelay_target - qdelay) / qdelay_target``, with ``qdelay_target`` =
  ``QDELAY_TARGET_LO`` = 0.1 s (RFC 8298 section 4.1.1.1);
- window update on each report (RFC 8298 section 4.1.2.2): in *fast increase* (no
  congestion for a while) ``cwnd += bytes_newly_acked``, as TCP's slow start;
  otherwise ``cwnd += GAIN * off_target * bytes_newly_acked * MSS / cwnd`` (``GAIN`` =
  1, ``MSS`` = 1000 bytes), which shrinks the window when the delay is over target;
  an increase is allowed only while the window is in use (the RFC's guard against an
  application-limited window growing);
- on a loss, at most once per RTT: ``cwnd = max(MIN_CWND, BETA_LOSS * cwnd)`` with
  ``BETA_LOSS`` = 0.8 (section 4.1.2.3); a delay over half the target also ends fast increase;
- a queue that stays over half the target backs the window off, at most once per RTT,
  by ``alpha / 2`` with ``alpha`` rising from 0 to 1 as the averaged ``qdelay`` goes from
  ``qdelay_target / 2`` to ``qdelay_target`` (the delay-based back-off of SCReAM's
  revision, draft-johansson-ccwg-rfc8298bis-screamv2, section "Increased queue delay":
  without it the LEDBAT-style linear decrease above is too slow to drain a cellular queue);
- the media target follows the window: ``cwnd * 8 / s_rtt`` (section 4.1.2.5 derives the
  target bitrate from the transmission rate the window lets through; the RFC adds a
  ramp-up speed limit and an RTP-queue term, here the frame-by-frame encoder and the
  sender's frame skipping do that job).

- competing flows (RFC 8298 section 4.1.2.4): the queueing delay normalised by
  ``QDELAY_TARGET_LO`` is kept over the last 200 reports; when losses come often or the
  delay is steady (variance under 0.2), someone else holds the queue, and
  ``qdelay_target`` rises to ``(average of the last 50 + standard deviation) x
  QDELAY_TARGET_LO`` (x 1.5 with losses), at most ``QDELAY_TARGET_HI`` = 0.4 s; otherwise
  it falls back towards ``QDELAY_TARGET_LO``.  Without this a loss-based TCP flow in the
  same tail-drop queue starves the media (``competing_flows=False`` turns it off).
  A Reno flow's saw-tooth is neither steady nor lossy often enough for those two rules
  (losses seconds apart, a queue swinging between about 150 and 300 ms), and the delay
  back-off above then halves the window every round trip: SCReAM kept 7 % of the
  2 Mbit/s link in RFC 8867 5.6.  A third piece of evidence is added here: a *standing*
  queue, whose smallest delay over ``STANDING_QUEUE_S`` = 5 s stays above
  ``QDELAY_TARGET_LO / 2`` although this sender has been backing off (libwebrtc's
  SCReAM v2 likewise times how long the smallest queue delay stays above a drain
  threshold).  It raises the target as a steady queue does and suspends the delay
  back-off while it lasts; loss and the window update against the raised target still
  apply.  A queue the sender built itself drains under its back-offs within a few round
  trips, so single-flow runs never see it.

Left out: ECN and the packet-pacing details; the controller is what the course
compares with GCC and the Sprout-style sender.

Used in: notebooks/08_adaptive_bitrate.ipynb (section "When GCC is not enough:
self-clocked senders"), benchmarks/bench_cc.py, ``python -m rtlib abr --controller scream``.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from rtlib.cc.base import PacketResult, RateController

#: RFC 8298 section 4.1.1.1 constants.
QDELAY_TARGET_LO_S = 0.1
QDELAY_TARGET_HI_S = 0.4
GAIN = 1.0
BETA_LOSS = 0.8
MSS_BYTES = 1000
MIN_CWND_BYTES = 3000
#: The base delay is the smallest of one-minute minima over ``base_history_s`` (ten minutes).
BASE_BUCKET_S = 60.0
#: EWMA weight of the averaged queue delay, per report.
QDELAY_AVG_G = 0.25
#: How long fast increase stays off after a congestion event (s).
POST_CONGESTION_S = 5.0
#: EWMA weight of the loss-event rate, per report.
LOSS_EVENT_RATE_G = 0.05
#: A queue whose smallest delay over this long stays above half of ``QDELAY_TARGET_LO`` is
#: standing: this sender's back-offs have not drained it, another flow holds it.
STANDING_QUEUE_S = 5.0


class ScreamController(RateController):
    """SCReAM's window (see the module docstring)."""

    name = "scream"
    feedback = "transport-cc"
    frame_by_frame = True

    def __init__(self, start_rate_bps: float = 300e3, min_rate_bps: float = 50e3, max_rate_bps: float = 10e6,
                 *, qdelay_target_s: float = QDELAY_TARGET_LO_S, gain: float = GAIN, beta_loss: float = BETA_LOSS,
                 base_history_s: float = 600.0, competing_flows: bool = True):
        super().__init__(start_rate_bps, min_rate_bps, max_rate_bps)
        if not 0.005 <= qdelay_target_s <= 1:
            raise ValueError(f"qdelay_target_s must be in [0.005, 1] s, got {qdelay_target_s!r}")
        if not 0 < gain <= 10:
            raise ValueError(f"gain must be in (0, 10], got {gain!r}")
        if not 0 < beta_loss < 1:
            raise ValueError(f"beta_loss must be in (0, 1), got {beta_loss!r}")
        if not BASE_BUCKET_S <= base_history_s <= 3600:
            raise ValueError(f"base_history_s must be in [{BASE_BUCKET_S:g}, 3600] s, got {base_history_s!r}")
        self.qdelay_target_s, self.gain, self.beta_loss = float(qdelay_target_s), float(gain), float(beta_loss)
        self.base_history_s = float(base_history_s)
        self.qdelay_target_lo_s = self.qdelay_target_s
        self.competing_flows = bool(competing_flows)
        self._qnorm: deque = deque(maxlen=200)
        self._qmin: deque = deque()  # (time, qdelay) with increasing qdelay: the running minimum
        self._first_report_s: float | None = None
        self._standing = False
        self.loss_event_rate = 0.0
        self.cwnd_bytes = max(self.target_rate_bps / 8 * 0.1, MIN_CWND_BYTES)
        self.srtt_s = 0.1
        self.qdelay_s = 0.0
        self.in_fast_increase = True
        self._base: deque = deque()  # (time, min one-way delay) per 1 s bucket
        self._last_loss_s = -math.inf
        self._last_congestion_s = -math.inf
        self.bytes_in_flight = 0.0
        self.qdelay_avg_s = 0.0
        self._last_backoff_s = -math.inf

    # -- pieces, each testable by hand ------------------------------------------------------
    def base_delay_s(self) -> float:
        return min(d for _, d in self._base)

    def _note_owd(self, now_s: float, owd_s: float) -> None:
        b = self._base
        bucket = math.floor(now_s / BASE_BUCKET_S)
        if b and b[-1][0] == bucket:
            if owd_s < b[-1][1]:
                b[-1] = (bucket, owd_s)
        else:
            b.append((bucket, owd_s))
        while b and b[0][0] <= bucket - self.base_history_s / BASE_BUCKET_S:
            b.popleft()

    def window_update(self, cwnd_bytes: float, qdelay_s: float, bytes_newly_acked: float,
                      fast_increase: bool, bytes_in_flight: float | None = None) -> float:
        """RFC 8298 section 4.1.2.2's update of ``cwnd`` for one report (no loss).

        With ``bytes_in_flight`` given, the window grows only while it is used: in fast
        increase while ``1.5 * bytes_in_flight + acked > cwnd``, otherwise while
        ``1.25 * bytes_in_flight + acked > cwnd``."""
        off_target = (self.qdelay_target_s - qdelay_s) / self.qdelay_target_s
        if fast_increase and off_target > 0:
            if bytes_in_flight is not None and bytes_in_flight * 1.5 + bytes_newly_acked <= cwnd_bytes:
                return cwnd_bytes
            return cwnd_bytes + bytes_newly_acked
        delta = self.gain * off_target * bytes_newly_acked * MSS_BYTES / cwnd_bytes
        if delta > 0 and bytes_in_flight is not None and bytes_in_flight * 1.25 + bytes_newly_acked <= cwnd_bytes:
            delta = 0.0
        return max(cwnd_bytes + delta, MIN_CWND_BYTES)

    def delay_backoff(self, qdelay_avg_s: float) -> float:
        """The share of the window a queue of ``qdelay_avg_s`` takes off (0 below half the target).

        None while the newest report found a standing queue (:meth:`standing_queue`): the
        queue then belongs to a flow that does not back off on delay, draining it is not in
        this sender's power, and backing off only hands that flow the link."""
        if self._standing:
            return 0.0
        half = self.qdelay_target_s / 2
        alpha = min(1.0, max(0.0, (qdelay_avg_s - half) / half))
        return alpha / 2

    def standing_queue(self, now_s: float, qdelay_s: float) -> bool:
        """Has the queueing delay stayed above half of the low target for ``STANDING_QUEUE_S``?

        The running minimum over that span (a monotonic deque).  A flow that backs off on
        delay drains its own queue within a few round trips; a queue that outlasts its
        back-offs is held by a flow that does not back off on delay (TCP)."""
        if self._first_report_s is None:
            self._first_report_s = now_s
        q = self._qmin
        while q and q[-1][1] >= qdelay_s:
            q.pop()
        q.append((now_s, qdelay_s))
        while q[0][0] < now_s - STANDING_QUEUE_S:
            q.popleft()
        return now_s - self._first_report_s >= STANDING_QUEUE_S and q[0][1] > self.qdelay_target_lo_s / 2

    def adjust_qdelay_target(self, qdelay_s: float, lost: bool, standing: bool = False) -> float:
        """RFC 8298 section 4.1.2.4: raise ``qdelay_target`` when a competing flow holds the queue.

        The RFC's evidence is frequent losses or a steady queue (normalised variance under
        0.2); ``standing`` (:meth:`standing_queue`) adds a queue that outlasts this sender's
        back-offs, which a loss-based flow's saw-tooth gives (its queue varies too much to
        look steady, and its losses come seconds apart)."""
        lo = self.qdelay_target_lo_s
        self._qnorm.append(qdelay_s / lo)
        self.loss_event_rate += LOSS_EVENT_RATE_G * ((1.0 if lost else 0.0) - self.loss_event_rate)
        hist = np.fromiter(self._qnorm, float)
        var = float(hist.var())
        new = (float(hist[-50:].mean()) + math.sqrt(var)) * lo
        if self.loss_event_rate > 0.002:
            target = 1.5 * new
        elif var < 0.2 or standing:
            target = new
        elif new < lo:
            target = max(self.qdelay_target_s * 0.5, new)
        else:
            target = self.qdelay_target_s * 0.9
        self.qdelay_target_s = min(QDELAY_TARGET_HI_S, max(lo, target))
        return self.qdelay_target_s

    # -- the interface ----------------------------------------------------------------------
    def on_packet_results(self, now_s: float, results: list[PacketResult], rtt_s: float | None = None) -> float:
        if rtt_s is not None and rtt_s > 0:
            self.srtt_s += 0.125 * (rtt_s - self.srtt_s)
        if not results:
            return self.target_rate_bps
        acked = 0.0
        lost = False
        newest = None
        for r in results:
            if r.arrival_time_s is None:
                lost = True
                continue
            acked += r.size_bytes
            owd = r.arrival_time_s - r.send_time_s
            self._note_owd(now_s, owd)
            if newest is None or r.send_time_s > newest[0]:
                newest = (r.send_time_s, owd)
        if newest is not None:
            self.qdelay_s = max(newest[1] - self.base_delay_s(), 0.0)
            self.qdelay_avg_s += QDELAY_AVG_G * (self.qdelay_s - self.qdelay_avg_s)
            if self.competing_flows:
                self._standing = self.standing_queue(now_s, self.qdelay_s)
                self.adjust_qdelay_target(self.qdelay_s, lost, self._standing)
        backoff = self.delay_backoff(self.qdelay_avg_s)
        if lost and now_s - self._last_loss_s >= self.srtt_s:
            self._last_loss_s = self._last_congestion_s = now_s
            self.in_fast_increase = False
            self.cwnd_bytes = max(MIN_CWND_BYTES, self.beta_loss * self.cwnd_bytes)
        elif backoff > 0 and now_s - self._last_backoff_s >= self.srtt_s:
            self._last_backoff_s = self._last_congestion_s = now_s
            self.in_fast_increase = False
            self.cwnd_bytes = max(MIN_CWND_BYTES, (1 - backoff) * self.cwnd_bytes)
        elif acked > 0:
            if self.qdelay_s > self.qdelay_target_s / 2:
                if self.in_fast_increase:
                    self._last_congestion_s = now_s
                self.in_fast_increase = False
            elif now_s - self._last_congestion_s > POST_CONGESTION_S:
                self.in_fast_increase = True
            self.cwnd_bytes = self.window_update(self.cwnd_bytes, self.qdelay_s, acked, self.in_fast_increase,
                                                 self.bytes_in_flight)
        # never more than the media can use in a round trip, with room for a keyframe
        cap = self.max_rate_bps / 8 * max(self.srtt_s, 0.01) * 2
        self.cwnd_bytes = min(self.cwnd_bytes, max(cap, MIN_CWND_BYTES))
        self.target_rate_bps = self._clamp(self.cwnd_bytes * 8 / max(self.srtt_s, 0.01))
        return self.target_rate_bps

    def congestion_window_bytes(self, now_s: float) -> float | None:
        return self.cwnd_bytes
