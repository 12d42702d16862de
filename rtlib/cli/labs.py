"""``rtlib labs``: build the graded labs and grade a folder of submitted notebooks.

The same work as ``make labs`` and ``make grade LAB=... SUBMISSIONS=DIR``, through the
functions of :mod:`rtlib.labs` (:func:`rtlib.labs.build.build_all`,
:func:`rtlib.labs.grade.grade_folder`): ``rtlib labs build [LAB ...]`` writes the student
notebooks and autograder zips; ``rtlib labs grade LAB DIR`` grades every ``DIR/*.ipynb``
(building the lab's autograder first when it is missing, as ``make grade`` does) and
writes ``grades.csv`` and one feedback file per student.  ``rtlib labs list`` names the
labs.  notebooks/labs/README.md is the instructor guide.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  rtlib labs list                                  # the labs
  rtlib labs build                                 # every lab -> build/labs/<lab>/
  rtlib labs build rtp_jitter --out /tmp/labs      # one lab, elsewhere
  rtlib labs grade rtp_jitter ~/inbox              # grade ~/inbox/*.ipynb (file name = student id)
  rtlib labs grade rtp_jitter ~/inbox --out ~/grades --timeout-s 60 --json

Hand out build/labs/<lab>/student/ (the notebook and its data files); keep
build/labs/<lab>/autograder.zip to yourself: it holds the hidden tests.  Grading writes
OUT/grades.csv (one row per student, a column per part) and OUT/feedback/<student>.txt.
"""


def _labs() -> list[str]:
    from rtlib.labs import list_labs

    return list_labs()


def _check_lab(lab: str) -> str:
    labs = _labs()
    if lab not in labs:
        raise ValueError(f"unknown lab {lab!r}; the labs are: {', '.join(labs)}")
    return lab


def register(sub) -> None:
    p = sub.add_parser(
        "labs", help="graded labs: build student notebooks and autograders, grade submissions",
        description="Build the graded labs (student notebooks and otter autograder zips) and grade a folder of "
                    "submitted notebooks without Docker: what `make labs` and `make grade` do.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (also accepted after ACTION)")
    lsub = p.add_subparsers(dest="labs_command", metavar="ACTION")
    lsub.required = True

    ls = lsub.add_parser("list", help="print the names of the labs",
                         description="Print the names of the labs, one a line (--json: one object).")
    ls.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    ls.set_defaults(func=run_list)

    b = lsub.add_parser("build", help="student versions and autograder zips (otter assign)",
                        description="Run otter assign on each lab's master notebook: build/labs/<lab>/student/ "
                                    "(to hand out), autograder.zip (to keep) and solution/.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("labs", metavar="LAB", nargs="*", help="labs to build (default: all; see `rtlib labs list`)")
    b.add_argument("--out", type=Path, default=None, help="output folder (default: build/labs)")
    b.add_argument("--no-run-tests", action="store_true",
                   help="skip otter's check that each lab's solution passes its own tests (faster)")
    b.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON object")
    b.set_defaults(func=run_build)

    g = lsub.add_parser("grade", help="grade a folder of submitted notebooks; writes grades.csv and feedback/",
                        description="Grade every DIR/*.ipynb for LAB (the file name is the student id), each "
                                    "submission in its own process under time limits; writes OUT/grades.csv and "
                                    "OUT/feedback/<student>.txt.  Builds the lab's autograder first if it is "
                                    "missing.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("lab", metavar="LAB", help="the lab (see `rtlib labs list`)")
    g.add_argument("submissions", metavar="DIR", type=Path, help="folder of submitted .ipynb files")
    g.add_argument("--out", type=Path, default=None,
                   help="where to write grades.csv and feedback/ (default: build/labs/<lab>/grades)")
    g.add_argument("--autograder", type=Path, default=None,
                   help="the autograder zip (default: build/labs/<lab>/autograder.zip, built if missing)")
    g.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: one per core)")
    g.add_argument("--timeout-s", type=float, default=120.0, help="limit for one whole submission, s (default 120)")
    g.add_argument("--cell-timeout-s", type=float, default=20.0, help="limit for one code cell, s (default 20)")
    g.add_argument("--test-timeout-s", type=float, default=20.0, help="limit for one part's tests, s (default 20)")
    g.add_argument("--hide-hidden", action="store_true",
                   help="keep the hidden tests' code and errors out of grades.csv and the feedback files")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                   help="print one JSON object (the grades)")
    g.set_defaults(func=run_grade)


def run_list(args) -> int:
    from rtlib.cli import emit

    labs = _labs()
    emit({"labs": labs}, args.json, "\n".join(labs))
    return 0


def run_build(args) -> int:
    from rtlib.cli import emit
    from rtlib.labs import BUILD_DIR
    from rtlib.labs.build import build_all

    labs = [_check_lab(lab) for lab in args.labs]
    try:
        paths = build_all(args.out or BUILD_DIR, labs or None, run_tests=not args.no_run_tests)
    except RuntimeError as exc:  # otter assign failed: its output says why
        print(f"rtlib labs build: error: {exc}", file=sys.stderr)
        return 1
    emit({"built": [str(p) for p in paths]}, args.json, "\n".join(f"built {p}" for p in paths))
    return 0


def run_grade(args) -> int:
    from rtlib.cli import emit
    from rtlib.labs import BUILD_DIR
    from rtlib.labs.build import build_lab
    from rtlib.labs.grade import grade_folder

    lab = _check_lab(args.lab)
    if not Path(args.submissions).is_dir():
        raise ValueError(f"DIR must be a folder of .ipynb files, got {args.submissions}")
    autograder = args.autograder
    if autograder is None and not (BUILD_DIR / lab / "autograder.zip").is_file():
        try:
            build_lab(lab, BUILD_DIR)  # as `make grade` does
        except RuntimeError as exc:
            print(f"rtlib labs grade: error: {exc}", file=sys.stderr)
            return 1
    out = args.out or BUILD_DIR / lab / "grades"
    grades = grade_folder(lab, args.submissions, out, autograder=autograder, workers=args.workers,
                          timeout_s=args.timeout_s, cell_timeout_s=args.cell_timeout_s,
                          test_timeout_s=args.test_timeout_s, hide_hidden=args.hide_hidden,
                          progress=not args.no_progress and not args.json)
    full = sum(g.total == g.max_total for g in grades)
    obj = {"lab": lab, "graded": len(grades), "full_marks": full, "grades_csv": str(Path(out) / "grades.csv"),
           "feedback_dir": str(Path(out) / "feedback"),
           "students": {g.student: {"total": g.total, "max_total": g.max_total} for g in grades}}
    emit(obj, args.json,
         f"graded {len(grades)} submissions ({full} full marks) -> {Path(out) / 'grades.csv'}, "
         f"{Path(out) / 'feedback'}/")
    return 0
