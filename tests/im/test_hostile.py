"""Hostile, slow and confused clients (issue 12), sans-IO: gateway + logic + store.

Each test names the defect it guards.  The server is a thin shell over these objects,
so what is shown here holds live (tests/im/test_live_hostile.py checks it there)."""

import json

import pytest

from rtlib.im import protocol as P
from tests.im.sansio import login_frames, make_system, run, sent_to


@pytest.fixture
def system():
    return make_system(group=True, revalidate=True)


def login(gw, logic, user, device="phone", now=0.0):
    return login_frames(gw, logic, user, device, now)[0]


def live_msgs(outs):
    return [o[2] for o in outs if o[0] == "send" and o[2]["type"] == "msg"]


def assert_every_msg_is_stored(store, outs):
    """No live ``msg`` may differ from what ``sync`` returns for its seq."""
    for m in live_msgs(outs):
        rows = {r[0]: r for r in store.messages_since(m["conv"], m["seq"] - 1, 1)}
        assert m["seq"] in rows, f"phantom msg {m}: {m['conv']} holds no seq {m['seq']}"
        seq, sender, cid, body, ts = rows[m["seq"]]
        assert (sender, cid, body, ts) == (m["sender"], m["cid"], m["body"], m["ts"]), m


# -- defect 1: cid reuse -----------------------------------------------------------------
def test_cid_reused_in_another_conversation_is_a_conflict_not_a_phantom(system):
    store, gw, logic = system
    a, b, c = login(gw, logic, "alice"), login(gw, logic, "bob"), login(gw, logic, "carol")
    first = run(gw, logic, a, {"type": "send", "conv": "ab", "cid": "c1", "body": "to bob"})
    assert sent_to(first, a)[0]["type"] == "ack"
    outs = run(gw, logic, a, {"type": "send", "conv": "all", "cid": "c1", "body": "to bob"}, 2.0)
    answer = sent_to(outs, a)
    assert [f["type"] for f in answer] == ["error"], answer
    assert answer[0]["code"] == P.CONFLICT and answer[0]["cid"] == "c1" and answer[0]["conv"] == "all"
    assert sent_to(outs, c) == [] and sent_to(outs, b) == []
    assert store.count_messages("all") == 0
    assert_every_msg_is_stored(store, first + outs)


def test_cid_reused_with_another_body_is_a_conflict(system):
    store, gw, logic = system
    a, b = login(gw, logic, "alice"), login(gw, logic, "bob")
    run(gw, logic, a, {"type": "send", "conv": "ab", "cid": "c1", "body": "original"})
    outs = run(gw, logic, a, {"type": "send", "conv": "ab", "cid": "c1", "body": "rewritten"}, 2.0)
    assert [f.get("code") for f in sent_to(outs, a)] == [P.CONFLICT]
    assert sent_to(outs, b) == []
    assert [r[3] for r in store.messages_since("ab")] == ["original"]
    # an identical resend is still a resend: same seq, fanned out again
    outs = run(gw, logic, a, {"type": "send", "conv": "ab", "cid": "c1", "body": "original"}, 3.0)
    assert sent_to(outs, a)[0]["type"] == "ack" and sent_to(outs, a)[0]["seq"] == 1
    assert [m["body"] for m in sent_to(outs, b)] == ["original"]
    assert_every_msg_is_stored(store, outs)


def test_conflicts_inside_one_batch(system):
    store, gw, logic = system
    a, b = login(gw, logic, "alice"), login(gw, logic, "bob")
    sa = gw.session(a)
    batch = [(sa, {"type": "send", "conv": "ab", "cid": "k", "body": "one"}),
             (sa, {"type": "send", "conv": "all", "cid": "k", "body": "one"}),
             (sa, {"type": "send", "conv": "ab", "cid": "k", "body": "two"}),
             (sa, {"type": "send", "conv": "ab", "cid": "k", "body": "one"})]
    outs = logic.on_requests(batch, 1.0)
    answer = sent_to(outs, a)
    assert [f["type"] for f in answer] == ["ack", "error", "error", "ack"]
    assert answer[1]["code"] == answer[2]["code"] == P.CONFLICT
    assert answer[0]["seq"] == answer[3]["seq"] == 1 and store.count_messages() == 1
    assert_every_msg_is_stored(store, outs)


# -- defect 2: invalid text, and one bad message in a batch --------------------------------
@pytest.mark.parametrize("field, frame", [
    ("body", '{"type": "send", "conv": "ab", "cid": "x", "body": "bad \\ud800 text"}'),
    ("body", '{"type": "send", "conv": "ab", "cid": "x", "body": "\\udfff"}'),
    ("token", '{"type": "auth", "user": "alice", "token": "t\\ud800k"}'),
])
def test_lone_surrogates_are_bad_frames_at_the_edge(field, frame):
    with pytest.raises(P.FrameError) as exc:
        P.decode(frame)
    assert exc.value.code == P.BAD_FRAME and field in exc.value.reason
    # a proper pair (an emoji written as two escapes) is valid text
    ok = P.decode('{"type": "send", "conv": "ab", "cid": "x", "body": "\\ud83d\\ude00"}')
    assert ok["body"] == "\U0001F600"


def test_a_surrogate_token_is_refused_without_an_internal_error(system):
    _, gw, _ = system
    conn = gw.open(0.0)
    outs = gw.on_frame(conn, '{"type": "auth", "user": "alice", "token": "\\ud800"}', 0.0)
    assert outs[0][2]["code"] == P.BAD_FRAME


def test_one_unstorable_message_does_not_fail_the_rest_of_its_batch(system):
    store, gw, logic = system
    a, b = login(gw, logic, "alice"), login(gw, logic, "bob")
    sa, sb = gw.session(a), gw.session(b)
    # This one bypasses the gateway's check (as a bug elsewhere might): SQLite cannot encode it.
    batch = [(sa, {"type": "send", "conv": "ab", "cid": "a1", "body": "honest 1"}),
             (sb, {"type": "send", "conv": "ab", "cid": "bad", "body": "\ud800"}),
             (sa, {"type": "send", "conv": "ab", "cid": "a2", "body": "honest 2"}),
             (sa, {"type": "sync", "conv": "ab", "since": 0})]
    outs = logic.on_requests(batch, 1.0)
    to_a, to_b = sent_to(outs, a), sent_to(outs, b)
    assert [f["type"] for f in to_a] == ["ack", "ack", "sync_ok"]
    errors = [f for f in to_b if f["type"] == "error"]
    assert len(errors) == 1 and errors[0]["cid"] == "bad"
    assert errors[0]["code"] != P.UNAVAILABLE  # retrying cannot help: the client must not be told to
    assert [r[3] for r in store.messages_since("ab")] == ["honest 1", "honest 2"]
    assert_every_msg_is_stored(store, outs)


# -- defect 4: replies larger than a client can take --------------------------------------
def test_sync_replies_are_capped_in_bytes_and_paginated(system):
    store, gw, logic = system
    a, b = login(gw, logic, "alice"), login(gw, logic, "bob")
    body = "\x01" * P.MAX_BODY_BYTES  # the worst case: every byte escaped as \u0001 in JSON
    n = 300
    store.append_many([("ab", "alice", f"c{i}", body, 1.0) for i in range(n)])
    got, since, pages = [], 0, 0
    while True:
        outs = run(gw, logic, b, {"type": "sync", "conv": "ab", "since": since, "limit": P.MAX_SYNC_LIMIT})
        (page,) = sent_to(outs, b)
        assert len(P.encode(page).encode()) <= P.MAX_SERVER_FRAME_BYTES
        got += [m["seq"] for m in page["messages"]]
        pages += 1
        if not page["more"]:
            break
        since = page["messages"][-1]["seq"]
    assert got == list(range(1, n + 1)) and pages > 1
    # a sync of everything stays within the cap too, in total
    outs = run(gw, logic, b, {"type": "sync", "since": {}})
    assert sum(len(P.encode(f).encode()) for f in sent_to(outs, b)) <= P.MAX_SERVER_FRAME_BYTES


# -- defect 5: auth_ok first ----------------------------------------------------------------
def test_auth_ok_is_the_first_frame_a_connection_gets(system):
    store, gw, logic = system
    b = login(gw, logic, "bob")
    a = gw.open(1.0)
    reqs = []
    # bob's send reaches the logic queue before alice's auth; both run in one batch
    reqs += [(o[1], o[2]) for o in gw.on_frame(b, {"type": "send", "conv": "ab", "cid": "b1", "body": "hi"}, 1.0)
             if o[0] == "logic"]
    reqs += [(o[1], o[2]) for o in gw.on_frame(a, {"type": "auth", "user": "alice", "token": "tok-alice"}, 1.0)
             if o[0] == "logic"]
    outs = logic.on_requests(reqs, 1.0)
    to_a = sent_to(outs, a)
    assert to_a and to_a[0]["type"] == "auth_ok", [f["type"] for f in to_a]
    assert to_a[0]["convs"]["ab"]["last_seq"] == 1  # what came before auth_ok is counted in it
    outs = run(gw, logic, b, {"type": "send", "conv": "ab", "cid": "b2", "body": "again"}, 2.0)
    assert [f["seq"] for f in sent_to(outs, a)] == [2]  # and what comes after is pushed


# -- defect 6: ping before auth --------------------------------------------------------------
def test_ping_before_auth_is_refused_like_any_frame_before_auth(system):
    _, gw, _ = system
    conn = gw.open(0.0)
    outs = gw.on_frame(conn, '{"type": "ping"}', 0.0)
    assert [o[2].get("code") for o in outs] == [P.UNAUTHENTICATED]


# -- the rules: rate limits, revocation, history -------------------------------------------
def test_sends_are_rate_limited_per_user_with_retry_after(system):
    store, gw, logic = system
    a = login(gw, logic, "alice", "phone")
    a2 = login(gw, logic, "alice", "laptop")
    burst = gw.send_limit.burst
    refused = []
    for i in range(burst + 20):
        conn = a if i % 2 else a2  # the limit is per user, over all devices
        for o in gw.on_frame(conn, {"type": "send", "conv": "ab", "cid": f"c{i}", "body": "x"}, 5.0):
            if o[0] == "send" and o[2]["type"] == "error":
                refused.append(o[2])
    assert len(refused) == 20
    assert all(e["code"] == P.RATE_LIMITED and e["retry_after_ms"] > 0 and "cid" in e for e in refused)
    # after retry_after_ms, a send goes through again
    later = 5.0 + refused[-1]["retry_after_ms"] / 1000
    outs = gw.on_frame(a, {"type": "send", "conv": "ab", "cid": "late", "body": "x"}, later)
    assert [o[0] for o in outs] == ["logic"]


def test_auth_attempts_are_rate_limited_per_user(system):
    _, gw, _ = system
    codes = []
    for i in range(gw.auth_limit.burst + 3):
        conn = gw.open(1.0)
        outs = gw.on_frame(conn, {"type": "auth", "user": "alice", "token": f"guess-{i}"}, 1.0)
        codes.append(outs[0][2]["code"])
    assert codes[: gw.auth_limit.burst] == [P.AUTH_FAILED] * gw.auth_limit.burst
    assert codes[-3:] == [P.RATE_LIMITED] * 3
    conn = gw.open(1.0)  # even the right token waits: the limit is checked before the token
    err = gw.on_frame(conn, {"type": "auth", "user": "alice", "token": "tok-alice"}, 1.0)[0][2]
    assert err["code"] == P.RATE_LIMITED and err["retry_after_ms"] > 0


def test_revoking_a_token_closes_the_sessions_that_used_it(system):
    store, gw, logic = system
    a = login(gw, logic, "alice")
    b = login(gw, logic, "bob")
    store.revoke_tokens("alice")
    closed = []
    t = 1.0
    while t < 6.0:
        closed += [o for o in gw.on_timer(t) if o[0] == "close"]
        t += 0.5
    assert [(o[1], o[2]) for o in closed] == [(a, P.CLOSE_AUTH)]
    assert not gw.registry.online("alice") and gw.registry.online("bob")
    assert gw.session(b) is not None


def test_history_pages_backwards(system):
    store, gw, logic = system
    a = login(gw, logic, "alice")
    store.append_many([("ab", "bob", f"c{i}", f"m{i + 1}", 1.0) for i in range(25)])
    outs = run(gw, logic, a, {"type": "history", "conv": "ab", "limit": 10})
    (page,) = sent_to(outs, a)
    assert page["type"] == "history_ok" and [m["seq"] for m in page["messages"]] == list(range(16, 26))
    assert page["more"]
    outs = run(gw, logic, a, {"type": "history", "conv": "ab", "before": 16, "limit": 10})
    assert [m["seq"] for m in sent_to(outs, a)[0]["messages"]] == list(range(6, 16))
    outs = run(gw, logic, a, {"type": "history", "conv": "ab", "before": 6, "limit": 10})
    last = sent_to(outs, a)[0]
    assert [m["seq"] for m in last["messages"]] == [1, 2, 3, 4, 5] and not last["more"]
    c = login(gw, logic, "carol")
    outs = run(gw, logic, c, {"type": "history", "conv": "ab"})
    assert [f["code"] for f in sent_to(outs, c)] == [P.NOT_MEMBER]


def test_close_outputs_carry_documented_codes(system):
    _, gw, logic = system
    old = login(gw, logic, "alice")
    new = gw.open(2.0)
    outs = gw.on_frame(new, {"type": "auth", "user": "alice", "token": "tok-alice", "device": "phone"}, 2.0)
    assert ("close", old, P.CLOSE_REPLACED) in [o[:3] for o in outs]
    bad = gw.open(2.0)
    outs = gw.on_frame(bad, json.dumps({"type": "auth", "user": "bob", "token": "nope"}), 2.0)
    assert ("close", bad, P.CLOSE_AUTH) in [o[:3] for o in outs]


def test_revoking_one_token_closes_only_the_sessions_on_that_token(system):
    store, gw, logic = system
    second = store.new_token("alice")
    phone = login(gw, logic, "alice", "phone")  # on tok-alice
    laptop = gw.open(0.0)
    outs = gw.on_frame(laptop, {"type": "auth", "user": "alice", "token": second, "device": "laptop"}, 0.0)
    logic.on_requests([(o[1], o[2]) for o in outs if o[0] == "logic"], 0.0)
    assert store.revoke_tokens("alice", second) == 1
    closed = []
    for t in (1.0, 2.0, 3.0, 4.0, 5.0):
        closed += [o for o in gw.on_timer(t) if o[0] == "close"]
    assert [(o[1], o[2], o[3]) for o in closed] == [(laptop, P.CLOSE_AUTH, "token revoked")]
    assert gw.registry.get("alice") == {"phone": phone}
