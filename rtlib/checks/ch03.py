"""Checks for notebooks/03_im_scale.ipynb (IM at scale).

Each check says what is wrong and never the expected value.  An unanswered exercise
(``None``, or a function that returns ``None``) gets "not answered yet".
"""

from __future__ import annotations

import math
import random

from rtlib.checks.core import Feedback, StagedCheck, as_number, close_to, fail, is_generic, ok
from rtlib.im.diffusion import diffusion_costs

GROUP_SIZES = (5, 20, 200, 5_000, 100_000)


def _unanswered(answer) -> Feedback | None:
    if answer is None:
        return fail("Not answered yet: replace None with your answer and run the cell again.")
    return None


def reference_release(cursor: int, arrivals) -> list[int]:
    """What a receiver shows, in order, each once, starting after ``cursor``."""
    have = set(arrivals)
    out = []
    nxt = cursor + 1
    while nxt in have:
        out.append(nxt)
        nxt += 1
    return out


def _cases(seed: int = 2024):
    rnd = random.Random(seed)
    cases = [(0, []), (0, [1, 1, 2]), (0, [3, 2, 1]), (5, [5, 6, 6, 4, 7]), (0, [2, 3]), (0, [1, 1, 1])]
    for _ in range(60):
        cursor = rnd.randint(0, 20)
        n = rnd.randint(2, 25)
        seqs = [cursor + k for k in range(1, n + 1)]
        if rnd.random() < 0.5:  # a gap
            seqs.remove(rnd.choice(seqs))
        arrivals = seqs + [rnd.choice(seqs) for _ in range(rnd.randint(0, 6))]  # duplicates
        arrivals += [rnd.randint(max(1, cursor - 5), cursor) for _ in range(rnd.randint(0, 3)) if cursor]  # old
        rnd.shuffle(arrivals)
        cases.append((cursor, arrivals))
    return cases


def release_in_order(func) -> Feedback:
    """Exercise 3.1: ``func(cursor, arrivals)`` returns the seqs released to the user.

    ``cursor`` is the highest seq already shown; ``arrivals`` the seqs that arrived
    (any order, with duplicates, maybe with gaps).  Release each new seq once, in
    order, and stop at the first gap.
    """
    if (fb := _unanswered(func)) is not None:
        return fb
    if not callable(func):
        return fail("Pass your function itself (release, without parentheses).")
    for cursor, arrivals in _cases():
        try:
            got = func(cursor, list(arrivals))
        except Exception as exc:  # the learner's code: report, never raise
            return fail(f"Your function raised {type(exc).__name__}: {exc}.")
        if got is None:
            return fail("Not answered yet: your function returns None; make it return the list of released seqs.")
        try:
            got = [int(s) for s in got]
        except (TypeError, ValueError):
            return fail("Return a list of sequence numbers (integers).")
        expected = reference_release(cursor, arrivals)
        if got == expected:
            continue
        where = f"with cursor={cursor} and arrivals={arrivals}"
        if len(set(got)) < len(got):
            return fail(f"A message was released twice {where}.", "Drop a seq you have already released.")
        if any(s <= cursor for s in got):
            return fail(f"A seq at or below the cursor was released {where}.", "Those were shown before: duplicates.")
        if got != sorted(got):
            return fail(f"Released out of order {where}.", "Release in increasing seq order.")
        if any(s not in arrivals for s in got):
            return fail(f"Released a seq that never arrived {where}.")
        if any(b != a + 1 for a, b in zip([cursor] + got, got)):
            return fail(f"Released past a gap {where}.", "Stop at the first missing seq: it must be pulled first.")
        return fail(f"Held back a message that could be shown {where}.",
                    "After releasing a seq, check whether the next one has arrived too.")
    return ok("Right: each message once, in order, and nothing past a gap.")


def diffusion_choice(answer, **model) -> Feedback:
    """Exercise 3.2: ``{members: "write" or "read"}`` for each size in
    :data:`GROUP_SIZES`, under the cost model's defaults (or ``model`` overrides)."""
    if (fb := _unanswered(answer)) is not None:
        return fb
    if not isinstance(answer, dict):
        return fail(f"Give a dict {{group size: 'write' or 'read'}}, got {type(answer).__name__}.")
    missing = [n for n in GROUP_SIZES if n not in answer]
    if missing and all(str(n) in answer or f"{n:,}" in answer for n in missing):
        return fail("The group sizes should be numbers (5, 20, ...), not strings ('5', '20', ...).")
    if missing:
        return fail(f"Missing group size(s): {', '.join(str(m) for m in missing)}.")
    bad = [n for n in GROUP_SIZES if answer[n] not in ("write", "read")]
    near = [n for n in bad if isinstance(answer[n], str) and answer[n].strip().lower().replace("_", " ") in
            ("write", "read", "write diffusion", "read diffusion")]
    if near:
        return fail("Write each choice exactly as 'write' or 'read' (lower case, one word); "
                    f"look at size(s) {', '.join(str(b) for b in near)}.")
    if bad:
        return fail(f"Each choice must be 'write' or 'read'; look at size(s) {', '.join(str(b) for b in bad)}.")
    costs = diffusion_costs(list(GROUP_SIZES), **model)
    best = {n: ("write" if costs["write"]["cost"][i] <= costs["read"]["cost"][i] else "read")
            for i, n in enumerate(GROUP_SIZES)}
    right = sum(1 for n in GROUP_SIZES if answer[n] == best[n])
    if right == len(GROUP_SIZES):
        return ok("Right: copy into inboxes for small groups, fetch from one timeline for large ones.")
    if right == 0:
        return fail("Every choice is the other way round.", "Which strategy's cost grows with the group size "
                    "times the messages sent? That one suits small groups.")
    if len({answer[n] for n in GROUP_SIZES}) == 1:
        return fail(f"One strategy for every size: {right} of {len(GROUP_SIZES)} right.",
                    "The cheaper strategy changes with the group size: find where the curves cross.")
    return fail(f"{right} of {len(GROUP_SIZES)} right.",
                "Compare diffusion_costs(size)['write']['cost'] with ['read']['cost'] for each size, "
                "or find where the curves cross.")


def storm_frames(answer, *, users: int = 10_000, friends: int = 100) -> Feedback:
    """Exercise 3.4: presence frames sent when ``users`` users, each with ``friends``
    friends, all log in once (each online friend is told; no coalescing)."""
    value = as_number(answer, "The number of frames")  # None: "not answered yet"
    if isinstance(value, Feedback):
        return value
    expected = users * friends / 2
    if math.isclose(value, expected, rel_tol=0.01):
        return ok("Right: each friendship sends one frame, to whichever friend was online first.")
    if math.isclose(value, 2 * expected, rel_tol=0.01):
        return fail("Twice too many.", "When two friends log in, only the one already online is told: "
                                       "one frame per friendship, not two.")
    if math.isclose(value, users * (users - 1) / 2, rel_tol=0.01) or math.isclose(value, users * (users - 1),
                                                                                   rel_tol=0.01):
        return fail("That counts every pair of users.", "Only friends are told.")
    if math.isclose(value, friends, rel_tol=0.01) or math.isclose(value, friends / 2, rel_tol=0.01):
        return fail("That is the count for one user.", "Add up over all users who log in.")
    if math.isclose(value, users, rel_tol=0.01):
        return fail("That is one frame per user.", "Each login tells every friend who is already online.")
    fb = close_to(value, expected, what="The number of frames", rel=0.01)
    return fb if not is_generic(fb) else fail(fb.message, "Count friendships: each user has `friends` of them, "
                                                          "and each friendship is shared by two users.")


def reference_locked_seqs(last_seq: int, first: int, second: int) -> list[int]:
    """The seqs of the second batch when two gateways commit ``first`` then ``second``
    messages to one conversation under its row lock (rtlib.im.pgstore)."""
    return list(range(last_seq + first + 1, last_seq + first + second + 1))


def locked_seqs(answer, *, last_seq: int = 41, first: int = 3, second: int = 2) -> Feedback:
    """Exercise 3.5: the sequence numbers gateway B's batch gets when it waited on the
    conversation's row lock for gateway A's batch to commit."""
    missing = _unanswered(answer)
    if missing is not None:
        return missing
    if not isinstance(answer, (list, tuple)) or not all(isinstance(x, int) and not isinstance(x, bool)
                                                        for x in answer):
        return fail("Answer with a list of integers: one sequence number per message of B's batch.")
    answer = list(answer)
    expected = reference_locked_seqs(last_seq, first, second)
    if answer == expected:
        return ok("Right: B reads the last seq A committed and numbers on from there; no gap, no repeat.")
    if len(answer) != second:
        return fail(f"B's batch has {second} messages: give one number for each.")
    if answer == list(range(last_seq + 1, last_seq + second + 1)):
        return fail("Those numbers are A's.", "B waited on the lock: it reads the last seq after A's commit.")
    if answer != sorted(answer) or len(set(answer)) != len(answer):
        return fail("The numbers of one batch follow each other upwards, each once.")
    if answer[0] != expected[0]:
        return fail("B's first number is off.", "It is one above the last seq A left in the row when it committed.")
    return fail("Not the numbers B gets.", "Number from the conversation's last seq as A left it, one per message.")


# -- 3.3 design: where write diffusion stops -------------------------------------------------------

#: The product of design task 3.3: group sizes (members, about 2 to 20,000 on a log scale) and
#: how many groups of each size (many small ones, few huge: about 2,000,000 × size^-1.8).
FANOUT_SIZES = tuple(int(n) for n in sorted({round(10 ** (math.log10(2) + k * (math.log10(20_000) - math.log10(2))
                                                              / 59)) for k in range(60)}))
FANOUT_COUNTS = tuple(2e6 * n ** -1.8 for n in FANOUT_SIZES)
#: Opening the app may cost at most this many store queries per member, on average.
QUERY_BUDGET = 1.5
#: How close to the cheapest threshold within the budget a design must come.
COST_TOLERANCE = 1.02


def fanout_plan(write_up_to: float) -> dict:
    """Design task 3.3: groups of at most ``write_up_to`` members use write diffusion, larger
    ones read diffusion (model :func:`rtlib.im.diffusion.diffusion_costs`, its defaults).

    Returns ``cost`` (row operations per day over every group) and ``queries_per_sync``: a
    member's store queries when its app opens, on average over memberships, where a write-
    diffused group costs its share of the one inbox query (1 / groups per user) and a read-
    diffused group one query of its own (the model's ``queries`` row, per member and sync).
    """
    import numpy as np

    if isinstance(write_up_to, bool) or not isinstance(write_up_to, (int, float)) or math.isnan(write_up_to):
        raise ValueError(f"write_up_to must be a number of members, got {write_up_to!r}")
    n = np.array(FANOUT_SIZES, dtype=float)
    counts = np.array(FANOUT_COUNTS)
    c = diffusion_costs(n)
    write = n <= write_up_to
    cost = float(np.sum(counts * np.where(write, c["write"]["cost"], c["read"]["cost"])))
    per_member = np.where(write, 1.0 / 10.0, 1.0)  # diffusion_costs' default: 10 groups per user
    queries = float(np.sum(counts * n * per_member) / np.sum(counts * n) * 10.0)
    return {"cost": cost, "queries_per_sync": queries, "write_groups": float(counts[write].sum()),
            "read_groups": float(counts[~write].sum())}


def best_fanout() -> dict:
    """The cheapest threshold within QUERY_BUDGET (thresholds between two sizes are the same
    design, so the sizes themselves are the candidates), and the cheapest of all."""
    plans = [(t, fanout_plan(t)) for t in (1, *FANOUT_SIZES)]
    within = [(p["cost"], t, p) for t, p in plans if p["queries_per_sync"] <= QUERY_BUDGET]
    cost, t, plan = min(within)
    free_cost, free_t, free_plan = min((p["cost"], t, p) for t, p in plans)
    return {"write_up_to": t, "cost": cost, "queries_per_sync": plan["queries_per_sync"], "cheapest_cost": free_cost,
            "cheapest_write_up_to": free_t, "cheapest_queries_per_sync": free_plan["queries_per_sync"]}


def _fanout_design(design) -> Feedback:
    from rtlib.checks.core import design_settings

    settings = design_settings(design, ("write_up_to",))
    if isinstance(settings, Feedback):
        return settings
    t = settings["write_up_to"]
    if t < 0:
        return fail(f"write_up_to is a number of members, at least 0, got {t:g}.")
    plan, best = fanout_plan(t), best_fanout()
    outcome = (f"opening the app takes {plan['queries_per_sync']:.2f} store queries on average, and the store does "
               f"{plan['cost'] / 1e6:.1f} million row operations a day")
    if plan["queries_per_sync"] > QUERY_BUDGET:
        return fail(f"Over the budget: {outcome}, against at most {QUERY_BUDGET:g} queries.",
                    "Which groups add a query of their own to every app open, and how many of a member's "
                    "groups are like that with your threshold?",
                    "Memberships, not groups, set the queries: a few huge groups hold many members. Count how "
                    "much of all membership sits above your threshold.")
    if plan["cost"] > COST_TOLERANCE * best["cost"]:
        return fail(f"Within the budget ({outcome}), but a cheaper threshold is within it too.",
                    "Where does each group cost least on its own (exercise 3.2)? How far from there does the "
                    "budget force you?",
                    "Past the crossover every group you keep in write diffusion costs more than it would in read "
                    "diffusion: keep in write diffusion only as many as the budget needs.")
    extra = plan["cost"] / best["cheapest_cost"] - 1
    return ok(f"Within the budget and as cheap as it allows: {outcome}. The budget costs "
              f"{extra:.0%} more than the cheapest threshold, which would open the app with "
              f"{best['cheapest_queries_per_sync']:.2f} queries.")


fanout_design = StagedCheck(_fanout_design)
fanout_design.__doc__ = """Design task 3.3: ``{"write_up_to": members}``, the largest group kept in write
diffusion, judged with :func:`fanout_plan` over the product's groups: at most QUERY_BUDGET store
queries per app open, and within COST_TOLERANCE of the cheapest threshold that stays within it
(:func:`best_fanout`).  Hints come in stages and name no threshold."""
