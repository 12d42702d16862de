"""rtlib.conf.turn: the closed form of what TURN adds, checked against real encodings."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings, strategies as st

from rtlib.conf import stun, turn
from rtlib.conf.stun import StunClass, StunMessage, StunMethod
from rtlib.conf.turn import (
    channel_data_overhead_bytes,
    encode_channel_data,
    parse_channel_data,
    send_indication_overhead_bytes,
    turn_cost,
)
from rtlib.errors import ParseError

TID = bytes(12)


def test_doctests():
    assert doctest.testmod(turn).failed == 0


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 160, 1199, 1200])
@pytest.mark.parametrize("peer", [("198.51.100.7", 5000), ("2001:db8::7", 5000)], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("fingerprint", [False, True])
def test_send_indication_overhead_equals_a_real_send_indication(size, peer, fingerprint):
    payload = bytes(i % 256 for i in range(size))
    msg = StunMessage(StunMethod.SEND, StunClass.INDICATION, TID, {"XOR-PEER-ADDRESS": peer, "DATA": payload})
    data = msg.encode(fingerprint=fingerprint)
    version = 6 if ":" in peer[0] else 4
    assert len(data) - size == send_indication_overhead_bytes(size, version, fingerprint)
    back = stun.parse_message(data)
    assert back.attributes["DATA"] == payload and back.attributes["XOR-PEER-ADDRESS"] == peer


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 1201])
@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_channel_data_overhead_equals_a_real_channel_data(size, transport):
    payload = b"\xaa" * size
    data = encode_channel_data(0x4001, payload, transport)
    assert len(data) - size == channel_data_overhead_bytes(size, transport)
    assert parse_channel_data(data) == (0x4001, payload)
    assert not stun.is_stun(data)  # first two bits 01: never mistaken for STUN


def test_the_numbers_of_the_rfc():
    # IPv4 peer, 4-byte aligned payload: 20 header + 12 XOR-PEER-ADDRESS + 4 DATA header
    assert send_indication_overhead_bytes(1200) == 36
    assert send_indication_overhead_bytes(1200, ip_version=6) == 48
    assert channel_data_overhead_bytes(1200) == 4


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_channel_data_parse_raises_only_parse_error(data):
    try:
        parse_channel_data(data)
    except ParseError:
        pass


def test_turn_cost_closed_form():
    c = turn_cost(client_to_relay_ms=30, relay_to_peer_ms=40, direct_ms=50, bitrate_bps=960_000,
                  packet_size_bytes=1200, count_ip_udp_headers=False)
    assert c.relayed_one_way_ms == 70 and c.extra_one_way_ms == 20 and c.extra_rtt_ms == 40
    assert c.packets_per_s == pytest.approx(100.0)  # 960 kbit/s of 1200-byte packets
    # one stream each way: in = out = wrapped + plain = 100 * 8 * (1204 + 1200)
    assert c.relay_ingress_bps == pytest.approx(100 * 8 * (1204 + 1200))
    assert c.relay_egress_bps == pytest.approx(c.relay_ingress_bps)
    assert c.relay_total_bps == pytest.approx(2 * 100 * 8 * 2404)
    assert c.overhead_bps == pytest.approx(2 * 100 * 8 * 4)


def test_send_indications_cost_nine_times_channeldata_and_headers_count():
    kw = dict(client_to_relay_ms=10, relay_to_peer_ms=10, direct_ms=15, bitrate_bps=64_000, packet_size_bytes=160)
    cd = turn_cost(**kw)
    si = turn_cost(**kw, encapsulation="send")
    assert si.overhead_bytes_per_packet == 36 == 9 * cd.overhead_bytes_per_packet
    assert si.relay_total_bps - cd.relay_total_bps == pytest.approx(2 * 50 * 8 * (36 - 4))
    # IP + UDP headers (28 bytes) on each packet of each leg
    bare = turn_cost(**kw, count_ip_udp_headers=False)
    assert cd.relay_total_bps - bare.relay_total_bps == pytest.approx(4 * 50 * 8 * 28)


def test_one_way_stream_and_a_relay_on_a_better_route():
    up_only = turn_cost(client_to_relay_ms=5, relay_to_peer_ms=5, direct_ms=30, bitrate_bps=1e6,
                        streams_from_peer=0, count_ip_udp_headers=False)
    assert up_only.extra_one_way_ms == -20  # triangle inequality does not hold on the Internet
    assert up_only.relay_ingress_bps > up_only.relay_egress_bps == pytest.approx(1e6)


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(client_to_relay_ms=-1), "client_to_relay_ms"),
        (dict(direct_ms=float("inf")), "direct_ms"),
        (dict(bitrate_bps=0), "bitrate_bps"),
        (dict(packet_size_bytes=0), "packet_size_bytes"),
        (dict(encapsulation="tunnel"), "encapsulation"),
        (dict(transport="sctp"), "transport"),
        (dict(ip_version=5), "ip_version"),
        (dict(streams_to_peer=-1), "streams_to_peer"),
    ],
)
def test_bad_input_value_error_names_parameter(kwargs, word):
    base = dict(client_to_relay_ms=10, relay_to_peer_ms=10, direct_ms=10, bitrate_bps=1e6)
    with pytest.raises(ValueError, match=word):
        turn_cost(**{**base, **kwargs})


def test_encode_channel_data_checks_the_channel_number():
    with pytest.raises(ValueError, match="channel_number"):
        encode_channel_data(0x3FFF, b"x")
