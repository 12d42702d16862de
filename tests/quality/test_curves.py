import matplotlib.pyplot as plt
import pytest

from rtlib.quality.curves import mos_curves
from rtlib.quality.emodel import emodel
from rtlib.viz.experiments import REGISTRY


def test_curves_pass_through_the_operating_point():
    res = mos_curves(delay_ms=200.0, loss=0.02, codec="g729a")
    assert res["point"].MOS == pytest.approx(emodel(200.0, 0.02, "g729a").MOS)
    i = list(res["delays_ms"]).index(200.0)
    assert res["by_delay"]["2.0% loss"][i] == pytest.approx(res["point"].MOS)


def test_codecs_with_built_in_concealment_ignore_plc_false():
    assert mos_curves(codec="g729a", plc=False)["plc"] is True
    assert mos_curves(codec="g711", plc=False)["plc"] is False


def test_registered_widgets_draw_labelled_figures():
    import rtlib.quality.budget  # noqa: F401  (registers latency_budget)
    import rtlib.quality.curves  # noqa: F401
    import rtlib.quality.delay_feel  # noqa: F401

    for name in ("emodel_curves", "latency_budget", "feel_delay"):
        exp = REGISTRY[name]
        assert exp.notebook == "01_im_vs_rtc"
        fig = exp.plot(exp())
        for ax in fig.axes:
            assert ax.get_xlabel() and ax.get_title()
        plt.close(fig)
