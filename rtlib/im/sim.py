"""The IM system in simulation: the real components on a virtual clock, with faults.

:class:`World` wires the same sans-IO objects the live server uses,

    Client ⇄ (network) ⇄ Gateway ⇄ Logic ⇄ Store (SQLite ``:memory:``)
                                     └──→ PushService ──→ wakes a Client

on an :class:`rtlib.sim.EventLoop`, and injects faults:

- on the network between devices and the gateway: frames dropped, duplicated or
  reordered (delayed past later ones), each with a probability per frame;
- in the servers: the logic or the store crashing before or after the commit of a
  batch (probability per batch);
- devices offline for a while: ``"no_network"`` (out of coverage: the connection dies
  silently and the gateway only notices at its idle timeout) or ``"background"``
  (the app is suspended: the connection is closed and only a push wakes it).

A :class:`Tracker` counts what the *application* sees: for every message a user typed
and every device of every other member, was it shown, how many times, in order?
That gives the counters ``lost``, ``duplicated`` and ``out_of_order``.

Frames in flight are gathered on a 1 ms grid (``tick_s``) so that many deliveries share
one event; this is what lets a million messages cross the pipeline in seconds.

Note on realism: a WebSocket runs over TCP, which itself never drops, duplicates or
reorders bytes within one connection.  The frame faults here stand for everything
*around* TCP that does: connections that die with frames in flight, retries over a
new connection, several gateways, message queues that redeliver.

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np

from rtlib.im.client import Client
from rtlib.im.gateway import Gateway
from rtlib.im.logic import CRASHES, Logic
from rtlib.im.push import PushService
from rtlib.im.store import Store
from rtlib.sim import EventLoop, make_rng
from rtlib.validate import check_number

CLIENT, GATEWAY, LOGIC, STORE, PUSH = "client", "gateway", "logic", "store", "push"


@dataclass(frozen=True)
class Faults:
    """What goes wrong.  Probabilities are per frame (network) or per batch (crash)."""

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    reorder_delay_ms: float = 400.0
    crash: str | None = None
    crash_rate: float = 0.0
    restart_s: float = 0.5

    def __post_init__(self):
        check_number("drop", self.drop, 0, 1)
        check_number("duplicate", self.duplicate, 0, 1)
        check_number("reorder", self.reorder, 0, 1)
        check_number("crash_rate", self.crash_rate, 0, 1)
        check_number("reorder_delay_ms", self.reorder_delay_ms, 0, 60_000)
        check_number("restart_s", self.restart_s, 0, 3600)
        if self.crash is not None and self.crash not in CRASHES:
            raise ValueError(f"crash must be one of {list(CRASHES)} or None, got {self.crash!r}")

    @property
    def network(self) -> bool:
        return bool(self.drop or self.duplicate or self.reorder)


@dataclass(frozen=True)
class Mechanisms:
    """Which protection mechanisms are on (all on: the real system)."""

    acks: bool = True
    retries: bool = True
    dedupe: bool = True
    in_order: bool = True
    pull: bool = True

    def __post_init__(self):
        if self.retries and not self.acks:
            raise ValueError("retries need acks: a sender cannot know what to resend without them")


ALL_ON = Mechanisms()
NONE = Mechanisms(acks=False, retries=False, dedupe=False, in_order=False, pull=False)


@dataclass(frozen=True)
class Timing:
    """Delays of the simulated system (seconds unless named)."""

    delay_ms: float = 40.0  # one way, device <-> gateway (a mobile network)
    jitter_ms: float = 10.0  # mean of an exponential extra delay per batch
    hop_ms: float = 0.5  # gateway <-> logic
    commit_ms: float = 2.0  # one group commit of the store
    connect_ms: float = 150.0  # TCP + TLS + WebSocket handshakes before auth
    reconnect_s: float = 1.0  # wait before reconnecting after a lost connection
    wake_s: float = 0.5  # from push delivery to the app being able to connect
    awake_s: float = 20.0  # a woken background app stays connected this long
    push_median_s: float = 1.0
    push_sigma: float = 0.6
    ack_timeout_s: float = 1.0
    heartbeat_s: float = 30.0
    idle_timeout_s: float = 75.0
    tick_s: float = 0.001

    def __post_init__(self):
        for name in ("delay_ms", "jitter_ms", "hop_ms", "commit_ms", "connect_ms"):
            check_number(name, getattr(self, name), 0, 60_000)
        for name in ("reconnect_s", "wake_s", "awake_s", "push_median_s", "push_sigma", "tick_s"):
            check_number(name, getattr(self, name), 0, 3600)
        for name in ("ack_timeout_s", "heartbeat_s", "idle_timeout_s"):
            if not 0 < getattr(self, name) <= 3600:
                raise ValueError(f"{name} must be in (0, 3600] s, got {getattr(self, name)!r}")


class Device:
    """One simulated device: a :class:`Client` plus its connection state."""

    __slots__ = ("world", "user", "name", "client", "conn", "state", "timer", "timer_at", "up_last", "down_last",
                 "awake_until", "background_until", "connecting")

    def __init__(self, world: "World", user: str, name: str, client: Client):
        self.world, self.user, self.name, self.client = world, user, name, client
        self.conn: int | None = None
        self.state = "online"  # "online" | "background" | "no_network"
        self.timer = None
        self.timer_at = math.inf
        self.up_last = 0.0
        self.down_last = 0.0
        self.awake_until = 0.0
        self.background_until = 0.0
        self.connecting = False

    @property
    def key(self) -> tuple:
        return (self.user, self.name)

    def __repr__(self) -> str:
        return f"<Device {self.user}/{self.name} {self.state} conn={self.conn}>"


class Tracker:
    """Counts what the applications see (lost, duplicated, out of order, latency)."""

    def __init__(self, world: "World", detailed: bool = True):
        self.world = world
        self.detailed = detailed
        self.sent: dict[tuple, tuple] = {}  # (sender, cid) -> (conv, t_s, {device key: offline at send?})
        self.deliveries: dict[tuple, int] = {}  # (device key, sender, cid) -> times shown
        self.first_s: dict[tuple, float] = {}
        self.last_seq: dict[tuple, int] = {}
        self.last_from: dict[tuple, int] = {}
        self.out_of_order = 0
        self.send_order_inversions = 0
        self.failed = 0
        self.failed_keys: set[tuple] = set()  # (sender, cid) of messages the sender was told failed
        self.released = 0

    def on_send(self, dev: Device, conv: str, cid: str, now: float) -> None:
        if not self.detailed:
            return
        w = self.world
        receivers = {}
        for member in sorted(w.store.members(conv)):
            if member == dev.user:
                continue
            for d in w.devices_of.get(member, ()):
                receivers[d.key] = d.state != "online"
        self.sent[(dev.user, cid)] = (conv, now, receivers)

    def on_events(self, dev: Device, events, now: float) -> None:
        """What ``dev``'s application was handed (the world calls this only when ``detailed``)."""
        for ev in events:
            kind = ev[0]
            if kind == "message":
                m = ev[1]
                sender = m["sender"]
                if sender == dev.user:
                    continue
                self.released += 1
                key = (dev.user, dev.name, sender, m["cid"])
                n = self.deliveries.get(key, 0)
                self.deliveries[key] = n + 1
                if n == 0:
                    self.first_s[key] = now
                ck = (dev.user, dev.name, m["conv"])
                seq = m["seq"]
                if seq < self.last_seq.get(ck, 0):
                    self.out_of_order += 1
                else:
                    self.last_seq[ck] = seq
                sk = (dev.user, dev.name, sender)
                num = _cid_number(m["cid"])
                if n == 0:
                    if num < self.last_from.get(sk, -1):
                        self.send_order_inversions += 1
                    else:
                        self.last_from[sk] = num
            elif kind == "failed":
                self.failed += 1
                self.failed_keys.add((dev.user, ev[1]))

    def report(self) -> dict:
        """Counters and latencies over every (message, receiving device) pair."""
        expected = lost = duplicated = lost_sender_told = 0
        lat_online, lat_offline = [], []
        for (sender, cid), (conv, t0, receivers) in self.sent.items():
            for (user, device), offline in receivers.items():
                expected += 1
                key = (user, device, sender, cid)
                n = self.deliveries.get(key, 0)
                if n == 0:
                    lost += 1
                    lost_sender_told += (sender, cid) in self.failed_keys
                    continue
                duplicated += n - 1
                (lat_offline if offline else lat_online).append(self.first_s[key] - t0)
        return {
            "messages": len(self.sent),
            "expected": expected,
            "delivered": expected - lost,
            "lost": lost,
            "duplicated": duplicated,
            "out_of_order": self.out_of_order,
            "send_order_inversions": self.send_order_inversions,
            "failed_known_to_sender": self.failed,
            # lost deliveries split by what the sender saw: a red mark, or a tick (the
            # message was stored and acked, but never reached this receiver)
            "lost_sender_told": lost_sender_told,
            "lost_sender_saw_ack": lost - lost_sender_told,
            "latency_online_s": np.array(lat_online),
            "latency_offline_s": np.array(lat_offline),
        }


def _cid_number(cid: str) -> int:
    try:
        return int(cid.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return -1


class World:
    """A whole IM system on a virtual clock.

    >>> w = World(seed=1)
    >>> w.add_user("alice"); w.add_user("bob")
    >>> w.add_conversation("ab", ["alice", "bob"])
    >>> w.start()
    >>> w.send_at(1.0, "alice", "ab", "hello")
    >>> w.run(5.0)
    >>> w.report()["delivered"]
    1
    """

    def __init__(self, *, seed: int = 0, mechanisms: Mechanisms = ALL_ON, faults: Faults = Faults(),
                 timing: Timing = Timing(), detailed: bool = True, trace: bool = False):
        self.seed = seed
        self.mech, self.faults, self.timing = mechanisms, faults, timing
        self.loop = EventLoop()
        self.store = Store(":memory:", idempotent=mechanisms.dedupe)
        # The scenarios model honest devices: no rate limits (the live server has them).
        self.gateway = Gateway(self.store.check_token, idle_timeout_s=timing.idle_timeout_s,
                               send_limit=None, auth_limit=None)
        self.logic = Logic(self.store, self.gateway.registry, acks=mechanisms.acks)
        self.push = PushService(median_delay_s=timing.push_median_s, sigma=timing.push_sigma, seed=seed)
        self.tracker = Tracker(self, detailed=detailed)
        self.devices: dict[tuple, Device] = {}
        self.devices_of: dict[str, list[Device]] = {}
        self.owner: dict[int, Device] = {}  # conn -> device
        self._rnd = random.Random(int(make_rng(seed, "im-network").integers(2**62)))
        self._crash_rnd = random.Random(int(make_rng(seed, "im-crash").integers(2**62)))
        self._slots: dict[int, list] = {}
        self._logic_queue: list = []
        self._logic_busy = False
        self._logic_down_until = -1.0
        self._gw_timer_at = math.inf
        self.started = False
        self.counters = {"frames_up": 0, "frames_down": 0, "frames_dropped": 0, "frames_duplicated": 0, "frames_reordered": 0,
                         "crashes": 0, "requests_lost_in_crash": 0, "connects": 0, "pushes_delivered": 0}
        self.trace = [] if trace else None
        self.watched: dict[tuple, list] = {}
        self._trace_key: tuple | None = None
        self._tick = timing.tick_s
        self._delay = timing.delay_ms / 1000
        self._jitter = timing.jitter_ms / 1000
        self._hop = timing.hop_ms / 1000
        self._commit = timing.commit_ms / 1000

    # -- building ----------------------------------------------------------------------
    def add_user(self, user: str, devices=("phone",), **client_kw) -> None:
        """A user with devices (each one a :class:`Client`, online once started)."""
        self.store.create_user(user)
        token = f"token-{user}"
        self.store.new_token(user, token=token)
        kw = dict(acks=self.mech.acks, retries=self.mech.retries, dedupe=self.mech.dedupe,
                  in_order=self.mech.in_order, pull=self.mech.pull, ack_timeout_s=self.timing.ack_timeout_s,
                  heartbeat_s=self.timing.heartbeat_s)
        kw.update(client_kw)
        for name in devices:
            client = Client(user, token, name, **kw)
            dev = Device(self, user, name, client)
            self.devices[dev.key] = dev
            self.devices_of.setdefault(user, []).append(dev)
            # The server knows the device (it registered for push when installed).
            self.store.touch_device(user, name, 0.0)

    def add_conversation(self, conv: str, members, kind: str = "group") -> None:
        self.store.create_conversation(conv, members, kind=kind)

    def watch(self, user: str, device: str = "phone") -> list:
        """Log what reaches a device: ``(t_s, kind, conv, seq)`` with kind ``"push"`` (a
        ``msg`` frame), ``"pull"`` (a message in a ``sync_ok``), ``"release"`` (shown to
        the user), ``"cursor"`` (the cursor after a release) or ``"read"`` (the user's
        read watermark moved, here or on another device)."""
        return self.watched.setdefault((user, device), [])

    def read_at(self, t_s: float, user: str, conv: str, device: str = "phone") -> None:
        """The user reads ``conv`` on ``device`` at ``t_s`` (up to what the device shows)."""
        def read(dev=self.devices[(user, device)]):
            seq = dev.client.cursor.get(conv, 0)
            if seq:
                dev.client.read(conv, seq, self.loop.time())
                if self.watched and dev.key in self.watched:
                    self.watched[dev.key].append((self.loop.time(), "read", conv, seq))
                self._flush(dev)
        self.loop.call_at(t_s, read)

    def device(self, user: str, device: str = "phone") -> Device:
        return self.devices[(user, device)]

    def start(self, at_s: float = 0.0) -> None:
        """Connect every online device at ``at_s``."""
        self.started = True
        for dev in self.devices.values():
            if dev.state == "online":
                self.loop.call_at(max(at_s, self.loop.time()), self._connect, dev)

    # -- scripted actions ---------------------------------------------------------------
    def send_at(self, t_s: float, user: str, conv: str, body: str, device: str = "phone") -> None:
        """The user types ``body`` into ``conv`` at ``t_s``."""
        self.loop.call_at(t_s, self._app_send, self.devices[(user, device)], conv, body)

    def offline_at(self, t_s: float, user: str, duration_s: float, kind: str = "no_network",
                   device: str = "phone") -> None:
        """Take a device offline at ``t_s`` for ``duration_s`` (``"no_network"`` or ``"background"``)."""
        if kind not in ("no_network", "background"):
            raise ValueError(f"kind must be 'no_network' or 'background', got {kind!r}")
        check_number("duration_s", duration_s, 0, 1e7)
        self.loop.call_at(t_s, self._go_offline, self.devices[(user, device)], kind, duration_s)

    def run(self, until_s: float) -> None:
        self.loop.run(until=until_s)

    def report(self) -> dict:
        """What the applications saw, plus system counters."""
        rep = self.tracker.report()
        rep.update(self.counters)
        rep["stored"] = self.store.count_messages()
        rep["server_duplicates"] = self.logic.duplicates
        rep["pushes"] = self.logic.pushes
        rep["retries"] = sum(d.client.n_resent for d in self.devices.values())
        rep["pulls"] = sum(d.client.n_pulls for d in self.devices.values())
        rep["released"] = self.tracker.released
        return rep

    # -- scheduling on the tick grid ----------------------------------------------------------
    def _at(self, t: float, fn, *args) -> None:
        k = math.ceil(t / self._tick - 1e-9) if self._tick else None
        if k is None:
            self.loop.call_at(max(t, self.loop.time()), fn, *args)
            return
        slot = self._slots.get(k)
        if slot is None:
            self._slots[k] = slot = []
            self.loop.call_at(max(k * self._tick, self.loop.time()), self._run_slot, k)
        slot.append((fn, args))

    def _run_slot(self, k: int) -> None:
        for fn, args in self._slots.pop(k):
            fn(*args)

    # -- devices ---------------------------------------------------------------------------
    def _app_send(self, dev: Device, conv: str, body: str) -> None:
        now = self.loop.time()
        cid = dev.client.send(conv, body, now)
        self.tracker.on_send(dev, conv, cid, now)
        if self.trace is not None and self._trace_key is None:
            self._trace_key = (dev.user, cid)
            self._trace(now, now, dev.user, dev.user, "the user sends")
        self._flush(dev)

    def _connect(self, dev: Device) -> None:
        if dev.conn is not None or dev.connecting or dev.state == "no_network":
            return
        dev.connecting = True
        self._at(self.loop.time() + self.timing.connect_ms / 1000, self._connected, dev)

    def _connected(self, dev: Device) -> None:
        dev.connecting = False
        if dev.conn is not None or dev.state == "no_network":
            return
        now = self.loop.time()
        dev.conn = self.gateway.open(now)
        dev.up_last = dev.down_last = now
        self.owner[dev.conn] = dev
        self.counters["connects"] += 1
        dev.client.connect(now)
        self._flush(dev)
        self._gw_timer()

    def _lost_connection(self, dev: Device, reconnect: bool) -> None:
        now = self.loop.time()
        if dev.conn is not None:
            self.owner.pop(dev.conn, None)
            dev.conn = None
        dev.client.disconnected(now)
        if reconnect and dev.state == "online":
            self._at(now + self.timing.reconnect_s, self._connect, dev)

    def _go_offline(self, dev: Device, kind: str, duration_s: float) -> None:
        now = self.loop.time()
        if kind == "background":
            dev.state = "background"
            dev.background_until = now + duration_s
            if dev.conn is not None:  # the OS closes the socket cleanly: the gateway knows at once
                conn = dev.conn
                self._at(now + self._delay, self._gateway_closed, conn)
            self._lost_connection(dev, reconnect=False)
        else:
            dev.state = "no_network"  # the connection dies silently; the gateway keeps it until idle timeout
            self._lost_connection(dev, reconnect=False)
        self.loop.call_at(now + duration_s, self._back_online, dev, kind)

    def _back_online(self, dev: Device, kind: str) -> None:
        dev.state = "online"
        if kind == "no_network" and self.push.device_back(dev.user, dev.name, self.loop.time()) is not None:
            self.counters["pushes_delivered"] += 1  # the notice held while out of coverage
        self._connect(dev)

    def _gateway_closed(self, conn: int) -> None:
        self.gateway.closed(conn, self.loop.time())

    def _flush(self, dev: Device) -> None:
        client = dev.client
        frames = client.take_frames()
        if frames and dev.conn is not None:
            self._send_up(dev, frames)
        events = client.take_events()
        if events and self.watched and dev.key in self.watched:
            log = self.watched[dev.key]
            now = self.loop.time()
            log.extend((now, "release", e[1]["conv"], e[1]["seq"]) for e in events if e[0] == "message")
            log.extend((now, "cursor", conv, seq) for conv, seq in client.cursor.items())
            log.extend((now, "read", e[1], e[3]) for e in events if e[0] == "read" and e[2] == dev.user)
        if events and self.tracker.detailed:
            self.tracker.on_events(dev, events, self.loop.time())
            if self.trace is not None:
                self._trace_events(dev, events)
        d = client.wake_s
        if d < dev.timer_at:
            if dev.timer is not None:
                dev.timer.cancel()
            dev.timer_at = d
            dev.timer = self.loop.call_at(max(d, self.loop.time()), self._device_timer, dev)

    def _device_timer(self, dev: Device) -> None:
        dev.timer = None
        dev.timer_at = math.inf
        dev.client.on_timer(self.loop.time())
        self._flush(dev)

    # -- the network ---------------------------------------------------------------------
    def _arrivals(self, frames, last: float):
        """Split ``frames`` into ``(arrival_s, [frames])`` with the faults applied, FIFO
        except for frames picked for reordering."""
        now = self.loop.time()
        rnd = self._rnd
        base = now + self._delay + (rnd.expovariate(1 / self._jitter) if self._jitter else 0.0)
        t = base if base > last else last
        f = self.faults
        if not f.network:
            return [(t, frames)], t
        c = self.counters
        keep, late = [], []
        for fr in frames:
            if rnd.random() < f.drop:
                c["frames_dropped"] += 1
                continue
            copies = 2 if rnd.random() < f.duplicate else 1
            if copies == 2:
                c["frames_duplicated"] += 1
            for _ in range(copies):
                if rnd.random() < f.reorder:
                    c["frames_reordered"] += 1
                    late.append(fr)
                else:
                    keep.append(fr)
        out = []
        if keep:
            out.append((t, keep))
        if late:
            out.append((t + f.reorder_delay_ms / 1000 * (0.5 + rnd.random()), late))
        return out, t

    def _send_up(self, dev: Device, frames) -> None:
        self.counters["frames_up"] += len(frames)
        batches, dev.up_last = self._arrivals(frames, dev.up_last)
        conn = dev.conn
        for t, fr in batches:
            if self.trace is not None:
                self._trace_frames(self.loop.time(), t, dev.user, GATEWAY, fr)
            self._at(t, self._gateway_in, conn, fr)

    def _gateway_in(self, conn: int, frames) -> None:
        now = self.loop.time()
        outs = self.gateway.on_frames(conn, frames, now)
        if outs:
            self._dispatch(outs, now)
        self._gw_timer()

    def _send_down(self, conn: int, frames) -> None:
        dev = self.owner.get(conn)
        if dev is None or dev.conn != conn:
            return  # the connection is gone: lost
        if dev.state == "no_network":
            self.counters["frames_dropped"] += len(frames)
            return
        self.counters["frames_down"] += len(frames)
        batches, dev.down_last = self._arrivals(frames, dev.down_last)
        for t, fr in batches:
            if self.trace is not None:
                self._trace_frames(self.loop.time(), t, GATEWAY, dev.user, fr)
            self._at(t, self._device_in, dev, conn, fr)

    def _device_in(self, dev: Device, conn: int, frames) -> None:
        if dev.conn != conn:
            return
        now = self.loop.time()
        if self.watched and dev.key in self.watched:
            log = self.watched[dev.key]
            for f in frames:
                if f["type"] == "msg":
                    log.append((now, "push", f["conv"], f["seq"]))
                elif f["type"] == "sync_ok":
                    log.extend((now, "pull", f["conv"], m["seq"]) for m in f["messages"])
        dev.client.on_frames(frames, now)
        self._flush(dev)

    # -- gateway outputs -------------------------------------------------------------------
    def _dispatch(self, outs, now: float) -> None:
        per_conn: dict[int, list] = {}
        queue = self._logic_queue
        for out in outs:
            kind = out[0]
            if kind == "send":
                lst = per_conn.get(out[1])
                if lst is None:
                    per_conn[out[1]] = [out[2]]
                else:
                    lst.append(out[2])
            elif kind == "logic":
                queue.append((out[1], out[2]))
            elif kind == "close":
                dev = self.owner.get(out[1])
                if dev is not None and dev.conn == out[1]:
                    self._at(now + self._delay, self._closed_by_server, dev, out[1])
            elif kind == "push":
                self._push(out[1], out[2], out[3], now)
        for conn, frames in per_conn.items():
            self._send_down(conn, frames)
        if queue and not self._logic_busy:
            self._logic_busy = True
            self._at(now + self._hop, self._logic_run)

    def _closed_by_server(self, dev: Device, conn: int) -> None:
        if dev.conn == conn:
            self._lost_connection(dev, reconnect=True)

    def _gw_timer(self) -> None:
        d = self.gateway.next_deadline()
        if d is not None and d < self._gw_timer_at:
            self._gw_timer_at = d
            self.loop.call_at(max(d, self.loop.time()), self._gateway_timer)

    def _gateway_timer(self) -> None:
        self._gw_timer_at = math.inf
        now = self.loop.time()
        outs = self.gateway.on_timer(now)
        if outs:
            self._dispatch(outs, now)
        self._gw_timer()

    # -- logic and store -------------------------------------------------------------------
    def _logic_run(self) -> None:
        now = self.loop.time()
        batch, self._logic_queue = self._logic_queue, []
        if not batch:
            self._logic_busy = False
            return
        if now < self._logic_down_until:  # the logic is restarting: the requests are lost
            self.counters["requests_lost_in_crash"] += len(batch)
            self._at(self._logic_down_until, self._logic_run)
            return
        crash = None
        f = self.faults
        if f.crash is not None and f.crash_rate and self._crash_rnd.random() < f.crash_rate:
            crash = f.crash
            self.counters["crashes"] += 1
            if crash.startswith("logic"):
                self._logic_down_until = now + f.restart_s
                self.counters["requests_lost_in_crash"] += len(batch)
        if self.trace is not None:
            self._trace_logic(now, batch)
        outs = self.logic.on_requests(batch, now, crash)
        done = now + self._commit
        self._at(done + self._hop, self._logic_done, outs)

    def _logic_done(self, outs) -> None:
        now = self.loop.time()
        if self.trace is not None:
            self._trace_outs(now, outs)
        self._dispatch(outs, now)
        if self._logic_queue:
            self._logic_run()
        else:
            self._logic_busy = False

    # -- push ------------------------------------------------------------------------------
    def _push(self, user: str, device: str, payload: dict, now: float) -> None:
        dev = self.devices.get((user, device))
        if dev is None:
            return
        res = self.push.notify(user, device, payload, now, reachable=dev.state != "no_network")
        if res is not None:
            t, payload = res
            if self.trace is not None and self._traced_seq(payload):
                self._trace(now, t, PUSH, user, "push notice")
            self._at(t, self._push_arrives, dev, payload)

    def _push_arrives(self, dev: Device, payload: dict) -> None:
        self.counters["pushes_delivered"] += 1
        if dev.state == "background" and dev.conn is None and not dev.connecting:
            now = self.loop.time()
            if self.trace is not None and self._traced_seq(payload):
                self._trace(now, now + self.timing.wake_s, dev.user, dev.user, "the app wakes up")
            dev.state = "online"  # woken: connects, pulls, then goes back to sleep
            dev.awake_until = now + self.timing.awake_s
            self._at(now + self.timing.wake_s, self._connect, dev)
            self.loop.call_at(dev.awake_until + self.timing.wake_s, self._sleep_again, dev)

    def _sleep_again(self, dev: Device) -> None:
        now = self.loop.time()
        if dev.state == "online" and now >= dev.awake_until and now < dev.background_until:
            self._go_offline(dev, "background", dev.background_until - now)

    # -- tracing one message (for the path figure of notebook 02) -----------------------------
    def _trace(self, t0, t1, src, dst, label) -> None:
        self.trace.append({"t0_s": t0, "t1_s": t1, "from": src, "to": dst, "label": label})

    def _is_traced(self, fr: dict) -> bool:
        k = self._trace_key
        if k is None:
            return False
        if fr.get("cid") == k[1] and fr.get("type") in ("send", "ack", "msg"):
            return fr.get("type") != "msg" or fr.get("sender") == k[0]
        if fr.get("type") == "sync_ok":
            return any(m.get("cid") == k[1] and m.get("sender") == k[0] for m in fr["messages"])
        return False

    def _trace_frames(self, t0, t1, src, dst, frames) -> None:
        for fr in frames:
            if self._is_traced(fr):
                self._trace(t0, t1, src, dst, fr["type"])
            elif self._trace_key is not None and fr.get("type") in ("auth", "sync", "auth_ok") \
                    and dst != self._trace_key[0] and src != self._trace_key[0]:
                self._trace(t0, t1, src, dst, fr["type"])

    def _trace_logic(self, now, batch) -> None:
        if self._trace_key is None:
            return
        if any(self._is_traced(f) and s.user == self._trace_key[0] for s, f in batch):
            self._trace(now - self._hop, now, GATEWAY, LOGIC, "send")
            self._trace(now, now + self._commit, LOGIC, STORE, "store + commit")
        for s, f in batch:
            if f["type"] == "sync" and s.user != self._trace_key[0]:
                self._trace(now - self._hop, now, GATEWAY, LOGIC, "sync")
                self._trace(now, now + self._commit, LOGIC, STORE, "read")

    def _trace_outs(self, now, outs) -> None:
        for out in outs:
            if out[0] == "send" and self._is_traced(out[2]):
                self._trace_seq = out[2].get("seq", self._trace_seq)
                self._trace(now - self._hop, now, LOGIC, GATEWAY, out[2]["type"])
            elif out[0] == "push" and self._traced_seq(out[3]):
                self._trace(now - self._hop, now, LOGIC, PUSH, "push request")

    _trace_seq = None

    def _traced_seq(self, payload) -> bool:
        k = self._trace_key
        return k is not None and payload.get("sender") == k[0] and payload.get("seq") == self._trace_seq

    def _trace_events(self, dev: Device, events) -> None:
        k = self._trace_key
        if k is None:
            return
        now = self.loop.time()
        for ev in events:
            if ev[0] == "acked" and (dev.user, ev[1]) == k:
                self._trace(now, now, dev.user, dev.user, "acked")
            elif ev[0] == "message" and ev[1]["sender"] == k[0] and ev[1]["cid"] == k[1] and dev.user != k[0]:
                self._trace(now, now, dev.user, dev.user, "shown to the user")


# -- scenarios ------------------------------------------------------------------------------
def chat_world(*, users: int = 4, messages_per_user: int = 20, interval_s: float = 0.5, group: bool = True,
               mechanisms: Mechanisms = ALL_ON, faults: Faults = Faults(), timing: Timing = Timing(),
               seed: int = 0, offline: int = 0, offline_kind: str = "no_network", offline_s: float = 20.0,
               settle_s: float = 120.0, trace: bool = False) -> World:
    """A ready world: ``users`` users in one group (or in pairs), each sending
    ``messages_per_user`` messages about every ``interval_s``; ``offline`` receivers go
    offline for ``offline_s`` in the middle.  Run it with ``world.run(world.end_s)``."""
    if isinstance(users, bool) or not isinstance(users, int) or not 2 <= users <= 10_000:
        raise ValueError(f"users must be an integer in [2, 10000], got {users!r}")
    if isinstance(messages_per_user, bool) or not isinstance(messages_per_user, int) or not 0 <= messages_per_user <= 1_000_000:
        raise ValueError(f"messages_per_user must be an integer in [0, 1000000], got {messages_per_user!r}")
    check_number("interval_s", interval_s, 0, 3600)
    if isinstance(offline, bool) or not isinstance(offline, int) or not 0 <= offline <= users:
        raise ValueError(f"offline must be an integer in [0, users={users}], got {offline!r}")
    w = World(seed=seed, mechanisms=mechanisms, faults=faults, timing=timing, trace=trace)
    names = [f"u{i}" for i in range(users)]
    for n in names:
        w.add_user(n)
    if group:
        w.add_conversation("g", names)
        convs = {n: "g" for n in names}
    else:
        convs = {}
        for i in range(0, users - 1, 2):
            a, b = names[i], names[i + 1]
            w.add_conversation(f"{a}-{b}", [a, b], kind="direct")
            convs[a] = convs[b] = f"{a}-{b}"
        if users % 2:
            convs[names[-1]] = convs[names[-2]]
            w.store.add_member(convs[names[-2]], names[-1])
    rng = make_rng(seed, "im-traffic")
    w.start(0.0)
    start = 1.0
    span = messages_per_user * interval_s
    for n in names:
        t = start + rng.uniform(0, interval_s)
        for k in range(messages_per_user):
            w.send_at(t, n, convs[n], f"{n} says {k}")
            t += interval_s * rng.uniform(0.5, 1.5)
    # Receivers that go offline are the last ``offline`` users (they still send their
    # messages before and after, queued by their client).
    for n in names[users - offline:]:
        w.offline_at(start + span * 0.2, n, offline_s, kind=offline_kind)
    w.end_s = start + span * 1.5 + offline_s + settle_s
    return w


def run_chat(**kw) -> dict:
    """Build :func:`chat_world`, run it to the end, return its :meth:`World.report`."""
    w = chat_world(**kw)
    w.run(w.end_s)
    return w.report()


FAULTS = {
    "drop": Faults(drop=0.1),
    "duplicate": Faults(duplicate=0.1),
    "reorder": Faults(reorder=0.2),
    "crash logic before commit": Faults(crash="logic_before_commit", crash_rate=0.05),
    "crash logic after commit": Faults(crash="logic_after_commit", crash_rate=0.05),
    "crash store before commit": Faults(crash="store_before_commit", crash_rate=0.05),
    "crash store after commit": Faults(crash="store_after_commit", crash_rate=0.05),
}
"""The fault scenarios of notebook 02, one fault each."""

MECHANISM_LEVELS = {
    "nothing": NONE,
    "acks": Mechanisms(acks=True, retries=False, dedupe=False, in_order=False, pull=False),
    "acks + retries": Mechanisms(acks=True, retries=True, dedupe=False, in_order=False, pull=True),
    "acks + retries + dedupe": Mechanisms(acks=True, retries=True, dedupe=True, in_order=False, pull=True),
    "all (+ in-order release)": ALL_ON,
}
"""Mechanisms switched on one after another (notebook 02)."""


def fault_matrix(*, faults: dict | None = None, levels: dict | None = None, seed: int = 0, **kw) -> dict:
    """Run every fault scenario under every mechanism level.

    Returns ``{(fault name, level name): report}``.
    """
    faults = FAULTS if faults is None else faults
    levels = MECHANISM_LEVELS if levels is None else levels
    kw.setdefault("users", 3)
    kw.setdefault("messages_per_user", 15)
    kw.setdefault("settle_s", 60.0)
    return {(fn, ln): run_chat(faults=f, mechanisms=m, seed=seed, **kw)
            for fn, f in faults.items() for ln, m in levels.items()}


def pipeline(n_messages: int = 1_000_000, *, pairs: int = 500, rate_per_s: float = 20_000.0, burst: int = 1,
             seed: int = 0, timing: Timing | None = None) -> dict:
    """Push ``n_messages`` through client → gateway → logic → store → client.

    ``pairs`` one-to-one conversations, each user sending in turn at a total rate of
    ``rate_per_s`` (virtual time), no faults, counters only (no per-message
    bookkeeping).  Returns counters and the virtual duration; the benchmark times it.
    """
    if isinstance(n_messages, bool) or not isinstance(n_messages, int) or not 1 <= n_messages <= 10_000_000:
        raise ValueError(f"n_messages must be an integer in [1, 10000000], got {n_messages!r}")
    if isinstance(pairs, bool) or not isinstance(pairs, int) or not 1 <= pairs <= 100_000:
        raise ValueError(f"pairs must be an integer in [1, 100000], got {pairs!r}")
    if not 1 <= rate_per_s <= 1e7:
        raise ValueError(f"rate_per_s must be in [1, 1e7] messages/s, got {rate_per_s!r}")
    timing = timing or Timing(jitter_ms=0.0, heartbeat_s=3600.0, idle_timeout_s=3600.0)
    w = World(seed=seed, timing=timing, detailed=False)
    users = [f"u{i}" for i in range(2 * pairs)]
    for u in users:
        w.add_user(u)
    convs = []
    for i in range(pairs):
        a, b = users[2 * i], users[2 * i + 1]
        w.add_conversation(f"c{i}", [a, b], kind="direct")
        convs.append((w.devices[(a, "phone")], w.devices[(b, "phone")], f"c{i}"))
    w.start(0.0)
    t0 = 1.0
    # Senders take turns in rounds: each round, every sender in a slice sends once.
    senders = [(d, c) for a, b, c in convs for d in (a, b)]
    per_tick = max(1, int(round(rate_per_s * timing.tick_s))) if timing.tick_s else 1
    dt = per_tick / rate_per_s
    state = {"i": 0, "left": n_messages}

    def tick():
        now = w.loop.time()
        k = min(per_tick, state["left"])
        i = state["i"]
        n = len(senders)
        touched = []
        while k > 0:
            dev, conv = senders[i]
            for _ in range(min(burst, k)):
                dev.client.send(conv, "hello", now)
            k -= burst
            touched.append(dev)
            i = i + 1 if i + 1 < n else 0
        state["i"] = i
        state["left"] -= min(per_tick, state["left"])
        for dev in dict.fromkeys(touched):
            w._flush(dev)
        if state["left"] > 0:
            w.loop.call_at(now + dt, tick)

    w.loop.call_at(t0, tick)
    end = t0 + n_messages / rate_per_s + 5.0
    w.run(end)
    rep = {
        "messages": n_messages,
        "stored": w.logic.stored,
        "acked": sum(d.client.n_acked for d in w.devices.values()),
        "released_to_receivers": sum(d.client.n_released for d in w.devices.values()) - n_messages,
        "virtual_s": end,
        "events": w.loop.events_run,
    }
    w.store.close()
    return rep
