"""Wall time of every notebook run headless top to bottom, against the 60 s bar.

Two chapters start real servers and have 90 s: 03 (the IM server, and in section 7 a
cluster of gateways with Redis and PostgreSQL) and 12 (live WebRTC calls through the
impairment relay)."""

from __future__ import annotations

from benchmarks.common import Row
from tests.test_notebooks import NOTEBOOKS, ROOT, run_notebook

BAR_S = 60.0
#: Chapters that start real servers: their bar, and why.
SERVER_BARS_S = {"03_im_scale.ipynb": (90.0, "starts the IM server and a Redis/PostgreSQL cluster"),
                 "12_live_call.ipynb": (90.0, "runs live WebRTC calls through the relay")}


def run() -> list[Row]:
    rows = []
    for path in NOTEBOOKS:
        _, elapsed_s = run_notebook(path, timeout_s=600)
        bar, why = SERVER_BARS_S.get(path.name, (BAR_S, ""))
        rows.append(Row(str(path.relative_to(ROOT / "notebooks")), elapsed_s, "s", bar=bar, higher_is_better=False,
                        note="includes kernel start" + (f"; {why}" if why else "")))
    return rows
