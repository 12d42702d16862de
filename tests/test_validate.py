import numpy as np
import pytest

from rtlib.validate import check_number, check_rate_hz


def test_check_number_accepts_reals_in_range():
    assert check_number("loss", 0.5, 0, 1) == 0.5
    assert check_number("loss", np.float32(0.25), 0, 1) == 0.25
    assert check_number("n", np.int64(3), 0, 10) == 3.0


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan"), True, "0.5", None])
def test_check_number_names_the_parameter_and_range(bad):
    with pytest.raises(ValueError, match=r"loss must be in \[0, 1\], got"):
        check_number("loss", bad, 0, 1)


def test_check_number_gives_the_unit():
    with pytest.raises(ValueError, match=r"delay_ms must be in \[0, 10000\] ms, got -1"):
        check_number("delay_ms", -1, 0, 10_000, "ms")


def test_check_rate_hz():
    assert check_rate_hz(np.int32(8000)) == 8000
    for bad in (8000.0, 999, 200_000, True):
        with pytest.raises(ValueError, match=r"rate_hz must be an integer in \[1000, 192000\] Hz"):
            check_rate_hz(bad)
