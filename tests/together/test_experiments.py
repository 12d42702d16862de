"""Chapter 13's figures: units on the axes, legends clear of the data, the table's numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rtlib.together import experiments as ex  # noqa: E402
from rtlib.together.product import lesson_plan  # noqa: E402
from rtlib.together.session import compare_paths  # noqa: E402
from rtlib.viz.style import legend_overlaps_data  # noqa: E402


def _check(fig):
    fig.canvas.draw()
    for ax in fig.axes:
        assert "[" in ax.get_xlabel() and ("[" in ax.get_ylabel() or "(" in ax.get_ylabel())
        assert legend_overlaps_data(ax) == []
    plt.close(fig)


def test_widget_result_and_figure():
    r = ex.watch_together.experiment(loss_pct=0.0)
    assert set(r["percentiles"]) == {"im", "rtc"}
    assert r["im"].params["loss"] == 0.0
    _check(ex.watch_together.experiment.plot(r))


def test_ccdf_figure():
    _check(ex.error_ccdf_figure(compare_paths(range(2))))


def test_class_table_shows_the_plans():
    text = ex.class_table_markdown(video_kbps=800.0)
    sfu = lesson_plan("sfu", video_kbps=800.0)
    assert f"{sfu.server_out_kbps / 1000:,.1f}" in text
    assert text.count("\n") == 4


def test_widget_refuses_out_of_range():
    with pytest.raises(ValueError, match="loss_pct"):
        ex.watch_together.experiment(loss_pct=50.0)
