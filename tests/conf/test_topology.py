"""rtlib.conf.topology: closed-form loads of mesh / SFU / MCU (and, in test_call.py, vs the simulation)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.conf.topology import TOPOLOGIES, cpu_costs, load, load_table, mesh_saturation_n, pick_layer


def test_mesh_formulas():
    x = load("mesh", 5, 1000, audio_kbps=50)
    assert x.client_up_kbps == x.client_down_kbps == 4 * 1050
    assert x.server_in_kbps == x.server_out_kbps == x.server_cpu_cores == 0
    assert x.client_encodes == x.client_decodes == 4


def test_sfu_formulas_and_last_n():
    x = load("sfu", 6, 800, audio_kbps=32)
    assert x.client_up_kbps == 832 and x.client_down_kbps == 5 * 832
    assert x.server_in_kbps == 6 * 832 and x.server_out_kbps == 6 * 5 * 832
    assert x.server_encodes == x.server_decodes == 0
    y = load("sfu", 6, 800, audio_kbps=32, last_n=2)
    assert y.client_down_kbps == 2 * 800 + 5 * 32


def test_sfu_simulcast_sends_every_layer_receives_one():
    x = load("sfu", 4, 600, simulcast=True, layers_kbps=(150, 500, 1500), audio_kbps=0)
    assert x.client_up_kbps == 2150 and x.client_encodes == 3
    assert x.received_layer_kbps == 500 and x.client_down_kbps == 3 * 500
    assert load("sfu", 4, 100, simulcast=True, audio_kbps=0).received_layer_kbps == 150  # lowest if none fits


def test_mcu_formulas_and_cpu_grows_linearly():
    x = load("mcu", 6, 800)
    assert x.client_up_kbps == x.client_down_kbps == 832
    assert x.server_decodes == x.server_encodes == 6
    y = load("mcu", 12, 800)
    assert y.server_cpu_cores == pytest.approx(2 * x.server_cpu_cores)
    # an MCU burns far more CPU than an SFU forwarding the same call
    assert x.server_cpu_cores > 20 * load("sfu", 6, 800).server_cpu_cores


def test_cpu_costs_are_measured_with_provenance():
    c = cpu_costs()
    assert {"how", "when", "machine"} <= set(c)
    for res in ("180p", "360p", "720p"):
        assert c["vp8"][res]["encode_ms_per_frame"] > 0
    # bigger pictures cost more to encode
    assert c["vp8"]["720p"]["encode_ms_per_frame"] > c["vp8"]["180p"]["encode_ms_per_frame"]


@pytest.mark.parametrize("kwargs, name", [
    (dict(topology="star", participants=3, bitrate_kbps=500), "topology"),
    (dict(topology="sfu", participants=1, bitrate_kbps=500), "participants"),
    (dict(topology="sfu", participants=3.5, bitrate_kbps=500), "participants"),
    (dict(topology="sfu", participants=3, bitrate_kbps=-1), "bitrate_kbps"),
    (dict(topology="sfu", participants=3, bitrate_kbps=float("nan")), "bitrate_kbps"),
    (dict(topology="mesh", participants=3, bitrate_kbps=500, simulcast=True), "simulcast"),
    (dict(topology="sfu", participants=3, bitrate_kbps=500, last_n=3), "last_n"),
    (dict(topology="sfu", participants=3, bitrate_kbps=500, layers_kbps=(500, 100)), "layers_kbps"),
    (dict(topology="sfu", participants=3, bitrate_kbps=500, audio_kbps=-3), "audio_kbps"),
])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load(**kwargs)


def test_mesh_saturation():
    assert mesh_saturation_n(10_000, 1000, audio_kbps=0) == 11
    assert mesh_saturation_n(10_000, 968, audio_kbps=32) == 11
    assert mesh_saturation_n(2500, 1000, audio_kbps=0) == 4
    with pytest.raises(ValueError, match="uplink_kbps"):
        mesh_saturation_n(0, 1000)


@settings(max_examples=60, deadline=None)
@given(up=st.floats(100, 1e5), v=st.floats(200, 5000), a=st.floats(0, 100))
def test_mesh_saturation_is_the_first_n_that_fills_the_uplink(up, v, a):
    n = mesh_saturation_n(up, v, audio_kbps=a)
    assert load("mesh", n, v, audio_kbps=a).client_up_kbps >= up * (1 - 1e-9)
    if n > 2:
        assert load("mesh", n - 1, v, audio_kbps=a).client_up_kbps < up


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 60), v=st.floats(10, 5000), a=st.floats(0, 100))
def test_conservation_server_in_equals_sum_of_uplinks(n, v, a):
    for topo in ("sfu", "mcu"):
        x = load(topo, n, v, audio_kbps=a)
        assert x.server_in_kbps == pytest.approx(n * x.client_up_kbps)
        assert x.server_out_kbps == pytest.approx(n * x.client_down_kbps)


def test_pick_layer_and_table():
    assert pick_layer((150, 500, 1500), 499) == 0
    assert pick_layer((150, 500, 1500), 2000) == 2
    rows = load_table(range(2, 5), 500, last_n=3)
    assert len(rows) == 3 * len(TOPOLOGIES)
