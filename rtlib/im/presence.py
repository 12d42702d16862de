"""Presence storms: when everybody logs in at 9:00, "X is online" floods the servers.

Each time a user comes online, the server tells each of their *online* friends.  When
U users log in within a short window, the k-th to arrive finds about F·k/U of their F
friends already online, so the presence frames grow like U·F/2 in total, packed into
the login window: a quadratic storm, all of it for a green dot.

Two standard cures, both here as parameters:

- **coalescing**: a recipient gets at most one presence frame per ``coalesce_ms``
  window, listing every change in it;
- **lazy presence**: only devices that show the contact list (``subscribed``) get
  updates; the others ask when they open it.

:func:`simulate_presence_storm` counts frames exactly on a random friendship graph;
:func:`presence_rate` is the closed-form expectation, fast enough for a widget.  With
logins spread normally around 9:00 (standard deviation ``login_spread_s``), a user
logging in at t finds a fraction Φ(t) of their friends online (Φ: the normal CDF):

    frames/s (no coalescing)      = U·f(t) · F·Φ(t) · subscribed
    frames/s (coalescing window w) = U·Φ(t)·subscribed · (1 − exp(−F·f(t)·w)) / w

where f is the login-time density (per second).

Used in: notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import math

import numpy as np

from rtlib.sim import make_rng
from rtlib.validate import check_number
from rtlib.viz.experiments import Param, experiment


def _int(name, value, low, high) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def _phi(x):
    from scipy.special import ndtr

    return ndtr(x)


def presence_rate(t_s, *, users: int = 10_000, friends: int = 100, login_spread_s: float = 300.0,
                  coalesce_ms: float = 0.0, subscribed: float = 1.0) -> np.ndarray:
    """Expected presence frames per second at times ``t_s`` (seconds from 9:00)."""
    users = _int("users", users, 2, 10_000_000)
    friends = _int("friends", friends, 0, 100_000)
    sd = check_number("login_spread_s", login_spread_s, 1, 86_400)
    w = check_number("coalesce_ms", coalesce_ms, 0, 600_000) / 1000
    subscribed = check_number("subscribed", subscribed, 0, 1)
    t = np.asarray(t_s, dtype=float)
    online = _phi(t / sd)
    density = np.exp(-0.5 * (t / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
    if w == 0:
        return users * density * friends * online * subscribed
    return users * online * subscribed * -np.expm1(-friends * density * w) / w


def simulate_presence_storm(*, users: int = 2000, friends: int = 50, login_spread_s: float = 300.0,
                            coalesce_ms: float = 0.0, subscribed: float = 1.0, bin_s: float = 10.0,
                            seed: int = 0) -> dict:
    """Count presence frames exactly on a random friendship graph.

    Every user has ``friends`` friends drawn at random (the graph is made symmetric,
    so degrees are close to ``friends``); logins are normal around t = 0 with
    ``login_spread_s``.  Returns bin centres ``t_s`` and ``frames_per_s``, the total
    frames, and the number of logins.
    """
    users = _int("users", users, 2, 200_000)
    friends = _int("friends", friends, 0, min(users - 1, 2000))
    sd = check_number("login_spread_s", login_spread_s, 1, 86_400)
    w = check_number("coalesce_ms", coalesce_ms, 0, 600_000) / 1000
    subscribed = check_number("subscribed", subscribed, 0, 1)
    bin_s = check_number("bin_s", bin_s, 0.01, 3600)
    rng = make_rng(seed, "presence")
    t_login = rng.normal(0.0, sd, users)
    watching = rng.random(users) < subscribed
    # Half the degree from each side, then symmetrise: every edge notifies both ways.
    half = max(0, friends // 2)
    a = np.repeat(np.arange(users), half)
    b = rng.integers(0, users - 1, a.size)
    b += b >= a  # no self-friendship
    src = np.concatenate([a, b])  # the user who logs in
    dst = np.concatenate([b, a])  # the friend who is told
    # A friend is told when it is already online (logged in earlier) and watching.
    told = (t_login[dst] < t_login[src]) & watching[dst]
    t = t_login[src[told]]
    rcpt = dst[told]
    if w > 0 and t.size:
        window = np.floor(t / w).astype(np.int64)
        key = rcpt.astype(np.int64) * (window.max() - window.min() + 1) + (window - window.min())
        _, first = np.unique(key, return_index=True)
        t = (np.floor(t[first] / w) + 1) * w  # sent at the end of the window
    lo = -4 * sd
    edges = np.arange(lo, 4 * sd + bin_s, bin_s)
    counts, _ = np.histogram(t, bins=edges)
    return {"t_s": (edges[:-1] + edges[1:]) / 2, "frames_per_s": counts / bin_s, "frames": int(t.size),
            "logins": users, "edges": int(src.size)}


def _plot_storm(res):
    from rtlib.viz import COLORS, label_axes, legend, new_figure

    from matplotlib.ticker import NullLocator

    fig, ax = new_figure(figsize=(8, 4.2), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.1, right=0.64, bottom=0.13, top=0.91)
    t_min = res["t_s"] / 60
    ax.plot(t_min, res["plain"], color=COLORS["bad"], lw=2, label="every change, to everyone online")
    ax.plot(t_min, res["cured"], color=COLORS["good"], lw=2,
            label=f"coalesced per {res['coalesce_ms']:g} ms, to {res['subscribed']:.0%} watching")
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_ylim(max(1.0, res["cured"].max() * 1e-3), res["plain"].max() * 3)
    label_axes(ax, "time from 9:00 [min]", "presence frames sent [frames/s]",
               f"{res['users']:,} users with {res['friends']} friends log in around 9:00")
    legend(ax)
    return fig


@experiment(
    "presence_storm",
    plot=_plot_storm,
    notebook="03_im_scale",
    users=Param(100_000, 1_000, 1_000_000, 1_000, label="users", integer=True),
    friends=Param(100, 5, 1000, 5, label="friends each", integer=True),
    login_spread_s=Param(300, 30, 3600, 30, label="login spread", unit="s"),
    coalesce_ms=Param(1000, 10, 10_000, 10, label="coalescing window", unit="ms"),
    subscribed=Param(0.2, 0.01, 1.0, 0.01, label="share watching the contact list"),
)
def presence_storm(users: int, friends: int, login_spread_s: float, coalesce_ms: float, subscribed: float) -> dict:
    """Presence frames per second during a 9:00 login storm, with and without cures."""
    t = np.linspace(-3 * login_spread_s, 3 * login_spread_s, 400)
    plain = presence_rate(t, users=users, friends=friends, login_spread_s=login_spread_s)
    cured = presence_rate(t, users=users, friends=friends, login_spread_s=login_spread_s, coalesce_ms=coalesce_ms,
                          subscribed=subscribed)
    return {"t_s": t, "plain": plain, "cured": cured, "users": users, "friends": friends,
            "coalesce_ms": coalesce_ms, "subscribed": subscribed,
            "peak_plain": float(plain.max()), "peak_cured": float(cured.max())}
