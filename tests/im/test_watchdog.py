"""The engines' watchdog: servers a process started stop when it dies by ``kill -9``."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rtlib.im.engines import EngineMissing, Postgres, Redis, alive
from rtlib.im.watchdog import serve

STARTER = """
import json, sys, time
from rtlib.im.engines import Postgres, Redis
r, pg = Redis(), Postgres()
r.start(); pg.start()
print(json.dumps({"pids": [r.proc.pid, pg.proc.pid], "dirs": [r.dir, pg.dir]}), flush=True)
time.sleep(600)
"""


def _need_engines():
    try:
        Redis().stop()
        Postgres().stop()
    except EngineMissing as exc:
        pytest.skip(str(exc))


def _gone_within(pids, dirs, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(alive(p) for p in pids) and not any(os.path.exists(d) for d in dirs):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.timeout(90)
def test_servers_stop_and_folders_go_when_their_starter_is_killed():
    _need_engines()
    proc = subprocess.Popen([sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True)
    info = json.loads(proc.stdout.readline())
    assert all(alive(p) for p in info["pids"]) and all(os.path.isdir(d) for d in info["dirs"])
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    proc.stdout.close()
    assert _gone_within(info["pids"], info["dirs"], 15), (
        f"left running: {[p for p in info['pids'] if alive(p)]}, "
        f"left on disk: {[d for d in info['dirs'] if os.path.exists(d)]}")


def test_serve_signals_each_registered_process_then_deletes_its_folder(tmp_path):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    stubborn = subprocess.Popen([sys.executable, "-c",
                                 "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                 "print('ready', flush=True); time.sleep(600)"], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline().strip() == "ready"
    folder = tmp_path / "data"
    folder.mkdir()
    lines = (f"pid {victim.pid} {int(signal.SIGTERM)}\npid {stubborn.pid} {int(signal.SIGTERM)}\n"
             f"pid not-a-pid 15\npid 999999999 15\nsomething else\ndir {folder}\n")
    t0 = time.monotonic()
    serve(io.BytesIO(lines.encode()))
    took = time.monotonic() - t0
    assert victim.wait(5) == -signal.SIGTERM       # asked politely, it went
    assert stubborn.wait(5) == -signal.SIGKILL     # ignored SIGTERM: killed after the grace time
    assert 4.5 <= took < 10
    assert not folder.exists()
    stubborn.stdout.close()



def test_servers_that_exited_are_forgotten_as_new_ones_register(tmp_path):
    """A long run restarts servers many times: the watchdog closes the pidfds of those gone."""
    before = len(os.listdir("/proc/self/fd"))
    r, w = os.pipe()
    dead = [subprocess.Popen([sys.executable, "-c", "pass"]) for _ in range(3)]
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])

    def feed():
        for p in dead:
            os.write(w, f"pid {p.pid} 15\n".encode())
            time.sleep(0.3)
            p.wait(10)  # it exits (and is reaped) after it was registered
        time.sleep(0.3)
        os.write(w, f"pid {live.pid} 15\n".encode())
        time.sleep(0.3)
        counts.append(len(os.listdir("/proc/self/fd")))
        os.close(w)

    counts: list[int] = []
    t = threading.Thread(target=feed)
    t.start()
    with os.fdopen(r, "rb") as stream:
        serve(stream)
    t.join()
    assert live.wait(5) == -signal.SIGTERM
    # while serving: the pipe's two ends, and one pidfd (the live server) instead of four
    assert counts[0] - before <= 3, counts[0] - before
