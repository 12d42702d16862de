"""The QoS dashboard: a call's latency, loss, jitter, bitrate, frame rate and stall rate.

What an operations team watches for every call, drawn from the samples a stats
collector takes every 250 ms (:class:`rtlib.live.stats.StatsSample`, or the plain
dicts of its ``to_dict``).  Six panels share one time axis, so an impairment's marker
lines up with the moment each metric answers it::

    end-to-end delay [ms]   measured glass to glass (a time code in each frame), and the RTT from RTCP
    loss [%]                over the last second, from the receiver's cumulative counters (RFC 3550 6.4.1)
    jitter [ms]             RFC 3550 interarrival jitter (section 6.4.1, A.8), as the receiver reports it
    bitrate [kbit/s]        sent and received
    frame rate [fps]        frames decoded per second
    stall rate [%]          share of the call so far spent frozen (W3C webrtc-stats totalFreezesDuration,
                            plus a freeze still in progress)

- :class:`QosDashboard` is the live view.  Give its :meth:`~QosDashboard.update` to a
  call as ``on_sample``: a sample is appended in microseconds, and the figure is
  redrawn at most every ``refresh_s`` on the house's redraw worker
  (:class:`rtlib.viz.widgets.Redrawer`), off the call's event loop; the figure and its
  lines are made once and only their data change.  With a relay it shows impairment
  sliders beside the figure that set ``relay.set(direction, ...)`` while the call
  runs, and marks each change on every panel (:meth:`~QosDashboard.apply` does the
  same from code, :meth:`~QosDashboard.play` runs a timed list of changes).
- :func:`report_png` and :func:`report_html` turn a finished call (a ``CallStats``, its
  JSON, or the plain dicts) into a figure and a self-contained HTML page (the PNG
  inline, a summary table, no external URL) that an instructor can hand out.
- :func:`summarize` is the table's arithmetic: p50/p95 where a distribution matters.

Stall rate: a freeze is an inter-frame gap longer than max(3 × mean frame duration,
mean + 150 ms) (W3C *Identifiers for WebRTC's Statistics API*, ``freezeCount`` and
``totalFreezesDuration``); the stall rate is the frozen share of the time so far.  A
freeze is counted when the next frame arrives, so an outage's freeze shows when the
picture comes back, not while it is gone.

The package, one concept per module: :mod:`~rtlib.viz.dashboard.series` (samples in,
series and summaries out, no drawing), :mod:`~rtlib.viz.dashboard.figure` (the panels),
:mod:`~rtlib.viz.dashboard.live` (the widget beside a running call),
:mod:`~rtlib.viz.dashboard.report` (a finished call's PNG and HTML).

Used in: notebooks/12_live_call.ipynb.
"""


from rtlib.viz.dashboard.series import (LOSS_WINDOW_S, ONGOING_FREEZE_S, RESPONSE_NAMES, RESPONSE_RULES, SAMPLE_FIELDS,
                                        derive, first_response, ongoing_freeze_s, sample_dict, summarize,
                                        synthetic_samples)
from rtlib.viz.dashboard.figure import PANELS, DashboardFigure, Panel, Series, nice_top
from rtlib.viz.dashboard.report import (compare_figure, load_call, report_figure, report_html, report_png,
                                        summary_rows)
from rtlib.viz.dashboard.live import SLIDERS, QosDashboard, describe_change

__all__ = ["DashboardFigure", "LOSS_WINDOW_S", "ONGOING_FREEZE_S", "PANELS", "Panel", "QosDashboard", "RESPONSE_NAMES",
           "RESPONSE_RULES", "SAMPLE_FIELDS", "SLIDERS", "Series", "compare_figure", "derive", "describe_change",
           "first_response", "load_call", "nice_top", "ongoing_freeze_s", "report_figure", "report_html", "report_png",
           "sample_dict", "summarize", "summary_rows", "synthetic_samples"]
