"""Grade a folder of submitted notebooks: in parallel, one process each, never stopping.

:func:`grade_folder` takes every ``*.ipynb`` in a folder (the file name, without
``.ipynb``, is the student's id), grades each with :func:`rtlib.labs.runner.grade_submission`
in its own process and its own temporary copy of the lab's folder, ``workers`` at a time
(default: one per core), with a progress bar, and writes to ``out``:

- ``grades.csv``: one row per student: a column per part, ``total``, ``possible``,
  ``status`` (``ok``, ``time limit``, ``crashed``, ``unreadable``) and ``reason`` (why
  points were lost, part by part);
- ``feedback/<student>.txt``: the same with otter's test summaries, the cells that
  raised or ran too long, and any files the submission deleted.

Whatever a submission does (raise, loop forever, call ``os._exit``, delete its files),
the batch goes on: a submission past ``timeout_s`` in all is killed with its process
group and scores 0 with the reason.

Used by ``make grade LAB=... SUBMISSIONS=DIR`` (``python -m rtlib.labs grade``).
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from pathlib import Path

from rtlib.labs import BUILD_DIR, list_labs
from rtlib.labs.runner import PRELOAD, grade_submission, read_tests

TIMEOUT_S = 120.0       # whole submission (cells and tests), wall clock
CELL_TIMEOUT_S = 20.0   # one code cell of the submission
TEST_TIMEOUT_S = 20.0   # one part's tests


@dataclass
class Grade:
    """One student's grade: ``scores`` per part, ``status`` and the reasons points were lost."""

    student: str
    scores: dict[str, float]
    possible: dict[str, float]
    status: str = "ok"
    reasons: dict[str, str] = field(default_factory=dict)
    cells: list = field(default_factory=list)
    deleted: list = field(default_factory=list)
    feedback: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def max_total(self) -> float:
        return sum(self.possible.values())

    def reason(self) -> str:
        """One line for the CSV: every part that lost points, and why."""
        parts = [f"{k}: {v}" for k, v in self.reasons.items() if v]
        if self.deleted:
            parts.append(f"deleted files: {', '.join(self.deleted)}")
        return "; ".join(parts)


def _check_limit(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.1 <= value <= 3600:
        raise ValueError(f"{name} must be a number of seconds in [0.1, 3600], got {value!r}")
    return float(value)


def _prepare(ag: zipfile.ZipFile, lab: str, submission: Path, slot: Path) -> Path:
    work = slot / "work"
    work.mkdir(parents=True)
    for name in ag.namelist():  # the lab's data files, as otter ships them in files/
        if name.startswith("files/") and not name.endswith("/"):
            target = work / name[len("files/"):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(ag.read(name))
    shutil.copy(submission, work / f"{lab}.ipynb")  # otter's init cell looks for the lab's own name
    return work


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.kill()
    proc.join(5)


def grade_folder(lab: str, submissions: str | Path, out: str | Path, *, autograder: str | Path | None = None,
                 workers: int | None = None, timeout_s: float = TIMEOUT_S, cell_timeout_s: float = CELL_TIMEOUT_S,
                 test_timeout_s: float = TEST_TIMEOUT_S, hide_hidden: bool = False,
                 progress: bool = True) -> list[Grade]:
    """Grade every ``*.ipynb`` in ``submissions`` for ``lab``; writes ``grades.csv`` and
    ``feedback/`` under ``out`` and returns the grades (sorted by student).

    ``autograder`` defaults to ``build/labs/<lab>/autograder.zip`` (``make labs``).
    ``hide_hidden`` keeps the hidden tests' code and errors out of the CSV and the
    feedback files (which can then go to learners as they are).
    """
    if lab not in list_labs():
        raise ValueError(f"lab must be one of {list_labs()}, got {lab!r}")
    autograder = Path(autograder) if autograder else BUILD_DIR / lab / "autograder.zip"
    if not autograder.is_file():
        raise ValueError(f"autograder {autograder} not found: build it first with `make labs`")
    submissions = Path(submissions)
    if not submissions.is_dir():
        raise ValueError(f"submissions must be a folder of .ipynb files, got {submissions}")
    timeout_s = _check_limit("timeout_s", timeout_s)
    cell_timeout_s = _check_limit("cell_timeout_s", cell_timeout_s)
    test_timeout_s = _check_limit("test_timeout_s", test_timeout_s)
    if workers is None:
        workers = os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 256:
        raise ValueError(f"workers must be an integer in [1, 256], got {workers!r}")
    files = sorted(submissions.glob("*.ipynb"))
    tests = read_tests(autograder)
    if not tests:
        raise ValueError(f"{autograder} holds no tests/*.py: is it an otter autograder zip?")
    possible = _possible(tests)

    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    tmp = Path(tempfile.mkdtemp(prefix=f"grade-{lab}-"))
    grades: list[Grade] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(files), desc=f"grading {lab}", unit="submission")
    try:
        with zipfile.ZipFile(autograder) as ag:
            pending = list(enumerate(files))
            running: dict = {}  # sentinel -> (proc, student, slot, started)
            while pending or running:
                while pending and len(running) < workers:
                    i, sub = pending.pop(0)
                    slot = tmp / str(i)
                    work = _prepare(ag, lab, sub, slot)
                    proc = ctx.Process(target=grade_submission, daemon=True,
                                       args=(str(work / f"{lab}.ipynb"), tests, str(work), str(slot / "result.json")),
                                       kwargs={"cell_timeout_s": cell_timeout_s, "test_timeout_s": test_timeout_s,
                                               "hide_hidden": bool(hide_hidden)})
                    proc.start()
                    running[proc.sentinel] = (proc, sub.stem, slot, time.monotonic())
                ready = wait(list(running), timeout=0.2)
                now = time.monotonic()
                for sentinel in list(running):
                    proc, student, slot, started = running[sentinel]
                    if sentinel in ready:
                        proc.join()
                    elif now - started > timeout_s:
                        _kill(proc)
                    else:
                        continue
                    del running[sentinel]
                    grades.append(_collect(student, slot, proc.exitcode, possible, timeout_s, now - started))
                    shutil.rmtree(slot, ignore_errors=True)
                    if bar is not None:
                        bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        shutil.rmtree(tmp, ignore_errors=True)
    grades.sort(key=lambda g: g.student)
    write_outputs(grades, list(tests), Path(out), lab)
    return grades


def _possible(tests: dict[str, str]) -> dict[str, float]:
    from otter.test_files import ExceptionTestFile

    return {k: float(ExceptionTestFile.from_string(src, path=f"tests/{k}.py").possible) for k, src in tests.items()}


def _collect(student: str, slot: Path, exitcode, possible: dict[str, float], timeout_s: float, seconds: float) -> Grade:
    zero = {k: 0.0 for k in possible}
    result_path = slot / "result.json"
    if result_path.is_file():
        try:
            r = json.loads(result_path.read_text())
            parts = r["parts"]
            g = Grade(student, {k: float(parts[k]["score"]) for k in possible}, dict(possible),
                      reasons={k: parts[k]["reason"] for k in possible}, cells=r["cells"], deleted=r["deleted"],
                      feedback={k: parts[k]["feedback"] for k in possible}, seconds=seconds)
            if r.get("error"):
                g.status = "unreadable"
            return g
        except (ValueError, KeyError, TypeError):
            pass  # the submission tampered with its result: treat as a crash
    if exitcode == -signal.SIGKILL and seconds > timeout_s:
        status, why = "time limit", f"the submission ran past the {timeout_s:g} s limit and was stopped (0 points)"
    else:
        status = "crashed"
        why = f"the grading process died (exit code {exitcode}) before the tests finished (0 points)"
    return Grade(student, zero, dict(possible), status=status, reasons={"all": why}, seconds=seconds)


def write_outputs(grades: list[Grade], parts: list[str], out: Path, lab: str) -> None:
    """``out/grades.csv`` and ``out/feedback/<student>.txt``."""
    out.mkdir(parents=True, exist_ok=True)
    fb_dir = out / "feedback"
    fb_dir.mkdir(exist_ok=True)
    with open(out / "grades.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *parts, "total", "possible", "status", "reason"])
        for g in grades:
            w.writerow([g.student, *(f"{g.scores[p]:g}" for p in parts), f"{g.total:g}", f"{g.max_total:g}",
                        g.status, g.reason()])
    for g in grades:
        lines = [f"Lab {lab}: feedback for {g.student}", "",
                 f"Total: {g.total:g} / {g.max_total:g}   (status: {g.status})", ""]
        for p in parts:
            lines.append(f"Part {p}: {g.scores[p]:g} / {g.possible[p]:g}")
            if g.reasons.get(p):
                lines.append(f"  why: {g.reasons[p]}")
        if g.reasons.get("all"):
            lines += ["", f"The whole submission scored 0: {g.reasons['all']}"]
        if g.cells:
            lines += ["", "Cells of your notebook that did not finish cleanly (code cells counted from 0):"]
            lines += [f"  code cell {c['cell']}: {c['problem']}" for c in g.cells]
        if g.deleted:
            lines += ["", f"Your notebook deleted these files of the lab: {', '.join(g.deleted)}"]
        for p in parts:
            if g.feedback.get(p):
                lines += ["", "-" * 60, g.feedback[p]]
        (fb_dir / f"{g.student}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = ["CELL_TIMEOUT_S", "Grade", "TEST_TIMEOUT_S", "TIMEOUT_S", "grade_folder", "write_outputs"]
