"""Parameter checks shared by the whole library.

Every public function refuses an out-of-range value with a ``ValueError`` that
names the parameter and its allowed range (DESIGN.md, principle 6), in one wording:
``"loss must be in [0, 1], got 1.5"``.
"""

from __future__ import annotations

import math
import numbers


def check_number(name: str, value, low: float = -math.inf, high: float = math.inf, unit: str = "") -> float:
    """``value`` as a float when it is a real number in ``[low, high]``; else ``ValueError``.

    Booleans, strings, NaN and infinities outside the range are refused.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low <= value <= high:
        suffix = f" {unit}" if unit else ""
        raise ValueError(f"{name} must be in [{low:g}, {high:g}]{suffix}, got {value!r}")
    return float(value)


def check_rate_hz(rate_hz, low: int = 1000, high: int = 192_000) -> int:
    """A sample rate: an integer number of Hz in ``[low, high]``."""
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, numbers.Integral) or not low <= rate_hz <= high:
        raise ValueError(f"rate_hz must be an integer in [{low}, {high}] Hz, got {rate_hz!r}")
    return int(rate_hz)
