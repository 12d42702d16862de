"""Building blocks for learner checks."""

from __future__ import annotations

import html
import math
import numbers
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Feedback:
    """The outcome of a check: ``passed`` and a message that never holds the answer."""

    passed: bool
    message: str
    hints: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.passed

    def _repr_html_(self) -> str:
        color, mark = ("#009E73", "✔") if self.passed else ("#D55E00", "✘")
        hints = "".join(f"<li>{html.escape(h)}</li>" for h in self.hints)
        hints = f"<ul style='margin:4px 0 0 0'>{hints}</ul>" if hints else ""
        return (
            f"<div style='border-left:4px solid {color};padding:4px 10px;margin:4px 0'>"
            f"<b style='color:{color}'>{mark}</b> {html.escape(self.message)}{hints}</div>"
        )

    def __repr__(self) -> str:
        mark = "✔" if self.passed else "✘"
        return "\n".join([f"{mark} {self.message}", *(f"  - {h}" for h in self.hints)])


def ok(message: str = "Correct.") -> Feedback:
    return Feedback(True, message)


def fail(message: str, *hints: str) -> Feedback:
    return Feedback(False, message, tuple(hints))


def as_number(answer, what: str) -> float | Feedback:
    """The answer as a float, or a failing Feedback saying why it is not a number."""
    if answer is None:
        return fail("Not answered yet: replace None with your answer, then run the cell again.")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        try:
            import numpy as np

            if isinstance(answer, np.ndarray) and answer.size == 1:
                answer = answer.item()
            else:
                raise TypeError
        except (TypeError, ImportError):
            return fail(f"{what} should be a single number, got {type(answer).__name__}.")
    value = float(answer)
    if not math.isfinite(value):
        return fail(f"{what} should be a finite number, got {value}.")
    return value


def close_to(answer, expected: float, *, what: str = "Your answer", rel: float = 1e-3, abs_: float = 1e-9,
             unit_hints: dict[float, str] | None = None) -> Feedback:
    """Check a number against ``expected`` without revealing ``expected``.

    ``unit_hints`` maps a factor to a hint: when ``answer`` is off by that factor
    (e.g. 1000 for a seconds/milliseconds mix-up) the hint is given.
    """
    value = as_number(answer, what)
    if isinstance(value, Feedback):
        return value
    if math.isclose(value, expected, rel_tol=rel, abs_tol=abs_):
        return ok(f"{what} is right.")
    for factor, hint in (unit_hints or {}).items():
        for f in (factor, 1 / factor):
            if math.isclose(value, expected * f, rel_tol=rel, abs_tol=abs_):
                return fail(f"{what} is off by a factor of {factor:g}.", hint)
    direction = "too high" if value > expected else "too low"
    return fail(f"{what} is {direction}.")
