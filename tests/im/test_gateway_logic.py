import json

import pytest

from rtlib.im import protocol as P
from rtlib.im.gateway import Gateway, Registry
from tests.im.sansio import login_frames, make_system, run, sent_to


@pytest.fixture
def system():
    return make_system()


login = login_frames


def test_frames_before_auth_are_refused(system):
    _, gw, _ = system
    conn = gw.open(0.0)
    outs = gw.on_frame(conn, json.dumps({"type": "send", "conv": "ab", "cid": "1", "body": "x"}), 0.0)
    assert outs == [("send", conn, P.error(P.UNAUTHENTICATED, "send an auth frame first", cid="1"))]
    # ping too: the error table says "a frame before auth" (issue 12, defect 6)
    assert gw.on_frame(conn, '{"type": "ping"}', 0.0) == [("send", conn, P.error(P.UNAUTHENTICATED,
                                                                                 "send an auth frame first"))]


def test_wrong_token_gets_error_and_close(system):
    _, gw, _ = system
    conn = gw.open(0.0)
    outs = gw.on_frame(conn, {"type": "auth", "user": "alice", "token": "tok-bob"}, 0.0)
    assert outs[0][2]["code"] == P.AUTH_FAILED and outs[1][0] == "close"
    assert gw.session(conn) is None and not gw.registry.online("alice")
    assert gw.auth_failures == 1


def test_bad_frames_get_error_frames_and_the_session_lives_on(system):
    _, gw, logic = system
    conn, _ = login(gw, logic, "alice")
    for raw, code in (("{", P.BAD_JSON), (b"\x00", P.BAD_FRAME), ('{"type":"x"}', P.UNKNOWN_TYPE),
                      ("x" * (P.MAX_FRAME_BYTES + 1), P.TOO_LARGE),
                      ('{"type":"auth","user":"bob","token":"tok-bob"}', P.ALREADY_AUTHENTICATED)):
        outs = gw.on_frame(conn, raw, 1.0)
        assert len(outs) == 1 and outs[0][2]["type"] == "error" and outs[0][2]["code"] == code
    outs = run(gw, logic, conn, {"type": "send", "conv": "ab", "cid": "c1", "body": "still here"})
    assert sent_to(outs, conn)[0]["type"] == "ack"


def test_a_repeated_auth_is_answered_again(system):
    _, gw, logic = system
    conn, _ = login(gw, logic, "alice")
    outs = run(gw, logic, conn, {"type": "auth", "user": "alice", "token": "tok-alice", "device": "phone"})
    assert [o[2]["type"] for o in outs] == ["auth_ok"]


def test_error_for_a_bad_send_names_its_cid(system):
    _, gw, logic = system
    conn, _ = login(gw, logic, "alice")
    outs = gw.on_frame(conn, {"type": "send", "conv": "ab", "cid": "c9", "body": 5}, 1.0)
    assert outs[0][2]["cid"] == "c9"


def test_send_is_acked_after_store_and_fanned_out(system):
    store, gw, logic = system
    a, _ = login(gw, logic, "alice")
    b, _ = login(gw, logic, "bob")
    outs = run(gw, logic, a, {"type": "send", "conv": "ab", "cid": "c1", "body": "hi"})
    ack = sent_to(outs, a)
    assert ack == [{"type": "ack", "cid": "c1", "conv": "ab", "seq": 1, "ts": 1.0}]
    assert store.count_messages() == 1
    msg = sent_to(outs, b)[0]
    assert msg == {"type": "msg", "conv": "ab", "seq": 1, "sender": "alice", "cid": "c1", "body": "hi", "ts": 1.0}


def test_membership_is_enforced(system):
    store, gw, logic = system
    c, hello = login(gw, logic, "carol")
    assert hello["convs"] == {}
    b, _ = login(gw, logic, "bob")
    for frame in ({"type": "send", "conv": "ab", "cid": "x", "body": "let me in"},
                  {"type": "sync", "conv": "ab", "since": 0},
                  {"type": "read", "conv": "ab", "seq": 1},
                  {"type": "send", "conv": "nonexistent", "cid": "y", "body": "?"}):
        outs = run(gw, logic, c, frame)
        assert [o[2]["code"] for o in outs] == [P.NOT_MEMBER]
        # the error names what it refuses: the client marks that message failed by its cid
        assert outs[0][2]["conv"] == frame["conv"] and outs[0][2].get("cid") == frame.get("cid")
        assert sent_to(outs, b) == []
    assert store.count_messages() == 0
    assert logic.rejected == 4
    # a sync of "everything" only covers carol's own conversations
    assert run(gw, logic, c, {"type": "sync"}) == []


def test_multi_device_fanout_and_push_for_offline_devices(system):
    store, gw, logic = system
    a_phone, _ = login(gw, logic, "alice", "phone")
    a_laptop, _ = login(gw, logic, "alice", "laptop")
    b_phone, _ = login(gw, logic, "bob", "phone")
    gw.closed(b_phone, 1.0)  # bob's phone goes away; the server knows the device
    outs = run(gw, logic, a_phone, {"type": "send", "conv": "ab", "cid": "c1", "body": "x" * 500}, 2.0)
    assert sent_to(outs, a_laptop)[0]["type"] == "msg"  # the sender's other device
    pushes = [o for o in outs if o[0] == "push"]
    assert [(p[1], p[2]) for p in pushes] == [("bob", "phone")]
    assert pushes[0][3]["seq"] == 1 and len(pushes[0][3]["preview"]) <= 100
    # a retry of the same message: same seq, fanned out again, no second push
    outs = run(gw, logic, a_phone, {"type": "send", "conv": "ab", "cid": "c1", "body": "x" * 500}, 3.0)
    assert sent_to(outs, a_phone)[0]["seq"] == 1
    assert sent_to(outs, a_laptop)[0]["seq"] == 1
    assert not [o for o in outs if o[0] == "push"]
    assert logic.duplicates == 1 and store.count_messages() == 1


def test_sync_and_read(system):
    store, gw, logic = system
    a, _ = login(gw, logic, "alice")
    for i in range(5):
        run(gw, logic, a, {"type": "send", "conv": "ab", "cid": f"c{i}", "body": str(i)})
    b, hello = login(gw, logic, "bob", now=2.0)
    assert hello["convs"] == {"ab": {"last_seq": 5, "read_seq": 0}}
    out = sent_to(run(gw, logic, b, {"type": "sync", "conv": "ab", "since": 2, "limit": 2}), b)[0]
    assert [m["seq"] for m in out["messages"]] == [3, 4] and out["more"] and out["last_seq"] == 5
    out = sent_to(run(gw, logic, b, {"type": "sync", "since": {"ab": 4}}), b)[0]
    assert [m["body"] for m in out["messages"]] == ["4"] and not out["more"]
    outs = run(gw, logic, b, {"type": "read", "conv": "ab", "seq": 4})
    assert sent_to(outs, a) == [{"type": "read", "conv": "ab", "user": "bob", "seq": 4}]
    assert run(gw, logic, b, {"type": "read", "conv": "ab", "seq": 3}) == []  # never backwards


def test_reconnect_replaces_the_stale_connection(system):
    _, gw, logic = system
    old, _ = login(gw, logic, "alice")
    new = gw.open(5.0)
    outs = gw.on_frame(new, {"type": "auth", "user": "alice", "token": "tok-alice", "device": "phone"}, 5.0)
    assert ("close", old, P.CLOSE_REPLACED, "replaced by a newer connection of the same device") in outs
    assert gw.registry.get("alice") == {}  # the new one is routed once the logic answers its auth
    logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], 5.0)
    assert gw.registry.get("alice") == {"phone": new}
    gw.closed(old, 5.0)  # the late close of the old one must not unregister the new one
    assert gw.registry.get("alice") == {"phone": new}


def test_idle_and_unauthenticated_connections_are_closed(system):
    _, gw, logic = system
    a, _ = login(gw, logic, "alice", now=0.0)
    lurker = gw.open(0.0)
    assert gw.next_deadline() is not None
    assert gw.on_timer(1.0) == []
    gw.on_frame(a, '{"type":"ping"}', 4.0)  # a heartbeat keeps alice
    closed = []
    while (t := gw.next_deadline()) is not None and t < 14.0:
        closed += gw.on_timer(t)
    assert closed == [("close", lurker, P.CLOSE_AUTH_TIMEOUT, "no auth frame in time")]  # alice spoke at 4 s: not idle yet
    while (t := gw.next_deadline()) is not None:
        closed += gw.on_timer(t)
    assert t is None  # nothing left to watch
    assert any(c[1] == a and c[2] == P.CLOSE_IDLE and "idle" in c[3] for c in closed)
    assert not gw.registry.online("alice") and gw.idle_closed == 1


def test_logic_crashes(system):
    store, gw, logic = system
    a, _ = login(gw, logic, "alice")
    s = gw.session(a)
    send = {"type": "send", "conv": "ab", "cid": "c1", "body": "x"}
    assert logic.on_requests([(s, send)], 1.0, crash="logic_before_commit") == []
    assert store.count_messages() == 0
    assert logic.on_requests([(s, send)], 1.0, crash="logic_after_commit") == []
    assert store.count_messages() == 1
    outs = logic.on_requests([(s, {**send, "cid": "c2"})], 1.0, crash="store_before_commit")
    assert outs[0][2]["code"] == P.UNAVAILABLE and store.count_messages() == 1
    outs = logic.on_requests([(s, {**send, "cid": "c2"})], 1.0, crash="store_after_commit")
    assert outs[0][2]["code"] == P.UNAVAILABLE and store.count_messages() == 2
    outs = logic.on_requests([(s, {**send, "cid": "c2"})], 2.0)
    assert outs[0][2] == {"type": "ack", "cid": "c2", "conv": "ab", "seq": 2, "ts": 1.0}
    with pytest.raises(ValueError, match="crash must be one of"):
        logic.on_requests([], 1.0, crash="meteor")


def test_registry():
    r = Registry()
    assert r.add("u", "phone", 1) is None
    assert r.add("u", "phone", 2) == 1
    r.remove("u", "phone", 1)
    assert r.get("u") == {"phone": 2} and r.count() == 1
    r.remove("u", "phone", 2)
    assert not r.online("u") and r.get("u") == {}


def test_gateway_rejects_bad_settings():
    with pytest.raises(ValueError, match="idle_timeout_s"):
        Gateway(lambda u, t: True, idle_timeout_s=0)
