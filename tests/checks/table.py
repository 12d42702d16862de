"""Helpers for the table-driven check tests: each row is (typical wrong answer, a distinctive hint)."""

from __future__ import annotations


def shown(fb) -> str:
    """Everything a learner sees of a Feedback: the text form and the HTML form."""
    return repr(fb) + fb._repr_html_()


def assert_hint(fb, hint, *hidden: float) -> None:
    """``fb`` fails, shows ``hint`` (a string or a tuple of strings, case-insensitive) and none of
    the ``hidden`` values (to 0, 1 or 2 decimals)."""
    text = shown(fb)
    assert not fb, f"a wrong answer passed: {text}"
    for h in (hint,) if isinstance(hint, str) else hint:
        assert h.lower() in text.lower(), f"expected {h!r} in: {text}"
    for v in hidden:
        for digits in (0, 1, 2):
            s = f"{v:.{digits}f}"
            if len(s.replace(".", "").lstrip("0")) >= 2:  # a single digit would match by chance
                assert s not in text, (s, text)
