"""The message store on PostgreSQL: the same interface as :class:`~rtlib.im.store.Store`,
shared by every gateway of a cluster (:mod:`rtlib.im.cluster`).

Same tables as the SQLite store, plus ``conversations.last_seq`` (the highest sequence
number given in each conversation) and ``meta`` (a counter that moves when tokens are
revoked, so that every gateway notices).

**Gapless, ordered sequence numbers with several writers.**  Two gateways may accept
messages for one conversation at the same moment.  :meth:`PgStore.append_many` locks the
conversations of its batch (``SELECT … FOR UPDATE``, in id order so that two batches
never wait for each other in a cycle), reads their ``last_seq``, numbers the new
messages from there, inserts them and writes the new ``last_seq``, all in one
transaction.  The second writer waits on the row lock until the first commits and then
reads the committed ``last_seq``: the numbers follow each other with no gap and no
repeat.  A transaction that fails rolls back its ``last_seq`` too, so a failed write
leaves no hole (a ``SEQUENCE`` would: ``nextval`` is never rolled back, PostgreSQL
documentation, "Sequence Manipulation Functions").

**Ack only after commit.**  ``append_many`` returns once ``COMMIT`` has returned; with
PostgreSQL's defaults (``fsync=on``, ``synchronous_commit=on``) the commit record is
flushed to the write-ahead log first, so a message acked after it survives ``kill -9``
of the database (PostgreSQL documentation, "WAL Configuration").

**Idempotent on (sender, cid)** as in SQLite: a resend gets the stored seq; a resend to
another gateway racing the first copy hits the UNIQUE index, the transaction rolls
back and is retried, and then finds the stored copy.

**Outage.**  Any connection-level error (server killed, restarting) becomes
:class:`~rtlib.im.store.StoreUnavailable`: the logic answers ``unavailable`` (retry),
never an ack, and the next call reconnects.

Caches (names ↔ ids, members, devices) are loaded on open and reloaded when a name is
not found (an admin may have added it from another process).

Used in: notebooks/03_im_scale.ipynb, benchmarks/bench_im.py.
"""

from __future__ import annotations

import hmac
import logging
import time

from rtlib.im.protocol import MAX_CONVS_PER_USER
from rtlib.im.store import (CONFLICT, DUPLICATE, STORED, StoreCrash, StoreUnavailable, _Conversations, _valid,
                             hash_token, login_token, new_conversation_members)

log = logging.getLogger("rtlib.im.pgstore")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    id BIGSERIAL PRIMARY KEY, name TEXT UNIQUE NOT NULL, created_s DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS tokens(
    hash TEXT PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users(id), created_s DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS devices(
    user_id BIGINT NOT NULL, device TEXT NOT NULL, last_seen_s DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(user_id, device));
CREATE TABLE IF NOT EXISTS conversations(
    id BIGSERIAL PRIMARY KEY, name TEXT UNIQUE NOT NULL, kind TEXT NOT NULL, created_s DOUBLE PRECISION NOT NULL,
    last_seq BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS members(
    conv_id BIGINT NOT NULL, user_id BIGINT NOT NULL, PRIMARY KEY(conv_id, user_id));
CREATE INDEX IF NOT EXISTS members_by_user ON members(user_id, conv_id);
CREATE TABLE IF NOT EXISTS messages(
    conv_id BIGINT NOT NULL, seq BIGINT NOT NULL, sender_id BIGINT NOT NULL,
    cid TEXT NOT NULL, body TEXT NOT NULL, ts DOUBLE PRECISION NOT NULL,
    PRIMARY KEY(conv_id, seq));
CREATE UNIQUE INDEX IF NOT EXISTS messages_cid ON messages(sender_id, cid);
CREATE TABLE IF NOT EXISTS cursors(
    user_id BIGINT NOT NULL, conv_id BIGINT NOT NULL, read_seq BIGINT NOT NULL,
    PRIMARY KEY(user_id, conv_id));
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v BIGINT NOT NULL);
INSERT INTO meta VALUES ('tokens_version', 0) ON CONFLICT DO NOTHING;
INSERT INTO meta VALUES ('directory_version', 0) ON CONFLICT DO NOTHING;
"""

_SCHEMA_LOCK = 0x1A_03  # advisory lock id taken while the schema is created
_RETRIES = 5  # a batch that loses a race on the (sender, cid) index is retried this often


def is_postgres_url(spec) -> bool:
    return isinstance(spec, str) and spec.startswith(("postgresql://", "postgres://"))


def open_store(spec, *, synchronous: str = "FULL"):
    """A :class:`PgStore` for a ``postgresql://`` URL, else a SQLite :class:`~rtlib.im.store.Store`."""
    if is_postgres_url(spec):
        return PgStore(spec)
    from rtlib.im.store import Store

    return Store(spec, synchronous=synchronous)


class PgStore(_Conversations):
    """The IM database in PostgreSQL (``url`` like ``postgresql://user@127.0.0.1:5432/db``)."""

    def __init__(self, url: str, *, connect_timeout_s: float = 3.0):
        if not is_postgres_url(url):
            raise ValueError(f"url must start with postgresql://, got {url!r}")
        if not 0 < connect_timeout_s <= 60:
            raise ValueError(f"connect_timeout_s must be in (0, 60] s, got {connect_timeout_s}")
        self.url = url
        self.path = url
        self.idempotent = True
        self.connect_timeout_s = connect_timeout_s
        self._db = None
        self.rows_written = self.rows_read = self.commits = 0
        self.retries = 0
        self._tokens_version = (0,)
        self._refreshed_s = 0.0
        self._run(self._schema)
        self._directory_seen = self._directory_version()
        self._load()

    @staticmethod
    def _schema(db) -> None:
        """Create the tables unless they exist.  Gateways starting together on an empty
        database take turns (a transaction-scoped advisory lock): two concurrent
        ``CREATE TABLE IF NOT EXISTS`` of one table can both find it missing and one fails."""
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            if db.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
                db.execute(SCHEMA)

    # -- connection ---------------------------------------------------------------------
    def _conn(self):
        import psycopg

        if self._db is None or self._db.closed or self._db.broken:
            if self._db is not None:
                self._db.close()
            self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout_s)))
        return self._db

    def _run(self, fn):
        """Run ``fn(connection)``; a connection-level failure becomes ``StoreUnavailable``."""
        import psycopg

        try:
            return fn(self._conn())
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if self._db is not None and (self._db.closed or self._db.broken):
                self._db.close()
                self._db = None
            if isinstance(exc, psycopg.errors.QueryCanceled):
                raise
            raise StoreUnavailable(f"PostgreSQL unavailable: {str(exc).strip().splitlines()[0][:200]}") from exc

    def _load(self) -> None:
        def load(db):
            users = db.execute("SELECT name, id FROM users").fetchall()
            convs = db.execute("SELECT name, id FROM conversations").fetchall()
            members = db.execute("SELECT conv_id, user_id FROM members").fetchall()
            devices = db.execute("SELECT user_id, device FROM devices").fetchall()
            return users, convs, members, devices

        users, convs, members, devices = self._run(load)
        self._user_id = dict(users)
        self._user_name = {i: n for n, i in users}
        self._conv_id = dict(convs)
        self._conv_name = {i: n for n, i in convs}
        mem: dict[str, set] = {name: set() for name in self._conv_id}
        self._convs_of = {name: set() for name in self._user_id}
        for conv_id, user_id in members:
            conv, user = self._conv_name[conv_id], self._user_name[user_id]
            mem[conv].add(user)
            self._convs_of[user].add(conv)
        self._members = {c: frozenset(m) for c, m in mem.items()}
        self._devices = {name: set() for name in self._user_id}
        for user_id, device in devices:
            self._devices[self._user_name[user_id]].add(device)
        self._refreshed_s = time.monotonic()

    def _directory_version(self) -> int:
        def read(db):
            db.execute("INSERT INTO meta VALUES ('directory_version', 0) ON CONFLICT DO NOTHING")
            return db.execute("SELECT v FROM meta WHERE k = 'directory_version'").fetchone()[0]

        return self._run(read)

    def _directory_changed(self) -> None:
        self._run(lambda db: db.execute("UPDATE meta SET v = v + 1 WHERE k = 'directory_version'"))

    def reload_directory(self) -> bool:
        """Re-read users, conversations and members if any process changed them (every admin
        change moves ``directory_version`` in ``meta``); True when it did.  A running gateway
        calls this once per sweep (2.5 s)."""
        try:
            v = self._directory_version()
            if v == self._directory_seen:
                return False
            self._load()
        except StoreUnavailable:
            return False
        self._directory_seen = v
        return True

    def _refresh_on_miss(self) -> None:
        if time.monotonic() - self._refreshed_s > 0.05:
            try:
                self._load()
            except StoreUnavailable:
                pass

    # -- admin ----------------------------------------------------------------------------
    def create_user(self, user: str, now: float = 0.0) -> None:
        _valid("user", user)
        if user in self._user_id:
            raise ValueError(f"user {user!r} already exists")
        uid = self._run(lambda db: db.execute("INSERT INTO users(name, created_s) VALUES (%s, %s) RETURNING id",
                                              (user, now)).fetchone()[0])
        self._user_id[user], self._user_name[uid] = uid, user
        self._convs_of[user], self._devices[user] = set(), set()
        self._directory_changed()

    def new_token(self, user: str, now: float = 0.0, token: str | None = None) -> str:
        uid = self._uid(user)
        token = login_token(token)
        self._run(lambda db: db.execute("INSERT INTO tokens(hash, user_id, created_s) VALUES (%s, %s, %s)",
                                        (hash_token(token), uid, now)))
        return token

    def check_token(self, user: str, token: str) -> bool:
        if user not in self._user_id:
            self._refresh_on_miss()
        uid = self._user_id.get(user)
        if uid is None or not isinstance(token, str):
            return False
        row = self._run(lambda db: db.execute("SELECT user_id FROM tokens WHERE hash = %s",
                                              (hash_token(token),)).fetchone())
        return row is not None and hmac.compare_digest(str(row[0]), str(uid))

    def revoke_tokens(self, user: str, token: str | None = None) -> int:
        uid = self._uid(user)

        def revoke(db):
            with db.transaction():
                if token is None:
                    n = db.execute("DELETE FROM tokens WHERE user_id = %s", (uid,)).rowcount
                else:
                    n = db.execute("DELETE FROM tokens WHERE user_id = %s AND hash = %s",
                                   (uid, hash_token(token))).rowcount
                db.execute("UPDATE meta SET v = v + 1 WHERE k = 'tokens_version'")
            return n

        return self._run(revoke)

    def tokens_version(self) -> tuple:
        """Moves when any process revokes a token (the last value seen while the database is down)."""
        try:
            self._tokens_version = self._run(
                lambda db: db.execute("SELECT v FROM meta WHERE k = 'tokens_version'").fetchone())
        except StoreUnavailable:
            pass
        return self._tokens_version

    def users(self) -> list[str]:
        return sorted(self._user_id)

    def create_conversation(self, conv: str, members=(), kind: str = "group", now: float = 0.0) -> None:
        members, uids = new_conversation_members(self, conv, members, kind)

        def create(db):
            with db.transaction():
                cid = db.execute("INSERT INTO conversations(name, kind, created_s) VALUES (%s, %s, %s) RETURNING id",
                                 (conv, kind, now)).fetchone()[0]
                with db.cursor() as cur:
                    cur.executemany("INSERT INTO members(conv_id, user_id) VALUES (%s, %s)", [(cid, u) for u in uids])
            return cid

        cid = self._run(create)
        self._conv_id[conv], self._conv_name[cid] = cid, conv
        self._members[conv] = frozenset(members)
        for u in members:
            self._convs_of[u].add(conv)
        self._directory_changed()

    def add_member(self, conv: str, user: str) -> None:
        cid, uid = self._cid(conv), self._uid(user)
        if conv not in self._convs_of[user]:
            self._room_for(user)
        self._run(lambda db: db.execute("INSERT INTO members VALUES (%s, %s) ON CONFLICT DO NOTHING", (cid, uid)))
        self._members[conv] = self._members[conv] | {user}
        self._convs_of[user].add(conv)
        self._directory_changed()

    def remove_member(self, conv: str, user: str) -> None:
        cid, uid = self._cid(conv), self._uid(user)
        self._run(lambda db: db.execute("DELETE FROM members WHERE conv_id = %s AND user_id = %s", (cid, uid)))
        self._members[conv] = self._members[conv] - {user}
        self._convs_of[user].discard(conv)
        self._directory_changed()


    def members(self, conv: str) -> frozenset:
        m = self._members.get(conv)
        if m is None:
            self._refresh_on_miss()
            m = self._members.get(conv, frozenset())
        return m

    def is_member(self, conv: str, user: str) -> bool:
        return user in self.members(conv)

    def conversations_of(self, user: str) -> list[str]:
        return sorted(self._convs_of.get(user, ()))

    # -- devices ----------------------------------------------------------------------------
    def touch_device(self, user: str, device: str, now: float) -> None:
        uid = self._uid(user)
        self._run(lambda db: db.execute(
            "INSERT INTO devices VALUES (%s, %s, %s) ON CONFLICT(user_id, device) "
            "DO UPDATE SET last_seen_s = excluded.last_seen_s", (uid, device, now)))
        self._devices[user].add(device)

    def devices(self, user: str) -> set:
        return self._devices.get(user, frozenset())

    # -- messages ---------------------------------------------------------------------------
    def last_seq(self, conv: str) -> int:
        c = self._conv_id.get(conv)
        if c is None:
            return 0
        row = self._run(lambda db: db.execute("SELECT last_seq FROM conversations WHERE id = %s", (c,)).fetchone())
        return row[0] if row else 0

    def append_many(self, items, crash: str | None = None) -> list[tuple]:
        """Store ``(conv, sender, cid, body, ts)`` items in one transaction; one
        ``(seq, ts, duplicate)`` per item once committed (see :meth:`Store.append_many`)."""
        import psycopg

        items = list(items)
        for attempt in range(_RETRIES):
            try:
                out, n = self._run(lambda db: self._append(db, items, crash))
                break
            except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
                self.retries += 1  # another gateway stored the same (sender, cid) first: look again
                if attempt == _RETRIES - 1:
                    raise
        self.rows_written += n
        self.commits += 1
        if crash == "after_commit":
            raise StoreCrash("store crashed after commit: stored, but the answer was lost")
        return out

    def _append(self, db, items, crash):
        conv_id, user_id = self._conv_id, self._user_id
        convs = sorted({conv_id[c] for c, *_ in items})
        with db.transaction():
            with db.cursor() as cur:
                last = dict(cur.execute("SELECT id, last_seq FROM conversations WHERE id = ANY(%s) ORDER BY id "
                                        "FOR UPDATE", (convs,)).fetchall())
                senders = [user_id[s] for _, s, *_ in items]
                cids = [cid for _, _, cid, *_ in items]
                stored = {(s, c): (cv, q, t, b) for s, c, cv, q, t, b in cur.execute(
                    "SELECT m.sender_id, m.cid, m.conv_id, m.seq, m.ts, m.body FROM messages m "
                    "JOIN unnest(%s::bigint[], %s::text[]) AS k(s, c) ON m.sender_id = k.s AND m.cid = k.c",
                    (senders, cids)).fetchall()}
                rows, out, touched = [], [], {}
                for (conv, sender, cid, body, ts), uid in zip(items, senders):
                    c = conv_id[conv]
                    old = stored.get((uid, cid))
                    if old is not None:
                        out.append((old[1], old[2], DUPLICATE) if (old[0], old[3]) == (c, body)
                                   else (None, None, CONFLICT))
                        continue
                    seq = last[c] = last[c] + 1
                    touched[c] = seq
                    rows.append((c, seq, uid, cid, body, ts))
                    stored[(uid, cid)] = (c, seq, ts, body)
                    out.append((seq, ts, STORED))
                if rows:
                    cur.executemany("INSERT INTO messages VALUES (%s, %s, %s, %s, %s, %s)", rows)
                    cur.executemany("UPDATE conversations SET last_seq = %s WHERE id = %s",
                                    [(q, c) for c, q in touched.items()])
                if crash == "before_commit":
                    raise StoreCrash("store crashed before commit: nothing was stored")
        return out, len(rows)

    def messages_since(self, conv: str, since: int = 0, limit: int = 200) -> list[tuple]:
        c = self._conv_id.get(conv)
        if c is None:
            return []
        rows = self._run(lambda db: db.execute(
            "SELECT seq, sender_id, cid, body, ts FROM messages WHERE conv_id = %s AND seq > %s ORDER BY seq LIMIT %s",
            (c, since, limit)).fetchall())
        self.rows_read += len(rows)
        return [(q, self._name(s), cid, b, t) for q, s, cid, b, t in rows]

    def messages_before(self, conv: str, before: int | None = None, limit: int = 200) -> list[tuple]:
        c = self._conv_id.get(conv)
        if c is None:
            return []
        before = 2**62 if before is None else before
        rows = self._run(lambda db: db.execute(
            "SELECT seq, sender_id, cid, body, ts FROM messages WHERE conv_id = %s AND seq < %s "
            "ORDER BY seq DESC LIMIT %s", (c, before, limit)).fetchall())
        self.rows_read += len(rows)
        return [(q, self._name(s), cid, b, t) for q, s, cid, b, t in reversed(rows)]

    def count_messages(self, conv: str | None = None) -> int:
        if conv is None:
            return self._run(lambda db: db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])
        c = self._cid(conv)
        return self._run(lambda db: db.execute("SELECT COUNT(*) FROM messages WHERE conv_id = %s", (c,)).fetchone()[0])

    # -- read watermarks ----------------------------------------------------------------------
    def set_read(self, user: str, conv: str, seq: int) -> int | None:
        uid, cid = self._uid(user), self._cid(conv)
        row = self._run(lambda db: db.execute(
            "INSERT INTO cursors(user_id, conv_id, read_seq) "
            "SELECT %s, id, LEAST(%s, last_seq) FROM conversations WHERE id = %s AND LEAST(%s, last_seq) > 0 "
            "ON CONFLICT(user_id, conv_id) DO UPDATE SET read_seq = excluded.read_seq "
            "WHERE excluded.read_seq > cursors.read_seq RETURNING read_seq", (uid, int(seq), cid, int(seq))).fetchone())
        if row is None:
            return None
        self.rows_written += 1
        return row[0]

    def read_seq(self, user: str, conv: str) -> int:
        uid, cid = self._uid(user), self._cid(conv)
        row = self._run(lambda db: db.execute("SELECT read_seq FROM cursors WHERE user_id = %s AND conv_id = %s",
                                              (uid, cid)).fetchone())
        return row[0] if row else 0

    def summary(self, user: str) -> dict:
        uid = self._uid(user)
        convs = [self._conv_id[c] for c in self._convs_of.get(user, ())]
        rows = self._run(lambda db: db.execute(
            "SELECT c.id, c.last_seq, COALESCE(r.read_seq, 0) FROM conversations c LEFT JOIN cursors r "
            "ON r.conv_id = c.id AND r.user_id = %s WHERE c.id = ANY(%s)", (uid, convs)).fetchall())
        return {self._conv_name[c]: {"last_seq": q, "read_seq": r} for c, q, r in sorted(
            rows, key=lambda x: self._conv_name[x[0]])}

    # -- housekeeping -------------------------------------------------------------------------
    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _name(self, uid: int) -> str:
        name = self._user_name.get(uid)
        if name is None:
            self._load()
            name = self._user_name[uid]
        return name

    def _uid(self, user: str) -> int:
        if user not in self._user_id:
            self._refresh_on_miss()
        try:
            return self._user_id[user]
        except KeyError:
            raise ValueError(f"no user named {user!r}") from None

    def _cid(self, conv: str) -> int:
        if conv not in self._conv_id:
            self._refresh_on_miss()
        try:
            return self._conv_id[conv]
        except KeyError:
            raise ValueError(f"no conversation named {conv!r}") from None
