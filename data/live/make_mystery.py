"""Record the "mystery calls" of notebooks/12_live_call.ipynb: real rtlib calls with one fault each.

Each call is a real two-way rtlib call (Opus + VP8, GCC) over UDP on 127.0.0.1 through
the impairment relay (:func:`rtlib.live.endpoint.run_rtlib_call`), 6 s long, 40 ms of
one-way delay each way.  At 2 s one fault is switched on in the A→B direction and stays
on to the end.  The stats samples (every 250 ms, :class:`rtlib.live.stats.StatsSample`)
are written with :meth:`rtlib.live.stats.CallStats.to_json`; the configuration keeps
only what does not give the fault away.

    python data/live/make_mystery.py            # all three, into data/live/
    python data/live/make_mystery.py --only a

A live call is not bit-for-bit repeatable (the machine's timing is part of it): a
re-run records a call with the same fault and different details.  Record on an idle
machine: a busy CPU shows up as delay and jitter before the fault begins (look at the
first 2 s of each file's report before committing it).  The learner's
check (:func:`rtlib.checks.ch12.mystery_fault`) needs only the fault's name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from rtlib.live.endpoint import run_rtlib_call  # noqa: E402
from rtlib.live.impair import Impairment  # noqa: E402
from rtlib.live.relay import UdpRelay  # noqa: E402
from rtlib.live.stats import CallStats, StatsSample  # noqa: E402

SECONDS = 6.0
FAULT_AT_S = 2.0
DELAY_MS = 40.0

#: name -> (the fault, the forward impairment it sets at FAULT_AT_S)
MYSTERIES = {
    "a": ("rate cap", {"rate_kbps": 500.0, "queue_ms": 300.0}),
    "b": ("bursty loss", {"loss": 0.15, "burst_len": 6.0}),
    "c": ("jitter", {"jitter_ms": 40.0, "jitter_dist": "normal"}),
}


def _rounded(d: dict) -> dict:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}


async def record(name: str, seed: int) -> CallStats:
    fault, params = MYSTERIES[name]
    relay = await UdpRelay.start(forward=Impairment(delay_ms=DELAY_MS), backward=Impairment(delay_ms=DELAY_MS),
                                 seed=seed)
    applied = []

    def on_sample(s: StatsSample) -> None:
        if not applied and s.t_s >= FAULT_AT_S - 1e-9:
            relay.set("forward", **params)
            applied.append(s.t_s)

    try:
        stats = await run_rtlib_call(seconds=SECONDS, forward=None, backward=None, relay=relay, seed=seed,
                                     on_sample=on_sample)
    finally:
        await relay.close()
    clean = CallStats([StatsSample.from_dict(_rounded(s.to_dict())) for s in stats.samples],
                      config={"name": f"mystery call {name.upper()}", "stack": "rtlib", "seconds": SECONDS,
                              "note": "a real rtlib call on loopback with one fault; name it from the stats",
                              "made_by": "data/live/make_mystery.py"})
    return clean


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", choices=sorted(MYSTERIES), action="append")
    ap.add_argument("--out", type=Path, default=HERE)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)
    for name in args.only or sorted(MYSTERIES):
        stats = asyncio.run(record(name, args.seed))
        path = args.out / f"mystery_{name}.json"
        stats.to_json(path)
        s = stats.summary()
        print(f"{path.name}: {len(stats.samples)} samples, loss {s['loss_fraction']:.3f}, "
              f"e2e p50 {s['e2e_delay_ms_p50']:.0f} ms, freezes {s['freeze_count']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
