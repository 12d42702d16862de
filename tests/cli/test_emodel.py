import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.quality.emodel import emodel

TERMS = ("R", "MOS", "Ro", "Is", "Id", "Idte", "Idle", "Idd", "Ie_eff", "A")


def run_json(capsys, *args) -> dict:
    assert main(["emodel", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on one line
    return json.loads(out)


def test_json_has_r_mos_and_every_term(capsys):
    out = run_json(capsys, "--delay-ms", "150", "--loss", "0.01", "--codec", "g711")
    ref = emodel(150.0, 0.01, "g711")
    for k in TERMS:
        assert out[k] == pytest.approx(getattr(ref, k)), k
    assert out["Bpl"] == 25.1 and out["Ie"] == 0.0 and out["plc"] is True and out["codec"] == "g711"
    assert out["standard"].startswith("ITU-T G.107") and "G.113" in out["codec_source"]
    assert out["satisfaction"] == "satisfied"


def test_defaults_give_the_g107_default_r(capsys):
    out = run_json(capsys)
    assert round(out["R"], 1) == 93.2 and out["delay_ms"] == 0.0 and out["loss"] == 0.0


def test_no_plc_and_burst_r(capsys):
    out = run_json(capsys, "--loss", "0.02", "--no-plc", "--burst-r", "2")
    assert out["Bpl"] == 4.3 and out["plc"] is False and out["burst_r"] == 2.0
    assert out["Ie_eff"] == pytest.approx(95 * 2 / (2 / 2 + 4.3))


def test_echo_free(capsys):
    out = run_json(capsys, "--delay-ms", "300", "--echo-free")
    assert out["Idte"] == 0.0 and out["echo"] is False
    assert out["R"] > run_json(capsys, "--delay-ms", "300")["R"]


def test_text_output_lists_the_terms(capsys):
    assert main(["emodel", "--delay-ms", "250", "--codec", "g729a"]) == 0
    text = capsys.readouterr().out
    for word in ("Ro", "Is", "Idte", "Idle", "Idd", "Ie,eff", "MOS", "G.729A"):
        assert word in text


@pytest.mark.parametrize(
    "args,message",
    [
        (["--loss", "1.5"], "loss must be in [0, 1], got 1.5"),
        (["--delay-ms", "-3"], "delay_ms must be in [0, inf] ms, got -3"),
        (["--delay-ms", "nan"], "delay_ms must be finite"),
        (["--codec", "opus"], "codec must be one of"),
        (["--codec", "g729a", "--no-plc"], "built-in loss concealment"),
        (["--burst-r", "0"], "burst_r must be in"),
    ],
)
def test_bad_values_exit_2_with_a_clear_message(capsys, args, message):
    assert main(["emodel", *args, "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and message in captured.err


def test_module_entry_point_prints_json():
    res = subprocess.run([sys.executable, "-m", "rtlib", "emodel", "--delay-ms", "100", "--loss", "0.05",
                          "--codec", "g729a", "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["R"] == pytest.approx(emodel(100.0, 0.05, "g729a").R)
