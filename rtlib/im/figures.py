"""Experiments and figures for the IM chapters (simulations of :mod:`rtlib.im.sim`).

- :func:`trace_path` / :func:`plot_paths`: one message walking client → gateway →
  logic → store (→ push → wake → pull) → client, as a sequence diagram;
- ``im_delivery_latency``: delivery latency for online and sleeping receivers,
  next to RTC's 200–400 ms;
- ``im_faults``: lost, duplicated and out-of-order messages under each fault, with
  the protection mechanisms switched on one after another; :func:`plot_fault_table`;
- ``im_ordering``: per-conversation sequence numbers, gaps, holds and pulls;
- ``im_multidevice``: two devices of one user, their cursors and the shared read
  watermark.

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

from rtlib.im.sim import Faults, Timing, World, fault_matrix
from rtlib.sim import make_rng
from rtlib.viz.experiments import Choice, Param, experiment

COLUMNS = ("sender", "gateway", "logic", "store", "push", "receiver")


# -- one message, traced ------------------------------------------------------------------
def trace_path(receiver: str = "online", *, seed: int = 1, timing: Timing = Timing()) -> dict:
    """Trace one message from alice to bob; ``receiver`` is ``"online"`` or
    ``"asleep"`` (bob's app is in the background: push, wake up, connect, pull).

    Returns ``{"steps": [...], "latency_s": ...}``; each step has ``t0_s``, ``t1_s``
    (seconds after alice pressed send), ``from``, ``to`` (one of :data:`COLUMNS`) and ``label``.
    """
    if receiver not in ("online", "asleep"):
        raise ValueError(f"receiver must be 'online' or 'asleep', got {receiver!r}")
    w = World(seed=seed, timing=timing, trace=True)
    w.add_user("alice")
    w.add_user("bob")
    w.add_conversation("ab", ["alice", "bob"], kind="direct")
    w.start()
    if receiver == "asleep":
        w.offline_at(0.5, "bob", 10_000, kind="background")
    t_send = 2.0
    w.send_at(t_send, "alice", "ab", "hello")
    w.run(60.0)
    names = {"alice": "sender", "bob": "receiver"}
    steps = [{**s, "from": names.get(s["from"], s["from"]), "to": names.get(s["to"], s["to"]),
              "t0_s": s["t0_s"] - t_send, "t1_s": s["t1_s"] - t_send} for s in w.trace]
    shown = [s["t1_s"] for s in steps if s["label"] == "shown to the user"]
    return {"receiver": receiver, "steps": steps, "latency_s": shown[0] if shown else None}


def plot_paths(*paths):
    """Sequence diagrams of traced messages, side by side (time flows down).

    Labels that would overlap an earlier one are left out (the arrows stay)."""
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, axes = new_figure(1, len(paths), figsize=(6.4 * len(paths), 6.0))
    axes = np.atleast_1d(axes)
    x = {c: i for i, c in enumerate(COLUMNS)}
    for ax, path in zip(axes, paths):
        steps = path["steps"]
        if path["latency_s"] is not None:  # the story ends when the message is shown
            steps = [s for s in steps if s["t0_s"] <= path["latency_s"] + 1e-9]
        t_end = max(s["t1_s"] for s in steps) * 1000.0
        ax.set_xlim(-0.6, len(COLUMNS) - 0.4)
        ax.set_ylim(t_end * 1.08, -t_end * 0.04)
        for i in x.values():
            ax.plot([i, i], [0, t_end * 1.06], color="#bbbbbb", lw=1, zorder=0)
        placed: list[tuple] = []  # label boxes in display pixels

        def label(xy, text, **kw):
            px, py = ax.transData.transform(xy)
            half = 3.2 * len(text)
            if any(abs(py - qy) < 11 and abs(px - qx) < half + qh for qx, qy, qh in placed):
                return
            placed.append((px, py, half))
            ax.annotate(text, xy, **kw)

        for s in steps:
            x0, x1 = x[s["from"]], x[s["to"]]
            y0, y1 = s["t0_s"] * 1000.0, s["t1_s"] * 1000.0
            kind = s["label"]
            color = COLORS["im"] if kind in ("send", "msg", "store + commit", "sync_ok") else (
                COLORS["accent"] if "push" in kind or "wakes" in kind else COLORS["neutral"])
            if x0 == x1:
                ax.plot([x0], [y1], "o", color=COLORS["good"] if "shown" in kind else color, ms=7, zorder=3)
                right = x0 > 2.5
                label((x0, y1), kind, xytext=(-9 if right else 9, 0), textcoords="offset points",
                      ha="right" if right else "left", va="center", fontsize=9)
                continue
            ax.annotate("", (x1, y1), (x0, y0), arrowprops=dict(arrowstyle="->", color=color, lw=1.5))
            label(((x0 + x1) / 2, (y0 + y1) / 2), kind, xytext=(0, 3), textcoords="offset points",
                  ha="center", va="bottom", fontsize=8, color=color)
        ax.set_xticks(range(len(COLUMNS)))
        ax.set_xticklabels(COLUMNS)
        ax.grid(False)
        who = "receiver online" if path["receiver"] == "online" else "receiver asleep (app in background)"
        lat = path["latency_s"]
        label_axes(ax, "component (no unit)", "time after 'send' [ms]",
                   f"{who}: shown after {lat * 1000:,.0f} ms" if lat is not None else who, unitless=("x",))
    return fig


# -- delivery latency -------------------------------------------------------------------
def _latency_world(push_median_s: float, asleep_share: float, delay_ms: float, seed: int = 0) -> World:
    timing = Timing(delay_ms=delay_ms, jitter_ms=delay_ms / 4, push_median_s=push_median_s, awake_s=3.0)
    w = World(seed=seed, timing=timing)
    users = [f"u{i}" for i in range(8)]
    for u in users:
        w.add_user(u)
    w.add_conversation("g", users)
    n_asleep = int(round(asleep_share * (len(users) - 2)))
    asleep = users[len(users) - n_asleep:]
    senders = users[:2]
    w.start()
    for u in asleep:
        w.offline_at(0.5, u, 10_000, kind="background")
    rng = make_rng(seed, "im-latency")
    for u in senders:
        for t in np.sort(rng.uniform(2.0, 120.0, 20)):
            w.send_at(float(t), u, "g", "hi")
    w.end_s = 150.0
    return w


def _plot_latency(res):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8, 4.4), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.09, right=0.97, bottom=0.13, top=0.91)
    ax.axvspan(0.2, 0.4, color=COLORS["rtc"], alpha=0.15, label="RTC budget 200–400 ms")
    for key, color, name in (("online_s", COLORS["im"], "receiver online"),
                             ("asleep_s", COLORS["accent"], "receiver asleep")):
        lat = np.sort(res[key])
        if lat.size:
            ax.step(lat, np.arange(1, lat.size + 1) / lat.size, where="post", color=color, lw=2,
                    label=f"{name}: median {np.median(lat):.2f} s")
    ax.set_xscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(0.01, 1000)
    ax.set_ylim(0, 1.02)
    label_axes(ax, "delivery latency, send to shown [s]", "share of deliveries (fraction)",
               "IM delivery latency: fine for chat, far too slow for a call")
    ax.legend(loc="center right", fontsize=9)
    return fig


@experiment(
    "im_delivery_latency",
    plot=_plot_latency,
    notebook="02_im_store_forward",
    push_median_s=Param(1.0, 0.1, 10.0, 0.1, label="push delay (median)", unit="s"),
    asleep_share=Param(0.5, 0.0, 1.0, 0.05, label="share of receivers asleep"),
    delay_ms=Param(40.0, 5.0, 300.0, 5.0, label="network delay, one way", unit="ms"),
)
def im_delivery_latency(push_median_s: float, asleep_share: float, delay_ms: float) -> dict:
    """Delivery latency (s) of group messages to online and to sleeping receivers."""
    w = _latency_world(push_median_s, asleep_share, delay_ms)
    w.run(w.end_s)
    rep = w.report()
    return {"online_s": rep["latency_online_s"], "asleep_s": rep["latency_offline_s"], "lost": rep["lost"],
            "push_median_s": push_median_s}


# -- faults and mechanisms ----------------------------------------------------------------
CRASH_CHOICES = ("none", "logic_before_commit", "logic_after_commit", "store_before_commit", "store_after_commit")


def fault_levels(faults: Faults, *, seed: int = 0, users: int = 3, messages_per_user: int = 15) -> dict:
    """One fault scenario under every mechanism level: ``{level: report}`` (one row of
    :func:`rtlib.im.sim.fault_matrix`)."""
    matrix = fault_matrix(faults={"fault": faults}, seed=seed, users=users, messages_per_user=messages_per_user)
    return {level: rep for (_, level), rep in matrix.items()}


def _plot_faults(res):
    """Deliveries lost (split by what the sender saw), duplicated and out of order, per level."""
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.4, 4.4), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.09, right=0.7, bottom=0.2, top=0.91)
    levels = list(res["levels"])
    xs = np.arange(len(levels))
    width = 0.26
    told = np.array([res["levels"][lv]["lost_sender_told"] for lv in levels])
    acked = np.array([res["levels"][lv]["lost_sender_saw_ack"] for lv in levels])
    ax.bar(xs - width, told, width, color=COLORS["bad"], label="lost: sender shown ✘")
    ax.bar(xs - width, acked, width, bottom=told, color=COLORS["bad"], alpha=0.45, hatch="//",
           label="lost: sender never told\n(with acks: stored and\nacked, msg frame dropped)")
    for k, (key, color, name) in enumerate((("duplicated", COLORS["im"], "duplicated"),
                                            ("out_of_order", COLORS["rtc"], "out of order"))):
        ax.bar(xs + k * width, [res["levels"][lv][key] for lv in levels], width, color=color, label=name)
    ax.set_xticks(xs)
    ax.set_xticklabels([lv.replace(" + ", "\n+ ").replace(" (", "\n(") for lv in levels], fontsize=9)
    expected = res["levels"][levels[0]]["expected"]
    label_axes(ax, "protection switched on (cumulative)", f"deliveries (of {expected}) [count]",
               res["title"], unitless=("x",))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)
    return fig


@experiment(
    "im_faults",
    plot=_plot_faults,
    notebook="02_im_store_forward",
    drop=Param(0.1, 0.0, 0.5, 0.01, label="drop (per frame)"),
    duplicate=Param(0.0, 0.0, 0.5, 0.01, label="duplicate (per frame)"),
    reorder=Param(0.0, 0.0, 0.5, 0.01, label="reorder (per frame)"),
    crash=Choice("none", CRASH_CHOICES, label="crash (5% of commits)"),
)
def im_faults(drop: float, duplicate: float, reorder: float, crash: str) -> dict:
    """What the users see under faults, as acks, retries, dedupe and in-order release are added."""
    f = Faults(drop=drop, duplicate=duplicate, reorder=reorder, crash=None if crash == "none" else crash,
               crash_rate=0.0 if crash == "none" else 0.05)
    parts = [f"{name} {v:.0%}" for name, v in (("drop", drop), ("duplicate", duplicate), ("reorder", reorder)) if v]
    if crash != "none":
        parts.append(crash.replace("_", " "))
    return {"levels": fault_levels(f), "title": "Faults: " + (", ".join(parts) or "none")}


def plot_fault_table(matrix: dict):
    """The fault matrix of :func:`rtlib.im.sim.fault_matrix` as a table of coloured cells."""
    from rtlib.viz import COLORS, label_axes, new_figure

    faults = list(dict.fromkeys(k[0] for k in matrix))
    levels = list(dict.fromkeys(k[1] for k in matrix))
    fig, ax = new_figure(figsize=(11, 0.55 * len(faults) + 1.6))
    for i, fn in enumerate(faults):
        for j, ln in enumerate(levels):
            r = matrix[(fn, ln)]
            bad = r["lost"] + r["duplicated"] + r["out_of_order"]
            color = COLORS["good"] if bad == 0 else COLORS["bad"]
            ax.add_patch(Rectangle((j, i), 1, 1, color=color,
                                   alpha=0.25 if bad == 0 else 0.15 + 0.6 * min(1.0, bad / r["expected"])))
            text = "✔ none" if bad == 0 else " · ".join(
                f"{n} {r[k]}" for k, n in (("lost", "lost"), ("duplicated", "dup"), ("out_of_order", "ooo")) if r[k])
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=8.5)
    ax.set_xlim(0, len(levels))
    ax.set_ylim(len(faults), 0)
    ax.set_xticks(np.arange(len(levels)) + 0.5)
    ax.set_xticklabels([lv.replace(" + ", "\n+ ") for lv in levels], fontsize=9)
    ax.set_yticks(np.arange(len(faults)) + 0.5)
    ax.set_yticklabels(faults, fontsize=9)
    ax.grid(False)
    label_axes(ax, "protection switched on (cumulative)", "fault injected",
               "What the users see, per fault and protection (lost · dup = duplicated · ooo = out of order)",
               unitless=("x", "y"))
    return fig


# -- ordering: seq numbers, gaps, holds, pulls --------------------------------------------
def _plot_ordering(res):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.4, 4.6), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.91)
    log = res["log"]
    for kind, marker, color, name in (("push", "o", COLORS["im"], "arrives pushed (msg)"),
                                      ("pull", "s", COLORS["accent"], "arrives pulled (sync)")):
        pts = [(t, s) for t, k, _, s in log if k == kind]
        if pts:
            t, s = zip(*pts)
            ax.plot(t, s, marker, color=color, ms=5, ls="none", label=name, alpha=0.8)
    rel = [(t, s) for t, k, _, s in log if k == "release"]
    if rel:
        t, s = zip(*rel)
        ax.step(t, s, where="post", color=COLORS["good"], lw=2, label="shown to the user (in order)")
    label_axes(ax, "time [s]", "sequence number in the conversation (count)",
               f"{res['held']} messages waited for a gap to fill, {res['pulled']} were pulled",
               unitless=("y",))
    ax.legend(loc="upper left", fontsize=9)
    return fig


@experiment(
    "im_ordering",
    plot=_plot_ordering,
    notebook="03_im_scale",
    reorder=Param(0.2, 0.0, 0.6, 0.05, label="reorder (per frame)"),
    drop=Param(0.05, 0.0, 0.4, 0.01, label="drop (per frame)"),
    gap_wait_ms=Param(100.0, 0.0, 2000.0, 50.0, label="wait before pulling a gap", unit="ms"),
)
def im_ordering(reorder: float, drop: float, gap_wait_ms: float) -> dict:
    """One receiver's view: arrivals (pushed or pulled) and in-order release."""
    w = World(seed=3, faults=Faults(reorder=reorder, drop=drop, reorder_delay_ms=500))
    w.add_user("alice")
    w.add_user("bob", gap_wait_s=gap_wait_ms / 1000)
    w.add_conversation("ab", ["alice", "bob"], kind="direct")
    log = w.watch("bob")
    w.start()
    for k in range(40):
        w.send_at(1.0 + 0.1 * k, "alice", "ab", f"m{k}")
    w.run(40.0)
    arrivals = [e for e in log if e[1] in ("push", "pull")]
    first_seen: dict[int, float] = {}
    for t, _, _, s in arrivals:
        first_seen.setdefault(s, t)
    released_at = {s: t for t, k, _, s in log if k == "release"}
    held = sum(1 for s, t in released_at.items() if s in first_seen and t > first_seen[s] + 1e-9)
    return {"log": log, "held": held, "pulled": sum(1 for e in arrivals if e[1] == "pull"),
            "released": [s for t, k, _, s in log if k == "release"], "report": w.report()}


# -- multi-device sync ------------------------------------------------------------------------
def _plot_multidevice(res):
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.4, 4.6), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.91)
    t, last = res["server_t_s"], res["server_last_seq"]
    ax.step(t, last, where="post", color=COLORS["neutral"], lw=4, alpha=0.35, label="server: last seq stored")
    for dev, color in (("phone", COLORS["im"]), ("laptop", COLORS["rtc"])):
        pts = res["cursor"][dev]
        if pts:
            ts, ss = zip(*pts)
            ax.step(ts, ss, where="post", color=color, lw=2, label=f"alice's {dev}: cursor (has up to)")
    rd = res["read"]
    if rd:
        ts, ss = zip(*rd)
        ax.step(ts, ss, where="post", color=COLORS["good"], lw=1.5, ls="--", label="alice's read watermark")
    a, b = res["offline"]
    ax.axvspan(a, b, color=COLORS["rtc"], alpha=0.08, label="laptop offline")
    label_axes(ax, "time [s]", "sequence number in the conversation (count)",
               "Two devices, one user: each device keeps its own cursor", unitless=("y",))
    ax.legend(loc="upper left", fontsize=9)
    return fig


@experiment(
    "im_multidevice",
    plot=_plot_multidevice,
    notebook="03_im_scale",
    offline_s=Param(20.0, 5.0, 60.0, 5.0, label="laptop offline for", unit="s"),
)
def im_multidevice(offline_s: float) -> dict:
    """Alice's phone and laptop follow a chat with bob; the laptop goes offline for a while."""
    w = World(seed=2)
    w.add_user("alice", devices=("phone", "laptop"))
    w.add_user("bob")
    w.add_conversation("ab", ["alice", "bob"], kind="direct")
    logs = {d: w.watch("alice", d) for d in ("phone", "laptop")}
    w.start()
    start = 10.0
    w.offline_at(start, "alice", offline_s, kind="no_network", device="laptop")
    end = start + offline_s + 20.0
    for k, t in enumerate(np.arange(2.0, end - 5.0, 1.5)):
        w.send_at(float(t), "bob", "ab", f"b{k}")
    for t in np.arange(6.0, end - 5.0, 9.0):
        w.read_at(float(t), "alice", "ab", device="phone")
    # the server's last seq over time
    server = []

    def sample():
        server.append((w.loop.time(), w.store.last_seq("ab")))
        if w.loop.time() < end:
            w.loop.call_later(0.25, sample)

    w.loop.call_at(0.0, sample)
    w.run(end)
    cursor = {d: [(t, s) for t, k, c, s in logs[d] if k == "cursor"] for d in logs}
    read = [(t, s) for t, k, c, s in logs["laptop"] + logs["phone"] if k == "read"]
    read.sort()
    st, ss = zip(*server)
    return {"cursor": cursor, "read": read, "server_t_s": np.array(st), "server_last_seq": np.array(ss),
            "offline": (start, start + offline_s), "report": w.report()}


# -- validations: the closed-form models against counted runs --------------------------------
def plot_diffusion_validation(sizes=(10, 20, 50, 100, 200, 500), **model):
    """Rows written and read per day: counted on SQLite (markers) vs the model (lines)."""
    from rtlib.im.diffusion import diffusion_costs, measure_day
    from rtlib.viz import COLORS, label_axes, new_figure

    sizes = list(sizes)
    grid = np.unique(np.round(np.logspace(np.log10(min(sizes)), np.log10(max(sizes)), 60)))
    m = diffusion_costs(grid, groups_per_user=1, **model)
    fig, axes = new_figure(1, 2, figsize=(10.5, 4.2))
    for ax, key, what in ((axes[0], "rows_written", "rows written per day"), (axes[1], "rows_read", "rows read per day")):
        for strategy, color, marker, ls in (("write", COLORS["im"], "o", "-"), ("read", COLORS["rtc"], "x", "--")):
            ax.loglog(grid, m[strategy][key], color=color, lw=1.5, ls=ls, label=f"{strategy} diffusion: model")
            counted = [measure_day(strategy, n, **{k: v for k, v in model.items() if k in (
                "msgs_per_member_day", "active", "syncs_per_day", "read_cap")})[key] for n in sizes]
            ax.loglog(sizes, counted, marker, color=color, ms=9 if marker == "o" else 8, mew=2,
                      mfc="none" if marker == "o" else color, label=f"{strategy} diffusion: counted on SQLite")
        label_axes(ax, "group size [members]", f"{what} [rows]", what.capitalize())
        ax.legend(fontsize=8, loc="upper left")
    return fig


def plot_presence_validation(users: int = 5000, friends: int = 100, seed: int = 0):
    """Presence frames per second: counted on a random friendship graph vs the model."""
    from rtlib.im.presence import presence_rate, simulate_presence_storm
    from rtlib.viz import COLORS, label_axes, new_figure

    fig, ax = new_figure(figsize=(8.4, 4.2))
    for w_ms, sub, color, name in ((0, 1.0, COLORS["bad"], "every change, to everyone online"),
                                   (1000, 0.2, COLORS["good"], "coalesced per 1 s, 20% watching")):
        sim = simulate_presence_storm(users=users, friends=friends, coalesce_ms=w_ms, subscribed=sub, bin_s=15,
                                      seed=seed)
        t = sim["t_s"] / 60
        ax.step(t, sim["frames_per_s"], where="mid", color=color, lw=1, alpha=0.7, label=f"{name}: counted")
        ax.plot(t, presence_rate(sim["t_s"], users=users, friends=friends, coalesce_ms=w_ms, subscribed=sub),
                color=color, lw=2.5, ls="--", label=f"{name}: model")
    label_axes(ax, "time from 9:00 [min]", "presence frames sent [frames/s]",
               f"{users:,} users with {friends} friends: simulation and model agree")
    ax.legend(fontsize=8, loc="upper left")
    return fig


# -- hostile clients (issue 12) -----------------------------------------------------------------
def plot_hostile(flood_on: dict, flood_off: dict, slow_on: dict, slow_off: dict):
    """Left: what a flooder stores, with and without the per-user rate limit, next to an
    honest user's sends.  Right: the bytes queued for a reader that never reads, with and
    without the outgoing-queue bound (results of :mod:`rtlib.im.hostile`)."""
    from rtlib.viz import COLORS, label_axes, legend, new_figure

    fig, (a, b) = new_figure(1, 2, figsize=(11, 5.0))
    a.plot(flood_off["t"], flood_off["mallory_stored"], color=COLORS["bad"], lw=2, label="mallory stored, no limit")
    a.plot(flood_on["t"], flood_on["mallory_stored"], color=COLORS["good"], lw=2,
           label=f"mallory stored, limit {flood_on['burst']} + {flood_on['rate']:.0f}/s")
    a.plot(flood_on["t"], flood_on["mallory_refused"], color=COLORS["good"], lw=1.5, ls=":",
           label="mallory refused (rate_limited)")
    a.plot(flood_on["t"], flood_on["alice_stored"], color=COLORS["im"], lw=2.5, ls="--", label="alice stored (limit on)")
    a.set_yscale("symlog", linthresh=10)
    label_axes(a, "time [s]", "messages (cumulative)", "A flood against a per-user rate limit")
    legend(a, where="below", fontsize=8)
    mib = 1024 * 1024
    b.plot(slow_off["t"], slow_off["queued_bytes"] / mib, color=COLORS["bad"], lw=2, label="no bound: grows with the group")
    b.plot(slow_on["t"], slow_on["queued_bytes"] / mib, color=COLORS["good"], lw=2,
           label=f"bound {slow_on['max_bytes'] / mib:g} MiB: closed (4003), then sync")
    b.axhline(slow_on["max_bytes"] / mib, color=COLORS["good"], lw=1, ls=":")
    label_axes(b, "time [s]", "queued for the reader [MiB]", "A reader that never reads")
    legend(b, where="below", fontsize=8)
    return fig


def plot_cluster_scaling(runs: list[dict], cores: int):
    """Left: acked messages/s as the load moves to 1, 2, 3 gateways, with the CPU model's
    bound on this machine.  Right: the p50 and p99 of the ack time (results of
    :func:`rtlib.im.cluster_lab.scaling`)."""
    from rtlib.im.cluster_lab import capacity_model
    from rtlib.viz import COLORS, label_axes, legend, new_figure

    k = [r["gateways"] for r in runs]
    fig, (a, b) = new_figure(1, 2, figsize=(11, 4.8))
    a.plot(k, [r["acked_per_s"] for r in runs], "o-", color=COLORS["im"], lw=2, label="measured: acked")
    a.plot(k, [capacity_model(r["cpu_s_per_msg"], cores, r["gateways"]) for r in runs], "s--",
           color=COLORS["bad"], lw=1.5, label=f"CPU bound on {cores} cores (model)")
    a.set_xticks(k)
    a.set_ylim(0, None)
    label_axes(a, "gateways in use", "acked messages [1/s]", "Throughput as gateways are added", unitless=("x",))
    legend(a, where="below", fontsize=8)
    b.plot(k, [r["ack_p50_ms"] for r in runs], "o-", color=COLORS["im"], lw=2, label="ack p50")
    b.plot(k, [r["ack_p99_ms"] for r in runs], "o--", color=COLORS["bad"], lw=2, label="ack p99")
    b.set_xticks(k)
    b.set_ylim(0, None)
    label_axes(b, "gateways in use", "send → ack [ms]", "Ack time with a window of sends in flight", unitless=("x",))
    legend(b, where="below", fontsize=8)
    return fig
