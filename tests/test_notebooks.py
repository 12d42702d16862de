"""Every notebook is committed without outputs and runs top to bottom headless."""

import json
import os
import time
from pathlib import Path

from queue import Empty

import nbformat
import pytest
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# A hard guard per notebook; the course's bar is 60 s, measured by `make bench`.
TIMEOUT_S = int(os.environ.get("NOTEBOOK_TIMEOUT_S", "150"))


def cells_with_outputs(nb: dict) -> list[int]:
    """Indices of cells that carry outputs or an execution count."""
    return [i for i, c in enumerate(nb.get("cells", [])) if c.get("outputs") or c.get("execution_count")]


def test_there_are_notebooks():
    assert any(p.name == "00_start_here.ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_committed_without_outputs(path):
    bad = cells_with_outputs(json.loads(path.read_text()))
    assert bad == [], f"{path.name}: cells {bad} carry outputs or execution counts; run `make strip`"


def test_output_check_catches_outputs():
    nb = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"][code]["execution_count"] = 3
    assert cells_with_outputs(nb) == [code]
    nb["cells"][code]["execution_count"] = None
    nb["cells"][code]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    assert cells_with_outputs(nb) == [code]


def cells_without_ids(nb: dict) -> list[int]:
    """Indices of cells whose id is missing or repeated (nbformat 4.5 and later require unique ids)."""
    if (nb.get("nbformat", 0), nb.get("nbformat_minor", 0)) < (4, 5):
        return []
    seen, bad = set(), []
    for i, c in enumerate(nb.get("cells", [])):
        if not c.get("id") or c["id"] in seen:
            bad.append(i)
        seen.add(c.get("id"))
    return bad


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_every_cell_has_its_own_id(path):
    bad = cells_without_ids(json.loads(path.read_text()))
    assert bad == [], f"{path.name}: cells {bad} have no id or a repeated one (nbformat 4.5)"


def test_id_check_catches_missing_and_repeated_ids():
    nb = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    assert cells_without_ids(nb) == []
    del nb["cells"][1]["id"]
    nb["cells"][2]["id"] = nb["cells"][0]["id"]
    assert cells_without_ids(nb) == [1, 2]


class SlicedPollClient(NotebookClient):
    """A NotebookClient that waits for kernel messages in short slices.

    With ipykernel 7 / pyzmq, a reply that has already arrived is sometimes only
    noticed when a long ``get_msg(timeout=...)`` runs out, so a cell that took 0.4 s
    can appear to take the whole cell timeout.  Polling in short slices re-checks the
    socket and sees the reply at once.
    """

    slice_s = 0.5

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = self._sliced(channel.get_msg)
        return kc

    def _sliced(self, get_msg):
        slice_s = self.slice_s

        async def sliced_get_msg(timeout=None):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                step = slice_s if deadline is None else max(0.0, min(slice_s, deadline - time.monotonic()))
                try:
                    return await ensure_async(get_msg(timeout=step))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        return sliced_get_msg


def run_notebook(path: Path, timeout_s: int = TIMEOUT_S) -> tuple[nbformat.NotebookNode, float]:
    nb = nbformat.read(path, as_version=4)
    client = SlicedPollClient(
        nb, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    t0 = time.perf_counter()
    # Headless, nobody steps a slider: the widgets need not draw their next values ahead.
    client.execute(env={**os.environ, "RTLIB_DRAW_AHEAD": "0"})
    return nb, time.perf_counter() - t0


@pytest.mark.notebook
@pytest.mark.timeout(TIMEOUT_S + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebook_runs_headless(path):
    nb, elapsed_s = run_notebook(path)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == []
    # A cell that ends in a plotting call without ';' shows "<matplotlib.legend.Legend at 0x…>".
    stray = [i for i, c in enumerate(nb.cells) for o in c.get("outputs", [])
             if o.get("output_type") == "execute_result" and "image/png" not in o.get("data", {})
             and o.get("data", {}).get("text/plain", "").startswith(("<matplotlib.", "[<matplotlib.", "Text("))]
    assert stray == [], f"cells {stray} show a matplotlib object's repr instead of nothing"
    print(f"{path.name}: {elapsed_s:.1f} s")
