"""Chapter 08's widgets and figures: fixed rate, the delay gradient, GCC's state machine, RFC 8867.

Every experiment is a pure function registered with its parameter ranges
(:func:`rtlib.viz.experiment`).  Those that run a whole closed-loop scenario (tens of
seconds of simulated call, 0.2-1 s of computing) keep their results in a cache, so
a notebook computes each case once (:func:`precompute`) and the chooser then
answers at once; the slider experiments run short open-loop or 25 s simulations.

Used in: notebooks/08_adaptive_bitrate.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.cc.call import FlowSpec, simulate_call
from rtlib.cc.gcc import KalmanFilter, OveruseDetector, PacketGrouper, TrendlineFilter
from rtlib.cc.media import LADDER, OVERHEAD_BYTES
from rtlib.cc.scenarios import run_scenario
from rtlib.viz.experiments import Choice, Param, experiment
from rtlib.viz.style import legend

NOTEBOOK = "08_adaptive_bitrate"
CONTROLLER_COLORS = {"gcc": "#0072B2", "aimd": "#D55E00", "aiortc-remb": "#009E73", "fixed": "#555555",
                     "oracle": "#CC79A7"}
FLOW_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00"]
# The scenarios' bottleneck queue (RFC 8867 section 4) and the encoder ladder's top frame rate.
QUEUE_LIMIT_MS = 300.0
TOP_FPS = max(r.fps for r in LADDER)
STATE_COLORS = {"increase": "#009E73", "hold": "#999999", "decrease": "#D55E00"}


# -- 1. a fixed bitrate on a changing link (open loop) ---------------------------------------
def _plot_fixed(r):
    from rtlib.viz import label_axes, new_figure

    fig, (a1, a2) = new_figure(2, 1, figsize=(8, 5.2), sharex=True)
    t = r["t_s"]
    a1.step(t, r["capacity_kbps"], where="post", color="black", lw=1.5, label="link capacity")
    a1.axhline(r["rate_kbps"], color=CONTROLLER_COLORS["fixed"], ls="--", label="fixed sending rate")
    a1.plot(t, r["goodput_kbps"], color="#0072B2", label="goodput (received)")
    a1.set_ylim(0, 3000)
    label_axes(a1, "", "rate [kbit/s]",
               f"A fixed {r['rate_kbps']:.0f} kbit/s over RFC 8867 5.1: "
               f"{r['utilization']:.0%} of capacity used, {r['loss']:.1%} lost", unitless=("x",))
    legend(a1)
    a2.plot(t, r["queue_ms"], color="#D55E00", label="queueing delay")
    a2.set_ylim(0, 330)
    a2.axhline(300, color="#999999", lw=1, ls=":", label="queue limit (300 ms): tail drop")
    label_axes(a2, "time [s]", "queueing delay [ms]")
    legend(a2)
    return fig


@experiment("abr_fixed_rate", plot=_plot_fixed, notebook=NOTEBOOK,
            rate_kbps=Param(1500, 200, 2800, 100, label="fixed rate", unit="kbit/s"))
def abr_fixed_rate(rate_kbps: float) -> dict:
    """A constant-bitrate stream through the RFC 8867 5.1 capacity pattern (100 s).

    1252-byte packets (1200 bytes of media and 52 of headers) at ``rate_kbps``, one-way
    delay 50 ms, a 300 ms tail-drop queue: too fast and the queue fills and drops,
    too slow and the capacity is wasted, and the link changes under a fixed choice.
    """
    from rtlib.net import simulate_path
    from rtlib.net.traces import rfc8867_5_1

    cap = rfc8867_5_1()
    size = 1200 + OVERHEAD_BYTES
    send = np.arange(0.0, 100.0, size * 8 / (rate_kbps * 1e3))
    res = simulate_path(send, size, delay_ms=50, capacity_bps=cap, queue_limit_ms=300)
    edges = np.arange(0.0, 100.5, 0.5)
    ok = ~res.lost
    good = np.histogram(res.arrival_s[ok], edges)[0] * size * 8 / 0.5 / 1e3
    q = (res.arrival_s[ok] - send[ok] - 0.050) * 1000
    n = np.histogram(res.arrival_s[ok], edges)[0]
    qs = np.histogram(res.arrival_s[ok], edges, weights=q)[0]
    with np.errstate(invalid="ignore"):
        qmean = np.where(n > 0, qs / np.maximum(n, 1), np.nan)
    cap_kbps = cap.rate_bps(edges) / 1e3
    return {"rate_kbps": rate_kbps, "t_s": edges[:-1], "capacity_kbps": cap_kbps, "goodput_kbps": good,
            "queue_ms": qmean, "loss": float(res.lost.mean()),
            "utilization": float(good.sum() / cap_kbps.sum())}


# -- 2. the delay-gradient signal (open loop) --------------------------------------------------
def _plot_gradient(r):
    from rtlib.viz import label_axes, new_figure

    fig, (a1, a2) = new_figure(2, 1, figsize=(8, 5.6), sharex=True, height_ratios=[1, 1.3])
    a1.plot(r["pkt_t_s"], r["pkt_queue_ms"], color="#D55E00", lw=1)
    for t0, t1, txt in r["phases"]:
        a1.axvspan(t0, t1, color="#56B4E9" if "load" in txt else "#FFFFFF", alpha=0.15, lw=0)
        a1.text((t0 + t1) / 2, 0.93, txt, transform=a1.get_xaxis_transform(), ha="center", va="top", fontsize=9)
    label_axes(a1, "", "queueing delay [ms]",
               f"Sending at {r['load']:.0%} of a 1 Mbit/s link, then 60 %: what the detector sees",
               unitless=("x",))
    a2.plot(r["grp_t_s"], r["d_ms"], ".", ms=2.5, color="#999999", label="d(i): delay variation per group")
    a2.plot(r["grp_t_s"], r["m_ms"], color="#0072B2", lw=1.6, label=f"filtered ({r['filter']}), detector units")
    a2.plot(r["grp_t_s"], r["th_ms"], color="black", lw=1, ls="--", label="± adaptive threshold")
    a2.plot(r["grp_t_s"], -r["th_ms"], color="black", lw=1, ls="--")
    over = r["signal"] == "overuse"
    under = r["signal"] == "underuse"
    lim = 45.0
    a2.fill_between(r["grp_t_s"], -lim, lim, where=over, color="#D55E00", alpha=0.18, lw=0, step="post",
                    label="over-use signalled")
    a2.fill_between(r["grp_t_s"], -lim, lim, where=under, color="#009E73", alpha=0.18, lw=0, step="post",
                    label="under-use signalled")
    a2.set_ylim(-lim, lim)
    label_axes(a2, "time [s]", "delay variation [ms]")
    a2.legend(loc="lower left", fontsize=8, ncol=2)
    return fig


@experiment("abr_delay_gradient", plot=_plot_gradient, notebook=NOTEBOOK,
            load=Param(1.10, 0.70, 1.50, 0.05, label="sending rate / capacity"),
            filter=Choice("trendline", ("trendline", "kalman"), label="arrival-time filter"))
def abr_delay_gradient(load: float, filter: str) -> dict:
    """Packets paced in 5 ms bursts into a 1 Mbit/s link: 1.5 s at 80 % of capacity,
    2 s at ``load``, 1.5 s at 60 %; then GCC's grouper, ``filter`` and over-use detector
    (draft-ietf-rmcat-gcc-02 sections 5.1-5.4) on the arrivals."""
    from rtlib.net import simulate_path

    cap, size = 1e6, 1200 + OVERHEAD_BYTES
    phases = [(0.0, 1.5, 0.8), (1.5, 3.5, load), (3.5, 5.0, 0.6)]
    send = []
    for t0, t1, x in phases:
        per_burst = x * cap * 0.005 / 8 / size  # packets per 5 ms burst (fractional: carried over)
        acc, t = 0.0, t0
        while t < t1 - 1e-9:
            acc += per_burst
            k = int(acc)
            acc -= k
            send += [t] * k
            t += 0.005
    send = np.array(send)
    res = simulate_path(send, size, delay_ms=50, capacity_bps=cap, queue_limit_ms=300)
    g = PacketGrouper()
    f = KalmanFilter() if filter == "kalman" else TrendlineFilter()
    det = OveruseDetector()
    rows = []
    for s, a in zip(send.tolist(), res.arrival_s.tolist()):
        if a != a:  # lost
            continue
        d = g.add(s, a, size)
        if d is None:
            continue
        if filter == "kalman":
            f.update(d.d_ms, d.send_delta_ms)
        else:
            f.update(d.d_ms, d.send_delta_ms, d.arrival_s)
        m = f.detector_input_ms()
        th = det.threshold_ms
        sig = det.detect(m, d.send_delta_ms, d.arrival_s)
        rows.append((d.arrival_s - 0.05, d.d_ms, m, th, sig.value))
    ok = ~res.lost
    return {
        "load": load, "filter": filter,
        "pkt_t_s": send[ok], "pkt_queue_ms": (res.arrival_s[ok] - send[ok] - 0.05) * 1000,
        "grp_t_s": np.array([r[0] for r in rows]), "d_ms": np.array([r[1] for r in rows]),
        "m_ms": np.array([r[2] for r in rows]), "th_ms": np.array([r[3] for r in rows]),
        "signal": np.array([r[4] for r in rows]),
        "phases": [(0.0, 1.5, "80 %"), (1.5, 3.5, f"load {load:.0%}"), (3.5, 5.0, "60 %")],
    }


# -- 3. GCC's state machine on a constant link (closed loop) ------------------------------------
def _plot_states(r):
    from rtlib.viz import label_axes, new_figure

    fig, (a1, a2, a3) = new_figure(3, 1, figsize=(8, 7.2), sharex=True, height_ratios=[1.4, 0.8, 1])
    t = r["t_s"]
    top = r["capacity_kbps"] * 1.6
    for state, color in STATE_COLORS.items():
        a1.fill_between(r["tr_t_s"], 0, top, where=r["state"] == state, step="post", color=color,
                        alpha=0.12 if state == "increase" else 0.45, lw=0, label=f"state: {state}")
    a1.axhline(r["capacity_kbps"], color="black", lw=1.5, label="link capacity")
    a1.plot(r["tr_t_s"], r["a_hat_kbps"], color="#0072B2", lw=1.2, label="delay-based estimate A")
    a1.plot(t, r["goodput_kbps"], color="#E69F00", lw=1.2, label="goodput")
    a1.set_ylim(0, top)
    label_axes(a1, "", "rate [kbit/s]",
               f"GCC on a {r['capacity_kbps'] / 1e3:g} Mbit/s link, back-off β = {r['beta']:g}: "
               f"utilisation {r['utilization']:.0%}, p95 delay {r['p95_ms']:.0f} ms", unitless=("x",))
    legend(a1, fontsize=8)
    a2.plot(t, r["queue_ms"], color="#D55E00")
    label_axes(a2, "", "queueing delay [ms]", unitless=("x",))
    a3.plot(r["tr_t_s"], r["m_ms"], color="#0072B2", lw=1, label="filtered delay gradient")
    a3.plot(r["tr_t_s"], r["th_ms"], color="black", ls="--", lw=1, label="± threshold")
    a3.plot(r["tr_t_s"], -r["th_ms"], color="black", ls="--", lw=1)
    lim = max(30.0, float(np.nanmax(r["th_ms"])) * 1.3) if r["th_ms"].size else 30.0
    a3.set_ylim(-lim, lim)
    label_axes(a3, "time [s]", "detector input [ms]")
    legend(a3, fontsize=8)
    return fig


@experiment("abr_state_machine", plot=_plot_states, notebook=NOTEBOOK,
            capacity_mbps=Param(1.5, 0.5, 3.0, 0.25, label="link capacity", unit="Mbit/s"),
            beta=Param(0.85, 0.5, 0.95, 0.05, label="back-off β"))
def abr_state_machine(capacity_mbps: float, beta: float) -> dict:
    """GCC alone on a constant link for 20 s (50 ms one way, 300 ms queue)."""
    return _state_machine(round(capacity_mbps, 4), round(beta, 4))


@lru_cache(maxsize=64)
def _state_machine(capacity_mbps: float, beta: float) -> dict:
    res = simulate_call(capacity_mbps * 1e6, 20.0, flows=[FlowSpec("gcc", controller_args={"beta": beta})])
    rep = res.report(0.2)
    f = rep["flows"][0]
    tr = res.flows[0].extra["gcc_trace"]
    s = res.summary()
    return {
        "capacity_kbps": capacity_mbps * 1e3, "beta": beta, "t_s": rep["t_s"],
        "goodput_kbps": f["goodput_bps"] / 1e3, "queue_ms": f["queue_delay_ms"],
        "tr_t_s": tr[:, 0].astype(float), "m_ms": tr[:, 1].astype(float), "th_ms": tr[:, 2].astype(float),
        "state": tr[:, 4].astype(str), "a_hat_kbps": tr[:, 5].astype(float) / 1e3,
        "utilization": s["utilization"], "p95_ms": s["delay_p95_ms"],
    }


# -- 4-7. whole scenarios, cached ---------------------------------------------------------------
@lru_cache(maxsize=32)
def scenario_run(name: str, controller: str) -> dict:
    """Run a named scenario once (cached): its 200 ms report, summary and flow names."""
    res = run_scenario(name, controller)
    rep = res.report(0.2)
    return {"name": name, "controller": controller, "report": rep, "summary": res.summary(),
            "flows": [f.name for f in res.flows], "kinds": [f.kind for f in res.flows],
            "renders": [f.render_s for f in res.flows]}


def precompute(names=("rfc8867-5.1",), controllers=("gcc", "aimd", "aiortc-remb", "fixed")) -> None:
    """Fill the cache so that the choosers answer at once (about 0.3 s per run)."""
    for n in names:
        for c in controllers:
            scenario_run(n, c)


def plot_scenario(r, title: str | None = None):
    """Rates (with capacity), queueing delay and frame rate of a scenario run, flow by flow."""
    from rtlib.viz import label_axes, new_figure

    rep, s = r["report"], r["summary"]
    fig, (a1, a2, a3) = new_figure(3, 1, figsize=(8, 6.8), sharex=True, height_ratios=[1.5, 1, 0.8])
    t = rep["t_s"]
    a1.step(t, rep["capacity_bps"] / 1e3, where="post", color="black", lw=1.5, label="link capacity")
    media = [i for i, k in enumerate(r["kinds"]) if k == "media"]
    for j, (name, fr) in enumerate(zip(r["flows"], rep["flows"])):
        c = FLOW_COLORS[j % len(FLOW_COLORS)] if len(r["flows"]) > 1 else CONTROLLER_COLORS.get(r["controller"])
        act = fr["active"]
        a1.plot(t[act], fr["goodput_bps"][act] / 1e3, color=c, lw=1.2, label=f"{name} goodput")
        if j in media:
            a2.plot(t[act], fr["queue_delay_ms"][act], color=c, lw=1, label=name)
            a3.plot(t[act], fr["fps"][act], color=c, lw=1, label=name)
    a1.set_ylim(0, max(3000.0, float(np.nanmax(rep["capacity_bps"])) / 1e3) * 1.3)
    title = title or (f"{r['name']}, {r['controller']}: utilisation {s['utilization']:.0%}, "
                      f"p95 delay {s['delay_p95_ms']:.0f} ms, loss {s['loss']:.1%}, freezes {s['freeze_rate']:.0%}")
    label_axes(a1, "", "rate [kbit/s]", title, unitless=("x",))
    a1.title.set_fontsize(11)
    legend(a1, fontsize=8)
    # Nothing is clipped: the delay counts waiting in the sender too, so it can pass the
    # queue's 300 ms limit; a frame rate over one second can pass the encoder's top rate
    # when a draining queue delivers delayed frames in a burst.
    queue_max = max(float(np.nanmax(f["queue_delay_ms"][f["active"]], initial=0.0)) for f in
                    (rep["flows"][j] for j in media)) if media else 0.0
    a2.set_ylim(0, max(QUEUE_LIMIT_MS * 1.15, queue_max * 1.08))
    a2.axhline(QUEUE_LIMIT_MS, color="#999999", ls=":", lw=1)
    a2.annotate(f"bottleneck queue limit, {QUEUE_LIMIT_MS:.0f} ms", (0.005, QUEUE_LIMIT_MS), xycoords=("axes fraction", "data"),
                xytext=(0, 2), textcoords="offset points", fontsize=8, color="#555555", va="bottom")
    label_axes(a2, "", "queueing delay [ms]", unitless=("x",))
    fps_max = max(float(np.nanmax(rep["flows"][j]["fps"], initial=0.0)) for j in media) if media else 0.0
    a3.set_ylim(0, max(TOP_FPS * 1.3, fps_max * 1.1))
    a3.axhline(TOP_FPS, color="#999999", ls=":", lw=1)
    a3.annotate(f"encoder's top rate, {TOP_FPS:g} fps", (0.005, TOP_FPS), xycoords=("axes fraction", "data"),
                xytext=(0, 2), textcoords="offset points", fontsize=8, color="#555555", va="bottom")
    label_axes(a3, "time [s]", "frame rate over 1 s [fps]")
    if len(media) > 1:
        legend(a2, fontsize=8)
    return fig


@experiment("abr_rfc8867_5_1", plot=plot_scenario, notebook=NOTEBOOK,
            controller=Choice("gcc", ("gcc", "aimd", "aiortc-remb", "fixed"), label="controller"))
def abr_rfc8867_5_1(controller: str) -> dict:
    """RFC 8867 5.1 (1 / 2.5 / 0.6 / 1 Mbit/s, 100 s) with ``controller`` (cached)."""
    return scenario_run("rfc8867-5.1", controller)


@experiment("abr_cellular", plot=plot_scenario, notebook=NOTEBOOK,
            trace=Choice("cellular-drive", ("cellular-walk", "cellular-drive"), label="trace"),
            controller=Choice("gcc", ("gcc", "aimd", "aiortc-remb", "oracle"), label="controller"))
def abr_cellular(trace: str, controller: str) -> dict:
    """The course's synthetic cellular traces (60 s) with ``controller`` (cached).

    ``oracle`` is the yardstick :class:`rtlib.cc.oracle.LaggedOracle`: told the link's
    capacity 100 ms late, it shows how much of the gap is the link's and how much GCC's."""
    return scenario_run(trace, controller)


@experiment("abr_fairness", plot=plot_scenario, notebook=NOTEBOOK,
            case=Choice("rfc8867-5.4", ("rfc8867-5.2", "rfc8867-5.4"), label="RFC 8867 case"),
            controller=Choice("gcc", ("gcc", "aimd", "aiortc-remb"), label="controller"))
def abr_fairness(case: str, controller: str) -> dict:
    """Two (5.2) or three (5.4) flows with the same controller sharing a bottleneck (cached)."""
    return scenario_run(case, controller)


@experiment("abr_vs_tcp", plot=plot_scenario, notebook=NOTEBOOK,
            controller=Choice("gcc", ("gcc", "aimd", "aiortc-remb"), label="media controller"))
def abr_vs_tcp(controller: str) -> dict:
    """RFC 8867 5.6: one media flow (from 5 s) against a long Reno-like TCP flow, 2 Mbit/s (cached)."""
    return scenario_run("rfc8867-5.6", controller)


# -- figures without sliders ----------------------------------------------------------------
def feedback_loop_figure():
    """The closed loop of chapter 08 as a block diagram."""
    import matplotlib.patches as mp

    from rtlib.viz import new_figure

    fig, ax = new_figure(figsize=(9, 4.2))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 5)
    ax.axis("off")
    boxes = {  # x, y, width, text, colour
        "encoder": (0.1, 3.2, 1.8, "video encoder\n+ audio", "#E69F00"),
        "pacer": (2.5, 3.2, 1.8, "pacer\n(5 ms bursts)", "#E69F00"),
        "net": (4.9, 3.2, 2.2, "bottleneck\nqueue (300 ms)\n+ 50 ms", "#999999"),
        "rx": (7.8, 3.2, 2.0, "receiver:\narrival times,\nloss, frames", "#56B4E9"),
        "ctl": (2.5, 0.4, 2.0, "rate controller\n(GCC: delay + loss)", "#0072B2"),
        "ret": (5.3, 0.4, 2.0, "return path\n(own delay, loss)", "#999999"),
    }
    h = 1.3
    for x, y, w, text, color in boxes.values():
        ax.add_patch(mp.FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.05", fc=color, alpha=0.25, ec=color))
        ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=9)

    def arrow(x0, y0, x1, y1, text="", dx=0.0, dy=0.12, ha="center"):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), arrowprops=dict(arrowstyle="->", lw=1.5, color="#333333"))
        if text:
            ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, text, ha=ha, va="bottom", fontsize=8)

    arrow(1.95, 3.85, 2.45, 3.85, "frames")
    arrow(4.35, 3.85, 4.85, 3.85, "packets")
    arrow(7.15, 3.85, 7.75, 3.85, "RTP")
    arrow(8.8, 3.15, 8.8, 1.05)
    ax.text(8.9, 2.1, "RTCP feedback:\ntransport-cc every 50 ms\n(or REMB), PLI", fontsize=8, va="center")
    arrow(8.8, 1.05, 7.4, 1.05)
    arrow(5.25, 1.05, 4.55, 1.05)
    arrow(3.4, 1.75, 3.4, 3.15, "pacing rate", dx=0.08, dy=-0.1, ha="left")
    arrow(2.6, 1.75, 1.2, 3.15, "encoder target", dx=-0.15, dy=-0.1, ha="right")
    ax.set_title("The adaptive-bitrate loop: the sender learns about the path only from feedback")
    return fig


def receiver_view_figure(r, times_s=(20.0, 50.0, 61.0, 70.0)):
    """What the receiver shows at a few moments of a run: resolution by rate, frozen picture.

    The picture is the course's test pattern, reduced to the resolution the encoder's
    ladder would choose for the flow's goodput at that moment and scaled back up, so
    blockiness shows the resolution; a frozen moment repeats the last picture.
    """
    from rtlib.cc.media import LADDER
    from rtlib.media.clips import synthetic_video_frame
    from rtlib.viz import new_figure

    rep = r["report"]
    fr = rep["flows"][0]
    renders = np.asarray(r["renders"][0])
    fig, axes = new_figure(1, len(times_s), figsize=(2.6 * len(times_s), 2.6))
    for ax, t in zip(np.atleast_1d(axes), times_s):
        k = min(int(t / rep["bin_s"]), len(rep["t_s"]) - 1)
        rate = float(fr["goodput_bps"][k])
        rung = LADDER[0]
        for rg in LADDER:
            if rate >= rg.min_bps:
                rung = rg
        before = renders[renders <= t]
        frozen_s = t - before[-1] if before.size else t
        frozen = frozen_s > 0.2
        idx = int((before[-1] if before.size else 0) * 30)
        # a 1280x720 test frame; show a 160x88-pixel detail, at the rung's resolution
        img = synthetic_video_frame(idx, 1280, 720)[472:560, 780:940].astype(float)
        f = max(1, int(round(720 / rung.height)))
        h, w = 88 // f * f, 160 // f * f
        small = img[:h, :w].reshape(h // f, f, w // f, f, 3).mean(axis=(1, 3))
        big = np.repeat(np.repeat(small, f, axis=0), f, axis=1)
        if frozen:
            big = big * 0.55 + 0.45 * 128
        ax.imshow(big.astype(np.uint8))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        label = f"t = {t:g} s: {rate / 1e3:.0f} kbit/s\n{rung.label}"
        if frozen:
            label += f", FROZEN {frozen_s:.1f} s"
        ax.set_title(label, fontsize=9, fontweight="normal", color="#D55E00" if frozen else "black")
    fig.suptitle("What the receiver sees (a detail of the picture): resolution follows the rate, "
                 "a freeze repeats the last frame", fontsize=11)
    return fig


def comparison_table(names=("rfc8867-5.1",), controllers=("gcc", "aimd", "aiortc-remb", "fixed")) -> str:
    """A markdown table of summaries (computed once, cached)."""
    lines = ["| case | controller | utilisation | p50 delay [ms] | p95 delay [ms] | loss | freeze rate | Jain |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for n in names:
        for c in controllers:
            s = scenario_run(n, c)["summary"]
            lines.append(f"| {n} | {c} | {s['utilization']:.0%} | {s['delay_p50_ms']:.0f} | "
                         f"{s['delay_p95_ms']:.0f} | {s['loss']:.1%} | {s['freeze_rate']:.1%} | {s['jain']:.2f} |")
    return "\n".join(lines)


# -- 6. the price of low delay on a cellular link ---------------------------------------------
ORACLE_MARGINS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@lru_cache(maxsize=8)
def oracle_frontier(trace: str = "cellular-drive", margins: tuple[float, ...] = ORACLE_MARGINS) -> dict:
    """Utilisation and p95 delay of the oracle at each safety ``margin``, and of the real controllers.

    The oracle (:class:`rtlib.cc.oracle.LaggedOracle`, capacity known 100 ms late)
    sends ``margin`` times what it knows; lowering the margin trades utilisation for
    delay, and the curve it traces is what the link allows a well-informed sender.
    """
    points = []
    for m in margins:
        s = run_scenario(trace, "oracle", controller_args={"margin": m}).summary()
        points.append((m, s["utilization"], s["delay_p95_ms"]))
    real = {c: scenario_run(trace, c)["summary"] for c in ("gcc", "aimd", "aiortc-remb")}
    return {"trace": trace, "oracle": points,
            "controllers": {c: (s["utilization"], s["delay_p95_ms"]) for c, s in real.items()}}


def oracle_frontier_figure(trace: str = "cellular-drive"):
    """The oracle's utilisation-delay curve with GCC, AIMD and aiortc-remb placed on it."""
    r = oracle_frontier(trace)
    return frontier_figure(trace, r["oracle"], r["controllers"])


def frontier_figure(label: str, oracle_points, controllers: dict):
    """Draw oracle points (margin, utilisation, p95 ms) as a curve and controllers as squares.

    ``controllers`` maps a controller's name to ``(utilisation, p95_ms)``.
    """
    from rtlib.viz import new_figure

    fig, ax = new_figure(figsize=(7.5, 4.6))
    _draw_frontier(ax, f"{label}: the price of low delay (oracle sending ×margin of what it knows)",
                   oracle_points, controllers)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig


def _draw_frontier(ax, title: str, oracle_points, controllers: dict) -> None:
    from rtlib.viz import label_axes

    m, u, d = (np.array(x) for x in zip(*oracle_points))
    ax.plot(d, u * 100, "-o", color=CONTROLLER_COLORS["oracle"], lw=1.5, label="oracle, capacity known 100 ms late")
    for mi, ui, di in zip(m, u, d):
        ax.annotate(f"×{mi:g}", (di, ui * 100), textcoords="offset points", xytext=(6, -10), fontsize=8,
                    color=CONTROLLER_COLORS["oracle"])
    for c, (ui, di) in controllers.items():
        ax.plot(di, ui * 100, "s", ms=9, color=CONTROLLER_COLORS[c], label=c)
    ax.axvspan(0, 100, color="#009E73", alpha=0.08, lw=0, label="p95 within 100 ms")
    xmax = max(320.0, float(np.nanmax(d)) * 1.05, *(float(di) * 1.05 for _, di in controllers.values()))
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, 105)
    label_axes(ax, "p95 queueing delay [ms]", "utilisation [%]", title=title)
    ax.title.set_fontsize(10)


# -- 10. recorded cellular traces (Mahimahi, shipped in data/traces/mahimahi) -----------------
MAHIMAHI_TRACES = ("Verizon-LTE-short.down", "ATT-LTE-driving-2016.down")
REAL_TRACE_S = 60.0
REAL_MARGINS = (0.4, 0.55, 0.7, 1.0)


def mahimahi_path(name: str):
    """The path of a recorded trace shipped with the course (see data/README.md)."""
    from rtlib.net.traces import TRACES_DIR

    path = TRACES_DIR / "mahimahi" / name
    if not path.is_file():
        shipped = sorted(p.name for p in (TRACES_DIR / "mahimahi").glob("*.down"))
        raise ValueError(f"name must be one of {shipped}, got {name!r}")
    return path


def outage_share(capacity, duration_s: float, horizon_s: float = 0.1) -> float:
    """Share of instants (1 ms grid) with no delivery opportunity in the next ``horizon_s``.

    A packet sent at such an instant waits longer than ``horizon_s`` (or is lost)
    whatever the sender does: the part of the delay no controller can avoid.
    """
    t = np.arange(0.0, duration_s, 0.001)
    return float(np.mean(capacity.bytes_by(t + horizon_s) <= capacity.bytes_by(t)))


@lru_cache(maxsize=4)
def real_trace_comparison(name: str, duration_s: float = REAL_TRACE_S,
                          controllers: tuple[str, ...] = ("gcc", "aimd", "aiortc-remb"),
                          margins: tuple[float, ...] = REAL_MARGINS) -> dict:
    """The controllers and the oracle frontier on the first ``duration_s`` of a recorded trace.

    Returns each controller's summary, the oracle's (margin, utilisation, p95) points,
    and the share of time the link offers no delivery within 100 ms.
    """
    from rtlib.cc.scenarios import run_trace
    from rtlib.net.traces import load_mahimahi

    path = mahimahi_path(name)
    summaries = {c: run_trace(path, c, duration_s=duration_s).summary() for c in controllers}
    oracle = []
    for m in margins:
        s = run_trace(path, "oracle", duration_s=duration_s, controller_args={"margin": m}).summary()
        oracle.append((m, s["utilization"], s["delay_p95_ms"]))
    return {"name": name, "duration_s": duration_s, "controllers": summaries, "oracle": oracle,
            "outage_share": outage_share(load_mahimahi(path), duration_s),
            "capacity_kbps": summaries[controllers[0]]["capacity_kbps_mean"]}


def oracle_best_within(points, p95_ms: float = 100.0):
    """The oracle point with the highest utilisation at p95 <= ``p95_ms``, or None."""
    ok = [p for p in points if p[2] <= p95_ms]
    return max(ok, key=lambda p: p[1]) if ok else None


def real_traces_figure(names=MAHIMAHI_TRACES):
    """The oracle frontier and the controllers on each recorded trace, side by side."""
    from rtlib.viz import new_figure

    fig, axes = new_figure(1, len(names), figsize=(5.2 * len(names) + 1.8, 4.4), sharey=True)
    for ax, name in zip(np.atleast_1d(axes), names):
        r = real_trace_comparison(name)
        ctl = {c: (s["utilization"], s["delay_p95_ms"]) for c, s in r["controllers"].items()}
        _draw_frontier(ax, f"{name.rsplit('.', 1)[0]}, first {r['duration_s']:.0f} s", r["oracle"], ctl)
    np.atleast_1d(axes)[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return fig
