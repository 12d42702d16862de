"""The IM experiments of notebooks 02 and 03 show what their titles claim (the sweep in
tests/viz only checks that they run and draw)."""

import numpy as np
import pytest

from rtlib.im.figures import im_delivery_latency, im_faults, im_multidevice, im_ordering


def counts(rep):
    return rep["lost"], rep["duplicated"], rep["out_of_order"]


def test_im_faults_mechanisms_repair_drops_one_after_another():
    res = im_faults(drop=0.1, duplicate=0.0, reorder=0.0, crash="none")
    assert res["title"] == "Faults: drop 10%"
    levels = res["levels"]
    assert levels["nothing"]["lost"] > 0
    assert levels["acks + retries"]["lost"] == 0 and levels["acks + retries"]["duplicated"] > 0
    assert levels["acks + retries + dedupe"]["duplicated"] == 0
    assert counts(levels["all (+ in-order release)"]) == (0, 0, 0)


def test_im_ordering_releases_every_message_once_in_order():
    res = im_ordering(reorder=0.2, drop=0.05, gap_wait_ms=100.0)
    assert res["released"] == list(range(1, 41))
    assert res["held"] > 0 and res["pulled"] > 0  # gaps were waited for, and filled by pulls
    assert counts(res["report"]) == (0, 0, 0)


def test_im_multidevice_laptop_stands_still_offline_then_catches_up():
    res = im_multidevice(offline_s=20.0)
    a, b = res["offline"]
    laptop = res["cursor"]["laptop"]
    assert not [t for t, _ in laptop if a < t < b]  # nothing reaches it while offline
    last = int(res["server_last_seq"][-1])
    assert laptop[-1][1] == res["cursor"]["phone"][-1][1] == last > 0
    assert 0 < res["read"][-1][1] <= last


def test_im_delivery_latency_sleeping_receivers_wait_for_the_push():
    res = im_delivery_latency(push_median_s=1.0, asleep_share=0.5, delay_ms=40.0)
    assert res["lost"] == 0
    assert np.median(res["online_s"]) < 0.4 < 1.0 < np.median(res["asleep_s"])


def test_hostile_experiments_and_figure_say_what_chapter_03_says():
    from rtlib.im import protocol as P
    from rtlib.im.figures import plot_hostile
    from rtlib.im.hostile import flood, slow_reader
    from rtlib.viz import legend_overlaps_data

    on, off = flood(3.0, 800.0, 2.0, defence=True), flood(3.0, 800.0, 2.0, defence=False)
    assert off["mallory_stored"][-1] == off["mallory_offered"][-1] == 2400
    assert on["mallory_stored"][-1] <= on["burst"] + on["rate"] * 3.0 < on["mallory_offered"][-1]
    assert on["mallory_stored"][-1] + on["mallory_refused"][-1] == on["mallory_offered"][-1]
    assert on["alice_stored"][-1] == on["alice_offered"][-1] == 6  # the honest user loses nothing
    bounded = slow_reader(20.0, 600.0, 200, max_bytes=P.MAX_OUT_QUEUE_BYTES)
    unbounded = slow_reader(20.0, 600.0, 200, max_bytes=None)
    assert bounded["closed_at"] is not None and unbounded["closed_at"] is None
    assert bounded["queued_bytes"].max() <= P.MAX_OUT_QUEUE_BYTES < unbounded["queued_bytes"][-1]
    assert bounded["pulled"] == bounded["stored"] == 12_000  # closing lost nothing: sync brings it all back
    fig = plot_hostile(on, off, bounded, unbounded)
    assert [legend_overlaps_data(ax) for ax in fig.axes] == [[], []]
    with pytest.raises(ValueError, match="flood_per_s"):
        flood(flood_per_s=0)
