"""rtlib.conf.ice: priorities (RFC 8445), checks as real STUN, and the NAT pairs table against RFC 4787's rules."""

from __future__ import annotations

import doctest
import itertools

import pytest
from aioice import stun as aioice_stun

from rtlib.conf import ice, stun
from rtlib.conf.ice import (
    IceAgent,
    candidate_priority,
    gather_candidates,
    nat_pair_outcome,
    pair_priority,
    pair_table,
    simulate_ice,
)
from rtlib.conf.nat import NAT_PRESETS, Nat, NatBehaviour, NatDependence

EIM = NatDependence.ENDPOINT_INDEPENDENT
ADM = NatDependence.ADDRESS_DEPENDENT
APDM = NatDependence.ADDRESS_AND_PORT_DEPENDENT


def test_doctests():
    assert doctest.testmod(ice).failed == 0


def test_candidate_priority_formula():
    # RFC 8445 5.1.2.1 with the recommended type preferences of 5.1.2.2, local preference
    # 65535, component 1: the numbers browsers put in their SDP a=candidate lines
    assert candidate_priority("host") == 126 * 2**24 + 65535 * 2**8 + 255 == 2130706431
    assert candidate_priority("prflx") == 110 * 2**24 + 65535 * 2**8 + 255 == 1862270975
    assert candidate_priority("srflx") == 100 * 2**24 + 65535 * 2**8 + 255 == 1694498815
    assert candidate_priority("relay") == 0 * 2**24 + 65535 * 2**8 + 255 == 16777215
    assert candidate_priority("host", component=2) == candidate_priority("host") - 1
    assert candidate_priority("host") > candidate_priority("prflx") > candidate_priority("srflx") > candidate_priority("relay")


def test_pair_priority_formula():
    g, d = candidate_priority("host"), candidate_priority("srflx")
    assert pair_priority(g, d) == 2**32 * d + 2 * g + 1  # G > D
    assert pair_priority(d, g) == 2**32 * d + 2 * g  # roles swapped: G < D, no tie bit
    # the minimum dominates: any pair with a relay ranks below any pair without one
    assert pair_priority(candidate_priority("relay"), candidate_priority("host")) < pair_priority(d, d)


@pytest.mark.parametrize(
    "call, word",
    [
        (lambda: candidate_priority("stun"), "candidate_type"),
        (lambda: candidate_priority("host", local_preference=70000), "local_preference"),
        (lambda: candidate_priority("host", component=0), "component"),
        (lambda: pair_priority(0, 5), "controlling_priority"),
        (lambda: pair_priority(5, 2**31), "controlled_priority"),
        (lambda: simulate_ice("carrier grade", "symmetric"), "left_nat"),
        (lambda: simulate_ice("symmetric", "cone"), "right_nat"),
        (lambda: simulate_ice(one_way_delay_ms=-1), "one_way_delay_ms"),
        (lambda: pair_table(["full cone", "moon"]), "presets"),
    ],
)
def test_bad_input_value_error_names_parameter(call, word):
    with pytest.raises(ValueError, match=word):
        call()


def test_gathering_through_a_nat():
    cands, info = gather_candidates(("10.0.0.2", 5000), Nat("symmetric", public_ip="203.0.113.1"))
    types = [c.type for c in cands]
    assert types == ["host", "srflx", "relay"]
    srflx = cands[1]
    assert srflx.address[0] == "203.0.113.1" and srflx.base == ("10.0.0.2", 5000)
    # the Binding request and its response are real STUN bytes
    assert stun.parse_message(info["request"]).message_class == stun.StunClass.REQUEST
    assert aioice_stun.parse_message(info["response"]).attributes["XOR-MAPPED-ADDRESS"] == srflx.address
    # no NAT: the server-reflexive address equals the host address, and is dropped (RFC 8445 5.1.3)
    open_cands, _ = gather_candidates(("198.51.100.1", 6000), Nat("no NAT", public_ip="198.51.100.1"), turn=False)
    assert [c.type for c in open_cands] == ["host"]


def test_checks_are_real_stun_messages():
    r = simulate_ice("full cone", "full cone")
    data = r.first_check_bytes
    msg = stun.parse_message(data)
    assert msg.attributes["USERNAME"] == "Rfrg:Lfrg"  # remote ufrag : local ufrag (RFC 8445 7.2.2)
    assert msg.attributes["PRIORITY"] == candidate_priority("prflx")  # RFC 8445 7.1.1
    assert "ICE-CONTROLLING" in msg.attributes and msg.fingerprint is not None
    assert msg.check_integrity(stun.short_term_key("right-password-22chars"))
    theirs = aioice_stun.parse_message(data)
    assert theirs.check_message_integrity(b"right-password-22chars")
    assert r.checks_sent > 0 and r.stun_bytes_sent > len(data)


def test_sans_io_agents_connect_by_hand():
    """Two agents on public addresses, datagrams carried by hand: the first check succeeds."""
    a_host, b_host = ("192.0.2.10", 1000), ("192.0.2.20", 2000)
    a_c = [ice.Candidate("host", a_host, a_host, candidate_priority("host"), "1")]
    b_c = [ice.Candidate("host", b_host, b_host, candidate_priority("host"), "1")]
    a = IceAgent("a", a_c, controlling=True, ufrag="aaaa", password="a" * 22, tiebreaker=1)
    b = IceAgent("b", b_c, controlling=False, ufrag="bbbb", password="b" * 22, tiebreaker=2)
    a.set_remote(b_c, "bbbb", "b" * 22)
    b.set_remote(a_c, "aaaa", "a" * 22)
    (check,) = a.poll(0.0)
    assert check.dst == b_host and not check.via_relay
    (response,) = b.receive(a_host, False, check.data, 0.01)
    assert a.receive(b_host, False, response.data, 0.02) == []
    assert [p.state for p in a.pairs] == ["succeeded"] and a.valid[0].valid_local.type == "host"
    # b queued a triggered check for the pair it was checked on (RFC 8445 7.3.1.4)
    (triggered,) = b.poll(0.02)
    assert triggered.dst == a_host
    assert a.next_deadline_s() is None or a.next_deadline_s() >= 0.0
    # garbage is ignored, not raised
    assert a.receive(b_host, False, b"\x00garbage", 0.03) == [] and a.ignored == 1


# --- the table, derived from RFC 4787's rules ----------------------------------------------


def _direct_rule(s: NatBehaviour, e: NatBehaviour) -> bool:
    """Can S reach E directly, given both send checks?  From RFC 4787's definitions alone.

    S sends to E's server-reflexive address.  That only reaches E's host when E's mapping is
    endpoint-independent (or E has no NAT): otherwise E's mapping towards S is a port S
    cannot know in advance.  S's packets come from S's mapping towards E, which is S's
    server-reflexive address when S's mapping is endpoint-independent (E has sent there, so
    any filter of E admits it) and a fresh port otherwise; E's filter admits a fresh port
    of S's address only when it is endpoint-independent or address-dependent (E has sent to
    S's IP address: its own checks), or E has no NAT.  Answers travel back on the mappings
    the checks opened, and S's filter admits them (S sent to exactly that address).
    """
    if e.translating and e.mapping is not EIM:
        return False
    if not e.translating or not s.translating or s.mapping is EIM:
        return True
    return e.filtering in (EIM, ADM)


def _expected(a: NatBehaviour, b: NatBehaviour) -> tuple[bool, str]:
    direct = _direct_rule(a, b) or _direct_rule(b, a)
    if not direct:
        return True, "relay"
    if not a.translating and not b.translating:
        return False, "host"  # both host addresses are public
    if any(x.translating and x.mapping is not EIM for x in (a, b)):
        return False, "prflx"  # the fresh port is learnt from a check: peer-reflexive
    return False, "srflx"


ALL_PAIRS = list(itertools.product(NAT_PRESETS, repeat=2))


@pytest.fixture(scope="module")
def table():
    return {(r.left_nat, r.right_nat): r for r in pair_table()}


def test_table_covers_every_unordered_pair(table):
    n = len(NAT_PRESETS)
    assert len(table) == n * (n + 1) // 2


@pytest.mark.parametrize("left, right", ALL_PAIRS, ids=[f"{a}|{b}" for a, b in ALL_PAIRS])
def test_table_matches_rfc4787_rules(table, left, right):
    row = table.get((left, right)) or nat_pair_outcome(left, right)
    turn_needed, pair_kind = _expected(NAT_PRESETS[left], NAT_PRESETS[right])
    assert row.connected
    assert row.turn_needed == turn_needed
    assert row.best_pair_type == pair_kind
    assert row.first_pair_type == pair_kind  # with a relay last in priority, direct pairs win the race


def test_two_port_dependent_mappings_need_turn_and_fail_without_it():
    assert nat_pair_outcome("symmetric", "symmetric").turn_needed
    assert nat_pair_outcome("symmetric", "port-restricted cone").turn_needed
    without = nat_pair_outcome("symmetric", "symmetric", turn=False)
    assert without.turn_needed and not without.connected and without.first_pair_type is None


@pytest.mark.parametrize("f_left, f_right", list(itertools.product([EIM, ADM, APDM], repeat=2)))
def test_endpoint_independent_mapping_on_both_sides_connects_srflx_whatever_the_filtering(f_left, f_right):
    r = nat_pair_outcome(NatBehaviour(EIM, f_left), NatBehaviour(EIM, f_right), turn=False)
    assert r.connected and r.first_pair_type == "srflx"


def test_address_dependent_mapping_follows_the_same_rule():
    # not a classic name: address-dependent mapping, address-dependent filtering
    adm = NatBehaviour(ADM, ADM)
    for other in NAT_PRESETS.values():
        turn_needed, _ = _expected(adm, other)
        assert nat_pair_outcome(adm, other).turn_needed == turn_needed, other


def test_deterministic_and_costs_time():
    a = simulate_ice("restricted cone", "symmetric", seed=3)
    b = simulate_ice("restricted cone", "symmetric", seed=3)
    assert a.valid_pairs == b.valid_pairs
    slow = simulate_ice("restricted cone", "symmetric", one_way_delay_ms=100.0)
    assert slow.first_pair.time_ms > a.first_pair.time_ms
    # a direct check needs at least one round trip (out and back)
    assert a.first_pair.time_ms >= 2 * 25.0
