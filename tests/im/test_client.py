import pytest
from hypothesis import given, settings, strategies as st

from rtlib.im.client import Client


def opened(**kw):
    c = Client("alice", "tok", "phone", **kw)
    c.connect(0.0)
    assert c.take_frames()[0]["type"] == "auth"
    c.on_frame({"type": "auth_ok", "user": "alice", "device": "phone", "convs": {}}, 0.0)
    c.take_events()
    return c


def msg(seq, conv="ab", sender="bob", cid=None):
    return {"type": "msg", "conv": conv, "seq": seq, "sender": sender, "cid": cid or f"b-{seq}", "body": f"m{seq}",
            "ts": 0.0}


def released(c):
    return [e[1]["seq"] for e in c.take_events() if e[0] == "message"]


def test_send_gives_unique_cids_and_frames():
    c = opened()
    cids = [c.send("ab", f"x{i}", 0.0) for i in range(3)]
    assert len(set(cids)) == 3
    assert [f["cid"] for f in c.take_frames()] == cids


def test_retry_schedule_backs_off_and_caps():
    c = opened(ack_timeout_s=1.0, backoff=2.0, max_backoff_s=4.0, heartbeat_s=1000)
    cid = c.send("ab", "x", 0.0)
    c.take_frames()
    times = []
    t = 0.0
    while len(times) < 5:
        t = c.next_deadline()
        c.on_timer(t)
        if any(f.get("cid") == cid for f in c.take_frames()):
            times.append(t)
    assert times == [1.0, 3.0, 7.0, 11.0, 15.0]  # waits 1, 2, 4, 4, 4 s
    c.on_frame({"type": "ack", "cid": cid, "conv": "ab", "seq": 1, "ts": 0.0}, 15.5)
    assert c.pending == {} and c.stats["acked"] == 1


def test_without_retries_a_lost_message_fails_visibly():
    c = opened(retries=False)
    cid = c.send("ab", "x", 0.0)
    c.take_frames()
    c.on_timer(c.next_deadline())
    assert c.take_frames() == []
    assert ("failed", cid, "ab", "no ack") in c.take_events()


def test_max_attempts():
    c = opened(max_attempts=2, heartbeat_s=1000)
    cid = c.send("ab", "x", 0.0)
    c.on_timer(1.0)
    c.on_timer(3.0)
    assert c.stats["failed"] == 1 and cid not in c.pending


def test_ack_releases_own_message_in_order_and_late_ack_is_ignored():
    c = opened()
    cid = c.send("ab", "mine", 0.0)
    c.on_frame(msg(1), 0.1)
    c.on_frame({"type": "ack", "cid": cid, "conv": "ab", "seq": 2, "ts": 0.1}, 0.2)
    ev = c.take_events()
    assert [e[0] for e in ev] == ["message", "acked", "message"]
    assert ev[2][1]["own"] and ev[2][1]["body"] == "mine" and c.cursor["ab"] == 2
    c.on_frame({"type": "ack", "cid": cid, "conv": "ab", "seq": 2, "ts": 0.1}, 0.3)
    assert c.take_events() == []


def test_duplicates_are_dropped_and_gaps_held_then_pulled():
    c = opened(gap_wait_s=0.1)
    c.on_frames([msg(1), msg(1), msg(3), msg(3)], 1.0)
    assert released(c) == [1]
    assert c.stats["duplicates_dropped"] == 2
    assert c.next_deadline() == pytest.approx(1.1)
    c.on_timer(1.1)
    assert c.take_frames() == [{"type": "sync", "conv": "ab", "since": 1}]
    assert c.stats["pulls"] == 1
    c.on_frame({"type": "sync_ok", "conv": "ab", "since": 1, "messages": [
        {k: v for k, v in msg(s).items() if k not in ("type", "conv")} for s in (2, 3)], "last_seq": 3,
        "more": False}, 1.2)
    assert released(c) == [2, 3]


def test_switches_show_the_faults():
    c = opened(dedupe=False, in_order=False, pull=False)
    c.on_frames([msg(1), msg(3), msg(2), msg(2)], 0.0)
    assert released(c) == [1, 3, 2, 2]
    assert c.take_frames() == []


def test_reconnect_resends_pending_and_pulls_what_it_missed():
    c = opened()
    c.on_frame(msg(1), 0.0)
    cid = c.send("ab", "offline words", 0.5)
    c.disconnected(0.6)
    c.send("ab", "more", 0.7)
    assert c.take_frames() == []
    c.connect(5.0)
    c.on_frame({"type": "auth_ok", "convs": {"ab": {"last_seq": 4, "read_seq": 1}, "g": {"last_seq": 0}}}, 5.1)
    frames = c.take_frames()
    assert frames[0]["type"] == "auth"
    assert frames[1] == {"type": "sync", "conv": "ab", "since": 1}
    assert c.stats["pulls"] == 1  # only "ab" has news
    assert [f["body"] for f in frames[2:]] == ["offline words", "more"] and frames[2]["cid"] == cid
    assert c.read_seq["ab"] == 1


def test_heartbeat_is_a_pull_or_a_ping():
    c = opened(heartbeat_s=30)
    c.on_frame(msg(1), 0.0)
    c.on_timer(30.0)
    assert c.take_frames() == [{"type": "sync", "since": {"ab": 1}}]
    assert c.stats["pulls"] == 1
    c2 = opened(heartbeat_s=30, pull=False)
    c2.on_timer(30.0)
    assert c2.take_frames() == [{"type": "ping"}]
    assert c2.stats["pulls"] == 0


def test_errors_for_pending_messages():
    c = opened(heartbeat_s=1000)
    bad = c.send("secret", "x", 0.0)
    ok = c.send("ab", "y", 0.0)
    c.take_frames()
    c.on_frame({"type": "error", "code": "not_member", "reason": "no", "cid": bad}, 0.1)
    c.on_frame({"type": "error", "code": "unavailable", "reason": "retry", "cid": ok}, 0.1)
    assert ("failed", bad, "secret", "not_member") in c.take_events()
    assert [f["cid"] for f in c.take_frames()] == [ok]  # retried at once
    c.on_frame({"type": "error", "code": "bad_json", "reason": "?"}, 0.2)
    assert c.take_events() == [("error", "bad_json", "?")]


def test_read_watermark():
    c = opened()
    c.read("ab", 3, 0.0)
    c.read("ab", 2, 0.0)
    assert c.take_frames() == [{"type": "read", "conv": "ab", "seq": 3}]
    c.on_frame({"type": "read", "conv": "ab", "user": "alice", "seq": 5}, 0.1)
    assert c.read_seq["ab"] == 5


def test_bad_settings():
    with pytest.raises(ValueError, match="ack_timeout_s"):
        Client("a", "t", ack_timeout_s=0)
    with pytest.raises(ValueError, match="backoff"):
        Client("a", "t", backoff=0.5)
    with pytest.raises(ValueError, match="max_attempts"):
        Client("a", "t", max_attempts=-1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.integers(1, n), max_size=3 * n).map(lambda extra: list(range(1, n + 1)) + extra),
    st.randoms())))
def test_any_arrival_order_with_duplicates_releases_each_once_in_order(case):
    n, arrivals, rnd = case
    rnd.shuffle(arrivals)
    c = opened(pull=False)
    for s in arrivals:
        c.on_frame(msg(s), 0.0)
    assert released(c) == list(range(1, n + 1))
    assert c.cursor["ab"] == n


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(1, 40), min_size=1, max_size=80))
def test_wake_s_is_never_later_than_next_deadline(seqs):
    c = opened(heartbeat_s=5, gap_wait_s=0.05)
    t = 0.0
    for i, s in enumerate(seqs):
        t += 0.01
        if i % 3 == 0:
            c.send("ab", "x", t)
        c.on_frame(msg(s), t)
        d = c.next_deadline()
        assert d is None or c.wake_s <= d
        if i % 7 == 0 and d is not None:
            c.on_timer(d)
            d = c.next_deadline()
            assert d is None or c.wake_s <= d


def test_a_rate_limited_send_is_resent_after_retry_after_not_before():
    c = opened(ack_timeout_s=1.0, heartbeat_s=1000)
    cid = c.send("ab", "x", 0.0)
    c.take_frames()
    c.on_frame({"type": "error", "code": "rate_limited", "reason": "slow down", "retry_after_ms": 250,
                "cid": cid, "conv": "ab"}, 0.1)
    assert c.pending and not c.take_frames()
    assert c.next_deadline() == pytest.approx(0.35)
    c.on_timer(0.3)
    assert not [f for f in c.take_frames() if f.get("cid") == cid]  # not before retry_after
    c.on_timer(0.35)
    assert [f["cid"] for f in c.take_frames() if f.get("cid") == cid] == [cid]
    assert not [e for e in c.take_events() if e[0] == "failed"]


def test_final_refusals_fail_at_once_and_retry_refusals_resend_at_once():
    c = opened(heartbeat_s=1000)
    for code in ("conflict", "internal_error", "not_member", "bad_frame", "too_large"):
        cid = c.send("ab", "x", 0.0)
        c.take_frames()
        c.on_frame({"type": "error", "code": code, "reason": "", "cid": cid, "conv": "ab"}, 0.1)
        assert cid not in c.pending
        assert ("failed", cid, "ab", code) in c.take_events()
    cid = c.send("ab", "y", 0.0)
    c.take_frames()
    c.on_frame({"type": "error", "code": "unavailable", "reason": "", "cid": cid, "conv": "ab"}, 0.1)
    assert [f["cid"] for f in c.take_frames()] == [cid]


def test_an_empty_page_with_more_asks_for_that_conversation_from_the_cursor():
    c = opened(heartbeat_s=1000)
    c.on_frames([msg(1), msg(2)], 0.0)
    c.take_frames()
    c.on_frame({"type": "sync_ok", "conv": "ab", "since": 0, "messages": [], "last_seq": 9, "more": True}, 0.1)
    assert c.take_frames() == [{"type": "sync", "conv": "ab", "since": 2}]


def test_history_pages_come_as_events_and_leave_the_cursor_alone():
    c = opened(heartbeat_s=1000)
    c.history("ab", 0.0, before=10, limit=3)
    assert c.take_frames() == [{"type": "history", "conv": "ab", "limit": 3, "before": 10}]
    page = [{"seq": s, "sender": "bob", "cid": f"b-{s}", "body": "", "ts": 0.0} for s in (7, 8, 9)]
    c.on_frame({"type": "history_ok", "conv": "ab", "before": 10, "messages": page, "more": True}, 0.1)
    assert c.take_events() == [("history", "ab", page, True)]
    assert c.cursor.get("ab", 0) == 0


def test_a_rate_limited_auth_is_sent_again_after_retry_after():
    c = Client("alice", "tok", "phone", ack_timeout_s=0.5)
    c.connect(0.0)
    c.take_frames()
    c.on_frame({"type": "error", "code": "rate_limited", "reason": "", "retry_after_ms": 2000}, 0.1)
    c.on_timer(1.0)
    assert not c.take_frames()
    c.on_timer(2.1)
    assert [f["type"] for f in c.take_frames()] == ["auth"]
