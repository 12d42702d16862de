import sqlite3

import pytest

from rtlib.im.store import Store, StoreCrash, hash_token


@pytest.fixture
def store():
    s = Store()
    for u in ("alice", "bob", "carol"):
        s.create_user(u)
    s.create_conversation("ab", ["alice", "bob"], kind="direct")
    return s


def test_seq_is_per_conversation_and_gap_free(store):
    store.create_conversation("g", ["alice", "bob", "carol"])
    res = store.append_many([("ab", "alice", "a1", "x", 1.0), ("g", "alice", "a2", "y", 1.0),
                             ("ab", "bob", "b1", "z", 1.0)])
    assert [r[0] for r in res] == [1, 1, 2]
    assert store.append_many([("ab", "bob", "b2", "w", 2.0)]) == [(3, 2.0, False)]
    assert [m[0] for m in store.messages_since("ab")] == [1, 2, 3]
    assert store.last_seq("g") == 1


def test_retry_with_same_cid_gets_the_stored_seq(store):
    store.append_many([("ab", "alice", "a1", "hi", 1.0)])
    again = store.append_many([("ab", "alice", "a1", "hi", 5.0), ("ab", "alice", "a2", "next", 5.0)])
    assert again == [(1, 1.0, True), (2, 5.0, False)]
    assert store.count_messages() == 2
    # The same cid from another sender is another message.
    assert store.append_many([("ab", "bob", "a1", "bob's", 6.0)]) == [(3, 6.0, False)]


def test_duplicate_within_one_batch(store):
    res = store.append_many([("ab", "alice", "a1", "hi", 1.0), ("ab", "alice", "a1", "hi", 1.0)])
    assert res == [(1, 1.0, False), (1, 1.0, True)]
    assert store.count_messages() == 1


def test_non_idempotent_store_keeps_duplicates():
    s = Store(idempotent=False)
    s.create_user("a")
    s.create_conversation("c", ["a"])
    s.append_many([("c", "a", "x", "hi", 1.0)])
    assert s.append_many([("c", "a", "x", "hi", 2.0)]) == [(2, 2.0, False)]
    assert s.count_messages() == 2


def test_crash_before_commit_stores_nothing_after_commit_stores(store):
    with pytest.raises(StoreCrash):
        store.append_many([("ab", "alice", "a1", "x", 1.0)], crash="before_commit")
    assert store.count_messages() == 0 and store.last_seq("ab") == 0
    with pytest.raises(StoreCrash):
        store.append_many([("ab", "alice", "a1", "x", 1.0)], crash="after_commit")
    assert store.count_messages() == 1 and store.last_seq("ab") == 1
    # the retry after the crash is recognised
    assert store.append_many([("ab", "alice", "a1", "x", 2.0)]) == [(1, 1.0, True)]


def test_file_store_survives_reopen_in_wal_mode(tmp_path):
    db = tmp_path / "chat.sqlite"
    with Store(db) as s:
        s.create_user("a")
        s.create_user("b")
        s.create_conversation("ab", ["a", "b"])
        token = s.new_token("a")
        s.append_many([("ab", "a", "1", "one", 1.0), ("ab", "b", "1", "two", 1.0)])
        s.set_read("b", "ab", 2)
        s.touch_device("b", "laptop", 3.0)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    with Store(db) as s:
        assert s.last_seq("ab") == 2
        assert s.members("ab") == {"a", "b"}
        assert s.check_token("a", token) and not s.check_token("b", token)
        assert s.summary("b") == {"ab": {"last_seq": 2, "read_seq": 2}}
        assert s.devices("b") == {"laptop"}
        assert s.append_many([("ab", "a", "2", "three", 4.0)]) == [(3, 4.0, False)]


def test_tokens_are_stored_hashed(tmp_path):
    db = tmp_path / "t.sqlite"
    with Store(db) as s:
        s.create_user("alice")
        token = s.new_token("alice")
        assert len(token) >= 32
        assert s.check_token("alice", token)
        assert not s.check_token("alice", token + "x")
        assert not s.check_token("nobody", token)
        assert not s.check_token("alice", None)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in data
    assert hash_token(token).encode() in data


def test_drawn_tokens_never_start_with_a_dash(tmp_path, monkeypatch):
    """``--token -x…`` would read as an option on the command line (a 1-in-64 chance per token)."""
    import rtlib.im.store as store_mod

    draws = iter(["-dashfirst" + "a" * 22, "_underscore" + "b" * 21])
    monkeypatch.setattr(store_mod.secrets, "token_urlsafe", lambda n: next(draws))
    with Store(tmp_path / "t.sqlite") as s:
        s.create_user("alice")
        token = s.new_token("alice")
    assert token.startswith("_underscore")


def test_revoke(store):
    t = store.new_token("alice")
    assert store.revoke_tokens("alice") == 1
    assert not store.check_token("alice", t)


def test_membership_and_names(store):
    assert store.is_member("ab", "alice") and not store.is_member("ab", "carol")
    store.add_member("ab", "carol")
    assert store.conversations_of("carol") == ["ab"]
    store.remove_member("ab", "carol")
    assert not store.is_member("ab", "carol")
    assert store.members("nope") == frozenset()
    with pytest.raises(ValueError, match="already exists"):
        store.create_user("alice")
    with pytest.raises(ValueError, match="user"):
        store.create_user("bad name")
    with pytest.raises(ValueError, match="no user"):
        store.create_conversation("x", ["zed"])
    with pytest.raises(ValueError, match="kind"):
        store.create_conversation("x", [], kind="channel")
    with pytest.raises(ValueError, match="synchronous"):
        Store(synchronous="sometimes")


def test_read_watermark_only_moves_up_and_is_clamped(store):
    store.append_many([("ab", "alice", str(i), "m", 1.0) for i in range(5)])
    assert store.set_read("bob", "ab", 3) == 3
    assert store.set_read("bob", "ab", 2) is None
    assert store.set_read("bob", "ab", 99) == 5
    assert store.read_seq("bob", "ab") == 5
    assert store.read_seq("alice", "ab") == 0


def test_messages_since_limit(store):
    store.append_many([("ab", "alice", str(i), f"m{i}", 1.0) for i in range(10)])
    rows = store.messages_since("ab", 4, limit=3)
    assert [r[0] for r in rows] == [5, 6, 7]
    assert rows[0][1:4] == ("alice", "4", "m4")
    assert store.messages_since("unknown") == []
