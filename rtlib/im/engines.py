"""Real Redis and PostgreSQL servers on this machine, started in a temp folder and stopped.

The IM cluster (:mod:`rtlib.im.cluster`) keeps its messages in PostgreSQL and its
presence registry and cross-gateway traffic in Redis.  Tests, benchmarks, the
``im-cluster`` command and notebooks/03_im_scale.ipynb start throwaway servers from
Debian's packages (``redis-server``; ``initdb`` + ``postgres`` from
``/usr/lib/postgresql/<version>/bin``), listening on 127.0.0.1 only, on a free port,
with their data in a temporary folder that is deleted when they stop.  If the process
that started them dies without stopping them (even by ``kill -9``), a watchdog process
(:mod:`rtlib.im.watchdog`) stops them and deletes the folder.

PostgreSQL refuses to run as root (``initdb`` says so).  When this process is root the
cluster is created and run as the ``postgres`` system user (or ``nobody``): the child
process drops to that user before it starts (``subprocess.Popen(user=..., group=...)``),
so the server stays this process's own child (reaped at once when killed, and its
``postmaster.pid`` lock is not held by a zombie); the data folder is handed to that user.  ``kill()`` sends SIGKILL to the
server process itself (``kill -9``), ``start()`` brings it back on the same port and data.

>>> with Redis() as r, Postgres() as pg:      # doctest: +SKIP
...     print(r.url, pg.url)
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


class EngineMissing(RuntimeError):
    """The server's binaries are not installed (``.ci/run`` installs them)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen | None, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout_s} s")


def _guard(pid: int, sig: int, folder: str) -> None:
    """Have this process's watchdog (:mod:`rtlib.im.watchdog`) stop server ``pid`` with ``sig`` and
    delete ``folder`` if this process dies without stopping it (``kill -9`` included)."""
    from rtlib.im.watchdog import watchdog

    w = watchdog()
    w.watch(pid, sig)
    w.remove_on_exit(folder)


class _Engine:
    """``with Engine() as e:`` starts it and stops it (deleting its data) at the end."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class Redis(_Engine):
    """``redis-server`` on 127.0.0.1, no persistence (the bus carries nothing durable)."""

    def __init__(self, port: int = 0, binary: str | None = None):
        self.binary = binary or shutil.which("redis-server") or ("/usr/bin/redis-server"
                                                                   if os.path.exists("/usr/bin/redis-server") else None)
        if self.binary is None:
            raise EngineMissing("redis-server is not installed (Debian package redis-server; .ci/run installs it)")
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="rtlib-redis-")
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        atexit.register(self.stop)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> str:
        if self.running():
            return self.url
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _guard(self.proc.pid, signal.SIGTERM, self.dir)
        _wait_port(self.port, self.proc, timeout_s, "redis-server")
        return self.url

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, like ``kill -9``."""
        if self.running():
            self.proc.kill()
            self.proc.wait(10)
            self.kills += 1

    def stop(self) -> None:
        if self.running():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def pg_bindir() -> str:
    """The folder holding ``initdb`` and ``postgres`` (``EngineMissing`` if none)."""
    for d in [os.environ.get("PG_BINDIR", "")] + sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if d and os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "postgres")):
            return d
    if shutil.which("pg_config"):
        d = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    raise EngineMissing("PostgreSQL server binaries (initdb, postgres) are not installed "
                        "(Debian package postgresql; .ci/run installs it)")


class Postgres(_Engine):
    """A throwaway PostgreSQL cluster: ``initdb`` in a temp folder, ``postgres`` on 127.0.0.1.

    ``fsync`` stays on and ``synchronous_commit`` is ``on`` (the defaults): a committed
    transaction is on disk before COMMIT returns, so an ack sent after it survives
    ``kill -9`` of the server.
    """

    def __init__(self, port: int = 0, bindir: str | None = None, user: str = "im"):
        self.bindir = bindir or pg_bindir()
        self.port = port or free_port()
        self.user = user
        self.dir = tempfile.mkdtemp(prefix="rtlib-pg-")
        self.data = os.path.join(self.dir, "data")
        self.proc: subprocess.Popen | None = None
        self.kills = 0
        self._as: dict = {}
        if os.geteuid() == 0:  # initdb refuses root: run as an unprivileged system user
            for name in ("postgres", "nobody"):
                try:
                    pw = pwd.getpwnam(name)
                except KeyError:
                    continue
                self._as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                break
            else:
                raise EngineMissing("running as root and no unprivileged user (postgres, nobody) to run PostgreSQL")
        os.chmod(self.dir, 0o700)
        self._initdb()
        atexit.register(self.stop)

    def _initdb(self) -> None:
        r = subprocess.run([os.path.join(self.bindir, "initdb"), "-D", self.data, "-U", self.user,
                            "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                           capture_output=True, text=True, cwd=self.dir, **self._as)
        if r.returncode != 0:
            raise RuntimeError(f"initdb failed: {r.stderr.strip()[-400:]}")

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def start(self, timeout_s: float = 20.0) -> str:
        if self.running():
            return self.url
        with open(os.path.join(self.dir, "server.log"), "ab") as log:
            self.proc = subprocess.Popen(
                [os.path.join(self.bindir, "postgres"), "-D", self.data, "-h", "127.0.0.1",
                 "-p", str(self.port), "-k", self.dir, "-c", "max_connections=200",
                 "-c", "shared_buffers=64MB", "-c", "log_min_messages=fatal"],
                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True, cwd=self.dir, **self._as)
        _guard(self.proc.pid, signal.SIGQUIT, self.dir)  # SIGQUIT: PostgreSQL's immediate shutdown
        _wait_port(self.port, self.proc, timeout_s, "postgres")
        # Accepting TCP is not accepting queries (recovery after kill -9): wait for a login.
        import psycopg

        deadline = time.monotonic() + timeout_s
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return self.url

    def _pid(self) -> int | None:
        """The postmaster's pid, from its lock file."""
        try:
            return int(Path(self.data, "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL of the postmaster and its backends (``kill -9``): no shutdown checkpoint."""
        if not self.running():
            return
        pid = self._pid()
        victims = []
        if pid:
            try:
                os.kill(pid, signal.SIGSTOP)  # freeze it first: no new backend is forked meanwhile
            except ProcessLookupError:
                pass
            victims = [pid] + _children(pid)
        for p in victims + [self.proc.pid]:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in victims) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.kills += 1

    def stop(self) -> None:
        """Stop at once and delete the data: "immediate" shutdown (SIGQUIT), which skips the
        checkpoint that the data, about to be deleted, does not need."""
        if self.running():
            try:
                os.kill(self.proc.pid, signal.SIGQUIT)
                self.proc.wait(5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def alive(pid: int) -> bool:
    """True while process ``pid`` runs (a zombie, dead but not yet reaped, is not alive)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                stat = Path("/proc", d, "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path("/proc", str(pid), "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
