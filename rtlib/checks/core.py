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
    if isinstance(answer, str):
        return fail(f"{what} should be a single number, got a string.",
                    "Write the number or the expression without quotes.")
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
        try:
            import numpy as np

            if isinstance(answer, np.ndarray) and answer.size == 1:
                answer = answer.item()
            else:
                raise TypeError
        except (TypeError, ImportError):
            kind = type(answer).__name__
            if hasattr(answer, "__len__") and not isinstance(answer, (str, bytes)):
                return fail(f"{what} should be a single number, got a {kind} of {len(answer)} values.",
                            "Give one number, not a list or an array.")
            return fail(f"{what} should be a single number, got {kind}.")
    value = float(answer)
    if not math.isfinite(value):
        return fail(f"{what} should be a finite number, got {value}.")
    return value


def rough_factor(value: float, expected: float) -> str:
    """How far ``value`` is from ``expected`` as a rough phrase, e.g. "about 3× too high".

    Rough on purpose: it tells the size of the mistake (a slip of a few per cent, a
    factor of 2, an order of magnitude) so a learner can look for the wrong term, but
    is too coarse to read the answer from.
    """
    if expected == 0 or value == 0 or (value > 0) != (expected > 0):
        return "of the wrong sign" if value * expected < 0 else ("too high" if value > expected else "too low")
    ratio = value / expected
    high = ratio > 1
    word = "too high" if (value > expected) else "too low"
    r = ratio if high else 1 / ratio
    if r < 1.1:
        return f"a little {word} (off by less than 10 %)"
    if r < 1.5:
        return f"{word} by roughly 10–50 %"
    if r < 20:
        n = round(r * 2) / 2 if r < 5 else round(r)
        return f"about {n:g}× {word}"
    return f"{word} by more than an order of magnitude (about {10 ** round(math.log10(r)):,}×)"


def close_to(answer, expected: float, *, what: str = "Your answer", rel: float = 1e-3, abs_: float = 1e-9,
             unit_hints: dict[float, str] | None = None, unit_rel: float = 0.05) -> Feedback:
    """Check a number against ``expected`` without revealing ``expected``.

    ``unit_hints`` maps a factor to a hint: when ``answer`` is off by that factor,
    within ``unit_rel`` (a band, so a seconds answer computed a little differently is
    still recognised as seconds), the hint is given.  Otherwise the feedback says how
    far off the answer is, roughly (:func:`rough_factor`).
    """
    value = as_number(answer, what)
    if isinstance(value, Feedback):
        return value
    if math.isclose(value, expected, rel_tol=rel, abs_tol=abs_):
        return ok(f"{what} is right.")
    band = max(rel, unit_rel)
    for factor, hint in (unit_hints or {}).items():
        for f in (factor, 1 / factor):
            if math.isclose(value, expected * f, rel_tol=band, abs_tol=abs_):
                return fail(f"{what} is off by a factor of {factor:g}.", hint)
    return fail(f"{what} is {rough_factor(value, expected)}.")


def is_generic(fb: Feedback) -> bool:
    """Whether ``fb`` is :func:`close_to`'s generic "too high / too low" verdict."""
    return not fb.passed and not fb.hints and any(w in fb.message for w in ("too high", "too low", "wrong sign"))


# -- staged hints -------------------------------------------------------------------------------
_ASK = "Stuck? Run the check again with hint=True for a first hint."
_ASK_AGAIN = "A second hint is there: run the check again with hint=True."
_TRY_FIRST = "The second hint comes after another try: change your answer and run the check again first."


class StagedCheck:
    """A check whose hints come in stages, so a learner thinks before reading them.

    Wraps ``check(answer, **kwargs) -> Feedback`` whose ``hints`` are ordered from the
    gentlest to the most specific (two stages are used).  Calling the staged check:

    - a wrong answer shows the check's message (what was measured, what is wrong) and
      no hint, only how to ask for one;
    - ``hint=True`` unlocks the first hint;
    - ``hint=True`` again unlocks the second hint, but only after at least one more
      wrong try (a *different* wrong answer) since the first hint was unlocked.

    Unlocked hints stay shown on later tries.  Re-running a cell with the same answer
    is not a new try, nor is an unanswered ``None``.  The state lives in the object, so
    a notebook keeps it across re-runs of the cell; :meth:`reset` starts over.  Hints
    come from the wrapped check and, like every check's text, never hold the answer.

    Used in: the design tasks of notebooks 01, 02, 04, 05, 06, 07, 08, 09, 10 and 11.
    """

    def __init__(self, check, stages: int = 2):
        if not callable(check):
            raise ValueError(f"check must be callable, got {type(check).__name__}")
        if isinstance(stages, bool) or not isinstance(stages, int) or not 1 <= stages <= 5:
            raise ValueError(f"stages must be an integer in [1, 5], got {stages!r}")
        self.check = check
        self.stages = stages
        self.__doc__ = getattr(check, "__doc__", None)
        self.__name__ = getattr(check, "__name__", type(self).__name__)
        self.reset()

    def reset(self) -> None:
        """Forget the tries and lock the hints again."""
        self.unlocked = 0  # hints shown so far
        self.tries = 0  # distinct wrong answers
        self._tries_at_unlock = 0
        self._last_key = None

    @staticmethod
    def _key(answer) -> str:
        try:
            return repr(sorted(answer.items())) if isinstance(answer, dict) else repr(answer)
        except TypeError:
            return repr(answer)

    def __call__(self, answer, *, hint: bool = False, **kwargs) -> Feedback:
        if not isinstance(hint, bool):
            raise ValueError(f"hint must be True or False, got {hint!r}")
        fb = self.check(answer, **kwargs)
        if fb.passed:
            return fb
        key = self._key(answer)
        if answer is not None and key != self._last_key:
            self.tries += 1
            self._last_key = key
        available = min(len(fb.hints), self.stages)
        note = None
        if hint and self.unlocked < available:
            if self.unlocked == 0 or self.tries > self._tries_at_unlock:
                self.unlocked += 1
                self._tries_at_unlock = self.tries
            else:
                note = _TRY_FIRST
        shown = fb.hints[:self.unlocked]
        if note is None and available > self.unlocked:
            note = _ASK if self.unlocked == 0 else (_ASK_AGAIN if self.tries > self._tries_at_unlock else _TRY_FIRST)
        return Feedback(False, fb.message, tuple(shown) + ((note,) if note else ()))

    def __repr__(self) -> str:
        return f"<staged check {self.__name__}: {self.unlocked} hint(s) shown, {self.tries} wrong tries>"


def staged(check=None, *, stages: int = 2):
    """Decorator: ``@staged`` turns a check function into a :class:`StagedCheck`."""
    if check is None:
        return lambda f: StagedCheck(f, stages)
    return StagedCheck(check, stages)


# -- design tasks -------------------------------------------------------------------------------
_COUNT = {2: "both", 3: "all three", 4: "all four", 5: "all five"}
_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}


def _listing(names) -> str:
    quoted = [repr(n) for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def design_settings(design, names, *, numbers=None, optional=(), note: str = "") -> dict | Feedback:
    """The settings of a design task's answer, or a failing Feedback saying what is wrong with its form.

    ``design`` must be a dict whose keys are exactly ``names`` (``optional`` ones may be
    left out).  The settings named in ``numbers`` (all of them by default) are read
    with :func:`as_number` and returned as floats; the others are returned as given,
    for the check to judge.  Units and ranges are each check's own business.  ``note``
    is added to the "misses" message (e.g. "fec_k=None for no FEC").

    Used by the design tasks of notebooks 01, 02, 04, 05, 06, 09, 10 and 11.
    """
    names = tuple(names)
    numbers = names if numbers is None else tuple(numbers)
    if design is None:
        return fail("Not answered yet: replace None with your design and run the cell again.")
    if not isinstance(design, dict):
        example = ", ".join(f"{n!r}: ..." for n in names)
        return fail(f"The design should be a dict like {{{example}}}, got {type(design).__name__}.")
    unknown = sorted(set(design) - set(names), key=str)
    count = _COUNT.get(len(names), f"all {len(names)}")
    if unknown:
        return fail(f"Unknown setting(s) {unknown}: the design has {_WORDS.get(len(names), len(names))}, "
                    f"{_listing(names)}.")
    missing = [n for n in names if n not in design and n not in optional]
    if missing:
        return fail(f"The design needs {count}{' ' if len(names) == 2 else ', '}{_listing(names)}; it misses {missing}"
                    + (f" ({note})." if note else "."))
    values = {}
    for name in names:
        if name not in design:
            continue
        if name in numbers:
            v = as_number(design[name], name)
            if isinstance(v, Feedback):
                return v
            values[name] = v
        else:
            values[name] = design[name]
    return values


def out_of_range(name: str, value: float, lo: float, hi: float, unit: str = "") -> Feedback | None:
    """A failing Feedback when ``value`` is outside [lo, hi], else None."""
    if lo <= value <= hi:
        return None
    unit = f" {unit}" if unit else ""
    return fail(f"{name} should be between {lo:g} and {hi:g}{unit}, got {value:g}.")
