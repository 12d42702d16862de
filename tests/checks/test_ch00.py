from rtlib.checks import ch00


def test_right_answer_passes():
    assert ch00.samples_per_frame(960)
    assert ch00.samples_per_frame(160, rate_hz=8000)


def test_feedback_never_contains_the_answer():
    for wrong in (900, 1000, 0.96, 960_000, 959.5, "960", None):
        fb = ch00.samples_per_frame(wrong)
        assert not fb
        assert "960" not in repr(fb) and "960" not in fb._repr_html_()


def test_unit_mix_up_gets_a_unit_hint():
    fb = ch00.samples_per_frame(0.96)
    assert "factor of 1000" in fb.message
    assert any("units" in h for h in fb.hints)


def test_direction_is_given():
    assert "too high" in ch00.samples_per_frame(1200).message
    assert "too low" in ch00.samples_per_frame(480).message


def test_non_numbers_are_explained():
    assert "single number" in ch00.samples_per_frame("960").message


def test_placeholder_says_not_answered_yet():
    fb = ch00.samples_per_frame(None)
    assert not fb and fb.message.startswith("Not answered yet")
