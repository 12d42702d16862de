"""The building blocks of every check: rough_factor, close_to's unit band, as_number's messages."""

import numpy as np
import pytest

from rtlib.checks.core import as_number, close_to, is_generic, rough_factor

ROUGH = [
    (1.05, "a little too high (off by less than 10 %)"),
    (0.95, "a little too low"),
    (1.3, "too high by roughly 10–50 %"),
    (2.2, "about 2× too high"),
    (1 / 3.4, "about 3.5× too low"),
    (7.7, "about 8× too high"),
    (25, "more than an order of magnitude (about 10×)"),
    (0.004, "too low by more than an order of magnitude (about 100×)"),
    (-1, "of the wrong sign"),
]


@pytest.mark.parametrize("value, phrase", ROUGH)
def test_rough_factor_is_coarse_and_directional(value, phrase):
    assert phrase in rough_factor(value, 1.0)


def test_close_to_unit_band_and_generic_verdict():
    hints = {1000: "units"}
    assert close_to(1.0, 1.0)
    assert "factor of 1000" in close_to(0.00104, 1.0, unit_hints=hints).message  # 4 % off 1/1000: still seconds
    assert "factor of 1000" not in close_to(0.0012, 1.0, unit_hints=hints).message  # 20 % off: not a unit slip
    fb = close_to(3.0, 1.0, what="The delay")
    assert fb.message == "The delay is about 3× too high." and is_generic(fb)
    assert not is_generic(close_to(0.001, 1.0, unit_hints=hints))


@pytest.mark.parametrize("answer, words", [(None, "Not answered yet"), ("3", "without quotes"),
                                           ([1, 2], "not a list"), (True, "single number"),
                                           (np.array([1.0, 2.0]), "not a list"), (float("inf"), "finite")])
def test_as_number_says_why_it_is_not_a_number(answer, words):
    fb = as_number(answer, "The answer")
    assert not fb and words in repr(fb)
    assert as_number(np.array([2.5]), "x") == 2.5 and as_number(np.int64(3), "x") == 3.0


# -- staged hints -------------------------------------------------------------------------------
from rtlib.checks.core import Feedback, StagedCheck, fail, ok, staged  # noqa: E402


@staged
def guess_seven(answer):
    """A toy check with two hint stages; the answer is 7."""
    if answer is None:
        return fail("Not answered yet.")
    if answer == 7:
        return ok("Right.")
    return fail(f"{answer} is wrong.", "FIRST: think of a week.", "SECOND: count the days.")


def shown(fb):
    return repr(fb) + fb._repr_html_()


def test_staged_hints_first_on_request_second_after_another_try():
    guess_seven.reset()
    fb = guess_seven(3)
    assert not fb and "3 is wrong" in shown(fb) and "FIRST" not in shown(fb) and "hint=True" in shown(fb)
    fb = guess_seven(3, hint=True)
    assert "FIRST" in shown(fb) and "SECOND" not in shown(fb)
    fb = guess_seven(3, hint=True)  # same answer again: not another try
    assert "SECOND" not in shown(fb) and "after another try" in shown(fb)
    fb = guess_seven(4)  # another wrong try: the second hint may now be asked for, not shown unasked
    assert "FIRST" in shown(fb) and "SECOND" not in shown(fb) and "second hint is there" in shown(fb)
    fb = guess_seven(4, hint=True)
    assert "FIRST" in shown(fb) and "SECOND" in shown(fb) and "hint=True" not in shown(fb)
    assert guess_seven(7) and guess_seven.unlocked == 2 and guess_seven.tries == 2
    guess_seven.reset()
    assert "FIRST" not in shown(guess_seven(5)) and guess_seven.unlocked == 0


def test_staged_hints_none_is_not_a_try_and_passing_shows_no_hint():
    guess_seven.reset()
    fb = guess_seven(None, hint=True)
    assert "Not answered yet" in shown(fb) and "FIRST" not in shown(fb) and guess_seven.tries == 0
    assert guess_seven(7).hints == ()
    fb = guess_seven(2, hint=True)
    assert "FIRST" in shown(fb)
    guess_seven.reset()


def test_staged_hints_work_on_dict_designs_and_reject_bad_arguments():
    seen = []

    def check(design):
        seen.append(design)
        return fail("no", "H1", "H2")

    s = StagedCheck(check)
    s({"a": 1, "b": 2}, hint=True)
    s({"b": 2, "a": 1}, hint=True)  # the same design written in another order: not a new try
    assert s.tries == 1 and s.unlocked == 1
    s({"a": 2, "b": 2}, hint=True)
    assert s.unlocked == 2 and "H2" in repr(s({"a": 3, "b": 2}))
    with pytest.raises(ValueError, match="hint must be True or False"):
        s({"a": 1}, hint="yes")
    with pytest.raises(ValueError, match="check must be callable"):
        StagedCheck(42)
    with pytest.raises(ValueError, match="stages must be an integer"):
        StagedCheck(check, stages=0)
    assert isinstance(s({"a": 9}), Feedback)


# -- design_settings / out_of_range: the form of a design task's answer --------------------------
from rtlib.checks import StagedCheck as ExportedStagedCheck  # noqa: E402
from rtlib.checks.core import design_settings, out_of_range  # noqa: E402

NAMES = ("rate_kbps", "buffer_ms", "mode")


@pytest.mark.parametrize("design, words", [
    (None, "Not answered yet: replace None with your design"),
    ((1, 2, 3), "should be a dict like {'rate_kbps': ..., 'buffer_ms': ..., 'mode': ...}, got tuple"),
    ({"rate_kbps": 1, "buffer_ms": 2, "mode": "a", "fec": 1}, "Unknown setting(s) ['fec']: the design has three"),
    ({"rate_kbps": 1}, "needs all three, 'rate_kbps', 'buffer_ms' and 'mode'; it misses ['buffer_ms', 'mode']"),
    ({"rate_kbps": "1", "buffer_ms": 2, "mode": "a"}, "rate_kbps should be a single number, got a string"),
    ({"rate_kbps": 1, "buffer_ms": None, "mode": "a"}, "Not answered yet"),
    ({"rate_kbps": 1, "buffer_ms": [1, 2], "mode": "a"}, "buffer_ms should be a single number, got a list of 2"),
])
def test_design_settings_says_what_is_wrong_with_the_form(design, words):
    fb = design_settings(design, NAMES, numbers=("rate_kbps", "buffer_ms"))
    assert isinstance(fb, Feedback) and not fb and words in repr(fb)


def test_design_settings_returns_numbers_as_floats_and_the_rest_as_given():
    v = design_settings({"mode": "x", "buffer_ms": np.int64(40), "rate_kbps": 1}, NAMES,
                        numbers=("rate_kbps", "buffer_ms"))
    assert v == {"rate_kbps": 1.0, "buffer_ms": 40.0, "mode": "x"} and isinstance(v["buffer_ms"], float)
    # two settings: "needs both"; an optional one may be left out; a note is added to "misses"
    fb = design_settings({"a": 1}, ("a", "b"), note="b=None for none")
    assert "needs both 'a' and 'b'; it misses ['b'] (b=None for none)." in repr(fb)
    assert design_settings({"a": 1}, ("a", "b"), optional=("b",)) == {"a": 1.0}


def test_out_of_range_names_the_setting_and_the_range():
    assert out_of_range("buffer_ms", 50, 0, 200, "ms") is None
    fb = out_of_range("buffer_ms", 500, 0, 200, "ms")
    assert not fb and fb.message == "buffer_ms should be between 0 and 200 ms, got 500."
    assert out_of_range("x", -1, 0, 1) is not None and out_of_range("x", 1, 0, 1) is None


def test_the_package_exports_staged_check():
    assert ExportedStagedCheck is StagedCheck
    from rtlib.checks import ch01, ch02, ch04, ch05, ch06, ch09, ch10, ch11

    for check in (ch01.call_and_chat_design, ch02.retry_design, ch04.link_design, ch05.rtcp_design,
                  ch06.voice_design, ch09.canceller_design, ch10.conference_design, ch11.edge_design):
        assert isinstance(check, ExportedStagedCheck) and "design" in check.__doc__
