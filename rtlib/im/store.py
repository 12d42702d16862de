"""The message store: SQLite under the IM server (``":memory:"`` in simulation, a file live).

Tables: ``users``, ``tokens`` (hashed), ``devices``, ``conversations``, ``members``,
``messages`` (conversation, seq, sender, client id, body, server time) and ``cursors``
(each user's read watermark per conversation).

Two rules make the server safe to crash:

1. **Ack only after commit.**  :meth:`Store.append_many` writes a batch of messages in
   one transaction (a *group commit*) and returns only once SQLite has committed it;
   the logic sends acks after that.  A file store runs in write-ahead-log mode
   (``journal_mode=WAL``, https://www.sqlite.org/wal.html) with ``synchronous=FULL`` by
   default, so a committed transaction survives a killed process and a power cut;
   ``NORMAL`` survives a killed process only, and is faster.
2. **The client message id is unique per sender** (a UNIQUE index on
   ``(sender, cid)``).  A retry of a message that was stored but whose ack was lost
   finds the stored copy and gets the same sequence number again: sending is
   *idempotent*.  A retry must mean the same thing: the same ``(sender, cid)`` with
   another conversation or another body is a :data:`CONFLICT` (nothing stored, nothing
   acked, nothing fanned out), never an ack of something that is not stored.
   ``idempotent=False`` drops the index so the fault experiments can show what happens
   without it.

Sequence numbers are per conversation, gap-free, starting at 1; the highest one per
conversation is cached in memory and rebuilt from the table on open.

Tokens are 192-bit random strings shown once and stored as SHA-256 hashes: a stolen
database does not yield usable tokens, and a fast hash is enough because the token is
not guessable (a human password would need a slow KDF such as scrypt, RFC 7914).

Used in: notebooks/02_im_store_forward.ipynb, notebooks/03_im_scale.ipynb.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from pathlib import Path

from rtlib.im.protocol import MAX_CONVS_PER_USER, FrameError, check_name

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
    hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), created_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
    user_id INTEGER NOT NULL, device TEXT NOT NULL, last_seen_s REAL NOT NULL,
    PRIMARY KEY(user_id, device)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS conversations(
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, created_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS members(
    conv_id INTEGER NOT NULL, user_id INTEGER NOT NULL, PRIMARY KEY(conv_id, user_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id, conv_id);
CREATE TABLE IF NOT EXISTS messages(
    conv_id INTEGER NOT NULL, seq INTEGER NOT NULL, sender_id INTEGER NOT NULL,
    cid TEXT NOT NULL, body TEXT NOT NULL, ts REAL NOT NULL,
    PRIMARY KEY(conv_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors(
    user_id INTEGER NOT NULL, conv_id INTEGER NOT NULL, read_seq INTEGER NOT NULL,
    PRIMARY KEY(user_id, conv_id)) WITHOUT ROWID;
"""
UNIQUE_CID = "CREATE UNIQUE INDEX IF NOT EXISTS messages_cid ON messages(sender_id, cid)"


# The third element of each result of Store.append_many: a new row, a resend of a
# stored one, or the same (sender, cid) meaning something else.
STORED, DUPLICATE, CONFLICT = False, True, "conflict"


class StoreUnavailable(sqlite3.OperationalError):
    """The database itself is unreachable or failing (any engine, e.g. PostgreSQL down):
    nothing of the transaction is stored; every request of it is answered
    ``unavailable`` and the clients retry.  A subclass of SQLite's ``OperationalError``
    so that the logic treats every engine's outage alike."""


class StoreCrash(RuntimeError):
    """Raised by an injected crash (simulation only): the caller must not ack."""


def hash_token(token: str) -> str:
    # surrogatepass: a token that is not valid text still hashes (to nothing issued)
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class _Conversations:
    """What both stores (SQLite here, PostgreSQL in :mod:`rtlib.im.pgstore`) keep in memory
    about conversations: ``_conv_id`` and ``_convs_of``."""

    def _room_for(self, user: str) -> None:
        if len(self._convs_of[user]) >= MAX_CONVS_PER_USER:
            raise ValueError(f"user {user!r} is already in {MAX_CONVS_PER_USER} conversations, the most allowed "
                             f"(MAX_CONVS_PER_USER)")

    def conversations(self) -> list[str]:
        return sorted(self._conv_id)


class Store(_Conversations):
    """The IM database.  ``path=":memory:"`` for simulation, a file name live.

    >>> s = Store()
    >>> s.create_user("alice"); s.create_user("bob")
    >>> s.create_conversation("ab", ["alice", "bob"], kind="direct")
    >>> s.append_many([("ab", "alice", "a-1", "hi", 10.0)])
    [(1, 10.0, False)]
    >>> s.append_many([("ab", "alice", "a-1", "hi", 11.0)])  # a retry: same seq
    [(1, 10.0, True)]
    """

    def __init__(self, path: str | Path = ":memory:", *, synchronous: str = "FULL", idempotent: bool = True):
        synchronous = str(synchronous).upper()
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {list(SYNCHRONOUS)}, got {synchronous!r}")
        self.path = str(path)
        self.idempotent = bool(idempotent)
        # Autocommit mode: transactions are opened and closed explicitly below.
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        if self.path != ":memory:":
            mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise RuntimeError(f"could not switch {self.path} to WAL mode (got {mode})")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        if self.idempotent:
            self.db.execute(UNIQUE_CID)
        else:
            self.db.execute("DROP INDEX IF EXISTS messages_cid")
        # Caches, rebuilt from the tables: names <-> ids, members, highest seq per conversation.
        self._last_seq: dict[str, int] = {}
        self._load_directory()
        for conv_id, seq in self.db.execute("SELECT conv_id, MAX(seq) FROM messages GROUP BY conv_id"):
            self._last_seq[self._conv_name[conv_id]] = seq
        self.rows_written = 0
        self.rows_read = 0
        self.commits = 0
        self._revocations = 0

    def _load_directory(self) -> None:
        """(Re)read users, conversations, members and devices into the caches."""
        self._data_version = self.db.execute("PRAGMA data_version").fetchone()[0]
        user_id = dict(self.db.execute("SELECT name, id FROM users"))
        user_name = {i: n for n, i in user_id.items()}
        conv_id = dict(self.db.execute("SELECT name, id FROM conversations"))
        conv_name = {i: n for n, i in conv_id.items()}
        members: dict[str, set] = {name: set() for name in conv_id}
        convs_of: dict[str, set] = {name: set() for name in user_id}
        for c, u in self.db.execute("SELECT conv_id, user_id FROM members"):
            members[conv_name[c]].add(user_name[u])
            convs_of[user_name[u]].add(conv_name[c])
        devices: dict[str, set] = {name: set() for name in user_id}
        for u, device in self.db.execute("SELECT user_id, device FROM devices"):
            devices[user_name[u]].add(device)
        self._user_id, self._user_name, self._conv_id, self._conv_name = user_id, user_name, conv_id, conv_name
        self._members = {c: frozenset(m) for c, m in members.items()}
        self._convs_of, self._devices = convs_of, devices
        for name in conv_id:  # a conversation created elsewhere starts empty
            self._last_seq.setdefault(name, 0)

    def reload_directory(self) -> bool:
        """Re-read users, conversations and members if another process changed the file
        (``rtlib im-admin`` while the server runs); True when it did.

        The running server calls this once per gateway sweep, so an added user, conversation
        or member is seen within 2.5 s.  Messages are this process's own: only one server
        writes a file."""
        if self.path == ":memory:" or self.db.execute("PRAGMA data_version").fetchone()[0] == self._data_version:
            return False
        self._load_directory()
        return True

    # -- admin: users, tokens, conversations ---------------------------------------------
    def create_user(self, user: str, now: float = 0.0) -> None:
        """Add a user (``ValueError`` if the name is invalid or taken)."""
        _valid("user", user)
        if user in self._user_id:
            raise ValueError(f"user {user!r} already exists")
        cur = self.db.execute("INSERT INTO users(name, created_s) VALUES (?, ?)", (user, now))
        self._user_id[user] = cur.lastrowid
        self._user_name[cur.lastrowid] = user
        self._convs_of[user] = set()
        self._devices[user] = set()

    def new_token(self, user: str, now: float = 0.0, token: str | None = None) -> str:
        """Create a login token for ``user`` and return it; only its hash is stored.

        ``token`` may be given (the simulation uses seeded tokens); otherwise it is
        drawn from :mod:`secrets` (192 bits), never starting with ``-``: a learner types it
        after ``--token`` on a command line, where a leading dash reads as an option.
        """
        uid = self._uid(user)
        token = login_token(token)
        self.db.execute("INSERT INTO tokens(hash, user_id, created_s) VALUES (?, ?, ?)", (hash_token(token), uid, now))
        return token

    def check_token(self, user: str, token: str) -> bool:
        """True when ``token`` was issued to ``user`` and not revoked (compares hashes only)."""
        uid = self._user_id.get(user)
        if uid is None or not isinstance(token, str):
            return False
        row = self.db.execute("SELECT user_id FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
        return row is not None and hmac.compare_digest(str(row[0]), str(uid))

    def revoke_tokens(self, user: str, token: str | None = None) -> int:
        """Delete every token of ``user`` (or only ``token``); returns how many.

        A running server notices within a sweep of its gateway and closes the
        connections authenticated with a revoked token (``CLOSE_AUTH``)."""
        self._revocations += 1
        if token is None:
            return self.db.execute("DELETE FROM tokens WHERE user_id = ?", (self._uid(user),)).rowcount
        return self.db.execute("DELETE FROM tokens WHERE user_id = ? AND hash = ?",
                               (self._uid(user), hash_token(token))).rowcount

    def tokens_version(self) -> tuple:
        """Changes when tokens may have been revoked, here or by another process (SQLite's
        ``PRAGMA data_version`` moves when another connection commits to the file)."""
        return self._revocations, self.db.execute("PRAGMA data_version").fetchone()[0]

    def users(self) -> list[str]:
        return sorted(self._user_id)

    def create_conversation(self, conv: str, members=(), kind: str = "group", now: float = 0.0) -> None:
        """Add a conversation with its first members (all must exist)."""
        members, uids = new_conversation_members(self, conv, members, kind)
        self.db.execute("BEGIN")
        try:
            cur = self.db.execute("INSERT INTO conversations(name, kind, created_s) VALUES (?, ?, ?)", (conv, kind, now))
            self.db.executemany("INSERT INTO members(conv_id, user_id) VALUES (?, ?)", [(cur.lastrowid, u) for u in uids])
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self._conv_id[conv] = cur.lastrowid
        self._conv_name[cur.lastrowid] = conv
        self._members[conv] = frozenset(members)
        self._last_seq[conv] = 0
        for u in members:
            self._convs_of[u].add(conv)

    def add_member(self, conv: str, user: str) -> None:
        cid, uid = self._cid(conv), self._uid(user)
        if conv not in self._convs_of[user]:
            self._room_for(user)
        self.db.execute("INSERT OR IGNORE INTO members(conv_id, user_id) VALUES (?, ?)", (cid, uid))
        self._members[conv] = self._members[conv] | {user}
        self._convs_of[user].add(conv)

    def remove_member(self, conv: str, user: str) -> None:
        cid, uid = self._cid(conv), self._uid(user)
        self.db.execute("DELETE FROM members WHERE conv_id = ? AND user_id = ?", (cid, uid))
        self._members[conv] = self._members[conv] - {user}
        self._convs_of[user].discard(conv)


    def members(self, conv: str) -> frozenset:
        """The members of ``conv`` (an empty set for an unknown conversation)."""
        return self._members.get(conv, frozenset())

    def is_member(self, conv: str, user: str) -> bool:
        return user in self._members.get(conv, ())

    def conversations_of(self, user: str) -> list[str]:
        return sorted(self._convs_of.get(user, ()))

    # -- devices ------------------------------------------------------------------------
    def touch_device(self, user: str, device: str, now: float) -> None:
        """Remember that ``user`` has ``device`` (the push service reaches known devices)."""
        self.db.execute("INSERT INTO devices(user_id, device, last_seen_s) VALUES (?, ?, ?) "
                        "ON CONFLICT(user_id, device) DO UPDATE SET last_seen_s = excluded.last_seen_s",
                        (self._uid(user), device, now))
        self._devices[user].add(device)

    def devices(self, user: str) -> set:
        """The devices ``user`` has connected from (do not modify)."""
        return self._devices.get(user, _NO_DEVICES)

    # -- messages -----------------------------------------------------------------------
    def last_seq(self, conv: str) -> int:
        return self._last_seq.get(conv, 0)

    def append_many(self, items, crash: str | None = None) -> list[tuple[int, float, bool]]:
        """Store messages ``(conv, sender, cid, body, ts)`` in one transaction.

        Returns one ``(seq, ts, duplicate)`` per item, in order, once the transaction
        has committed.  A ``(sender, cid)`` already stored (or repeated in the batch)
        is not stored again: with the same conversation and body it is a resend and
        gets ``duplicate=True`` (:data:`DUPLICATE`) with the seq and time of the stored
        copy; with another conversation or body it gets ``(None, None, CONFLICT)``
        (only when the store is idempotent).

        ``crash`` injects a failure for the fault experiments: ``"before_commit"``
        rolls the transaction back, ``"after_commit"`` commits; both then raise
        :class:`StoreCrash` so that no ack can be sent.
        """
        conv_id, user_id, last = self._conv_id, self._user_id, self._last_seq
        next_seq = {}
        rows, out = [], []
        for conv, sender, cid, body, ts in items:
            c = conv_id[conv]
            seq = next_seq.get(conv) or last[conv]
            seq += 1
            next_seq[conv] = seq
            rows.append((c, seq, user_id[sender], cid, body, ts))
            out.append((seq, ts, False))
        db = self.db
        db.execute("BEGIN")
        try:
            try:
                db.executemany("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", rows)
            except sqlite3.IntegrityError:
                # A retry of a stored message (rare): redo the batch row by row.
                db.execute("ROLLBACK")
                db.execute("BEGIN")
                out, next_seq, rows = self._append_slow(items)
            if crash == "before_commit":
                db.execute("ROLLBACK")
                raise StoreCrash("store crashed before commit: nothing was stored")
            db.execute("COMMIT")
        except StoreCrash:
            raise
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        last.update(next_seq)
        self.rows_written += len(rows)
        self.commits += 1
        if crash == "after_commit":
            raise StoreCrash("store crashed after commit: stored, but the answer was lost")
        return out

    def _append_slow(self, items):
        db, last = self.db, self._last_seq
        next_seq, seen, rows, out = {}, {}, [], []
        for conv, sender, cid, body, ts in items:
            key = (sender, cid)
            stored = seen.get(key)
            uid = self._user_id[sender]
            if stored is None:
                row = db.execute("SELECT seq, ts, conv_id, body FROM messages WHERE sender_id = ? AND cid = ?",
                                 (uid, cid)).fetchone()
                if row is not None:
                    stored = seen[key] = (row[0], row[1], self._conv_name[row[2]], row[3])
            if stored is not None:
                if (stored[2], stored[3]) == (conv, body):
                    out.append((stored[0], stored[1], DUPLICATE))
                else:
                    out.append((None, None, CONFLICT))
                continue
            seq = (next_seq.get(conv) or last[conv]) + 1
            next_seq[conv] = seq
            row = (self._conv_id[conv], seq, uid, cid, body, ts)
            db.execute("INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)", row)
            rows.append(row)
            seen[key] = (seq, ts, conv, body)
            out.append((seq, ts, STORED))
        return out, next_seq, rows

    def messages_since(self, conv: str, since: int = 0, limit: int = 200) -> list[tuple]:
        """Stored messages of ``conv`` with ``seq > since``, oldest first, at most ``limit``:
        tuples ``(seq, sender, cid, body, ts)``."""
        c = self._conv_id.get(conv)
        if c is None:
            return []
        rows = self.db.execute(
            "SELECT seq, sender_id, cid, body, ts FROM messages WHERE conv_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (c, since, limit)).fetchall()
        self.rows_read += len(rows)
        name = self._user_name
        return [(seq, name[s], cid, body, ts) for seq, s, cid, body, ts in rows]

    def messages_before(self, conv: str, before: int | None = None, limit: int = 200) -> list[tuple]:
        """The latest ``limit`` stored messages of ``conv`` with ``seq < before`` (all when
        ``before`` is None), oldest first: tuples ``(seq, sender, cid, body, ts)``."""
        c = self._conv_id.get(conv)
        if c is None:
            return []
        if before is None:
            before = self._last_seq.get(conv, 0) + 1
        rows = self.db.execute(
            "SELECT seq, sender_id, cid, body, ts FROM messages WHERE conv_id = ? AND seq < ? "
            "ORDER BY seq DESC LIMIT ?", (c, before, limit)).fetchall()
        self.rows_read += len(rows)
        name = self._user_name
        return [(seq, name[s], cid, body, ts) for seq, s, cid, body, ts in reversed(rows)]

    def count_messages(self, conv: str | None = None) -> int:
        if conv is None:
            return self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM messages WHERE conv_id = ?", (self._cid(conv),)).fetchone()[0]

    # -- read watermarks ----------------------------------------------------------------
    def set_read(self, user: str, conv: str, seq: int) -> int | None:
        """Move ``user``'s read watermark in ``conv`` up to ``seq`` (clamped to the last
        stored seq); returns the new watermark, or ``None`` when it did not move."""
        seq = min(int(seq), self._last_seq.get(conv, 0))
        uid, cid = self._uid(user), self._cid(conv)
        cur = self.db.execute(
            "INSERT INTO cursors(user_id, conv_id, read_seq) VALUES (?, ?, ?) "
            "ON CONFLICT(user_id, conv_id) DO UPDATE SET read_seq = excluded.read_seq "
            "WHERE excluded.read_seq > cursors.read_seq", (uid, cid, seq))
        if seq <= 0 or cur.rowcount == 0:
            return None
        self.rows_written += 1
        return seq

    def read_seq(self, user: str, conv: str) -> int:
        row = self.db.execute("SELECT read_seq FROM cursors WHERE user_id = ? AND conv_id = ?",
                              (self._uid(user), self._cid(conv))).fetchone()
        return row[0] if row else 0

    def summary(self, user: str) -> dict:
        """``{conv: {"last_seq": n, "read_seq": r}}`` for every conversation of ``user``."""
        uid = self._uid(user)
        reads = dict(self.db.execute("SELECT conv_id, read_seq FROM cursors WHERE user_id = ?", (uid,)))
        return {conv: {"last_seq": self._last_seq[conv], "read_seq": reads.get(self._conv_id[conv], 0)}
                for conv in sorted(self._convs_of.get(user, ()))}

    # -- housekeeping -------------------------------------------------------------------
    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _uid(self, user: str) -> int:
        try:
            return self._user_id[user]
        except KeyError:
            raise ValueError(f"no user named {user!r}") from None

    def _cid(self, conv: str) -> int:
        try:
            return self._conv_id[conv]
        except KeyError:
            raise ValueError(f"no conversation named {conv!r}") from None


_NO_DEVICES: frozenset = frozenset()


def login_token(token: str | None) -> str:
    """``token`` checked (1-256 characters), or a new one from :mod:`secrets` (192 bits)
    that does not start with ``-`` (a learner types it after ``--token``)."""
    if token is None:
        token = secrets.token_urlsafe(24)
        while token.startswith("-"):
            token = secrets.token_urlsafe(24)
    if not isinstance(token, str) or not 1 <= len(token) <= 256:
        raise ValueError("token must be a string of 1-256 characters")
    return token


def new_conversation_members(store, conv: str, members, kind: str) -> tuple[list[str], list[int]]:
    """What every store checks before it creates ``conv``: a valid new name, a known kind,
    members that exist and have room for one more conversation.  Returns the members
    (each once, in order) and their ids; raises ValueError naming what is wrong."""
    _valid("conv", conv)
    if kind not in ("direct", "group"):
        raise ValueError(f"kind must be 'direct' or 'group', got {kind!r}")
    if conv in store._conv_id:
        raise ValueError(f"conversation {conv!r} already exists")
    members = list(dict.fromkeys(members))
    uids = [store._uid(u) for u in members]
    for u in members:
        store._room_for(u)
    return members, uids


def _valid(what: str, name: str) -> None:
    try:
        check_name(what, name)
    except FrameError as exc:
        raise ValueError(exc.reason) from None
