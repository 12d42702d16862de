"""Real Redis and PostgreSQL for the cluster tests (skipped, saying why, when not installed)."""

import itertools

import pytest

from rtlib.im.engines import EngineMissing, Postgres, Redis

_dbs = itertools.count()


def _engine(make):
    try:
        engine = make()
    except EngineMissing as exc:
        pytest.skip(str(exc))
    engine.start()
    return engine


@pytest.fixture(scope="session")
def postgres():
    pg = _engine(Postgres)
    yield pg
    pg.stop()


@pytest.fixture(scope="session")
def redis_server():
    r = _engine(Redis)
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
