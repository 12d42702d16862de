"""The batch grader on a folder of synthetic submissions: full, empty, a typical mistake,
a cell that raises, a crash of the whole process, endless loops (one that the cell and test
time limits stop, one that ignores them and is killed), a notebook that deletes files, and a file that
is not a notebook.  Every one gets the right score and reason, and the batch finishes."""

from __future__ import annotations

import csv
import time

import pytest

from rtlib.labs.cli import main as cli_main
from rtlib.labs.grade import grade_folder
from tests.labs.conftest import MISTAKES, add_code_cell, read_nb, replace_in_code, write_nb

LAB = "rtp_jitter"
LIMITS = {"cell_timeout_s": 2.0, "test_timeout_s": 2.0, "timeout_s": 15.0}


@pytest.fixture(scope="module")
def batch(built, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    subs = tmp / "subs"
    sol = read_nb(built[LAB] / "solution" / f"{LAB}.ipynb")
    write_nb(sol, subs / "full.ipynb")
    write_nb(read_nb(built[LAB] / "student" / f"{LAB}.ipynb"), subs / "empty.ipynb")
    _, old, new = MISTAKES[LAB]
    write_nb(replace_in_code(sol, old, new), subs / "mistake.ipynb")
    write_nb(replace_in_code(sol, "    j = 0.0\n", "    raise RuntimeError('not finished')\n"), subs / "raises.ipynb")
    write_nb(add_code_cell(sol, "import os\nos._exit(3)"), subs / "crash.ipynb")
    write_nb(replace_in_code(sol, "    ext = [int(seq[0])]\n", "    while True:\n        pass\n"), subs / "loop.ipynb")
    # a loop the cell time limit cannot stop (as code blocked in a C extension would be)
    write_nb(add_code_cell(sol, "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
                           at=3), subs / "stubborn_loop.ipynb")
    write_nb(add_code_cell(sol, "import os\nfor f in os.listdir('.'):\n    os.remove(f)"), subs / "deletes.ipynb")
    write_nb(add_code_cell(sol, "import os\nos.remove('capture.pcap')", at=1), subs / "deletes_data.ipynb")
    write_nb(add_code_cell(sol, "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"
                                "!echo a shell command", at=1), subs / "magics.ipynb")
    (subs / "garbage.ipynb").write_text("this is not a notebook")
    t0 = time.perf_counter()
    grades = grade_folder(LAB, subs, tmp / "out", autograder=built[LAB] / "autograder.zip", workers=2,
                          progress=False, **LIMITS)
    seconds = time.perf_counter() - t0
    with open(tmp / "out" / "grades.csv", newline="") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return {g.student: g for g in grades}, rows, tmp / "out", seconds


def test_batch_finishes_with_a_row_per_submission(batch):
    grades, rows, out, seconds = batch
    assert sorted(rows) == sorted(grades) == sorted(
        ["full", "empty", "mistake", "raises", "crash", "loop", "stubborn_loop", "deletes", "deletes_data", "magics", "garbage"])
    assert list(next(iter(rows.values()))) == ["student", "q1", "q2", "q3", "total", "possible", "status", "reason"]
    assert all((out / "feedback" / f"{s}.txt").is_file() for s in rows)
    assert seconds < 60, f"the batch took {seconds:.0f} s"


def test_full_empty_and_mistake(batch):
    grades, rows, *_ = batch
    assert (grades["full"].total, grades["full"].max_total) == (8, 8) and rows["full"]["reason"] == ""
    assert grades["empty"].total == 0 and rows["empty"]["status"] == "ok"
    assert grades["mistake"].scores == {"q1": 0, "q2": 3, "q3": 2}


def test_a_notebook_with_magics_and_plots_runs_as_in_jupyter(batch):
    grades, rows, *_ = batch
    assert grades["magics"].total == 8 and grades["magics"].cells == [], grades["magics"].cells


def test_a_cell_that_raises_loses_its_part_only(batch):
    grades, rows, out, _ = batch
    assert grades["raises"].scores == {"q1": 3, "q2": 0, "q3": 2}
    assert "RuntimeError: not finished" in rows["raises"]["reason"]
    assert "raised RuntimeError: not finished" in (out / "feedback" / "raises.txt").read_text()


def test_a_crash_zeroes_the_submission_with_the_reason(batch):
    grades, rows, *_ = batch
    assert grades["crash"].total == 0 and rows["crash"]["status"] == "crashed"
    assert "exit code 3" in rows["crash"]["reason"]


def test_an_endless_loop_loses_its_part_only(batch):
    grades, rows, out, _ = batch
    assert grades["loop"].scores == {"q1": 3, "q2": 3, "q3": 0}
    assert "q3: time limit" in rows["loop"]["reason"]
    assert "time limit: ran past 2 s" in (out / "feedback" / "loop.txt").read_text()


def test_a_loop_that_swallows_the_interrupt_is_killed(batch):
    grades, rows, *_ = batch
    assert grades["stubborn_loop"].total == 0 and rows["stubborn_loop"]["status"] == "time limit"
    assert "15 s limit" in rows["stubborn_loop"]["reason"]
    assert grades["stubborn_loop"].seconds < LIMITS["timeout_s"] + 5


def test_deleting_files_is_reported_and_cannot_touch_the_tests(batch):
    grades, rows, out, _ = batch
    # the tests were read before the notebook ran: deleting the folder changes no score
    assert grades["deletes"].total == 8
    assert "deleted files: capture.pcap, rtp_jitter.ipynb" in rows["deletes"]["reason"]
    assert "deleted these files" in (out / "feedback" / "deletes.txt").read_text()


def test_deleting_the_data_it_needs_zeroes_the_parts_with_the_reason(batch):
    grades, rows, out, _ = batch
    assert grades["deletes_data"].total == 0 and rows["deletes_data"]["status"] == "ok"
    assert "deleted files: capture.pcap" in rows["deletes_data"]["reason"]
    assert "raised FileNotFoundError" in (out / "feedback" / "deletes_data.txt").read_text()


def test_first_failure_names_the_line_of_a_bare_assert():
    from rtlib.labs.runner import _first_failure

    msg = "❌ Test case failed\nError at line 3 in test q1:\n    assert f(1) == 2\nAssertionError: "
    assert _first_failure(msg) == "assert f(1) == 2 -> AssertionError"
    assert _first_failure("...\nValueError: bad seq") == "ValueError: bad seq"


def test_a_file_that_is_not_a_notebook(batch):
    grades, rows, *_ = batch
    assert grades["garbage"].total == 0 and rows["garbage"]["status"] == "unreadable"
    assert "not a readable notebook" in rows["garbage"]["reason"]


def test_cli_help_and_errors(capsys, tmp_path):
    with pytest.raises(SystemExit) as e:
        cli_main(["grade", "--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    assert "SUBMISSIONS" in text and "--timeout-s" in text and "grades.csv" in text
    assert cli_main(["grade", "no_such_lab", str(tmp_path)]) == 2
    assert "lab must be one of" in capsys.readouterr().err
    assert cli_main(["list"]) == 0
    assert LAB in capsys.readouterr().out.split()
