"""Docstrings point learners to notebooks that exist ("Used in: notebooks/NN_name.ipynb")."""

import re

from tests.conftest import ROOT

REF = re.compile(r"notebooks/(\d\d)_([a-z0-9_]+)\.ipynb")


def wrong_notebook_refs(text: str, existing: dict[str, str]) -> list[str]:
    """References whose chapter number exists under another name."""
    bad = []
    for m in REF.finditer(text):
        number, name = m.group(1), f"{m.group(1)}_{m.group(2)}.ipynb"
        if number in existing and existing[number] != name:
            bad.append(f"{name} (the notebook is {existing[number]})")
    return bad


def existing_notebooks() -> dict[str, str]:
    return {p.name[:2]: p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}


def test_library_points_to_real_notebooks():
    existing = existing_notebooks()
    problems = []
    for path in sorted((ROOT / "rtlib").rglob("*.py")):
        problems += [f"{path.relative_to(ROOT)}: {b}" for b in wrong_notebook_refs(path.read_text(), existing)]
    assert problems == []


def test_wrong_reference_is_caught():
    existing = {"07": "07_jitter_buffers.ipynb"}
    assert wrong_notebook_refs("Used in: notebooks/07_jitter_buffer.ipynb", existing) == [
        "07_jitter_buffer.ipynb (the notebook is 07_jitter_buffers.ipynb)"
    ]
    assert wrong_notebook_refs("Used in: notebooks/07_jitter_buffers.ipynb", existing) == []


def test_readme_links_exist():
    text = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((notebooks/[^)]+\.ipynb)\)", text)
    assert links, "the README links no notebook"
    missing = [link for link in links if not (ROOT / link).exists()]
    assert missing == []
