"""Group fan-out: write diffusion (one inbox row per member) vs read diffusion (one timeline).

**Write diffusion** (fan-out on write, 写扩散): a message to a group of N members is
stored once and a pointer row is written into each member's *inbox*; a device syncs
one inbox, whatever the number of its groups, with one query.  Sends cost N writes.

**Read diffusion** (fan-out on read, 读扩散): the message is written once, to the
group's *timeline*; each member's device pulls each of its groups' timelines from its
own cursor.  Sends are cheap; a sync costs one query per group, and a member who
opens a huge group loads only the latest messages (``read_cap``), not all of them.

Two ways to count the cost, which agree where both apply:

- :class:`DiffusionStore` does it for real on SQLite and counts rows written, rows
  read, queries (each an index seek) and bytes, for small groups in a few ms;
- :func:`diffusion_costs` is the closed-form model of the same counts per day, cheap
  enough for groups of 100,000 members, and finds the crossover group size.

The model, per group and per day, with M = ``msgs_per_member_day`` × N messages,
a share ``active`` of members who sync ``syncs_per_day`` times, each member in
``groups_per_user`` groups:

============  ==================================  =======================================
              write diffusion                      read diffusion
============  ==================================  =======================================
rows written  M (bodies) + M·N (inbox pointers)    M
rows read     active·N·M (every inbox row)          active·N·min(M, syncs·read_cap)
queries       active·N·syncs / groups_per_user      active·N·syncs (one per group per sync)
============  ==================================  =======================================

``cost = rows written × write_cost + rows read + queries × seek_cost`` (in "row
operations"; a write costs more than a read in most databases).

Used in: notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from rtlib.sim import make_rng
from rtlib.validate import check_number
from rtlib.viz.experiments import Param, experiment

STRATEGIES = ("write", "read")


def diffusion_costs(members, *, msgs_per_member_day: float = 0.5, active: float = 0.3, syncs_per_day: float = 20.0,
                    groups_per_user: float = 10.0, read_cap: int = 50, body_bytes: int = 200,
                    pointer_bytes: int = 24, write_cost: float = 2.0, seek_cost: float = 5.0) -> dict:
    """Daily cost of one group under each strategy (vectorised over ``members``).

    Returns ``{"write": {...}, "read": {...}, "members": array}`` where each strategy
    has arrays ``rows_written``, ``rows_read``, ``queries``, ``bytes_written`` and
    ``cost`` (row operations per day).
    """
    n = np.atleast_1d(np.asarray(members, dtype=float))
    if n.size == 0 or not np.all(np.isfinite(n)) or n.min() < 1 or n.max() > 1e7:
        raise ValueError("members must be group sizes in [1, 1e7]")
    check_number("msgs_per_member_day", msgs_per_member_day, 0, 1000)
    check_number("active", active, 0, 1)
    check_number("syncs_per_day", syncs_per_day, 0, 100_000)
    check_number("groups_per_user", groups_per_user, 1, 100_000)
    check_number("read_cap", read_cap, 1, 1e9)
    check_number("write_cost", write_cost, 0, 1e6)
    check_number("seek_cost", seek_cost, 0, 1e6)
    m = msgs_per_member_day * n
    readers = active * n
    w_written = m + m * n
    w_read = readers * m
    w_queries = readers * syncs_per_day / groups_per_user
    r_written = m
    r_read = readers * np.minimum(m, syncs_per_day * read_cap)
    r_queries = readers * syncs_per_day
    out = {"members": n}
    for name, written, read, queries, nbytes in (
            ("write", w_written, w_read, w_queries, m * body_bytes + m * n * pointer_bytes),
            ("read", r_written, r_read, r_queries, m * body_bytes)):
        out[name] = {"rows_written": written, "rows_read": read, "queries": queries, "bytes_written": nbytes,
                     "cost": written * write_cost + read + queries * seek_cost}
    return out


def crossover_members(**kw) -> float | None:
    """The smallest group size (members) from which read diffusion costs less, or
    ``None`` if it never does up to 10 million members."""
    n = np.unique(np.round(np.logspace(0, 7, 2000)))
    c = diffusion_costs(n, **kw)
    cheaper = c["read"]["cost"] < c["write"]["cost"]
    if not cheaper.any():
        return None
    i = int(np.argmax(cheaper))
    if i == 0:
        return float(n[0])
    # Bisect on the integers between n[i-1] (write cheaper) and n[i] (read cheaper).
    lo, hi = int(n[i - 1]), int(n[i])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        c = diffusion_costs(mid, **kw)
        if c["read"]["cost"][0] < c["write"]["cost"][0]:
            hi = mid
        else:
            lo = mid
    return float(hi)


class DiffusionStore:
    """Both strategies for real, on SQLite, with cost counters.

    ``post(group, sender, body)`` stores a message; ``sync(user)`` returns what the
    user's device has not seen yet (advancing its cursors).  Counters: ``rows_written``,
    ``rows_read``, ``queries``, ``bytes_written``.
    """

    def __init__(self, strategy: str, *, read_cap: int = 50):
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {list(STRATEGIES)}, got {strategy!r}")
        self.strategy = strategy
        self.read_cap = int(read_cap)
        self.db = sqlite3.connect(":memory:", isolation_level=None)
        self.db.executescript("""
            CREATE TABLE bodies(id INTEGER PRIMARY KEY, grp TEXT, seq INTEGER, sender TEXT, body TEXT);
            CREATE INDEX bodies_by_group ON bodies(grp, seq);
            CREATE TABLE inbox(user TEXT, iseq INTEGER, msg_id INTEGER, PRIMARY KEY(user, iseq)) WITHOUT ROWID;
        """)
        self.groups: dict[str, list[str]] = {}
        self.groups_of: dict[str, list[str]] = {}
        self._seq: dict[str, int] = {}
        self._iseq: dict[str, int] = {}
        self.cursor: dict[tuple, int] = {}
        self.rows_written = self.rows_read = self.queries = self.bytes_written = 0

    def add_group(self, group: str, members) -> None:
        self.groups[group] = list(members)
        self._seq[group] = 0
        for u in members:
            self.groups_of.setdefault(u, []).append(group)

    def post(self, group: str, sender: str, body: str) -> int:
        seq = self._seq[group] = self._seq[group] + 1
        db = self.db
        db.execute("BEGIN")
        msg_id = db.execute("INSERT INTO bodies(grp, seq, sender, body) VALUES (?, ?, ?, ?)",
                            (group, seq, sender, body)).lastrowid
        self.rows_written += 1
        self.bytes_written += len(body.encode())
        if self.strategy == "write":
            rows = []
            for u in self.groups[group]:
                i = self._iseq[u] = self._iseq.get(u, 0) + 1
                rows.append((u, i, msg_id))
            db.executemany("INSERT INTO inbox VALUES (?, ?, ?)", rows)
            self.rows_written += len(rows)
            self.bytes_written += 24 * len(rows)
        db.execute("COMMIT")
        return seq

    def sync(self, user: str) -> list[tuple]:
        """New messages for ``user``: ``(group, seq, sender, body)`` tuples."""
        db = self.db
        if self.strategy == "write":
            since = self.cursor.get((user, None), 0)
            rows = db.execute("SELECT i.iseq, b.grp, b.seq, b.sender, b.body FROM inbox i JOIN bodies b ON b.id = i.msg_id "
                              "WHERE i.user = ? AND i.iseq > ? ORDER BY i.iseq", (user, since)).fetchall()
            self.queries += 1
            self.rows_read += len(rows)
            if rows:
                self.cursor[(user, None)] = rows[-1][0]
            return [r[1:] for r in rows]
        out = []
        for g in self.groups_of.get(user, ()):
            since = self.cursor.get((user, g), 0)
            # Only the latest read_cap new messages are loaded (older ones on scroll).
            rows = db.execute("SELECT grp, seq, sender, body FROM bodies WHERE grp = ? AND seq > ? "
                              "ORDER BY seq DESC LIMIT ?", (g, since, self.read_cap)).fetchall()
            self.queries += 1
            self.rows_read += len(rows)
            if rows:
                self.cursor[(user, g)] = rows[0][1]
            out.extend(reversed(rows))
        return out

    def counters(self) -> dict:
        return {"rows_written": self.rows_written, "rows_read": self.rows_read, "queries": self.queries,
                "bytes_written": self.bytes_written}


def measure_day(strategy: str, members: int, *, msgs_per_member_day: float = 0.5, active: float = 0.3,
                syncs_per_day: int = 20, read_cap: int = 50, seed: int = 0) -> dict:
    """Simulate one day of one group on a real :class:`DiffusionStore` and count.

    Messages and syncs happen at random times of the day; ``active`` members sync
    ``syncs_per_day`` times, the last one at the end of the day.  (One group only: ``groups_per_user`` = 1 in the model.)
    """
    if isinstance(members, bool) or not isinstance(members, (int, np.integer)) or not 2 <= members <= 5000:
        raise ValueError(f"members must be an integer in [2, 5000], got {members!r}")
    rng = make_rng(seed, "diffusion")  # the same day for both strategies
    store = DiffusionStore(strategy, read_cap=read_cap)
    users = [f"u{i}" for i in range(members)]
    store.add_group("g", users)
    n_msgs = int(round(msgs_per_member_day * members))
    n_active = int(round(active * members))
    events = [(t, 0, users[int(rng.integers(members))]) for t in rng.uniform(0, 86400, n_msgs)]
    for u in users[:n_active]:  # the last sync of the day is at midnight, so the day is read
        events += [(t, 1, u) for t in rng.uniform(0, 86400, syncs_per_day - 1)] + [(86400.0, 1, u)]
    events.sort()
    for _, kind, u in events:
        if kind == 0:
            store.post("g", u, "x" * 200)
        else:
            store.sync(u)
    return store.counters()


def _plot_diffusion(res):
    from rtlib.viz import COLORS, label_axes, legend, new_figure

    from matplotlib.ticker import NullLocator

    fig, ax = new_figure(figsize=(8, 4.5), layout="none")  # fixed margins: a faster redraw
    fig.subplots_adjust(left=0.1, right=0.66, bottom=0.12, top=0.91)
    n = res["members"]
    ax.loglog(n, res["write"]["cost"], color=COLORS["im"], lw=2, label="write diffusion (inbox per member)")
    ax.loglog(n, res["read"]["cost"], color=COLORS["rtc"], lw=2, label="read diffusion (timeline per group)")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    x = res["crossover"]
    if x is not None:
        ax.axvline(x, color=COLORS["neutral"], ls="--", lw=1)
        ax.annotate(f"crossover ≈ {x:,.0f} members", (x, np.sqrt(ax.get_ylim()[0] * ax.get_ylim()[1])),
                    xytext=(8, 0), textcoords="offset points", color=COLORS["neutral"])
    label_axes(ax, "group size [members]", "cost [row operations per day]",
               "One group's daily storage cost: copy on write or fetch on read")
    legend(ax)
    return fig


@experiment(
    "diffusion_cost",
    plot=_plot_diffusion,
    notebook="03_im_scale",
    msgs_per_member_day=Param(0.5, 0.05, 10.0, 0.05, label="messages per member per day", unit="msg"),
    active=Param(0.3, 0.01, 1.0, 0.01, label="share of members who sync"),
    syncs_per_day=Param(20, 1, 200, 1, label="syncs per active member per day", unit="/day", integer=True),
    groups_per_user=Param(10, 1, 200, 1, label="groups per user", integer=True),
)
def diffusion_cost(msgs_per_member_day: float, active: float, syncs_per_day: int, groups_per_user: int) -> dict:
    """Write vs read diffusion cost curves for groups of 2 to 100,000 members."""
    n = np.unique(np.round(np.logspace(np.log10(2), 5, 300)))
    kw = dict(msgs_per_member_day=msgs_per_member_day, active=active, syncs_per_day=syncs_per_day,
              groups_per_user=groups_per_user)
    res = diffusion_costs(n, **kw)
    res["crossover"] = crossover_members(**kw)
    return res
