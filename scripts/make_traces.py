"""Rebuild the synthetic cellular traces in data/traces (Mahimahi format).

    python scripts/make_traces.py

Each trace is a Markov-modulated Poisson capacity (rtlib.net.traces.synthetic_cellular):
deterministic for its seed, so re-running this script rewrites identical files.
"""

from __future__ import annotations

from rtlib.net.traces import TRACES_DIR, synthetic_cellular, write_mahimahi

TRACES = {
    # name: (profile, duration_s, seed)
    "synthetic-cellular-walk": ("walk", 60.0, 1),
    "synthetic-cellular-drive": ("drive", 60.0, 2),
}


def main() -> None:
    for name, (profile, duration_s, seed) in TRACES.items():
        trace = synthetic_cellular(duration_s, profile=profile, seed=seed)
        path = write_mahimahi(trace, TRACES_DIR / f"{name}.down")
        print(f"{path.relative_to(TRACES_DIR.parents[1])}: {len(trace)} opportunities, "
              f"{trace.period_s:g} s, mean {trace.mean_rate_bps / 1e6:.2f} Mbit/s")


if __name__ == "__main__":
    main()
