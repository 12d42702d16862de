"""The QoS dashboard: series derived from stats samples, a figure updated in place, sliders that
set the relay, and a finished call's PNG and self-contained HTML report."""

from __future__ import annotations

import asyncio
import base64
import json
import math
import re

import numpy as np
import pytest

from rtlib.live.impair import Impairment
from rtlib.viz.dashboard import (PANELS, RESPONSE_NAMES, DashboardFigure, QosDashboard, compare_figure, derive,
                                 describe_change, first_response, load_call, nice_top, report_figure, report_html,
                                 report_png, summarize, synthetic_samples)
from rtlib.viz.style import legend_overlaps_data

PNG = b"\x89PNG\r\n\x1a\n"


class FakeRelay:
    """The two live Impairments and ``set`` of rtlib.live.relay.UdpRelay, without sockets."""

    def __init__(self):
        self.forward, self.backward = Impairment(delay_ms=40), Impairment()
        self.calls = []

    def set(self, direction, **params):
        self.calls.append((direction, params))
        for d in (("forward", "backward") if direction == "both" else (direction,)):
            getattr(self, d).update(**params)


def test_loss_is_counted_over_the_last_second_from_the_cumulative_counters():
    t = np.arange(1, 13) * 0.25
    lost = [0, 0, 0, 0, 5, 10, 15, 20, 20, 20, 20, 20]
    got = [25 * (i + 1) - lost[i] for i in range(12)]
    d = derive([{"t_s": a, "packets_lost": b, "packets_received": c} for a, b, c in zip(t, lost, got)])
    # at 2.0 s the last second (1.0 to 2.0 s) lost 20 of 100 packets
    assert d["loss_pct"][7] == pytest.approx(20.0)
    assert d["loss_pct"][0] == 0.0 and d["loss_pct"][-1] == 0.0


def test_reported_fraction_is_used_when_counters_are_unknown_and_stall_is_frozen_share():
    d = derive([{"t_s": 1.0, "loss_fraction": 0.1, "freeze_s": 0.0}, {"t_s": 2.0, "loss_fraction": 0.0, "freeze_s": 0.5}])
    assert d["loss_pct"].tolist() == [10.0, 0.0]
    assert d["stall_pct"].tolist() == [0.0, 25.0]
    assert np.isnan(d["e2e_delay_ms"]).all()  # unknown stays unknown, not zero


def test_summary_of_a_synthetic_call():
    s = summarize(synthetic_samples(6, events=[(3, 4, "outage")]))
    assert s["duration_s"] == 6.0 and s["freeze_count"] == 1 and s["stall_rate"] == pytest.approx(1 / 6)
    assert 0.1 < s["loss"] < 0.25 and s["e2e_delay_p50_ms"] > 60
    with pytest.raises(ValueError, match="at least one"):
        summarize([])
    with pytest.raises(ValueError, match="t_s"):
        summarize([{"rtt_ms": 3}])


def test_nice_axis_ends():
    assert [nice_top(x) for x in (0.7, 1, 1.2, 2.2, 4, 35, 115, 240, 1150)] == [0.8, 1, 1.5, 2.5, 4, 40, 150, 250, 1500]


def test_live_figure_blits_and_keeps_its_background_while_limits_hold():
    fig = DashboardFigure(live=True, duration_s=6)
    samples = synthetic_samples(6)
    fig.draw(samples[:4])
    first = fig.png()
    bg = fig._background
    fig.draw(samples[:8])
    second = fig.png()
    assert first.startswith(PNG) and second.startswith(PNG) and first != second
    assert fig._background is bg  # nothing but the lines was drawn again
    fig.mark(1.0, "loss 10 %")
    assert fig._background is None
    fig.png()
    assert fig.lines["fps"].get_xdata().size == 8


def test_axes_grow_in_steps_and_time_axis_is_the_call():
    fig = DashboardFigure(live=True, duration_s=6)
    fig.draw(synthetic_samples(6, events=[(4, 6, "cap")]))
    assert fig.axes["latency"].get_ylim()[1] == 400 and fig.axes["latency"].get_xlim() == (0, 6)
    assert fig.axes["loss"].get_ylim()[1] <= 100


def test_every_panel_has_a_unit_and_a_legend_clear_of_data():
    fig = DashboardFigure()
    fig.draw(synthetic_samples(6, events=[(1, 2, "loss"), (3, 4, "outage")]))
    for panel in PANELS:
        ax = fig.axes[panel.name]
        assert re.search(r"\[.+\]", ax.get_ylabel())
        assert legend_overlaps_data(ax) == []
    assert fig.axes["stall"].get_xlabel() == "call time [s]"


def test_dashboard_stores_samples_cheaply_and_draws_far_fewer_figures():
    dash = QosDashboard(show=False, refresh_s=0.5, duration_s=6)
    for s in synthetic_samples(6):
        dash.update(s)
    dash.finish()
    assert len(dash.samples) == 24 and dash.draws < 10
    assert max(dash.update_s) < 0.05
    assert dash.figure.lines["fps"].get_xdata().size == 24
    assert dash.figure.title.get_text().startswith("live call, t = 6.0 s")


def test_render_false_never_draws_during_the_call():
    dash = QosDashboard(show=False, render=False)
    drawn = dash.draws
    for s in synthetic_samples(3):
        dash.update(s)
    assert dash.draws == drawn


def test_sliders_set_the_relay_and_mark_the_change():
    relay = FakeRelay()
    dash = QosDashboard(relay, show=False, duration_s=6)
    assert set(dash.controls) == {"delay_ms", "jitter_ms", "loss", "rate_kbps", "outage"}
    assert dash.controls["delay_ms"].value == 40
    dash.update({"t_s": 1.0})
    dash.controls["loss"].value = 0.1
    assert relay.forward.loss == pytest.approx(0.1) and relay.calls[-1] == ("forward", {"loss": 0.1})
    assert dash.marks[-1][1] == "loss 10 %" and dash.marks[-1][0] >= 1.0
    dash.controls["rate_kbps"].value = 0  # 0 on the slider: no cap
    assert relay.forward.rate_kbps is None
    dash.controls["outage"].value = True
    assert relay.forward.outage is True


def test_apply_from_code_moves_the_sliders_without_applying_twice():
    relay = FakeRelay()
    dash = QosDashboard(relay, show=False)
    dash.apply(rate_kbps=300.0)
    assert relay.calls == [("forward", {"rate_kbps": 300.0})] and dash.controls["rate_kbps"].value == 300
    assert dash.marks[-1][1] == "cap 300 kbit/s"


def test_play_applies_steps_on_the_samples_clock():
    relay = FakeRelay()
    dash = QosDashboard(relay, show=False)

    async def feed():
        for i in range(1, 9):
            dash.update({"t_s": i * 0.05})
            await asyncio.sleep(0.05)

    async def main():
        await asyncio.gather(feed(), dash.play([(0.2, {"loss": 0.2}), (0.1, {"delay_ms": 100})]))

    asyncio.run(main())
    assert [c[1] for c in relay.calls] == [{"delay_ms": 100}, {"loss": 0.2}]
    assert [round(t, 1) for t, _ in dash.marks] == [0.1, 0.2]


def test_bad_arguments_name_the_parameter():
    with pytest.raises(ValueError, match="direction"):
        QosDashboard(show=False, direction="sideways")
    with pytest.raises(ValueError, match="refresh_s"):
        QosDashboard(show=False, refresh_s=0)
    with pytest.raises(ValueError, match="no relay"):
        QosDashboard(show=False).apply(loss=0.1)
    relay = FakeRelay()
    dash = QosDashboard(relay, show=False)
    dash.controls["loss"].max = 2.0
    dash.controls["loss"].value = 1.5  # past the Impairment's range: shown in the box, the relay keeps its value
    assert relay.forward.loss == 0.0 and "loss" in dash._error.value


def test_describe_change():
    assert describe_change({"loss": 0.05, "burst_len": 3}) == "loss 5 %, burst_len 3"
    assert describe_change({"rate_kbps": None}) == "no cap"
    assert describe_change({"outage": True}) == "outage"
    assert describe_change({"jitter_ms": 20}) == "jitter 20 ms"


def test_report_from_callstats_json(tmp_path):
    from rtlib.live.stats import CallStats, StatsSample

    stats = CallStats([StatsSample.from_dict(s) for s in synthetic_samples(6, events=[(3, 4, "outage")])],
                      config={"stack": "rtlib", "forward": {"delay_ms": 60, "loss": 0.0}})
    stats.to_json(tmp_path / "call.json")
    for source in (stats, CallStats.from_json(tmp_path / "call.json"), tmp_path / "call.json",
                   json.loads((tmp_path / "call.json").read_text())):
        samples, config, _ = load_call(source)
        assert len(samples) == 24 and config["stack"] == "rtlib"
    png = report_png(tmp_path / "call.json", tmp_path / "report.png", marks=[(3.0, "outage")])
    assert png.read_bytes().startswith(PNG)
    page = report_html(tmp_path / "call.json", tmp_path / "report.html").read_text()
    assert not re.search(r"(src|href)=\"(?!data:)", page) and "http" not in page  # self-contained
    img = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(img).startswith(PNG)
    assert "time frozen" in page and "1.00 s" in page and "forward" in page and "delay_ms=60" in page


def test_report_of_nothing_is_refused(tmp_path):
    with pytest.raises(ValueError, match="no stats samples"):
        report_png({"samples": []}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="samples"):
        report_html({"config": {}}, tmp_path / "x.html")


def test_slider_steps_in_quick_succession_make_one_marker_at_the_first_step():
    relay = FakeRelay()
    dash = QosDashboard(relay, show=False)
    dash.SETTLE_S = 0.1

    async def main():
        dash.update({"t_s": 1.0})
        for v in (0.01, 0.02, 0.03):  # a held arrow key
            dash.controls["loss"].value = v
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)

    asyncio.run(main())
    assert relay.forward.loss == pytest.approx(0.03) and len(relay.calls) == 3
    assert [text for _, text in dash.marks] == ["loss 3 %"] and dash.marks[0][0] == pytest.approx(1.0, abs=0.05)


def test_a_call_in_the_background_leaves_the_loop_free_and_draws_the_end():
    dash = QosDashboard(show=False, refresh_s=0.05, duration_s=1)

    async def call():
        for s in synthetic_samples(1.0):
            dash.update(s)
            await asyncio.sleep(0.01)
        return "done"

    async def failing():
        raise RuntimeError("the relay closed")

    async def main():
        task = dash.run_in_background(call())
        ticks = 0
        while not task.done():  # the caller keeps running while the call does
            ticks += 1
            await asyncio.sleep(0.005)
        assert ticks > 3 and await task == "done"
        bad = dash.run_in_background(failing())
        with pytest.raises(RuntimeError):
            await bad
        await asyncio.sleep(0)

    asyncio.run(main())
    dash.finish()
    assert dash.figure.lines["fps"].get_xdata().size == 4
    assert "the relay closed" in dash._error.value


def test_first_response_names_what_moved_and_when():
    samples = synthetic_samples(6, events=[(3, 4, "outage")])
    r = first_response(samples, 3.0, 4.0)
    assert r["recv_kbps"] == 0.25 and r["fps"] == 0.25  # at the first sample
    assert r["jitter_ms"] is None and r["rtt_ms"] is None  # these never move in the synthetic outage
    assert set(r) == set(RESPONSE_NAMES)


def test_report_draws_impairment_bands_and_calls_side_by_side(tmp_path):
    samples = synthetic_samples(6, events=[(2, 3, "loss")])
    fig = report_figure({"samples": samples}, spans=[(2.0, 3.0, "loss 20 %")], marks=[(4.0, "note")])
    top = fig.axes[0]
    assert any(t.get_text() == "loss 20 %" for t in top.texts) and any(t.get_text() == "note" for t in top.texts)
    assert len(top.patches) == 1  # the band
    both = compare_figure({"live": samples, "simulated": synthetic_samples(6, seed=1)}, keys=("e2e_delay_ms", "recv_kbps"))
    assert len(both.axes) == 2 and [l.get_label() for l in both.axes[0].lines] == ["live", "simulated"]
    for ax in both.axes:
        assert legend_overlaps_data(ax) == []
    with pytest.raises(ValueError, match="unknown series"):
        compare_figure({"a": samples}, keys=("mos",))
