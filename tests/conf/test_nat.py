"""rtlib.conf.nat: RFC 4787 mapping, filtering, port assignment, lifetime and hairpinning."""

from __future__ import annotations

import doctest

import pytest

from rtlib.conf import nat as nat_module
from rtlib.conf.nat import NAT_PRESETS, Nat, NatBehaviour, NatDependence, nat_preset

X = ("10.0.0.2", 5000)  # internal endpoint X:x
Y1 = ("192.0.2.1", 3478)
Y1_OTHER_PORT = ("192.0.2.1", 9999)
Y2 = ("198.51.100.7", 3478)
PUB = "203.0.113.1"

EIM = NatDependence.ENDPOINT_INDEPENDENT
ADM = NatDependence.ADDRESS_DEPENDENT
APDM = NatDependence.ADDRESS_AND_PORT_DEPENDENT


def test_doctests():
    assert doctest.testmod(nat_module).failed == 0


@pytest.mark.parametrize("mapping", list(NatDependence))
def test_mapping_behaviour(mapping):
    # RFC 4787 4.1: same X' for Y1:y1 and Y1:y2 unless port-dependent; for Y2 only if independent
    nat = Nat(NatBehaviour(mapping=mapping), public_ip=PUB)
    a = nat.outbound(X, Y1, 0.0)
    b = nat.outbound(X, Y1_OTHER_PORT, 0.1)
    c = nat.outbound(X, Y2, 0.2)
    assert (a == b) == (mapping is not APDM)
    assert (a == c) == (mapping is EIM)
    assert a[0] == b[0] == c[0] == PUB
    assert nat.outbound(X, Y1, 0.3) == a  # a mapping is reused while it lives


@pytest.mark.parametrize("filtering", list(NatDependence))
def test_filtering_behaviour(filtering):
    # RFC 4787 5: after X:x sent to Y1:y1, what reaches X:x on that mapping?
    nat = Nat(NatBehaviour(filtering=filtering), public_ip=PUB)
    ext = nat.outbound(X, Y1, 0.0)
    assert nat.inbound(Y1, ext, 0.1) == X  # the contacted endpoint always gets in
    assert (nat.inbound(Y1_OTHER_PORT, ext, 0.1) == X) == (filtering is not APDM)
    assert (nat.inbound(Y2, ext, 0.1) == X) == (filtering is EIM)


def test_unknown_external_port_is_dropped():
    nat = Nat(NatBehaviour(), public_ip=PUB)
    ext = nat.outbound(X, Y1, 0.0)
    assert nat.inbound(Y1, (PUB, ext[1] + 1), 0.1) is None
    assert nat.inbound(Y1, ("203.0.113.99", ext[1]), 0.1) is None
    assert nat.dropped == 2


def test_port_preservation_and_random_ports_are_seeded():
    keep = Nat(NatBehaviour(mapping=APDM, port_assignment="preserving"), public_ip=PUB)
    assert keep.outbound(X, Y1, 0.0) == (PUB, 5000)
    assert keep.outbound(X, Y2, 0.0) == (PUB, 5001)  # 5000 taken: the next free port
    rand1 = Nat(NatBehaviour(port_assignment="random"), public_ip=PUB, seed=7)
    rand2 = Nat(NatBehaviour(port_assignment="random"), public_ip=PUB, seed=7)
    p1, p2 = rand1.outbound(X, Y1, 0.0), rand2.outbound(X, Y1, 0.0)
    assert p1 == p2 and 1024 <= p1[1] <= 65535
    assert Nat(NatBehaviour(port_assignment="random"), public_ip=PUB, seed=8).outbound(X, Y1, 0.0) != p1


def test_mapping_lifetime_is_fed_the_time():
    nat = Nat(NatBehaviour(mapping_lifetime_s=120.0, port_assignment="random"), public_ip=PUB, seed=1)
    ext = nat.outbound(X, Y1, 0.0)
    assert nat.inbound(Y1, ext, 119.0) == X  # inbound does not refresh (inbound_refresh=False)
    assert nat.inbound(Y1, ext, 120.5) is None  # idle > 120 s: gone
    assert nat.mappings(120.5) == []
    # outbound keep-alives refresh it (RFC 4787 REQ-6)
    ext = nat.outbound(X, Y1, 200.0)
    for t in range(260, 1000, 60):
        assert nat.outbound(X, Y1, float(t)) == ext
    assert nat.inbound(Y1, ext, 1000.0) == X


def test_inbound_refresh_flag():
    nat = Nat(NatBehaviour(mapping_lifetime_s=120.0, inbound_refresh=True), public_ip=PUB)
    ext = nat.outbound(X, Y1, 0.0)
    for t in (100.0, 200.0, 300.0):
        assert nat.inbound(Y1, ext, t) == X


def test_hairpinning():
    nat = Nat("full cone", public_ip=PUB)
    other = ("10.0.0.3", 6000)
    other_ext = nat.outbound(other, Y1, 0.0)
    turned = nat.hairpin(X, other_ext, 0.1)
    assert turned is not None
    src_seen, delivered_to = turned
    assert delivered_to == other and src_seen[0] == PUB  # the external source (REQ-9)
    off = Nat(nat_preset("full cone", hairpinning=False), public_ip=PUB)
    off_ext = off.outbound(other, Y1, 0.0)
    assert off.hairpin(X, off_ext, 0.1) is None


def test_no_nat_translates_nothing_and_filters_nothing():
    nat = Nat("no NAT", public_ip=PUB)
    host = (PUB, 5000)
    assert nat.outbound(host, Y1, 0.0) == host
    assert nat.inbound(Y2, host, 0.0) == host


def test_presets_are_the_classic_names_in_rfc4787_terms():
    assert (NAT_PRESETS["full cone"].mapping, NAT_PRESETS["full cone"].filtering) == (EIM, EIM)
    assert (NAT_PRESETS["restricted cone"].mapping, NAT_PRESETS["restricted cone"].filtering) == (EIM, ADM)
    assert (NAT_PRESETS["port-restricted cone"].mapping, NAT_PRESETS["port-restricted cone"].filtering) == (EIM, APDM)
    assert (NAT_PRESETS["symmetric"].mapping, NAT_PRESETS["symmetric"].filtering) == (APDM, APDM)
    assert not NAT_PRESETS["no NAT"].translating
    for name, behaviour in NAT_PRESETS.items():
        assert behaviour.classic_name == name
    assert NatBehaviour(mapping=ADM, filtering=ADM).classic_name is None


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: NatBehaviour(mapping="cone"), "mapping"),
        (lambda: NatBehaviour(filtering="strict"), "filtering"),
        (lambda: NatBehaviour(port_assignment="sequential"), "port_assignment"),
        (lambda: NatBehaviour(mapping_lifetime_s=0), "mapping_lifetime_s"),
        (lambda: Nat("double"), "behaviour"),
        (lambda: nat_preset("double"), "name"),
        (lambda: Nat(public_ip="nat.example"), "public_ip"),
        (lambda: Nat().outbound(("10.0.0.1", 70000), Y1, 0.0), "src"),
        (lambda: Nat().outbound(X, "192.0.2.1:3478", 0.0), "dst"),
        (lambda: Nat().outbound(X, Y1, -1.0), "now_s"),
        (lambda: Nat().inbound(Y1, ("203.0.113.1", 5000), float("nan")), "now_s"),
    ],
)
def test_bad_input_value_error_names_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()
