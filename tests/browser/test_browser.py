"""Every notebook in JupyterLab in a real (headless) browser, as a learner meets it.

For each chapter notebook and its solutions: open it, Run > Run All Cells, then
assert no error or stderr output and no "Error displaying widget"; every experiment
the notebook shows renders its figure; one control of each changes that figure; a
burst of slider steps ends on the figure for the final value.  A planted widget error
proves the checks fail when they should.  Needs Debian's ``chromium`` and
``chromium-driver`` (``.ci/run`` installs them) and ``selenium``; skips otherwise.
Timings are not asserted here: ``make bench`` (``benchmarks/bench_browser.py``) has them.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.browser.lab import (NOTEBOOKS, ROOT, BrowserUnavailable, Lab, check_notebook, expected_experiments,
                               find_browser)

RUN_TIMEOUT_S = int(os.environ.get("BROWSER_NOTEBOOK_TIMEOUT_S", "300"))

pytestmark = pytest.mark.notebook


def _need_browser():
    try:
        find_browser()
    except BrowserUnavailable as exc:
        pytest.skip(f"no browser for the JupyterLab tests: {exc}")


@pytest.fixture(scope="module")
def lab():
    _need_browser()
    with Lab() as running:
        yield running
    leftovers = running.leftovers()
    running.cleanup()
    assert leftovers == [], f"processes left running after the browser tests: {leftovers}"


@pytest.mark.timeout(RUN_TIMEOUT_S + 300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_notebook_in_browser(lab, path):
    rel = str(path.relative_to(ROOT))
    expected = expected_experiments(json.loads(path.read_text()))
    try:
        failures, facts = check_notebook(lab, rel, expected, RUN_TIMEOUT_S)
    finally:
        lab.shutdown_kernels()
    assert failures == [], f"{rel} in JupyterLab:\n" + "\n".join(failures)
    print(f"{rel}: opened {facts['open_s']:.1f} s, Run All {facts['run_all_s']:.1f} s, {len(expected)} widgets")


PLANTED = {
    "nbformat": 4, "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "a", "source": (
            "from rtlib.viz import Param, experiment, new_figure, show_experiment\n"
            "def plot(n):\n"
            "    if n != 5:\n"
            "        raise RuntimeError('planted: this plot fails away from its default')\n"
            "    fig, ax = new_figure()\n"
            "    ax.plot(range(n))\n"
            "    return fig\n"
            "@experiment('_planted_step', plot=plot, n=Param(5, 1, 9, 1, integer=True))\n"
            "def planted(n):\n"
            "    return n\n"
            "show_experiment('_planted_step')")},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "b", "source": (
            "import ipywidgets as w\n"
            "broken = w.DOMWidget()\n"
            "broken._view_module = '@jupyter-widgets/controls'\n"
            "broken._view_name = 'NoSuchView'\n"
            "broken")},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "c", "source": (
            "@experiment('_planted_default', plot=lambda r: 1 / 0, n=Param(5, 1, 9, 1, integer=True))\n"
            "def planted_default(n):\n"
            "    return n\n"
            "show_experiment('_planted_default')")},
    ],
}


@pytest.mark.timeout(600)
def test_planted_widget_errors_fail_the_check():
    """The same check, on a notebook with three planted faults, reports each of them."""
    _need_browser()
    with Lab(notebooks=[], extra={"notebooks/planted.ipynb": PLANTED}) as planted_lab:
        failures, _ = check_notebook(planted_lab, "notebooks/planted.ipynb", expected_experiments(PLANTED))
        planted_lab.shutdown_kernels()
    leftovers = planted_lab.leftovers()
    planted_lab.cleanup()
    text = "\n".join(failures)
    assert "planted: this plot fails away from its default" in text  # a slider move that raises
    assert "Error displaying widget" in text  # a widget the page cannot show
    assert "ZeroDivisionError" in text  # a widget whose first figure raises
    assert "_planted_default: its figure did not render" in text  # its box shows, empty
    assert leftovers == []
