"""rtlib.conf.overlay: the overlay picks the least-cost path and reroutes around a degraded link."""

import pytest

from rtlib.conf.edge import central_call, edge_call
from rtlib.conf.geo import BACKBONE_INFLATION, distance_km, fibre_one_way_ms
from rtlib.conf.overlay import Backbone, loss_equivalent_ms

SITES = ["Shanghai", "Singapore", "London", "Washington, D.C.", "São Paulo"]


def test_loss_exchange_rate_follows_the_emodel():
    assert loss_equivalent_ms(0.0) == 0.0
    # G.711 with PLC: Ie,eff = 95 * 1 / (1 + 25.1) = 3.64 R points for 1 % random loss; Id = 0.024 R per ms
    assert loss_equivalent_ms(0.01) == pytest.approx(95 / 26.1 / 0.024, rel=1e-9)
    assert loss_equivalent_ms(0.05) > loss_equivalent_ms(0.01) > 100
    with pytest.raises(ValueError, match="loss"):
        loss_equivalent_ms(1.0)


def test_full_mesh_takes_the_direct_link():
    bb = Backbone.between(SITES)
    r = bb.route("Shanghai", "São Paulo")
    assert r.path == ("Shanghai", "São Paulo")
    assert r.delay_ms == pytest.approx(fibre_one_way_ms(distance_km("Shanghai", "São Paulo"), BACKBONE_INFLATION))
    assert r.loss == 0.0 and r.cost_ms == pytest.approx(r.delay_ms)
    assert bb.route("London", "London").path == ("London",)


def test_reroutes_around_a_degraded_link_and_back():
    bb = Backbone.between(SITES)
    before = bb.route("Shanghai", "São Paulo")
    bb.degrade("Shanghai", "São Paulo", loss=0.03)
    after = bb.route("Shanghai", "São Paulo")
    assert after.path != before.path and len(after.path) == 3
    assert "Shanghai" == after.path[0] and after.path[-1] == "São Paulo"
    assert after.loss == 0.0 and after.delay_ms >= before.delay_ms  # longer, but clean
    # the detour is the cheapest two-hop path
    two_hop = min(bb.link("Shanghai", m).cost_ms + bb.link(m, "São Paulo").cost_ms
                  for m in SITES if m not in ("Shanghai", "São Paulo"))
    assert after.cost_ms == pytest.approx(two_hop)
    # a slow (not lossy) link too
    bb.degrade("Shanghai", "São Paulo", loss=0.0, delay_ms=before.delay_ms + 500)
    assert bb.route("Shanghai", "São Paulo").path == after.path
    bb.degrade("Shanghai", "São Paulo", delay_ms=before.delay_ms)
    assert bb.route("Shanghai", "São Paulo").path == before.path


def test_keeps_a_lossy_link_when_the_detour_costs_more():
    bb = Backbone()
    bb.add_link("A", "B", 10.0, loss=0.001)
    bb.add_link("A", "C", 200.0)
    bb.add_link("C", "B", 200.0)
    assert bb.route("A", "B").path == ("A", "B")  # 0.1 % loss ~ 15 ms < a 390 ms longer detour
    bb.degrade("A", "B", loss=0.2)
    r = bb.route("A", "B")
    assert r.path == ("A", "C", "B") and r.delay_ms == 400.0


def test_path_loss_combines_links():
    bb = Backbone()
    bb.add_link("A", "B", 5.0, loss=0.01)
    bb.add_link("B", "C", 5.0, loss=0.02)
    r = bb.route("A", "C")
    assert r.loss == pytest.approx(1 - 0.99 * 0.98) and r.delay_ms == 10.0


def test_sparse_backbone_and_errors():
    bb = Backbone.between(SITES, neighbours=1)
    assert len(bb.links) < 10
    with pytest.raises(ValueError, match="not on the backbone"):
        bb.route("Shanghai", "Tokyo")
    bb2 = Backbone()
    bb2.add_link("A", "B", 1.0)
    bb2.add_link("C", "D", 1.0)
    with pytest.raises(ValueError, match="no path"):
        bb2.route("A", "D")
    with pytest.raises(ValueError):
        bb2.add_link("A", "A", 1.0)
    with pytest.raises(ValueError, match="no backbone link"):
        bb2.degrade("A", "C", loss=0.1)


def test_edge_call_follows_the_reroute():
    people = ["Shanghai", "São Paulo", "Berlin"]
    sites = ["Shanghai", "São Paulo", "London"]
    bb = Backbone.between(sites)
    clean = edge_call(people, sites, backbone=bb).pair("Shanghai", "São Paulo")
    bb.degrade("Shanghai", "São Paulo", loss=0.05)
    rerouted = edge_call(people, sites, backbone=bb).pair("Shanghai", "São Paulo")
    assert clean.path == ("Shanghai", "Shanghai", "São Paulo", "São Paulo")
    assert rerouted.path == ("Shanghai", "Shanghai", "London", "São Paulo", "São Paulo")
    assert rerouted.mouth_to_ear_ms > clean.mouth_to_ear_ms
    # and still better than the central server in Virginia
    assert rerouted.mouth_to_ear_ms < central_call(people).pair("Shanghai", "São Paulo").mouth_to_ear_ms


def test_hop_count_route_ignores_measurements():
    bb = Backbone()
    bb.add_link("A", "B", 100.0)
    bb.add_link("B", "D", 100.0)
    bb.add_link("A", "C", 5.0)
    bb.add_link("C", "E", 5.0)
    bb.add_link("E", "D", 5.0)
    hops = bb.route_by_hops("A", "D")
    assert hops.path == ("A", "B", "D") and hops.delay_ms == 200.0 and hops.cost_ms == 200.0
    assert bb.route("A", "D").path == ("A", "C", "E", "D")  # the overlay takes three fast links
    bb.degrade("A", "B", loss=0.5)  # a lossy link does not move the hop count's choice
    hops = bb.route_by_hops("A", "D")
    assert hops.path == ("A", "B", "D") and hops.loss == pytest.approx(0.5)
    assert hops.cost_ms == pytest.approx(200.0 + loss_equivalent_ms(0.5))
    # ties between equal hop counts go to the lexicographically first path, not the faster one
    bb2 = Backbone()
    bb2.add_link("A", "B", 90.0)
    bb2.add_link("B", "Z", 90.0)
    bb2.add_link("A", "C", 1.0)
    bb2.add_link("C", "Z", 1.0)
    assert bb2.route_by_hops("A", "Z").path == ("A", "B", "Z")
    assert bb2.route_by_hops("A", "A").path == ("A",)
    with pytest.raises(ValueError, match="not on the backbone"):
        bb2.route_by_hops("A", "Q")
    bb2.add_link("X", "Y", 1.0)
    with pytest.raises(ValueError, match="no path"):
        bb2.route_by_hops("A", "X")
