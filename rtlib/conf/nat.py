"""Simulated NATs, described by RFC 4787's behaviours (UDP).

Sans-IO: a :class:`Nat` is a plain object fed packets' addresses and the current time;
it answers with the translated address, or None when it drops a packet::

    private host X:x ──outbound(src, dst, now_s)──▶ NAT ──▶ X':x' ──▶ remote Y:y
    private host X:x ◀──inbound(src, dst_public, now_s)── NAT ◀── Y:y ──▶ X':x'

RFC 4787 ("NAT Behavioral Requirements for Unicast UDP", BCP 127) splits what a NAT
does into separate, independently variable behaviours:

* **Mapping** (section 4.1): when X:x sends to Y1:y1 and then to Y2:y2, does it get the
  same external X':x'?  *Endpoint-independent* (EIM: one mapping per X:x, whatever the
  destination), *address-dependent* (a new mapping per destination address Y),
  *address-and-port-dependent* (a new mapping per destination Y:y).  REQ-1: a NAT MUST
  have endpoint-independent mapping.
* **Port assignment** (section 4.2): the external port x' is the internal x when free
  ("port preservation") or any port (here drawn from a seeded RNG).
* **Mapping lifetime** (section 4.3): a mapping idle for longer than its timeout is
  removed (REQ-5: not less than 2 minutes, 5 minutes RECOMMENDED).  Outbound packets
  refresh it (REQ-6); inbound ones may (``inbound_refresh``).
* **Filtering** (section 5): which inbound packets to X':x' are let through to X:x.
  *Endpoint-independent* (EIF: any Y:y), *address-dependent* (only from a Y to which X:x
  has sent), *address-and-port-dependent* (only from a Y:y to which X:x has sent).
  Here the filter remembers the destinations each *mapping* has sent to (as conntrack
  does); with endpoint-independent mapping that is exactly RFC 4787's per-X:x rule.
* **Hairpinning** (section 6): a packet from inside to the NAT's own external address
  is turned around to the internal host it maps to (REQ-9: MUST be supported).

The classic names (RFC 3489 section 5) in these terms, as :data:`NAT_PRESETS`:

============================  ===========================  ===============================
classic name                  mapping                      filtering
============================  ===========================  ===============================
full cone                     endpoint-independent         endpoint-independent
restricted cone               endpoint-independent         address-dependent
port-restricted cone          endpoint-independent         address-and-port-dependent
symmetric                     address-and-port-dependent   address-and-port-dependent
============================  ===========================  ===============================

plus ``"no NAT"``: a host with a public address and no filter.  RFC 4787 replaced the
cone names because they mix two independent behaviours into one word and so cannot
name the NATs that combine them otherwise (an address-dependent mapping, or endpoint-
independent mapping with any of three filters is already three "cones"); because real
NATs did not fit the four boxes (one that preserves ports while it can and changes
them when it cannot looks "cone" to one test and "symmetric" to the next); and because
the RFC 3489 algorithm that classified a NAT into those boxes from STUN answers was
unreliable, so RFC 5389 dropped it.  ICE (RFC 8445) needs no classification: it tries
candidate pairs and keeps what works, which :mod:`rtlib.conf.ice` simulates through
these NATs.

Used in: notebooks/10_many_participants.ipynb (the NAT pairs table: which connect
directly and which need TURN).
"""

from __future__ import annotations

import enum
import ipaddress
import math
from dataclasses import dataclass, field, replace

from rtlib.sim.rng import make_rng

Address = tuple[str, int]

#: RFC 4787 REQ-5: mappings MUST NOT expire in less than 2 minutes; 5 minutes RECOMMENDED.
DEFAULT_MAPPING_LIFETIME_S = 300.0
#: Dynamic ports a NAT hands out in this model (RFC 4787 section 4.2.1, REQ-3: 0-1023 stay for well-known ports).
EXTERNAL_PORT_RANGE = (1024, 65535)


class NatDependence(str, enum.Enum):
    """RFC 4787's three dependence levels, used for both mapping (4.1) and filtering (5)."""

    ENDPOINT_INDEPENDENT = "endpoint-independent"
    ADDRESS_DEPENDENT = "address-dependent"
    ADDRESS_AND_PORT_DEPENDENT = "address-and-port-dependent"

    @classmethod
    def coerce(cls, value: object, name: str) -> NatDependence:
        if isinstance(value, cls):
            return value
        try:
            return cls(value)
        except ValueError:
            allowed = [b.value for b in cls]
            raise ValueError(f"{name} must be one of {allowed}, got {value!r}") from None


PORT_ASSIGNMENTS = ("preserving", "random")


@dataclass(frozen=True)
class NatBehaviour:
    """What a NAT does, in RFC 4787's terms (see the module docstring)."""

    mapping: NatDependence = NatDependence.ENDPOINT_INDEPENDENT
    filtering: NatDependence = NatDependence.ENDPOINT_INDEPENDENT
    port_assignment: str = "preserving"
    mapping_lifetime_s: float = DEFAULT_MAPPING_LIFETIME_S
    hairpinning: bool = True
    inbound_refresh: bool = False
    translating: bool = True  # False: "no NAT", the host's own address is public and unfiltered

    def __post_init__(self) -> None:
        object.__setattr__(self, "mapping", NatDependence.coerce(self.mapping, "mapping"))
        object.__setattr__(self, "filtering", NatDependence.coerce(self.filtering, "filtering"))
        if self.port_assignment not in PORT_ASSIGNMENTS:
            raise ValueError(f"port_assignment must be one of {list(PORT_ASSIGNMENTS)}, got {self.port_assignment!r}")
        lifetime = self.mapping_lifetime_s
        if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)) or not lifetime > 0:
            raise ValueError(f"mapping_lifetime_s must be a positive number of seconds, got {lifetime!r}")
        for name in ("hairpinning", "inbound_refresh", "translating"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def classic_name(self) -> str | None:
        """The RFC 3489 name this behaviour corresponds to, or None when it has none."""
        for name, preset in NAT_PRESETS.items():
            if (preset.translating, preset.mapping, preset.filtering) == (
                self.translating,
                self.mapping,
                self.filtering,
            ):
                return name
        return None


EIM = NatDependence.ENDPOINT_INDEPENDENT
ADM = NatDependence.ADDRESS_DEPENDENT
APDM = NatDependence.ADDRESS_AND_PORT_DEPENDENT

#: The classic NAT names mapped onto RFC 4787 behaviours, plus "no NAT".
NAT_PRESETS: dict[str, NatBehaviour] = {
    "no NAT": NatBehaviour(EIM, EIM, translating=False),
    "full cone": NatBehaviour(EIM, EIM, "preserving"),
    "restricted cone": NatBehaviour(EIM, ADM, "preserving"),
    "port-restricted cone": NatBehaviour(EIM, APDM, "preserving"),
    # Symmetric NATs are typically also port-randomising (e.g. Linux MASQUERADE --random).
    "symmetric": NatBehaviour(APDM, APDM, "random"),
}


def nat_preset(name: str, **overrides: object) -> NatBehaviour:
    """The :class:`NatBehaviour` of a preset name, with optional field overrides."""
    if name not in NAT_PRESETS:
        raise ValueError(f"name must be one of {list(NAT_PRESETS)}, got {name!r}")
    return replace(NAT_PRESETS[name], **overrides) if overrides else NAT_PRESETS[name]


def _check_address(value: object, name: str) -> Address:
    try:
        host, port = value  # type: ignore[misc]
        ipaddress.ip_address(host)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an (ip, port) tuple, got {value!r}") from None
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"{name} port must be an integer in 0..65535, got {port!r}")
    return str(host), port


def _check_time(now_s: object) -> float:
    if isinstance(now_s, bool) or not isinstance(now_s, (int, float)) or not math.isfinite(now_s) or now_s < 0:
        raise ValueError(f"now_s must be a finite number of seconds >= 0, got {now_s!r}")
    return float(now_s)


@dataclass
class Mapping:
    """One NAT binding: internal endpoint, external port, and whom it has sent to."""

    internal: Address
    external: Address
    key: tuple  # the destination part the mapping depends on (() for endpoint-independent)
    created_s: float
    last_used_s: float
    sent_to: set[Address] = field(default_factory=set)


class Nat:
    """A NAT with one public IP address, behaving per :class:`NatBehaviour` (RFC 4787).

    >>> nat = Nat("port-restricted cone", public_ip="203.0.113.1")
    >>> nat.outbound(("10.0.0.2", 5000), ("192.0.2.1", 3478), now_s=0.0)
    ('203.0.113.1', 5000)
    >>> nat.inbound(("192.0.2.1", 3478), ("203.0.113.1", 5000), now_s=0.1)
    ('10.0.0.2', 5000)
    >>> nat.inbound(("192.0.2.99", 3478), ("203.0.113.1", 5000), now_s=0.1) is None
    True
    """

    def __init__(self, behaviour: NatBehaviour | str = "port-restricted cone", public_ip: str = "203.0.113.1",
                 seed: int = 0) -> None:
        if isinstance(behaviour, str) and behaviour in NAT_PRESETS:
            behaviour = NAT_PRESETS[behaviour]
        if not isinstance(behaviour, NatBehaviour):
            raise ValueError(f"behaviour must be a NatBehaviour or one of {list(NAT_PRESETS)}, got {behaviour!r}")
        try:
            ipaddress.ip_address(public_ip)
        except ValueError:
            raise ValueError(f"public_ip must be an IP address, got {public_ip!r}") from None
        self.behaviour = behaviour
        self.public_ip = str(public_ip)
        self._rng = make_rng(seed, "nat", self.public_ip)
        self._by_key: dict[tuple, Mapping] = {}
        self._by_port: dict[int, Mapping] = {}
        self.dropped = 0  # inbound packets filtered or without a mapping

    # -- mapping ------------------------------------------------------------------------

    def _mapping_key(self, src: Address, dst: Address) -> tuple:
        m = self.behaviour.mapping
        if m is EIM:
            return (src,)
        if m is ADM:
            return (src, dst[0])
        return (src, dst)

    def _expire(self, now_s: float) -> None:
        lifetime = self.behaviour.mapping_lifetime_s
        for key, mp in list(self._by_key.items()):
            if now_s - mp.last_used_s > lifetime:
                del self._by_key[key]
                del self._by_port[mp.external[1]]

    def _new_port(self, internal_port: int) -> int:
        lo, hi = EXTERNAL_PORT_RANGE
        if self.behaviour.port_assignment == "preserving":
            port = internal_port if lo <= internal_port <= hi else lo
            for _ in range(hi - lo + 1):
                if port not in self._by_port:
                    return port
                port = port + 1 if port < hi else lo
        else:
            for _ in range(1000):
                port = int(self._rng.integers(lo, hi + 1))
                if port not in self._by_port:
                    return port
            for port in range(lo, hi + 1):
                if port not in self._by_port:
                    return port
        raise RuntimeError("NAT out of external ports")

    def outbound(self, src: Address, dst: Address, now_s: float) -> Address:
        """The external source address a packet from private ``src`` to ``dst`` leaves with.

        Creates (or refreshes, RFC 4787 REQ-6) the mapping, and records ``dst`` in the
        filter state of that mapping.
        """
        src = _check_address(src, "src")
        dst = _check_address(dst, "dst")
        now_s = _check_time(now_s)
        if not self.behaviour.translating:
            return src
        self._expire(now_s)
        key = self._mapping_key(src, dst)
        mp = self._by_key.get(key)
        if mp is None:
            port = self._new_port(src[1])
            mp = Mapping(src, (self.public_ip, port), key[1:], now_s, now_s)
            self._by_key[key] = mp
            self._by_port[port] = mp
        mp.last_used_s = now_s
        mp.sent_to.add(dst)
        return mp.external

    def inbound(self, src: Address, dst_public: Address, now_s: float) -> Address | None:
        """The private address a packet from ``src`` to ``dst_public`` is delivered to, or None (dropped).

        Dropped when no live mapping owns ``dst_public`` or the filter (RFC 4787 section 5)
        refuses ``src``.
        """
        src = _check_address(src, "src")
        dst_public = _check_address(dst_public, "dst_public")
        now_s = _check_time(now_s)
        if not self.behaviour.translating:
            return dst_public
        self._expire(now_s)
        mp = self._by_port.get(dst_public[1]) if dst_public[0] == self.public_ip else None
        if mp is None or not self._allowed(mp, src):
            self.dropped += 1
            return None
        if self.behaviour.inbound_refresh:
            mp.last_used_s = now_s
        return mp.internal

    def _allowed(self, mp: Mapping, src: Address) -> bool:
        f = self.behaviour.filtering
        if f is EIM:
            return True
        if f is ADM:
            return any(ip == src[0] for ip, _ in mp.sent_to)
        return src in mp.sent_to

    def hairpin(self, src: Address, dst_public: Address, now_s: float) -> tuple[Address, Address] | None:
        """A packet from inside to this NAT's own public address (RFC 4787 section 6).

        Returns ``(translated source, private destination)``: the packet arrives from the
        sender's *external* address (REQ-9), so the receiver sees what an outside peer
        would.  None when hairpinning is off or the inbound side drops it.
        """
        src = _check_address(src, "src")
        dst_public = _check_address(dst_public, "dst_public")
        if dst_public[0] != self.public_ip:
            raise ValueError(f"dst_public must be on this NAT's public_ip {self.public_ip}, got {dst_public!r}")
        if not self.behaviour.hairpinning or not self.behaviour.translating:
            return None
        external = self.outbound(src, dst_public, now_s)
        private = self.inbound(external, dst_public, now_s)
        return None if private is None else (external, private)

    def mappings(self, now_s: float) -> list[Mapping]:
        """The live mappings at ``now_s`` (expired ones removed)."""
        self._expire(_check_time(now_s))
        return list(self._by_key.values())

    def __repr__(self) -> str:
        name = self.behaviour.classic_name or "custom"
        return f"Nat({name!r}, public_ip={self.public_ip!r}, mappings={len(self._by_key)})"


__all__ = [
    "NatDependence",
    "DEFAULT_MAPPING_LIFETIME_S",
    "Mapping",
    "Nat",
    "NatBehaviour",
    "PORT_ASSIGNMENTS",
    "NAT_PRESETS",
    "nat_preset",
]
