"""Real Redis and PostgreSQL for the cluster tests (skipped, saying why, when not installed)."""

import itertools

import pytest

from rtlib.im.engines import EngineMissing, Postgres, Redis

_dbs = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    try:
        pg = Postgres()
    except EngineMissing as exc:
        pytest.skip(str(exc))
    pg.start()
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def redis_server():
    try:
        r = Redis()
    except EngineMissing as exc:
        pytest.skip(str(exc))
    r.start()
    yield r
    r.stop()


@pytest.fixture
def pg_url(postgres):
    """A fresh, empty database in the session's PostgreSQL."""
    import psycopg

    postgres.start()  # a test may have killed it
    name = f"t{next(_dbs)}"
    with psycopg.connect(postgres.url, autocommit=True) as db:
        db.execute(f"CREATE DATABASE {name}")
    return postgres.url.rsplit("/", 1)[0] + "/" + name
