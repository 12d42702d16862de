import pytest

from rtlib.checks import ch03
from rtlib.im.diffusion import crossover_members


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
    (lambda c, a: sorted(set(a)), "cursor"),
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
    assert "function" in ch03.release_in_order([1, 2]).message


def test_diffusion_choice():
    n = crossover_members()
    right = {s: ("write" if s < n else "read") for s in ch03.GROUP_SIZES}
    assert ch03.diffusion_choice(right)
    all_write = {s: "write" for s in ch03.GROUP_SIZES}
    fb = ch03.diffusion_choice(all_write)
    assert not fb and "of 5 right" in fb.message
    assert not any(s in repr(fb) for s in ("20", "200", "5000", "5,000", "100000", "100,000"))  # not which sizes
    assert "Missing" in ch03.diffusion_choice({5: "write"}).message
    assert "'write' or 'read'" in ch03.diffusion_choice({**right, 5: "both"}).message
    # the model's parameters decide: with free copies, write diffusion wins everywhere
    assert ch03.diffusion_choice(all_write, write_cost=0.0, read_cap=10**9)
    assert not ch03.diffusion_choice(right, write_cost=0.0, read_cap=10**9)


def test_storm_frames():
    assert ch03.storm_frames(10_000 * 100 / 2)
    assert "Twice" in ch03.storm_frames(1_000_000).message
    assert "every pair" in ch03.storm_frames(10_000 * 9_999 / 2).message
    assert "too low" in ch03.storm_frames(1000).message
    for wrong in (1_000_000, 1000, 42):
        assert "500000" not in shown(ch03.storm_frames(wrong)) and "500,000" not in shown(ch03.storm_frames(wrong))
    assert ch03.storm_frames(50 * 10 / 2, users=50, friends=10)


@pytest.mark.parametrize("check", [ch03.diffusion_choice, ch03.storm_frames])
def test_odd_inputs_never_raise(check):
    for odd in ("x", 3, [], {}, float("nan"), object(), {n: None for n in ch03.GROUP_SIZES}):
        assert not check(odd)
