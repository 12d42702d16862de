"""Feel the delay: what one-way delay does to turn-taking, and a button that answers late.

Two pieces:

- :func:`turn_taking` (registered experiment ``feel_delay``) is a pure function: you
  ask a question, the other person answers after their natural pause; with a one-way
  delay ``d`` the silence *you* hear after you stop talking grows from the natural
  pause ``g`` to ``2d + g``.  Conversation analysts measure that natural pause at
  around 200 ms across languages (Stivers et al., "Universals and cultural variation
  in turn-taking in conversation", PNAS 106(26), 2009), so every 100 ms of one-way
  delay adds a full natural pause, twice.
- :func:`delayed_reply_widget` is the one place in the course where lateness is the
  point: a button whose answer really comes back after the chosen delay (50, 200,
  400, 800 ms or 3 s), in a "voice call" mode (silence until the answer) and a
  "chat" mode (your message shows at once, as IM apps do, then the reply).  It is
  scheduled on the kernel's event loop, so the kernel never sleeps and a headless
  run, where nobody clicks, waits for nothing.

Used in: notebooks/01_im_vs_rtc.ipynb.
"""

from __future__ import annotations

import time

import numpy as np

from rtlib.viz.experiments import Choice, Param, experiment

DELAY_CHOICES_MS = (50, 200, 400, 800, 3000)
NATURAL_GAP_MS = 200.0
UTTERANCE_MS = 1200.0


def turn_taking(one_way_ms: float, reply_gap_ms: float = NATURAL_GAP_MS, utterance_ms: float = UTTERANCE_MS) -> dict:
    """Timeline of one question and its answer over a path with ``one_way_ms`` delay.

    Returns the intervals (start, end) in ms of: you talking, them hearing you, them
    answering, you hearing the answer; and the silence you perceive between the end
    of your question and the start of the answer (``2 · one_way_ms + reply_gap_ms``).
    """
    for name, v, hi in (("one_way_ms", one_way_ms, 60_000), ("reply_gap_ms", reply_gap_ms, 60_000),
                        ("utterance_ms", utterance_ms, 60_000)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= hi:
            raise ValueError(f"{name} must be in [0, {hi}] ms, got {v!r}")
    d, g, u = float(one_way_ms), float(reply_gap_ms), float(utterance_ms)
    you_talk = (0.0, u)
    they_hear = (d, u + d)
    they_answer = (u + d + g, 2 * u + d + g)
    you_hear = (u + 2 * d + g, 2 * u + 2 * d + g)
    return {
        "one_way_ms": d, "reply_gap_ms": g, "utterance_ms": u,
        "you_talk": you_talk, "they_hear": they_hear, "they_answer": they_answer, "you_hear": you_hear,
        "perceived_gap_ms": you_hear[0] - you_talk[1], "added_ms": 2 * d,
    }


def _babble(duration_ms: float, pitch_hz: float, rate_hz: int) -> np.ndarray:
    """Speech-like syllables: a voiced buzz (a pitch and its harmonics) gated at ~4 syllables/s."""
    n = int(round(duration_ms / 1000 * rate_hz))
    t = np.arange(n) / rate_hz
    buzz = sum(np.sin(2 * np.pi * k * pitch_hz * t) / k for k in range(1, 6))
    syllable = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 0.6  # 125 ms on, 125 ms off
    return 0.25 * buzz * syllable


def turn_taking_audio(one_way_ms: float, reply_gap_ms: float = NATURAL_GAP_MS, rate_hz: int = 8000) -> np.ndarray:
    """What the talker hears: their own question (as sidetone), then silence, then the answer.

    The answer starts ``2 · one_way_ms + reply_gap_ms`` after the question ends (see
    :func:`turn_taking`).  Two synthetic "voices" (120 Hz and 210 Hz buzzes) stand in for
    speech, so the clip needs no recording.
    """
    t = turn_taking(one_way_ms, reply_gap_ms)
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, np.integer)) or not 4000 <= rate_hz <= 48000:
        raise ValueError(f"rate_hz must be an integer in [4000, 48000] Hz, got {rate_hz!r}")
    question = _babble(t["utterance_ms"], 120.0, rate_hz)
    answer = _babble(t["utterance_ms"], 210.0, rate_hz)
    silence = np.zeros(int(round(t["perceived_gap_ms"] / 1000 * rate_hz)))
    return np.concatenate([question, silence, answer, np.zeros(rate_hz // 4)])


def _plot_turns(res):
    from rtlib.viz import COLORS, label_axes, new_figure
    from rtlib.viz.style import legend

    fig, ax = new_figure(figsize=(9, 3.6))
    s = 1 / 1000  # draw in seconds
    rows = [("you", 1.0), ("them", 0.0)]
    bars = [
        (1.0, res["you_talk"], COLORS["rtc"], "you speak"),
        (0.0, res["they_hear"], COLORS["sky"], "they hear you"),
        (0.0, res["they_answer"], COLORS["im"], "they answer"),
        (1.0, res["you_hear"], COLORS["yellow"], "you hear the answer"),
    ]
    for y, (a, b), color, label in bars:
        ax.barh(y + (0.18 if label.startswith(("you speak", "they answer")) else -0.18), (b - a) * s, left=a * s,
                height=0.32, color=color, edgecolor="#333333", lw=0.5, label=label)
    gap0, gap1 = res["you_talk"][1] * s, res["you_hear"][0] * s
    ax.annotate("", xy=(gap1, 1.48), xytext=(gap0, 1.48), arrowprops=dict(arrowstyle="<->", color=COLORS["bad"]))
    ax.text((gap0 + gap1) / 2, 1.55, f"silence you hear: {res['perceived_gap_ms']:.0f} ms "
            f"(natural pause {res['reply_gap_ms']:.0f} ms)", ha="center", va="bottom", color=COLORS["bad"], fontsize=9)
    ax.set_yticks([r[1] for r in rows], [r[0] for r in rows])
    ax.set_ylim(-0.55, 1.95)
    ax.set_xlim(0, max(res["you_hear"][1] * s * 1.05, 3.0))
    ax.grid(axis="y", visible=False)
    label_axes(ax, "time since you started speaking [s]", "who", f"One question, one answer, "
               f"{res['one_way_ms']:.0f} ms one way", unitless=("y",))
    legend(ax)
    return fig


@experiment(
    "feel_delay",
    plot=_plot_turns,
    notebook="01_im_vs_rtc",
    one_way_ms=Choice(200, DELAY_CHOICES_MS, label="one-way delay [ms]"),
    reply_gap_ms=Param(NATURAL_GAP_MS, 0.0, 1000.0, 50.0, label="their natural pause", unit="ms"),
)
def feel_delay(one_way_ms, reply_gap_ms) -> dict:
    """The silence a talker hears before the answer, for a given one-way delay."""
    return turn_taking(one_way_ms, reply_gap_ms)


def _schedule(delay_s: float, callback) -> None:
    """Run ``callback`` after ``delay_s`` without blocking the kernel."""
    import asyncio

    try:
        asyncio.get_running_loop().call_later(delay_s, callback)
    except RuntimeError:  # no running loop in this thread: fall back to a timer thread
        import threading

        t = threading.Timer(delay_s, callback)
        t.daemon = True
        t.start()


def delayed_reply_widget(delays_ms=DELAY_CHOICES_MS, clock=time.perf_counter, schedule=_schedule):
    """A button whose answer comes back after the chosen delay; returns the widget box.

    ``clock`` and ``schedule`` are injectable so tests can drive it without waiting.
    The box has ``.press()`` (what a click does) and ``.answers`` (measured delays, ms).
    """
    import ipywidgets as w

    delays_ms = tuple(delays_ms)
    if not delays_ms or any(isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 60_000
                            for d in delays_ms):
        raise ValueError(f"delays_ms must be numbers in [0, 60000] ms, got {delays_ms!r}")
    delay = w.ToggleButtons(options=[(f"{d:g} ms" if d < 1000 else f"{d / 1000:g} s", d) for d in delays_ms],
                            value=delays_ms[min(1, len(delays_ms) - 1)], description="delay")
    mode = w.ToggleButtons(options=["voice call", "chat"], value="voice call", description="mode")
    button = w.Button(description="Say “hello?”", button_style="primary", icon="comment")
    screen = w.HTML("<i>Press the button and wait for the answer.</i>")
    history = w.HTML()
    log: list[dict] = []
    pending = {"n": 0}

    def render_history():
        rows = "".join(f"<tr><td>{e['mode']}</td><td>{e['chosen_ms']:g} ms</td><td>{e['measured_ms']:.0f} ms</td></tr>"
                       for e in log[-6:])
        history.value = ("<table style='font-size:90%'><tr><th>mode</th><th>chosen</th><th>measured</th></tr>"
                         f"{rows}</table>") if log else ""

    def press(*_):
        pending["n"] += 1
        ticket, chosen, how, t0 = pending["n"], delay.value, mode.value, clock()
        if how == "chat":
            screen.value = ("<div>🧑 <b>you:</b> hello? <span style='color:#009E73'>✓ sent</span></div>"
                            "<div style='color:#888'>… (typing)</div>")
        else:
            screen.value = "<div>🧑 <b>you:</b> hello?</div><div style='color:#888'>(silence)</div>"

        def answer():
            measured = (clock() - t0) * 1000
            log.append({"mode": how, "chosen_ms": chosen, "measured_ms": measured})
            if ticket == pending["n"]:  # only the latest press updates the screen
                tick = " <span style='color:#009E73'>✓✓</span>" if how == "chat" else ""
                screen.value = (f"<div>🧑 <b>you:</b> hello?{tick}</div><div>🙋 <b>them:</b> hello! "
                                f"<span style='color:#888'>({measured:.0f} ms after you pressed)</span></div>")
            render_history()

        schedule(chosen / 1000, answer)

    button.on_click(press)
    box = w.VBox([w.HBox([delay]), w.HBox([mode, button]), screen, history])
    box.press = press
    box.answers = log
    box.controls = {"delay": delay, "mode": mode, "button": button, "screen": screen}
    return box
