"""The prose guard: a notebook's Markdown states no result that its cells do not compute.

Two halves keep every sentence a learner reads in step with what the cell beside it
measures:

- **at run time**, result sentences are written by the cells themselves with
  :func:`rtlib.viz.claim` / :func:`rtlib.viz.say`; a claim the data contradict raises
  and fails the headless notebook run (``tests/test_notebooks.py``);
- **statically** (this file), a number with a unit in a Markdown cell must be one of:
  an input the notebook's code uses (the same literal, or the same value in other
  units: 3 % = 0.03, 300 ms = 0.3 s); a cited fact (the sentence names an RFC, an ITU
  recommendation, a paper, ...); part of a question, a prediction or an exercise
  statement (those give values, they claim none); or listed in
  ``tests/prose_given/<notebook>.yml`` with the reason it is not a measured result.  In a Summary, code literals do not excuse
  a number, and comparisons ("better than", "half the rate", ...) must be computed or
  listed too: a summary may only claim what is checked.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

UNIT = (r"(?:dB|%|ms|µs|s|kbit/s|Mbit/s|bit/s|fps|kB|MB|KiB|MiB|bytes?|×|times|packets|frames|messages|"
        r"Hz|kHz|km|acks/s|messages/s)")
NUMBER_WITH_UNIT = re.compile(r"(?<![\w.,$\\/-])(\d[\d,]*(?:\.\d+)?)\s?(" + UNIT + r")(?![\w])")
CITATION = re.compile(
    r"RFC ?\d|ITU|\bG\.\d|\bP\.\d|et al|\(\d{4}\)|\b(19|20)\d\d\b|IEEE|draft-|ISO|3GPP|Appendix|section \d|"
    r"\bW3C\b|\bIETF\b|\bNetEQ\b|libwebrtc|WebRTC's|Wireshark|\bchapter \d\d\b"
)
# Sentences that hand values to the learner rather than claim a result.
GIVING = re.compile(r"\?|^\s*\**(Predict|Exercise|Listen|Try|Run|Choose|Write|Build|Set|Use|Pick)\b", re.I)
COMPARATIVE = re.compile(
    r"\b(better|worse|beats?|wins?|outperforms?|higher|lower|faster|slower|half|twice|more than|less than|"
    r"fewer|best|worst|cheaper|far)\b", re.I)
SUMMARY = re.compile(r"^#+\s.*\bSummary\b", re.M)
SUMMARY_END = re.compile(r"^\*\*Next\b|^#+\s", re.M)
CODE_NUMBER = re.compile(r"(?<![\w.])(\d[\d_]*(?:\.\d+)?(?:e-?\d+)?)(?![\w])")

# Numbers that are not measured results live beside this file, one YAML file per
# notebook (tests/prose_given/<notebook stem>.yml), each with the reason:
#   numbers:   {"768 kbit/s": "48 kHz x 16 bit, arithmetic in the sentence"}
#   summary:   {"one-way delay is paid twice": "a property of turn-taking, not a result"}
# Keep them short: prefer to compute the sentence in a cell, or to cite its source.
GIVEN_DIR = Path(__file__).with_name("prose_given")


def given(stem: str) -> tuple[dict[str, str], dict[str, str]]:
    """The (numbers, summary) allowances of one notebook; each entry needs a reason."""
    path = GIVEN_DIR / f"{stem}.yml"
    if not path.exists():
        return {}, {}
    data = yaml.safe_load(path.read_text()) or {}
    unknown = set(data) - {"numbers", "summary"}
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {sorted(unknown)}; allowed: numbers, summary")
    numbers, summary = data.get("numbers") or {}, data.get("summary") or {}
    for key, reason in {**numbers, **summary}.items():
        if not isinstance(reason, str) or len(reason.strip()) < 10:
            raise ValueError(f"{path.name}: {key!r} needs a reason (a sentence), got {reason!r}")
    return numbers, summary


def _plain(markdown: str) -> str:
    """Markdown without math, code spans, links' targets, HTML comments and table rules."""
    text = re.sub(r"<!--.*?-->", " ", markdown, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]+\$", " ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return text


def sentences(markdown: str) -> list[str]:
    text = _plain(markdown)
    parts = re.split(r"(?<=[.!?:;])\s+(?=[A-Z*(\"])|\n\s*\n|\n\s*[-*] |\n\s*\d+\. |\n\s*\|", text)
    return [" ".join(p.split()) for p in parts if p and p.strip()]


def code_values(nb: dict) -> set[float]:
    """Every numeric literal in the notebook's code cells."""
    values = set()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            for m in CODE_NUMBER.finditer("".join(cell["source"])):
                try:
                    values.add(float(m.group(1).replace("_", "")))
                except ValueError:
                    pass
    return values


def _in_code(number: float, values: set[float]) -> bool:
    for scale in (1, 100, 1 / 100, 1000, 1 / 1000, 8, 1 / 8):
        v = number / scale
        if any(math.isclose(v, c, rel_tol=1e-9, abs_tol=1e-12) for c in values):
            return True
    return False


def summary_text(markdown: str, in_summary: bool) -> tuple[str, bool]:
    """The part of a Markdown cell that belongs to a Summary, and whether it continues."""
    m = SUMMARY.search(markdown)
    if m:
        rest = markdown[m.end():]
        end = SUMMARY_END.search(rest)
        return (rest if end is None else rest[:end.start()]), end is None
    if in_summary:
        end = SUMMARY_END.search(markdown)
        return (markdown if end is None else markdown[:end.start()]), end is None
    return "", False


def unbacked_numbers(nb: dict, given: dict[str, str]) -> list[str]:
    values = code_values(nb)
    problems = []
    in_summary = False
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        source = "".join(cell["source"])
        summary, in_summary = summary_text(source, in_summary)
        summary_sentences = set(sentences(summary))
        for sent in sentences(source):
            if CITATION.search(sent) or GIVING.search(sent):
                continue
            strict = sent in summary_sentences
            for m in NUMBER_WITH_UNIT.finditer(sent):
                token = f"{m.group(1)} {m.group(2)}"
                if token in given:
                    continue
                if not strict and _in_code(float(m.group(1).replace(",", "")), values):
                    continue
                problems.append(f"cell {i}: {token!r} in: {sent[:140]}")
    return problems


def unbacked_summary_comparisons(nb: dict, given: dict[str, str]) -> list[str]:
    problems = []
    in_summary = False
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown":
            continue
        summary, in_summary = summary_text("".join(cell["source"]), in_summary)
        for sent in sentences(summary):
            if COMPARATIVE.search(sent) and not any(fragment in sent for fragment in given):
                problems.append(f"cell {i}: {sent[:160]}")
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_markdown_numbers_are_inputs_citations_or_given(path: Path):
    problems = unbacked_numbers(json.loads(path.read_text()), given(path.stem)[0])
    assert problems == [], (
        "numbers in prose that no cell computes: compute the sentence with rtlib.viz.say/claim, cite its "
        "source in the sentence, or list it in tests/prose_given/<notebook>.yml with the reason:\n" + "\n".join(problems))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_summary_comparisons_are_computed(path: Path):
    problems = unbacked_summary_comparisons(json.loads(path.read_text()), given(path.stem)[1])
    assert problems == [], (
        "a Summary compares results in fixed Markdown: write that bullet with rtlib.viz.claim in a code cell, "
        "or list it under summary: in tests/prose_given/<notebook>.yml if it is a property of a mechanism:\n" + "\n".join(problems))


def test_given_entries_are_still_used():
    """An allowance whose sentence is gone is removed, so the lists cannot grow stale."""
    stale = []
    for path in CHAPTERS:
        text = " ".join(" ".join(sentences("".join(c["source"])))
                        for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "markdown")
        numbers, summary = given(path.stem)
        stale += [f"{path.stem}: {k!r}" for k in {**numbers, **summary} if k not in text]
    assert stale == []


# --- the guard, shown failing on planted contradictions ---------------------------

def _nb(*cells: tuple[str, str]) -> dict:
    return {"cells": [{"cell_type": kind, "source": [text], "metadata": {}} for kind, text in cells]}


def test_planted_number_is_caught():
    nb = _nb(("code", "res = play(buffer_ms=120)"),
             ("markdown", "With a 120 ms buffer late loss falls to 0.4 %, and the delay is 135 ms."))
    problems = unbacked_numbers(nb, {})
    assert len(problems) == 2 and "'0.4 %'" in problems[0] and "'135 ms'" in problems[1]
    # the input (120 ms) passes; a number listed as given passes; a cited one passes
    assert unbacked_numbers(nb, {"0.4 %": "r", "135 ms": "r"}) == []
    cited = _nb(("markdown", "ITU-T G.114 puts the limit at 150 ms one way."))
    assert unbacked_numbers(cited, {}) == []


def test_unit_conversions_of_inputs_pass():
    nb = _nb(("code", "frames_lost(0.03, n)\nqueue_s = 0.3"),
             ("markdown", "At 3 % loss and a 300 ms queue, the picture freezes."))
    assert unbacked_numbers(nb, {}) == []


def test_questions_and_exercises_give_values():
    nb = _nb(("markdown", "**Predict:** at 250 ms, what happens? **Exercise 1.1.** A link of 17 Mbit/s carries it."))
    assert unbacked_numbers(nb, {}) == []


def test_planted_summary_comparison_is_caught():
    nb = _nb(("code", "x = 5"),
             ("markdown", "## Summary\n\n- A jitter buffer trades delay for late loss.\n"
                          "- Opus PLC sounds far better than silence at 5 % loss.\n\n**Next:** chapter 08."),
             ("markdown", "Opus is better than everything."))  # after the Summary: not a summary claim
    problems = unbacked_summary_comparisons(nb, {})
    assert len(problems) == 1 and "far better than silence" in problems[0]
    # in a Summary an input literal is no excuse: 5 % must be computed or given
    assert any("'5 %'" in p for p in unbacked_numbers(nb, {}))


def test_summary_continues_into_the_next_cell_until_a_heading():
    nb = _nb(("markdown", "## Summary\n\n- One thing."), ("markdown", "- It runs twice as fast."),
             ("markdown", "## Further reading\n\n- A book twice as long."))
    problems = unbacked_summary_comparisons(nb, {})
    assert len(problems) == 1 and "twice as fast" in problems[0]


def test_given_needs_reasons(tmp_path, monkeypatch):
    (tmp_path / "07_x.yml").write_text('numbers:\n  "5 %": ""\n')
    monkeypatch.setattr(sys.modules[__name__], "GIVEN_DIR", tmp_path)
    with pytest.raises(ValueError, match="needs a reason"):
        given("07_x")
    (tmp_path / "07_x.yml").write_text('numbers:\n  "5 %": "the loss rate the listening cell sets"\n')
    assert given("07_x") == ({"5 %": "the loss rate the listening cell sets"}, {})
