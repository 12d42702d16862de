"""Build a lab with ``otter assign``: the student notebook and the autograder zip.

Layout written for lab ``L`` under ``out`` (default ``build/labs``, git-ignored)::

    out/L/student/L.ipynb        hand this folder out (the notebook and its data files)
    out/L/autograder.zip         otter's autograder: hidden tests included; keep it private
    out/L/solution/L.ipynb       the solution notebook (otter's "autograder" version)

Used by ``make labs`` (``python -m rtlib.labs build``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from rtlib.labs import BUILD_DIR, list_labs, master_notebook


def build_lab(lab: str, out: Path = BUILD_DIR, *, run_tests: bool = True) -> Path:
    """Run ``otter assign`` on ``lab``'s master notebook; returns ``out/lab``.

    ``run_tests`` makes otter run the solution against every test first (a lab whose
    solution fails its own tests is not built: ``RuntimeError`` with otter's output).
    """
    master = master_notebook(lab)
    dest = Path(out) / lab
    with tempfile.TemporaryDirectory(prefix=f"assign-{lab}-") as tmp:
        cmd = [sys.executable, "-m", "otter", "assign", str(master), tmp]
        if not run_tests:
            cmd.insert(4, "--no-run-tests")
        proc = subprocess.run(cmd, cwd=master.parent, capture_output=True, text=True)
        zips = sorted(Path(tmp, "autograder").glob("*-autograder_*.zip"))
        if proc.returncode != 0 or not zips:
            raise RuntimeError(f"otter assign failed for lab {lab!r}:\n{proc.stdout}\n{proc.stderr}")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        shutil.copytree(Path(tmp, "student"), dest / "student")
        shutil.copy(zips[-1], dest / "autograder.zip")
        solution = dest / "solution"
        solution.mkdir()
        for f in Path(tmp, "autograder").iterdir():
            if f.is_file() and f.suffix != ".zip" and f.name != "otter_config.json":
                shutil.copy(f, solution / f.name)
    return dest


def build_all(out: Path = BUILD_DIR, labs: list[str] | None = None, *, run_tests: bool = True) -> list[Path]:
    """Build every lab (or the named ones); returns their folders."""
    return [build_lab(lab, out, run_tests=run_tests) for lab in (labs or list_labs())]


__all__ = ["build_all", "build_lab"]
