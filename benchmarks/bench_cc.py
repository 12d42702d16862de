"""Adaptive bitrate: GCC, the self-clocked senders and SCReAM against the lagged oracle's frontier.

Cases: RFC 8867 section 5.1 (variable capacity, one flow, 100 s, 50 ms one-way delay,
300 ms tail-drop queue) and, when ../shared/data/traces holds them, every Mahimahi
cellular trace (300 s or the trace's length if shorter, same path).  Every run is
repeated with seeds 0, 1 and 2 (encoder noise) and the figures are the means over
the seeds.

For each case:

- each controller's *utilisation* (media goodput / usable capacity, i.e. the capacity
  capped at what the encoder can send: 3 Mbit/s video + audio), p95 queueing delay of
  all media and of video and audio apart, freeze rate, and Sprout's *self-inflicted
  delay*: the delay taken over time (``signal_delay_p95_ms``: at each millisecond the
  age of the freshest media at the receiver, p95) minus the trace's omniscient floor
  (:func:`rtlib.cc.yardstick.omniscient_floor_ms`);
- the yardstick (:mod:`rtlib.cc.yardstick`): the lagged oracle (capacity known 100 ms
  late) on its grid of margins and windows gives the frontier F(d) and its lowest p95
  d0; the delay budget is D = max(100 ms, d0 + 30 ms);
- the bar: the best rtlib controller (gcc, selfclocked, sprout or scream) reaches p95 <= D and
  utilisation >= F(D) - 0.05;
- GCC is not dominated by AIMD or aiortc's REMB estimator (neither has both higher or
  equal utilisation and lower or equal p95, one strictly), and neither self-clocked sender
  (the EWMA one, ``selfclocked``, and Sprout's forecast, ``sprout``) is dominated by GCC.

On RFC 8867 5.1 also GCC's own bar (utilisation >= 0.85 at p95 <= 100 ms).  The anchors:
on each cellular trace, gcc's, selfclocked's and scream's throughput and self-inflicted delay
relative to our ``sprout`` sender, and their means, beside the means Winstein et al. (NSDI 2013,
abstract) published for Skype, Hangouts and FaceTime relative to Sprout.  Then the
competing-flow cases (5.2 two flows, 5.4 three flows: Jain's index >= 0.9 for the new
controllers; 5.6 against a long TCP flow: the media flow's share of the link), means
over seeds 0-2 with the worst seed beside, and the simulation speed: 100 s of a
2 Mbit/s video call on one core.  Last, the bar on other stretches of the same recordings
(each trace rotated by a third of its length), a stand-in for held-out traces.

Run: ``python -m benchmarks cc`` (about two and a half minutes on two cores; runs go to a pool
of two processes).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from benchmarks.common import Row, best_of
from rtlib.cc.call import CallSim, FlowSpec
from rtlib.cc.scenarios import SCENARIOS, run_scenario, run_trace
from rtlib.cc.yardstick import ORACLE_GRID, delay_budget_ms, frontier, lowest_p95_ms, meets_bar, omniscient_floor_ms
from rtlib.net.traces import load_mahimahi

SHARED_TRACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "traces"
RTLIB = ("gcc", "selfclocked", "sprout", "scream")
#: the self-clocked senders, each to be undominated by GCC
SELF_CLOCKED = ("selfclocked", "sprout")
BASELINES = ("aimd", "aiortc-remb")
CONTROLLERS = RTLIB + BASELINES
SEEDS = (0, 1, 2)
TRACE_SECONDS = 300.0
KEYS = ("utilization", "delay_p95_ms", "video_delay_p95_ms", "audio_delay_p95_ms", "signal_delay_p95_ms",
        "freeze_rate", "loss", "goodput_kbps_mean")
RFC = "RFC 8867 5.1"


def case_names() -> list[str]:
    out = [RFC]
    if SHARED_TRACES.is_dir():
        out += [p.name for p in sorted(SHARED_TRACES.glob("*.down")) + sorted(SHARED_TRACES.glob("*.up"))]
    return out


def _trace_path(case: str) -> Path:
    """A case is a trace's name in ../shared/data/traces, or an absolute path (the rotated copies)."""
    return Path(case) if os.path.isabs(case) else SHARED_TRACES / case


def _run(case: str, controller: str, seed: int, args: dict | None = None):
    if case == RFC:
        return run_scenario("rfc8867-5.1", controller, seed=seed, controller_args=args)
    return run_trace(_trace_path(case), controller, seed=seed, controller_args=args)


def _job(job: tuple) -> tuple:
    case, controller, seed, args = job
    s = _run(case, controller, seed, dict(args) if args else None).summary()
    return job, {k: s[k] for k in KEYS}


def _floor(case: str) -> tuple[float, float]:
    """(floor ms, capacity kbit/s) of a case over the simulated duration."""
    if case == RFC:
        sc = SCENARIOS["rfc8867-5.1"]
        cap, dur = sc.capacity(), sc.duration_s
    else:
        cap = load_mahimahi(_trace_path(case))
        dur = min(cap.duration_s, TRACE_SECONDS)
    return omniscient_floor_ms(cap, dur), float(cap.bytes_by(dur)) * 8 / dur / 1000


def _mean(dicts: list[dict]) -> dict:
    return {k: float(np.mean([d[k] for d in dicts])) for k in dicts[0]}


def dominated(a: dict, b: dict) -> bool:
    """Is ``a`` dominated by ``b``: b's utilisation >= and p95 <= a's, one of them strictly."""
    ge = b["utilization"] >= a["utilization"] and b["delay_p95_ms"] <= a["delay_p95_ms"]
    strict = b["utilization"] > a["utilization"] or b["delay_p95_ms"] < a["delay_p95_ms"]
    return ge and strict


def measure(workers: int | None = None, cases: list[str] | None = None,
            controllers: tuple[str, ...] = CONTROLLERS) -> dict:
    """Every run of every case, seeds averaged: ``{case: {"controllers": .., "oracle": [..], "floor_ms": ..}}``."""
    cases = case_names() if cases is None else cases
    jobs = [(c, ctl, seed, None) for c in cases for ctl in controllers for seed in SEEDS]
    jobs += [(c, "oracle", seed, tuple(sorted(kw.items()))) for c in cases for kw in ORACLE_GRID for seed in SEEDS]
    workers = workers or min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(workers) as pool:
        done = dict(pool.map(_job, jobs, chunksize=1))
        floors = dict(zip(cases, pool.map(_floor, cases)))
    out = {}
    for c in cases:
        ctl = {k: _mean([done[(c, k, s, None)] for s in SEEDS]) for k in controllers}
        oracle = []
        for kw in ORACLE_GRID:
            key = tuple(sorted(kw.items()))
            oracle.append({**kw, **_mean([done[(c, "oracle", s, key)] for s in SEEDS])})
        out[c] = {"controllers": ctl, "oracle": oracle, "floor_ms": floors[c][0], "capacity_kbps": floors[c][1]}
    return out


def verdicts(m: dict) -> dict:
    """The yardstick and the bar for one case's measurements."""
    pts = [(o["delay_p95_ms"], o["utilization"]) for o in m["oracle"]]
    F = frontier(pts)
    d0 = lowest_p95_ms(pts)
    D = delay_budget_ms(d0)
    FD = F(D)
    ok = {c: meets_bar(m["controllers"][c]["utilization"], m["controllers"][c]["delay_p95_ms"], FD, D)
          for c in RTLIB}
    return {"d0_ms": d0, "D_ms": D, "F_D": FD, "meets": ok}


def call_2mbps(controller: str = "gcc") -> CallSim:
    """100 s of a 2 Mbit/s video call (transport-cc every 50 ms) on a 2.5 Mbit/s link."""
    return CallSim(2.5e6, 100.0, [FlowSpec(controller, start_rate_bps=2.0e6)], video_max_bps=2.0e6)


def markdown_table(results: dict) -> str:
    """The per-trace table: each controller's utilisation, video/audio p95, self-inflicted delay; F(D), the bar."""
    lines = ["| case | floor | d0 / D | F(D) | controller | utilisation | p95 | video p95 | audio p95 | "
             "self-inflicted | freeze | bar |",
             "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for case, m in results.items():
        v = verdicts(m)
        for i, c in enumerate(CONTROLLERS):
            s = m["controllers"][c]
            head = (f"| {case} | {m['floor_ms']:.0f} ms | {v['d0_ms']:.0f} / {v['D_ms']:.0f} ms | {v['F_D']:.2f} "
                    if i == 0 else "| | | | ")
            bar = ("meets" if v["meets"][c] else "misses") if c in RTLIB else "(baseline)"
            lines.append(f"{head}| {c} | {s['utilization']:.2f} | {s['delay_p95_ms']:.0f} ms | "
                         f"{s['video_delay_p95_ms']:.0f} ms | {s['audio_delay_p95_ms']:.0f} ms | "
                         f"{s['signal_delay_p95_ms'] - m['floor_ms']:.0f} ms | {s['freeze_rate']:.1%} | {bar} |")
    return "\n".join(lines)


def rows_for(results: dict) -> list[Row]:
    rows: list[Row] = []
    for case, m in results.items():
        v = verdicts(m)
        ctl = m["controllers"]
        rows.append(Row(f"{case}: oracle frontier F(D)", v["F_D"], "fraction",
                        note=f"d0 {v['d0_ms']:.0f} ms, D {v['D_ms']:.0f} ms; omniscient floor {m['floor_ms']:.0f} ms; "
                             f"capacity {m['capacity_kbps']:.0f} kbit/s; seeds 0-2"))
        for c in CONTROLLERS:
            s = ctl[c]
            rows.append(Row(f"{case}: {c} utilisation", s["utilization"], "fraction",
                            note=f"p95 {s['delay_p95_ms']:.0f} ms (video {s['video_delay_p95_ms']:.0f}, audio "
                                 f"{s['audio_delay_p95_ms']:.0f}), over time {s['signal_delay_p95_ms']:.0f} ms = floor + "
                                 f"{s['signal_delay_p95_ms'] - m['floor_ms']:.0f} ms self-inflicted, freeze "
                                 f"{s['freeze_rate']:.1%}, loss {s['loss']:.1%}"))
        best = [c for c in RTLIB if v["meets"][c]]
        rows.append(Row(f"{case}: best rtlib controller at p95 <= D and utilisation >= F(D) - 0.05",
                        float(bool(best)), "yes=1", bar=1.0,
                        note="meet it: " + (", ".join(best) or "none") + "; " + "; ".join(
                            f"{c} {ctl[c]['utilization']:.2f} at {ctl[c]['delay_p95_ms']:.0f} ms" for c in RTLIB)
                            + f" (need >= {v['F_D'] - 0.05:.2f} at <= {v['D_ms']:.0f} ms)"))
        by = [b for b in BASELINES if dominated(ctl["gcc"], ctl[b])]
        rows.append(Row(f"{case}: gcc undominated by aimd and aiortc-remb", float(not by), "yes=1", bar=1.0,
                        note="dominated by: " + (", ".join(by) or "neither")))
        for sc in SELF_CLOCKED:
            rows.append(Row(f"{case}: {sc} undominated by gcc", float(not dominated(ctl[sc], ctl["gcc"])), "yes=1",
                            bar=1.0, note=f"{sc} {ctl[sc]['utilization']:.2f} at {ctl[sc]['delay_p95_ms']:.0f} ms, "
                                          f"gcc {ctl['gcc']['utilization']:.2f} at {ctl['gcc']['delay_p95_ms']:.0f} ms"))
        if case == RFC:
            g = ctl["gcc"]
            rows.append(Row(f"{case}: gcc utilisation (bar: at p95 <= 100 ms)", g["utilization"], "fraction",
                            bar=0.85, note=f"p95 {g['delay_p95_ms']:.0f} ms"))
            rows.append(Row(f"{case}: gcc p95 queueing delay", g["delay_p95_ms"], "ms", bar=100,
                            higher_is_better=False))
    return rows


def _competing_job(job: tuple) -> tuple:
    sc, c, seed = job
    r = run_scenario(sc, c, seed=seed)
    x = r.summary()
    out = {k: x[k] for k in ("jain", "utilization", "delay_p95_ms", "loss")}
    if sc == "rfc8867-5.6":
        f = r.media[0]
        t0, t1 = 5.0, r.duration_s
        ok = ~f.lost & (f.arrival_s >= t0)
        out["share"] = float(f.size_bytes[ok].sum() * 8 / (t1 - t0) / 2e6)
    return job, out


def anchor_rows(results: dict) -> list[Row]:
    """Sprout's framing on the cellular traces: throughput and self-inflicted delay of gcc, selfclocked
    and scream relative to our ``sprout`` sender, beside the NSDI 2013 abstract's means of
    Skype, Hangouts and FaceTime relative to Sprout (:data:`rtlib.cc.selfclocked_lab.SPROUT_PUBLISHED`)."""
    from rtlib.cc.selfclocked_lab import REFERENCE, SPROUT_PUBLISHED, relative_points, self_inflicted_ms

    published = ", ".join(f"{k} {tp:.2f}x at {dl:.1f}x" for k, (tp, dl) in SPROUT_PUBLISHED.items() if k != "Sprout")
    rows, rel = [], {c: [] for c in RTLIB if c != REFERENCE}
    for case, m in results.items():
        if case == RFC:
            continue
        points = relative_points(m)  # m has the controllers' summaries and the floor, as the lab's runs do
        for c in rel:
            tp, dl = points[c]
            rel[c].append((tp, dl))
            rows.append(Row(f"{case}: {c} throughput relative to {REFERENCE}", tp, "x",
                            note=f"at {dl:.2f}x its self-inflicted delay ({self_inflicted_ms(m, c):.0f} vs "
                                 f"{self_inflicted_ms(m, REFERENCE):.0f} ms)"))
    for c, pts in rel.items():
        if pts:
            tp, dl = (float(np.mean([p[i] for p in pts])) for i in (0, 1))
            rows.append(Row(f"cellular traces, mean: {c} throughput relative to {REFERENCE}", tp, "x",
                            note=f"at {dl:.2f}x its self-inflicted delay, {len(pts)} traces; published means relative "
                                 f"to Sprout (Winstein et al., NSDI 2013, abstract): {published}; theirs a bulk sender "
                                 f"and commercial apps over whole traces, ours video calls capped at 3 Mbit/s"))
    return rows


def competing_rows(workers: int | None = None) -> list[Row]:
    cases = (("rfc8867-5.2", "two flows"), ("rfc8867-5.4", "three flows"), ("rfc8867-5.6", "vs TCP"))
    jobs = [(sc, c, seed) for sc, _ in cases for c in RTLIB for seed in SEEDS]
    with ProcessPoolExecutor(workers or min(2, os.cpu_count() or 1)) as pool:
        done = dict(pool.map(_competing_job, jobs, chunksize=1))
    rows = []
    for sc, what in cases:
        for c in RTLIB:
            runs = [done[(sc, c, seed)] for seed in SEEDS]
            m = _mean(runs)
            if sc != "rfc8867-5.6":
                worst = min(range(len(SEEDS)), key=lambda i: runs[i]["jain"])
                rows.append(Row(f"{sc} ({what}): {c} Jain fairness", m["jain"], "index",
                                bar=0.9 if c != "gcc" else None,
                                note=f"utilisation {m['utilization']:.2f}, p95 {m['delay_p95_ms']:.0f} ms, "
                                     f"loss {m['loss']:.1%}; mean of seeds 0-2, worst {runs[worst]['jain']:.2f} "
                                     f"(seed {SEEDS[worst]})"))
            else:
                worst = min(range(len(SEEDS)), key=lambda i: runs[i]["share"])
                rows.append(Row(f"rfc8867-5.6 (vs TCP): {c} media share of the 2 Mbit/s link", m["share"], "fraction",
                                note=f"Jain {m['jain']:.2f}, p95 {m['delay_p95_ms']:.0f} ms; mean of seeds 0-2, "
                                     f"lowest {runs[worst]['share']:.3f} (seed {SEEDS[worst]}); not starved if the "
                                     f"share is well above the 100 kbit/s video floor (0.05)"))
    return rows


def speed_rows() -> list[Row]:
    rows = []
    for c in RTLIB:
        events = call_2mbps(c).run().events
        t = best_of(lambda: call_2mbps(c).run(), repeat=3)
        rows.append(Row(f"100 s of a 2 Mbit/s video call with feedback ({c}): wall time", t, "s", bar=1.0,
                        higher_is_better=False, note=f"{events:,} events, one core"))
    return rows


def rotate_trace(src: Path, dst: Path, share: float = 1 / 3) -> Path:
    """A copy of a Mahimahi trace that starts ``share`` of the way in and wraps round: another
    stretch of the same recording, with the same statistics, for a run that was not tuned on it."""
    ts = [int(x) for x in src.read_text().split()]
    period = ts[-1]
    cut = int(period * share)
    out = dst / src.name
    out.write_text("\n".join(str(t) for t in sorted(((t - cut) % period) or period for t in ts)) + "\n")
    return out


def other_segment_rows(workers: int | None = None) -> list[Row]:
    """The bar on other stretches of the same recordings (a stand-in for held-out traces):
    each shipped trace rotated by a third of its length, so the 300 s windows of the long
    drives cover other roads and the short recordings start elsewhere; rtlib's controllers
    and the oracle grid only, seeds 0-2."""
    import tempfile

    if not SHARED_TRACES.is_dir():
        return []
    rows, met = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        names = [c for c in case_names() if c != RFC]
        paths = [str(rotate_trace(SHARED_TRACES / n, Path(tmp))) for n in names]
        res = measure(workers, cases=paths, controllers=RTLIB)
        for name, path in zip(names, paths):
            m = res[path]
            v = verdicts(m)
            ok = [c for c in RTLIB if v["meets"][c]]
            met += bool(ok)
            ctl = m["controllers"]
            pts = "; ".join(f"{c} {ctl[c]['utilization']:.2f} at {ctl[c]['delay_p95_ms']:.0f} ms (video "
                            f"{ctl[c]['video_delay_p95_ms']:.0f}, audio {ctl[c]['audio_delay_p95_ms']:.0f})"
                            for c in RTLIB)
            rows.append(Row(f"{name} rotated by a third: best rtlib controller at p95 <= D and utilisation >= "
                            f"F(D) - 0.05", float(bool(ok)), "yes=1",
                            note=f"meet it: {', '.join(ok) or 'none'}; {pts}; d0 {v['d0_ms']:.0f} ms, D "
                                 f"{v['D_ms']:.0f} ms, need >= {v['F_D'] - 0.05:.2f}"))
    rows.append(Row("other segments of the recordings: traces where the bar holds", met, "traces",
                    note=f"of {len(names)}; each trace rotated by a third of its length, seeds 0-2; not tuned on"))
    return rows


LAST: dict = {}


def run() -> list[Row]:
    results = measure()
    LAST["results"] = results
    return rows_for(results) + anchor_rows(results) + other_segment_rows() + competing_rows() + speed_rows()


if __name__ == "__main__":
    rows = run()
    for r in rows:
        print(f"{r.name}: {r.value:.3g} {r.unit} {r.verdict} {r.note}")
    print(markdown_table(LAST["results"]))
