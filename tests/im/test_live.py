"""The live server as a real child process on 127.0.0.1: auth, membership, bad frames,
and kill -9 recovery (every acked message delivered exactly once, in order)."""

import asyncio
import json
import sqlite3

import pytest

from rtlib.im import protocol as P
from rtlib.im.live import IMClient, ServerProcess, setup_db

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
def world(tmp_path):
    db = tmp_path / "chat.sqlite"
    tokens = setup_db(db, ["alice", "bob", "carol"], {"ab": ("alice", "bob"), "all": ("alice", "bob", "carol")})
    srv = ServerProcess(db, log_path=tmp_path / "server.log")
    srv.start()
    yield srv, tokens, db
    srv.stop()


async def raw_session(url):
    from websockets.asyncio.client import connect

    return await connect(url, max_size=None, compression=None, open_timeout=5)


async def recv(ws, timeout_s=5.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout_s))


async def auth(ws, user, token, device="raw"):
    await ws.send(json.dumps({"type": "auth", "user": user, "token": token, "device": device}))
    return await recv(ws)


def test_auth_with_the_right_token_only(world):
    srv, tokens, _ = world

    async def main():
        ws = await raw_session(srv.url)
        ok = await auth(ws, "alice", tokens["alice"])
        assert ok["type"] == "auth_ok" and set(ok["convs"]) == {"ab", "all"}
        await ws.close()
        for user, token in (("alice", tokens["bob"]), ("mallory", tokens["alice"]), ("alice", "x" * 32)):
            ws = await raw_session(srv.url)
            err = await auth(ws, user, token)
            assert err["type"] == "error" and err["code"] == P.AUTH_FAILED
            await asyncio.wait_for(ws.wait_closed(), 5)
            assert ws.close_code == 1008

    asyncio.run(main())


def test_membership_is_enforced(world):
    srv, tokens, db = world

    async def main():
        async with IMClient(srv.url, "bob", tokens["bob"]) as bob:
            ws = await raw_session(srv.url)
            await auth(ws, "carol", tokens["carol"])
            await ws.send(json.dumps({"type": "send", "conv": "ab", "cid": "c1", "body": "let me in"}))
            assert (await recv(ws))["code"] == P.NOT_MEMBER
            await ws.send(json.dumps({"type": "sync", "conv": "ab", "since": 0}))
            assert (await recv(ws))["code"] == P.NOT_MEMBER
            await ws.send(json.dumps({"type": "read", "conv": "ab", "seq": 1}))
            assert (await recv(ws))["code"] == P.NOT_MEMBER
            await ws.send(json.dumps({"type": "send", "conv": "all", "cid": "c2", "body": "hello all"}))
            ack = await recv(ws)
            assert ack["type"] == "ack" and ack["seq"] == 1
            await bob.wait_for(lambda c: c.texts("all") == ["hello all"])
            assert bob.texts("ab") == []
            await ws.close()

    asyncio.run(main())
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1


def test_bad_frames_get_errors_and_never_crash_or_lose_data(world):
    srv, tokens, db = world

    async def main():
        async with IMClient(srv.url, "bob", tokens["bob"]) as bob:
            ws = await raw_session(srv.url)
            await ws.send(json.dumps({"type": "send", "conv": "ab", "cid": "early", "body": "before auth"}))
            assert (await recv(ws))["code"] == P.UNAUTHENTICATED
            await auth(ws, "alice", tokens["alice"])
            cases = [
                ("{not json", P.BAD_JSON),
                (b"\x00\x01binary", P.BAD_FRAME),
                ("[]", P.BAD_FRAME),
                (json.dumps({"type": "teleport"}), P.UNKNOWN_TYPE),
                (json.dumps({"type": "send", "conv": "ab", "cid": "x"}), P.BAD_FRAME),
                (json.dumps({"type": "send", "conv": "ab", "cid": "x", "body": {"a": 1}}), P.BAD_FRAME),
                (json.dumps({"type": "sync", "conv": "ab", "since": -5}), P.BAD_FRAME),
                (json.dumps({"type": "send", "conv": "ab", "cid": "big", "body": "x" * 20_000}), P.TOO_LARGE),
                ("[" * 50_000 + "]" * 50_000, P.TOO_LARGE),
            ]
            for raw, code in cases:
                await ws.send(raw)
                err = await recv(ws)
                assert err["type"] == "error" and err["code"] == code, raw[:30]
            await ws.send(json.dumps({"type": "send", "conv": "ab", "cid": "good", "body": "still works"}))
            assert (await recv(ws))["type"] == "ack"
            await bob.wait_for(lambda c: c.texts("ab") == ["still works"])
            # Beyond the WebSocket limit the library closes that connection (1009), only that one.
            try:
                await asyncio.wait_for(ws.send("x" * (P.WS_MAX_BYTES + 10)), 15)
            except Exception:  # the server may close before the whole message is written
                pass
            await asyncio.wait_for(ws.wait_closed(), 15)
            assert ws.close_code == 1009
            ack = await bob.send("ab", "server alive", timeout_s=10)
            assert ack["seq"] == 2

    asyncio.run(main())
    assert srv.running()
    with sqlite3.connect(db) as raw:
        assert [r[0] for r in raw.execute("SELECT body FROM messages ORDER BY seq")] == ["still works", "server alive"]


def test_kill_9_then_restart_every_acked_message_exactly_once_in_order(world):
    srv, tokens, db = world
    n = 300

    async def main():
        alice = await IMClient(srv.url, "alice", tokens["alice"], "phone", ack_timeout_s=0.5).connect()
        bob = await IMClient(srv.url, "bob", tokens["bob"], "phone").connect()

        async def producer():
            for i in range(n):
                await alice.send("ab", f"m{i}", wait=False)
                await asyncio.sleep(0.002)

        prod = asyncio.create_task(producer())
        acked = lambda: {e[1]: e[3] for e in alice.events if e[0] == "acked"}  # noqa: E731
        await alice.wait_for(lambda c: len(acked()) >= 60, 30)
        acked_before_kill = acked()
        srv.kill()  # SIGKILL while messages are in flight
        await asyncio.sleep(0.3)
        srv.start()  # same port, same database file
        await prod
        await alice.wait_for(lambda c: not c.core.pending and c.core.n_sent == n, 60)
        await bob.wait_for(lambda c: len(c.messages) >= n, 60)
        await asyncio.sleep(0.3)  # anything extra (a duplicate) would arrive now
        await alice.close()
        await bob.close()
        return acked_before_kill, acked(), bob.messages, alice.connections, bob.connections

    before, after, got, alice_conns, bob_conns = asyncio.run(main())
    assert alice_conns >= 2 and bob_conns >= 2  # both really lost their connection
    assert len(got) == n  # exactly once...
    assert [m["seq"] for m in got] == list(range(1, n + 1))  # ...and in sequence order
    assert sorted(m["body"] for m in got) == sorted(f"m{i}" for i in range(n))
    seq_of = {m["cid"]: m["seq"] for m in got}
    assert all(seq_of[cid] == seq for cid, seq in before.items())  # acked before the kill: kept, same seq
    assert len(after) == n
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == n


def test_a_message_stored_but_not_acked_before_kill_is_not_stored_twice(world):
    srv, tokens, db = world

    async def main():
        ws = await raw_session(srv.url)
        await auth(ws, "alice", tokens["alice"])
        frame = json.dumps({"type": "send", "conv": "ab", "cid": "once-1", "body": "exactly once"})
        await ws.send(frame)
        # Wait until it is committed (read the database file), then kill before reading the ack.
        for _ in range(200):
            with sqlite3.connect(db) as raw:
                if raw.execute("SELECT COUNT(*) FROM messages").fetchone()[0]:
                    break
            await asyncio.sleep(0.01)
        srv.kill()
        srv.start()
        ws = await raw_session(srv.url)
        await auth(ws, "alice", tokens["alice"])
        await ws.send(frame)  # the retry of the same client message id
        ack = await recv(ws)
        await ws.close()
        return ack

    ack = asyncio.run(main())
    assert ack["type"] == "ack" and ack["cid"] == "once-1" and ack["seq"] == 1
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 1


def test_read_watermark_reaches_the_other_device(world):
    srv, tokens, _ = world

    async def main():
        async with IMClient(srv.url, "alice", tokens["alice"], "phone") as phone, \
                IMClient(srv.url, "alice", tokens["alice"], "laptop") as laptop, \
                IMClient(srv.url, "bob", tokens["bob"]) as bob:
            await bob.send("ab", "one")
            await bob.send("ab", "two")
            await phone.wait_for(lambda c: len(c.messages) == 2)
            await phone.read("ab", 2)
            await laptop.wait_for(lambda c: c.core.read_seq.get("ab") == 2)
            await bob.wait_for(lambda c: any(e[0] == "read" and e[2] == "alice" for e in c.events))
            assert ("read", "ab", "alice", 2) in bob.events
            assert phone.core.read_seq["ab"] == laptop.core.read_seq["ab"] == 2

    asyncio.run(main())


def test_admin_changes_reach_the_running_server_within_a_sweep(world):
    """``rtlib im-admin`` while the server runs: a new user logs in, an added member sends and receives."""
    import subprocess
    import sys
    import time

    srv, tokens, db = world

    def admin(*args):
        out = subprocess.run([sys.executable, "-m", "rtlib", "im-admin", "--db", str(db), "--json", *args],
                             capture_output=True, text=True, timeout=60, check=True)
        return json.loads(out.stdout)

    async def main():
        alice = IMClient(srv.url, "alice", tokens["alice"], device="d1")
        await alice.connect()
        dave = admin("add-user", "dave")["token"]
        admin("add-member", "ab", "carol")
        admin("add-member", "ab", "dave")
        t0 = time.monotonic()
        ws = await raw_session(srv.url)
        while True:  # the new user is refused until the server has re-read the directory
            got = await auth(ws, "dave", dave)
            if got["type"] == "auth_ok" or time.monotonic() - t0 > 8:
                break
            await ws.close()
            await asyncio.sleep(0.2)
            ws = await raw_session(srv.url)
        seen_after_s = time.monotonic() - t0
        await ws.close()
        carol = IMClient(srv.url, "carol", tokens["carol"], device="d1")
        await carol.connect()
        await carol.send("ab", "carol joined")  # acked: she is a member now
        await alice.wait_for(lambda c: "carol joined" in c.texts("ab"), 10)
        await alice.send("ab", "welcome")
        await carol.wait_for(lambda c: "welcome" in c.texts("ab"), 10)
        await alice.close()
        await carol.close()
        return got, seen_after_s

    got, seen_after_s = asyncio.run(main())
    assert got["type"] == "auth_ok" and "ab" in got["convs"]
    assert seen_after_s < 2.5 + 1.5  # one sweep, plus the admin process's own start
