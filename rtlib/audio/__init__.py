"""Echo cancellation and noise suppression.

The public API, by module (pyroomacoustics is imported only when a room is first
simulated, so ``import rtlib.audio`` stays quick):

- rooms and scenes: :func:`room_rir`, :func:`loudspeaker`, :func:`echo_scene`,
  :class:`EchoScene`;
- echo cancellers, sans-IO, frame by frame: :func:`nlms_update`,
  :class:`NlmsCanceller`, :class:`FdafCanceller`, :func:`run_frames`, :func:`taps_for`;
  double-talk detection (:class:`GeigelDetector`, :class:`NccDetector`,
  :class:`DoubleTalkCanceller`); residual echo suppression
  (:class:`ResidualEchoSuppressor`, :class:`ResCanceller`); the Speex reference
  (:class:`SpeexEchoCanceller`, :func:`speex_cancel`);
- noise suppression: :class:`SpectralSubtraction`, :class:`WienerFilter`,
  :func:`suppress`, the noise estimate :class:`MinimumStatistics`, noisy scenes
  (:func:`make_noise`, :func:`add_noise`, :func:`speech_pauses`);
- metrics: ERLE, convergence time, misalignment, segmental SNR, musical noise.

The chapter's widgets live in :mod:`rtlib.audio.experiments`.

Used in: notebooks/09_echo_noise.ipynb.
"""

from rtlib.audio.dtd import DoubleTalkCanceller, GeigelDetector, NccDetector
from rtlib.audio.echo_scenes import EchoScene, echo_scene
from rtlib.audio.fdaf import FdafCanceller
from rtlib.audio.metrics import (
    convergence_time_s,
    erle_db_over_time,
    mean_erle_db,
    misalignment_db,
    segmental_snr_db,
)
from rtlib.audio.nlms import NlmsCanceller, nlms_update, run_frames, taps_for
from rtlib.audio.noise import (
    SpectralSubtraction,
    WienerFilter,
    log_kurtosis_ratio,
    make_suppressor,
    noise_reduction_db,
    spectral_kurtosis,
    suppress,
)
from rtlib.audio.noise_estimate import MinimumStatistics, Stft, estimate_noise_psd, power_spectrogram
from rtlib.audio.noise_scenes import NOISE_KINDS, add_noise, make_noise, speech_pauses, step_noise
from rtlib.audio.res import ResCanceller, ResidualEchoSuppressor
from rtlib.audio.room import loudspeaker, room_rir
from rtlib.audio.speex import SpeexEchoCanceller, SpeexUnavailable, load_speexdsp, speex_cancel

__all__ = [
    "DoubleTalkCanceller", "EchoScene", "FdafCanceller", "GeigelDetector", "MinimumStatistics",
    "NOISE_KINDS", "NccDetector", "NlmsCanceller", "ResCanceller", "ResidualEchoSuppressor",
    "SpectralSubtraction", "SpeexEchoCanceller", "SpeexUnavailable", "Stft", "WienerFilter",
    "add_noise", "convergence_time_s", "echo_scene", "erle_db_over_time", "estimate_noise_psd",
    "load_speexdsp", "log_kurtosis_ratio", "loudspeaker", "make_noise", "make_suppressor",
    "mean_erle_db", "misalignment_db", "nlms_update", "noise_reduction_db", "power_spectrogram",
    "room_rir", "run_frames", "segmental_snr_db", "spectral_kurtosis", "speech_pauses", "speex_cancel",
    "step_noise", "suppress", "taps_for",
]
