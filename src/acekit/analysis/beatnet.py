"""A small learned pulse network (tempo thirteenth pass, notes/tempo-thirteenth-pass.md), run in numpy.

Read by `tempo.analyze_tempo` only where every shipped tempo rule has left a verdict "unreliable" under an unsure
tracker (the N+c rule, notes/tempo-fourteenth-pass.md); numpy and librosa only, the weights loaded once.

A temporal convolutional network (Böck/Davies style: a dilated non-causal TCN over a log-mel spectrogram)
trained on rendered corpus pieces reserved for training (never a calibration split's piece) to read the
**notated pulse** (`tempo.expected_pulse`: the quarter, the dotted quarter in 6/8, 9/8, 12/8, the half note
in 2/2). Two heads: a beat activation per frame (training aid) and a distribution over pulse tempi
(`TEMPO_BPM`, a 2 % log grid, 30-298 BPM), the mean over time of the network's skip outputs. Only the tempo
distribution is read at run time. Training: scripts/tempo_thirteenth_net.py (PyTorch, a training tool only);
weights: beatnet_weights.npz beside this file (a copy of notes/tempo-thirteenth-pass-weights.npz, 134,730 bytes), which
also holds, under check_*, the torch forward of `check_input` (tests compare the numpy forward with it; torch is no
dependency of acekit).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from acekit.analysis.audio import as_mono, resample

SR = 22050
HOP = 441  # 50 frames a second
FPS = SR / HOP
N_FFT = 2048
N_MELS = 48
FMIN, FMAX = 30.0, 11025.0
#: tempo classes of the pulse head: 30 BPM x 1.02^k, k = 0..116 (30 to 298 BPM)
TEMPO_BPM = 30.0 * 1.02 ** np.arange(117)
FILTERS = 20
KERNEL = 5
DILATIONS = (1, 2, 4, 8, 16, 32, 64, 128)
WEIGHTS = Path(__file__).with_name("beatnet_weights.npz")


def beat_features(y: np.ndarray, sr: int) -> np.ndarray:
    """(frames, 2 * N_MELS) float32: log-mel magnitude at 50 fps and its half-wave rectified frame difference."""
    import librosa

    y = resample(as_mono(y), sr, SR)  # as the tracker reads it (tempo.track_beats): soxr HQ, non-finite zeroed
    m = librosa.feature.melspectrogram(y=y, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS, fmin=FMIN, fmax=FMAX,
                                       power=1.0)
    lm = np.log1p(100.0 * m).T.astype(np.float32)  # (frames, mels)
    d = np.maximum(np.diff(lm, axis=0, prepend=lm[:1]), 0.0)
    return np.concatenate([lm, d], axis=1)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, dilation: int = 1) -> np.ndarray:
    """Non-causal 'same' 1-D convolution of (T, Cin) by torch-layout weights (Cout, Cin, K)."""
    cout, cin, k = w.shape
    if k == 1:
        return x @ w[:, :, 0].T + b
    half = (k - 1) // 2 * dilation
    t = x.shape[0]
    xp = np.zeros((t + 2 * half, cin), dtype=x.dtype)
    xp[half:half + t] = x
    cols = np.concatenate([xp[j * dilation:j * dilation + t] for j in range(k)], axis=1)  # (T, K*Cin)
    return cols @ w.transpose(2, 1, 0).reshape(k * cin, cout) + b


class PulseNet:
    """The numpy forward of the trained network (weights from ``npz``, torch parameter names)."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}

    @classmethod
    def load(cls, path: str | Path = WEIGHTS) -> "PulseNet":
        with np.load(path) as z:
            return cls({k: z[k] for k in z.files if not k.startswith("check_")})

    def forward(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(beat activation per frame in 0..1, pulse-tempo probabilities over `TEMPO_BPM`)."""
        p = self.p
        x = (np.asarray(feats, np.float32) - p["in_mean"]) / p["in_scale"]
        x = _elu(_conv(x, p["conv_in.weight"], p["conv_in.bias"]))
        skip = np.zeros_like(x)
        for i, d in enumerate(DILATIONS):
            h = _elu(_conv(x, p[f"blocks.{i}.dil.weight"], p[f"blocks.{i}.dil.bias"], d))
            h = _conv(h, p[f"blocks.{i}.mix.weight"], p[f"blocks.{i}.mix.bias"])
            x = x + h
            skip = skip + h
        beat = _conv(_elu(x), p["beat.weight"], p["beat.bias"])[:, 0]
        g = _elu(skip).mean(axis=0)
        g = _elu(g @ p["tempo_hidden.weight"].T + p["tempo_hidden.bias"])
        logits = g @ p["tempo_out.weight"].T + p["tempo_out.bias"]
        logits = logits - logits.max()
        e = np.exp(logits)
        return 1.0 / (1.0 + np.exp(-beat)), e / e.sum()


def check_input() -> np.ndarray:
    """The fixed input (seeded noise, 600 frames) whose torch forward the weights file stores as check_beat / check_tempo
    (scripts/tempo_thirteenth_net.py ``export``)."""
    return np.random.default_rng(0).normal(1.0, 1.0, (600, 2 * N_MELS)).astype(np.float32)


@lru_cache(maxsize=1)
def default_net() -> PulseNet:
    """The weights beside this file (`WEIGHTS`), loaded once."""
    return PulseNet.load(WEIGHTS)


def pulse_probabilities(y: np.ndarray, sr: int, net: PulseNet | None = None) -> np.ndarray:
    """The network's distribution over pulse tempi (`TEMPO_BPM`) of ``y``: no request is read."""
    return (net or default_net()).forward(beat_features(y, sr))[1]


def mass_near(probs: np.ndarray, bpm: float, tolerance_pct: float) -> float:
    """Probability mass of the tempo classes within ``tolerance_pct`` of ``bpm``."""
    return mass_near_any(probs, (bpm,), tolerance_pct)


def mass_near_any(probs: np.ndarray, bpms, tolerance_pct: float) -> float:
    """Probability mass of the tempo classes within ``tolerance_pct`` of any of ``bpms`` (each class once)."""
    near = np.zeros(TEMPO_BPM.shape, bool)
    for b in bpms:
        near |= np.abs(TEMPO_BPM / b - 1.0) * 100.0 <= tolerance_pct
    return float(np.asarray(probs)[near].sum())
