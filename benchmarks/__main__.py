from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import pkgutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def available() -> list[str]:
    return sorted(m.name[len("bench_"):] for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))


def fmt(v: float) -> str:
    if v == 0 or 0.01 <= abs(v) < 1e6:
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:.3g}"


def table(rows_by_bench: dict[str, list[dict]]) -> str:
    lines = ["| benchmark | figure | value | unit | bar | verdict | note |", "| --- | --- | ---: | --- | --- | --- | --- |"]
    for bench, rows in rows_by_bench.items():
        for r in rows:
            bar = "" if r["bar"] is None else ("≥ " if r["higher_is_better"] else "≤ ") + fmt(r["bar"])
            lines.append(f"| {bench} | {r['name']} | {fmt(r['value'])} | {r['unit']} | {bar} | {r['verdict']} | {r['note']} |")
    return "\n".join(lines)


def rebuild_results_md() -> None:
    parts = ["# Recorded benchmark results", "",
             "Rebuilt by `make bench` (or `python -m benchmarks NAME`) from `results/*.json`; each",
             "section says when and on what it was measured.", ""]
    for path in sorted(RESULTS.glob("*.json")):
        data = json.loads(path.read_text())
        parts += [f"## {path.stem}", "", f"Measured {data['when']} on {data['machine']}.", "",
                  table({path.stem: data["rows"]}), ""]
        notes = path.with_suffix(".notes.md")  # figures measured by hand (with how), kept across rebuilds
        if notes.exists():
            parts += [notes.read_text().rstrip(), ""]
    (HERE / "RESULTS.md").write_text("\n".join(parts))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description="run the course's benchmarks")
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default: all): {', '.join(available())}")
    args = ap.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}; known: {available()}")
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    done = {}
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.bench_{name}")
        rows = [r.to_dict() for r in module.run()]
        done[name] = rows
        when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (RESULTS / f"{name}.json").write_text(json.dumps({"when": when, "machine": machine, "rows": rows}, indent=1))
    print(table(done))
    rebuild_results_md()
    return 0


if __name__ == "__main__":
    sys.exit(main())
