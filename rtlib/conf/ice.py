"""ICE (RFC 8445) through simulated NATs: candidates, priorities, connectivity checks, and which NAT pairs need TURN.

The chain, one class or function per box::

    gather_candidates()          host ─┬─ Binding request to a STUN server ─▶ srflx
      (through the agent's Nat)        └─ TURN allocation ──────────────────▶ relay
    candidate_priority()         RFC 8445 section 5.1.2: type, local preference, component
    IceAgent                     pairs (section 6.1.2), pair_priority() (6.1.2.3), paced
      (sans-IO)                  checks every Ta (6.1.4.2), triggered checks (7.3.1.4),
                                 peer-reflexive candidates (7.2.5.3.1, 7.3.1.3), valid list
    simulate_ice()               two agents, two Nats, a STUN and a TURN server on the
                                 virtual clock of rtlib.sim; every check is a real STUN
                                 message from rtlib.conf.stun, with MESSAGE-INTEGRITY
    nat_pair_outcome()           which pair type connects first, and is TURN needed?
    pair_table()                 the same for every pair of rtlib.conf.nat presets

What the simulation keeps from RFC 8445 and what it leaves out:

* One data stream, one component (RTP and RTCP multiplexed, as WebRTC does), UDP, IPv4.
  With one component every pair has its own foundation, so all pairs start Waiting
  (section 6.1.2.6 unfreezes one pair per foundation).
* Server-reflexive local candidates are replaced by their base when pairs are formed and
  duplicates removed (section 6.1.2.4): checks leave from the host base or the relay.
* Checks are paced one per Ta (50 ms default, section 14.2), triggered checks first;
  each is a STUN transaction with RTO = max(500 ms, Ta x (waiting + in-progress pairs))
  (section 14.3), up to Rc = 7 sends with doubling intervals and a final wait of
  Rm = 16 RTO (RFC 8489 section 6.2.1).
* Both agents start checking at t = 0 (the candidates were exchanged by signalling
  before), so each one's outbound checks open its own NAT for the other's.
* The TURN server (RFC 8656) allocates one relayed address per agent and has permissions
  (section 9) for every IP address of the peer's candidates, plus peer-reflexive ones as
  they are learnt; the client <-> server leg is the one the allocation's mapping opened,
  so it crosses the agent's NAT whatever its filtering.
* Gathering happens before t = 0 (its delay is not counted); nomination is not simulated:
  :attr:`IceResult.best_pair` is the valid pair of highest priority, the one regular
  nomination (section 8.1.1) would pick once checks are done.
* Private addresses are unroutable outside their NAT, so host candidates connect only
  where no NAT stands between the two hosts.

Used in: notebooks/10_many_participants.ipynb (the NAT pairs table: which connect
directly and which need TURN; "predict when a pair of NATs needs a relay").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from rtlib.conf import stun
from rtlib.conf.nat import NAT_PRESETS, Nat, NatBehaviour
from rtlib.errors import ParseError
from rtlib.sim.loop import EventLoop
from rtlib.sim.rng import make_rng

Address = tuple[str, int]

#: Recommended type preferences, RFC 8445 section 5.1.2.2.
TYPE_PREFERENCES = {"host": 126, "prflx": 110, "srflx": 100, "relay": 0}
CANDIDATE_TYPES = tuple(TYPE_PREFERENCES)
#: Local preference of a host with one interface (RFC 8445 section 5.1.2.1: SHOULD be 65535).
DEFAULT_LOCAL_PREFERENCE = 65535
TA_MS = 50.0  # RFC 8445 section 14.2: the default pacing interval
MIN_RTO_MS = 500.0  # RFC 8445 section 14.3
RC = 7  # RFC 8489 section 6.2.1: requests sent before giving up
RM = 16  # RFC 8489 section 6.2.1: final wait, in RTOs

STUN_SERVER: Address = ("192.0.2.1", 3478)  # RFC 5737 documentation addresses
TURN_SERVER: Address = ("192.0.2.2", 3478)
TURN_RELAY_BASE_PORT = 49152


def candidate_priority(
    candidate_type: str, local_preference: int = DEFAULT_LOCAL_PREFERENCE, component: int = 1
) -> int:
    """RFC 8445 section 5.1.2.1: ``2**24 * type preference + 2**8 * local preference + (256 - component)``.

    >>> candidate_priority("host"), candidate_priority("srflx"), candidate_priority("relay")
    (2130706431, 1694498815, 16777215)
    """
    if candidate_type not in TYPE_PREFERENCES:
        raise ValueError(f"candidate_type must be one of {list(CANDIDATE_TYPES)}, got {candidate_type!r}")
    if isinstance(local_preference, bool) or not isinstance(local_preference, int) or not 0 <= local_preference <= 65535:
        raise ValueError(f"local_preference must be an integer in 0..65535, got {local_preference!r}")
    if isinstance(component, bool) or not isinstance(component, int) or not 1 <= component <= 256:
        raise ValueError(f"component must be an integer in 1..256, got {component!r}")
    return (TYPE_PREFERENCES[candidate_type] << 24) + (local_preference << 8) + (256 - component)


def pair_priority(controlling_priority: int, controlled_priority: int) -> int:
    """RFC 8445 section 6.1.2.3: ``2**32 * min(G, D) + 2 * max(G, D) + (1 if G > D else 0)``.

    G is the priority of the controlling agent's candidate, D the controlled agent's, so
    both agents order the same pair the same way.
    """
    for name, value in (("controlling_priority", controlling_priority), ("controlled_priority", controlled_priority)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
            raise ValueError(f"{name} must be an integer in 1..2**31-1, got {value!r}")
    g, d = controlling_priority, controlled_priority
    return (min(g, d) << 32) + 2 * max(g, d) + (1 if g > d else 0)


@dataclass(frozen=True)
class Candidate:
    """An ICE candidate (RFC 8445 section 5.1.1): a transport address and where it comes from."""

    type: str
    address: Address
    base: Address
    priority: int
    foundation: str
    component: int = 1
    related_address: Address | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPE_PREFERENCES:
            raise ValueError(f"type must be one of {list(CANDIDATE_TYPES)}, got {self.type!r}")


def pair_type(local_type: str, remote_type: str) -> str:
    """One word for a pair: relay if either side is relayed, else prflx, else srflx, else host."""
    for t in ("relay", "prflx", "srflx"):
        if t in (local_type, remote_type):
            return t
    return "host"


# --- gathering ----------------------------------------------------------------------------


def gather_candidates(
    host: Address, nat: Nat, *, turn: bool = True, relay_address: Address | None = None,
    now_s: float = 0.0, rng: Any = None,
) -> tuple[list[Candidate], dict[str, Any]]:
    """Host, server-reflexive (a real Binding request through ``nat`` to :data:`STUN_SERVER`) and relayed candidates.

    Returns the candidates and what the STUN exchange looked like (``request``/``response``
    bytes, and the TURN allocation's client address as the server saw it).  A
    server-reflexive candidate equal to the host candidate (no NAT) is redundant and
    dropped (RFC 8445 section 5.1.3).
    """
    rng = rng if rng is not None else make_rng(0, "gather")
    cands = [Candidate("host", host, host, candidate_priority("host"), "1")]
    info: dict[str, Any] = {}
    request = stun.binding_request(stun.new_transaction_id(rng)).encode(fingerprint=True)
    seen = nat.outbound(host, STUN_SERVER, now_s)  # the NAT rewrites the source
    parsed = stun.parse_message(request)  # the STUN server's side
    response = stun.binding_success(parsed, seen).encode(fingerprint=True)
    back = nat.inbound(STUN_SERVER, seen, now_s)
    info.update(request=request, response=response)
    if back == host:
        mapped = stun.parse_message(response).attributes["XOR-MAPPED-ADDRESS"]
        if mapped != host:
            cands.append(Candidate("srflx", mapped, host, candidate_priority("srflx"), "2", related_address=host))
    if turn:
        client_seen = nat.outbound(host, TURN_SERVER, now_s)
        relay = relay_address or (TURN_SERVER[0], TURN_RELAY_BASE_PORT)
        info["turn_client"] = client_seen
        cands.append(Candidate("relay", relay, relay, candidate_priority("relay"), "3", related_address=client_seen))
    return cands, info


# --- the agent (sans-IO) --------------------------------------------------------------------


@dataclass
class CandidatePair:
    """A pair on the checklist (RFC 8445 section 6.1.2) and its state."""

    local: Candidate  # the base the checks leave from: host or relay
    remote: Candidate
    priority: int
    state: str = "waiting"  # waiting, in-progress, succeeded, failed
    valid_local: Candidate | None = None
    succeeded_s: float | None = None


@dataclass
class _Transaction:
    pair: CandidatePair
    data: bytes
    send_times_s: list[float]
    fail_s: float
    cancelled: bool = False


@dataclass(frozen=True)
class Datagram:
    """What an agent sends: from its host base or through its TURN relay, to ``dst``."""

    via_relay: bool
    dst: Address
    data: bytes


class IceAgent:
    """One ICE agent's connectivity checks: fed datagrams and the time, returns datagrams.

    Sans-IO: :meth:`receive` and :meth:`poll` return the :class:`Datagram` s to send;
    :meth:`next_deadline_s` says when to poll next.
    """

    def __init__(
        self, name: str, local_candidates: list[Candidate], *, controlling: bool, ufrag: str, password: str,
        tiebreaker: int, ta_ms: float = TA_MS, rng: Any = None,
    ) -> None:
        if not ta_ms > 0:
            raise ValueError(f"ta_ms must be > 0, got {ta_ms!r}")
        self.name = name
        self.local_candidates = list(local_candidates)
        self.controlling = controlling
        self.ufrag, self.password = ufrag, password
        self.tiebreaker = tiebreaker
        self.ta_s = ta_ms / 1000.0
        self._rng = rng if rng is not None else make_rng(0, "ice", name)
        self.remote_candidates: list[Candidate] = []
        self.remote_ufrag = ""
        self.remote_password = ""
        self.pairs: list[CandidatePair] = []
        self.valid: list[CandidatePair] = []
        self._tx: dict[bytes, _Transaction] = {}
        self._triggered: deque[CandidatePair] = deque()
        self._next_check_s = 0.0
        self.checks_sent = 0
        self.bytes_sent = 0
        self.ignored = 0  # unparseable, unauthenticated or unmatched messages
        self.first_check: bytes | None = None

    # -- setup --------------------------------------------------------------------------

    def _bases(self) -> list[Candidate]:
        # section 6.1.2.4: a srflx local candidate is replaced by its base (the host)
        return [c for c in self.local_candidates if c.type in ("host", "relay")]

    def _make_pair(self, local: Candidate, remote: Candidate) -> CandidatePair:
        g, d = (local.priority, remote.priority) if self.controlling else (remote.priority, local.priority)
        return CandidatePair(local, remote, pair_priority(g, d))

    def set_remote(self, candidates: list[Candidate], ufrag: str, password: str, now_s: float = 0.0) -> None:
        """The peer's candidates and credentials, as signalling delivers them; forms the checklist."""
        self.remote_candidates = list(candidates)
        self.remote_ufrag, self.remote_password = ufrag, password
        self.pairs = [self._make_pair(lo, re) for lo in self._bases() for re in self.remote_candidates]
        self.pairs.sort(key=lambda p: -p.priority)
        self._next_check_s = now_s

    # -- sending checks -----------------------------------------------------------------

    def _rto_s(self) -> float:
        active = sum(p.state in ("waiting", "in-progress") for p in self.pairs)
        return max(MIN_RTO_MS / 1000.0, self.ta_s * active)

    def _check(self, pair: CandidatePair, now_s: float) -> Datagram:
        tid = stun.new_transaction_id(self._rng)
        role = {"ice_controlling": self.tiebreaker} if self.controlling else {"ice_controlled": self.tiebreaker}
        msg = stun.binding_request(
            tid,
            username=f"{self.remote_ufrag}:{self.ufrag}",
            priority=candidate_priority("prflx", component=pair.local.component),  # section 7.1.1
            **role,
        )
        data = msg.encode(integrity_key=stun.short_term_key(self.remote_password), fingerprint=True)
        if self.first_check is None:
            self.first_check = data
        rto = self._rto_s()
        # sent now, then retransmitted after RTO, 2 RTO, 4 RTO...: Rc sends in all
        sends = [now_s + rto * (2**k - 1) for k in range(1, RC)]
        self._tx[tid] = _Transaction(pair, data, sends, sends[-1] + RM * rto)
        pair.state = "in-progress"
        self.checks_sent += 1
        return self._out(pair, data)

    def _out(self, pair: CandidatePair, data: bytes) -> Datagram:
        self.bytes_sent += len(data)
        return Datagram(pair.local.type == "relay", pair.remote.address, data)

    def poll(self, now_s: float) -> list[Datagram]:
        """Retransmissions, timeouts and the next paced check due at ``now_s``."""
        out: list[Datagram] = []
        for tid, tx in list(self._tx.items()):
            while tx.send_times_s and tx.send_times_s[0] <= now_s:
                tx.send_times_s.pop(0)
                if not tx.cancelled:
                    out.append(self._out(tx.pair, tx.data))  # a retransmission
            if now_s >= tx.fail_s:
                del self._tx[tid]
                if tx.pair.state == "in-progress" and not any(o.pair is tx.pair for o in self._tx.values()):
                    tx.pair.state = "failed"
        if now_s >= self._next_check_s:
            pair = None
            while self._triggered and pair is None:
                cand = self._triggered.popleft()
                if cand.state in ("waiting", "failed"):
                    pair = cand
            if pair is None:
                pair = next((p for p in self.pairs if p.state == "waiting"), None)
            if pair is not None:
                out.append(self._check(pair, now_s))
                self._next_check_s = now_s + self.ta_s
        return out

    def next_deadline_s(self) -> float | None:
        """When :meth:`poll` has something to do next, or None when checks are over."""
        times = [tx.send_times_s[0] for tx in self._tx.values() if tx.send_times_s]
        times += [tx.fail_s for tx in self._tx.values()]
        if self._triggered or any(p.state == "waiting" for p in self.pairs):
            times.append(self._next_check_s)
        return min(times) if times else None

    # -- receiving ----------------------------------------------------------------------

    def receive(self, src: Address, via_relay: bool, data: bytes, now_s: float) -> list[Datagram]:
        """A datagram from ``src`` that arrived on the host base or (``via_relay``) through the relay."""
        try:
            msg = stun.parse_message(data)
        except ParseError:
            self.ignored += 1
            return []
        local = next((c for c in self._bases() if (c.type == "relay") == via_relay), None)
        if local is None:
            self.ignored += 1
            return []
        if msg.message_class == stun.StunClass.REQUEST:
            return self._on_request(msg, src, local, now_s)
        if msg.message_class == stun.StunClass.SUCCESS_RESPONSE:
            self._on_success(msg, src, local, now_s)
        elif msg.message_class == stun.StunClass.ERROR_RESPONSE:
            tx = self._tx.pop(msg.transaction_id, None)
            if tx is not None:
                tx.pair.state = "failed"
        return []

    def _on_request(self, msg: stun.StunMessage, src: Address, local: Candidate, now_s: float) -> list[Datagram]:
        # section 7.3: authenticate with our own password and ufrag
        if not str(msg.attributes.get("USERNAME", "")).startswith(f"{self.ufrag}:") or not msg.check_integrity(
            stun.short_term_key(self.password)
        ):
            self.ignored += 1
            return []
        response = stun.binding_success(msg, src).encode(
            integrity_key=stun.short_term_key(self.password), fingerprint=True
        )
        self.bytes_sent += len(response)
        out = [Datagram(via_relay=local.type == "relay", dst=src, data=response)]
        remote = next((c for c in self.remote_candidates if c.address == src), None)
        if remote is None:  # section 7.3.1.3: a peer-reflexive remote candidate
            remote = Candidate("prflx", src, src, int(msg.attributes.get("PRIORITY", 1)), f"prflx{len(self.remote_candidates)}")
            self.remote_candidates.append(remote)
            self.learned_remote(remote)
        pair = next((p for p in self.pairs if p.local == local and p.remote.address == src), None)
        if pair is None:
            pair = self._make_pair(local, remote)
            self.pairs.append(pair)
            self.pairs.sort(key=lambda p: -p.priority)
        # section 7.3.1.4: triggered checks
        if pair.state == "in-progress":
            for tx in self._tx.values():
                if tx.pair is pair:
                    tx.cancelled = True  # stop retransmitting, still wait for its answer
            pair.state = "waiting"
        if pair.state in ("waiting", "failed"):
            pair.state = "waiting"
            if pair not in self._triggered:
                self._triggered.append(pair)
                self._next_check_s = max(self._next_check_s, now_s)
        return out

    def learned_remote(self, candidate: Candidate) -> None:
        """Hook: a peer-reflexive remote candidate was learnt (the simulator adds a TURN permission)."""

    def _on_success(self, msg: stun.StunMessage, src: Address, local: Candidate, now_s: float) -> None:
        tx = self._tx.get(msg.transaction_id)
        if tx is None:
            self.ignored += 1
            return
        if not msg.check_integrity(stun.short_term_key(self.remote_password)):
            self.ignored += 1  # RFC 8489 section 9.1.4: a response failing integrity is discarded
            return
        del self._tx[msg.transaction_id]
        pair = tx.pair
        # section 7.2.5.2.1: the addresses must be symmetric
        if src != pair.remote.address or local != pair.local:
            pair.state = "failed"
            return
        mapped = tuple(msg.attributes.get("XOR-MAPPED-ADDRESS", ("0.0.0.0", 0)))
        valid_local = next((c for c in self.local_candidates if c.address == mapped), None)
        if valid_local is None:  # section 7.2.5.3.1: a peer-reflexive local candidate
            valid_local = Candidate(
                "prflx", mapped, pair.local.address, candidate_priority("prflx"), "prflx-local",
                related_address=pair.local.address,
            )
            self.local_candidates.append(valid_local)
        if pair.state != "succeeded":
            pair.state = "succeeded"
            pair.valid_local = valid_local
            pair.succeeded_s = now_s
            self.valid.append(pair)


# --- the simulated world --------------------------------------------------------------------


@dataclass
class ValidPair:
    """A pair that passed its check, as the agent's valid list holds it (RFC 8445 section 7.2.5.3.2)."""

    time_ms: float
    local_type: str
    remote_type: str
    type: str
    local_address: Address
    remote_address: Address
    priority: int


@dataclass
class IceResult:
    """What :func:`simulate_ice` saw, from the controlling (left) agent's side."""

    left_nat: str
    right_nat: str
    first_pair: ValidPair | None
    best_pair: ValidPair | None
    valid_pairs: list[ValidPair]
    turn_needed: bool
    connected: bool
    checks_sent: int
    stun_bytes_sent: int
    first_check_bytes: bytes | None = field(default=None, repr=False)
    candidates: dict[str, list[Candidate]] = field(default_factory=dict, repr=False)

    @property
    def first_pair_type(self) -> str | None:
        return None if self.first_pair is None else self.first_pair.type

    @property
    def best_pair_type(self) -> str | None:
        return None if self.best_pair is None else self.best_pair.type


class _RelayAgent(IceAgent):
    def __init__(self, *args: Any, allocation: dict | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.allocation = allocation

    def learned_remote(self, candidate: Candidate) -> None:
        if self.allocation is not None:
            self.allocation["permissions"].add(candidate.address[0])


def _nat_of(value: str | NatBehaviour, name: str) -> tuple[str, NatBehaviour]:
    if isinstance(value, NatBehaviour):
        return value.classic_name or "custom", value
    if value not in NAT_PRESETS:
        raise ValueError(f"{name} must be a NatBehaviour or one of {list(NAT_PRESETS)}, got {value!r}")
    return value, NAT_PRESETS[value]


def simulate_ice(
    left_nat: str | NatBehaviour = "port-restricted cone",
    right_nat: str | NatBehaviour = "symmetric",
    *,
    one_way_delay_ms: float = 25.0,
    ta_ms: float = TA_MS,
    turn: bool = True,
    max_time_s: float = 60.0,
    seed: int = 0,
) -> IceResult:
    """Two ICE agents behind ``left_nat`` (controlling) and ``right_nat`` run their checks.

    Every hop between two public addresses takes ``one_way_delay_ms`` (agent to peer,
    agent to TURN server, TURN server to peer); the hop from a host to its own NAT is
    free.  Runs on :class:`rtlib.sim.EventLoop` until both agents have finished their
    checks or ``max_time_s`` passes.
    """
    lname, lbeh = _nat_of(left_nat, "left_nat")
    rname, rbeh = _nat_of(right_nat, "right_nat")
    if not one_way_delay_ms >= 0:
        raise ValueError(f"one_way_delay_ms must be >= 0, got {one_way_delay_ms!r}")
    if not max_time_s > 0:
        raise ValueError(f"max_time_s must be > 0, got {max_time_s!r}")
    d_s = one_way_delay_ms / 1000.0
    loop = EventLoop()
    nats = {
        "L": Nat(lbeh, public_ip="203.0.113.1", seed=seed),
        "R": Nat(rbeh, public_ip="198.51.100.1", seed=seed + 1),
    }
    hosts = {
        "L": ("203.0.113.1", 5000) if not lbeh.translating else ("10.0.0.2", 5000),
        "R": ("198.51.100.1", 6000) if not rbeh.translating else ("10.1.0.2", 6000),
    }
    agents: dict[str, _RelayAgent] = {}
    allocations: dict[Address, dict] = {}
    creds = {"L": ("Lfrg", "left-password-22-chars"), "R": ("Rfrg", "right-password-22chars")}
    cands: dict[str, list[Candidate]] = {}
    for i, side in enumerate("LR"):
        relay = (TURN_SERVER[0], TURN_RELAY_BASE_PORT + i)
        cands[side], info = gather_candidates(
            hosts[side], nats[side], turn=turn, relay_address=relay, rng=make_rng(seed, "gather", side)
        )
        alloc = None
        if turn:
            alloc = {"owner": side, "client": info["turn_client"], "permissions": set()}
            allocations[relay] = alloc
        agents[side] = _RelayAgent(
            side, cands[side], controlling=side == "L", ufrag=creds[side][0], password=creds[side][1],
            tiebreaker=int(make_rng(seed, "tiebreak", side).integers(0, 2**63)), ta_ms=ta_ms,
            rng=make_rng(seed, "ice", side), allocation=alloc,
        )
    for side, other in (("L", "R"), ("R", "L")):
        agents[side].set_remote(cands[other], *creds[other])
        if turn:
            alloc = next(a for a in allocations.values() if a["owner"] == side)
            alloc["permissions"].update(c.address[0] for c in cands[other])  # RFC 8656 section 9

    wake: dict[str, Any] = {}

    def schedule(side: str) -> None:
        if side in wake:
            wake.pop(side).cancel()
        t = agents[side].next_deadline_s()
        if t is not None and t <= max_time_s:
            wake[side] = loop.call_at(max(t, loop.time()), on_wake, side)

    def on_wake(side: str) -> None:
        wake.pop(side, None)
        emit(side, agents[side].poll(loop.time()))
        schedule(side)

    def emit(side: str, datagrams: list[Datagram]) -> None:
        now = loop.time()
        for dg in datagrams:
            if dg.via_relay:
                relay = next(a for a, al in allocations.items() if al["owner"] == side)
                seen = nats[side].outbound(hosts[side], TURN_SERVER, now)
                if seen != allocations[relay]["client"]:
                    continue  # the allocation's mapping is gone: the server does not know this client
                loop.call_at(now + 2 * d_s, arrive, relay, dg.dst, dg.data)
            else:
                src = nats[side].outbound(hosts[side], dg.dst, now)
                loop.call_at(now + d_s, arrive, src, dg.dst, dg.data)

    def arrive(src: Address, dst: Address, data: bytes) -> None:
        now = loop.time()
        if dst in allocations:  # a packet to a relayed address: permission by IP (RFC 8656 section 9)
            alloc = allocations[dst]
            if src[0] in alloc["permissions"]:
                loop.call_at(now + d_s, to_client, alloc, src, data)
            return
        for side in "LR":
            if dst[0] == nats[side].public_ip:
                private = nats[side].inbound(src, dst, now)
                if private == hosts[side]:
                    emit(side, agents[side].receive(src, False, data, now))
                    schedule(side)
                return
        # anything else (a private address of the other realm) is unroutable: dropped

    def to_client(alloc: dict, peer: Address, data: bytes) -> None:
        side = alloc["owner"]
        now = loop.time()
        if nats[side].inbound(TURN_SERVER, alloc["client"], now) == hosts[side]:
            emit(side, agents[side].receive(peer, True, data, now))
            schedule(side)

    for side in "LR":
        schedule(side)
    loop.run(until=max_time_s)

    left = agents["L"]
    valid = [
        ValidPair(
            time_ms=round(p.succeeded_s * 1000.0, 6),
            local_type=p.valid_local.type,
            remote_type=p.remote.type,
            type=pair_type(p.valid_local.type, p.remote.type),
            local_address=p.valid_local.address,
            remote_address=p.remote.address,
            priority=p.priority,
        )
        for p in left.valid
    ]
    first = valid[0] if valid else None
    best = max(valid, key=lambda v: v.priority) if valid else None
    return IceResult(
        left_nat=lname,
        right_nat=rname,
        first_pair=first,
        best_pair=best,
        valid_pairs=valid,
        turn_needed=not any(v.type != "relay" for v in valid),
        connected=bool(valid),
        checks_sent=left.checks_sent + agents["R"].checks_sent,
        stun_bytes_sent=left.bytes_sent + agents["R"].bytes_sent,
        first_check_bytes=left.first_check,
        candidates=cands,
    )


@dataclass(frozen=True)
class PairOutcome:
    """One row of the NAT pairs table."""

    left_nat: str
    right_nat: str
    first_pair_type: str | None  # host, srflx, prflx, relay, or None (no connection)
    best_pair_type: str | None
    turn_needed: bool
    connected: bool
    first_connect_ms: float | None


def nat_pair_outcome(left_nat: str | NatBehaviour, right_nat: str | NatBehaviour, **kwargs: Any) -> PairOutcome:
    """Which pair type connects first behind ``left_nat`` and ``right_nat``, and whether TURN is needed.

    ``kwargs`` go to :func:`simulate_ice`.  "TURN needed" means no pair without a relay
    passed its checks; with ``turn=False`` such a pair of NATs does not connect at all.
    """
    r = simulate_ice(left_nat, right_nat, **kwargs)
    return PairOutcome(
        r.left_nat, r.right_nat, r.first_pair_type, r.best_pair_type, r.turn_needed, r.connected,
        None if r.first_pair is None else r.first_pair.time_ms,
    )


def pair_table(presets: list[str] | None = None, **kwargs: Any) -> list[PairOutcome]:
    """:func:`nat_pair_outcome` for every unordered pair of NAT presets (left = controlling agent)."""
    names = list(NAT_PRESETS) if presets is None else list(presets)
    for n in names:
        if n not in NAT_PRESETS:
            raise ValueError(f"presets must be names from {list(NAT_PRESETS)}, got {n!r}")
    return [
        nat_pair_outcome(a, b, **kwargs) for i, a in enumerate(names) for b in names[i:]
    ]


__all__ = [
    "CANDIDATE_TYPES",
    "Candidate",
    "CandidatePair",
    "Datagram",
    "IceAgent",
    "IceResult",
    "PairOutcome",
    "ValidPair",
    "candidate_priority",
    "gather_candidates",
    "nat_pair_outcome",
    "pair_priority",
    "pair_table",
    "pair_type",
    "simulate_ice",
]
