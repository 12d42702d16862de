"""Prose that is checked: a notebook states a result only if the data show it.

A sentence such as "pitch repetition beats silence" is a claim about a measurement.
Written as fixed Markdown, it silently goes stale when a parameter, a seed or the
library changes.  Here the cell that measures also writes the sentence:

    say(
        "**What the table shows.**",
        claim(pesq["pitch"] > pesq["silence"],
              f"- Pitch repetition scores {pesq['pitch']:.2f}, above silence's {pesq['silence']:.2f}."),
    )

- :func:`claim` returns its text when the condition holds and raises
  :class:`ClaimError` when it does not, so the headless notebook run in ``make test``
  fails instead of printing a sentence the numbers contradict.
- :func:`say` renders the pieces as one Markdown block (plain text in a terminal).
- :func:`pick` chooses between two wordings by the data ("above" or "below"), for
  sentences whose direction is the result itself.

The static side of the same rule lives in ``tests/test_prose.py``: a number with a
unit in a Markdown cell must be an input the notebook's code uses, a cited fact, or
listed there as given.

Used in: every chapter notebook's result cells and Summary.
"""

from __future__ import annotations

__all__ = ["ClaimError", "claim", "pick", "say"]


class ClaimError(AssertionError):
    """A notebook was about to state something its own data contradict."""


def claim(holds, text: str) -> str:
    """Return ``text`` if ``holds`` is true, else raise :class:`ClaimError` quoting it.

    ``holds`` is usually a comparison of measured numbers; numpy booleans are
    accepted.  The error message quotes the sentence so the broken claim is found
    at once in a failed notebook run.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must be a non-empty string: the sentence the claim would print")
    if not bool(holds):
        raise ClaimError(f"the notebook would state {text.strip()!r}, but its data do not show it")
    return text


def pick(condition, if_true: str, if_false: str) -> str:
    """One of two wordings, chosen by the data (e.g. ``pick(a > b, "above", "below")``)."""
    return if_true if bool(condition) else if_false


def say(*parts: str, sep: str = "\n") -> None:
    """Show ``parts`` as one Markdown block in a notebook (joined by ``sep``).

    Outside IPython (a script, a test) the text is printed instead.  Nothing is
    returned, so a ``say(...)`` at the end of a cell shows the text only once.
    """
    for i, part in enumerate(parts):
        if not isinstance(part, str):
            raise TypeError(f"parts[{i}] must be a string (use claim(...) or an f-string), got {type(part).__name__}")
    text = sep.join(parts)
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # pragma: no cover - IPython ships with jupyterlab
        print(text)
        return
    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))
