"""Rebuild data/conf/estimate_drive.csv: a receiver's bandwidth estimate, recorded.

    python data/conf/make_estimate_trace.py

The course's GCC controller (rtlib.cc, chapter 08) runs one video call for 60 s over
the synthetic cellular drive trace (data/traces/synthetic-cellular-drive.down, seed 0)
and its target rate, sampled every 0.2 s, is written as the estimate an SFU would hold
for that receiver.  Deterministic: a re-run writes the same file.

Used in: notebooks/10_many_participants.ipynb (exercise: the SFU's layer selector).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtlib.cc.scenarios import run_trace

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TRACE = ROOT / "data" / "traces" / "synthetic-cellular-drive.down"
OUT = HERE / "estimate_drive.csv"


def main() -> None:
    report = run_trace(TRACE, "gcc", duration_s=60.0, seed=0).report()
    t_s = np.asarray(report["t_s"], dtype=float)
    est_kbps = np.asarray(report["flows"][0]["target_bps"], dtype=float) / 1e3
    lines = ["t_s,estimate_kbps"] + [f"{t:.1f},{e:.0f}" for t, e in zip(t_s, est_kbps)]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT.relative_to(ROOT)}: {len(t_s)} samples, {t_s[-1] + report['bin_s']:.0f} s, "
          f"estimate {est_kbps.min():.0f}..{est_kbps.max():.0f} kbit/s, median {np.median(est_kbps):.0f}")


if __name__ == "__main__":
    main()
