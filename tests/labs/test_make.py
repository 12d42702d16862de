"""``make labs`` and ``make grade`` as an instructor runs them, in a fresh clone.

The clone is a copy of the files git tracks (``tests.test_commands.fresh_clone``); make
reuses this test run's environment (``VENV=``) instead of installing the course again.
``make labs`` builds all six labs (each solution run against its tests); ``make grade``
then grades a folder of synthetic submissions of one lab: the solution, the untouched
student notebook, the lab's planted typical mistake, a crash and an endless loop.
"""

from __future__ import annotations

import csv
import shlex
import subprocess
from pathlib import Path

import pytest

from rtlib.labs import list_labs
from tests.labs.conftest import MISTAKES, add_code_cell, read_nb, replace_in_code, write_nb
from tests.test_commands import _env, fresh_clone, to_argv

LAB = "rtp_jitter"


def _make(clone: Path, cmd: str, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run(to_argv(cmd, clone), cwd=clone, env=_env(), capture_output=True, text=True,
                          timeout=timeout_s)


@pytest.mark.timeout(600)
def test_make_labs_then_make_grade_from_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    assert not (clone / "build").exists()

    built = _make(clone, "make labs", 400)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    for lab in list_labs():
        assert (clone / "build" / "labs" / lab / "autograder.zip").is_file(), lab
        assert (clone / "build" / "labs" / lab / "student" / f"{lab}.ipynb").is_file(), lab

    lab_dir = clone / "build" / "labs" / LAB
    sol = read_nb(lab_dir / "solution" / f"{LAB}.ipynb")
    subs = tmp_path / "inbox"
    write_nb(sol, subs / "full.ipynb")
    write_nb(read_nb(lab_dir / "student" / f"{LAB}.ipynb"), subs / "empty.ipynb")
    part, old, new = MISTAKES[LAB]
    write_nb(replace_in_code(sol, old, new), subs / "mistake.ipynb")
    write_nb(add_code_cell(sol, "import os\nos._exit(3)"), subs / "crash.ipynb")
    write_nb(replace_in_code(sol, "    ext = [int(seq[0])]\n", "    while True:\n        pass\n"), subs / "loop.ipynb")

    args = "--timeout-s 20 --cell-timeout-s 3 --test-timeout-s 3 --no-progress"
    graded = _make(clone, f"make grade LAB={LAB} SUBMISSIONS={shlex.quote(str(subs))} GRADE_ARGS={shlex.quote(args)}",
                   300)
    assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-2000:]
    with open(lab_dir / "grades" / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert sorted(rows) == ["crash", "empty", "full", "loop", "mistake"]
    possible = float(rows["full"]["possible"])
    assert float(rows["full"]["total"]) == possible > 0
    assert float(rows["empty"]["total"]) == 0
    assert float(rows["mistake"][part]) == 0 and 0 < float(rows["mistake"]["total"]) < possible
    assert float(rows["crash"]["total"]) == 0 and rows["crash"]["reason"]
    assert 0 < float(rows["loop"]["total"]) < possible
    assert all((lab_dir / "grades" / "feedback" / f"{s}.txt").is_file() for s in rows)


def test_make_grade_without_its_arguments_says_how(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    res = _make(clone, "make grade", 60)
    assert res.returncode != 0
    assert "usage: make grade LAB=<lab> SUBMISSIONS=<folder of .ipynb>" in res.stdout + res.stderr
    assert LAB in res.stdout + res.stderr
