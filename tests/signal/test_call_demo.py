"""``python -m rtlib call-demo``: URLs on loopback, the page served, a call answered by its aiortc peer."""

import asyncio
import json
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest

from rtlib.cli import main
from rtlib.signal.peer import CallPeer


@pytest.mark.timeout(90)
def test_call_demo_serves_the_page_and_its_aiortc_peer_answers():
    proc = subprocess.Popen([sys.executable, "-m", "rtlib", "call-demo", "--seconds", "20", "--json"],
                            stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["im_url"].startswith("ws://127.0.0.1:") and info["page_base"].startswith("http://127.0.0.1:")
        html = urllib.request.urlopen(info["page_base"], timeout=10).read().decode()
        js = urllib.request.urlopen(info["page_base"].replace("call.html", "call.js"), timeout=10).read().decode()
        assert '<script src="call.js">' in html and "RTCPeerConnection" in js and "http" not in js.split("//", 1)[0]
        with pytest.raises(urllib.error.HTTPError):  # no listing, nothing outside static/
            urllib.request.urlopen(info["page_base"].replace("call.html", ""), timeout=10)
        frag = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(info["pages"]["bob"]).fragment))
        assert frag["ws"] == info["im_url"] and frag["user"] == "bob" and frag["peer"] == "alice"

        async def call_alice():
            async with CallPeer(frag["ws"], "bob", frag["token"], "alice", frag["conv"], device="test") as bob:
                await bob.call()
                await bob.wait_state("in_call", timeout_s=20)
                await bob.wait_frames(video=3, audio=3)
                return bob.machine.remote_device

        assert asyncio.run(call_alice()) == "kernel"
    finally:
        proc.terminate()
        rc = proc.wait(20)
    assert rc == 0


def test_call_demo_refuses_bad_arguments(tmp_path, capsys):
    (tmp_path / "x.sqlite").write_text("")
    for argv, msg in ((["--seconds", "-1"], "--seconds must be in"),
                      (["--db", str(tmp_path / "x.sqlite")], "--db must name a new file")):
        assert main(["call-demo", *argv]) == 2
        assert msg in capsys.readouterr().err
