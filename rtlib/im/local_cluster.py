"""A whole IM cluster on this machine: N gateway processes, one Redis, one PostgreSQL.

>>> with LocalCluster(gateways=3) as cl:                      # doctest: +SKIP
...     tokens = cl.setup(["alice", "bob"], {"ab": ("alice", "bob")})
...     print(cl.urls)               # ws://127.0.0.1:PORT, one per gateway
...     cl.gateways[0].kill()        # kill -9 of one gateway; cl.gateways[0].start() brings it back

Redis and PostgreSQL are started from Debian's packages in temporary folders
(:mod:`rtlib.im.engines`) unless URLs of running ones are given.  Everything this
object started is stopped by :meth:`LocalCluster.stop` (also at interpreter exit).

Used in: ``python -m rtlib im-cluster``, notebooks/03_im_scale.ipynb, tests/im/test_cluster.py,
benchmarks/bench_im.py.
"""

from __future__ import annotations

import atexit
from pathlib import Path

from rtlib.im.engines import Postgres, Redis
from rtlib.im.live import ServerProcess, setup_db
from rtlib.im.pgstore import is_postgres_url


class LocalCluster:
    """``gateways`` im-server processes on 127.0.0.1 sharing ``store`` and ``bus``."""

    def __init__(self, gateways: int = 3, *, store: str | None = None, bus: str | None = None,
                 log_dir: str | Path | None = None, server_args=()):
        if isinstance(gateways, bool) or not isinstance(gateways, int) or not 1 <= gateways <= 32:
            raise ValueError(f"gateways must be an integer in [1, 32], got {gateways!r}")
        if store is not None and not is_postgres_url(store):
            raise ValueError(f"store must be a postgresql:// URL, got {store!r}")
        if bus is not None and not bus.startswith(("redis://", "rediss://")):
            raise ValueError(f"bus must be a redis:// URL, got {bus!r}")
        self.n = gateways
        self.redis = self.postgres = None
        self._store, self._bus = store, bus
        self.log_dir = Path(log_dir) if log_dir else None
        self.server_args = [str(a) for a in server_args]
        self.gateways: list[ServerProcess] = []
        atexit.register(self.stop)

    @property
    def store(self) -> str:
        return self._store if self._store else self.postgres.url

    @property
    def bus(self) -> str:
        return self._bus if self._bus else self.redis.url

    @property
    def urls(self) -> list[str]:
        return [g.url for g in self.gateways]

    def start_engines(self) -> None:
        """Start the Redis and PostgreSQL this cluster owns (those not given as URLs)."""
        if self._bus is None and self.redis is None:
            self.redis = Redis()
        if self.redis is not None:
            self.redis.start()
        if self._store is None and self.postgres is None:
            self.postgres = Postgres()
        if self.postgres is not None:
            self.postgres.start()

    def setup(self, users, conversations) -> dict[str, str]:
        """Create users and conversations in the shared store; returns ``{user: token}``."""
        self.start_engines()
        return setup_db(self.store, users, conversations)

    def start(self) -> list[str]:
        """Start the engines and every gateway; returns the gateways' URLs."""
        self.start_engines()
        from concurrent.futures import ThreadPoolExecutor

        try:
            while len(self.gateways) < self.n:
                i = len(self.gateways)
                log = self.log_dir / f"gateway{i}.log" if self.log_dir else None
                self.gateways.append(ServerProcess(self.store, log_path=log,
                                                   args=["--bus", self.bus, *self.server_args]))
            with ThreadPoolExecutor(self.n) as pool:  # in parallel: each takes a second to import
                list(pool.map(lambda g: g.running() or g.start(60.0), self.gateways))
        except BaseException:
            self.stop()
            raise
        return self.urls

    def pids(self) -> list[int]:
        """Process ids of every running server this cluster started (gateways, Redis, PostgreSQL)."""
        out = [g.proc.pid for g in self.gateways if g.running()]
        for e in (self.redis, self.postgres):
            if e is not None and e.running():
                out.append(e._pid() if isinstance(e, Postgres) else e.proc.pid)
        return out

    def stop(self) -> None:
        for g in self.gateways:
            g.stop()
        for e in (self.redis, self.postgres):
            if e is not None:
                e.stop()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
