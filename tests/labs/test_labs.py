"""Every lab: the solution scores full marks, the untouched student version scores zero,
and a planted typical mistake loses exactly the points of its part."""

from __future__ import annotations

import csv
import json

import pytest

from rtlib.labs import list_labs
from rtlib.labs.grade import grade_folder
from rtlib.labs.runner import read_tests
from tests.labs.conftest import MISTAKES, read_nb, replace_in_code, write_nb

LABS = list_labs()


def test_there_are_five_labs_each_with_a_planted_mistake():
    assert len(LABS) >= 5
    assert set(MISTAKES) == set(LABS)


@pytest.mark.parametrize("lab", LABS)
def test_master_states_objectives_time_and_points(lab, built):
    from rtlib.labs import master_notebook

    nb = read_nb(master_notebook(lab))
    intro = "".join(nb["cells"][1]["source"])
    assert "Objectives" in intro and "Time needed" in intro and "points" in intro
    tests = read_tests(built[lab] / "autograder.zip")
    # the points table in the introduction names every part with its points
    from otter.test_files import ExceptionTestFile

    for k, (part, src) in enumerate(tests.items(), start=1):
        pts = ExceptionTestFile.from_string(src).possible
        assert f"| {k} |" in intro and f"| {pts:g} |" in intro, f"{lab}: part {part} ({pts:g} points) missing from the table"
    total = sum(ExceptionTestFile.from_string(s).possible for s in tests.values())
    assert f"**{total:g}**" in intro


@pytest.mark.parametrize("lab", LABS)
def test_solution_full_student_zero_mistake_loses_its_part(lab, built, tmp_path):
    part, old, new = MISTAKES[lab]
    solution = read_nb(built[lab] / "solution" / f"{lab}.ipynb")
    subs = tmp_path / "subs"
    write_nb(solution, subs / "full.ipynb")
    write_nb(read_nb(built[lab] / "student" / f"{lab}.ipynb"), subs / "untouched.ipynb")
    write_nb(replace_in_code(solution, old, new), subs / "mistake.ipynb")
    grades = {g.student: g for g in grade_folder(lab, subs, tmp_path / "out", autograder=built[lab] / "autograder.zip",
                                                  workers=2, progress=False)}
    full, untouched, mistake = grades["full"], grades["untouched"], grades["mistake"]
    assert full.total == full.max_total > 0, full.reasons
    assert untouched.total == 0, untouched.scores
    assert all(untouched.reasons[p] for p in untouched.scores), "every lost part says why"
    expected = dict(full.possible, **{part: 0.0})
    assert mistake.scores == expected, mistake.reasons
    assert mistake.reasons[part] and not any(mistake.reasons[p] for p in mistake.scores if p != part)
    with open(tmp_path / "out" / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert float(rows["mistake"]["total"]) == full.max_total - full.possible[part]
    assert float(rows["mistake"][part]) == 0
    assert (tmp_path / "out" / "feedback" / "mistake.txt").read_text().count(f"Part {part}: 0 /") == 1


def test_grader_rejects_bad_input(built, tmp_path):
    lab = LABS[0]
    ag = built[lab] / "autograder.zip"
    with pytest.raises(ValueError, match="lab must be one of"):
        grade_folder("no_such_lab", tmp_path, tmp_path / "o", autograder=ag, progress=False)
    with pytest.raises(ValueError, match="make labs"):
        grade_folder(lab, tmp_path, tmp_path / "o", autograder=tmp_path / "missing.zip", progress=False)
    with pytest.raises(ValueError, match="folder of .ipynb"):
        grade_folder(lab, tmp_path / "nowhere", tmp_path / "o", autograder=ag, progress=False)
    with pytest.raises(ValueError, match="timeout_s"):
        grade_folder(lab, tmp_path, tmp_path / "o", autograder=ag, timeout_s=0, progress=False)
    with pytest.raises(ValueError, match="workers"):
        grade_folder(lab, tmp_path, tmp_path / "o", autograder=ag, workers=0, progress=False)
    not_ag = tmp_path / "empty.zip"
    import zipfile

    zipfile.ZipFile(not_ag, "w").close()
    with pytest.raises(ValueError, match="no tests"):
        grade_folder(lab, tmp_path, tmp_path / "o", autograder=not_ag, progress=False)


def test_planted_change_must_hit_the_notebook(built):
    nb = read_nb(built[LABS[0]] / "solution" / f"{LABS[0]}.ipynb")
    with pytest.raises(AssertionError, match="hit 0"):
        replace_in_code(nb, "text that is not in the notebook", "x")


def test_otter_run_agrees_with_the_batch_grader(built, tmp_path):
    """otter-grader's own ``otter run`` (a Jupyter kernel, no Docker) scores the planted
    mistake as the batch grader does: the autograder zip is a standard one."""
    import subprocess
    import sys

    lab = "rtp_jitter"
    part, old, new = MISTAKES[lab]
    sub = write_nb(replace_in_code(read_nb(built[lab] / "solution" / f"{lab}.ipynb"), old, new),
                   tmp_path / "elsewhere" / "mistake.ipynb")  # no data files beside it: otter must ship them
    proc = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(built[lab] / "autograder.zip"),
                           "-o", str(tmp_path), "--no-logo", str(sub)], capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    scores = {t["name"]: t["score"] for t in json.loads((tmp_path / "results.json").read_text())["tests"]
              if t["name"].startswith("q")}
    assert scores == {"q1": 0.0, "q2": 3.0, "q3": 2.0}


def test_hide_hidden_keeps_hidden_tests_out_of_csv_and_feedback(built, tmp_path):
    lab = "rtp_jitter"
    sol = read_nb(built[lab] / "solution" / f"{lab}.ipynb")
    # the padding flag taken as all three top bits: the public test (version, payload type) still passes
    write_nb(replace_in_code(sol, '"padding": (b0 >> 5) & 1,', '"padding": b0 >> 5,'), tmp_path / "subs" / "pad.ipynb")
    hidden_line = "assert (got['version'], got['padding']"
    for hide in (False, True):
        out = tmp_path / f"out-{hide}"
        (g,) = grade_folder(lab, tmp_path / "subs", out, autograder=built[lab] / "autograder.zip", hide_hidden=hide,
                            progress=False)
        assert g.scores == {"q1": 0, "q2": 3, "q3": 2}
        text = (out / "grades.csv").read_text() + (out / "feedback" / "pad.txt").read_text()
        if hide:
            assert hidden_line not in text and "details withheld" in text
            assert "hidden tests: 1 of 2 passed" in text
        else:
            assert hidden_line in text
