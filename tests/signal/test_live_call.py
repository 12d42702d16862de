"""Real calls: two aiortc peers set up through the live IM server (a child process), media on 127.0.0.1."""

import asyncio
import json

import pytest

from rtlib.im.live import ServerProcess, setup_db
from rtlib.signal.peer import CallPeer, setup_breakdown_ms

CONV = "alice-bob"
OFFLINE = "alice-bob-2"  # a conversation of its own: no recent call in its history


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("call") / "chat.sqlite"
    tokens = setup_db(db, users=("alice", "bob", "carol"), conversations={CONV: ("alice", "bob"), OFFLINE: ("alice", "bob")})
    with ServerProcess(db) as srv:
        yield srv.url, tokens


def peers(server, **kw_b):
    url, tok = server
    a = CallPeer(url, "alice", tok["alice"], "bob", CONV, device="pc")
    b = CallPeer(url, "bob", tok["bob"], "alice", CONV, device=kw_b.pop("device", "phone"), **kw_b)
    return a, b


def call_kinds(peer):
    """The call bodies ``peer`` received for its current call, in order."""
    return [e["body"]["call"] for e in peer.log if e["dir"] == "in" and e["body"]["id"] == peer.machine.call_id]


@pytest.mark.timeout(60)
def test_media_flows_both_ways_and_hangup_ends_both(server):
    async def main():
        a, b = peers(server, auto_answer=True)
        async with a, b:
            call_id = await a.call()
            await a.wait_state("in_call")
            await b.wait_state("in_call")
            await a.wait_frames(video=10, audio=20)
            await b.wait_frames(video=10, audio=20)
            sa, sb = await a.stats(), await b.stats()
            parts = setup_breakdown_ms(a.t, a.machine.marks)
            await a.hangup()
            await b.wait_state("ended", timeout_s=10)
            return call_id, a, b, sa, sb, parts

    call_id, a, b, sa, sb, parts = asyncio.run(main())
    assert a.machine.call_id == b.machine.call_id == call_id
    assert a.frames["video"] >= 10 and b.frames["video"] >= 10  # decoded on each side
    for s in (sa, sb):
        assert s["video"]["packetsReceived"] > 0 and s["audio"]["packetsReceived"] > 0
    assert a.machine.reason == "hangup" and b.machine.reason == "remote_hangup"
    assert a.pc is None and b.pc is None  # media closed on both sides
    assert call_kinds(b) == ["offer", "ring", "accept", "answer", "hangup"]
    assert all(v is not None and v >= 0 for v in parts.values()), parts
    assert parts["total_ms"] >= parts["signalling_ms"] + parts["ice_ms"]
    assert a.errors == [] and b.errors == []


@pytest.mark.timeout(60)
def test_glare_both_call_at_once_and_end_up_in_one_call(server):
    async def main():
        a, b = peers(server)
        async with a, b:
            ids = await asyncio.gather(a.call(), b.call())
            await a.wait_state("in_call")
            await b.wait_state("in_call")
            await a.wait_frames(video=3)
            await b.wait_frames(video=3)
            return ids, a, b

    (id_a, id_b), a, b = asyncio.run(main())
    kept = min(id_a, id_b)
    assert a.machine.call_id == b.machine.call_id == kept
    loser = a if id_a > id_b else b
    sent = [e["body"] for e in loser.log if e["dir"] == "out"]
    assert {"call": "hangup", "id": max(id_a, id_b), "device": loser.device, "reason": "glare"} in sent


@pytest.mark.timeout(60)
def test_callee_offline_the_caller_gives_up_and_the_callee_later_sees_a_missed_call(server):
    url, tok = server

    async def main():
        a = CallPeer(url, "alice", tok["alice"], "bob", OFFLINE, device="pc", ring_timeout_s=1.5)
        async with a:
            call_id = await a.call()
            await a.wait_state("ended", timeout_s=10)
        await asyncio.sleep(0.3)
        b = CallPeer(url, "bob", tok["bob"], "alice", OFFLINE, device="tablet", auto_answer=True,
                     ring_timeout_s=1.5)
        async with b:  # comes online after the ring timeout: pulls the stored offer and hangup
            await b.im.wait_for(lambda c: any(call_id in m["body"] for m in c.messages), timeout_s=10)
            await asyncio.sleep(0.5)
        return call_id, a, b

    call_id, a, b = asyncio.run(main())
    assert a.machine.reason == "no_answer" and "remote_ringing" not in a.t
    assert b.missed == [call_id]
    assert not b.ringing.is_set() and b.pc is None and b.machine.state != "in_call"
    assert not [e for e in b.log if e["dir"] == "out"]  # it never rang: it sent nothing
    assert [e["body"]["reason"] for e in a.log if e["dir"] == "out" and e["body"]["call"] == "hangup"] == ["timeout"]


@pytest.mark.timeout(60)
def test_two_callee_devices_ring_and_the_one_that_answers_gets_the_call(server):
    url, tok = server

    async def main():
        a = CallPeer(url, "alice", tok["alice"], "bob", CONV, device="pc")
        phone = CallPeer(url, "bob", tok["bob"], "alice", CONV, device="phone2")
        laptop = CallPeer(url, "bob", tok["bob"], "alice", CONV, device="laptop")
        async with a, phone, laptop:
            await a.call()
            await asyncio.wait_for(asyncio.gather(phone.ringing.wait(), laptop.ringing.wait()), 10)
            await laptop.answer()
            await a.wait_state("in_call")
            await phone.wait_state("ended")
            await a.wait_frames(video=3)
            await laptop.wait_frames(video=3)
            assert laptop.state == "in_call"
            rang = {e["body"]["device"] for e in a.log if e["body"]["call"] == "ring" and e["body"]["id"] == a.machine.call_id}
            return a, phone, laptop, rang

    a, phone, laptop, rang = asyncio.run(main())
    assert rang == {"phone2", "laptop"}
    assert a.machine.remote_device == "laptop" and laptop.machine.reason == "hangup"
    assert phone.machine.reason == "answered_elsewhere" and phone.pc is None
