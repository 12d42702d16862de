"""``python -m rtlib edge``: central vs edge on the command line."""

import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.conf.edge import central_call


def run_json(capsys, *args) -> dict:
    assert main(["edge", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    return json.loads(out)


def test_central_json_is_the_library(capsys):
    out = run_json(capsys, "--participants", "Shanghai,São Paulo,Berlin", "--deployment", "central")
    ref = central_call(["Shanghai", "São Paulo", "Berlin"]).to_dict()
    assert out["deployment"] == "central" and len(out["pairs"]) == 6
    assert out["worst_mouth_to_ear_ms"] == pytest.approx(ref["worst_mouth_to_ear_ms"])
    assert {p["server"] for p in out["participants"]} == {"Washington, D.C."}


def test_edge_json_places_k_sites_and_beats_central(capsys):
    edge = run_json(capsys, "--participants", "Shanghai,Sao Paulo,Berlin", "--deployment", "edge", "--k", "3")
    central = run_json(capsys, "--participants", "Shanghai,Sao Paulo,Berlin", "--deployment", "central")
    assert len(edge["placement"]["sites"]) == 3 and edge["placement"]["method"] == "exact"

    def m2e(d):
        return next(p["mouth_to_ear_ms"] for p in d["pairs"] if (p["a"], p["b"]) == ("Shanghai", "São Paulo"))

    assert m2e(edge) < m2e(central)
    named = run_json(capsys, "--participants", "Shanghai,Berlin", "--deployment", "edge", "--edges", "Tokyo,London",
                     "--access", "4g")
    assert {p["server"] for p in named["participants"]} == {"Tokyo", "London"} and "placement" not in named


def test_text_output(capsys):
    assert main(["edge", "--participants", "London,New York", "--deployment", "central", "--server", "Dublin"]) == 0
    text = capsys.readouterr().out
    assert "central deployment (server Dublin)" in text and "within 400 ms" in text


@pytest.mark.parametrize("args, words", [
    (["--participants", "Shangai,Berlin", "--deployment", "edge"], ["unknown city 'Shangai'", "Shanghai"]),
    (["--participants", "Berlin", "--deployment", "central"], ["at least 2"]),
    (["--participants", "Berlin,Paris", "--deployment", "edge", "--k", "9"], ["--k"]),
    (["--participants", "Berlin,Paris", "--deployment", "edge", "--server", "Dublin"], ["--server"]),
    (["--participants", "Berlin,Paris", "--deployment", "central", "--access", "pigeon"], ["access"]),
])
def test_bad_values_one_line_exit_2(capsys, args, words):
    assert main(["edge", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("rtlib edge: error:")
    for w in words:
        assert w in err


def test_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "rtlib", "edge", "--participants", "Shanghai,São Paulo",
                          "--deployment", "central", "--json"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and json.loads(res.stdout)["deployment"] == "central"
