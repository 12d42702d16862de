"""Checks for notebooks/13_capstone.ipynb (capstone: design a product).

Each check says what is wrong (which row, which reason) and never the expected
value.  An unanswered exercise (``None``) gets "not answered yet".

- :func:`machines`: exercise 13.1, which machine (``"rtc"`` or ``"im"``) serves each
  feature of the online class, with a reason for every wrong row;
- :func:`offset_error`: exercise 13.2, how far NTP's offset estimate is off when the
  request and the reply take different times (RFC 5905 section 8);
- :func:`self_assessment`: section 4's five questions, one letter each, with the reason
  an option chosen is wrong (never which option is right).
"""

from __future__ import annotations

import math

from rtlib.checks.core import Feedback, as_number, close_to, fail, ok

# -- 13.1 which machine for each feature --------------------------------------------------------
#: why a feature does not belong on the machine a learner chose (keyed by feature)
_WHY_NOT = {
    "lecture video": "A live lecture is worth seeing now, not complete later: a late frame is useless, and storing "
                     "and acknowledging every frame through a server adds delay the class would feel.",
    "hand raising": "A raised hand matters while the teacher is still talking about that point: it has to arrive "
                    "within the conversation's time, and it makes no sense to someone who reads it tomorrow.",
    "live Q&A": "A question and its answer are a conversation: turn-taking needs the mouth-to-ear delay of a call, "
                "and the voice has to flow as it is spoken.",
    "course forum": "A forum post is read over days, by people who are offline now: it must be stored, kept, "
                    "delivered exactly once and in order; a dropped post would be gone.",
    "homework": "A hand-in must never be lost, and whether it takes a second or a minute does not matter: "
                "acknowledged, stored, retried until delivered.",
    "notifications": "A notification has to reach a student whose app is closed: a push service, with the message "
                     "stored until the app pulls it, not a media path that exists only during a call.",
}


def _truth() -> dict[str, str]:
    from rtlib.together.product import FEATURES

    return {f: m for f, (m, _, _) in FEATURES.items()}


def machines(answer) -> Feedback:
    """Exercise 13.1: ``answer[feature]`` is ``"rtc"`` or ``"im"`` for each feature of ``FEATURES``."""
    if answer is None:
        return fail("Not answered yet: replace None with your dict and run the cell again.")
    if not isinstance(answer, dict):
        return fail(f"answer should be a dict of feature → machine, got {type(answer).__name__}.")
    truth = _truth()
    missing = [f for f in truth if f not in answer]
    if missing:
        return fail(f"answer has no row for {missing[0]!r}.", f"Keep the template's keys: {list(truth)}.")
    unknown = [f for f in answer if f not in truth]
    if unknown:
        return fail(f"{unknown[0]!r} is not one of the class's features.", f"The features are: {list(truth)}.")
    wrong = []
    for feature in truth:
        value = answer[feature]
        if value is None:
            return fail(f"answer[{feature!r}] is not answered yet.")
        if not isinstance(value, str) or value.strip().lower() not in ("rtc", "im"):
            return fail(f"answer[{feature!r}] should be \"rtc\" or \"im\", got {value!r}.")
        if value.strip().lower() != truth[feature]:
            wrong.append(feature)
    if not wrong:
        return ok("Right: each feature on the machine whose promise it needs. RTC promises now (and drops what is "
                  "late); IM promises every message, in order, even to someone offline (and takes its time).")
    hints = [f"{f}: {_WHY_NOT[f]}" for f in wrong]
    return fail(f"{len(wrong)} of the {len(truth)} rows are on the wrong machine.", *hints)


# -- 13.2 NTP's offset error under an asymmetric path --------------------------------------------
#: the exercise's path: the request takes FORWARD_MS, the reply BACKWARD_MS (one way each)
FORWARD_MS = 86.0
BACKWARD_MS = 24.0


def offset_error_ms() -> float:
    """|θ − true offset| [ms] for the exercise's path (RFC 5905 section 8: half the asymmetry)."""
    from rtlib.together.clock import offset_error_s

    return abs(offset_error_s(FORWARD_MS / 1000, BACKWARD_MS / 1000)) * 1000


def offset_error(error_ms) -> Feedback:
    """Exercise 13.2: by how many ms is NTP's offset estimate off, on the exercise's path?"""
    value = as_number(error_ms, "error_ms")
    if isinstance(value, Feedback):
        return value
    expected = offset_error_ms()
    f, b = FORWARD_MS, BACKWARD_MS
    slips = (
        (f - b, "That is the whole asymmetry. Write θ with T2 = T1 + d_forward + offset and "
                "T4 = T3 − offset + d_back: how much of the asymmetry is left in θ?"),
        ((f + b) / 2, "That is the mean one-way delay. A symmetric path, however slow, gives an exact offset: "
                      "only the difference between the two directions biases it."),
        (f + b, "That is the round-trip delay δ, not the offset's error. δ bounds the error (it is within ±δ/2), "
                "but the error itself comes from the difference between the directions."),
        ((f + b) / 2 / 2, "Half of the mean one-way delay is not it either: only the difference between the two "
                          "directions biases θ."),
        ((f - b) / 4, "Divide once: θ averages the two one-way readings, so it is off by half their difference."),
    )
    if math.isclose(value, -expected, rel_tol=0.01):
        return ok("Right in size: the estimate is off by that much (the sign only says which way). "
                  "The error is half the asymmetry, and no timestamp exchange can see it.")
    for wrong, hint in slips:
        if math.isclose(value, wrong, rel_tol=0.01) and not math.isclose(value, expected, rel_tol=0.01):
            return fail("Not right yet.", hint)
    fb = close_to(value, expected, what="error_ms", rel=0.01,
                  unit_hints={1000.0: "The answer is asked in milliseconds, not seconds."})
    if fb:
        return ok("Right: the estimate is off by half the asymmetry, and no timestamp exchange can see it. "
                  "That is why NTP keeps the sample of least delay: queueing, the usual cause of asymmetry, "
                  "adds delay.")
    return fb


# -- section 4: the self-assessment ------------------------------------------------------------
#: question number -> (question, {letter: option}); the options are shown by :func:`show_self_assessment`
SELF_ASSESSMENT = {
    1: ("Why does a follower that ignores clocks play behind by exactly the delivery delay?", {
        "a": "Its decoder is slower than the leader's.",
        "b": "It plays the position the leader's message names from the moment the message arrives, and by then "
             "the leader has played on for as long as the message took.",
        "c": "The leader waits for every follower's acknowledgement before it plays on.",
    }),
    2: ("What does NTP's filter (keep the sample of least round-trip delay among the last eight) remove?", {
        "a": "Both the queueing delay and any difference between the two directions, given eight samples.",
        "b": "The difference between the two directions, but not the queueing delay.",
        "c": "The queueing delay that varies from sample to sample; a steady difference between the two "
             "directions stays invisible in every sample.",
    }),
    3: ("Why does an in-order, reliable machine make a lost message cost more than its own delay?", {
        "a": "Every later message waits behind it until its retransmission arrives, a retry timeout or more "
             "later (head-of-line blocking).",
        "b": "The server throws away the messages that follow a loss and they are sent again from the start.",
        "c": "A lost message is resent at a lower priority than new ones.",
    }),
    4: ("The RTC data path lost as many packets as the IM path. Why did that not hurt?", {
        "a": "The RTC path retransmitted its losses faster.",
        "b": "Each state message carries the whole state (position, playing or paused, at what leader time) and "
             "is repeated, so the next one replaces a lost one and nothing waits.",
        "c": "Its losses fell only while the video was paused.",
    }),
    5: ("When would you send watch-together state over IM after all?", {
        "a": "Never: IM is always too slow for it.",
        "b": "When the viewers are on the same local network.",
        "c": "For what must be kept for later: a friend who joins an hour later needs the session (which video, "
             "where) from storage, while the live steering stays on the RTC path.",
    }),
}
_RIGHT = {1: "b", 2: "c", 3: "a", 4: "b", 5: "c"}
#: why each wrong option is wrong (question, letter) -> reason
_WRONG_BECAUSE = {
    (1, "a"): "A slow decoder would show as a delay that grows with the video's complexity; the lag measured is "
              "the network's delivery delay, and it is the same on any device.",
    (1, "c"): "The leader never waits for anyone (section 1): it sends its state and plays on. Look at what the "
              "follower does with the state's ref_s when it has no clock estimate.",
    (2, "a"): "Eight samples over the same path all share its asymmetry: no choice among them can see it "
              "(RFC 5905 section 8 bounds the offset only to θ ± δ/2).",
    (2, "b"): "It is the other way round: a steady asymmetry is in every sample alike, so choosing among them "
              "cannot remove it.",
    (3, "b"): "Nothing is thrown away: the IM machine keeps every message (chapter 02). What do the messages "
              "after a gap do while the gap is filled?",
    (3, "c"): "The IM machine has no priorities: look at the order in which it releases messages.",
    (4, "a"): "The RTC data path here never retransmits (an unordered channel with a retransmission limit of "
              "zero, section 2).",
    (4, "c"): "The loss is random and the same share on both paths, whatever the player does.",
    (5, "a"): "Slowness is no fault for state nobody watches live: the question is who needs it later.",
    (5, "b"): "A local network makes both machines fast; it does not change which promise the state needs.",
}


def show_self_assessment() -> None:
    """Print section 4's questions with their options."""
    for q, (text, options) in SELF_ASSESSMENT.items():
        print(f"{q}. {text}")
        for letter, option in options.items():
            print(f"   {letter}) {option}")


def self_assessment(answers) -> Feedback:
    """Section 4: ``answers[q]`` is the letter of the option chosen for question ``q`` (1 to 5)."""
    if answers is None or (isinstance(answers, dict) and all(v is None for v in answers.values())):
        return fail("Not answered yet: write one letter per question, e.g. {1: \"a\", 2: ...}, and run the cell.")
    if not isinstance(answers, dict):
        return fail(f"answers should be a dict of question number → letter, got {type(answers).__name__}.")
    missing = [q for q in SELF_ASSESSMENT if answers.get(q) is None]
    if missing:
        return fail(f"Question {missing[0]} is not answered yet.")
    unknown = [q for q in answers if q not in SELF_ASSESSMENT]
    if unknown:
        return fail(f"There is no question {unknown[0]!r}.", f"The questions are numbered {list(SELF_ASSESSMENT)}.")
    wrong = []
    for q, (_, options) in SELF_ASSESSMENT.items():
        a = answers[q].strip().lower().rstrip(")") if isinstance(answers[q], str) else None
        if a not in options:
            return fail(f"answers[{q}] should be one of {sorted(options)}, got {answers[q]!r}.")
        if a != _RIGHT[q]:
            wrong.append(f"Question {q}, {a}): {_WRONG_BECAUSE[(q, a)]}")
    if not wrong:
        return ok("All five right: you can say why each machine behaves as it did. You are ready for the review.")
    return fail(f"{len(wrong)} of the {len(SELF_ASSESSMENT)} answers do not hold up.", *wrong)
