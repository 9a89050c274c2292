"""A small learned key network (key sixteenth pass, notes/key-sixteenth-pass.md), run in numpy.

Input: a semitone pitch-salience roll built from the spectral peaks `key.chroma_frames` already picks (the harmonic
spectra's peaks, 4096/2048 frames at 44.1 kHz, on the music's tuned reference): each peak adds its magnitude to its
semitone (C2..B7, 72 bins), frames pooled by fours (5.4 blocks a second), log-scaled against the clip's maximum,
plus a plane holding each block's position in the clip. Network: three 2-D convolutions over (time, semitone), the
semitones folded to 12 pitch classes (mean over the octaves), a circular convolution over the pitch classes, a
per-block logit for each (mode, tonic) and attention pooling over time: 24 classes (C..B major, C..B minor). A
semitone shift of the input shifts the tonics alike (up to the register edges): the network is transposition-
equivariant by construction. Trained on rendered corpus pieces reserved for training (each at one seeded MIDI
transposition) and generated songs: scripts/key_sixteenth_train.py, scripts/key_sixteenth_net.py (PyTorch, a
training tool only). Weights: keynet_weights.npz beside this file, which also holds, under check_*, the torch
forward of `check_input` (tests compare the numpy forward with it; torch is no dependency of acekit).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

#: MIDI number of the roll's first bin (C2) and the number of semitone bins (C2..B7)
LOW_MIDI, N_BINS = 36, 72
#: frames (2048 samples at 44.1 kHz) per time block
POOL = 4
#: log scaling: log(1 + GAIN * R / max R)
GAIN = 100.0
C1, C4 = 8, 16
WEIGHTS = Path(__file__).with_name("keynet_weights.npz")


def pitch_roll(found: list[tuple[np.ndarray, np.ndarray]], ref_hz: float) -> np.ndarray:
    """(blocks, N_BINS) float32: the peaks' magnitudes summed per semitone on the tuned grid (``ref_hz`` = A4), the
    frames pooled by `POOL` (means; the last block the mean of what is left). ``found``: (frequencies, magnitudes)
    of each frame."""
    n = len(found)
    roll = np.zeros((n, N_BINS), dtype=np.float64)
    if n == 0:
        return np.zeros((0, N_BINS), dtype=np.float32)
    idx = np.concatenate([np.full(len(f), i) for i, (f, _m) in enumerate(found)]).astype(np.int64)
    f = np.concatenate([np.asarray(f, dtype=np.float64) for f, _m in found])
    m = np.concatenate([np.asarray(m, dtype=np.float64) for _f, m in found])
    pos = f > 0
    idx, f, m = idx[pos], f[pos], m[pos]
    b = np.rint(12.0 * np.log2(f / ref_hz)).astype(np.int64) + 69 - LOW_MIDI
    ok = (b >= 0) & (b < N_BINS)
    np.add.at(roll, (idx[ok], b[ok]), m[ok])
    blocks = -(-n // POOL)
    pad = blocks * POOL - n
    sums = np.concatenate([roll, np.zeros((pad, N_BINS))]).reshape(blocks, POOL, N_BINS).sum(axis=1)
    counts = np.full(blocks, float(POOL))
    counts[-1] = POOL - pad
    return (sums / counts[:, None]).astype(np.float32)


def net_input(roll: np.ndarray, mu: float, sigma: float) -> np.ndarray | None:
    """(2, T, N_BINS) float32: the scaled, standardised roll and the position plane; None for an all-zero roll."""
    r = np.asarray(roll, dtype=np.float32)
    mx = float(r.max(initial=0.0))
    if r.shape[0] == 0 or mx <= 0:
        return None
    s = (np.log1p(GAIN * r / np.float32(mx)) - np.float32(mu)) / np.float32(sigma)
    t = r.shape[0]
    pos = np.broadcast_to(((np.arange(t, dtype=np.float32) + 0.5) / t)[:, None], (t, N_BINS))
    return np.stack([s, pos]).astype(np.float32)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _conv(xp: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Valid 2-D convolution (cross-correlation, torch's) of a padded (Cin, T+kt-1, P+kp-1) by (Cout, Cin, kt, kp)."""
    cout, cin, kt, kp = w.shape
    t, p = xp.shape[1] - kt + 1, xp.shape[2] - kp + 1
    cols = np.empty((cin, kt, kp, t, p), dtype=np.float32)
    for i in range(kt):
        for j in range(kp):
            cols[:, i, j] = xp[:, i:i + t, j:j + p]
    return (w.reshape(cout, -1) @ cols.reshape(cin * kt * kp, t * p)).reshape(cout, t, p) + b[:, None, None]


def _pad_same(x: np.ndarray, kt: int, kp: int) -> np.ndarray:
    return np.pad(x, ((0, 0), ((kt - 1) // 2, kt // 2), ((kp - 1) // 2, kp // 2)))


def _pad_circular(x: np.ndarray, kt: int) -> np.ndarray:
    """Zero padding in time, circular on the 12 pitch classes (6 before, 5 after: kernel 12)."""
    x = np.concatenate([x[:, :, 6:], x, x[:, :, :5]], axis=2)
    return np.pad(x, ((0, 0), ((kt - 1) // 2, kt // 2), (0, 0)))


class KeyNet:
    """The numpy forward of the trained network (weights from ``npz``, torch parameter names)."""

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        self.p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}

    @classmethod
    def load(cls, path: str | Path = WEIGHTS) -> KeyNet:
        with np.load(path) as z:
            return cls({k: z[k] for k in z.files if not k.startswith("check_")})

    def logits(self, x: np.ndarray) -> np.ndarray:
        """24 logits (C..B major, C..B minor) of a `net_input` array (2, T, N_BINS)."""
        p = self.p
        h = np.asarray(x, dtype=np.float32)
        for name in ("c1", "c2", "c3"):
            w = p[f"{name}.weight"]
            h = _elu(_conv(_pad_same(h, w.shape[2], w.shape[3]), w, p[f"{name}.bias"]))
        t = h.shape[1]
        h = h.reshape(h.shape[0], t, N_BINS // 12, 12).mean(axis=2)  # fold the octaves: (C, T, 12)
        w4 = p["c4.weight"]
        h4 = _elu(_conv(_pad_circular(h, w4.shape[2]), w4, p["c4.bias"]))
        z = _conv(_pad_circular(h4, 1), p["c5.weight"], p["c5.bias"])  # (2, T, 12)
        a = p["att.weight"][0] @ h4.mean(axis=2) + p["att.bias"][0]  # (T,)
        a = np.exp(a - a.max())
        a = a / a.sum()
        return (z * a[None, :, None]).sum(axis=1).reshape(24)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        s = self.logits(x).astype(np.float64)
        e = np.exp(s - s.max())
        return e / e.sum()

    def key_probabilities(self, roll: np.ndarray) -> np.ndarray | None:
        """The 24 key probabilities of a `pitch_roll`; None for an all-zero roll."""
        x = net_input(roll, float(self.p["in_mu"]), float(self.p["in_sigma"]))
        return None if x is None else self.probabilities(x)


def check_input() -> np.ndarray:
    """The fixed input (seeded noise, 2 x 150 x 72) whose torch forward the weights file stores as check_logits
    (scripts/key_sixteenth_net.py ``export``)."""
    return np.random.default_rng(0).normal(0.0, 1.0, (2, 150, N_BINS)).astype(np.float32)


@lru_cache(maxsize=1)
def default_net() -> KeyNet:
    """The weights beside this file (`WEIGHTS`), loaded once."""
    return KeyNet.load(WEIGHTS)
