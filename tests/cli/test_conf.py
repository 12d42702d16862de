"""``python -m rtlib conf``: the topology calculator (and simulation) on the command line."""

import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.conf.topology import load


def run_json(capsys, *args) -> dict:
    assert main(["conf", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on one line
    return json.loads(out)


@pytest.mark.parametrize("topology", ["mesh", "sfu", "mcu"])
def test_json_is_the_calculator(capsys, topology):
    out = run_json(capsys, "--topology", topology, "--participants", "6", "--bitrate-kbps", "800")
    ref = load(topology, 6, 800).to_dict()
    for k in ("client_up_kbps", "client_down_kbps", "server_in_kbps", "server_out_kbps", "server_cpu_cores",
              "server_encodes", "client_decodes"):
        assert out["load"][k] == pytest.approx(ref[k]), k
    assert out["mesh_saturation_n"] == 14  # 12 copies of 832 kbit/s fit in 10 Mbit/s, 13 do not: N - 1 = 13


def test_simulcast_and_layers(capsys):
    out = run_json(capsys, "--topology", "sfu", "--participants", "4", "--bitrate-kbps", "600", "--simulcast",
                   "--layers-kbps", "100,300,900", "--audio-kbps", "0")
    assert out["load"]["client_up_kbps"] == 1300 and out["load"]["received_layer_kbps"] == 300


def test_simulate(capsys):
    out = run_json(capsys, "--topology", "sfu", "--participants", "3", "--bitrate-kbps", "500", "--simulate", "2")
    sim = out["simulation"]
    assert len(sim["per_participant"]) == 3 and sim["server"]["in_kbps"] > 0


def test_text_output(capsys):
    assert main(["conf", "--topology", "mcu", "--participants", "5", "--bitrate-kbps", "500"]) == 0
    text = capsys.readouterr().out
    assert "MCU" in text and "encodes 5" in text


@pytest.mark.parametrize("args, word", [
    (["--topology", "sfu", "--participants", "1", "--bitrate-kbps", "500"], "participants"),
    (["--topology", "sfu", "--participants", "3", "--bitrate-kbps", "-5"], "bitrate_kbps"),
    (["--topology", "mesh", "--participants", "3", "--bitrate-kbps", "500", "--simulcast"], "simulcast"),
    (["--topology", "sfu", "--participants", "3", "--bitrate-kbps", "500", "--layers-kbps", "1,x"], "layers-kbps"),
    (["--topology", "sfu", "--participants", "3", "--bitrate-kbps", "500", "--last-n", "7"], "last_n"),
])
def test_bad_values_one_line_exit_2(capsys, args, word):
    assert main(["conf", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and word in err and err.startswith("rtlib conf: error:")


def test_bad_topology_is_an_argparse_error():
    res = subprocess.run([sys.executable, "-m", "rtlib", "conf", "--topology", "star", "--participants", "3",
                          "--bitrate-kbps", "500"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2 and "invalid choice" in res.stderr
