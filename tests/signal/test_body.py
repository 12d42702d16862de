"""The call bodies: round trips, the loopback-only filter, and ParseError (never another exception)."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib import ParseError
from rtlib.signal.body import KINDS, is_loopback_candidate, loopback_sdp, make_body, parse_body

SDP = ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
       "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
       "a=candidate:2 1 udp 2130706431 192.168.1.20 50001 typ host\r\n"
       "a=candidate:3 1 udp 2130706431 2001:db8::1 50002 typ host\r\n"
       "a=candidate:4 1 udp 2130706431 3f1c2a.local 50003 typ host\r\n"
       "a=candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active\r\n"
       "a=candidate:6 1 udp 1694498815 203.0.113.7 40000 typ srflx raddr 0.0.0.0 rport 0\r\n")
FIELDS = {"offer": {"sdp": SDP}, "answer": {"sdp": SDP}, "ring": {}, "accept": {},
          "candidate": {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"},
          "reject": {"reason": "busy"}, "hangup": {"reason": "timeout"}}


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_round_trips(kind):
    text = make_body(kind, "c0ffee", device="laptop", **FIELDS[kind])
    b = parse_body(text)
    assert b["call"] == kind and b["id"] == "c0ffee" and b["device"] == "laptop"
    for k, v in FIELDS[kind].items():
        if k != "sdp":
            assert b[k] == v


def test_only_udp_loopback_candidates_survive():
    kept = [ln for ln in loopback_sdp(SDP).split("\r\n") if ln.startswith("a=candidate")]
    assert kept == ["a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host"]
    # and the filter is applied on both ends: a body made from SDP and a body parsed from raw JSON
    assert "192.168.1.20" not in make_body("offer", "x", device="d", sdp=SDP)
    raw = json.dumps({"call": "offer", "id": "x", "device": "d", "sdp": SDP})
    assert "192.168" not in parse_body(raw)["sdp"] and "local" not in parse_body(raw)["sdp"]
    assert not is_loopback_candidate("candidate:2 1 udp 2130706431 192.168.1.20 50001 typ host")
    assert not is_loopback_candidate("candidate:5 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active")


def test_a_non_loopback_candidate_body_is_refused():
    raw = json.dumps({"call": "candidate", "id": "x", "device": "d",
                      "candidate": "candidate:2 1 udp 2130706431 10.0.0.5 50001 typ host"})
    with pytest.raises(ParseError, match="loopback"):
        parse_body(raw)
    with pytest.raises(ValueError, match="loopback"):
        make_body("candidate", "x", device="d", candidate="candidate:2 1 udp 1 10.0.0.5 5 typ host")


def test_chat_text_is_not_signalling():
    assert parse_body("hello bob") is None
    assert parse_body("{not json") is None
    assert parse_body('{"text": "a JSON chat message"}') is None


@pytest.mark.parametrize("obj, field", [
    ({"call": "dial", "id": "x", "device": "d"}, "call must be one of"),
    ({"call": "ring", "id": "bad id!", "device": "d"}, "id must be"),
    ({"call": "ring", "id": "x"}, "needs 'device'"),
    ({"call": "ring", "id": "x", "device": "d", "extra": 1}, "unknown field"),
    ({"call": "offer", "id": "x", "device": "d", "sdp": "hello"}, "sdp must be"),
    ({"call": "offer", "id": "x", "device": "d", "sdp": "v=0\r\n" + "a=x\r\n" * 20000}, "sdp must be"),
    ({"call": "reject", "id": "x", "device": "d", "reason": "bored"}, "reason of a reject"),
    ({"call": "hangup", "id": "x", "device": "d", "reason": 3}, "reason of a hangup"),
    ({"call": "candidate", "id": "x", "device": "d", "candidate": "hello"}, "candidate must be"),
])
def test_malformed_call_bodies_raise_parse_error_naming_the_field(obj, field):
    with pytest.raises(ParseError, match=field):
        parse_body(json.dumps(obj))


def test_make_body_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        make_body("dial", "x", device="d")


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(["call", "id", "device", "sdp", "candidate", "reason", "x"]),
                    st.one_of(st.sampled_from(list(KINDS)), st.text(max_size=30), st.integers(), st.none(),
                              st.sampled_from(["v=0\r\n", "declined", "glare", "candidate:1 1 udp 1 127.0.0.1 5 typ host"])),
                    max_size=6).map(json.dumps)))
def test_parser_returns_none_a_dict_or_raises_parse_error(text):
    try:
        b = parse_body(text)
    except ParseError:
        return
    assert b is None or (b["call"] in KINDS and isinstance(b["id"], str))
    if b is not None:  # what parses is made again identically
        again = parse_body(make_body(b["call"], b["id"], **{k: v for k, v in b.items() if k not in ("call", "id")}))
        assert again == b


def test_a_long_sdp_goes_compressed_and_comes_back_whole():
    long_sdp = SDP + "".join(f"a=extmap:{i} urn:example:{'x' * 60}\r\n" for i in range(80))
    text = make_body("offer", "big", device="d", sdp=long_sdp)
    assert len(text.encode()) <= 4096 and '"sdpz"' in text and '"sdp"' not in text
    assert parse_body(text)["sdp"] == loopback_sdp(long_sdp)
    short = make_body("offer", "small", device="d", sdp=SDP)
    assert '"sdp"' in short and '"sdpz"' not in short


@pytest.mark.parametrize("sdpz, msg", [("!!notbase64", "sdpz must be"), ("aGVsbG8=", "sdpz must be")])
def test_bad_compressed_sdp_raises_parse_error(sdpz, msg):
    with pytest.raises(ParseError, match=msg):
        parse_body(json.dumps({"call": "offer", "id": "x", "device": "d", "sdpz": sdpz}))


def test_a_compressed_sdp_cannot_inflate_without_bound():
    from rtlib.signal.body import deflate_sdp

    bomb = deflate_sdp("v=0\r\n" + "a" * 200_000)
    with pytest.raises(ParseError, match="inflates to more than"):
        parse_body(json.dumps({"call": "offer", "id": "x", "device": "d", "sdpz": bomb}))
