"""``rtlib call``: JSON fields, the pcap, clear errors."""

import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.rtp import read_pcap

FIELDS = {"sent", "received", "lost", "late", "duplicated", "jitter_ms", "delay_ms_mean", "delay_ms_p95"}


def run_json(capsys, *args):
    assert main(["call", *args, "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1  # exactly one JSON object
    return json.loads(out[0])


def test_json_has_the_documented_fields(capsys, tmp_path):
    pcap = tmp_path / "out.pcap"
    d = run_json(capsys, "--codec", "pcmu", "--seconds", "4", "--delay-ms", "60", "--jitter-ms", "20",
                 "--loss", "0.05", "--seed", "3", "--pcap", str(pcap))
    assert FIELDS <= set(d)
    assert d["sent"] == 200 and d["received"] + d["path_lost"] == d["sent"]
    assert d["lost"] == d["expected"] - d["received"] and d["duplicated"] == 0
    assert 60 <= d["delay_ms_mean"] <= d["delay_ms_p95"] and d["jitter_ms"] > 0
    assert d["pcap"] == str(pcap)
    assert sum(port == 5004 for _, port, _ in read_pcap(pcap)) == d["received"]


def test_seed_makes_runs_repeatable(capsys):
    a = run_json(capsys, "--seconds", "2", "--loss", "0.1", "--seed", "4")
    b = run_json(capsys, "--seconds", "2", "--loss", "0.1", "--seed", "4")
    c = run_json(capsys, "--seconds", "2", "--loss", "0.1", "--seed", "5")
    assert a == b and a != c


def test_buffer_option(capsys):
    small = run_json(capsys, "--seconds", "10", "--jitter-ms", "30", "--buffer", "fixed:10", "--seed", "1")
    big = run_json(capsys, "--seconds", "10", "--jitter-ms", "30", "--buffer", "fixed:300", "--seed", "1")
    adaptive = run_json(capsys, "--seconds", "10", "--jitter-ms", "30", "--buffer", "adaptive", "--seed", "1")
    assert big["late"] < small["late"] and big["playout_delay_ms"] > small["playout_delay_ms"]
    assert adaptive["buffer"] == "adaptive" and adaptive["late"] < small["late"]


@pytest.mark.parametrize("args, words", [
    (["--loss", "1.5"], "loss must be in [0, 1]"),
    (["--seconds", "0"], "seconds must be in"),
    (["--jitter-ms", "-1"], "jitter_ms"),
    (["--buffer", "fixed:abc"], "buffer must be"),
    (["--seed", "-3"], "seed"),
])
def test_bad_values_exit_2_with_a_clear_message(capsys, args, words):
    assert main(["call", *args]) == 2
    assert words in capsys.readouterr().err


def test_text_output_and_module_entry_point(tmp_path):
    res = subprocess.run([sys.executable, "-m", "rtlib", "call", "--seconds", "2", "--loss", "0.05",
                          "--pcap", str(tmp_path / "x.pcap")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0
    assert "received" in res.stdout and "jitter" in res.stdout and "tshark -r" in res.stdout


def test_options_reach_the_call(capsys, tmp_path):
    from rtlib.rtp import RtpPacket

    pcap = tmp_path / "a.pcap"
    d = run_json(capsys, "--codec", "pcma", "--seconds", "2", "--jitter-dist", "pareto", "--no-reorder",
                 "--loss", "0.1", "--burst-len", "3", "--pcap", str(pcap))
    assert d["codec"] == "pcma"
    assert d["params"]["jitter_dist"] == "pareto" and d["params"]["reorder"] is False
    assert d["params"]["burst_len"] == 3.0 and d["params"]["loss"] == 0.1
    rtp = [RtpPacket.parse(data) for _, port, data in read_pcap(pcap) if port == 5004]
    assert rtp and all(p.payload_type == 8 for p in rtp)  # G.711 A-law, RFC 3551
