"""NACK and retransmission: does the repair arrive before the playout deadline?

A receiver that notices a gap in the sequence numbers can ask for the missing
packet again: a generic NACK (RFC 4585 section 6.2.1) goes back to the sender,
which resends the packet, usually in its own RTX stream (RFC 4588).  The protocol
itself lives in :mod:`rtlib.rtp.session` (``RtpReceiver(nack=True)`` and
``RtpSender``); this module asks the question chapter 07 cares about: *when* does
the retransmission arrive, and is that before the frame must be played?

The timing rule (one rule, used by every function here and by
``rtlib.checks.ch07.max_rtt_for_nack``).  Take a lost packet ``i`` whose normal
arrival would have been at ``a``; it is due for playout at ``a + B`` (``B`` = the
jitter buffer, ``buffer_ms``)::

    a + frame          the next packet arrives: the gap is noticed, a NACK leaves
                       (RFC 4585 6.2.1: the receiver detects loss from the sequence numbers)
    a + frame + RTT    the retransmission arrives (NACK back, RTX forward: one round trip)
    ... + RTT          each further try, if the first one was lost too

so retransmission number ``k`` is **in time iff** ``frame + wait + k · RTT <= B``
(``wait``: any extra hold for reordering, 0 by default).  Arriving exactly at the
playout deadline counts as in time.  With a 120 ms buffer and 20 ms frames the
largest RTT is 100 ms, and RTT = 100 ms fits.  Comparisons allow
:data:`TIME_TOLERANCE_MS` (1 ns) for floating-point rounding, far below any delay
that matters.  *NACK needs a jitter buffer deeper than one frame plus one round
trip.*  Parity FEC needs no round trip (its repair comes ``k`` frames later,
whatever the RTT) but costs bandwidth all the time and fails on bursts; hence
WebRTC's audio uses NACK only on short paths and leans on Opus FEC/PLC elsewhere.

:func:`rtx_in_time` and :func:`max_rtt_for_rtx_ms` give the rule, :func:`arrives_in_time`
compares arrival times with deadlines the same way;
:func:`nack_recover` plays it out on a packet trace, with retransmissions that
can be lost and delayed like any packet, and a receiver that stops asking once the
answer could no longer arrive in time (as WebRTC's audio NACK tracker does).

Used in: notebooks/07_jitter_buffers.ipynb.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtlib.sim import make_rng
from rtlib.viz.experiments import Choice, Param, experiment


def _check_nonneg(name, value, high=60_000.0):
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > high):
        raise ValueError(f"{name} must be in [0, {high:g}] ms, got {value!r}")
    return arr


#: Slack allowed for floating-point rounding when a time is compared with a deadline.
TIME_TOLERANCE_MS = 1e-6


def rtx_in_time(rtt_ms, buffer_ms, *, frame_ms: float = 20.0, attempt: int = 1, wait_ms: float = 0.0):
    """Whether retransmission number ``attempt`` arrives by the playout deadline (vectorised).

    The rule of this module: the gap is seen one frame after the lost packet would
    have arrived (plus ``wait_ms`` held back for reordering); each attempt costs one
    RTT; the frame is due ``buffer_ms`` after its normal arrival.  In time iff
    ``frame_ms + wait_ms + attempt · rtt_ms <= buffer_ms`` (arriving exactly at the
    deadline is in time).  ``rtt_ms = max_rtt_for_rtx_ms(buffer_ms, ...)`` is in time.
    """
    rtt = _check_nonneg("rtt_ms", rtt_ms)
    buf = _check_nonneg("buffer_ms", buffer_ms)
    _check_nonneg("frame_ms", frame_ms)
    _check_nonneg("wait_ms", wait_ms)
    _check_attempt(attempt)
    return frame_ms + wait_ms + attempt * rtt <= buf + TIME_TOLERANCE_MS


def max_rtt_for_rtx_ms(buffer_ms, *, frame_ms: float = 20.0, attempt: int = 1, wait_ms: float = 0.0):
    """The largest RTT (ms) for which retransmission ``attempt`` still arrives in time.

    ``(buffer_ms - frame_ms - wait_ms) / attempt``: the same rule as
    :func:`rtx_in_time`, solved for the RTT; that RTT itself is in time (``<=``).
    Negative when even an instant retransmission would be late.
    """
    buf = _check_nonneg("buffer_ms", buffer_ms)
    _check_nonneg("frame_ms", frame_ms)
    _check_nonneg("wait_ms", wait_ms)
    _check_attempt(attempt)
    return (buf - frame_ms - wait_ms) / attempt


def arrives_in_time(arrival_s, deadline_s):
    """``arrival_s <= deadline_s`` with :data:`TIME_TOLERANCE_MS` of slack; ``nan`` (never) is late.

    Use it to score a repaired trace against its playout deadlines, so that a
    retransmission landing exactly on the deadline counts as in time, as the rule says.
    """
    arrival = np.asarray(arrival_s, dtype=float)
    with np.errstate(invalid="ignore"):
        return arrival <= np.asarray(deadline_s, dtype=float) + TIME_TOLERANCE_MS / 1000.0


def _check_attempt(attempt):
    if isinstance(attempt, bool) or not isinstance(attempt, (int, np.integer)) or attempt < 1:
        raise ValueError(f"attempt must be an integer >= 1, got {attempt!r}")


@dataclass
class NackOutcome:
    """What NACK did on a trace: new arrival times and the cost."""

    arrival_s: np.ndarray  # after repair (nan: still missing)
    nacks_sent: int
    rtx_sent: int  # retransmissions the sender made (NACKs that reached it)
    recovered: np.ndarray  # True where a retransmission filled a loss (in time or not)

    @property
    def overhead(self) -> float:
        """Retransmitted packets per original packet."""
        return self.rtx_sent / max(self.arrival_s.size, 1)


def nack_recover(send_s, arrival_s, *, rtt_ms: float, deadline_s=None, max_retries: int = 3,
                 retry_ms: float | None = None, wait_ms: float = 0.0, rtx_loss: float | None = None,
                 jitter_s=None, seed: int = 0) -> NackOutcome:
    """Play NACK/RTX out on a trace of media packets (send order, ``nan`` = lost).

    - A loss is noticed when the first later packet arrives, plus ``wait_ms``.
    - Try ``r`` (0, 1, ...) sends a NACK at ``notice + r · retry`` (``retry_ms``
      defaults to the RTT: a receiver re-asks when the answer is overdue); its
      answer arrives one RTT later plus a jitter drawn from ``jitter_s`` (default:
      the trace's own delays above their minimum, resampled).
    - The NACK and the retransmission are each lost with probability ``rtx_loss``
      (default: the trace's loss rate); a lost one means waiting for the next try.
    - With ``deadline_s`` (per packet, e.g. a playout result's ``playout_s``) the
      receiver sends no NACK whose answer could not arrive by the deadline; an
      answer due exactly at the deadline is still asked for (the module's ``<=``
      rule), so with a constant delay a single loss is repaired in time iff
      :func:`rtx_in_time` says so.  Score the result with :func:`arrives_in_time`.
    """
    send = np.asarray(send_s, dtype=float)
    arrival = np.asarray(arrival_s, dtype=float)
    if send.shape != arrival.shape or send.ndim != 1:
        raise ValueError(f"send_s and arrival_s must be 1-D arrays of one shape, got {send.shape}, {arrival.shape}")
    rtt = float(_check_nonneg("rtt_ms", rtt_ms)) / 1000.0
    retry = rtt if retry_ms is None else float(_check_nonneg("retry_ms", retry_ms)) / 1000.0
    if isinstance(max_retries, bool) or not isinstance(max_retries, (int, np.integer)) or not 0 <= max_retries <= 20:
        raise ValueError(f"max_retries must be an integer in [0, 20], got {max_retries!r}")
    lost = np.isnan(arrival)
    p_loss = float(lost.mean()) if rtx_loss is None else float(rtx_loss)
    if not 0.0 <= p_loss <= 1.0:
        raise ValueError(f"rtx_loss must be in [0, 1], got {rtx_loss!r}")
    deadline = None if deadline_s is None else np.broadcast_to(np.asarray(deadline_s, dtype=float), send.shape)
    if jitter_s is None:
        d = (arrival - send)[~lost]
        jitter_s = d - d.min() if d.size else np.zeros(1)
    jitter_pool = np.asarray(jitter_s, dtype=float)

    # The first arrival among later packets: a reversed running minimum.
    later = np.where(lost, np.inf, arrival)
    first_later = np.minimum.accumulate(later[::-1])[::-1]
    notice = np.full(send.size, np.inf)
    notice[:-1] = first_later[1:]
    notice += wait_ms / 1000.0

    rng = make_rng(seed, "nack")
    out = arrival.copy()
    recovered = np.zeros(send.size, dtype=bool)
    nacks = rtx = 0
    for i in np.flatnonzero(lost & np.isfinite(notice)):
        for r in range(max_retries):
            t_nack = notice[i] + r * retry
            if deadline is not None and t_nack + rtt > deadline[i] + TIME_TOLERANCE_MS / 1000.0:
                break  # the answer could not come in time: do not ask
            nacks += 1
            if rng.random() < p_loss:
                continue  # the NACK was lost on the way back
            rtx += 1
            if rng.random() < p_loss:
                continue  # the retransmission was lost
            out[i] = t_nack + rtt + (rng.choice(jitter_pool) if jitter_pool.size else 0.0)
            recovered[i] = True
            break
    return NackOutcome(out, nacks, rtx, recovered)


# -- chapter 07 widget: FEC vs NACK as the round trip grows ----------------------------------
RTT_SWEEP_MS = tuple(range(0, 401, 20))


def repair_vs_rtt(*, buffer_ms: float, loss: float, burst_len: float = 1.0, fec_k: int = 4,
                  rtt_ms=RTT_SWEEP_MS, seconds: float = 20.0, jitter_ms: float = 3.0, seed: int = 0) -> dict:
    """Residual loss (lost or late) of a 20 ms audio stream with no repair, FEC, RED and NACK, per RTT.

    The forward path has a one-way delay of RTT/2 plus ``jitter_ms`` (half-normal,
    FIFO) and loses packets at ``loss`` in bursts of mean ``burst_len``
    (``rtlib.net.simulate_path``).  Every frame is played ``RTT/2 + buffer_ms``
    after it was sent.  FEC packets (one per ``fec_k`` media packets) share the path,
    so they meet the same loss; RED repeats each frame in the next packet.
    """
    from rtlib.media.fec import fec_recover, fec_schedule, red_recover
    from rtlib.net import simulate_path

    frame_s = 0.02
    send = frame_s * np.arange(int(round(seconds / frame_s)))
    all_send, is_fec, group = fec_schedule(send, fec_k)
    rtts = np.asarray(rtt_ms, dtype=float)
    out = {k: np.zeros(rtts.size) for k in ("none", "fec", "red", "nack")}
    nack_overhead = np.zeros(rtts.size)
    for j, rtt in enumerate(rtts):
        path = simulate_path(all_send, 100, delay_ms=rtt / 2, jitter_ms=jitter_ms, jitter_dist="normal",
                             reorder=False, loss=loss, burst_len=burst_len, seed=seed)
        media = path.arrival_s[~is_fec]
        deadline = send + (rtt / 2 + buffer_ms) / 1000.0
        nack = nack_recover(send, media, rtt_ms=rtt, deadline_s=deadline, max_retries=3, seed=seed)
        for key, arr in (("none", media), ("fec", fec_recover(path.arrival_s, is_fec, group, fec_k)),
                         ("red", red_recover(media, 1)), ("nack", nack.arrival_s)):
            out[key][j] = 1.0 - np.mean(arrives_in_time(arr, deadline))
        nack_overhead[j] = nack.overhead
    return {"rtt_ms": rtts, "residual": out, "nack_overhead": nack_overhead, "buffer_ms": buffer_ms,
            "loss": loss, "burst_len": burst_len, "fec_k": fec_k,
            "nack_limit_ms": float(max_rtt_for_rtx_ms(buffer_ms, frame_ms=frame_s * 1000))}


def _plot_repair(r):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.5, 5.2))
    k = r["fec_k"]
    # (key, label, colour, marker, line style, width): distinct markers and dashes, so that
    # lines on top of each other stay visible; the legend also says which ones coincide.
    lines = (("none", "no repair", COLORS["neutral"], "o", "-", 4.0),
             ("fec", f"parity FEC, k={k} (+{100 / k:.0f} % packets)", COLORS["good"], "s", "-", 1.6),
             ("red", "RED, previous frame in each packet (+100 % payload)", COLORS["accent"], "^", "--", 1.6),
             ("nack", f"NACK/RTX, up to 3 tries (+{100 * np.mean(r['nack_overhead']):.1f} % packets)",
              COLORS["rtc"], "v", ":", 1.8))
    none = r["residual"]["none"]
    for key, label, color, marker, ls, lw in lines:
        y = r["residual"][key]
        if key != "none" and np.array_equal(y, none):
            label += " = no repair at every RTT"
        ax.plot(r["rtt_ms"], 100 * y, marker=marker, ls=ls, lw=lw, ms=5 if key != "none" else 7,
                color=color, label=label, alpha=0.45 if key == "none" else 1.0, mfc="none" if key != "none" else color)
    top = max(100 * max(float(np.max(v)) for v in r["residual"].values()), 0.5)
    ax.set_ylim(-0.04 * top, 1.12 * top)
    if 0 < r["nack_limit_ms"] <= r["rtt_ms"][-1]:
        ax.axvline(r["nack_limit_ms"], color=COLORS["rtc"], ls=":", lw=1.2)
        ax.text(r["nack_limit_ms"] + 4, 0.55 * top,
                "RTT = buffer − frame:\nthe largest RTT at which\none retransmission fits\n(beyond it, none does;\n"
                "at it, only with no jitter)", va="center", ha="left", fontsize=8.5, color=COLORS["rtc"],
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
    kind = "random" if r["burst_len"] == 1 else f"bursts of {r['burst_len']:g}"
    label_axes(ax, "round-trip time [ms]", "frames lost or late [%]",
               f"FEC vs NACK: {r['loss'] * 100:g} % loss ({kind}), jitter buffer {r['buffer_ms']:g} ms")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncols=2, fontsize=8.5)
    return fig


@experiment(
    "fec_vs_nack",
    plot=_plot_repair,
    notebook="07_jitter_buffers",
    buffer_ms=Param(100.0, 20.0, 300.0, 10.0, label="jitter buffer", unit="ms"),
    loss=Param(0.05, 0.0, 0.2, 0.01, label="loss (fraction)"),
    burst_len=Param(1.0, 1.0, 5.0, 0.5, label="mean burst", unit="packets"),
    fec_k=Choice(4, (2, 3, 4, 5, 8, 10), label="FEC group k"),
)
def fec_vs_nack(buffer_ms: float, loss: float, burst_len: float, fec_k: int) -> dict:
    """Residual loss with FEC, RED and NACK as the round-trip time grows."""
    return repair_vs_rtt(buffer_ms=buffer_ms, loss=loss, burst_len=burst_len, fec_k=fec_k)
