"""``python -m rtlib im-cluster``: prints the addresses, and Ctrl-C stops everything it started."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rtlib.im.engines import EngineMissing, Redis, pg_bindir


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_im_cluster_starts_and_ctrl_c_stops_all(tmp_path):
    try:
        pg_bindir(), Redis().stop()  # both servers installed (Redis() only looks for the binary)
    except EngineMissing as exc:
        pytest.skip(str(exc))
    p = subprocess.Popen([sys.executable, "-m", "rtlib", "im-cluster", "--gateways", "2", "--users", "2", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        info = json.loads(p.stdout.readline())
        assert len(info["gateways"]) == 2 and all(u.startswith("ws://127.0.0.1:") for u in info["gateways"])
        assert info["store"].startswith("postgresql://") and info["bus"].startswith("redis://127.0.0.1:")
        assert set(info["tokens"]) == {"u0", "u1"}
        pids = info["pids"]
        assert len(pids) == 4 and all(_alive(q) for q in pids)  # 2 gateways, Redis, PostgreSQL
        p.send_signal(signal.SIGINT)
        assert p.wait(30) == 0
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(q) for q in pids):
            time.sleep(0.1)
        assert not [q for q in pids if _alive(q)]  # nothing left behind
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)


def test_im_cluster_rejects_bad_arguments():
    r = subprocess.run([sys.executable, "-m", "rtlib", "im-cluster", "--gateways", "0"], capture_output=True, text=True)
    assert r.returncode != 0 and "gateways" in r.stderr
    r = subprocess.run([sys.executable, "-m", "rtlib", "im-server", "--db", "x.sqlite", "--bus", "http://x"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "--bus" in r.stderr
