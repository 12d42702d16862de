"""Grade one submission inside its own process (the child side of :mod:`rtlib.labs.grade`).

:func:`grade_submission` runs in a process of its own, in a temporary folder that holds
a copy of the submission and the lab's data files.  It

1. reads the autograder's tests (otter's exception-based test files, ``tests/q*.py`` in
   the zip) into memory *before* any submitted code runs, so a submission that deletes
   files cannot delete the tests;
2. runs the notebook's code cells in order in an IPython shell (magics work; a cell that
   raises is recorded and the next cell still runs), each cell under ``cell_timeout_s``;
3. runs each part's test file against the notebook's variables, each under
   ``test_timeout_s``: a part whose code loops forever or raises scores 0 for that part
   only, with the reason;
4. lists the files the submission deleted from its folder, and writes everything to
   ``result_path`` as JSON.

Time limits use ``SIGALRM`` (POSIX); the timer fires again every 0.2 s until the cell or
test gives up, so code that swallows one exception cannot escape it.  The parent also
kills the whole process group after its own per-submission limit, for code that blocks
in C or catches everything.

Used by: rtlib/labs/grade.py.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import zipfile
from pathlib import Path

#: Imported once by the fork server, so every forked submission starts with them loaded.
PRELOAD = ["numpy", "scipy.signal", "matplotlib", "IPython.core.interactiveshell", "otter", "otter.test_files",
           "rtlib.rtp", "rtlib.media.jitter", "rtlib.cc.gcc", "rtlib.im", "rtlib.checks.ch10", "rtlib.conf.edge"]


class TimeLimit(BaseException):
    """Raised inside a cell or test that ran past its limit (a BaseException, so a
    bare ``except Exception`` in submitted code does not swallow it)."""


def _alarm(signum, frame):
    raise TimeLimit()


class _limit:
    """``with _limit(s):`` raises :class:`TimeLimit` in the block after ``s`` seconds,
    then again every 0.2 s until the block is left."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def __enter__(self):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.2)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        return False


def read_tests(autograder_zip: str | Path) -> dict[str, str]:
    """``{part name: test file source}`` from an otter autograder zip, in part order."""
    with zipfile.ZipFile(autograder_zip) as z:
        names = sorted(n for n in z.namelist() if n.startswith("tests/") and n.endswith(".py"))
        return {Path(n).stem: z.read(n).decode() for n in names}


def code_cells(notebook_path: str | Path) -> list[str]:
    """The sources of the notebook's code cells (``ValueError`` if it is not a notebook)."""
    try:
        nb = json.loads(Path(notebook_path).read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a readable notebook: {e}") from None
    out = []
    for c in cells:
        if isinstance(c, dict) and c.get("cell_type") == "code":
            src = c.get("source", "")
            out.append("".join(src) if isinstance(src, list) else str(src))
    return out


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text if len(text) <= 300 else text[:297] + "..."


def _first_failure(message: str) -> str:
    """The error line of otter's failure message, with the failing source line when the
    error itself says nothing (a bare ``assert``)."""
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else "failed"
    if last.endswith(":") and len(lines) >= 2:
        return f"{lines[-2]} -> {last.rstrip(':')}"
    return last


def grade_submission(notebook: str, tests: dict[str, str], workdir: str, result_path: str, *,
                     cell_timeout_s: float = 20.0, test_timeout_s: float = 20.0, hide_hidden: bool = False) -> dict:
    """Run ``notebook`` in ``workdir`` and grade it with ``tests``; writes and returns the result.

    The result: ``parts`` (per part: ``score``, ``possible``, ``reason`` when below full
    marks, ``feedback``: otter's summary), ``cells`` (problems in the submitted cells:
    index, ``error`` or ``time limit``), ``deleted`` (files the submission removed) and
    ``error`` (why the notebook could not run at all, else ``None``).  With
    ``hide_hidden``, the feedback and reasons name no hidden test: only how many passed.
    """
    os.setpgrp()  # the parent kills this group (with any process the submission started) on overrun
    workdir = Path(workdir)
    os.chdir(workdir)
    # the submission's own output goes to a file, not to the instructor's terminal
    log = open(workdir.parent / f"{workdir.name}.log", "w")
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    os.environ["MPLBACKEND"] = "Agg"
    sys.path.insert(0, str(workdir))

    from otter.test_files import ExceptionTestFile

    test_files = {}
    result: dict = {"parts": {}, "cells": [], "deleted": [], "error": None}
    for name, src in tests.items():
        test_files[name] = ExceptionTestFile.from_string(src, path=f"tests/{name}.py")
    before = _files(workdir)
    try:
        cells = code_cells(notebook)
    except ValueError as e:
        cells = []
        result["error"] = str(e)

    shell = None
    if cells:
        from IPython.core.interactiveshell import InteractiveShell

        class _Shell(InteractiveShell):
            def enable_gui(self, gui=None):  # `%matplotlib inline` and friends: nothing to show here
                pass

        shell = _Shell.instance()
        shell.user_ns["__name__"] = "__main__"
        for i, src in enumerate(cells):
            try:
                with _limit(cell_timeout_s):
                    res = shell.run_cell(src, store_history=False, silent=False)
            except TimeLimit:
                result["cells"].append({"cell": i, "problem": f"time limit: ran past {cell_timeout_s:g} s, stopped"})
                continue
            err = res.error_in_exec or res.error_before_exec
            if isinstance(err, TimeLimit):
                result["cells"].append({"cell": i, "problem": f"time limit: ran past {cell_timeout_s:g} s, stopped"})
            elif err is not None:
                result["cells"].append({"cell": i, "problem": f"raised {_short(err)}"})
    env = shell.user_ns if shell is not None else {}

    for name, tf in test_files.items():
        possible = float(tf.possible)
        part = {"score": 0.0, "possible": possible, "reason": "", "feedback": ""}
        try:
            with _limit(test_timeout_s):
                tf.run(env)
            part["score"] = float(tf.score)
            part["feedback"] = tf.summary(public_only=hide_hidden)
            results = tf.test_case_results
            if hide_hidden:
                hidden = [r for r in results if r.test_case.hidden]
                part["feedback"] += (f"\n    hidden tests: {sum(r.passed for r in hidden)} of {len(hidden)} passed "
                                     "(details withheld)")
            if part["score"] < possible:
                failed = [r for r in results if not r.passed]
                shown = [r for r in failed if not (hide_hidden and r.test_case.hidden)]
                if shown:
                    kind = "hidden" if shown[0].test_case.hidden else "public"
                    why = f"first ({kind}): {_first_failure(shown[0].message)}"
                else:
                    why = "only hidden tests failed (details withheld)"
                part["reason"] = f"{len(failed)} of {len(tf.test_cases)} tests failed; {why}"
        except TimeLimit:
            part["reason"] = f"time limit: the tests ran past {test_timeout_s:g} s (an endless loop?)"
            part["feedback"] = part["reason"]
        except Exception as e:  # a test file that cannot run against this environment
            part["reason"] = f"the tests could not run: {_short(e)}"
            part["feedback"] = part["reason"]
        result["parts"][name] = part
    if result["error"] is not None:
        for part in result["parts"].values():
            part["reason"] = f"the notebook could not run: {result['error']}"
    result["deleted"] = sorted(before - _files(workdir))
    Path(result_path).write_text(json.dumps(result, indent=1))
    return result


__all__ = ["PRELOAD", "TimeLimit", "code_cells", "grade_submission", "read_tests"]
