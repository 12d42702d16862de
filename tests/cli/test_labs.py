"""``rtlib labs``: the graded labs from the course's command line (what `make labs` / `make grade` do)."""

import csv
import json
import shutil
import subprocess
import sys

import pytest

from rtlib.cli import main
from rtlib.labs import list_labs


@pytest.mark.parametrize("args, words", [
    (["labs", "--help"], ("make labs", "make grade", "ACTION", "autograder.zip")),
    (["labs", "build", "--help"], ("--out", "--no-run-tests", "otter assign")),
    (["labs", "grade", "--help"], ("LAB", "DIR", "--timeout-s", "--hide-hidden", "grades.csv", "built if missing")),
])
def test_help_explains_each_action(args, words):
    out = subprocess.run([sys.executable, "-m", "rtlib", *args], capture_output=True, text=True, check=True).stdout
    for w in words:
        assert w in out, (w, out)


def test_list_names_the_labs(capsys):
    assert main(["labs", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"labs": list_labs()}
    assert main(["labs", "list"]) == 0
    assert capsys.readouterr().out.split() == list_labs()


@pytest.mark.parametrize("args", [["labs", "grade", "no_such_lab", "."], ["labs", "build", "no_such_lab"]])
def test_a_bad_lab_name_is_a_clear_error_naming_the_labs(args, capsys, tmp_path):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "unknown lab 'no_such_lab'" in err and all(lab in err for lab in list_labs())


def test_grade_needs_a_folder(capsys, tmp_path):
    lab = list_labs()[0]
    assert main(["labs", "grade", lab, str(tmp_path / "missing")]) == 2
    assert "DIR must be a folder of .ipynb files" in capsys.readouterr().err


def test_build_then_grade_the_shipped_solution_gets_full_marks(capsys, tmp_path):
    lab = "edge_placement"
    assert main(["labs", "build", lab, "--out", str(tmp_path / "build"), "--no-run-tests", "--json"]) == 0
    built = json.loads(capsys.readouterr().out)["built"]
    assert built == [str(tmp_path / "build" / lab)]
    subs = tmp_path / "inbox"
    subs.mkdir()
    shutil.copy(tmp_path / "build" / lab / "solution" / f"{lab}.ipynb", subs / "alice.ipynb")
    student = json.loads((tmp_path / "build" / lab / "student" / f"{lab}.ipynb").read_text())
    (subs / "bob.ipynb").write_text(json.dumps(student))  # the handed-out notebook, nothing filled in
    out = tmp_path / "grades"
    assert main(["labs", "grade", lab, str(subs), "--autograder", str(tmp_path / "build" / lab / "autograder.zip"),
                 "--out", str(out), "--workers", "2", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    alice, bob = res["students"]["alice"], res["students"]["bob"]
    assert res["graded"] == 2 and res["full_marks"] == 1
    assert alice["total"] == alice["max_total"] > 0 and bob["total"] < bob["max_total"]
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert sorted(r["student"] for r in rows) == ["alice", "bob"]
    assert (out / "feedback" / "alice.txt").is_file()


def test_json_before_or_after_the_action(capsys):
    for args in (["labs", "--json", "list"], ["labs", "list", "--json"]):
        assert main(args) == 0
        assert json.loads(capsys.readouterr().out) == {"labs": list_labs()}
