"""Many gateways, one service: the presence registry and cross-gateway delivery on Redis.

``im-server --store postgresql://… --bus redis://…`` started several times gives one
IM service: every process is an access gateway *and* a logic server over the shared
PostgreSQL store (:mod:`rtlib.im.pgstore`), and they find each other through Redis.
The protocol does not change (rtlib/im/PROTOCOL.md): a client cannot tell one gateway
from the cluster, except that it may reconnect to another one and ``sync`` from its
watermark.

**Presence registry with leases.**  Each gateway holds a lease, its id in the sorted
set ``im:gateways`` with an expiry time as the score, renewed every
:data:`RENEW_S` (a lease lasts :data:`LEASE_S`).  Where a device is connected is the
hash ``im:where:<user>`` (device → gateway id), written when the device authenticates
and rewritten at each renewal (so that a Redis that restarted empty is refilled within
a renewal).  An entry whose gateway's lease has expired is dead: it is ignored and
deleted by whoever reads it.  A gateway killed with ``kill -9`` thus disappears from
presence within :data:`LEASE_S` seconds, without saying anything.

**Cross-gateway delivery: Redis pub/sub, not Streams.**  After a batch commits, the
gateway that accepted it fans each message out to its own connections (as the single
server does) and publishes it on the channel ``im:gw:<id>`` of every *other* gateway
where a member is present; that gateway fans it out to its connections.  Read marks
(``read`` notes) travel the same way.  Pub/sub is
fire-and-forget (https://redis.io/docs/latest/develop/interact/pubsub/, "at-most-once
message delivery"): a gateway that is down or cut from Redis misses what was published
meanwhile.  That loses nothing here, because the bus carries only *copies*: the message
is already committed in PostgreSQL before it is published, and its receivers were on
the dead gateway, so they reconnect elsewhere and ``sync`` from their watermark.  A
Redis Stream (https://redis.io/docs/latest/develop/data-types/streams/) would keep
the entries for a gateway that is down, but nobody would read them (its clients moved),
they would need trimming, and every delivery would pay for a consumer group's
acknowledgements: durability the store already gives.  What each loses:

- gateway down: pub/sub drops the copies addressed to it; a Stream keeps them unread.
  Either way its clients get the messages by ``sync`` on another gateway.
- Redis down: no cross-gateway copy and no presence update with either (a Stream lives
  in the same Redis, without persistence here); messages are still stored, acked
  and delivered to the accepting gateway's own connections.  When a gateway reconnects
  to Redis it *catches up*: it re-reads from the store what its connections' conversations
  received since the last message it delivered (:meth:`BusLink.catch_up`), and the
  clients drop the copies they already have (dedupe on ``(conv, seq)``).

**One connection per device, across gateways.**  A device that authenticates on
gateway B while an older connection of the same ``user`` and ``device`` is open on
gateway A replaces it, as on one server (PROTOCOL.md, close code 4000).  B *claims* the
device in one atomic step on Redis (:data:`_CLAIM`): it reads the previous holder of
``im:where:<user>[device]``, raises the device's generation in ``im:gen:<user>`` and
writes itself.  When the previous holder was another live gateway, B publishes
``{"type": "replaced", "user", "device", "gen"}`` on A's channel, and A closes its
connection of that device with 4000 if that connection's own claim has a lower
generation.  Redis orders the claims, so of two devices racing on two gateways the later
claim always wins and the earlier connection is the one closed, never both.  A
connection that authenticated on A but whose claim A has not written yet is newer than
B's (its claim will come later): it stays, and its claim then replaces B's.

Used in: notebooks/03_im_scale.ipynb, benchmarks/bench_im.py, ``python -m rtlib im-cluster``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time

from rtlib.im.gateway import Registry

log = logging.getLogger("rtlib.im.cluster")

LEASE_S = 3.0  # a gateway that has not renewed its lease for this long is dead
RENEW_S = 0.5  # how often a gateway renews its lease (and rewrites its presence entries)
RETRY_S = 0.3  # wait between attempts to reach Redis again
GATEWAYS = "im:gateways"

# Take a device: return the gateway that held it (or false) and the device's new generation.
_CLAIM = "local old = redis.call('HGET', KEYS[1], ARGV[1]) " \
         "local gen = redis.call('HINCRBY', KEYS[2], ARGV[1], 1) " \
         "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return {old, gen}"

# Delete a presence entry only if it still points at this gateway (the device may have moved).
_HDEL_IF = "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end " \
           "return 0"


def where_key(user: str) -> str:
    return f"im:where:{user}"


def gen_key(user: str) -> str:
    return f"im:gen:{user}"


def channel(gateway_id: str) -> str:
    return f"im:gw:{gateway_id}"


def new_gateway_id(port: int) -> str:
    return f"gw{port}-{os.getpid()}-{secrets.token_hex(2)}"


class ClusterRegistry(Registry):
    """The local session registry, which also tells the bus who connected and left."""

    def __init__(self, bus: "BusLink"):
        super().__init__()
        self.bus = bus

    def add(self, user, device, conn):
        old = super().add(user, device, conn)
        self.bus.changed(user, device, conn)
        return old

    def remove(self, user, device, conn):
        had = self.routes.get(user, {}).get(device) == conn
        super().remove(user, device, conn)
        if had:
            self.bus.changed(user, device, None)


class BusLink:
    """One gateway's link to Redis: lease, presence, publishing and the subscription.

    ``deliver(msgs)`` is called with the ``msg`` frames other gateways published to this
    one; ``members(conv)``, ``catch_up()`` and ``replace(conn)`` (close a connection whose
    device authenticated on another gateway) come from the server.
    """

    def __init__(self, url: str, gateway_id: str, deliver, catch_up=None):
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"bus must be a redis:// URL, got {url!r}")
        self.url = url
        self.id = gateway_id
        self.deliver = deliver
        self.catch_up = catch_up
        self.registry = ClusterRegistry(self)
        self._pending: dict[tuple, int | None] = {}  # (user, device) -> conn (online) or None
        self._claims: dict[tuple, tuple[int, int]] = {}  # (user, device) -> (conn, generation)
        self._outbox: list = []
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._redis = None
        self.alive: set[str] = {gateway_id}
        self.connected = False
        self.published = self.received = self.publish_failures = self.outages = 0
        self.replaced_remote = 0
        self.members = None  # set by the server: conv -> members
        self.replace = None  # set by the server: close a connection replaced on another gateway

    # -- called by the server (synchronous, never blocks) -----------------------------------
    def changed(self, user: str, device: str, conn: int | None) -> None:
        """``user``'s ``device`` is now on connection ``conn`` here (``None``: it left)."""
        self._pending[(user, device)] = conn
        if conn is None:
            self._claims.pop((user, device), None)
        if self._wake is not None:
            self._wake.set()

    def publish(self, msgs: list[dict]) -> None:
        """Queue committed ``msg`` frames for the other gateways (sent in order)."""
        if msgs:
            self._outbox.append(msgs)
            self._wake.set()

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.from_url(self.url, socket_timeout=1.0, socket_connect_timeout=1.0,
                                        decode_responses=True)
        self._wake = asyncio.Event()
        self._tasks = [asyncio.create_task(self._lease_loop()), asyncio.create_task(self._writer_loop()),
                       asyncio.create_task(self._subscriber_loop())]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._redis is not None:
            try:  # leave at once rather than when the lease runs out
                async with self._redis.pipeline(transaction=False) as p:
                    p.zrem(GATEWAYS, self.id)
                    for user, devices in self.registry.routes.items():
                        for d in devices:
                            p.eval(_HDEL_IF, 1, where_key(user), d, self.id)  # unless it moved
                    await asyncio.wait_for(p.execute(), 1.0)
            except Exception:
                pass
            await self._redis.aclose()

    # -- lease and presence -----------------------------------------------------------------
    async def _lease_loop(self) -> None:
        while True:
            try:
                now = time.time()
                async with self._redis.pipeline(transaction=False) as p:
                    p.zadd(GATEWAYS, {self.id: now + LEASE_S})
                    p.zremrangebyscore(GATEWAYS, "-inf", now)
                    p.zrangebyscore(GATEWAYS, now, "+inf")
                    for user, devices in self.registry.routes.items():
                        for d in devices:
                            p.hset(where_key(user), d, self.id)
                    res = await p.execute()
                self.alive = set(res[2])
                if not self.connected:
                    self.connected = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected:
                    log.warning("gateway %s: Redis unreachable (%s)", self.id, exc)
                self.connected = False
            await asyncio.sleep(RENEW_S)

    async def online(self, user: str) -> dict[str, str]:
        """``{device: gateway}`` of ``user``'s devices on live gateways (the presence registry)."""
        where = await self._redis.hgetall(where_key(user))
        return {d: g for d, g in where.items() if g in self.alive}

    # -- publishing ---------------------------------------------------------------------------
    async def _writer_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            outbox, self._outbox = self._outbox, []
            try:
                if pending:
                    async with self._redis.pipeline(transaction=False) as p:
                        for (user, device), conn in pending.items():
                            if conn is not None:
                                p.eval(_CLAIM, 2, where_key(user), gen_key(user), device, self.id)
                            else:
                                p.eval(_HDEL_IF, 1, where_key(user), device, self.id)
                        res = await p.execute()
                    await self._claimed(pending, res)
                if outbox:  # every batch queued meanwhile in one round of lookups and publishes
                    await self._publish([m for msgs in outbox for m in msgs])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # Copies that could not be sent are dropped: they are stored, and the
                # receivers' gateways catch up from the store when Redis is back.
                self.publish_failures += sum(len(m) for m in outbox)
                for key, conn in pending.items():  # presence is rewritten at the next lease renewal anyway
                    self._pending.setdefault(key, conn)
                log.info("gateway %s: cannot publish to Redis (%s)", self.id, exc)
                await asyncio.sleep(RETRY_S)

    async def _claimed(self, pending: dict, results: list) -> None:
        """Remember each claim's generation; tell the previous holders their connection is replaced."""
        notes: dict[str, list] = {}
        for ((user, device), conn), res in zip(pending.items(), results):
            if conn is None:
                continue
            old, gen = res
            if self.registry.get(user).get(device) == conn:
                self._claims[(user, device)] = (conn, int(gen))
            if old and old != self.id and old in self.alive:
                notes.setdefault(old, []).append({"type": "replaced", "user": user, "device": device, "gen": int(gen)})
        if notes:
            async with self._redis.pipeline(transaction=False) as p:
                for g, ns in notes.items():
                    for n in ns:
                        p.publish(channel(g), json.dumps(n, separators=(",", ":")))
                await p.execute()

    def _on_replaced(self, note: dict) -> None:
        """Another gateway claimed a device: close our connection of it if our claim is older."""
        key = (note.get("user"), note.get("device"))
        claim = self._claims.get(key)
        if claim is None or claim[1] >= note.get("gen", 0):
            return  # not here, not claimed yet (so newer), or newer than theirs
        conn = claim[0]
        if self.registry.get(key[0]).get(key[1]) != conn:
            return
        self._claims.pop(key, None)
        self.replaced_remote += 1
        if self.replace is not None:
            self.replace(conn)

    async def _publish(self, msgs: list[dict]) -> None:
        users = sorted({u for m in msgs for u in self.members(m["conv"])})
        async with self._redis.pipeline(transaction=False) as p:
            for u in users:
                p.hgetall(where_key(u))
            wheres = dict(zip(users, await p.execute()))
        per_gw: dict[str, list] = {}
        stale = []
        for m in msgs:
            gws = set()
            for u in self.members(m["conv"]):
                for d, g in wheres[u].items():
                    if g == self.id:
                        continue
                    if g in self.alive:
                        gws.add(g)
                    else:
                        stale.append((u, d, g))
            for g in gws:
                per_gw.setdefault(g, []).append(m)
        async with self._redis.pipeline(transaction=False) as p:
            for g, ms in per_gw.items():
                p.publish(channel(g), json.dumps(ms, separators=(",", ":")))
            for u, d, g in set(stale):  # presence left by a dead gateway
                p.eval(_HDEL_IF, 1, where_key(u), d, g)
            if per_gw or stale:
                await p.execute()
        self.published += sum(len(ms) for ms in per_gw.values())

    # -- subscription -------------------------------------------------------------------------
    async def _subscriber_loop(self) -> None:
        first = True
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(channel(self.id))
                if not first and self.catch_up is not None:
                    self.catch_up()  # what was published while we were cut off
                first = False
                while True:
                    m = await pubsub.get_message(timeout=1.0)
                    if m is None:
                        await pubsub.ping()  # notice a dead Redis even when nothing is published
                        continue
                    if m.get("type") != "message":
                        continue
                    data = json.loads(m["data"])
                    if isinstance(data, dict):  # a control note, not message copies
                        if data.get("type") == "replaced":
                            self._on_replaced(data)
                        continue
                    self.received += len(data)
                    self.deliver(data)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.outages += 1
                log.warning("gateway %s: subscription lost (%s); retrying", self.id, exc)
                await asyncio.sleep(RETRY_S)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass
