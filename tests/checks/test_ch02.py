"""Chapter 02 checks, table-driven: right answers pass; each typical wrong answer gets its own hint."""

import pytest

from rtlib.checks import ch02
from tests.checks.table import assert_hint, shown

RIGHT_TIMES = [0, 1, 3, 7, 15, 23]
RIGHT_MAP = {"drop": "retries", "duplicate": "dedupe", "reorder": "in_order", "crash before commit": "retries",
             "retry of a stored message": "dedupe", "sender must know": "acks"}

# -- 2.1 --------------------------------------------------------------------------------------------
TIMES_RIGHT = [RIGHT_TIMES, [float(t) for t in RIGHT_TIMES], tuple(RIGHT_TIMES)]
TIMES_WRONG = [
    ([1, 2, 4, 8, 8, 8], "waits between attempts"),   # the six waits
    ([0, 1, 2, 4, 8, 8], "waits between attempts"),   # 0 then the waits
    ([1, 2, 4, 8, 8], "waits between attempts"),      # the five waits
    ([0, 1, 2, 4, 8, 16], "waits between attempts"),  # doubling the times themselves
    ([t * 1000 for t in RIGHT_TIMES], "milliseconds"),
    ([1, 2, 4, 8, 16, 24], "shifted by one ack timeout"),
    ([2, 3, 5, 9, 17, 25], "leaves at once"),
    ([0, 1, 3, 7, 8, 8], "cap is applied to the send times"),
    ([0, 1, 3, 7, 15, 31], "without a cap"),
    ([0, 1, 3, 7, 15], "should hold 6"),
    ([0, 2, 6, 14, 22, 30], "first retry"),
    ([0, 1, 1, 7, 15, 23], "must increase"),
    ([0, 1, 3, 7, 17, 27], "longer than the cap"),
    ([0, 1, 3, 6, 12, 20], "off from attempt 4"),
    ([0, 1, 3, float("nan"), 15, 23], "finite"),
    ("soon", "list of numbers"),
    (5, "list of numbers"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", TIMES_RIGHT)
def test_retry_times_right(answer):
    assert ch02.retry_times(answer)
    assert ch02.retry_schedule() == RIGHT_TIMES


@pytest.mark.parametrize("answer, hint", TIMES_WRONG)
def test_retry_times_wrong(answer, hint):
    fb = ch02.retry_times(answer)
    assert_hint(fb, hint)
    assert "23" not in shown(fb) and "15" not in fb.message


# -- 2.2 --------------------------------------------------------------------------------------------
P = (1 - 0.9 ** 2) ** 3
P_RIGHT = [P, 0.19 ** 3, (1 - (1 - 0.1) * (1 - 0.1)) ** 3]
P_WRONG = [
    (0.1 ** 3, "only lost sends"),
    (0.19, "only if every attempt fails"),
    (1 - P, "opposite"),
    (0.2 ** 3, "not the sum of the two drops"),
    (0.9 ** 6, "every frame gets through"),
    (P * 100, "percentage"),
    (0.19 ** 2, "counts 2 attempts"),
    (0.19 ** 4, "counts 4 attempts"),
    (6.859, "between 0 and 1"),
    (0.01, ("too high by roughly 10–50 %", "its send or its ack")),
    (0.1, ("about 15× too high", "its send or its ack")),
    ("0.0069", "without quotes"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("answer", P_RIGHT)
def test_p_unacked_right(answer):
    assert ch02.p_unacked(answer)


@pytest.mark.parametrize("answer, hint", P_WRONG)
def test_p_unacked_wrong(answer, hint):
    fb = ch02.p_unacked(answer)
    assert_hint(fb, hint)
    assert "0.0068" not in shown(fb) and "0.0069" not in shown(fb)


def test_p_unacked_other_parameters():
    assert ch02.p_unacked(0.0975 ** 2, drop=0.05, attempts=2)


# -- 2.3 --------------------------------------------------------------------------------------------
MAP_WRONG = [
    ({**RIGHT_MAP, "duplicate": "retries", "reorder": "acks"}, ("4 of 6 right", "'duplicate'", "'reorder'")),
    ({**RIGHT_MAP, "reorder": "In-Order"}, "lower case"),
    ({k: "retries" for k in RIGHT_MAP}, "One mechanism for every situation"),
    ({"drop": "retries"}, "Missing"),
    ({**RIGHT_MAP, "meteor": "acks"}, "Unknown"),
    ({**RIGHT_MAP, "drop": "prayer"}, "must be one of"),
    (["retries"], "dict"),
    (None, "Not answered yet"),
]


def test_which_mechanism_right():
    assert ch02.which_mechanism(RIGHT_MAP)


@pytest.mark.parametrize("answer, hint", MAP_WRONG)
def test_which_mechanism_wrong(answer, hint):
    fb = ch02.which_mechanism(answer)
    assert_hint(fb, hint)
    if "of 6 right" in fb.message:
        assert "dedupe" not in fb.message and "in_order" not in fb.message  # the right ones are not named


@pytest.mark.parametrize("check", [ch02.retry_times, ch02.p_unacked, ch02.which_mechanism])
def test_odd_inputs_never_raise(check):
    for odd in ("x", 3, [], {}, float("nan"), object()):
        assert not check(odd)


# -- 2.4 (design): a retry policy for a lossy radio link ----------------------------------------
def fresh(design, **kw):
    ch02.retry_design.reset()
    return ch02.retry_design(design, **kw)


def meets(r):
    return r["tick_p99_s"] <= ch02.RETRY_MAX_P99_S and r["resends_per_message"] <= ch02.RETRY_MAX_RESENDS


RETRY_RIGHT = [{"ack_timeout_s": 0.2, "backoff": 1.0, "max_backoff_s": 16.0},
               {"ack_timeout_s": 0.18, "backoff": 1.2, "max_backoff_s": 16.0},
               {"ack_timeout_s": 0.25, "backoff": 2.0, "max_backoff_s": 0.3}]


@pytest.mark.parametrize("design", RETRY_RIGHT)
def test_retry_right_designs_pass_by_their_own_simulation(design):
    r = ch02.simulate_retries(**design)
    assert meets(r) and r["never_acked"] == 0
    fb = fresh(design)
    assert fb and f"{r['resends_per_message']:.2f} resends" in repr(fb)


def test_retry_the_default_policy_does_not_meet_the_targets():
    r = ch02.simulate_retries()  # the client's defaults: 1 s, doubling, capped at 16 s
    assert not meets(r) and r["resends_per_message"] <= ch02.RETRY_MAX_RESENDS


RETRY_WRONG = [
    ({"ack_timeout_s": 1.0, "backoff": 2.0, "max_backoff_s": 16.0}, ("slowest messages wait too long", "in a row")),
    ({"ack_timeout_s": 0.2, "backoff": 2.0, "max_backoff_s": 16.0}, ("slowest messages wait too long", "in a row")),
    ({"ack_timeout_s": 0.4, "backoff": 1.0, "max_backoff_s": 16.0}, ("slowest messages wait too long", "full timeout")),
    ({"ack_timeout_s": 0.12, "backoff": 1.0, "max_backoff_s": 16.0}, ("too many resends", "still on its way")),
    ({"ack_timeout_s": 0.1, "backoff": 2.0, "max_backoff_s": 16.0}, ("Both targets are missed", "one parameter")),
    ({"ack_timeout_s": 200, "backoff": 1.0, "max_backoff_s": 16.0}, "looks like milliseconds"),
    ({"ack_timeout_s": 0.2, "backoff": 0.5, "max_backoff_s": 16.0}, "between 1 and 4"),
    ({"ack_timeout_s": 0.01, "backoff": 1.0, "max_backoff_s": 16.0}, "between 0.05 and 5"),
    ({"ack_timeout_s": 0.2, "backoff": 1.0}, "misses ['max_backoff_s']"),
    ({"ack_timeout_s": 0.2, "backoff": 1.0, "max_backoff_s": 16.0, "max_attempts": 3}, "Unknown setting"),
    ((0.2, 1.0, 16.0), "should be a dict"),
    ({"ack_timeout_s": "0.2", "backoff": 1.0, "max_backoff_s": 16.0}, "single number"),
    (None, "Not answered yet"),
]


@pytest.mark.parametrize("design, hint", RETRY_WRONG)
def test_retry_typical_wrong_designs_fail_with_a_reason(design, hint):
    fb = fresh(design, hint=True)  # the first hint, on request
    assert_hint(fb, hint)
    for d in RETRY_RIGHT:  # no passing setting is suggested
        assert f"{d['ack_timeout_s']:g} s" not in repr(fb)


def test_retry_hints_come_in_stages():
    wrong = {"ack_timeout_s": 0.12, "backoff": 1.0, "max_backoff_s": 16.0}
    fb = fresh(wrong)
    assert "still on its way" not in repr(fb) and "hint=True" in repr(fb)
    fb = ch02.retry_design(wrong, hint=True)
    assert "still on its way" in repr(fb) and "jitter included" not in repr(fb)
    fb = ch02.retry_design(dict(wrong, ack_timeout_s=0.13), hint=True)
    assert "jitter included" in repr(fb)
    ch02.retry_design.reset()


def test_retry_simulation_rejects_out_of_range_settings():
    with pytest.raises(ValueError, match="backoff must be a number in"):
        ch02.simulate_retries(backoff=8)
    with pytest.raises(ValueError, match="ack_timeout_s must be a number in"):
        ch02.simulate_retries(ack_timeout_s=True)


def test_retry_check_is_fast():
    import time

    ch02._retry_run.cache_clear()
    t0 = time.perf_counter()
    fresh({"ack_timeout_s": 0.3, "backoff": 1.5, "max_backoff_s": 2.0})
    assert time.perf_counter() - t0 <= 2.0
