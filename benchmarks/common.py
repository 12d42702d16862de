"""Shared helpers for the benchmarks."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass


@dataclass
class Row:
    """One measured figure; ``bar`` is the target, ``higher_is_better`` its direction."""

    name: str
    value: float
    unit: str
    bar: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def verdict(self) -> str:
        if self.bar is None:
            return ""
        good = self.value >= self.bar if self.higher_is_better else self.value <= self.bar
        return "meets" if good else "MISSES"

    def to_dict(self) -> dict:
        return {**asdict(self), "verdict": self.verdict}


def best_of(fn, repeat: int = 3, clock=time.perf_counter) -> float:
    """The fastest of ``repeat`` runs of ``fn()``, in seconds of ``clock`` (wall clock by
    default; ``time.process_time`` for this process's CPU time)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        fn()
        best = min(best, clock() - t0)
    return best
