import pytest

from rtlib.checks import ch02

RIGHT_TIMES = [0, 1, 3, 7, 15, 23]
RIGHT_MAP = {"drop": "retries", "duplicate": "dedupe", "reorder": "in_order", "crash before commit": "retries",
             "retry of a stored message": "dedupe", "sender must know": "acks"}


def shown(fb) -> str:
    return repr(fb) + fb._repr_html_()


def test_unanswered_is_not_an_error():
    for check in (ch02.retry_times, ch02.p_unacked, ch02.which_mechanism):
        fb = check(None)
        assert not fb and "Not answered yet" in fb.message


def test_retry_times_right_and_wrong():
    assert ch02.retry_times(RIGHT_TIMES)
    assert ch02.retry_times([float(t) for t in RIGHT_TIMES])
    assert ch02.retry_schedule() == RIGHT_TIMES
    cases = {
        "milliseconds": [t * 1000 for t in RIGHT_TIMES],
        "leaves at once": [1, 2, 4, 8, 16, 24],
        "without a cap": [0, 1, 3, 7, 15, 31],
        "should hold 6": [0, 1, 3, 7, 15],
        "first retry": [0, 2, 4, 8, 16, 24],
        "must increase": [0, 1, 1, 7, 15, 23],
        "longer than the cap": [0, 1, 3, 7, 17, 27],
        "list of numbers": "soon",
    }
    for expect, wrong in cases.items():
        fb = ch02.retry_times(wrong)
        assert not fb and expect in shown(fb), (expect, fb)
        assert "23" not in shown(fb) and "15" not in fb.message


def test_p_unacked():
    right = (1 - 0.9 ** 2) ** 3
    assert ch02.p_unacked(right)
    assert ch02.p_unacked(0.19 ** 3)
    assert "only lost sends" in ch02.p_unacked(0.1 ** 3).message
    assert "one attempt" in ch02.p_unacked(0.19).message
    assert "opposite" in shown(ch02.p_unacked(1 - right))
    assert "between 0 and 1" in ch02.p_unacked(6.859).message
    assert "too high" in ch02.p_unacked(0.01).message
    for wrong in (0.1 ** 3, 0.19, 0.5, 0.001):
        assert "0.0068" not in shown(ch02.p_unacked(wrong))
    assert ch02.p_unacked(0.0975 ** 2, drop=0.05, attempts=2)


def test_which_mechanism():
    assert ch02.which_mechanism(RIGHT_MAP)
    wrong = {**RIGHT_MAP, "duplicate": "retries", "reorder": "acks"}
    fb = ch02.which_mechanism(wrong)
    assert not fb and "4 of 6 right" in fb.message and "'duplicate'" in fb.message and "'reorder'" in fb.message
    assert "dedupe" not in fb.message and "in_order" not in fb.message  # the right mechanisms are not named
    assert "Missing" in ch02.which_mechanism({"drop": "retries"}).message
    assert "Unknown" in ch02.which_mechanism({**RIGHT_MAP, "meteor": "acks"}).message
    assert "must be one of" in ch02.which_mechanism({**RIGHT_MAP, "drop": "prayer"}).message
    assert "dict" in ch02.which_mechanism(["retries"]).message


@pytest.mark.parametrize("check", [ch02.retry_times, ch02.p_unacked, ch02.which_mechanism])
def test_odd_inputs_never_raise(check):
    for odd in ("x", 3, [], {}, float("nan"), object()):
        assert not check(odd)
