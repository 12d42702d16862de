import json

import pytest

import rtlib.doctor as doc
from rtlib.cli import main


def test_doctor_passes_here(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "The course can run here." in out
    assert "codec opus" in out and "codec vp8" in out and "codec pcmu" in out


def test_doctor_json_is_one_object(capsys):
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["fixes"] == []
    names = {c["name"] for c in report["checks"]}
    assert {"python", "numpy", "aiortc", "widgets render", "audio players", "tshark"} <= names


def test_doctor_fails_with_a_fix_line_per_problem(monkeypatch, capsys):
    real_import = doc._import

    def broken(name):
        if name in {"aiortc", "scipy"} or name.startswith("aiortc."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name)

    monkeypatch.setattr(doc, "_import", broken)
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    fixes = [line for line in out.splitlines() if line.strip().startswith("fix:")]
    assert any("scipy" in f for f in fixes) and any("aiortc" in f for f in fixes)
    assert "problem(s) stop the course from running" in out


def test_missing_optional_tool_does_not_fail(monkeypatch):
    monkeypatch.setattr(doc, "_which", lambda tool: None)
    report = doc.run_checks()
    assert report.ok
    assert {c.name for c in report.checks if not c.ok} >= {"tshark", "sox"}


def test_old_python_is_a_problem(monkeypatch):
    monkeypatch.setattr(doc, "MIN_PYTHON", (9, 0))
    report = doc.run_checks()
    assert not report.ok and report.problems[0].name == "python"
