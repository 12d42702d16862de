"""The house helpers make the right figure the default: legends clear of data, colour
bars with units, spectrograms in dB re full scale, slider readouts in plain numbers."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from rtlib.viz import Choice, Param, new_figure
from rtlib.viz.experiments import _widget_for, decimals_for, load_all, readout_format
from rtlib.viz.style import (DBFS_LABEL, colorbar, legend, legend_overlaps_data, spectrogram,
                             spectrogram_dbfs)



# -- legends ---------------------------------------------------------------------------------

def _crowded():
    fig, ax = new_figure()
    x = np.linspace(0, 1, 50)
    ax.plot(x, 0.5 + 0 * x, label="flat line through the middle")
    ax.plot(x, x, label="diagonal")
    return fig, ax


def test_overlap_check_catches_a_legend_on_a_line():
    fig, ax = _crowded()
    ax.legend(loc="center")  # planted: right on top of both lines
    hits = legend_overlaps_data(ax)
    assert any("flat line" in h for h in hits) and any("diagonal" in h for h in hits)
    plt.close(fig)


def test_overlap_check_catches_text_and_bars():
    fig, ax = new_figure()
    ax.bar([0, 1, 2], [1, 1, 1], label="bars")
    ax.text(1, 0.5, "a label on the data")
    ax.legend(loc="center")
    hits = legend_overlaps_data(ax)
    assert any(h.startswith("patch") for h in hits) and any("a label on the data" in h for h in hits)
    plt.close(fig)


def test_faint_shading_is_not_data():
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 0.1], label="low line")
    ax.axvspan(0, 1, alpha=0.15, label="a shaded period")
    ax.legend(loc="upper center")
    assert legend_overlaps_data(ax) == []
    plt.close(fig)


def test_default_legend_is_outside_and_clear():
    fig, ax = _crowded()
    leg = legend(ax)
    assert legend_overlaps_data(ax) == []
    renderer = fig.canvas.get_renderer()
    assert leg.get_window_extent(renderer).x0 >= ax.get_window_extent(renderer).x1
    plt.close(fig)


def test_inside_legend_moves_out_when_it_would_cover_data():
    fig, ax = _crowded()
    legend(ax, where="inside", loc="center")
    assert legend_overlaps_data(ax) == []
    plt.close(fig)
    # where there is room, "inside" stays inside
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 0.1], label="low line")
    ax.set_ylim(0, 1)
    leg = legend(ax, where="inside", loc="upper left")
    renderer = fig.canvas.get_renderer()
    assert ax.get_window_extent(renderer).contains(*leg.get_window_extent(renderer).p0)
    plt.close(fig)


def test_legend_rejects_unknown_place():
    fig, ax = _crowded()
    with pytest.raises(ValueError, match="where must be one of"):
        legend(ax, where="somewhere")
    plt.close(fig)


@pytest.mark.parametrize("name", sorted(load_all()))
def test_experiment_legends_clear_of_data(name):
    exp = load_all()[name]
    for point in exp.range_points():
        fig = exp.plot(exp(**point))
        for ax in fig.axes:
            assert legend_overlaps_data(ax) == [], f"{name} at {point}: legend of {ax.get_title()!r}"
        plt.close(fig)


# -- colour bars ------------------------------------------------------------------------------

def test_colorbar_needs_a_unit():
    fig, ax = new_figure()
    im = ax.imshow(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="has no unit"):
        colorbar(im, ax, "level")
    with pytest.raises(ValueError, match="has no unit"):
        colorbar(im, ax, "")
    cb = colorbar(im, ax, "level [dB]")
    assert cb.ax.get_ylabel() == "level [dB]"
    plt.close(fig)


def test_one_colorbar_serves_two_panels():
    fig, (a, b) = new_figure(2, 1)
    im = a.imshow(np.zeros((3, 3)), vmin=-1, vmax=1)
    b.imshow(np.zeros((3, 3)), vmin=-1, vmax=1)
    cb = colorbar(im, [a, b], "value [a.u.]")
    assert len(fig.axes) == 3 and cb.ax.get_ylabel() == "value [a.u.]"
    plt.close(fig)


# -- spectrograms -----------------------------------------------------------------------------

def _sine(amplitude, rate_hz=8000, bin_=20, frame=256, seconds=0.5):
    f = bin_ * rate_hz / frame  # centred on a bin
    t = np.arange(int(rate_hz * seconds)) / rate_hz
    return amplitude * np.sin(2 * np.pi * f * t), f


def test_full_scale_sine_reads_zero_db():
    x, f = _sine(1.0)
    freq, t, level = spectrogram_dbfs(x, 8000)
    peak = level.max(axis=1)
    assert freq[np.argmax(peak)] == pytest.approx(f)
    assert peak.max() == pytest.approx(0.0, abs=0.05)
    quiet, _ = _sine(0.1)
    assert spectrogram_dbfs(quiet, 8000)[2].max() == pytest.approx(-20.0, abs=0.05)
    # int16 full scale is 32768
    as_int = np.round(x * 32767).astype(np.int16)
    assert spectrogram_dbfs(as_int, 8000)[2].max() == pytest.approx(0.0, abs=0.05)
    assert t[0] == pytest.approx(128 / 8000)


def test_spectrogram_rejects_bad_input():
    with pytest.raises(ValueError, match="rate_hz"):
        spectrogram_dbfs(np.zeros(1000), 0)
    with pytest.raises(ValueError, match="one channel"):
        spectrogram_dbfs(np.zeros((2, 1000)), 8000)
    with pytest.raises(ValueError, match="hop"):
        spectrogram_dbfs(np.zeros(1000), 8000, hop=0)


def test_spectrogram_draws_labelled_image_with_its_colour_bar():
    x, _ = _sine(0.5)
    fig, ax = new_figure()
    im = spectrogram(ax, x, 8000, fmax_hz=2000)
    assert ax.get_xlabel() == "time [s]" and ax.get_ylabel() == "frequency [kHz]"
    assert im.get_extent()[3] <= 2.0 and im.get_clim() == (-100.0, -20.0)
    assert im.colorbar is not None and im.colorbar.ax.get_ylabel() == DBFS_LABEL
    assert "full scale" in DBFS_LABEL
    plt.close(fig)
    # panels sharing one scale: no bar each, one bar for all
    fig, (a, b) = new_figure(2, 1)
    ims = [spectrogram(p, x, 8000, bar=False) for p in (a, b)]
    assert all(i.colorbar is None for i in ims)
    colorbar(ims[0], [a, b], DBFS_LABEL)
    assert len(fig.axes) == 3
    plt.close(fig)


# -- slider readouts --------------------------------------------------------------------------

def _read(fmt: str, value: float) -> str:
    return format(int(round(value)), "d") if fmt == "d" else format(value, fmt)


def test_readout_format_old_default_was_wrong():
    """The old ".3g" showed 2600 kbit/s as 2.6e+03; the house format shows 2600."""
    spec = Param(2600.0, 200.0, 2800.0, 100.0, unit="kbit/s")
    assert "e" in format(2600.0, ".3g")
    assert _read(readout_format(spec), 2600.0) == "2600"
    assert decimals_for(Param(0.05, 0.0, 0.3, 0.005)) == 3
    assert readout_format(Param(3, 1, 9, 1, integer=True)) == "d"


def _numeric_params():
    for name, exp in load_all().items():
        for pname, spec in exp.params.items():
            if isinstance(spec, Param):
                yield pytest.param(spec, id=f"{name}.{pname}")


@pytest.mark.parametrize("spec", list(_numeric_params()))
def test_every_slider_reads_in_plain_numbers(spec):
    fmt = readout_format(spec)
    step = spec.step or (spec.high - spec.low) / 100
    values = np.arange(spec.low, spec.high + step / 2, step)
    shown = [_read(fmt, v) for v in values]
    assert all("e" not in s for s in shown), shown
    assert len(set(shown)) == len(shown), "two slider positions read the same"
    assert all(abs(float(s) - v) <= 1e-9 + abs(v) * 1e-9 for s, v in zip(shown, values))
    assert _read(fmt, spec.default) == _read(fmt, float(_read(fmt, spec.default)))


def test_a_slider_with_a_long_label_keeps_a_track_to_drag_along():
    from rtlib.viz.experiments import SLIDER_READOUT_PX, SLIDER_TRACK_PX, SLIDER_WIDTH_PX, slider_width_px

    short = _widget_for("n", Param(3, 1, 9, 1, integer=True))
    assert short.layout.width is None  # ipywidgets' own 300 px
    assert slider_width_px("n") == SLIDER_WIDTH_PX
    spec = Param(0.5, 0.05, 10.0, 0.05, label="messages per member per day", unit="msg")
    slider = _widget_for("m", spec)
    width = int(slider.layout.width.removesuffix("px"))
    # 33 characters measured 246 px wide in JupyterLab: the track keeps its share beside them
    assert width - 246 - SLIDER_READOUT_PX >= SLIDER_TRACK_PX
    for name, e in load_all().items():  # every label of the course leaves the track its room
        for pname, p in e.params.items():
            if isinstance(p, Param):
                w = _widget_for(pname, p)
                desc = w.description
                assert slider_width_px(desc) - 7.45 * len(desc) - SLIDER_READOUT_PX >= SLIDER_TRACK_PX, (name, pname)


def test_widget_uses_the_readout_format():
    spec = Param(1500.0, 200.0, 2800.0, 100.0, unit="kbit/s")
    slider = _widget_for("rate_kbps", spec)
    assert slider.readout_format == ".0f" and slider.description == "rate_kbps [kbit/s]"
    assert _widget_for("n", Param(3, 1, 9, 1, integer=True)).readout_format == "d"
    assert _widget_for("c", Choice("a", ("a", "b"))).options == ("a", "b")
