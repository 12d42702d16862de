"""The PostgreSQL store: same answers as SQLite, gapless seqs with two writers at once, outage."""

import threading

import pytest

from rtlib.im.pgstore import PgStore, open_store
from rtlib.im.store import CONFLICT, DUPLICATE, Store, StoreUnavailable


def _setup(store, users=("alice", "bob"), conv="ab"):
    for u in users:
        store.create_user(u)
    store.create_conversation(conv, users)


def test_same_answers_as_sqlite(pg_url):
    pg, lite = PgStore(pg_url), Store()
    for s in (pg, lite):
        _setup(s)
    batches = [[("ab", "alice", "a1", "hi", 1.0), ("ab", "bob", "b1", "yo", 1.0)],
               [("ab", "alice", "a1", "hi", 2.0), ("ab", "alice", "a2", "x", 2.0)],
               [("ab", "alice", "a2", "other body", 3.0)]]
    for b in batches:
        assert pg.append_many(b) == lite.append_many(b)
    assert pg.append_many([("ab", "alice", "a1", "hi", 9.0)]) == [(1, 1.0, DUPLICATE)]
    assert pg.append_many([("ab", "alice", "a2", "zz", 9.0)]) == [(None, None, CONFLICT)]
    assert pg.messages_since("ab", 1) == lite.messages_since("ab", 1)
    assert pg.messages_before("ab", None, 2) == lite.messages_before("ab", None, 2)
    assert pg.last_seq("ab") == lite.last_seq("ab") == 3
    assert pg.set_read("bob", "ab", 99) == lite.set_read("bob", "ab", 99) == 3
    assert pg.set_read("bob", "ab", 2) is None
    assert pg.summary("bob") == lite.summary("bob")
    t = pg.new_token("alice")
    assert pg.check_token("alice", t) and not pg.check_token("bob", t)
    v = pg.tokens_version()
    assert pg.revoke_tokens("alice") == 1 and not pg.check_token("alice", t)
    assert pg.tokens_version() != v
    # another process (a second store on the same database) sees the same data
    other = open_store(pg_url)
    assert isinstance(other, PgStore) and other.members("ab") == {"alice", "bob"}
    assert other.last_seq("ab") == 3
    pg.close(), other.close()


def test_bad_url():
    with pytest.raises(ValueError, match="url"):
        PgStore("sqlite:///x")


def test_two_writers_gapless_and_ordered(pg_url):
    """Two stores (two connections, like two gateways) append to one conversation at once."""
    users = [f"u{i}" for i in range(4)]
    first = PgStore(pg_url)
    _setup(first, users, "room")
    stores = [first, PgStore(pg_url)]
    got = {0: [], 1: []}
    errors = []
    start = threading.Barrier(2)

    def writer(k):
        try:
            start.wait()
            for b in range(60):
                items = [("room", users[(k * 2 + i) % 4], f"w{k}-{b}-{i}", f"{k}:{b}:{i}", float(b)) for i in range(3)]
                got[k] += [(seq, it[2]) for (seq, _, _), it in zip(stores[k].append_many(items), items)]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    seqs = sorted(q for k in got for q, _ in got[k])
    assert seqs == list(range(1, 361))  # no gap, no repeat
    for k in got:  # each writer's messages keep their order
        assert [q for q, _ in got[k]] == sorted(q for q, _ in got[k])
    stored = first.messages_since("room", 0, 1000)
    assert [r[0] for r in stored] == list(range(1, 361))
    assert {r[2] for r in stored} == {c for k in got for _, c in got[k]}
    assert first.last_seq("room") == 360
    # both writers really interleaved (otherwise this test proves nothing about locking)
    owner = {c: k for k in got for _, c in got[k]}
    switches = sum(owner[a[2]] != owner[b[2]] for a, b in zip(stored, stored[1:]))
    assert switches >= 2
    for s in stores:
        s.close()


def test_racing_resend_of_one_cid(pg_url):
    """The same (sender, cid) sent through two gateways at once is stored once."""
    a = PgStore(pg_url)
    _setup(a)
    b = PgStore(pg_url)
    res = []
    barrier = threading.Barrier(2)

    def go(s):
        barrier.wait()
        res.append(s.append_many([("ab", "alice", "same", "hello", 1.0)])[0])

    ts = [threading.Thread(target=go, args=(s,)) for s in (a, b)]
    [t.start() for t in ts]
    [t.join(30) for t in ts]
    assert sorted(r[2] for r in res) == [False, True] and {r[0] for r in res} == {1}
    assert a.count_messages("ab") == 1
    a.close(), b.close()


def test_outage_is_an_error_never_an_ack(pg_url, postgres):
    s = PgStore(pg_url)
    _setup(s)
    assert s.append_many([("ab", "alice", "c1", "before", 1.0)])[0][0] == 1
    postgres.kill()
    with pytest.raises(StoreUnavailable, match="PostgreSQL unavailable"):
        s.append_many([("ab", "alice", "c2", "during", 2.0)])
    with pytest.raises(StoreUnavailable):
        s.messages_since("ab", 0)
    postgres.start()
    assert s.append_many([("ab", "alice", "c2", "during", 3.0)])[0][:2] == (2, 3.0)  # reconnects by itself
    assert [r[3] for r in s.messages_since("ab", 0)] == ["before", "during"]
    s.close()


def test_gateways_starting_together_on_an_empty_database(pg_url):
    """Several stores opened at once on an empty database all get the schema (no race)."""
    errors, stores = [], []
    barrier = threading.Barrier(4)

    def open_one():
        try:
            barrier.wait()
            stores.append(PgStore(pg_url))
        except Exception as exc:
            errors.append(exc)

    ts = [threading.Thread(target=open_one) for _ in range(4)]
    [t.start() for t in ts]
    [t.join(30) for t in ts]
    assert not errors and len(stores) == 4
    for s in stores:
        s.close()


def test_a_server_that_dies_at_start_is_reported_at_once(tmp_path):
    import time

    from rtlib.im.engines import free_port
    from rtlib.im.live import ServerProcess

    srv = ServerProcess(f"postgresql://im@127.0.0.1:{free_port()}/nothing", log_path=tmp_path / "s.log")
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="did not start"):
        srv.start(timeout_s=60)
    assert time.monotonic() - t0 < 20  # it noticed the exit; it did not wait the full 60 s
    assert "PostgreSQL unavailable" in (tmp_path / "s.log").read_text()
