"""Learner self-checks: feedback that says what is wrong without giving the answer.

Each check returns a :class:`Feedback`, which shows as a green or red box in a
notebook and is truthy when the answer is right.  The design tasks' checks are
:class:`StagedCheck` objects: a wrong design gets what its simulation measured, and
hints come in stages on request (``hint=True``).  Chapter checks live in modules of
this package named after their notebook (``rtlib.checks.ch00`` ...).

Used in: the exercises of every chapter notebook.
"""

from rtlib.checks.core import Feedback, StagedCheck, close_to, design_settings, fail, ok, staged
from rtlib.checks import ch00

__all__ = ["Feedback", "StagedCheck", "close_to", "design_settings", "fail", "ok", "staged", "ch00"]
