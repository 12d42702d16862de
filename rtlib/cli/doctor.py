"""``rtlib doctor``: check the set-up (exit 0 when the course can run)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("doctor", help="check that the course can run here; one fix-it line per problem")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from rtlib.cli import emit
    from rtlib.doctor import run_checks

    report = run_checks()
    emit(report.to_dict(), args.json, report.text())
    return 0 if report.ok else 1
