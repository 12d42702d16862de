"""Shared fixtures for the graded labs: every lab built once per session, and submissions.

``built`` runs ``otter assign`` for every lab into a temporary folder (in parallel, two at
a time); ``submission`` writes a notebook variant into a folder of submissions.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rtlib.labs import list_labs
from rtlib.labs.build import build_lab

#: The planted typical mistake of each lab: (part, text in the solution, its replacement).
MISTAKES = {
    # the marker bit left in the payload type
    "rtp_jitter": ("q1", '"payload_type": b1 & 0x7F,', '"payload_type": b1,'),
    # the paper's fixed alpha from the first frame: no warm-up
    "playout_buffer": ("q2", "a = min(alpha, 1.0 - 1.0 / (i + 1))", "a = alpha"),
    # the two gains swapped: the threshold falls fast and rises slowly
    "gcc_overuse": ("q2", "k = k_d if abs(m) < th else k_u", "k = k_u if abs(m) < th else k_d"),
    # a message ahead of a gap shown at once instead of held
    "im_receiver": ("q2", "            self.held[seq] = body\n            return []",
                    "            self.cursor = seq\n            return [(seq, body)]"),
    # light at its speed in vacuum, not in glass
    "edge_placement": ("q1", "* inflation * 1.468 / 299_792.458", "* inflation / 299_792.458"),
    # the up-count not restarted after a switch: two layers up in a row
    "layer_selector": ("q2", "                layer += 1\n                run = 0", "                layer += 1"),
}


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict[str, Path]:
    """``{lab: folder}`` with ``student/``, ``solution/`` and ``autograder.zip`` for every lab."""
    out = tmp_path_factory.mktemp("labs-build")
    with ThreadPoolExecutor(2) as pool:
        paths = list(pool.map(lambda lab: build_lab(lab, out, run_tests=False), list_labs()))
    return {p.name: p for p in paths}


def read_nb(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_nb(nb: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def replace_in_code(nb: dict, old: str, new: str) -> dict:
    """A copy of ``nb`` with ``old`` replaced by ``new`` in exactly one code cell."""
    nb = json.loads(json.dumps(nb))
    hits = 0
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            if old in src:
                c["source"] = src.replace(old, new)
                hits += 1
    assert hits == 1, f"the planted change should hit one cell, hit {hits}: {old!r}"
    return nb


def add_code_cell(nb: dict, source: str, *, at: int | None = None) -> dict:
    nb = json.loads(json.dumps(nb))
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source}
    nb["cells"].insert(len(nb["cells"]) if at is None else at, cell)
    return nb
