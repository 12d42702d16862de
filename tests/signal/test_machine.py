"""The sans-IO call state machine, driven through an in-memory conversation (one order for everyone)."""

import json

import pytest

from rtlib.signal.body import make_body
from rtlib.signal.machine import CONNECTING, ENDED, IDLE, IN_CALL, RINGING, CallMachine

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=candidate:1 1 udp 1 127.0.0.1 5000 typ host\r\n"


class Conversation:
    """Every message is stored in one order and delivered to every device (the sender's echo too)."""

    def __init__(self, *devices):
        self.devices = list(devices)
        self.log: list[tuple[str, str, dict]] = []  # (user, device, body)
        self.actions = {id(m): [] for m in devices}

    def pump(self, now_s, deliver_to=None):
        """Move every pending send into the conversation and deliver it, until quiet."""
        deliver_to = self.devices if deliver_to is None else deliver_to
        moved = True
        while moved:
            moved = False
            for m in self.devices:
                for a in m.take_actions():
                    self.actions[id(m)].append(a)
                    if a[0] == "send":
                        body = json.loads(a[1])
                        self.log.append((m.user, m.device, body))
                        for d in deliver_to:
                            d.on_message(m.user, a[1], now_s, now_s)
                        moved = True

    def kinds(self):
        return [b["call"] for _, _, b in self.log]

    def did(self, m, name):
        return [a for a in self.actions[id(m)] if a[0] == name]


def test_a_call_goes_idle_ringing_connecting_in_call_ended():
    a, b = CallMachine("alice", "pc", "bob"), CallMachine("bob", "phone", "alice")
    conv = Conversation(a, b)
    assert a.state == b.state == IDLE
    cid = a.call(SDP, 100.0)
    conv.pump(100.0)
    assert a.state == RINGING and b.state == RINGING and b.direction == "in"
    assert conv.did(b, "ring") == [("ring", cid, SDP, False)]
    assert conv.did(a, "remote_ringing")
    b.accept(SDP, 101.0)
    conv.pump(101.0)
    assert a.state == b.state == CONNECTING and a.remote_device == "phone"
    assert conv.did(a, "remote_sdp") == [("remote_sdp", "answer", SDP)]
    a.media_connected(101.5)
    b.media_connected(101.5)
    assert a.state == b.state == IN_CALL
    a.hangup(110.0)
    conv.pump(110.0)
    assert a.state == b.state == ENDED and b.reason == "remote_hangup" and a.reason == "hangup"
    assert conv.kinds() == ["offer", "ring", "accept", "answer", "hangup"]


def test_nobody_answers_the_caller_times_out_from_the_offer_server_time():
    a, b = CallMachine("alice", "pc", "bob", ring_timeout_s=30), CallMachine("bob", "phone", "alice",
                                                                          ring_timeout_s=30)
    conv = Conversation(a, b)
    a.call(SDP, 100.0)
    conv.pump(100.0)
    assert a.next_deadline() == pytest.approx(130.0)
    a.on_timer(129.9)
    assert a.state == RINGING
    a.on_timer(130.0)
    conv.pump(130.0)
    assert a.state == ENDED and a.reason == "no_answer"
    assert b.state == ENDED and b.reason == "missed" and b.missed == [a.call_id]
    assert conv.log[-1][2]["reason"] == "timeout"


def test_an_offer_pulled_after_the_ring_timeout_is_a_missed_call_and_never_rings():
    """The callee was offline: it syncs the stored offer 31 s later."""
    b = CallMachine("bob", "phone", "alice", ring_timeout_s=30)
    b.on_message("alice", make_body("offer", "late1", device="pc", sdp=SDP), ts=100.0, now_s=131.0)
    acts = b.take_actions()
    assert acts == [("missed", "late1")] and b.state == IDLE
    # the same offer pulled 29 s after it was stored still rings
    b2 = CallMachine("bob", "phone", "alice", ring_timeout_s=30)
    b2.on_message("alice", make_body("offer", "late1", device="pc", sdp=SDP), ts=100.0, now_s=129.0)
    assert [a[0] for a in b2.take_actions()] == ["send", "ring"] and b2.state == RINGING
    assert b2.next_deadline() == pytest.approx(130.0)  # rings only for what is left of the 30 s


def _alice_calls_bobs_two_devices():
    a = CallMachine("alice", "pc", "bob")
    phone, laptop = CallMachine("bob", "phone", "alice"), CallMachine("bob", "laptop", "alice")
    conv = Conversation(a, phone, laptop)
    a.call(SDP, 10.0)
    conv.pump(10.0)
    return a, phone, laptop, conv


def test_two_callee_devices_both_ring_and_the_first_accept_wins():
    a, phone, laptop, conv = _alice_calls_bobs_two_devices()
    assert phone.state == laptop.state == RINGING
    assert len(conv.did(a, "remote_ringing")) == 2
    laptop.accept(SDP, 12.0)
    conv.pump(12.0)
    assert laptop.state == CONNECTING and a.remote_device == "laptop"
    assert phone.state == ENDED and phone.reason == "answered_elsewhere"
    assert ("stop_ring", a.call_id, "answered_elsewhere") in conv.did(phone, "stop_ring")


def test_two_devices_accepting_at_once_the_one_stored_first_wins():
    a, phone, laptop, conv = _alice_calls_bobs_two_devices()
    phone.accept(SDP, 12.0)   # both accept before either sees the other's accept
    laptop.accept(SDP, 12.0)
    conv.pump(12.0)
    assert a.remote_device == "phone" and a.state == CONNECTING
    assert conv.did(a, "remote_sdp") == [("remote_sdp", "answer", SDP)]  # only the winner's answer
    assert phone.state == CONNECTING
    assert laptop.state == ENDED and laptop.reason == "answered_elsewhere"


@pytest.mark.parametrize("alice_id, bob_id, keeper", [("aaaa", "bbbb", "alice"), ("cccc", "bbbb", "bob")])
def test_glare_keeps_the_lower_call_id_and_the_other_caller_answers_it(alice_id, bob_id, keeper):
    a, b = CallMachine("alice", "pc", "bob"), CallMachine("bob", "phone", "alice")
    conv = Conversation(a, b)
    a.call(SDP, 5.0, call_id=alice_id)
    b.call(SDP, 5.0, call_id=bob_id)
    conv.pump(5.0)
    winner, loser = (a, b) if keeper == "alice" else (b, a)
    assert winner.direction == "out" and winner.state == RINGING
    assert loser.direction == "in" and loser.call_id == winner.call_id
    assert conv.did(loser, "glare_lost") and not conv.did(winner, "glare_lost")
    rings = conv.did(loser, "ring")
    assert rings and rings[-1][3] is True  # answered at once: both wanted the call
    loser.accept(SDP, 6.0)
    conv.pump(6.0)
    assert a.state == b.state == CONNECTING and a.call_id == b.call_id == winner.call_id


def test_reject_ends_both_and_a_busy_callee_rejects_a_second_call():
    a, b = CallMachine("alice", "pc", "bob"), CallMachine("bob", "phone", "alice")
    conv = Conversation(a, b)
    a.call(SDP, 1.0)
    conv.pump(1.0)
    b.reject(2.0)
    conv.pump(2.0)
    assert a.state == ENDED and a.reason == "declined" and b.reason == "declined"
    # in a call, a new offer is answered "busy" and does not disturb the call
    a.call(SDP, 3.0)
    conv.pump(3.0)
    b.accept(SDP, 3.1)
    conv.pump(3.1)
    b.media_connected(3.2)
    b.on_message("alice", make_body("offer", "second", device="tablet", sdp=SDP), 4.0, 4.0)
    out = b.take_actions()
    assert b.state == IN_CALL and len(out) == 1 and json.loads(out[0][1])["reason"] == "busy"


def test_connect_timeout_hangs_up_as_failed():
    a, b = CallMachine("alice", "pc", "bob", connect_timeout_s=5), CallMachine("bob", "phone", "alice")
    conv = Conversation(a, b)
    a.call(SDP, 0.0)
    conv.pump(0.0)
    b.accept(SDP, 1.0)
    conv.pump(1.0)
    a.on_timer(6.0)
    conv.pump(6.0)
    assert a.state == ENDED and a.reason == "failed" and b.reason == "remote_hangup"


def test_a_callee_may_not_send_an_offer_for_the_callers_call_and_bad_bodies_are_reported():
    a = CallMachine("alice", "pc", "bob")
    cid = a.call(SDP, 0.0)
    a.take_actions()
    a.on_message("bob", '{"call": "answer", "id": "%s", "device": "x"}' % cid, 0.1, 0.1)
    a.on_message("bob", make_body("hangup", cid, device="phone", reason="hangup").replace('"hangup"}', '"hangup"'),
                 0.1, 0.1)  # chat text now (not JSON): ignored
    a.on_message("mallory", make_body("hangup", cid, device="m", reason="hangup"), 0.1, 0.1)
    out = a.take_actions()
    assert [x[0] for x in out] == ["bad_body", "bad_body"] and a.state == RINGING


def test_repeated_messages_are_handled_once():
    a, b = CallMachine("alice", "pc", "bob"), CallMachine("bob", "phone", "alice")
    body = make_body("offer", "dup", device="pc", sdp=SDP)
    b.on_message("alice", body, 1.0, 1.0)
    b.on_message("alice", body, 1.0, 1.0)  # at-least-once delivery: the same msg again
    assert [x[0] for x in b.take_actions()] == ["send", "ring"]


@pytest.mark.parametrize("kw, msg", [
    ({"user": "a", "device": "d", "peer": "a"}, "two different"),
    ({"user": "a", "device": "", "peer": "b"}, "device"),
    ({"user": "a", "device": "d", "peer": "b", "ring_timeout_s": 0}, "ring_timeout_s"),
    ({"user": "a", "device": "d", "peer": "b", "connect_timeout_s": float("nan")}, "connect_timeout_s"),
])
def test_bad_parameters_raise_value_error_naming_them(kw, msg):
    with pytest.raises(ValueError, match=msg):
        CallMachine(**kw)


def test_calling_twice_or_accepting_nothing_is_an_error():
    a = CallMachine("alice", "pc", "bob")
    with pytest.raises(RuntimeError, match="nothing to accept"):
        a.accept(SDP, 0.0)
    a.call(SDP, 0.0)
    with pytest.raises(RuntimeError, match="cannot place a call"):
        a.call(SDP, 0.0)


def test_an_old_call_taken_on_another_device_is_not_missed_when_pulled_late():
    b = CallMachine("bob", "tablet", "alice", ring_timeout_s=30)
    b.on_message("alice", make_body("offer", "old", device="pc", sdp=SDP), ts=100.0, now_s=500.0)
    b.on_message("bob", make_body("accept", "old", device="phone"), ts=101.0, now_s=500.0)
    assert b.missed == [] and b.take_actions() == [("missed", "old"), ("not_missed", "old")]
    b.on_message("alice", make_body("offer", "old2", device="pc", sdp=SDP), ts=200.0, now_s=500.0)
    b.on_message("alice", make_body("hangup", "old2", device="pc", reason="timeout"), ts=230.0, now_s=500.0)
    assert b.missed == ["old2"] and b.state == IDLE
