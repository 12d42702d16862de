"""Wall time of every notebook run headless top to bottom, against the 60 s bar."""

from __future__ import annotations

from benchmarks.common import Row
from tests.test_notebooks import NOTEBOOKS, ROOT, run_notebook

BAR_S = 60.0


def run() -> list[Row]:
    rows = []
    for path in NOTEBOOKS:
        _, elapsed_s = run_notebook(path, timeout_s=600)
        rows.append(Row(str(path.relative_to(ROOT / "notebooks")), elapsed_s, "s", bar=BAR_S, higher_is_better=False,
                        note="includes kernel start"))
    return rows
