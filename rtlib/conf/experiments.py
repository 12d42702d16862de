"""The figures and interactive experiments of chapter 10 (many participants).

Each widget is a pure function of its sliders plus a plot, registered with its ranges
(see :mod:`rtlib.viz.experiments`); the figures drawn once live here too, so the
notebook holds the story and no library code.

- :func:`architecture_figure`: mesh, SFU and MCU drawn with one arrow per stream;
- :func:`nat_table_markdown`: which NAT pairs connect directly and which need TURN
  (ICE simulated through RFC 4787 NATs, :func:`rtlib.conf.ice.pair_table`).

Used in: notebooks/10_many_participants.ipynb.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from rtlib.viz.experiments import Choice, Param, experiment

NB = "10_many_participants"

#: One colour per participant (Okabe-Ito, colour-blind safe), for "whose stream is this arrow".
PARTICIPANT_COLORS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


# -- the three architectures -------------------------------------------------------------------
def _ring(n: int, radius: float = 1.0) -> np.ndarray:
    angles = np.pi / 2 + 2 * np.pi * np.arange(n) / n
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])


def _arrow(ax, a, b, color, offset=0.0, shrink=0.16, lw=1.4):
    """An arrow from ``a`` to ``b``, shifted sideways by ``offset`` (to keep parallel streams apart)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    d = b - a
    length = np.hypot(*d)
    u = d / length
    normal = np.array([-u[1], u[0]])
    start = a + u * shrink + normal * offset
    end = b - u * shrink + normal * offset
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=color, lw=lw, mutation_scale=9, shrinkA=0, shrinkB=0))


def _node(ax, xy, text, color, size=0.13, face="white"):
    from matplotlib.patches import Circle

    ax.add_patch(Circle(xy, size, facecolor=face, edgecolor=color, lw=2, zorder=3))
    ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=9, fontweight="bold", color=color, zorder=4)


def _server(ax, text):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((-0.24, -0.13), 0.48, 0.26, boxstyle="round,pad=0.02", facecolor="#eeeeee",
                                edgecolor="#555555", lw=1.5, zorder=3))
    ax.text(0, 0, text, ha="center", va="center", fontsize=9, fontweight="bold", zorder=4)


def architecture_figure(participants: int = 4):
    """Mesh, SFU and MCU for ``participants`` people, one arrow per media stream, coloured by sender.

    The panel titles count the streams each topology carries (per client up and down).
    """
    from rtlib.viz import new_figure

    n = int(participants)
    if not 2 <= n <= len(PARTICIPANT_COLORS):
        raise ValueError(f"participants must be an integer in [2, {len(PARTICIPANT_COLORS)}], got {participants!r}")
    fig, axes = new_figure(1, 3, figsize=(12, 4.6))
    pos = _ring(n)
    names = [chr(ord("A") + i) for i in range(n)]
    gap = 0.035
    # mesh: every pair, both ways
    ax = axes[0]
    for i in range(n):
        for j in range(n):
            if i != j:
                _arrow(ax, pos[i], pos[j], PARTICIPANT_COLORS[i], offset=gap)
    ax.set_title(f"Full mesh: per client {n - 1} streams up,\n{n - 1} down; no server", fontsize=10)
    # SFU: one stream up, N-1 forwarded down (unchanged: the sender's colour)
    ax = axes[1]
    _server(ax, "SFU")
    for i in range(n):
        _arrow(ax, pos[i], (0, 0), PARTICIPANT_COLORS[i], offset=0.0, shrink=0.2)
        senders = [j for j in range(n) if j != i]
        for k, j in enumerate(senders):
            off = 0.05 + 0.035 * k
            _arrow(ax, (0, 0), pos[i], PARTICIPANT_COLORS[j], offset=off, shrink=0.2, lw=1.1)
    ax.set_title(f"SFU: per client 1 stream up, {n - 1} down,\nforwarded without decoding", fontsize=10)
    # MCU: one stream up, one mixed stream down (grey: made by the server)
    ax = axes[2]
    _server(ax, "MCU\nmix")
    for i in range(n):
        _arrow(ax, pos[i], (0, 0), PARTICIPANT_COLORS[i], offset=gap, shrink=0.2)
        _arrow(ax, (0, 0), pos[i], "#555555", offset=gap, shrink=0.2)
    ax.set_title("MCU: per client 1 stream up, 1 down,\ndecoded, mixed, re-encoded per receiver", fontsize=10)
    for ax in axes:
        for i in range(n):
            _node(ax, pos[i], names[i], PARTICIPANT_COLORS[i])
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(-1.35, 1.35)
        ax.set_aspect("equal")
        ax.axis("off")
    fig.text(0.5, 0.01, "Arrow colour = whose media it carries (grey: a mix made by the server). "
             "Each arrow is one stream.", ha="center", fontsize=9, color="#555555")
    return fig


# -- NAT pairs ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def nat_pairs() -> tuple:
    """Every unordered pair of NAT presets through simulated ICE (:func:`rtlib.conf.ice.pair_table`)."""
    from rtlib.conf.ice import pair_table

    return tuple(pair_table())


_PAIR_WORDS = {"host": "direct (host addresses)", "srflx": "direct (server-reflexive)",
               "prflx": "direct (peer-reflexive)", "relay": "**TURN relay**", None: "no connection"}


def nat_table_markdown() -> str:
    """The NAT pairs table as Markdown: the first pair ICE validated, and whether only TURN worked."""
    from rtlib.conf.nat import NAT_PRESETS

    rows = ["| NAT of peer 1 | NAT of peer 2 | mapping / filtering (1) | mapping / filtering (2) | first working pair "
            "| connected after |", "| --- | --- | --- | --- | --- | ---: |"]
    short = {"endpoint-independent": "EI", "address-dependent": "AD", "address-and-port-dependent": "APD"}
    for r in nat_pairs():
        a, b = NAT_PRESETS[r.left_nat], NAT_PRESETS[r.right_nat]
        mf = [("—" if not x.translating else f"{short[x.mapping.value]} / {short[x.filtering.value]}") for x in (a, b)]
        when = "—" if r.first_connect_ms is None else f"{r.first_connect_ms:.0f} ms"
        rows.append(f"| {r.left_nat} | {r.right_nat} | {mf[0]} | {mf[1]} | {_PAIR_WORDS[r.first_pair_type]} | {when} |")
    return "\n".join(rows)


# -- 1. bandwidth as N grows ----------------------------------------------------------------------
#: The home uplink this chapter assumes: the FCC's fixed-broadband benchmark of 2024
#: (100 Mbit/s down, 20 Mbit/s up; FCC 24-27, 2024 Section 706 Report).  Many homes have
#: less (ADSL and older cable plans: a few Mbit/s), which the slider explores.
HOME_UPLINK_MBPS = 20.0
N_AXIS = np.arange(2, 26)
TOPO_STYLE = {"mesh": ("#D55E00", "-", "full mesh"), "sfu": ("#0072B2", "-", "SFU"),
              "mcu": ("#009E73", "--", "MCU")}


#: The SFU simulcast ladders the bandwidth widget offers (kbit/s per layer, RFC 8853); "off": one stream.
LADDERS = {"off": None, "150/500": (150.0, 500.0), "150/500/1500": (150.0, 500.0, 1500.0),
           "150/500/1500/2500": (150.0, 500.0, 1500.0, 2500.0)}


@lru_cache(maxsize=256)
def _loads(bitrate_kbps: float, simulcast: bool, last_n: int | None,
           layers_kbps: tuple | None = None) -> dict[str, dict[str, np.ndarray]]:
    from rtlib.conf.topology import TOPOLOGIES, load

    out = {}
    for topo in TOPOLOGIES:
        rows = []
        for n in N_AXIS:
            kw = {}
            if topo == "sfu":
                kw["simulcast"] = simulcast
                if simulcast and layers_kbps is not None:
                    kw["layers_kbps"] = layers_kbps
            if topo != "mesh" and last_n is not None:
                kw["last_n"] = min(last_n, int(n) - 1)
            rows.append(load(topo, int(n), bitrate_kbps, **kw))
        out[topo] = {k: np.array([getattr(r, k) for r in rows], dtype=float)
                     for k in ("client_up_kbps", "client_down_kbps", "server_out_kbps", "server_cpu_cores",
                               "client_cpu_share")}
    return out


@experiment(
    "conf_bandwidth",
    plot=lambda r: _plot_bandwidth(r),
    notebook=NB,
    participants=Param(6, 2, 25, 1, label="participants N", integer=True),
    bitrate_kbps=Param(1500.0, 150.0, 3000.0, 50.0, label="video per stream", unit="kbit/s"),
    uplink_mbps=Param(HOME_UPLINK_MBPS, 1.0, 50.0, 0.5, label="home uplink", unit="Mbit/s"),
    layers=Choice("off", tuple(LADDERS), label="SFU simulcast layers [kbit/s]"),
    last_n=Param(24, 1, 24, 1, label="last-N (SFU, MCU tiles)", integer=True),
)
def conf_bandwidth(participants, bitrate_kbps, uplink_mbps, layers, last_n) -> dict:
    """Per-client uplink and downlink of mesh, SFU and MCU for N = 2..25 (audio 32 kbit/s included).

    With simulcast (``layers`` other than "off") the sender's uplink carries every layer
    of the ladder and each receiver gets the highest layer at or below ``bitrate_kbps``;
    last-N caps the video streams an SFU forwards to each receiver.
    """
    from rtlib.conf.topology import mesh_saturation_n

    simulcast = LADDERS[layers] is not None
    loads = _loads(bitrate_kbps, simulcast, last_n, LADDERS[layers])
    i = int(np.flatnonzero(N_AXIS == participants)[0])
    return {"n": N_AXIS, "loads": loads, "participants": participants, "i": i, "bitrate_kbps": bitrate_kbps,
            "uplink_mbps": uplink_mbps, "simulcast": simulcast, "layers": layers, "last_n": last_n,
            "mesh_saturation_n": mesh_saturation_n(uplink_mbps * 1000, bitrate_kbps)}


def _plot_bandwidth(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (up, down) = new_figure(1, 2, figsize=(10, 4.0), sharey=True)
    n, i = r["n"], r["i"]
    for topo, (color, ls, name) in TOPO_STYLE.items():
        L = r["loads"][topo]
        up.plot(n, L["client_up_kbps"] / 1e3, ls, color=color, lw=2, label=name)
        down.plot(n, L["client_down_kbps"] / 1e3, ls, color=color, lw=2, label=name)
        for ax, key in ((up, "client_up_kbps"), (down, "client_down_kbps")):
            ax.plot(n[i], L[key][i] / 1e3, "o", color=color, ms=6)
    up.axhline(r["uplink_mbps"], color="#555555", ls=":", lw=1.5, label=f"home uplink {r['uplink_mbps']:g} Mbit/s")
    sat = r["mesh_saturation_n"]
    if sat <= n[-1]:
        up.axvline(sat, color="#D55E00", ls=":", lw=1)
        up.text(sat + 0.3, 0.45, f"mesh uplink full\nat N = {sat}", transform=up.get_xaxis_transform(), va="top",
                fontsize=9, color="#D55E00")
    if np.allclose(r["loads"]["mesh"]["client_down_kbps"], r["loads"]["sfu"]["client_down_kbps"]):
        down.text(0.02, 0.97, "mesh and SFU coincide:\nN − 1 streams in", transform=down.transAxes, va="top",
                  fontsize=9, color="#555555")
    for ax in (up, down):
        ax.axvline(r["participants"], color="#999999", lw=0.8)
        ax.set_xlim(n[0], n[-1])
    top = max(r["loads"]["mesh"]["client_up_kbps"][i], r["loads"]["sfu"]["client_down_kbps"][i]) / 1e3
    up.set_ylim(0, max(1.6 * top, 1.3 * r["uplink_mbps"], 1.0))
    m = r["loads"]
    label_axes(up, "participants N (count)", "per-client uplink [Mbit/s]",
               f"Uplink at N = {r['participants']}: mesh {m['mesh']['client_up_kbps'][i] / 1e3:.1f}, "
               f"SFU {m['sfu']['client_up_kbps'][i] / 1e3:.1f} Mbit/s")
    label_axes(down, "participants N (count)", "per-client downlink [Mbit/s]",
               f"Downlink: SFU {m['sfu']['client_down_kbps'][i] / 1e3:.1f}, "
               f"MCU {m['mcu']['client_down_kbps'][i] / 1e3:.1f} Mbit/s")
    legend(up, where="below", ncols=2)
    legend(down, where="below", ncols=3)
    return fig


# -- 2. MCU CPU against SFU bandwidth ----------------------------------------------------------------
@experiment(
    "conf_server_cost",
    plot=lambda r: _plot_server_cost(r),
    notebook=NB,
    bitrate_kbps=Param(1500.0, 150.0, 3000.0, 50.0, label="video per stream", unit="kbit/s"),
    participants=Param(10, 2, 25, 1, label="participants N", integer=True),
)
def conf_server_cost(bitrate_kbps, participants) -> dict:
    """Server CPU (cores, measured codec costs) and server egress of SFU and MCU for N = 2..25."""
    loads = _loads(bitrate_kbps, False, None)
    i = int(np.flatnonzero(N_AXIS == participants)[0])
    return {"n": N_AXIS, "loads": loads, "i": i, "participants": participants, "bitrate_kbps": bitrate_kbps}


def _plot_server_cost(r):
    from matplotlib.ticker import FixedFormatter, FixedLocator, NullLocator

    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, (cpu, bw) = new_figure(1, 2, figsize=(10, 4.0))
    n, i, m = r["n"], r["i"], r["loads"]
    for topo in ("sfu", "mcu"):
        color, ls, name = TOPO_STYLE[topo]
        cpu.plot(n, m[topo]["server_cpu_cores"], ls, color=color, lw=2, label=name)
        bw.plot(n, m[topo]["server_out_kbps"] / 1e3, ls, color=color, lw=2, label=name)
        cpu.plot(n[i], m[topo]["server_cpu_cores"][i], "o", color=color)
        bw.plot(n[i], m[topo]["server_out_kbps"][i] / 1e3, "o", color=color)
    cpu.set_yscale("log")
    # fixed decades in plain text: minor log ticks and mathtext labels cost half the redraw
    decades = [0.001, 0.01, 0.1, 1, 10, 100]
    cpu.yaxis.set_major_locator(FixedLocator(decades))
    cpu.yaxis.set_major_formatter(FixedFormatter([f"{d:g}" for d in decades]))
    cpu.yaxis.set_minor_locator(NullLocator())
    cpu.set_ylim(1e-3, 1e2)
    for ax in (cpu, bw):
        ax.axvline(r["participants"], color="#999999", lw=0.8)
        ax.set_xlim(n[0], n[-1])
    label_axes(cpu, "participants N (count)", "server CPU [cores, log scale]",
               f"CPU at N = {r['participants']}: MCU {m['mcu']['server_cpu_cores'][i]:.1f} cores, "
               f"SFU {m['sfu']['server_cpu_cores'][i]:.3f} cores")
    label_axes(bw, "participants N (count)", "server egress [Mbit/s]",
               f"Egress: SFU {m['sfu']['server_out_kbps'][i] / 1e3:.0f}, MCU {m['mcu']['server_out_kbps'][i] / 1e3:.0f} "
               "Mbit/s")
    legend(cpu, where="below", ncols=2)
    legend(bw, where="below", ncols=2)
    return fig


# -- 3. simulcast layer selection with hysteresis --------------------------------------------------
@lru_cache(maxsize=1)
def recorded_estimate() -> tuple[np.ndarray, np.ndarray]:
    """``(t_s, estimate_kbps)``: a receiver's bandwidth estimate recorded from GCC over the
    synthetic drive trace (``data/conf/estimate_drive.csv``, rebuilt by its script)."""
    from rtlib.checks.ch10 import load_estimate

    return load_estimate()


@experiment(
    "conf_layers",
    plot=lambda r: _plot_layers(r),
    notebook=NB,
    up_margin=Param(1.15, 1.0, 2.0, 0.05, label="up: headroom (× next layer)"),
    up_hold_s=Param(2.0, 0.0, 5.0, 0.2, label="up: hold", unit="s"),
    down_hold_s=Param(0.4, 0.0, 3.0, 0.2, label="down: hold", unit="s"),
)
def conf_layers(up_margin, up_hold_s, down_hold_s) -> dict:
    """An SFU's :class:`rtlib.conf.simulcast.LayerSelector` on 60 s of a recorded estimate.

    Layers 150 / 500 / 1500 kbit/s.  Returns the chosen layers, the switch count and
    the stretches where the forwarded layer was above the estimate (what congests the
    receiver's link).
    """
    from rtlib.conf.simulcast import LayerSelector, over_estimate_spans, replay

    t_s, est = recorded_estimate()
    sel = LayerSelector(up_margin=up_margin, up_hold_s=up_hold_s, down_hold_s=down_hold_s)
    layers = np.array(replay(sel, t_s, est))
    rates = np.asarray(sel.layers_kbps)
    spans = over_estimate_spans(t_s, est, layers, sel.layers_kbps)
    dt = float(np.median(np.diff(t_s)))
    # the same trace with no hysteresis at all: up as soon as the next layer fits, down at once
    naive = np.array(replay(LayerSelector(up_margin=1.0, up_hold_s=0.0, down_hold_s=0.0), t_s, est))
    return {"t_s": t_s, "estimate_kbps": est, "layers": layers, "rate_kbps": rates[layers], "layers_kbps": rates,
            "switches": sel.switches, "naive_switches": int(np.count_nonzero(np.diff(naive))),
            "over_spans_s": spans, "over_s": float(sum(spans)), "longest_over_s": float(max(spans, default=0.0)),
            "delivered_share": float(np.sum(np.minimum(rates[layers], est)) / np.sum(est)), "dt_s": dt,
            "up_margin": up_margin, "up_hold_s": up_hold_s, "down_hold_s": down_hold_s}


def _plot_layers(r):
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(10, 4.0))
    t, est, rate = r["t_s"], r["estimate_kbps"], r["rate_kbps"]
    ax.plot(t, est, color="#555555", lw=1.2, label="receiver's bandwidth estimate")
    ax.step(t, rate, where="post", color="#0072B2", lw=2.2, label="forwarded layer")
    over = (rate > est) & (r["layers"] > 0)
    ax.fill_between(t, 0, 1, where=over, step="post", transform=ax.get_xaxis_transform(), color="#D55E00",
                    alpha=0.25, lw=0, label="layer above the estimate")
    for rate_kbps, name in zip(r["layers_kbps"], ("180p", "360p", "720p")):
        ax.axhline(rate_kbps, color="#0072B2", lw=0.6, ls=":")
        ax.text(t[-1] + 0.5, rate_kbps, f"{name}\n{rate_kbps:.0f}", va="center", fontsize=8, color="#0072B2")
    ax.set_xlim(t[0], t[-1] + 0.2)
    ax.set_ylim(0, max(est.max(), r["layers_kbps"][-1]) * 1.08)
    label_axes(ax, "time [s]", "rate [kbit/s]",
               f"{r['switches']} switches (no hysteresis: {r['naive_switches']}); "
               f"above the estimate {r['over_s']:.1f} s in all, longest {r['longest_over_s']:.1f} s")
    legend(ax, where="below", ncols=3)
    return fig


# -- 4. a 6-person SFU call with one receiver on a poor link ------------------------------------------
POOR_CALL = {"participants": 6, "duration_s": 20.0, "bitrate_kbps": 1500.0, "poor_link_kbps": 1500.0}
POOR_RUNS = {
    "all on 20 Mbit/s, simulcast": dict(simulcast=True),
    "one on 1.5 Mbit/s, simulcast": dict(simulcast=True, poor_link_kbps=POOR_CALL["poor_link_kbps"]),
    "one on 1.5 Mbit/s, no simulcast": dict(simulcast=False, poor_link_kbps=POOR_CALL["poor_link_kbps"]),
}


@lru_cache(maxsize=1)
def poor_receiver_calls() -> dict:
    """Three simulated 6-person SFU calls (:func:`rtlib.conf.call.simulate`, 20 s, seed 0): everyone on
    20 Mbit/s; the last participant's downlink at 1.5 Mbit/s with simulcast; the same without."""
    from rtlib.conf.call import simulate

    n, d, b = POOR_CALL["participants"], POOR_CALL["duration_s"], POOR_CALL["bitrate_kbps"]
    return {name: simulate("sfu", n, d, bitrate_kbps=b, seed=0, **kw) for name, kw in POOR_RUNS.items()}


def _layer_steps(log, layers_kbps, end_s):
    t = [x[0] for x in log] + [end_s]
    r = [layers_kbps[max(x[1], 0)] for x in log]
    return np.array(t), np.array(r + r[-1:])


def poor_receiver_figure(runs: dict | None = None):
    """Left: what the SFU forwards from one sender to a good and to the poor receiver, against each
    one's per-stream estimate.  Right: video received per participant in the three calls."""
    from rtlib.conf.topology import DEFAULT_LAYERS_KBPS
    from rtlib.viz import label_axes, new_figure
    from rtlib.viz.style import legend

    runs = poor_receiver_calls() if runs is None else runs
    names = list(POOR_RUNS)
    sim = runs[names[1]]
    n, d = sim.participants, sim.duration_s
    poor, good, sender = n - 1, 0, 1
    fig, (ax, bx, cx_) = new_figure(1, 3, figsize=(13, 4.6), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    for j, color, who in ((good, "#0072B2", f"receiver {good + 1} (20 Mbit/s)"),
                          (poor, "#D55E00", f"receiver {poor + 1} (1.5 Mbit/s)")):
        bt, bv = zip(*sim.budget_logs[j])
        ax.plot(bt, bv, color=color, lw=1, alpha=0.6, ls="--", label=f"{who}: estimate per stream")
        t, r = _layer_steps(sim.layer_logs[(j, sender)], DEFAULT_LAYERS_KBPS, d)
        ax.step(t, r, where="post", color=color, lw=2.2, label=f"{who}: layer forwarded")
    ax.set_yscale("log")
    ax.set_xlim(0, d)
    ax.set_ylim(20, 1e4)
    label_axes(ax, "time [s]", "rate per stream [kbit/s, log scale]",
               f"With simulcast: what the SFU forwards\nfrom participant {sender + 1}")
    legend(ax, where="below", ncols=1)
    width = 0.27
    x = np.arange(n)
    expected = (n - 1) * 30 * d
    colors = ("#999999", "#009E73", "#CC79A7")
    for k, (name, color) in enumerate(zip(names, colors)):
        per = runs[name].per_participant
        bx.bar(x + (k - 1) * width, [p["received_video_kbps"] / 1000 for p in per], width, color=color, label=name)
        cx_.bar(x + (k - 1) * width, [min(100.0, 100 * p["frames_rendered"] / expected) for p in per], width,
                color=color, label=name)
    for a in (bx, cx_):
        a.set_xticks(x, [f"{i + 1}" for i in range(n)])
    label_axes(bx, "receiver (participant number)", "video received [Mbit/s]", "Video each receiver gets")
    label_axes(cx_, "receiver (participant number)", "frames shown [% of frames sent]", "Frames each receiver shows")
    cx_.set_ylim(0, 105)
    shown = 100 * runs[names[2]].per_participant[-1]["frames_rendered"] / expected
    cx_.annotate(f"{shown:.1f} %", xy=(x[-1] + width, shown), xytext=(x[-1] + width, 35), ha="center", fontsize=9,
                 color="#CC79A7", arrowprops=dict(arrowstyle="->", color="#CC79A7"))
    legend(bx, where="below", ncols=1, title=f"{n}-person SFU call, {d:.0f} s (bars, middle and right)",
           title_fontsize=9)
    return fig


def poor_receiver_numbers(runs: dict | None = None) -> dict:
    """The figures the notebook states about :func:`poor_receiver_calls`."""
    runs = poor_receiver_calls() if runs is None else runs
    base, sim, plain = (runs[k] for k in POOR_RUNS)
    n, d = sim.participants, sim.duration_s
    frames_expected = int(round((n - 1) * 30 * d))

    def others(res, key):
        return [p[key] for p in res.per_participant[:-1]]

    return {
        "n": n, "duration_s": d, "frames_expected": frames_expected,
        "poor_sim": sim.per_participant[-1], "poor_plain": plain.per_participant[-1],
        "others_base_kbps": others(base, "received_video_kbps"), "others_sim_kbps": others(sim, "received_video_kbps"),
        "others_sim_freeze_s": others(sim, "freeze_s"), "others_sim_layer": others(sim, "mean_layer"),
        "others_sim_final": others(sim, "final_layer"),
        "others_plain_kbps": others(plain, "received_video_kbps"),
        "server_sim": sim.server, "layer_names": ("180p", "360p", "720p"),
    }


# -- 5. listen: an MCU's mix-minus ----------------------------------------------------------------------
@lru_cache(maxsize=1)
def mix_minus_listen(seconds: float = 6.0, rate_hz: int = 16_000) -> dict:
    """Three talkers through a real :class:`rtlib.conf.mcu.Mcu` (Opus up and down, 20 ms frames).

    A speaks the English clip, B the Mandarin clip, C the English clip from 8 s on (another
    sentence).  Returns each talker's input, the decoded mix each one hears (mix-minus), the full
    mix (what a plain "everyone" mix would send back) and the correlations that show who is in
    which mix.
    """
    from rtlib.conf.mcu import Mcu
    from rtlib.media.clips import load_speech
    from rtlib.media.codecs import as_float, as_int16, get_codec

    n = int(seconds * rate_hz)
    en = load_speech("en", rate_hz, as_float=True)
    zh = load_speech("zh", rate_hz, as_float=True)
    inputs = {"A": 0.6 * en[:n], "B": 0.6 * zh[:n], "C": 0.6 * en[8 * rate_hz: 8 * rate_hz + n]}
    args = {"rate_hz": rate_hz, "frame_ms": 20}
    mcu = Mcu(list(inputs), audio_args=args, video=False, audio_codec="opus")
    frame = mcu.samples_per_frame
    up = {p: get_codec("opus", **args) for p in inputs}     # each client's encoder
    down = {p: get_codec("opus", **args) for p in inputs}   # each client's decoder
    heard = {p: [] for p in inputs}
    for s in range(0, n - frame + 1, frame):
        for p, x in inputs.items():
            mcu.on_audio(p, up[p].encode(as_int16(x[s:s + frame])))
        for p, payload in mcu.audio_tick().items():
            heard[p].append(as_float(down[p].decode(payload)))
    heard = {p: np.concatenate(v) for p, v in heard.items()}
    m = min(len(v) for v in heard.values())
    full = np.clip(sum(x[:m] for x in inputs.values()), -1, 1)

    def corr(a, b):  # best normalised cross-correlation over the codec's delay (0-40 ms)
        best = 0.0
        for lag in range(0, int(0.04 * rate_hz), 8):
            x, y = a[lag:m], b[: m - lag]
            den = np.sqrt(np.dot(x, x) * np.dot(y, y))
            best = max(best, float(np.dot(x, y) / den) if den else 0.0)
        return best

    corrs = {(p, q): corr(heard[p], inputs[q]) for p in inputs for q in inputs}
    return {"inputs": {p: x[:m] for p, x in inputs.items()}, "heard": heard, "full_mix": full, "rate_hz": rate_hz,
            "corr": corrs, "decodes": mcu.decodes, "encodes": mcu.encodes}
