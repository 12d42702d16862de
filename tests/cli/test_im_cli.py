import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.im.live import ServerProcess

pytestmark = pytest.mark.timeout(120)


def rtlib(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "rtlib", *args], capture_output=True, text=True, timeout=timeout)


def test_im_admin_creates_users_tokens_and_conversations(tmp_path, capsys):
    db = str(tmp_path / "chat.sqlite")
    assert main(["im-admin", "--db", db, "add-user", "alice", "--json"]) == 0
    alice = json.loads(capsys.readouterr().out)
    assert alice["user"] == "alice" and len(alice["token"]) >= 32
    assert main(["im-admin", "--db", db, "--json", "add-user", "bob"]) == 0
    capsys.readouterr()
    assert main(["im-admin", "--db", db, "add-conv", "ab", "alice", "bob", "--kind", "direct", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"conv": "ab", "members": ["alice", "bob"], "kind": "direct"}
    assert main(["im-admin", "--db", db, "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["users"] == ["alice", "bob"] and listing["conversations"]["ab"]["last_seq"] == 0
    assert main(["im-admin", "--db", db, "token", "alice", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)["token"]
    assert second != alice["token"]
    assert main(["im-admin", "--db", db, "token", "alice", "--json"]) == 0
    capsys.readouterr()
    assert main(["im-admin", "--db", db, "revoke", "alice", "--token", second, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revoked"] == 1  # only that one
    assert main(["im-admin", "--db", db, "revoke", "alice", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revoked"] == 2


def test_im_admin_bad_values_exit_2(tmp_path, capsys):
    db = str(tmp_path / "chat.sqlite")
    assert main(["im-admin", "--db", db, "add-user", "alice"]) == 0
    assert main(["im-admin", "--db", db, "add-user", "alice"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["im-admin", "--db", db, "add-user", "no spaces"]) == 2
    assert main(["im-admin", "--db", db, "add-conv", "c", "ghost"]) == 2
    assert "no user named 'ghost'" in capsys.readouterr().err


def test_im_server_bad_values_exit_2(tmp_path, capsys):
    assert main(["im-server", "--db", str(tmp_path / "x.sqlite"), "--port", "70000"]) == 2
    assert "--port" in capsys.readouterr().err
    for flag, value in (("--send-rate-per-s", "0"), ("--send-burst", "0"), ("--max-out-kib", "1"),
                        ("--frame-rate-per-s", "0")):
        assert main(["im-server", "--db", str(tmp_path / "x.sqlite"), flag, value]) == 2
        assert flag in capsys.readouterr().err


def test_server_and_chat_client_end_to_end(tmp_path):
    db = str(tmp_path / "chat.sqlite")
    tokens = {}
    for user in ("alice", "bob"):
        out = rtlib("im-admin", "--db", db, "add-user", user, "--json")
        assert out.returncode == 0, out.stderr
        tokens[user] = json.loads(out.stdout)["token"]
    assert rtlib("im-admin", "--db", db, "add-conv", "ab", "alice", "bob").returncode == 0
    with ServerProcess(db) as srv:
        sent = rtlib("im-chat", "--url", srv.url, "--user", "alice", "--token", tokens["alice"], "--conv", "ab",
                     "--send", "hello bob", "--send", "二", "--json")
        assert sent.returncode == 0, sent.stderr
        acks = json.loads(sent.stdout)["acks"]
        assert [a["seq"] for a in acks] == [1, 2]
        got = rtlib("im-chat", "--url", srv.url, "--user", "bob", "--token", tokens["bob"], "--conv", "ab",
                    "--listen-s", "0.5", "--json")
        assert got.returncode == 0, got.stderr
        msgs = json.loads(got.stdout)["messages"]
        assert [(m["seq"], m["sender"], m["body"]) for m in msgs] == [(1, "alice", "hello bob"), (2, "alice", "二")]
        text = rtlib("im-chat", "--url", srv.url, "--user", "bob", "--token", tokens["bob"], "--conv", "ab",
                     "--listen-s", "0.3")
        assert "[ab #2] alice: 二" in text.stdout
        bad = rtlib("im-chat", "--url", srv.url, "--user", "bob", "--token", "wrong", "--conv", "ab",
                    "--listen-s", "0.3")
        assert bad.returncode == 1 and "authentication failed" in bad.stderr
        assert srv.running()


def test_im_server_json_ready_line(tmp_path):
    srv = ServerProcess(tmp_path / "s.sqlite")
    try:
        url = srv.start()
        assert url.startswith("ws://127.0.0.1:") and srv.port > 0
    finally:
        srv.stop()
    assert not srv.running()
    with pytest.raises(ValueError, match="loopback"):
        ServerProcess(tmp_path / "s.sqlite", host="0.0.0.0")
