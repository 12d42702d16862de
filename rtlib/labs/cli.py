"""``python -m rtlib.labs``: build the graded labs and grade a folder of submissions.

    python -m rtlib.labs list
    python -m rtlib.labs build [LAB ...] [--out build/labs]
    python -m rtlib.labs grade LAB SUBMISSIONS [--out DIR] [--workers N] [--timeout-s 120]
                               [--cell-timeout-s 20] [--test-timeout-s 20] [--autograder ZIP]
                               [--hide-hidden] [--no-progress]

``make labs`` and ``make grade LAB=... SUBMISSIONS=DIR`` call these.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rtlib.labs import BUILD_DIR, list_labs

EPILOG = """examples:
  python -m rtlib.labs build                       # every lab -> build/labs/<lab>/
  python -m rtlib.labs grade rtp_jitter ~/inbox    # grade ~/inbox/*.ipynb (file name = student id)
  python -m rtlib.labs grade rtp_jitter ~/inbox --out ~/grades --timeout-s 60

Hand out build/labs/<lab>/student/ (the notebook and its data files); keep
build/labs/<lab>/autograder.zip to yourself: it holds the hidden tests.  Grading writes
OUT/grades.csv (one row per student, a column per part) and OUT/feedback/<student>.txt.
"""


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m rtlib.labs", description="Build the graded labs (student notebooks, autograder zips) and "
                                 "grade a folder of submitted notebooks, without Docker.",
                                 epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the names of the labs")
    b = sub.add_parser("build", help="student versions and autograder zips (otter assign), into --out")
    b.add_argument("labs", metavar="LAB", nargs="*", help=f"labs to build (default: all): {', '.join(list_labs())}")
    b.add_argument("--out", type=Path, default=BUILD_DIR, help="output folder (default: build/labs)")
    b.add_argument("--no-run-tests", action="store_true", help="skip otter's check that the solution passes")
    g = sub.add_parser("grade", help="grade a folder of submitted notebooks; writes grades.csv and feedback/",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g.add_argument("lab", metavar="LAB", help=f"the lab: {', '.join(list_labs())}")
    g.add_argument("submissions", metavar="SUBMISSIONS", type=Path, help="folder of submitted .ipynb files (file name = student id)")
    g.add_argument("--out", type=Path, default=None, help="where to write grades.csv and feedback/ "
                   "(default: build/labs/<lab>/grades)")
    g.add_argument("--autograder", type=Path, default=None, help="the autograder zip (default: build/labs/<lab>/autograder.zip)")
    g.add_argument("--workers", type=int, default=None, help="submissions graded at once (default: one per core)")
    g.add_argument("--timeout-s", type=float, default=120.0, help="limit for one whole submission, s (default 120)")
    g.add_argument("--cell-timeout-s", type=float, default=20.0, help="limit for one code cell, s (default 20)")
    g.add_argument("--test-timeout-s", type=float, default=20.0, help="limit for one part's tests, s (default 20)")
    g.add_argument("--hide-hidden", action="store_true", help="keep the hidden tests' code and errors out of "
                   "grades.csv and the feedback files (say only how many hidden tests passed)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.command == "list":
        print("\n".join(list_labs()))
        return 0
    if args.command == "build":
        from rtlib.labs.build import build_all

        try:
            for path in build_all(args.out, args.labs or None, run_tests=not args.no_run_tests):
                print(f"built {path}")
        except (ValueError, RuntimeError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    from rtlib.labs.grade import grade_folder

    out = args.out or BUILD_DIR / args.lab / "grades"
    try:
        grades = grade_folder(args.lab, args.submissions, out, autograder=args.autograder, workers=args.workers,
                              timeout_s=args.timeout_s, cell_timeout_s=args.cell_timeout_s,
                              test_timeout_s=args.test_timeout_s, hide_hidden=args.hide_hidden,
                              progress=not args.no_progress)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    full = sum(g.total == g.max_total for g in grades)
    print(f"graded {len(grades)} submissions ({full} full marks) -> {out / 'grades.csv'}, {out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
