"""Grading a class: 100 submissions of one graded lab, on this machine's cores.

The bar (issue 18): grading 100 submissions of one lab takes at most 5 minutes.  The lab
is ``rtp_jitter`` (parsing a 200-packet capture and RFC 3550 jitter, three parts); the
class is 60 full solutions, 20 untouched student notebooks and 20 with the lab's planted
typical mistake, graded by :func:`rtlib.labs.grade.grade_folder` with its defaults (one
worker per core, a fresh process and folder per submission).  The build (``otter
assign``) is not counted: an instructor runs ``make labs`` once per term.

One row per lab gives the wall time per submission of a batch of ten solutions (every
lab should grade in well under a second a submission).  For comparison, one row times otter-grader's own ``otter run`` on one submission (it
starts a Jupyter kernel per submission), which the course's grader replaces with a
process forked from a server that has already imported the course library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Row

LAB = "rtp_jitter"
N = 100
MISTAKE = ('"payload_type": b1 & 0x7F,', '"payload_type": b1,')


def _variant(nb: dict, old: str, new: str) -> dict:
    nb = json.loads(json.dumps(nb))
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            c["source"] = src.replace(old, new)
    return nb


def per_lab_rows(copies: int = 10) -> list[Row]:
    """For every lab: ``copies`` solutions graded as one batch, wall time per submission."""
    from rtlib.labs import list_labs
    from rtlib.labs.build import build_lab
    from rtlib.labs.grade import grade_folder

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for lab in list_labs():
            built = build_lab(lab, tmp / "build", run_tests=False)
            subs = tmp / lab
            subs.mkdir()
            text = (built / "solution" / f"{lab}.ipynb").read_text()
            for i in range(copies):
                (subs / f"s{i}.ipynb").write_text(text)
            t0 = time.perf_counter()
            grades = grade_folder(lab, subs, tmp / f"{lab}-out", autograder=built / "autograder.zip", progress=False)
            seconds = time.perf_counter() - t0
            assert all(g.total == g.max_total for g in grades), lab
            rows.append(Row(f"{lab}: wall time per submission", seconds / copies, "s", higher_is_better=False,
                            note=f"{copies} full solutions in one batch, {os.cpu_count()} workers, a fresh process each"))
    return rows


def run() -> list[Row]:
    from rtlib.labs.build import build_lab
    from rtlib.labs.grade import grade_folder

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        built = build_lab(LAB, tmp / "build", run_tests=False)
        solution = json.loads((built / "solution" / f"{LAB}.ipynb").read_text())
        student = json.loads((built / "student" / f"{LAB}.ipynb").read_text())
        mistake = _variant(solution, *MISTAKE)
        subs = tmp / "subs"
        subs.mkdir()
        for i in range(N):
            nb = solution if i % 5 < 3 else (student if i % 5 == 3 else mistake)
            (subs / f"student{i:03d}.ipynb").write_text(json.dumps(nb))
        t0 = time.perf_counter()
        grades = grade_folder(LAB, subs, tmp / "out", autograder=built / "autograder.zip", progress=False)
        seconds = time.perf_counter() - t0
        totals = sorted({g.total for g in grades})
        full = sum(g.total == g.max_total for g in grades)
        assert len(grades) == N and full == 60 and totals == [0.0, 5.0, 8.0], (full, totals)

        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "otter", "run", "-a", str(built / "autograder.zip"), "-o", str(tmp),
                               "--no-logo", str(subs / "student000.ipynb")], capture_output=True, text=True)
        otter_s = time.perf_counter() - t0
        otter_ok = proc.returncode == 0 and json.loads((tmp / "results.json").read_text())["tests"][1]["score"] == 3.0

    cores = os.cpu_count()
    return per_lab_rows() + [
        Row(f"grade {N} submissions of {LAB}", seconds, "s", bar=300.0, higher_is_better=False,
            note=f"{cores} workers (one per core); 60 full, 20 untouched, 20 with the planted mistake: scores as expected"),
        Row("wall time per submission", seconds / N, "s", higher_is_better=False,
            note=f"the batch's wall time / {N}, on {cores} cores"),
        Row("otter run, one submission (for comparison)", otter_s, "s", higher_is_better=False,
            note="otter-grader's own non-container grading: a Jupyter kernel per submission"
                 + ("" if otter_ok else "; it did NOT grade the solution correctly")),
    ]
