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


# --- a chapter is "ready" only when its notebook exists --------------------------------
STATUS_ROW = re.compile(r"^\|\s*(\d\d)\s*\|.*\|\s*([^|]+?)\s*\|\s*$", re.M)
NEXT_CHAPTER = re.compile(r"\*\*Next:\*\*\s*chapter (\d\d)[^\n]*")


def status_problems(table_text: str, existing: set[str]) -> list[str]:
    """Rows whose status column disagrees with which notebooks exist."""
    problems = []
    for number, status in STATUS_ROW.findall(table_text):
        ready = status.strip("* ") == "ready"
        if ready != (number in existing):
            problems.append(f"chapter {number} is marked {status!r} but its notebook "
                            f"{'exists' if number in existing else 'does not exist'}")
    return problems


def next_problems(text: str, existing: set[str]) -> list[str]:
    """"Next: chapter NN" pointers to chapters that do not exist must say so."""
    return [m.group(0) for m in NEXT_CHAPTER.finditer(text)
            if m.group(1) not in existing and "not written yet" not in m.group(0)]


def _markdown_of(path) -> str:
    import json

    return "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")


def test_syllabus_status_matches_the_notebooks():
    existing = set(existing_notebooks())
    readme = (ROOT / "README.md").read_text()
    syllabus = readme[readme.index("## Syllabus"):readme.index("## The library")]
    road = _markdown_of(ROOT / "notebooks" / "00_start_here.ipynb")
    road = road[road.index("The road ahead"):road.index("Glossary")]
    assert len(STATUS_ROW.findall(syllabus)) == len(STATUS_ROW.findall(road)) >= 14
    assert status_problems(syllabus, existing) + status_problems(road, existing) == []


def test_next_pointers_to_unwritten_chapters_say_so():
    existing = set(existing_notebooks())
    problems = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        problems += [f"{path.name}: {p}" for p in next_problems(_markdown_of(path), existing)]
    assert problems == []


def test_status_guards_catch_a_planted_mismatch():
    existing = {"00", "01"}
    table = "| 00 | start | x | ready |\n| 01 | one | y | *coming* |\n| 02 | two | z | ready |\n"
    assert status_problems(table, existing) == [
        "chapter 01 is marked '*coming*' but its notebook exists",
        "chapter 02 is marked 'ready' but its notebook does not exist"]
    assert next_problems("**Next:** chapter 02, *two*.", existing) == ["**Next:** chapter 02, *two*."]
    assert next_problems("**Next:** chapter 02, *two* (not written yet).", existing) == []


def packages_missing_from_readme(readme: str) -> list[str]:
    """rtlib's subpackages that the README's package table does not name."""
    names = sorted(p.name for p in (ROOT / "rtlib").iterdir() if (p / "__init__.py").exists())
    return [n for n in names if f"| `rtlib.{n}` |" not in readme]


def test_readme_names_every_rtlib_package():
    assert packages_missing_from_readme((ROOT / "README.md").read_text()) == []


def test_package_table_check_catches_a_missing_row():
    readme = (ROOT / "README.md").read_text()
    assert packages_missing_from_readme(readme.replace("| `rtlib.labs` |", "| labs |")) == ["labs"]
