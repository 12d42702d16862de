"""Chapter 10's widgets and figures: saying what their numbers show.

How fast they redraw is measured by ``make bench`` (benchmarks/bench_widgets.py times every
registered experiment against the 200 ms bar), not here: a timed test measures the machine.
"""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rtlib.conf import experiments as cx
from rtlib.conf.topology import load, mesh_saturation_n



def test_bandwidth_widget_matches_the_calculator():
    r = cx.conf_bandwidth(participants=6, bitrate_kbps=1500.0, uplink_mbps=20.0, layers="off", last_n=24)
    i = r["i"]
    assert r["n"][i] == 6
    for topo in ("mesh", "sfu", "mcu"):
        ld = load(topo, 6, 1500.0)
        assert r["loads"][topo]["client_up_kbps"][i] == pytest.approx(ld.client_up_kbps)
        assert r["loads"][topo]["client_down_kbps"][i] == pytest.approx(ld.client_down_kbps)
    sat = r["mesh_saturation_n"]
    assert sat == mesh_saturation_n(20_000, 1500.0)
    up = r["loads"]["mesh"]["client_up_kbps"]
    # the first N whose mesh uplink reaches the link is the saturation N the figure marks
    assert r["n"][np.argmax(up >= 20_000 - 1e-6)] == sat


def test_last_n_is_clipped_to_the_meeting_and_lowers_the_downlink():
    few = cx.conf_bandwidth(participants=25, bitrate_kbps=1500.0, uplink_mbps=20.0, layers="off", last_n=4)
    allv = cx.conf_bandwidth(participants=25, bitrate_kbps=1500.0, uplink_mbps=20.0, layers="off", last_n=24)
    assert few["loads"]["sfu"]["client_down_kbps"][-1] < allv["loads"]["sfu"]["client_down_kbps"][-1]
    assert np.all(few["loads"]["mesh"]["client_down_kbps"] == allv["loads"]["mesh"]["client_down_kbps"])


def test_server_cost_mcu_pays_cpu_sfu_pays_egress():
    r = cx.conf_server_cost(bitrate_kbps=1500.0, participants=10)
    m = r["loads"]
    assert np.all(m["mcu"]["server_cpu_cores"] > m["sfu"]["server_cpu_cores"])
    assert np.all(m["sfu"]["server_out_kbps"][1:] > m["mcu"]["server_out_kbps"][1:])  # N = 2 ties


def test_layer_selector_never_stays_above_the_estimate_longer_than_its_hold():
    for down_hold_s in (0.0, 0.4, 1.0, 3.0):
        r = cx.conf_layers(up_margin=1.15, up_hold_s=2.0, down_hold_s=down_hold_s)
        # sampled every dt: the switch lands on the first sample at or after the hold
        assert r["longest_over_s"] <= down_hold_s + r["dt_s"] + 1e-9
    r = cx.conf_layers(up_margin=1.15, up_hold_s=2.0, down_hold_s=0.4)
    assert r["naive_switches"] > r["switches"]


def test_nat_table_relays_exactly_when_the_rfc_4787_rule_says():
    from rtlib.conf.nat import NAT_PRESETS

    rows = cx.nat_pairs()
    assert len(rows) == 15
    apd = "address-and-port-dependent"
    for r in rows:
        a, b = NAT_PRESETS[r.left_nat], NAT_PRESETS[r.right_nat]
        rule = (a.mapping.value != "endpoint-independent" and b.filtering.value == apd) or \
               (b.mapping.value != "endpoint-independent" and a.filtering.value == apd)
        assert r.turn_needed == rule, r
        assert r.connected
    text = cx.nat_table_markdown()
    assert text.count("\n") == 16 and text.count("TURN relay") == 2


@pytest.mark.parametrize("n", [2, 4, 6])
def test_architecture_figure_draws_one_arrow_per_stream(n):
    fig = cx.architecture_figure(n)
    arrows = [len([c for c in ax.get_children() if type(c).__name__ == "Annotation"]) for ax in fig.axes]
    assert arrows == [n * (n - 1), n + n * (n - 1), 2 * n]
    plt.close(fig)
    with pytest.raises(ValueError, match="participants"):
        cx.architecture_figure(9)


def test_poor_receiver_gets_the_low_layer_and_the_others_do_not_suffer():
    num = cx.poor_receiver_numbers()
    assert num["poor_sim"]["final_layer"] == [0] * 5
    assert num["poor_sim"]["frames_rendered"] >= 0.99 * num["frames_expected"]
    assert np.allclose(num["others_sim_kbps"], num["others_base_kbps"], rtol=0.01)
    assert all(f == [2] * 5 for f in num["others_sim_final"]) and max(num["others_sim_freeze_s"]) == 0
    # without simulcast the poor receiver's link overflows and its picture freezes
    assert num["poor_plain"]["frames_rendered"] < 0.05 * num["frames_expected"]
    fig = cx.poor_receiver_figure()
    assert len(fig.axes) == 3
    plt.close(fig)


def test_mix_minus_nobody_hears_themself():
    mm = cx.mix_minus_listen()
    for p in "ABC":
        assert mm["corr"][(p, p)] < 0.1
        assert all(mm["corr"][(p, q)] > 0.4 for q in "ABC" if q != p)
    assert len(mm["heard"]["A"]) == len(mm["inputs"]["A"]) and mm["encodes"] == mm["decodes"]


def test_simulcast_ladder_loads_the_sender_and_serves_the_receiver_its_layer():
    off = cx.conf_bandwidth(participants=6, bitrate_kbps=600.0, uplink_mbps=20.0, layers="off", last_n=24)
    three = cx.conf_bandwidth(participants=6, bitrate_kbps=600.0, uplink_mbps=20.0, layers="150/500/1500", last_n=24)
    i = three["i"]
    assert three["loads"]["sfu"]["client_up_kbps"][i] == pytest.approx(150 + 500 + 1500 + 32)
    assert three["loads"]["sfu"]["client_down_kbps"][i] == pytest.approx(5 * (500 + 32))
    assert off["loads"]["sfu"]["client_up_kbps"][i] == pytest.approx(600 + 32)
