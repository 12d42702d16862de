import subprocess
import sys

import pytest

from rtlib.cli import build_parser, main


def test_module_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "rtlib", "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "doctor" in res.stdout


def test_unknown_command_is_an_error():
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_every_subcommand_has_json_flag():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert any("--json" in a.option_strings for a in p._actions), f"{name} lacks --json"
