"""Checks of chapter 13: right answers pass, typical wrong answers get a distinctive hint,
and no feedback shows the expected value."""

import pytest

from rtlib.checks import ch13
from rtlib.together.product import FEATURES
from tests.checks.table import assert_hint

RIGHT = {f: m for f, (m, _, _) in FEATURES.items()}
E = ch13.offset_error_ms()


def test_right_machines_pass_in_any_case():
    assert ch13.machines(RIGHT)
    assert ch13.machines({f: m.upper() for f, m in RIGHT.items()})


def _with(**changes):
    d = dict(RIGHT)
    d.update({k.replace("_", " "): v for k, v in changes.items()})
    return d


ALL_RTC = {f: "rtc" for f in RIGHT}
ALL_IM = {f: "im" for f in RIGHT}


@pytest.mark.parametrize("answer, hint", [
    (None, "not answered yet"),
    ([("lecture video", "rtc")], "dict"),
    ({"lecture video": "rtc"}, "no row for"),
    ({**RIGHT, "chess": "rtc"}, "not one of the class's features"),
    (_with(homework=None), "not answered yet"),
    (_with(homework="email"), '"rtc" or "im"'),
    (ALL_RTC, ("3 of the 6", "read over days", "never be lost", "app is closed")),
    (ALL_IM, ("3 of the 6", "late frame is useless", "still talking", "turn-taking")),
    (_with(hand_raising="im"), ("1 of the 6", "still talking")),
    (_with(notifications="rtc"), ("1 of the 6", "app is closed")),
])
def test_machines_wrong(answer, hint):
    assert_hint(ch13.machines(answer), hint)


def test_each_wrong_row_gets_its_own_reason():
    texts = set()
    for f in RIGHT:
        flipped = dict(RIGHT)
        flipped[f] = "im" if RIGHT[f] == "rtc" else "rtc"
        fb = ch13.machines(flipped)
        assert not fb and len(fb.hints) == 1
        texts.add(fb.hints[0])
    assert len(texts) == len(RIGHT)


def test_right_offset_error_passes():
    assert ch13.offset_error(E)
    assert ch13.offset_error(-E)  # the sign only says which way
    assert ch13.offset_error(E * 1.005)
    assert E == pytest.approx((ch13.FORWARD_MS - ch13.BACKWARD_MS) / 2)


F, B = ch13.FORWARD_MS, ch13.BACKWARD_MS


@pytest.mark.parametrize("answer, hint", [
    (None, "not answered yet"),
    ("31", "single number"),
    (F - B, "whole asymmetry"),
    ((F + B) / 2, "mean one-way delay"),
    (F + B, "round-trip delay"),
    ((F + B) / 4, "half of the mean"),
    ((F - B) / 4, "divide once"),
    (E / 1000, "milliseconds, not seconds"),
    (E * 1.4, "too high"),
])
def test_offset_error_wrong(answer, hint):
    assert_hint(ch13.offset_error(answer), hint, E)


SELF_RIGHT = {1: "b", 2: "c", 3: "a", 4: "b", 5: "c"}


def test_self_assessment_right_answers_pass_in_any_spelling():
    assert ch13.self_assessment(SELF_RIGHT)
    assert ch13.self_assessment({q: f" {a.upper()})" for q, a in SELF_RIGHT.items()})


@pytest.mark.parametrize("answers, hint", [
    (None, "not answered yet"),
    ({q: None for q in SELF_RIGHT}, "not answered yet"),
    ([("1", "b")], "dict"),
    ({**SELF_RIGHT, 3: None}, "question 3 is not answered"),
    ({**SELF_RIGHT, 6: "a"}, "no question 6"),
    ({**SELF_RIGHT, 2: "d"}, "one of ['a', 'b', 'c']"),
    ({**SELF_RIGHT, 1: "a"}, ("1 of the 5", "question 1, a)", "decoder")),
    ({**SELF_RIGHT, 2: "b"}, ("1 of the 5", "other way round")),
    ({**SELF_RIGHT, 4: "a", 5: "a"}, ("2 of the 5", "never retransmits", "who needs it later")),
])
def test_self_assessment_wrong_answers_get_their_reason(answers, hint):
    assert_hint(ch13.self_assessment(answers), hint)


def test_every_wrong_option_has_a_reason_and_no_feedback_quotes_the_right_option():
    from tests.checks.table import shown

    for q, (_, options) in ch13.SELF_ASSESSMENT.items():
        right_text = options[SELF_RIGHT[q]][:40]
        for letter in options:
            if letter == SELF_RIGHT[q]:
                continue
            fb = ch13.self_assessment({**SELF_RIGHT, q: letter})
            text = shown(fb)
            assert not fb and f"Question {q}, {letter})" in text
            assert right_text not in text
