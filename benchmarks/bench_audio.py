"""Echo cancellation (issue 17): speed, ERLE and convergence of the course's cancellers vs Speex.

One simulated call, the default scene of :func:`rtlib.audio.echo_scenes.echo_scene`: 16 s of
the English clip played in a 4 x 3 x 2.5 m room with RT60 0.3 s, loudspeaker and
microphone 30 cm apart, echo return loss 6 dB, white noise 40 dB below the echo,
single talk, 16 kHz.  Every canceller has a 128 ms filter (2048 taps) and sees the
signals in 16 ms frames (256 samples):

- NLMS (:class:`rtlib.audio.nlms.NlmsCanceller`, mu 0.5), FDAF
  (:class:`rtlib.audio.fdaf.FdafCanceller`, mu 0.5, 8 partitions of 256), FDAF followed
  by the residual echo suppressor (:mod:`rtlib.audio.res`), and libspeexdsp's
  canceller with and without its own residual suppressor (:mod:`rtlib.audio.speex`).
- x real time: seconds of audio per second of CPU time (``time.process_time``, best of
  3; every canceller runs single-threaded in this process).  Bars: NLMS >= 10,
  FDAF >= 50.
- ERLE after convergence: 10 log10(sum d^2 / sum e^2) over 8-16 s; the suppressor's
  output is realigned by its 256-sample delay first.  Bar: the best course canceller
  (linear, NLMS or FDAF) within 3 dB of Speex's linear canceller (goal: above it).
- convergence time: from :func:`rtlib.audio.metrics.convergence_time_s`, the time
  after which the smoothed per-frame ERLE stays above 20 dB.
- misalignment at the end (NLMS, FDAF): how far the weights are from the true RIR,
  its tail past 128 ms included.
- double talk: the same room with a near-end talker 6 dB above the echo from 8 to
  11 s; the worst misalignment from 8 to 11.5 s of FDAF without a detector and with
  the normalised cross-correlation detector (:mod:`rtlib.audio.dtd`).

``python -m benchmarks audio`` records the table in benchmarks/RESULTS.md.

Used in: notebooks/09_echo_noise.ipynb.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Row, best_of

RATE_HZ = 16000
SECONDS = 16.0
FILTER_MS = 128.0
FRAME = 256
CONVERGED_FROM_S = 8.0
TARGET_DB = 20.0
DT_S = (8.0, 11.0)
REPEAT = 3


def _cpu_s(fn) -> float:
    return best_of(fn, REPEAT, clock=time.process_time)


def run() -> list[Row]:
    from rtlib.audio.dtd import DoubleTalkCanceller, NccDetector
    from rtlib.audio.fdaf import FdafCanceller
    from rtlib.audio.metrics import (
        convergence_time_s,
        erle_db_over_time,
        mean_erle_db,
        misalignment_db,
    )
    from rtlib.audio.nlms import NlmsCanceller, run_frames
    from rtlib.audio.res import ResCanceller, ResidualEchoSuppressor
    from rtlib.audio.echo_scenes import echo_scene
    from rtlib.audio.speex import SpeexEchoCanceller

    s = echo_scene(SECONDS, seed=0)
    makers = {
        "NLMS": lambda: NlmsCanceller(FILTER_MS, RATE_HZ, step=0.5),
        "FDAF": lambda: FdafCanceller(FILTER_MS, RATE_HZ, step=0.5),
        "FDAF+RES": lambda: ResCanceller(FdafCanceller(FILTER_MS, RATE_HZ, step=0.5),
                                         ResidualEchoSuppressor(RATE_HZ)),
        "Speex": lambda: SpeexEchoCanceller(16.0, FILTER_MS, RATE_HZ),
        "Speex+RES": lambda: SpeexEchoCanceller(16.0, FILTER_MS, RATE_HZ, residual=True),
    }
    rows: list[Row] = []
    erle: dict[str, float] = {}
    conv: dict[str, float] = {}
    xrt: dict[str, float] = {}
    misalignment: dict[str, float] = {}
    for name, make in makers.items():
        out: dict = {}

        def once(make=make, out=out):
            c = make()
            out["e"] = run_frames(c, s.far, s.mic, FRAME)
            out["delay"] = getattr(c, "delay_samples", 0)
            out["canceller"] = c

        xrt[name] = SECONDS / _cpu_s(once)
        e, n = out["e"], out["delay"]
        mic = s.mic[: len(s.mic) - n] if n else s.mic
        e = e[n:]
        erle[name] = mean_erle_db(mic, e, RATE_HZ, start_s=CONVERGED_FROM_S)
        t_s, v = erle_db_over_time(mic, e, RATE_HZ)
        conv[name] = convergence_time_s(t_s, v, TARGET_DB)
        if name in ("NLMS", "FDAF"):
            misalignment[name] = misalignment_db(s.rir, out["canceller"].weights)

    bars = {"NLMS": 10.0, "FDAF": 50.0}
    for name in makers:
        rows.append(Row(f"{name}: x real time", xrt[name], "x", bars.get(name),
                        note=f"{SECONDS / xrt[name]:.2f} s of CPU for {SECONDS:g} s of audio; "
                             "128 ms filter, 16 kHz, one core"))
    for name in makers:
        rows.append(Row(f"{name}: ERLE after convergence", erle[name], "dB",
                        note=f"{CONVERGED_FROM_S:g}-{SECONDS:g} s, single talk"))
    for name in makers:
        c = conv[name]
        rows.append(Row(f"{name}: time to {TARGET_DB:g} dB ERLE", c if np.isfinite(c) else -1.0,
                        "s", higher_is_better=False,
                        note="smoothed 20 ms ERLE stays above from then on"
                        + ("" if np.isfinite(c) else "; never (-1)")))
    for name, m in misalignment.items():
        rows.append(Row(f"{name}: misalignment at {SECONDS:g} s", m, "dB", higher_is_better=False,
                        note="norm(h - w)^2 / norm(h)^2 against the whole RIR"))
    best = max(("NLMS", "FDAF"), key=lambda k: erle[k])
    rows.append(Row("best course canceller ERLE - Speex ERLE", erle[best] - erle["Speex"], "dB",
                    bar=-3.0, note=f"{best} vs Speex, both linear (no suppressor)"))
    rows.append(Row("FDAF+RES ERLE - Speex+RES ERLE", erle["FDAF+RES"] - erle["Speex+RES"], "dB",
                    note="both with their residual echo suppressor"))

    dt = echo_scene(SECONDS, double_talk_s=DT_S, ser_db=6.0, seed=0)

    def worst_misalignment(c) -> float:
        worst = -np.inf
        for i in range(0, len(dt.far) // FRAME * FRAME, FRAME):
            c.process(dt.far[i:i + FRAME], dt.mic[i:i + FRAME])
            if DT_S[0] * RATE_HZ <= i < (DT_S[1] + 0.5) * RATE_HZ:
                worst = max(worst, misalignment_db(dt.rir, c.weights))
        return worst

    rows.append(Row("FDAF, double talk, no detector: worst misalignment",
                    worst_misalignment(FdafCanceller(FILTER_MS, RATE_HZ)), "dB",
                    higher_is_better=False, note="near end 6 dB above the echo, 8-11 s"))
    rows.append(Row("FDAF + NCC detector: worst misalignment",
                    worst_misalignment(DoubleTalkCanceller(FdafCanceller(FILTER_MS, RATE_HZ),
                                                           NccDetector(RATE_HZ))),
                    "dB", higher_is_better=False, note="same call; detector freezes adaptation"))
    return rows


if __name__ == "__main__":
    for r in run():
        print(f"{r.name:55s} {r.value:10.2f} {r.unit:3s} {r.verdict} {r.note}")
