import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtlib.quality.delay_feel import DELAY_CHOICES_MS, _schedule, delayed_reply_widget, turn_taking


@given(st.floats(0, 10_000), st.floats(0, 2000))
def test_the_silence_you_hear_is_twice_the_delay_plus_the_pause(d, g):
    t = turn_taking(d, g)
    assert t["perceived_gap_ms"] == pytest.approx(2 * d + g)
    assert t["they_hear"][0] == pytest.approx(d)
    assert t["you_hear"][0] - t["they_answer"][0] == pytest.approx(d)


def test_turn_taking_rejects_bad_input():
    with pytest.raises(ValueError, match="one_way_ms must be in"):
        turn_taking(-1)
    with pytest.raises(ValueError, match="reply_gap_ms must be in"):
        turn_taking(100, reply_gap_ms="x")


class FakeClock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_widget_answers_after_the_chosen_delay_without_waiting():
    clock, scheduled = FakeClock(), []
    box = delayed_reply_widget(clock=clock, schedule=lambda delay_s, cb: scheduled.append((delay_s, cb)))
    c = box.controls
    assert c["delay"].value == 200 and [v for _, v in c["delay"].options] == list(DELAY_CHOICES_MS)
    for chosen, mode in ((800, "voice call"), (3000, "chat")):
        c["delay"].value, c["mode"].value = chosen, mode
        c["button"].click()
        delay_s, answer = scheduled[-1]
        assert delay_s == pytest.approx(chosen / 1000)
        assert "hello!" not in c["screen"].value  # nothing before the delay has passed
        clock.t += delay_s
        answer()
        assert "hello!" in c["screen"].value and f"{chosen} ms after" in c["screen"].value
        assert box.answers[-1] == {"mode": mode, "chosen_ms": chosen, "measured_ms": pytest.approx(chosen)}
    assert "✓ sent" not in c["screen"].value  # the chat answer replaces the sent tick by ✓✓


def test_a_late_answer_to_an_old_press_does_not_overwrite_the_new_one():
    clock, scheduled = FakeClock(), []
    box = delayed_reply_widget(clock=clock, schedule=lambda d, cb: scheduled.append(cb))
    box.press()
    box.press()
    scheduled[0]()  # the first press's answer arrives while the second one waits
    assert "hello!" not in box.controls["screen"].value
    assert len(box.answers) == 1


def test_widget_rejects_bad_delays():
    with pytest.raises(ValueError, match="delays_ms must be numbers"):
        delayed_reply_widget(delays_ms=(50, -1))


def test_schedule_runs_on_the_event_loop():
    fired = []

    async def main():
        _schedule(0.001, lambda: fired.append("loop"))
        await asyncio.sleep(0.05)

    asyncio.run(main())
    assert fired == ["loop"]


def test_audio_puts_the_answer_after_the_perceived_gap():
    from rtlib.quality.delay_feel import turn_taking_audio

    rate = 8000
    for d in (50, 800):
        x = turn_taking_audio(d, 200, rate_hz=rate)
        t = turn_taking(d, 200)
        gap = slice(int(t["utterance_ms"] / 1000 * rate) + 1, int((t["utterance_ms"] + t["perceived_gap_ms"]) / 1000 * rate) - 1)
        assert abs(x[gap]).max() == 0.0  # silence while the answer travels
        answer_start = int((t["utterance_ms"] + t["perceived_gap_ms"]) / 1000 * rate)
        assert abs(x[answer_start: answer_start + rate // 2]).max() > 0.1
        assert abs(x).max() <= 1.0
    with pytest.raises(ValueError, match="rate_hz"):
        turn_taking_audio(100, rate_hz=100)
