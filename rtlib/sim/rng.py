"""Seeded random generators, one independent stream per named part.

Every random thing in the course takes a ``seed``; ``make_rng(seed, "loss")`` and
``make_rng(seed, "jitter")`` give two independent, reproducible numpy generators, so
adding a random draw in one component does not change the numbers another sees.
"""

from __future__ import annotations

import zlib

import numpy as np


def make_rng(seed: int | None, *stream: str | int) -> np.random.Generator:
    """A numpy ``Generator`` for ``seed`` and an optional stream name path.

    ``seed`` must be a non-negative integer (``None`` is refused: the course is
    deterministic).  Stream names are hashed with CRC-32, which is stable across
    Python runs (unlike ``hash()``).
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    key = [zlib.crc32(s.encode()) if isinstance(s, str) else int(s) for s in stream]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *key])))
