"""``python -m rtlib im-cluster``: prints the addresses, and Ctrl-C stops everything it started."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from rtlib.im.engines import EngineMissing, Redis, alive, pg_bindir


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
        assert len(pids) == 4 and all(alive(q) for q in pids)  # 2 gateways, Redis, PostgreSQL
        p.send_signal(signal.SIGINT)
        assert p.wait(30) == 0
        deadline = time.time() + 10
        while time.time() < deadline and any(alive(q) for q in pids):
            time.sleep(0.1)
        assert not [q for q in pids if alive(q)]  # nothing left behind
    finally:
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)


def test_im_cluster_rejects_bad_arguments():
    r = subprocess.run([sys.executable, "-m", "rtlib", "im-cluster", "--gateways", "0"], capture_output=True, text=True)
    assert r.returncode != 0 and "gateways" in r.stderr
    r = subprocess.run([sys.executable, "-m", "rtlib", "im-server", "--db", "x.sqlite", "--bus", "http://x"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "--bus" in r.stderr


def test_im_chat_moves_to_the_next_gateway(tmp_path):
    from rtlib.im.engines import free_port
    from rtlib.im.local_cluster import LocalCluster

    try:
        pg_bindir(), Redis().stop()
    except EngineMissing as exc:
        pytest.skip(str(exc))
    with LocalCluster(2, log_dir=tmp_path) as cl:
        tokens = cl.setup(["alice", "bob"], {"ab": ("alice", "bob")})
        dead = f"ws://127.0.0.1:{free_port()}"  # nothing listens there: a gateway that died
        run = [sys.executable, "-m", "rtlib", "im-chat", "--conv", "ab", "--json"]
        sent = subprocess.run(run + ["--url", f"{dead},{cl.urls[0]}", "--user", "alice", "--token", tokens["alice"],
                                     "--send", "over the cluster"], capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        assert [a["seq"] for a in json.loads(sent.stdout)["acks"]] == [1]
        got = subprocess.run(run + ["--url", cl.urls[1], "--user", "bob", "--token", tokens["bob"], "--listen-s", "0.5"],
                             capture_output=True, text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        assert [(m["seq"], m["body"]) for m in json.loads(got.stdout)["messages"]] == [(1, "over the cluster")]
        bad = subprocess.run(run + ["--url", "http://x", "--user", "bob", "--token", "t"], capture_output=True,
                             text=True, timeout=60)
        assert bad.returncode != 0 and "--url" in bad.stderr
