import pytest

from rtlib.checks import ch03
from rtlib.im.diffusion import crossover_members
from tests.checks.table import assert_hint


def good(cursor, arrivals):
    have, out, nxt = set(arrivals), [], cursor + 1
    while nxt in have:
        out.append(nxt)
        nxt += 1
    return out


def shown(fb) -> str:
    return repr(fb) + fb._repr_html_()


def test_unanswered():
    for fb in (ch03.release_in_order(None), ch03.release_in_order(lambda c, a: None), ch03.diffusion_choice(None),
               ch03.storm_frames(None)):
        assert not fb and "Not answered yet" in fb.message


def test_release_in_order_accepts_a_right_function():
    assert ch03.release_in_order(good)

    def with_sort(cursor, arrivals):  # another correct way
        out = []
        for s in sorted(set(arrivals)):
            if s == cursor + 1 + len(out):
                out.append(s)
        return out

    assert ch03.release_in_order(with_sort)


@pytest.mark.parametrize("bad, says", [
    (lambda c, a: sorted(a), "twice"),
    (lambda c, a: sorted(set(a)), "at or below the cursor"),
    (lambda c, a: sorted(s for s in set(a) if s > c), "past a gap"),
    (lambda c, a: [s for s in dict.fromkeys(a) if s > c], "order"),
    (lambda c, a: good(c, a)[:1], "Held back"),
    (lambda c, a: 1 / 0, "raised ZeroDivisionError"),
    (lambda c, a: "abc", "list of sequence numbers"),
    (lambda c, a: good(c, a) + [10_000], "never arrived"),
])
def test_release_in_order_explains_typical_mistakes(bad, says):
    fb = ch03.release_in_order(bad)
    assert not fb and says in fb.message, fb


def test_release_in_order_needs_a_function():
    assert "without parentheses" in ch03.release_in_order([1, 2]).message


RIGHT_CHOICE = {5: "write", 20: "write", 200: "read", 5000: "read", 100000: "read"}
CHOICE_WRONG = [
    ({**RIGHT_CHOICE, 200: "write"}, "4 of 5 right"),
    ({5: "read", 20: "read", 200: "write", 5000: "write", 100000: "write"}, "other way round"),
    ({n: "read" for n in RIGHT_CHOICE}, "One strategy for every size"),
    ({str(n): v for n, v in RIGHT_CHOICE.items()}, "not strings"),
    ({**RIGHT_CHOICE, 5: "Write"}, "lower case"),
    ({**RIGHT_CHOICE, 5: "both"}, "'write' or 'read'"),
    ({5: "write"}, "Missing"),
    (["write", "read"], "Give a dict"),
    (None, "Not answered yet"),
]


def test_diffusion_choice_right():
    assert ch03.diffusion_choice(RIGHT_CHOICE)
    assert crossover_members() > 20
    all_write = {n: "write" for n in ch03.GROUP_SIZES}
    assert ch03.diffusion_choice(all_write, write_cost=0.0, read_cap=10**9)
    assert not ch03.diffusion_choice(RIGHT_CHOICE, write_cost=0.0, read_cap=10**9)


@pytest.mark.parametrize("answer, hint", CHOICE_WRONG)
def test_diffusion_choice_wrong(answer, hint):
    fb = ch03.diffusion_choice(answer)
    assert_hint(fb, hint)
    if "right" in fb.message:  # which sizes are wrong is not told
        assert not any(s in repr(fb) for s in ("20", "200", "5000", "5,000", "100000", "100,000"))


STORM_WRONG = [
    (1_000_000, "Twice"),
    (10_000 * 9_999 / 2, "every pair"),
    (10_000 * 9_999, "every pair"),
    (100, "for one user"),
    (50, "for one user"),
    (10_000, "one frame per user"),
    (1000, ("too low by more than an order of magnitude", "Count friendships")),
    (250_000, ("about 2× too low", "Count friendships")),
    ("500000", "without quotes"),
    (None, "Not answered yet"),
]


def test_storm_frames_right():
    assert ch03.storm_frames(10_000 * 100 / 2)
    assert ch03.storm_frames(50 * 10 / 2, users=50, friends=10)


@pytest.mark.parametrize("answer, hint", STORM_WRONG)
def test_storm_frames_wrong(answer, hint):
    fb = ch03.storm_frames(answer)
    assert_hint(fb, hint)
    assert "500000" not in shown(fb) and "500,000" not in shown(fb)


@pytest.mark.parametrize("check", [ch03.diffusion_choice, ch03.storm_frames])
def test_odd_inputs_never_raise(check):
    for odd in ("x", 3, [], {}, float("nan"), object(), {n: None for n in ch03.GROUP_SIZES}):
        assert not check(odd)


def test_locked_seqs_right():
    assert ch03.locked_seqs([45, 46])
    assert ch03.locked_seqs([11, 12, 13], last_seq=5, first=5, second=3)
    assert ch03.reference_locked_seqs(41, 3, 2) == [45, 46]


@pytest.mark.parametrize("answer, hint", [
    ([42, 43], "A's"),
    ([44, 45], "first number"),
    ([45], "2 messages"),
    ([46, 45], "upwards"),
    ("45, 46", "list of integers"),
    ([45.0, 46.0], "list of integers"),
    ([True, 46], "list of integers"),
])
def test_locked_seqs_wrong(answer, hint):
    fb = ch03.locked_seqs(answer)
    assert not fb and hint in shown(fb)
    assert "45, 46" not in shown(fb) and "[45" not in shown(fb)  # never the answer


def test_locked_seqs_unanswered_and_odd():
    assert "Not answered yet" in ch03.locked_seqs(None).message
    for odd in ("x", 3, [], {}, float("nan"), object()):
        assert not ch03.locked_seqs(odd)


# -- 3.3 design: where write diffusion stops ----------------------------------------------------

def test_fanout_plan_counts_queries_per_membership():
    import numpy as np

    everything_write = ch03.fanout_plan(1e9)
    everything_read = ch03.fanout_plan(0)
    assert everything_write["queries_per_sync"] == pytest.approx(1.0)  # one inbox query
    assert everything_read["queries_per_sync"] == pytest.approx(10.0)  # one per group, 10 groups each
    n, counts = np.array(ch03.FANOUT_SIZES, dtype=float), np.array(ch03.FANOUT_COUNTS)
    share = (counts * n)[n > 100].sum() / (counts * n).sum()
    assert ch03.fanout_plan(100)["queries_per_sync"] == pytest.approx(1 + 9 * share)
    with pytest.raises(ValueError, match="write_up_to must be a number"):
        ch03.fanout_plan("100")


def test_best_fanout_is_the_cheapest_threshold_within_the_budget():
    best = ch03.best_fanout()
    assert best["queries_per_sync"] <= ch03.QUERY_BUDGET
    sizes = (1, *ch03.FANOUT_SIZES)
    cheaper = [t for t in sizes if ch03.fanout_plan(t)["cost"] < best["cost"]]
    assert cheaper and all(ch03.fanout_plan(t)["queries_per_sync"] > ch03.QUERY_BUDGET for t in cheaper)
    assert best["cheapest_cost"] < best["cost"]  # the budget binds: the design is not the crossover


def test_fanout_design_passes_the_optimum_and_the_same_rule_between_two_sizes():
    t = ch03.best_fanout()["write_up_to"]
    nxt = min(s for s in ch03.FANOUT_SIZES if s > t)
    for value in (t, (t + nxt) / 2):
        ch03.fanout_design.reset()
        fb = ch03.fanout_design({"write_up_to": value})
        assert fb and "as cheap as it allows" in fb.message


@pytest.mark.parametrize("design, says", [
    ({"write_up_to": 28}, "Over the budget"),  # the crossover of exercise 3.2
    ({"write_up_to": 5000}, "a cheaper threshold is within it too"),
    ({"write_up_to": -3}, "at least 0"),
    ({"write_up_to": "100"}, "single number"),
    ({"threshold": 100}, "Unknown setting"),
    (None, "Not answered yet"),
])
def test_fanout_design_wrong(design, says):
    ch03.fanout_design.reset()
    fb = ch03.fanout_design(design)
    assert not fb and says in fb.message


def test_fanout_design_hints_never_name_the_threshold():
    t = ch03.best_fanout()["write_up_to"]
    ch03.fanout_design.reset()
    ch03.fanout_design({"write_up_to": 28})
    ch03.fanout_design({"write_up_to": 28}, hint=True)
    ch03.fanout_design({"write_up_to": 30})
    fb = ch03.fanout_design({"write_up_to": 30}, hint=True)
    assert len([h for h in fb.hints if "another try" not in h]) == 2
    assert all(str(t) not in h for h in fb.hints)
