"""Graded labs: build student versions and autograders, grade a folder of submissions.

The labs live in ``notebooks/labs/<lab>/<lab>.ipynb``, one otter-grader master
notebook each (solution, public tests and hidden tests in one source; see
notebooks/labs/README.md, the instructor guide).  This package drives them:

==========================  ===============================================================
module                      what
==========================  ===============================================================
:mod:`.build`               ``otter assign`` per lab: student notebook + autograder zip
:mod:`.runner`              one submission, inside its own process: run its cells, then the
                            autograder's tests part by part, each under a time limit
:mod:`.grade`               the batch: a process per submission, in parallel, a progress bar,
                            ``grades.csv`` and a feedback file per student
:mod:`.cli`                 ``python -m rtlib.labs build|grade|list`` (``make labs``, ``make grade``)
==========================  ===============================================================

No Docker and no Jupyter kernel: each submission runs in a fresh process forked from a
server that has already imported numpy, IPython and the course library, inside a temporary
copy of the lab's folder; its cells run in an IPython shell (magics work) and the tests
are otter's own test files from the autograder zip.

Used in: notebooks/labs/ (instructors).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABS_DIR = ROOT / "notebooks" / "labs"
BUILD_DIR = ROOT / "build" / "labs"


def list_labs(labs_dir: Path = LABS_DIR) -> list[str]:
    """Names of the labs: every ``<lab>/<lab>.ipynb`` under ``labs_dir``."""
    return sorted(p.parent.name for p in labs_dir.glob("*/*.ipynb")
                  if p.stem == p.parent.name and ".ipynb_checkpoints" not in p.parts)


def master_notebook(lab: str, labs_dir: Path = LABS_DIR) -> Path:
    """The master notebook of ``lab``; ``ValueError`` naming the known labs if there is none."""
    path = labs_dir / lab / f"{lab}.ipynb"
    if not path.is_file():
        raise ValueError(f"lab must be one of {list_labs(labs_dir)}, got {lab!r}")
    return path


__all__ = ["BUILD_DIR", "LABS_DIR", "ROOT", "list_labs", "master_notebook"]
