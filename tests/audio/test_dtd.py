"""Double-talk detectors: hand cases, and the guard shown failing without it."""

import numpy as np
import pytest

from rtlib.audio.dtd import DoubleTalkCanceller, GeigelDetector, NccDetector
from rtlib.audio.fdaf import FdafCanceller
from rtlib.audio.metrics import misalignment_db
from rtlib.audio.nlms import NlmsCanceller
from rtlib.audio.echo_scenes import echo_scene

RATE = 16000
FRAME = 256
DT_START_S, DT_STOP_S = 4.0, 7.0


def test_geigel_fires_when_the_mic_beats_half_the_recent_far_peak():
    g = GeigelDetector(RATE, threshold=0.5, window_ms=10.0, hangover_ms=0.0)
    far = np.zeros(160)
    far[0] = 1.0                                         # recent far-end peak: 1.0
    assert g.update(far, np.full(160, 0.4)) is False     # 0.4 < 0.5 * 1.0
    g = GeigelDetector(RATE, threshold=0.5, window_ms=10.0, hangover_ms=0.0)
    assert g.update(far, np.full(160, 0.6)) is True


def test_geigel_remembers_the_far_peak_across_frames_and_holds_its_decision():
    g = GeigelDetector(RATE, threshold=0.5, window_ms=20.0, hangover_ms=20.0)   # 320 samples each
    far = np.zeros(160)
    far[-1] = 1.0
    assert g.update(far, np.zeros(160)) is False
    assert g.update(np.zeros(160), np.full(160, 0.4)) is False   # the peak is still in the window
    mic = np.zeros(160)
    mic[-1] = 0.9
    assert g.update(np.zeros(160), mic) is True
    assert g.update(np.zeros(160), np.zeros(160)) is True        # hangover: 320 samples
    assert g.update(np.zeros(160), np.zeros(160)) is True
    assert g.update(np.zeros(160), np.zeros(160)) is False


def test_ncc_statistic_is_one_for_pure_echo_and_drops_with_a_near_talker():
    rng = np.random.default_rng(0)
    d = rng.standard_normal(RATE)
    det = NccDetector(RATE, warmup_s=0.0, hangover_ms=0.0)
    assert det.update(d, d, d) is False and det.xi == pytest.approx(1.0)
    det = NccDetector(RATE, warmup_s=0.0, hangover_ms=0.0)
    near = rng.standard_normal(RATE)
    assert det.update(d, d + near, d) is True                     # xi ~ sqrt(1/2)
    assert det.xi == pytest.approx(np.sqrt(0.5), abs=0.05)


def test_ncc_waits_for_far_end_activity_before_deciding():
    det = NccDetector(RATE, warmup_s=0.5, hangover_ms=0.0)
    x = np.random.default_rng(1).standard_normal(FRAME)
    decisions = [det.update(x, x, np.zeros(FRAME)) for _ in range(40)]   # xi = 0 throughout
    warm = int(np.ceil(0.5 * RATE / FRAME))
    assert not any(decisions[: warm - 1]) and all(decisions[warm + 1:])


@pytest.fixture(scope="module")
def double_talk():
    # the near-end talker 6 dB louder than the echo, for 3 s after 4 s of single talk
    return echo_scene(9.0, double_talk_s=(DT_START_S, DT_STOP_S), ser_db=6.0, seed=0)


def _run(s, canceller):
    """Misalignment (dB) after every frame."""
    out = []
    for i in range(0, len(s.far) // FRAME * FRAME, FRAME):
        canceller.process(s.far[i:i + FRAME], s.mic[i:i + FRAME])
        out.append(misalignment_db(s.rir, canceller.weights))
    return np.array(out)


def _times(n):
    return (np.arange(n) + 1) * FRAME / RATE


@pytest.mark.parametrize("make", [lambda: FdafCanceller(128.0, RATE),
                                  lambda: NlmsCanceller(128.0, RATE)], ids=["fdaf", "nlms"])
def test_without_a_detector_double_talk_wrecks_the_filter_and_ncc_prevents_it(double_talk, make):
    s = double_talk
    bare = _run(s, make())
    guarded = _run(s, DoubleTalkCanceller(make(), NccDetector(RATE)))
    t = _times(len(bare))
    before = t <= DT_START_S
    during = (t > DT_START_S) & (t <= DT_STOP_S + 0.5)
    # both converged alike in single talk (NCC only starts deciding after 1 s)
    assert bare[before][-1] < -9 and guarded[before][-1] < -9
    # the failure the guard exists for: misalignment back above 0 dB (worse than w = 0)
    assert bare[during].max() > 0.0
    # with the NCC detector it stays within 1 dB of where single talk left it
    assert guarded[during].max() < guarded[before][-1] + 1.0


def test_geigel_limits_the_damage(double_talk):
    s = double_talk
    bare = _run(s, FdafCanceller(128.0, RATE))
    geigel = _run(s, DoubleTalkCanceller(FdafCanceller(128.0, RATE), GeigelDetector(RATE)))
    t = _times(len(bare))
    during = (t > DT_START_S) & (t <= DT_STOP_S + 0.5)
    assert geigel[during].max() < bare[during].max() - 6.0
    assert geigel[during].max() < -3.0


def test_ncc_decisions_follow_the_near_talker(double_talk):
    s = double_talk
    c = DoubleTalkCanceller(FdafCanceller(128.0, RATE), NccDetector(RATE))
    _run(s, c)
    dec = np.array(c.decisions)
    t = _times(len(dec))
    assert dec[(t > 1.5) & (t <= DT_START_S)].mean() < 0.1          # single talk: rare
    assert dec[(t > DT_START_S) & (t <= DT_STOP_S)].mean() > 0.7     # double talk: mostly


@pytest.mark.parametrize("call, name", [
    (lambda: GeigelDetector(threshold=0.0), "threshold"),
    (lambda: GeigelDetector(hangover_ms=-1.0), "hangover_ms"),
    (lambda: GeigelDetector(window_ms=0.0), "filter_ms"),
    (lambda: NccDetector(threshold=1.0), "threshold"),
    (lambda: NccDetector(tau_ms=0.0), "tau_ms"),
    (lambda: NccDetector(warmup_s=-1.0), "warmup_s"),
    (lambda: NccDetector().update(np.zeros(4), np.zeros(4), np.zeros(3)), "echo_estimate"),
])
def test_bad_parameters_name_themselves(call, name):
    with pytest.raises(ValueError, match=name):
        call()
