"""rtlib.viz.claims: a result sentence is shown only when the data show it."""

import nbformat
import pytest

from rtlib.viz import ClaimError, claim, pick, say


def test_claim_returns_its_sentence_when_it_holds():
    assert claim(3 > 2, "three beats two") == "three beats two"
    import numpy as np

    assert claim(np.float64(0.9) > 0.5, "numpy booleans count") == "numpy booleans count"


def test_claim_raises_and_quotes_the_sentence_when_the_data_contradict_it():
    with pytest.raises(ClaimError, match="Opus PLC sounds far better than silence"):
        claim(2.61 > 2.71, "Opus PLC sounds far better than silence")
    assert issubclass(ClaimError, AssertionError)


def test_claim_needs_a_sentence():
    with pytest.raises(ValueError, match="text must be a non-empty string"):
        claim(True, "  ")


def test_pick_chooses_the_wording_by_the_data():
    assert pick(1 < 2, "above", "below") == "above"
    assert pick(1 > 2, "above", "below") == "below"


def test_say_prints_outside_a_notebook_and_refuses_non_text(capsys):
    assert say("a", claim(True, "b")) is None
    assert capsys.readouterr().out == "a\nb\n"
    with pytest.raises(TypeError, match=r"parts\[1\] must be a string"):
        say("a", 3.0)


@pytest.mark.notebook
def test_a_planted_contradiction_fails_the_notebook_run(tmp_path):
    """The headless run of tests/test_notebooks.py stops at a claim its data contradict."""
    from tests.test_notebooks import run_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from rtlib.viz import claim, say\npesq = {'opus': 2.61, 'silence': 2.71}"),
        nbformat.v4.new_code_cell("say(claim(pesq['opus'] > pesq['silence'], 'Opus PLC beats silence.'))"),
    ]
    path = tmp_path / "planted.ipynb"
    nbformat.write(nb, path)
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="ClaimError"):
        run_notebook(path, timeout_s=60)
