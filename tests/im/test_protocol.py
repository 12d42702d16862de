import json

import pytest
from hypothesis import given, settings, strategies as st

from rtlib.im import protocol as P


def test_valid_frames_pass():
    for frame in (
        {"type": "auth", "user": "alice", "token": "t0k", "device": "phone"},
        {"type": "send", "conv": "ab", "cid": "phone-1", "body": "héllo"},
        {"type": "sync", "conv": "ab", "since": 3},
        {"type": "sync", "since": {"ab": 2, "g": 0}},
        {"type": "sync"},
        {"type": "read", "conv": "ab", "seq": 7},
        {"type": "ping"},
    ):
        assert P.decode(json.dumps(frame)) == frame


@pytest.mark.parametrize("raw, code", [
    ("not json", P.BAD_JSON),
    ("[1, 2]", P.BAD_FRAME),
    ('{"no": "type"}', P.BAD_FRAME),
    ('{"type": "dance"}', P.UNKNOWN_TYPE),
    ('{"type": "send", "conv": "ab", "cid": "x"}', P.BAD_FRAME),  # no body
    ('{"type": "send", "conv": "a b", "cid": "x", "body": ""}', P.BAD_FRAME),  # bad name
    ('{"type": "send", "conv": "ab", "cid": "with space", "body": ""}', P.BAD_FRAME),
    ('{"type": "send", "conv": "ab", "cid": "x", "body": 5}', P.BAD_FRAME),
    ('{"type": "sync", "conv": "ab", "since": -1}', P.BAD_FRAME),
    ('{"type": "sync", "conv": "ab", "since": true}', P.BAD_FRAME),
    ('{"type": "sync", "since": [1]}', P.BAD_FRAME),
    ('{"type": "sync", "limit": 0}', P.BAD_FRAME),
    ('{"type": "read", "conv": "ab", "seq": 1.5}', P.BAD_FRAME),
    ('{"type": "auth", "user": "alice"}', P.BAD_FRAME),
])
def test_bad_frames_raise_frame_error_with_code(raw, code):
    with pytest.raises(P.FrameError) as exc:
        P.decode(raw)
    assert exc.value.code == code
    assert isinstance(exc.value, ValueError)


def test_binary_and_oversized_frames():
    with pytest.raises(P.FrameError) as exc:
        P.decode(b'{"type": "ping"}')
    assert exc.value.code == P.BAD_FRAME
    big = json.dumps({"type": "send", "conv": "ab", "cid": "x", "body": "a" * (P.MAX_FRAME_BYTES + 1)})
    with pytest.raises(P.FrameError) as exc:
        P.decode(big)
    assert exc.value.code == P.TOO_LARGE
    body = json.dumps({"type": "send", "conv": "ab", "cid": "x", "body": "é" * (P.MAX_BODY_BYTES // 2 + 1)})
    with pytest.raises(P.FrameError) as exc:
        P.decode(body)
    assert exc.value.code == P.TOO_LARGE
    # Multi-byte characters count as bytes, not characters, against the frame limit.
    wide = json.dumps({"type": "ping", "pad": "€" * (P.MAX_FRAME_BYTES // 3 + 10)}, ensure_ascii=False)
    assert len(wide) < P.MAX_FRAME_BYTES < len(wide.encode())
    with pytest.raises(P.FrameError):
        P.decode(wide)


def test_deeply_nested_json_is_a_frame_error():
    with pytest.raises(P.FrameError):
        P.decode("[" * 8_000 + "]" * 8_000)  # under the size limit: the JSON parser recurses too deep


def test_encode_round_trip_and_error_frame():
    f = {"type": "msg", "conv": "ab", "seq": 1, "sender": "a", "cid": "c", "body": "中文", "ts": 1.5}
    assert json.loads(P.encode(f)) == f
    e = P.error(P.NOT_MEMBER, "no", cid="x")
    assert e == {"type": "error", "code": "not_member", "reason": "no", "cid": "x"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_decode_never_raises_anything_but_frame_error_on_text(raw):
    try:
        frame = P.decode(raw)
    except P.FrameError as exc:
        assert exc.code in P.ERROR_CODES
    else:
        assert frame["type"] in P.CLIENT_TYPES


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({"type": st.sampled_from(P.CLIENT_TYPES + ("x",))},
                             optional={"conv": json_values, "cid": json_values, "body": json_values,
                                       "since": json_values, "seq": json_values, "user": json_values,
                                       "token": json_values, "limit": json_values, "device": json_values}))
def test_check_frame_never_raises_anything_but_frame_error(frame):
    try:
        checked = P.check_frame(frame)
    except P.FrameError as exc:
        assert exc.code in P.ERROR_CODES
    else:
        assert checked is frame and frame["type"] in P.CLIENT_TYPES
