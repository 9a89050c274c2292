"""Procedural music engine behind ``acekit serve-reference`` (NOT ACE-Step).

Every function here is pure: (request values, seed) -> numpy audio, shape ``(n, 2)`` float32 at
48 kHz, so the same request and seed give the same samples on every machine. The music is
simple but real: four-on-the-floor drums synthesised from noise and sine sweeps, a bass line
and pad chords following a diatonic progression in the requested key, and a plucked lead
arpeggio. It exists so the kit, its analysers and the DAW plugin can be exercised without a
GPU; it says nothing about how ACE-Step itself sounds.

Musical conventions (the analysers rely on them):

- ``bpm`` is the rate of the felt beat. In 2/4, 3/4 and 4/4 that is the quarter note; in 6/8
  (``time_signature="6"``) it is the dotted quarter: two beats per bar, each split into three
  eighths (compound feel). The kick lands on every beat, so a beat tracker reports ``bpm``.
- Bar 1 starts at t = 0 (no lead-in); the first beat of each bar is accented.
- Chord progressions start and end on the tonic; minor keys use the harmonic-minor dominant
  (raised leading tone) so key detectors do not read the relative major.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from acekit.keys import Key

SAMPLE_RATE = 48000
ENGINE_NAME = "acekit-reference"
#: ACE-Step's latent frame rate (48 kHz / 1920-sample hop): repaint crossfades are given in these frames.
LATENT_FRAMES_PER_S = 25.0

_MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11)
_MINOR_STEPS = (0, 2, 3, 5, 7, 8, 10)
#: Progressions as scale degrees (0 = tonic). Chosen to state the key unambiguously.
_MAJOR_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 4, 5, 3), (0, 3, 0, 4))
_MINOR_PROGRESSIONS = ((0, 3, 4, 0), (0, 5, 3, 4), (0, 3, 5, 4), (0, 6, 5, 4))
BEATS_PER_BAR = {"2": 2, "3": 3, "4": 4, "6": 2}
SUBDIVISIONS = {"2": 2, "3": 2, "4": 2, "6": 3}  # hat pulses per beat: eighths, or compound triplets

#: Stems the engine can voice, and which upstream track names map onto them.
STEM_FOR_TRACK = {
    "drums": "drums", "percussion": "drums",
    "bass": "bass",
    "keyboard": "keys", "strings": "keys", "brass": "keys", "woodwinds": "keys",
    "synth": "lead", "guitar": "lead", "vocals": "lead", "backing_vocals": "lead", "fx": "lead",
}
STEM_GAINS = {"drums": 0.55, "bass": 0.42, "keys": 0.16, "lead": 0.13}


@dataclass(frozen=True)
class MusicSpec:
    """What to play: tempo, key, metre and length."""

    bpm: float
    key: Key
    time_signature: str = "4"
    duration_s: float = 30.0

    def __post_init__(self) -> None:
        if self.time_signature not in BEATS_PER_BAR:
            raise ValueError(f"time_signature {self.time_signature!r}: use one of 2, 3, 4, 6")
        if not (1.0 <= self.bpm <= 1000.0):
            raise ValueError(f"bpm {self.bpm} out of range")
        if self.duration_s <= 0:
            raise ValueError("duration_s must be positive")

    @property
    def beat_s(self) -> float:
        return 60.0 / self.bpm

    @property
    def beats_per_bar(self) -> int:
        return BEATS_PER_BAR[self.time_signature]

    @property
    def bar_s(self) -> float:
        return self.beat_s * self.beats_per_bar

    @property
    def n_samples(self) -> int:
        return int(round(self.duration_s * SAMPLE_RATE))


@dataclass(frozen=True)
class Palette:
    """Seed-chosen sound design and arrangement choices (a "timbre")."""

    kick_hz: float
    kick_decay_s: float
    snare_hz: float
    snare_decay_s: float
    hat_decay_s: float
    bass_harmonics: int
    bass_pattern: int
    pad_harmonics: int
    pad_detune: float
    lead_harmonics: int
    lead_decay_s: float
    progression: int
    lead_pattern: tuple[int, ...] = field(default_factory=tuple)


def palette_for_seed(seed: int, *, minor: bool) -> Palette:
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 7])
    progs = _MINOR_PROGRESSIONS if minor else _MAJOR_PROGRESSIONS
    return Palette(
        kick_hz=float(rng.uniform(48, 62)),
        kick_decay_s=float(rng.uniform(0.18, 0.32)),
        snare_hz=float(rng.uniform(170, 230)),
        snare_decay_s=float(rng.uniform(0.10, 0.18)),
        hat_decay_s=float(rng.uniform(0.025, 0.06)),
        bass_harmonics=int(rng.integers(3, 8)),
        bass_pattern=int(rng.integers(0, 3)),
        pad_harmonics=int(rng.integers(3, 9)),
        pad_detune=float(rng.uniform(0.001, 0.004)),
        lead_harmonics=int(rng.integers(2, 7)),
        lead_decay_s=float(rng.uniform(0.12, 0.3)),
        progression=int(rng.integers(0, len(progs))),
        lead_pattern=tuple(int(x) for x in rng.integers(0, 4, size=16)),
    )


def random_key(seed: int) -> Key:
    """The key the engine picks when the request gives none (reported back in metas)."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 11])
    return Key.from_pitch_class(int(rng.integers(0, 12)), "minor" if rng.random() < 0.5 else "major")


# --- synthesis primitives ---------------------------------------------------------------------


def _midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


@lru_cache(maxsize=256)  # bounded: a long pad note at 30 bpm is ~1.5 MB
def _tone(freq_hz: float, n: int, harmonics: int, attack_s: float, decay_s: float, sustain: float,
          release_s: float, tilt: float) -> np.ndarray:
    """A note of ``n`` samples: additive partials 1/k**tilt below Nyquist, ADSR envelope. Cached: notes repeat."""
    t = np.arange(n, dtype=np.float64) / SAMPLE_RATE
    wave = np.zeros(n)
    for k in range(1, harmonics + 1):
        if freq_hz * k >= SAMPLE_RATE * 0.45:
            break
        wave += np.sin(2 * np.pi * freq_hz * k * t) / k**tilt
    env = sustain + (1.0 - sustain) * np.exp(-t / max(decay_s, 1e-4))
    a = max(int(attack_s * SAMPLE_RATE), 1)
    env[:a] *= np.linspace(0.0, 1.0, a)
    r = min(max(int(release_s * SAMPLE_RATE), 1), n)
    env[n - r:] *= np.linspace(1.0, 0.0, r)
    out = (wave * env).astype(np.float32)
    out.setflags(write=False)
    return out


def _noise(seed_parts: tuple[int, ...], n: int) -> np.ndarray:
    return np.random.default_rng(list(seed_parts)).standard_normal(n)


def _one_pole_highpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    # First-difference-based high-pass: cheap and good enough for hats (no scipy state needed).
    from scipy.signal import butter, sosfilt

    sos = butter(2, cutoff_hz, btype="highpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, x)


def _bandpass(x: np.ndarray, lo_hz: float, hi_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(2, [lo_hz, hi_hz], btype="bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, x)


def _kick(p: Palette) -> np.ndarray:
    n = int(0.5 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    freq = p.kick_hz + 110.0 * np.exp(-t / 0.03)  # fast downward pitch sweep: the "thump"
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    body = np.sin(phase) * np.exp(-t / p.kick_decay_s)
    click = np.exp(-t / 0.002) * 0.4
    return (body + click).astype(np.float32)


def _snare(p: Palette, seed: int) -> np.ndarray:
    n = int(0.35 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    noise = _bandpass(_noise((seed, 1), n), 1500.0, 9000.0) * np.exp(-t / p.snare_decay_s)
    tone = np.sin(2 * np.pi * p.snare_hz * t) * np.exp(-t / 0.06) * 0.5
    return (noise * 1.4 + tone).astype(np.float32)


def _hat(p: Palette, seed: int) -> np.ndarray:
    n = int(0.15 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    return (_one_pole_highpass(_noise((seed, 2), n), 7000.0) * np.exp(-t / p.hat_decay_s)).astype(np.float32)


def _place(out: np.ndarray, sound: np.ndarray, start: int, gain: float) -> None:
    if start >= len(out) or start < 0:
        return
    end = min(start + len(sound), len(out))
    out[start:end] += gain * sound[: end - start]


# --- arrangement ------------------------------------------------------------------------------


def _scale(key: Key) -> tuple[int, ...]:
    return _MINOR_STEPS if key.mode == "minor" else _MAJOR_STEPS


def chord_pitch_classes(key: Key, degree: int) -> tuple[int, int, int]:
    """Triad on a scale degree, diatonic, except the minor-key dominant which is major (harmonic minor)."""
    steps = _scale(key)
    notes = [steps[(degree + i) % 7] + 12 * ((degree + i) // 7) for i in (0, 2, 4)]
    if key.mode == "minor" and degree == 4:
        notes[1] = 11  # raised leading tone
    return tuple((key.pitch_class + n) % 12 for n in notes)  # type: ignore[return-value]


def progression(key: Key, palette: Palette) -> tuple[int, ...]:
    progs = _MINOR_PROGRESSIONS if key.mode == "minor" else _MAJOR_PROGRESSIONS
    return progs[palette.progression % len(progs)]


def _bars_per_chord(spec: MusicSpec) -> int:
    # Short bars (2/4, 6/8 at fast tempi) change chord every two bars so harmony moves at a musical pace.
    return 2 if spec.bar_s < 1.6 else 1


def _chord_at_bar(spec: MusicSpec, palette: Palette, bar: int) -> tuple[int, ...]:
    degrees = progression(spec.key, palette)
    return chord_pitch_classes(spec.key, degrees[(bar // _bars_per_chord(spec)) % len(degrees)])


def _n_bars(spec: MusicSpec) -> int:
    return int(np.ceil(spec.duration_s / spec.bar_s)) + 1


def _pos(t_s: float) -> int:
    return int(round(t_s * SAMPLE_RATE))


def render_drums(spec: MusicSpec, palette: Palette, seed: int) -> np.ndarray:
    out = np.zeros(spec.n_samples, dtype=np.float32)
    kick, snare, hat = _kick(palette), _snare(palette, seed), _hat(palette, seed)
    sub = SUBDIVISIONS[spec.time_signature]
    for bar in range(_n_bars(spec)):
        bar_t = bar * spec.bar_s
        for beat in range(spec.beats_per_bar):
            t = bar_t + beat * spec.beat_s
            accent = 1.0 if beat == 0 else 0.82
            _place(out, kick, _pos(t), accent)
            backbeat = (beat % 2 == 1) if spec.time_signature in ("2", "4", "6") else (beat > 0)
            if backbeat:
                _place(out, snare, _pos(t), 0.55 if spec.time_signature != "3" else 0.4)
            for s in range(sub):
                _place(out, hat, _pos(t + s * spec.beat_s / sub), 0.22 if s == 0 else 0.13)
    return out


def render_bass(spec: MusicSpec, palette: Palette) -> np.ndarray:
    out = np.zeros(spec.n_samples, dtype=np.float32)
    note_n = int(spec.beat_s * 0.8 * SAMPLE_RATE)
    for bar in range(_n_bars(spec)):
        chord = _chord_at_bar(spec, palette, bar)
        root = 28 + (chord[0] - 4) % 12  # E1..D#2
        fifth = 28 + (chord[2] - 4) % 12
        for beat in range(spec.beats_per_bar):
            if palette.bass_pattern == 0:
                midi = root
            elif palette.bass_pattern == 1:
                midi = root + (12 if beat % 2 == 1 else 0)
            else:
                midi = fifth if (beat == spec.beats_per_bar - 1 and beat > 0) else root
            tone = _tone(_midi_hz(midi), note_n, palette.bass_harmonics, 0.004, 0.25, 0.5, 0.03, 1.0)
            _place(out, tone, _pos(bar * spec.bar_s + beat * spec.beat_s), 0.9 if beat == 0 else 0.75)
    return out


def render_keys(spec: MusicSpec, palette: Palette) -> np.ndarray:
    """Pad chords, stereo: left and right partials detuned against each other for width."""
    out = np.zeros((spec.n_samples, 2), dtype=np.float32)
    per = _bars_per_chord(spec)
    chord_n = int(spec.bar_s * per * SAMPLE_RATE)
    for bar in range(0, _n_bars(spec), per):
        chord = _chord_at_bar(spec, palette, bar)
        for pc in chord:
            midi = 55 + (pc - 7) % 12  # G3..F#4
            for ch, detune in ((0, 1 - palette.pad_detune), (1, 1 + palette.pad_detune)):
                tone = _tone(_midi_hz(midi) * detune, chord_n, palette.pad_harmonics, 0.04, 0.8, 0.55, 0.12, 1.3)
                _place(out[:, ch], tone, _pos(bar * spec.bar_s), 0.33)
        # tonic doubled an octave down on the tonic chord: anchors the key
        if chord[0] == spec.key.pitch_class:
            tone = _tone(_midi_hz(43 + (spec.key.pitch_class - 7) % 12), chord_n, 2, 0.04, 0.8, 0.55, 0.12, 1.0)
            _place(out[:, 0], tone, _pos(bar * spec.bar_s), 0.2)
            _place(out[:, 1], tone, _pos(bar * spec.bar_s), 0.2)
    return out


def render_lead(spec: MusicSpec, palette: Palette) -> np.ndarray:
    """Plucked arpeggio over chord tones, one note per pulse, pattern chosen by the seed."""
    out = np.zeros(spec.n_samples, dtype=np.float32)
    sub = SUBDIVISIONS[spec.time_signature]
    pulse_s = spec.beat_s / sub
    note_n = int(min(pulse_s * 1.5, 0.6) * SAMPLE_RATE)
    pattern = palette.lead_pattern or (0, 1, 2, 1)
    i = 0
    for bar in range(_n_bars(spec)):
        chord = _chord_at_bar(spec, palette, bar)
        tones = sorted(67 + (pc - 7) % 12 for pc in chord) + [67 + (chord[0] - 7) % 12 + 12]
        for p in range(spec.beats_per_bar * sub):
            midi = tones[pattern[i % len(pattern)] % len(tones)]
            i += 1
            tone = _tone(_midi_hz(midi), note_n, palette.lead_harmonics, 0.002, palette.lead_decay_s, 0.0, 0.01, 1.5)
            _place(out, tone, _pos(bar * spec.bar_s + p * pulse_s), 0.9 if p == 0 else 0.7)
    return out


_PANS = {"drums": 0.0, "bass": 0.0, "lead": 0.25}


def _stereo(mono: np.ndarray, pan: float) -> np.ndarray:
    left, right = np.sqrt(0.5 - pan / 2), np.sqrt(0.5 + pan / 2)
    return np.stack([mono * left, mono * right], axis=1).astype(np.float32) * np.float32(np.sqrt(2))


def render_stem(spec: MusicSpec, stem: str, *, seed: int) -> np.ndarray:
    """One stem ('drums', 'bass', 'keys', 'lead'), stereo, already at its mix gain."""
    palette = palette_for_seed(seed, minor=spec.key.mode == "minor")
    if stem == "drums":
        audio = _stereo(render_drums(spec, palette, seed), 0.0)
    elif stem == "bass":
        audio = _stereo(render_bass(spec, palette), 0.0)
    elif stem == "keys":
        audio = render_keys(spec, palette)
    elif stem == "lead":
        audio = _stereo(render_lead(spec, palette), _PANS["lead"])
    else:
        raise ValueError(f"unknown stem {stem!r}: use one of {', '.join(STEM_GAINS)}")
    return (audio * np.float32(STEM_GAINS[stem])).astype(np.float32)


def _finish(mix: np.ndarray) -> np.ndarray:
    # Gentle tanh limiter, peak < 0.95: per-sample, so splicing two renders keeps each one's samples intact.
    return (np.tanh(mix) * np.float32(0.95)).astype(np.float32)


def render_text2music(spec: MusicSpec, *, seed: int) -> np.ndarray:
    """A full arrangement (drums, bass, pad chords, lead) for ``spec``; deterministic per seed."""
    mix = np.zeros((spec.n_samples, 2), dtype=np.float32)
    for stem in STEM_GAINS:
        mix += render_stem(spec, stem, seed=seed)
    return _finish(mix * np.float32(0.75))


# --- edit tasks -------------------------------------------------------------------------------


def _fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    if len(audio) >= n:
        return audio[:n]
    return np.concatenate([audio, np.zeros((n - len(audio), audio.shape[1]), dtype=audio.dtype)])


def repaint(source: np.ndarray, spec: MusicSpec, *, seed: int, start_s: float, end_s: float,
            crossfade_s: float = 0.0) -> np.ndarray:
    """Regenerate ``[start_s, end_s)`` with ``seed``; every sample outside stays bit-identical.

    The crossfade (``crossfade_s``; 0 = hard cut) lies *inside* the region at each boundary:
    source fades out while the new material fades in, so nothing outside the region changes.
    A region reaching past the source's end extends the output to ``end_s``.
    """
    n_out = max(len(source), _pos(end_s))
    out = _fit_length(source.astype(np.float32), n_out).copy()
    a, b = _pos(start_s), _pos(end_s)
    if b <= a:
        return out
    new = render_text2music(MusicSpec(spec.bpm, spec.key, spec.time_signature, n_out / SAMPLE_RATE), seed=seed)
    region = new[a:b].copy()
    x = min(_pos(crossfade_s), (b - a) // 2)
    if x > 0:
        ramp = np.linspace(0.0, 1.0, x, dtype=np.float32)[:, None]
        src = out[a:b]
        region[:x] = src[:x] * (1 - ramp) + region[:x] * ramp
        if b < len(source):  # only fade back where source material follows
            region[-x:] = src[-x:] * ramp + region[-x:] * (1 - ramp)
    out[a:b] = region
    return out


def revoice(source: np.ndarray, *, seed: int) -> np.ndarray:
    """Change the timbre of ``source`` keeping its timing and harmony: a seed-chosen EQ tilt and saturation."""
    from scipy.signal import butter, sosfiltfilt

    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 23])
    cutoff = float(rng.uniform(1800, 5000))
    drive = float(rng.uniform(1.5, 3.0))
    sos = butter(2, cutoff, btype="lowpass", fs=SAMPLE_RATE, output="sos")
    low = sosfiltfilt(sos, source, axis=0)
    body = np.tanh(low * drive) / np.tanh(drive)
    return (0.8 * body + 0.2 * (source - low)).astype(np.float32)


def cover(source: np.ndarray, spec: MusicSpec, *, seed: int, strength: float) -> np.ndarray:
    """Re-voice ``source``: ``strength`` 1 keeps its timing/harmony with a new timbre; 0 is a new piece in ``spec``."""
    strength = float(np.clip(strength, 0.0, 1.0))
    new = render_text2music(MusicSpec(spec.bpm, spec.key, spec.time_signature, len(source) / SAMPLE_RATE), seed=seed)
    out = strength * revoice(source, seed=seed) + (1.0 - strength) * new
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def lego(source: np.ndarray, spec: MusicSpec, *, seed: int, track: str, start_s: float = 0.0,
         end_s: float | None = None) -> np.ndarray:
    """The stem ``track`` alone, on ``spec``'s grid and key, as long as ``source`` (silent outside the region).

    Upstream returns the generated track by itself, sample-for-sample as long as the context,
    for the client to mix over the source.
    """
    stem = STEM_FOR_TRACK.get(track.lower(), "lead")
    n = len(source)
    audio = render_stem(MusicSpec(spec.bpm, spec.key, spec.time_signature, n / SAMPLE_RATE), stem, seed=seed)
    audio = _finish(audio * np.float32(1.3))
    a, b = _pos(start_s), n if end_s is None or end_s < 0 else min(_pos(end_s), n)
    out = np.zeros_like(audio)
    out[a:b] = audio[a:b]
    return out


def hpss(audio: np.ndarray, *, n_fft: int = 2048, hop: int = 512, kernel: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic/percussive separation by median filtering (Fitzgerald, "Harmonic/percussive
    separation using median filtering", DAFx 2010, with its 17-bin kernels) and soft Wiener
    masks (power 2), as librosa's ``hpss`` does.

    ``audio`` is ``(n, channels)``; returns (harmonic, percussive), each the same shape. Plain scipy:
    importing librosa's decompose module alone costs seconds (it pulls in scikit-learn).
    """
    from scipy.ndimage import median_filter
    from scipy.signal import istft, stft

    _, _, spec = stft(audio.T, fs=SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)  # (channels, freq, frames)
    mag = np.abs(spec)
    harm = median_filter(mag, size=(1, 1, kernel), mode="reflect")  # steady across time: tones
    perc = median_filter(mag, size=(1, kernel, 1), mode="reflect")  # broad across frequency: hits
    total = harm**2 + perc**2 + 1e-12
    parts = []
    for mask in (harm**2 / total, perc**2 / total):
        _, y = istft(spec * mask, fs=SAMPLE_RATE, nperseg=n_fft, noverlap=n_fft - hop)
        y = y.T[: len(audio)]
        parts.append(np.pad(y, ((0, len(audio) - len(y)), (0, 0))) if len(y) < len(audio) else y)
    return parts[0], parts[1]


def extract(source: np.ndarray, *, track: str) -> np.ndarray:
    """A stem-like part of ``source``: drums/percussion via HPSS (percussive), bass a low band,
    everything else the harmonic part above the bass."""
    from scipy.signal import butter, sosfiltfilt

    stem = STEM_FOR_TRACK.get(track.lower(), "lead")
    if stem == "bass":
        sos = butter(4, 220.0, btype="lowpass", fs=SAMPLE_RATE, output="sos")
        return sosfiltfilt(sos, source, axis=0).astype(np.float32)
    harm, perc = hpss(source.astype(np.float64))
    out = perc if stem == "drums" else harm
    if stem != "drums":
        sos = butter(2, 220.0, btype="highpass", fs=SAMPLE_RATE, output="sos")
        out = sosfiltfilt(sos, out, axis=0)
    return out.astype(np.float32)


def complete(source: np.ndarray, spec: MusicSpec, *, seed: int, tracks: list[str]) -> np.ndarray:
    """Upstream's complete: ``source`` with accompaniment for ``tracks`` added on ``spec``'s grid and key
    (e.g. vocals -> full song), exactly as long as the source: upstream (53067ab) renders complete over the
    source audio without padding and takes the length from it, whatever ``audio_duration`` says.
    No tracks named: drums, bass and keys.
    """
    n_out = len(source)
    out = source.astype(np.float32) * np.float32(0.8)
    stems = sorted({STEM_FOR_TRACK.get(t.lower(), "lead") for t in tracks}) or ["bass", "drums", "keys"]
    sub = MusicSpec(spec.bpm, spec.key, spec.time_signature, n_out / SAMPLE_RATE)
    for stem in stems:
        out = out + render_stem(sub, stem, seed=seed)
    # The mix bus text2music uses: a full source plus new stems must not drive the limiter into clipping.
    return _finish(out * np.float32(0.75))
