"""The interactive experiments of chapter 04 (the network), registered for widgets.

Each one is a pure function of its sliders (seeded, so a re-run draws the same
figure) plus a plot; see :mod:`rtlib.viz.experiments` for the convention.

- ``path_delay``: a voice stream through delay, jitter (three shapes) and loss;
- ``bufferbloat``: a queue filling on a step-down link, and what the buffer size does;
- ``bursty_loss``: random vs bursty loss at the same mean rate;
- ``cellular``: a stream over a synthetic cellular trace;
- ``hol_blocking``: a reliable in-order stream vs datagrams over the same lossy path.

Used in: notebooks/04_network.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.net.loss import burst_lengths, loss_pattern
from rtlib.net.path import simulate_path
from rtlib.net.traces import course_trace, rate_series, step_down
from rtlib.net.transport import compare_stream_and_datagrams
from rtlib.viz.experiments import Choice, Param, experiment

NB = "04_network"
VOICE_INTERVAL_S = 0.020  # one voice packet every 20 ms (a common RTP packetisation)
VOICE_BYTES = 200  # 160 bytes of G.711 + RTP/UDP/IPv4 headers (12 + 8 + 20)


def _voice(seconds: float) -> np.ndarray:
    return np.arange(0.0, seconds, VOICE_INTERVAL_S)


# -- 1. delay, jitter, loss ----------------------------------------------------------------
@experiment(
    "path_delay",
    plot=lambda r: _plot_path_delay(r),
    notebook=NB,
    delay_ms=Param(60.0, 0.0, 300.0, 5.0, label="propagation delay", unit="ms"),
    jitter_ms=Param(10.0, 0.0, 60.0, 1.0, label="jitter (mean extra)", unit="ms"),
    jitter_dist=Choice("normal", ("uniform", "normal", "pareto"), label="jitter shape"),
    loss=Param(0.02, 0.0, 0.3, 0.005, label="loss (fraction)"),
    reorder=Choice(True, (True, False), label="may reorder"),
)
def path_delay(delay_ms, jitter_ms, jitter_dist, loss, reorder) -> dict:
    """10 s of voice packets (one per 20 ms) through a path with delay, jitter and random loss."""
    send = _voice(10.0)
    res = simulate_path(send, VOICE_BYTES, delay_ms=delay_ms, jitter_ms=jitter_ms, jitter_dist=jitter_dist,
                        loss=loss, reorder=reorder, seed=4)
    ok = ~res.lost
    order = res.arrival_s[ok]
    return {"send_s": send, "delay_ms": res.delay_s * 1000, "lost": res.lost, "delay_floor_ms": delay_ms,
            "jitter_dist": jitter_dist, "reordered": int(np.sum(np.diff(order) < 0)),
            "summary": res.summary()}


def _plot_path_delay(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax, hx) = new_figure(1, 2, figsize=(10, 4.2), gridspec_kw={"width_ratios": [3, 1]}, sharey=True)
    ok = ~r["lost"]
    d = r["delay_ms"]
    ax.plot(r["send_s"][ok], d[ok], ".", ms=3, color=COLORS["rtc"], label="delivered packet")
    floor = r["delay_floor_ms"]
    ax.axhline(floor, color=COLORS["neutral"], ls="--", lw=1, label="propagation delay (the floor)")
    if r["lost"].any():
        ax.plot(r["send_s"][~ok], np.full((~ok).sum(), floor), "x", color=COLORS["bad"], ms=6,
                label=f"lost ({(~ok).sum()})")
    s = r["summary"]
    label_axes(ax, "send time [s]", "one-way delay [ms]",
               f"Voice packets: median {s['delay_ms_median']:.0f} ms, 99th pct {s['delay_ms_p99']:.0f} ms, "
               f"{r['reordered']} overtaken")
    legend(ax, where="below", ncols=3)
    top = max(floor + 10, np.nanpercentile(d, 99.5) * 1.15 if ok.any() else floor + 10)
    ax.set_ylim(max(0, floor - 10), top)
    hx.hist(d[ok], bins=40, orientation="horizontal", color=COLORS["rtc"], alpha=0.8)
    label_axes(hx, "packets (count)", "", f"{r['jitter_dist']} jitter", unitless=("x", "y"))
    return fig


# -- 2. bufferbloat --------------------------------------------------------------------------
@experiment(
    "bufferbloat",
    plot=lambda r: _plot_bufferbloat(r),
    notebook=NB,
    low_mbps=Param(1.5, 0.5, 2.5, 0.1, label="capacity after the drop", unit="Mbit/s"),
    buffer_ms=Param(2000.0, 20.0, 3000.0, 10.0, label="router buffer", unit="ms"),
)
def bufferbloat(low_mbps, buffer_ms) -> dict:
    """A 2 Mbit/s video stream; the link falls from 3 Mbit/s to ``low_mbps`` at 5 s.

    The router's tail-drop buffer holds ``buffer_ms`` of traffic (at the rate it
    drains).  The sender does not adapt (that is chapter 08's job).
    """
    rate_bps, size = 2e6, 1200
    send = np.arange(0.0, 20.0, size * 8 / rate_bps)
    cap = step_down(3e6, low_mbps * 1e6, 5.0, duration_s=20.0)
    res = simulate_path(send, size, delay_ms=20, capacity_bps=cap, queue_limit_ms=buffer_ms, seed=1)
    bins = np.arange(0, 20.5, 0.5)
    drops, _ = np.histogram(send[res.lost], bins)
    sent, _ = np.histogram(send, bins)
    return {"send_s": send, "queue_ms": res.queue_delay_s * 1000, "lost": res.lost, "bins_s": bins,
            "drop_share": drops / np.maximum(sent, 1), "low_mbps": low_mbps, "buffer_ms": buffer_ms,
            "max_queue_ms": float(np.nanmax(res.queue_delay_s) * 1000), "loss_rate": res.loss_rate}


def _plot_bufferbloat(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax, bx) = new_figure(2, 1, figsize=(9, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    ok = ~r["lost"]
    ax.plot(r["send_s"][ok], r["queue_ms"][ok], color=COLORS["rtc"], lw=1.5, label="queueing delay")
    ax.axvline(5.0, color=COLORS["neutral"], ls=":", lw=1)
    ax.text(4.8, 0.5, f"link drops 3 → {r['low_mbps']:g} Mbit/s", transform=ax.get_xaxis_transform(),
            ha="right", fontsize=9, color=COLORS["neutral"])
    ax.axhline(r["buffer_ms"], color=COLORS["bad"], ls="--", lw=1, label=f"buffer size {r['buffer_ms']:g} ms")
    label_axes(ax, "", "queueing delay [ms]",
               f"Sending 2 Mbit/s: worst queueing delay {r['max_queue_ms']:.0f} ms, "
               f"{100 * r['loss_rate']:.1f}% dropped", unitless=("x",))
    ax.set_ylim(0, max(r["buffer_ms"], r["max_queue_ms"]) * 1.1 + 10)
    legend(ax)
    centres = (r["bins_s"][:-1] + r["bins_s"][1:]) / 2
    bx.bar(centres, 100 * r["drop_share"], width=0.45, color=COLORS["bad"])
    label_axes(bx, "send time [s]", "dropped [%]")
    bx.set_ylim(0, 100)
    return fig


# -- 3. bursty vs random loss ------------------------------------------------------------------
@experiment(
    "bursty_loss",
    plot=lambda r: _plot_bursty(r),
    notebook=NB,
    loss_pct=Param(5.0, 0.5, 20.0, 0.5, label="mean loss", unit="%"),
    burst_len=Param(5.0, 1.0, 20.0, 0.5, label="mean burst length (bursty)", unit="packets"),
)
def bursty_loss(loss_pct, burst_len) -> dict:
    """The same mean loss, independent (Bernoulli) or in Gilbert-Elliott bursts, over 2000 packets."""
    n, loss = 2000, loss_pct / 100
    burst_len = max(burst_len, loss / (1 - loss))
    random = loss_pattern(n, loss, 1.0, seed=3)
    bursty = loss_pattern(n, loss, burst_len, seed=3)
    return {"n": n, "loss": loss, "burst_len": burst_len, "random": random, "bursty": bursty,
            "random_bursts": burst_lengths(random), "bursty_bursts": burst_lengths(bursty)}


def _plot_bursty(r):
    from matplotlib.colors import ListedColormap

    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax, hx) = new_figure(1, 2, figsize=(10, 4.4), gridspec_kw={"width_ratios": [1.5, 1]})
    # one picture: 20 rows of 100 packets with random loss, a gap, 20 rows with bursty loss
    rows = 20
    gap = np.full((2, r["n"] // rows), 0.5)
    grid = np.vstack([r["random"].reshape(rows, -1), gap, r["bursty"].reshape(rows, -1)]).astype(float)
    ax.imshow(grid, aspect="auto", cmap=ListedColormap(["#F2F2F2", "#FFFFFF", COLORS["bad"]]), vmin=0, vmax=1,
              interpolation="nearest", extent=(0, grid.shape[1], grid.shape[0], 0))
    ax.grid(False)
    ax.set_yticks([rows / 2, rows + 2 + rows / 2],
                  [f"random\n{100 * r['random'].mean():.1f}% lost",
                   f"bursty\n{100 * r['bursty'].mean():.1f}% lost"])
    label_axes(ax, "packet within a row of 100 (count)", "",
               f"Same mean loss; red = lost (mean burst {r['burst_len']:g})", unitless=("x", "y"))
    top = max(r["random_bursts"].max(initial=1), r["bursty_bursts"].max(initial=1))
    lengths = np.arange(1, top + 1)
    for key, color, shift in (("random", COLORS["rtc"], -0.2), ("bursty", COLORS["bad"], 0.2)):
        counts = np.bincount(r[f"{key}_bursts"], minlength=top + 1)[1:]
        keep = counts > 0
        hx.bar(lengths[keep] + shift, counts[keep], width=0.4, color=color, label=key)
    _log_y(hx)
    label_axes(hx, "burst length [packets in a row]", "bursts (count)", "How long are the holes?",
               unitless=("y",))
    legend(hx)
    return fig


def silence_lost_frames(samples: np.ndarray, rate_hz: int, lost, frame_ms: float = 20.0) -> np.ndarray:
    """Zero the audio of every lost frame (no concealment), for "listen" cells.

    Frame k covers samples ``[k·frame, (k+1)·frame)``; ``lost[k]`` True silences it.
    """
    x = np.array(samples, dtype=float)
    frame = int(round(rate_hz * frame_ms / 1000))
    if frame <= 0:
        raise ValueError(f"frame_ms must give at least one sample at {rate_hz} Hz, got {frame_ms!r}")
    lost = np.asarray(lost, dtype=bool)
    n_frames = -(-x.size // frame)
    if lost.size < n_frames:
        raise ValueError(f"lost must hold at least one flag per frame ({n_frames}), got {lost.size}")
    mask = np.repeat(lost[:n_frames], frame)[: x.size]
    x[mask] = 0.0
    return x


# -- 4. a cellular link --------------------------------------------------------------------
@lru_cache(maxsize=4)
def _trace(name: str):
    return course_trace(name)


@experiment(
    "cellular",
    plot=lambda r: _plot_cellular(r),
    notebook=NB,
    trace=Choice("synthetic-cellular-drive", ("synthetic-cellular-drive", "synthetic-cellular-walk"),
                 label="trace"),
    send_mbps=Param(1.5, 0.2, 6.0, 0.1, label="sending rate", unit="Mbit/s"),
    buffer_ms=Param(500.0, 50.0, 2000.0, 50.0, label="buffer", unit="ms"),
)
def cellular(trace, send_mbps, buffer_ms) -> dict:
    """A constant-rate stream over the first 30 s of a synthetic cellular trace (1200-byte packets)."""
    cap = _trace(trace)
    duration_s, size = 30.0, 1200
    send = np.arange(0.0, duration_s, size * 8 / (send_mbps * 1e6))
    res = simulate_path(send, size, delay_ms=30, capacity_bps=cap, queue_limit_ms=buffer_ms, seed=2)
    t_cap, rate = rate_series(cap, duration_s, 0.2)
    # the worst delay in each 100 ms bin keeps the figure light with thousands of packets
    bins = np.arange(0, duration_s + 0.1, 0.1)
    k = np.digitize(send, bins) - 1
    worst = np.full(bins.size - 1, np.nan)
    ok = ~res.lost
    np.fmax.at(worst, k[ok], res.delay_s[ok] * 1000)
    return {"trace": trace, "send_mbps": send_mbps, "buffer_ms": buffer_ms, "t_cap_s": t_cap,
            "cap_mbps": rate / 1e6, "t_bins_s": (bins[:-1] + bins[1:]) / 2, "worst_delay_ms": worst,
            "loss_rate": res.loss_rate, "summary": res.summary(), "worst": worst_delay_parts(send, res, 30.0)}


def worst_delay_parts(send_s: np.ndarray, res, propagation_ms: float) -> dict:
    """Split the slowest delivered packet's one-way delay into its parts (ms).

    At a FIFO bottleneck a packet first *waits* for the packets ahead of it (this is
    what ``queue_limit_ms`` bounds: a packet that would wait longer is dropped), then
    is *transmitted*, which on a trace-driven link means waiting for the next delivery
    opportunity; in an outage that can take far longer than the buffer.  Returns
    ``{"t_s", "total_ms", "propagation_ms", "wait_ms", "transmit_ms"}``; the three parts
    add up to the total (no jitter here).
    """
    ok = np.flatnonzero(~res.lost)
    if ok.size == 0:
        return {"t_s": float("nan"), "total_ms": float("nan"), "propagation_ms": propagation_ms,
                "wait_ms": float("nan"), "transmit_ms": float("nan")}
    departure = send_s[ok] + res.queue_delay_s[ok]
    k = int(np.argmax(res.delay_s[ok]))
    start = max(send_s[ok[k]], departure[k - 1]) if k > 0 else send_s[ok[k]]
    return {"t_s": float(send_s[ok[k]]), "total_ms": float(res.delay_s[ok[k]] * 1000),
            "propagation_ms": propagation_ms, "wait_ms": float((start - send_s[ok[k]]) * 1000),
            "transmit_ms": float((departure[k] - start) * 1000)}


def _plot_cellular(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax, bx) = new_figure(2, 1, figsize=(9, 5.4), sharex=True)
    ax.fill_between(r["t_cap_s"], r["cap_mbps"], step="mid", color=COLORS["sky"], alpha=0.5,
                    label="link capacity (200 ms average)")
    ax.axhline(r["send_mbps"], color=COLORS["im"], lw=2, label=f"sending {r['send_mbps']:g} Mbit/s")
    label_axes(ax, "", "rate [Mbit/s]", f"{r['trace']}: the capacity moves, the sender does not",
               unitless=("x",))
    ax.title.set_fontsize(11)
    legend(ax)
    bx.plot(r["t_bins_s"], r["worst_delay_ms"], color=COLORS["rtc"], lw=1.2, label="worst delay per 100 ms")
    s = r["summary"]
    w = r["worst"]
    if np.isfinite(w["total_ms"]):
        bx.plot([w["t_s"]], [w["total_ms"]], "o", color=COLORS["bad"], ms=5,
                label=(f"worst {w['total_ms']:.0f} ms = {w['propagation_ms']:.0f} propagation\n"
                       f"+ {w['wait_ms']:.0f} queued (≤ buffer) + {w['transmit_ms']:.0f} waiting\n"
                       f"for the link to send it"))
    label_axes(bx, "time [s]", "one-way delay [ms]",
               f"median {s['delay_ms_median']:.0f} ms, 99th pct {s['delay_ms_p99']:.0f} ms, "
               f"{100 * r['loss_rate']:.1f}% dropped; the buffer caps the wait at {r['buffer_ms']:g} ms")
    bx.title.set_fontsize(11)
    legend(bx)
    return fig


# -- 5. head-of-line blocking --------------------------------------------------------------
@experiment(
    "hol_blocking",
    plot=lambda r: _plot_hol(r),
    notebook=NB,
    loss_pct=Param(2.0, 0.0, 10.0, 0.5, label="loss", unit="%"),
    rtt_ms=Param(100.0, 20.0, 400.0, 10.0, label="round-trip time", unit="ms"),
    deadline_ms=Param(150.0, 50.0, 400.0, 10.0, label="playout deadline", unit="ms"),
)
def hol_blocking(loss_pct, rtt_ms, deadline_ms) -> dict:
    """30 s of voice packets (one per 20 ms) as datagrams and as a reliable in-order stream."""
    send = _voice(30.0)
    c = compare_stream_and_datagrams(send, VOICE_BYTES, delay_ms=rtt_ms / 2, jitter_ms=3.0, loss=loss_pct / 100,
                                     seed=5)
    return {"send_s": send, "dgram_ms": c.datagram_delay_s * 1000, "stream_ms": c.stream_delay_s * 1000,
            "deadline_ms": deadline_ms, "missed": c.late_or_lost(deadline_ms), "rto_ms": c.rto_s * 1000,
            "loss_pct": loss_pct, "rtt_ms": rtt_ms}


def _log_y(ax):
    """A log y axis without minor ticks (they cost a lot of drawing time for little)."""
    from matplotlib.ticker import LogLocator, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
    ax.yaxis.set_minor_locator(NullLocator())


def _ccdf(x):
    x = np.sort(x)
    return x, 1.0 - np.arange(x.size) / x.size


def _plot_hol(r):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (ax, cx) = new_figure(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1.6, 1]})
    dg, st = r["dgram_ms"], r["stream_ms"]
    ax.plot(r["send_s"], st, color=COLORS["im"], lw=1.2, label="reliable in-order stream (TCP-like)")
    ax.plot(r["send_s"], dg, ".", ms=2.5, color=COLORS["rtc"], label="datagrams (UDP)")
    lost = np.isnan(dg)
    if lost.any():
        ax.plot(r["send_s"][lost], np.full(lost.sum(), r["rtt_ms"] / 2), "x", color=COLORS["bad"], ms=5,
                label=f"datagram lost ({lost.sum()})")
    ax.axhline(r["deadline_ms"], color=COLORS["neutral"], ls="--", lw=1, label="playout deadline")
    m = r["missed"]
    label_axes(ax, "send time [s]", "delay until the app gets it [ms]",
               f"Missing the deadline: UDP {100 * m['datagrams']:.1f}%, stream {100 * m['stream']:.1f}%")
    ax.set_ylim(0, max(r["deadline_ms"] * 1.3, np.nanpercentile(st, 99.9) * 1.1))
    legend(ax, where="below")
    x, p = _ccdf(st)
    cx.step(x, p, where="post", color=COLORS["im"], label="stream")
    x, p = _ccdf(dg[~lost])
    cx.step(x, p * (~lost).mean(), where="post", color=COLORS["rtc"], label="datagrams (delivered)")
    cx.axvline(r["deadline_ms"], color=COLORS["neutral"], ls="--", lw=1)
    _log_y(cx)
    cx.set_ylim(1 / st.size / 2, 1.2)
    label_axes(cx, "delay [ms]", "share of packets later (fraction)", "The tail")
    legend(cx)
    return fig
