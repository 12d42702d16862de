"""Chapter 05's interactive experiments: sequence numbers, jitter, the RTCP interval.

Each is a pure function registered with its parameter ranges (see
:mod:`rtlib.viz.experiments`), plus a plot.

Used in: notebooks/05_rtp_rtcp.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.viz.experiments import Choice, Param, experiment

DISTS = ("uniform", "normal", "pareto")


# -- 1. sequence numbers across loss, reordering and wrap-around ---------------------------------
def _plot_arrivals(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax1, ax2) = new_figure(1, 2, figsize=(11, 4.0))
    t, ext, raw = r["arrival_s"], r["ext_seq"], r["seq"]
    late = r["reordered"]
    lo, hi = r["window_s"]
    win = (t >= lo) & (t <= hi)
    ax1.plot(t[win & ~late], ext[win & ~late] - r["base"], "o", ms=4, color=COLORS["rtc"], label="arrived in order")
    ax1.plot(t[win & late], ext[win & late] - r["base"], "^", ms=8, color=COLORS["bad"],
             label="arrived after a higher number")
    lt = r["lost_send_s"] + r["median_delay_s"]
    lw = (lt >= lo) & (lt <= hi)
    ax1.plot(lt[lw], r["lost_ext"][lw] - r["base"], "x", ms=8, mew=2, color="#777777",
             label="lost (drawn at its expected time)")
    ax1.set_xlim(lo, hi)
    label_axes(ax1, "arrival time [s]", "extended sequence number − first",
               f"Zoom on {hi - lo:g} s: gaps and overtaking", unitless=("y",))
    legend(ax1, where="below")
    ax2.plot(t, raw, ".", ms=4, color="#0072B2")
    ax2.axhline(65535, color="#999999", lw=0.8, ls="--")
    ax2.text(t.min(), 65535, " 65535, then 0", va="bottom", fontsize="small", color="#555555")
    label_axes(ax2, "arrival time [s]", "16-bit sequence number on the wire", "The raw field wraps around",
               unitless=("y",))
    ax2.set_ylim(-3000, 69000)
    fig.suptitle(f"{r['received']} received, {r['lost']} lost (RFC 3550 A.3), {int(late.sum())} out of order; "
                 f"jitter {r['jitter_ms']:.1f} ms", fontsize="medium")
    return fig


@experiment(
    "rtp_arrivals",
    plot=_plot_arrivals,
    notebook="05_rtp_rtcp",
    jitter_ms=Param(10.0, 0.0, 60.0, 1.0, label="path jitter (mean)", unit="ms"),
    loss=Param(0.05, 0.0, 0.3, 0.01, label="loss (fraction)"),
    jitter_dist=Choice("normal", DISTS, label="jitter shape"),
)
def rtp_arrivals(jitter_ms: float, loss: float, jitter_dist: str, seconds: float = 4.0, seed: int = 5) -> dict:
    """What the receiver sees of a 20 ms packet stream whose sequence numbers wrap mid-way."""
    from rtlib.rtp.call import simulate_call
    from rtlib.rtp.stats import extend_sequence_numbers

    r = simulate_call(seconds=seconds, delay_ms=40, jitter_ms=jitter_ms, jitter_dist=jitter_dist, loss=loss,
                      seed=seed, initial_seq=65536 - int(seconds * 25))
    order = r.arrival_order
    seq = r.seq[order]
    ext = extend_sequence_numbers(seq)
    running_max = np.maximum.accumulate(ext)
    reordered = np.zeros(ext.size, dtype=bool)
    reordered[1:] = ext[1:] < running_max[:-1]
    lost_idx = np.flatnonzero(np.isnan(r.arrival_s))
    base = int(ext[0]) if ext.size else 0
    # the extended numbers of lost packets: sent in order, so offset from the first sent
    first_sent_ext = base - int(order[0]) if ext.size else 0
    delays = (r.arrival_s - r.send_s)[~np.isnan(r.arrival_s)]
    return {
        "arrival_s": r.arrival_s[order], "seq": seq, "ext_seq": ext, "base": base, "reordered": reordered,
        "lost_send_s": r.send_s[lost_idx], "lost_ext": first_sent_ext + lost_idx,
        "median_delay_s": float(np.median(delays)) if delays.size else 0.0,
        "received": r.received, "lost": r.lost, "jitter_ms": r.jitter_ms,
        "window_s": (seconds / 2 - 0.5, seconds / 2 + 0.5),
    }


# -- 2. the RFC 3550 jitter estimator ---------------------------------------------------------------
def _plot_jitter(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(9, 3.8))
    ax.plot(r["arrival_s"][1:], r["abs_d_ms"], ".", ms=3, color="#999999", label="|D| between consecutive packets")
    ax.plot(r["arrival_s"], r["j_ms"], color="#D55E00", lw=2, label=f"J, gain 1/{r['gain_inverse']}")
    ax.plot(r["arrival_s"], r["j_rfc_ms"], color="#0072B2", lw=1.2, ls="--", label="J, RFC 3550 (gain 1/16)")
    ax.axhline(r["mean_abs_d_ms"], color="#009E73", lw=1, ls=":", label="mean |D|")
    top = max(np.percentile(r["abs_d_ms"], 99) if r["abs_d_ms"].size else 1.0, r["j_ms"].max(), 1.0)
    ax.set_ylim(0, 1.15 * top)
    label_axes(ax, "arrival time [s]", "delay variation [ms]",
               f"Interarrival jitter, {r['jitter_dist']} path jitter of mean {r['jitter_ms']:g} ms")
    legend(ax)
    return fig


@experiment(
    "jitter_estimate",
    plot=_plot_jitter,
    notebook="05_rtp_rtcp",
    jitter_ms=Param(10.0, 0.0, 60.0, 1.0, label="path jitter (mean)", unit="ms"),
    jitter_dist=Choice("normal", DISTS, label="jitter shape"),
    gain_inverse=Choice(16, (1, 4, 16, 64), label="estimator gain 1/"),
)
def jitter_estimate(jitter_ms: float, jitter_dist: str, gain_inverse: int, seconds: float = 10.0,
                    seed: int = 1) -> dict:
    """RFC 3550 A.8's jitter J over a simulated path, with the gain 1/16 or another for comparison."""
    from rtlib.net import simulate_path
    from rtlib.rtp.stats import interarrival_jitter

    send = np.arange(0, seconds, 0.02)
    res = simulate_path(send, 200, delay_ms=40, jitter_ms=jitter_ms, jitter_dist=jitter_dist, seed=seed)
    ok = ~res.lost
    order = np.argsort(res.arrival_s[ok], kind="stable")
    arrival = res.arrival_s[ok][order]
    ts = np.round(send[ok][order] * 8000).astype(np.int64)
    transit_ms = (arrival - ts / 8000) * 1000
    abs_d = np.abs(np.diff(transit_ms))
    j = interarrival_jitter(arrival, ts, 8000, gain_inverse=gain_inverse) / 8
    return {"arrival_s": arrival, "abs_d_ms": abs_d, "j_ms": j,
            "j_rfc_ms": interarrival_jitter(arrival, ts, 8000) / 8, "mean_abs_d_ms": float(abs_d.mean()) if abs_d.size else 0.0,
            "gain_inverse": gain_inverse, "jitter_ms": jitter_ms, "jitter_dist": jitter_dist}


# -- 3. the RTCP transmission interval -----------------------------------------------------------------
def _plot_interval(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(9, 3.8))
    m = r["members"]
    ax.fill_between(m, r["receiver_lo_s"], r["receiver_hi_s"], color="#0072B2", alpha=0.15,
                    label="receiver, randomised range")
    ax.plot(m, r["receiver_s"], color="#0072B2", lw=2, label="a receiver's interval")
    ax.plot(m, r["sender_s"], color="#D55E00", lw=2, label=f"a sender's interval ({r['senders']} sending)")
    ax.axhline(5.0, color="#999999", lw=1, ls="--", label="minimum 5 s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # log minor ticks cost most of the drawing time
    ax.set_yticks([1, 5, 10, 100, 1e3, 1e4, 1e5, 1e6], ["1", "5", "10", "100", "1000", "10⁴", "10⁵", "10⁶"])
    ax.set_ylim(1, max(5000, 1.5 * float(r["receiver_hi_s"].max())))
    label_axes(ax, "session members [count]", "time between reports [s]",
               f"RFC 3550 6.3: RTCP gets 5% of {r['session_kbps']:g} kbit/s, reports of {r['avg_rtcp_bytes']:g} bytes")
    legend(ax)
    return fig


@experiment(
    "rtcp_interval",
    plot=_plot_interval,
    notebook="05_rtp_rtcp",
    session_kbps=Param(64.0, 8.0, 4096.0, 8.0, label="session bandwidth", unit="kbit/s"),
    senders=Param(1, 1, 20, 1, label="senders", integer=True),
    avg_rtcp_bytes=Param(100.0, 40.0, 500.0, 10.0, label="mean RTCP packet", unit="bytes"),
)
def rtcp_interval_curve(session_kbps: float, senders: int, avg_rtcp_bytes: float) -> dict:
    """How often each member reports as the session grows (deterministic interval and its random range)."""
    from rtlib.rtp.stats import rtcp_interval

    members = np.unique(np.round(np.logspace(math.log10(max(2, senders + 1)), 5, 60)).astype(int))
    rtcp_bps = 0.05 * session_kbps * 1000
    rx = rtcp_interval(members, senders, rtcp_bps, False, avg_rtcp_bytes)
    tx = rtcp_interval(members, senders, rtcp_bps, True, avg_rtcp_bytes)
    return {"members": members, "receiver_s": rx, "sender_s": tx,
            "receiver_lo_s": rtcp_interval(members, senders, rtcp_bps, False, avg_rtcp_bytes, u=0.0),
            "receiver_hi_s": rtcp_interval(members, senders, rtcp_bps, False, avg_rtcp_bytes, u=1.0),
            "session_kbps": session_kbps, "senders": senders, "avg_rtcp_bytes": avg_rtcp_bytes}
