"""rtlib.conf.edge_experiments: chapter 11's widgets compute what their figures claim."""

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from rtlib.conf import edge_experiments as ex
from rtlib.conf.edge import central_call, floor_mouth_to_ear_ms, participants
from rtlib.conf.overlay import loss_equivalent_ms


def test_deployments_default_edges_beat_the_central_server():
    r = ex.edge_deployments.experiment()
    assert r["sites"] and len(r["sites"]) == 3 and set(r["sites"]) <= set(ex.HUBS)
    assert r["edge_worst_ms"] < r["central_worst_ms"]
    for row in r["pairs"]:
        assert row["floor_ms"] <= min(row["central_ms"], row["edge_ms"])  # nothing beats the floor
        assert row["central_ms"] > r["fixed_ms"]
    assert r["fixed_ms"] == pytest.approx(ex.FIXED_MS)


def test_deployments_follow_server_access_and_k():
    base = ex.edge_deployments.experiment(group="worldwide")
    mobile = ex.edge_deployments.experiment(group="worldwide", access="4g")
    assert mobile["central_worst_ms"] > base["central_worst_ms"]
    worst = [ex.edge_deployments.experiment(group="worldwide", k=k)["edge_worst_ms"] for k in (1, 3, 5)]
    assert worst[0] >= worst[1] - 1e-9
    c = central_call(ex.GROUPS["worldwide"], "London")
    assert ex.edge_deployments.experiment(group="worldwide", server="London")["central_worst_ms"] == \
        pytest.approx(c.worst_ms)
    a, b = "Sydney", "London"
    row = next(p for p in base["pairs"] if set(p["pair"].split(" – ")) == {a, b})
    assert row["floor_ms"] == pytest.approx(floor_mouth_to_ear_ms(a, b))


def test_reroute_avoids_a_lossy_link_that_fewest_hops_keeps():
    clean = ex.edge_reroute.experiment(loss_pct=0.0)
    assert clean["overlay"]["path"] == clean["hops"]["path"] == ["London", "Dubai", "Mumbai", "Singapore"]
    lossy = ex.edge_reroute.experiment(loss_pct=2.0)
    assert "Dubai" not in lossy["overlay"]["path"] and lossy["overlay"]["loss"] == 0.0
    assert lossy["hops"]["path"] == clean["hops"]["path"] and lossy["hops"]["loss"] == pytest.approx(0.02)
    assert lossy["overlay"]["cost_ms"] < lossy["hops"]["cost_ms"]
    assert lossy["hops"]["cost_ms"] == pytest.approx(clean["hops"]["cost_ms"] + loss_equivalent_ms(0.02))
    slow = ex.edge_reroute.experiment(loss_pct=0.0, extra_delay_ms=300.0)
    assert slow["overlay"]["path"] != clean["overlay"]["path"]
    assert slow["overlay"]["delay_ms"] < slow["hops"]["delay_ms"]


def test_placement_optimum_never_worse_than_greedy_and_falls_with_k():
    for objective in ("max", "p95"):
        r = ex.edge_placement.experiment(k=3, objective=objective)
        curve = r["curve"]
        assert all(c["exact_ms"] <= c["greedy_ms"] + 1e-9 for c in curve)
        assert all(a["exact_ms"] >= b["exact_ms"] - 1e-9 for a, b in zip(curve, curve[1:]))
        assert curve[0]["exact_ms"] == pytest.approx(curve[0]["greedy_ms"])  # one site: greedy is exact
        assert set(r["home"]) <= set(r["exact"]) and len(r["home"]) == len(ex.OFFICES)
    r = ex.edge_placement.experiment(k=3)
    assert r["greedy_ms"] > r["exact_ms"]  # the figure's point: greedy is not optimal here


@pytest.mark.parametrize("name, kwargs, word", [
    ("edge_deployments", {"k": 0}, "k"),
    ("edge_deployments", {"group": "Mars"}, "group"),
    ("edge_reroute", {"loss_pct": 20.0}, "loss_pct"),
    ("edge_reroute", {"link": "London – Tokyo"}, "link"),
    ("edge_placement", {"k": 9}, "k"),
    ("edge_placement", {"objective": "mean"}, "objective"),
])
def test_bad_parameters_name_themselves(name, kwargs, word):
    with pytest.raises(ValueError, match=word):
        getattr(ex, name).experiment(**kwargs)


def test_residuals_figure_shows_every_measured_pair_and_its_detours():
    import matplotlib.pyplot as plt

    from rtlib.conf.geo import model_residuals

    fig = ex.residuals_figure()
    plt.close(fig)
    ax = fig.axes[0]
    res = model_residuals()
    points = np.vstack([c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)])
    assert len(points) == len(res)  # one point per measured pair
    assert sorted(map(tuple, points.round(6))) == sorted((round(r.model_rtt_ms, 6), round(r.measured_rtt_ms, 6))
                                                           for r in res)
    labels = sorted(t.get_text() for t in ax.texts)
    assert labels == sorted(f"{r.a}–{r.b}" for r in res if r.detour)  # each detour named
    assert ax.get_xlim() == ax.get_ylim() and ax.get_xlim()[1] >= max(r.measured_rtt_ms for r in res)


def test_deployment_map_titles_give_each_worst_delay():
    import matplotlib.pyplot as plt

    people = ["Shanghai", "São Paulo", "Berlin"]
    fig = ex.deployment_map(people)
    plt.close(fig)
    central = central_call(participants(people), "Washington, D.C.")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles[0] == f"Central: one server in Washington, D.C., worst {central.worst_ms:.0f} ms"
    assert titles[1].startswith("Edges: 3 sites") and "worst" in titles[1]
    edge_worst = float(titles[1].rsplit("worst ", 1)[1].split()[0])
    assert edge_worst < central.worst_ms  # the map shows the edges' gain, not a copy of the central map


def test_floor_map_colours_every_other_city_by_its_floor():
    import matplotlib.pyplot as plt

    from rtlib.conf.geodata import city_names

    fig = ex.floor_map("Shanghai")
    plt.close(fig)
    ax = fig.axes[0]
    coloured = [c for c in ax.collections if c.get_array() is not None and len(c.get_offsets()) > 1]
    assert len(coloured) == 1
    others = [c for c in city_names() if c != "Shanghai"]
    assert np.allclose(np.sort(coloured[0].get_array()), np.sort([floor_mouth_to_ear_ms("Shanghai", c) for c in others]))
    assert len(fig.axes) == 2 and "[ms]" in fig.axes[1].get_ylabel()  # a colour bar with its unit
