"""Stop the servers a process started when that process dies, even by ``kill -9``.

A process that starts Redis or PostgreSQL (:mod:`rtlib.im.engines`) stops them itself
when it ends normally.  Killed with SIGKILL it runs no code at all, and the servers
would outlive it, holding their ports and temp folders.  The IM gateways avoid that by
reading their stdin to EOF (``im-server --exit-on-stdin-eof``); Redis and PostgreSQL
cannot be asked to.  So the first engine a process starts also starts one *watchdog*
process: a small Python program whose stdin is a pipe that only the starting process
writes to.  The kernel closes that pipe when the starting process dies, however it
dies; the watchdog then reads EOF, sends each registered server its shutdown signal
(SIGTERM for Redis, SIGQUIT for PostgreSQL's immediate shutdown), SIGKILLs what is
still running 5 s later, and deletes the registered folders.

The watchdog holds a Linux pidfd for each server (``os.pidfd_open``, taken while the
server certainly runs), so a pid reused by another process after the server exited is
never signalled.  A normal stop needs nothing from it: the signals find the servers
gone.  The watchdog ignores SIGINT, so Ctrl-C in a terminal reaches the starting
process (which stops its servers) and not the watchdog first.

Protocol on the watchdog's stdin, one line each: ``pid <pid> <signal number>`` and
``dir <path>``.  Used by :class:`rtlib.im.engines.Redis` and
:class:`rtlib.im.engines.Postgres` (the ``im-cluster`` command, notebook 03, the tests).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time

#: Seconds between the shutdown signal and SIGKILL.
GRACE_S = 5.0


class Watchdog:
    """The starting process's end: start the watchdog, register servers and folders."""

    def __init__(self):
        self._lock = threading.Lock()
        self.proc = subprocess.Popen([sys.executable, "-m", "rtlib.im.watchdog"], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True)
        self._owner = os.getpid()

    def _send(self, line: str) -> None:
        with self._lock:
            if os.getpid() != self._owner or self.proc.poll() is not None:
                return  # a forked child, or the watchdog is gone: nothing to tell
            try:
                self.proc.stdin.write(line.encode() + b"\n")
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def watch(self, pid: int, sig: int = signal.SIGTERM) -> None:
        """Send ``sig`` to process ``pid`` (then SIGKILL) when this process dies."""
        self._send(f"pid {int(pid)} {int(sig)}")

    def remove_on_exit(self, path: str) -> None:
        """Delete folder ``path`` when this process dies."""
        if "\n" in path:
            raise ValueError(f"path must not contain a newline, got {path!r}")
        self._send(f"dir {path}")


_WATCHDOG: Watchdog | None = None
_WATCHDOG_LOCK = threading.Lock()


def watchdog() -> Watchdog:
    """This process's watchdog, started on first use."""
    global _WATCHDOG
    with _WATCHDOG_LOCK:
        if _WATCHDOG is None or _WATCHDOG._owner != os.getpid() or _WATCHDOG.proc.poll() is not None:
            _WATCHDOG = Watchdog()
        return _WATCHDOG


# -- the watchdog process ------------------------------------------------------------------------
def _exited(fd: int) -> bool:
    """A pidfd reads ready once its process has exited."""
    return bool(select.select([fd], [], [], 0)[0])


def serve(stream) -> None:
    """Read registrations until EOF, then stop every registered server and delete the folders."""
    servers: list[tuple[int, int]] = []   # (pidfd, signal)
    dirs: list[str] = []
    for raw in stream:
        kind, _, arg = raw.decode(errors="replace").strip().partition(" ")
        if kind == "pid":
            try:
                pid, sig = (int(x) for x in arg.split())
                fd = os.pidfd_open(pid)
            except (ValueError, OSError):
                continue  # malformed, or the process is already gone
            keep = []
            for old in servers:  # forget servers that exited (a long test restarts many)
                if _exited(old[0]):
                    os.close(old[0])
                else:
                    keep.append(old)
            servers = keep + [(fd, sig)]
        elif kind == "dir" and arg:
            dirs.append(arg)
    for fd, sig in servers:
        try:
            signal.pidfd_send_signal(fd, sig)
        except OSError:
            pass
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and not all(_exited(fd) for fd, _ in servers):
        time.sleep(0.05)
    for fd, _ in servers:
        if not _exited(fd):
            try:
                signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
        os.close(fd)
    time.sleep(0.2)  # let a SIGKILLed server's files close before its folder goes
    for d in dict.fromkeys(dirs):  # a server restarted on the same folder registers it again
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer)
