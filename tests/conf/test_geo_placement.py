"""rtlib.conf.edge: deployments and edge placement (k-center solvers against brute force)."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rtlib.conf.edge import (
    Participant,
    central_call,
    delay_matrix_ms,
    edge_call,
    floor_mouth_to_ear_ms,
    exact_k_center,
    greedy_k_center,
    marginal_gains,
    pairs_never_within,
    place_edges,
    placement_cost_ms,
    public_one_way_ms,
)
from rtlib.quality import TYPICAL_CALL


def brute_force(m, k, objective):
    best = None
    for combo in itertools.combinations(range(m.shape[1]), k):
        per = [min(m[i, j] for j in combo) for i in range(m.shape[0])]
        cost = max(per) if objective == "max" else float(np.percentile(per, 95))
        if best is None or cost < best:
            best = cost
    return best


@st.composite
def instances(draw):
    n_p = draw(st.integers(1, 6))
    n_c = draw(st.integers(1, 7))
    m = draw(arrays(np.float64, (n_p, n_c), elements=st.floats(0, 300, allow_nan=False)))
    k = draw(st.integers(1, min(3, n_c)))
    return m, k


@settings(max_examples=150, deadline=None)
@given(instances(), st.sampled_from(["max", "p95"]))
def test_exact_matches_brute_force_and_greedy_never_beats_it(inst, objective):
    m, k = inst
    exact = exact_k_center(m, k, objective)
    assert len(set(exact)) == k
    opt = placement_cost_ms(m, exact, objective)
    assert opt == pytest.approx(brute_force(m, k, objective), abs=1e-9)
    greedy = greedy_k_center(m, k, objective)
    assert len(set(greedy)) == k
    assert placement_cost_ms(m, greedy, objective) >= opt - 1e-9
    assert placement_cost_ms(m, greedy[:1], objective) == pytest.approx(brute_force(m, 1, objective))


def test_solver_errors():
    m = np.ones((2, 3))
    with pytest.raises(ValueError, match="k must"):
        exact_k_center(m, 4)
    with pytest.raises(ValueError, match="objective"):
        greedy_k_center(m, 1, "mean")
    with pytest.raises(ValueError, match="max_combinations"):
        exact_k_center(np.ones((2, 40)), 10)


PEOPLE = ["Shanghai", "São Paulo", "Berlin", "Sydney", "Lagos", "Chicago"]


def test_marginal_gains_and_placement():
    rows = marginal_gains(PEOPLE, 3)
    assert [r["k"] for r in rows] == [1, 2, 3]
    greedy = [r["greedy_cost_ms"] for r in rows]
    assert all(a >= b for a, b in zip(greedy, greedy[1:]))
    assert all(r["gain_ms"] == pytest.approx(p - c) for r, p, c in zip(rows[1:], greedy, greedy[1:]))
    exact = [r["exact_cost_ms"] for r in rows]
    assert all(e <= g + 1e-9 for e, g in zip(exact, greedy))
    assert all(a >= b for a, b in zip(exact, exact[1:]))
    pl = place_edges(PEOPLE, 3)
    assert pl.method == "exact" and pl.cost_ms == pytest.approx(exact[2]) and len(pl.sites) == 3
    # with one site per participant the worst access delay is the last mile alone
    pl6 = place_edges(PEOPLE, 6, candidates=PEOPLE, method="exact")
    assert pl6.cost_ms == pytest.approx(5.0) and sorted(pl6.sites) == sorted(PEOPLE)


def test_delay_matrix():
    m = delay_matrix_ms([Participant("Berlin", "4g"), Participant("Tokyo")], ["Berlin", "Tokyo"])
    assert m[0, 0] == pytest.approx(17.5) and m[1, 1] == pytest.approx(5.0)
    assert m[0, 1] == pytest.approx(17.5 + public_one_way_ms("Berlin", "Tokyo"))


def test_shanghai_sao_paulo_central_vs_edge():
    people = ["Shanghai", "São Paulo", "Berlin"]
    c = central_call(people)
    e = edge_call(people, ["Shanghai", "São Paulo", "Berlin"])
    pc, pe = c.pair("Shanghai", "São Paulo"), e.pair("Shanghai", "São Paulo")
    assert pc.path == ("Shanghai", "Washington, D.C.", "São Paulo")
    assert pe.mouth_to_ear_ms < pc.mouth_to_ear_ms - 50
    fixed = TYPICAL_CALL.with_(propagation_ms=0).total_ms
    assert pc.mouth_to_ear_ms == pytest.approx(fixed + pc.network_one_way_ms)
    # neither gets under G.114's 150 ms: the budget alone is ~100 ms and the fibre floor ~90 ms one way
    assert c.share_within(150) == e.share_within(150) == 0.0
    assert c.share_within(400) == e.share_within(400) == 1.0
    assert e.worst_ms < c.worst_ms
    d = e.to_dict()
    assert len(d["pairs"]) == 6 and {p["server"] for p in d["participants"]} == set(people)
    assert set(c.per_participant_worst_ms()) == set(people)


def test_mobile_access_and_errors():
    fibre = central_call(["London", "Paris"]).pair("London", "Paris").mouth_to_ear_ms
    mobile = central_call([Participant("London", "4g"), Participant("Paris", "4g")]).pair("London", "Paris")
    assert mobile.mouth_to_ear_ms == pytest.approx(fibre + 25.0)
    with pytest.raises(ValueError, match="at least 2"):
        central_call(["London"])
    with pytest.raises(ValueError, match="unknown city"):
        edge_call(["London", "Gotham"], ["London"])


def test_speed_of_light_floor_against_g114():
    fixed = TYPICAL_CALL.with_(propagation_ms=0).total_ms
    assert floor_mouth_to_ear_ms("Paris", "Paris") == fixed
    far = floor_mouth_to_ear_ms("Shanghai", "São Paulo")
    assert 150 < far < 400
    assert far <= central_call(["Shanghai", "São Paulo"]).pair("Shanghai", "São Paulo").mouth_to_ear_ms
    never = pairs_never_within(150)
    assert never and all(f > 150 for _, _, f in never) and never[0][2] == max(f for _, _, f in never)
    assert ("London", "Paris") not in {(a, b) for a, b, _ in never}
    assert pairs_never_within(400) == []  # light alone never breaks the planning limit on Earth


def test_one_edge_site_is_one_server_reached_over_the_public_internet():
    people = ["London", "Paris", "Berlin"]
    one = edge_call(people, ["Amsterdam"])
    central = central_call(people, "Amsterdam")
    for a, b in itertools.permutations(people, 2):
        assert one.pair(a, b).path == (a, "Amsterdam", b)
        assert one.pair(a, b).mouth_to_ear_ms == pytest.approx(central.pair(a, b).mouth_to_ear_ms)
