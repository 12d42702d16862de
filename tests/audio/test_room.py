"""Room impulse responses, the loudspeaker model (rtlib.audio.room) and echo scenes
(rtlib.audio.echo_scenes)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtlib.audio.echo_scenes import echo_scene
from rtlib.audio.room import DEFAULT_MIC_M, DEFAULT_SPEAKER_M, loudspeaker, room_rir

RATE = 16000
SPEED_OF_SOUND_M_S = 343.0      # pyroomacoustics' default
FRAC_DELAY_TAPS = 81            # pra.constants.get("frac_delay_length"): centred, 40 taps late


def _power_db(x):
    return 10 * math.log10(np.mean(np.asarray(x) ** 2))


def test_direct_path_arrives_after_the_distance_over_the_speed_of_sound():
    h = room_rir()
    dist_m = math.dist(DEFAULT_SPEAKER_M, DEFAULT_MIC_M)
    expected = dist_m / SPEED_OF_SOUND_M_S * RATE + FRAC_DELAY_TAPS // 2
    assert abs(int(np.argmax(np.abs(h))) - expected) <= 2
    # spherical spreading: amplitude 1 / r (pyroomacoustics drops the 1 / (4 pi))
    assert np.max(np.abs(h)) == pytest.approx(1 / dist_m, rel=0.1)


@pytest.mark.parametrize("rt60_s", [0.2, 0.3, 0.6])
def test_measured_rt60_is_roughly_the_requested_one(rt60_s):
    import pyroomacoustics as pra

    h = room_rir(rt60_s=rt60_s)
    measured = pra.experimental.measure_rt60(h, fs=RATE)
    assert measured == pytest.approx(rt60_s, rel=0.3)


def test_energy_decays_and_longer_rt60_rings_longer():
    def late_energy_db(h):     # energy after 50 ms relative to the total
        e = np.cumsum(h[::-1] ** 2)[::-1]
        return 10 * math.log10(e[int(0.05 * RATE)] / e[0])

    h = room_rir(rt60_s=0.3)
    edc = np.cumsum(h[::-1] ** 2)[::-1]
    assert np.all(np.diff(edc) <= 0)
    assert late_energy_db(room_rir(rt60_s=0.2)) < late_energy_db(h) < late_energy_db(room_rir(rt60_s=0.6))
    assert len(room_rir(rt60_s=0.6)) > len(h)


def test_rirs_are_cached_and_read_only():
    a = room_rir(rt60_s=0.25)
    assert room_rir(rt60_s=0.25) is a
    with pytest.raises(ValueError):
        a[0] = 1.0


def test_loudspeaker_is_linear_at_drive_zero_and_bounded_above_it():
    x = np.linspace(-1, 1, 101)
    assert np.array_equal(loudspeaker(x, 0.0), x)
    y = loudspeaker(x, 4.0)
    assert np.max(np.abs(y)) < 1 / 4.0
    assert loudspeaker(1e-4, 4.0) == pytest.approx(1e-4, rel=1e-6)   # unit small-signal gain


@settings(max_examples=30, deadline=None)
@given(st.floats(0.0, 20.0), st.floats(-2.0, 2.0), st.floats(0.0, 1.0))
def test_loudspeaker_is_odd_and_monotonic(drive, a, step):
    y = loudspeaker(np.array([a, a + step, -a]), drive)
    assert y[1] >= y[0] - 1e-15
    assert y[2] == pytest.approx(-y[0])


@pytest.mark.parametrize("kind", ["white", "pink", "babble"])
def test_scene_noise_kinds_have_the_asked_snr(kind):
    s = echo_scene(2.0, noise_kind=kind, snr_db=20.0, seed=5)
    assert _power_db(s.echo) - _power_db(s.noise) == pytest.approx(20.0, abs=0.01)


def test_scene_components_add_up_and_levels_are_as_asked():
    s = echo_scene(4.0, erl_db=10.0, snr_db=30.0, double_talk_s=(1.0, 3.0), ser_db=6.0)
    assert s.rate_hz == RATE and len(s.mic) == 4 * RATE and s.duration_s == 4.0
    assert np.allclose(s.mic, s.echo + s.near + s.noise)
    assert _power_db(s.far) - _power_db(s.echo) == pytest.approx(10.0, abs=0.01)
    assert _power_db(s.echo) - _power_db(s.noise) == pytest.approx(30.0, abs=0.01)
    assert not s.near[:RATE].any() and not s.near[3 * RATE:].any()
    seg = slice(RATE, 3 * RATE)
    assert _power_db(s.near[seg]) - _power_db(s.echo[seg]) == pytest.approx(6.0, abs=0.01)
    # the echo is the (loudspeaker-shaped) far end through the scene's RIR
    from scipy.signal import oaconvolve

    assert np.allclose(oaconvolve(s.far, s.rir)[: len(s.far)], s.echo)


def test_scene_is_deterministic_per_seed():
    a, b = echo_scene(1.0, seed=1), echo_scene(1.0, seed=1)
    assert np.array_equal(a.mic, b.mic)
    assert not np.array_equal(a.noise, echo_scene(1.0, seed=2).noise)
    assert np.array_equal(a.echo, echo_scene(1.0, seed=2).echo)   # only the noise is drawn


def test_loudspeaker_drive_makes_the_echo_nonlinear():
    lin, nl = echo_scene(2.0), echo_scene(2.0, drive=5.0)
    from scipy.signal import oaconvolve

    linear_part = oaconvolve(nl.far, nl.rir)[: len(nl.far)]
    assert not np.allclose(linear_part, nl.echo)
    assert np.array_equal(lin.far, nl.far)


@pytest.mark.parametrize("kwargs, name", [
    (dict(rt60_s=3.0), "rt60_s"),
    (dict(room_m=(0.5, 3, 3)), "room_m"),
    (dict(source_m=(9, 1, 1)), "source_m"),
    (dict(mic_m=(1, 1)), "mic_m"),
    (dict(rate_hz=44100), "rate_hz"),
    (dict(max_order=-1), "max_order"),
])
def test_bad_room_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        room_rir(**kwargs)


def test_unreachable_rt60_is_a_value_error():
    with pytest.raises(ValueError, match="rt60_s"):
        room_rir(room_m=(30, 30, 30), rt60_s=0.05)


@pytest.mark.parametrize("kwargs, name", [
    (dict(seconds=0.0), "seconds"),
    (dict(double_talk_s=(2.0, 1.0)), "double_talk_s"),
    (dict(double_talk_s=(0.5, 99.0)), "double_talk_s"),
    (dict(snr_db=200.0), "snr_db"),
    (dict(ser_db=50.0), "ser_db"),
    (dict(erl_db=-50.0), "erl_db"),
    (dict(drive=-1.0), "drive"),
    (dict(far_kind="music"), "far_kind"),
    (dict(noise_kind="brown"), "noise_kind"),
    (dict(far_lang="fr"), "lang"),
])
def test_bad_scene_parameters_name_themselves(kwargs, name):
    with pytest.raises(ValueError, match=name):
        echo_scene(**{"seconds": 1.0, **kwargs})
