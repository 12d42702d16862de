import json
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.cli.abr import KEYS
from rtlib.net.traces import TRACES_DIR


def run_json(capsys, *args) -> dict:
    assert main(["abr", *args, "--json"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on one line
    return json.loads(out)


@pytest.mark.parametrize("controller", ["gcc", "aimd", "fixed", "aiortc-remb", "oracle", "selfclocked", "scream"])
def test_scenario_json_has_the_documented_keys(capsys, controller):
    out = run_json(capsys, "--scenario", "rfc8867-5.1", "--controller", controller, "--duration", "10")
    for k in KEYS:
        assert isinstance(out[k], float), k
    assert out["scenario"] == "rfc8867-5.1" and out["controller"] == controller and out["duration_s"] == 10.0
    assert out["capacity_kbps_mean"] == pytest.approx(1000.0)
    assert 0 <= out["loss"] <= 1 and 0 <= out["freeze_rate"] <= 1


def test_fixed_sends_its_start_rate(capsys):
    out = run_json(capsys, "--scenario", "constant", "--controller", "fixed", "--duration", "5")
    assert out["rate_kbps_mean"] == pytest.approx(300, rel=0.1)


def test_trace_input(capsys):
    out = run_json(capsys, "--trace", str(TRACES_DIR / "synthetic-cellular-drive.down"), "--duration", "5")
    assert out["trace"].endswith("synthetic-cellular-drive.down") and out["utilization"] > 0


def test_text_output(capsys):
    assert main(["abr", "--scenario", "constant", "--duration", "3"]) == 0
    text = capsys.readouterr().out
    assert "utilisation" in text and "kbit/s" in text


@pytest.mark.parametrize("args,message", [
    (["--scenario", "rfc8867-9.9"], "scenario must be one of"),
    (["--scenario", "constant", "--controller", "bbr"], "--controller must be one of"),
    (["--scenario", "constant", "--duration", "0"], "--duration must be in"),
    (["--trace", "/no/such/file"], "trace must be an existing"),
])
def test_bad_values_exit_2_with_a_message(capsys, args, message):
    assert main(["abr", *args]) == 2
    assert message in capsys.readouterr().err


def test_scenario_or_trace_is_required():
    with pytest.raises(SystemExit) as exc:
        main(["abr", "--controller", "gcc"])
    assert exc.value.code == 2


def test_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "rtlib", "abr", "--scenario", "constant", "--duration", "2",
                          "--json"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and json.loads(res.stdout)["scenario"] == "constant"
