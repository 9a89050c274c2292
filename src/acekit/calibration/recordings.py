"""The ``recordings`` split: real produced music (Debian game-data packages) cut into repaint and
health cases with the same edits and truth as the generated repaint set (docs/analysis.md "The
recordings split").

Every rule here (where an excerpt starts, which passage is the "other take", which track re-voices
a region, when an excerpt counts as clipped) is plain numpy/librosa written down before any acekit
analyser ran on these recordings: the split is a blind test of the boundary, preservation and
health verdicts, never a place to tune them.

The music comes from ``apt-get download`` of three packages, unpacked with ``dpkg-deb
--fsys-tarfile`` (only the music files and the copyright file are kept), cached under the
calibration cache directory. Nothing is installed.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from acekit.analysis.audio import resample


class RecordingError(RuntimeError):
    """A recordings package could not be fetched or does not hold the expected music."""


@dataclass(frozen=True)
class Package:
    name: str
    version: str  # Debian bookworm's; the music files' sha256 below pin the content either way
    licence: str  # from /usr/share/doc/<name>/copyright ("Files: *": no separate stanza for the music)
    game: str


PACKAGES = {
    "extremetuxracer-data": Package("extremetuxracer-data", "0.8.2-1", "GPL-2+", "Extreme Tux Racer"),
    "frozen-bubble-data": Package("frozen-bubble-data", "2.212-11", "GPL-2", "Frozen-Bubble"),
    "lincity-ng-data": Package("lincity-ng-data", "2.9~git20150314-5", "GPL-2+", "LinCity-NG"),
}


@dataclass(frozen=True)
class Track:
    name: str
    package: str
    path: str  # inside the package
    sha256: str
    composer: str  # from the package's music readme or file name
    placement: str  # "section": the region starts on the track's largest level rise; "plain": 30 % in


TRACKS: tuple[Track, ...] = (
    Track("etr_calmrace", "extremetuxracer-data", "usr/share/games/etr/music/calmrace-ks.ogg",
          "511a8f8b453ea952ea0145104ad2ce1b4603b9155748ee57d165208297da5906", "K. Schroeder", "section"),
    Track("etr_credits", "extremetuxracer-data", "usr/share/games/etr/music/credits1-cp.ogg",
          "6a089f4318ffa9be759799f7908d3c8b9097ed3d2dd2d4a5e39825cdcef4e043", "Christian Picon", "plain"),
    Track("etr_freezingpoint", "extremetuxracer-data", "usr/share/games/etr/music/freezingpoint.ogg",
          "3197b07979cd2d1b35eca882b1ffa61c436a31963277bd35339e083a38f3df35", "Grady O'Connell", "section"),
    Track("etr_race1", "extremetuxracer-data", "usr/share/games/etr/music/race1-jt.ogg",
          "1597043297c086aa4c556b1a8c821344888b8e29b30614083a49eacac7b52106", "Joseph Toscano", "plain"),
    Track("etr_spunkyrace", "extremetuxracer-data", "usr/share/games/etr/music/spunkyrace-ks.ogg",
          "1b448ebcde1200b85544b7e6daa17808d49593aad7bcd14c728f146678370cf5", "K. Schroeder", "section"),
    Track("etr_start1", "extremetuxracer-data", "usr/share/games/etr/music/start1-jt.ogg",
          "a1487d880db00693792141cd4fdd2ee3a489ddd3b9da96b0e34ea81e0b516d82", "Joseph Toscano", "plain"),
    Track("fb_main_1p", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd/frozen-mainzik-1p.ogg",
          "7704fcd44eda9f6fa47e6da4232ebf961c19919abf9964f07320ed7f21f5d7c2", "the Frozen-Bubble team", "plain"),
    Track("fb_main_2p", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd/frozen-mainzik-2p.ogg",
          "86aaeb6df03aca6d4d7eab2678a74527923b75e767ff9464674174f19870f71b", "the Frozen-Bubble team", "section"),
    Track("fb_intro", "frozen-bubble-data", "usr/share/games/frozen-bubble/snd/introzik.ogg",
          "7e8ac71c4d79f4625404ef4f9564ae70ec91056dd77f1a5cd10b908147aef7e0", "the Frozen-Bubble team", "plain"),
    Track("lc_lincity", "lincity-ng-data", "usr/share/games/lincity-ng/music/default/01 - pronobozo - lincity.ogg",
          "5ae2f878032f2ce77565bc9c4f27db133b510312aad331d15d1a2a309df9d3a4", "pronobozo", "section"),
    Track("lc_city_blues", "lincity-ng-data",
          "usr/share/games/lincity-ng/music/default/02 - Robert van Herk - City Blues.ogg",
          "16760321bc51b92b6bc07859b470002aaae879cb89317887718ab5ac5570599b", "Robert van Herk", "plain"),
    Track("lc_architectural", "lincity-ng-data",
          "usr/share/games/lincity-ng/music/default/03 - Robert van Herk - Architectural Contemplations.ogg",
          "472e87b40fdf7aecbb4203720560e3fddc1379822fb0958a041f2a7432ea648b", "Robert van Herk", "section"),
)

EXCERPT_S = 20.0
#: the repaint region inside every excerpt (s): 6 s, 7 s clear of either end
REGION_S = (7.0, 13.0)
#: "plain" excerpts start this far into the track
PLAIN_START_SHARE = 0.3
#: no excerpt or other take within this of a track's start or end (fades, count-ins)
TRACK_MARGIN_S = 5.0
#: the other take is a passage at least this far (either way) from the excerpt
MIN_TAKE_LAG_S = 6.0
#: a passage whose region correlates this well with the source's (waveform, ±6 ms) is a repeat of
#: the same bars (game loops repeat), not another take: skipped
MAX_TAKE_COPY_CORRELATION = 0.5
#: onset-envelope correlation a candidate take needs, as a share of the best lag's (rhythm aligned)
TAKE_RHYTHM_SHARE = 0.8
#: the clipped-master rule (fixed before any analyser ran): a run of this many consecutive samples
#: at |x| >= CLIPPED_LEVEL in a channel of the decoded excerpt marks it clipped; such an excerpt is
#: neither a healthy case nor a clipping case (it stays a repaint source)
CLIPPED_RUN = 4
CLIPPED_LEVEL = 0.999
#: decoded excerpts peaking above full scale (Vorbis decoding overshoots the master) are scaled to
#: this peak, so that writing 16-bit does not clip samples the master did not clip
OVERSHOOT_PEAK = 0.98
_ANALYSIS_SR = 22050
_HOP = 256  # at 22050 Hz: 11.6 ms (512 samples at 44100): lags on this grid are within 6 ms of the beat

#: health cases made from the recordings (same constructed problems as the generated splits)
HEALTH_CASES = (
    {"id": "rec_etr_freezingpoint__clipped", "base": "etr_freezingpoint", "problem": "clipping"},
    {"id": "rec_lc_city_blues__dies_to_silence", "base": "lc_city_blues", "problem": "silence"},
    {"id": "rec_etr_start1__nan", "base": "etr_start1", "problem": "nan"},
    {"id": "rec_fb_main_1p__dc_offset", "base": "fb_main_1p", "problem": "dc_offset", "dc": 0.3},
    {"id": "rec_lc_architectural__dc_offset", "base": "lc_architectural", "problem": "dc_offset", "dc": -0.15},
    {"id": "rec_fb_intro__antiphase", "base": "fb_intro", "problem": "antiphase"},
    {"id": "rec_etr_race1__antiphase", "base": "etr_race1", "problem": "antiphase"},
)


def recording_id(track: Track) -> str:
    return f"rec_{track.name}"


def revoicing_track(track: Track) -> Track:
    """The next track of the same package (in `TRACKS` order, wrapping): the re-voicing material."""
    same = [t for t in TRACKS if t.package == track.package]
    return same[(same.index(track) + 1) % len(same)]


def fingerprint() -> str:
    """What the recordings split is built from (for the calibration set's content hash)."""
    import json

    return json.dumps([[(t.name, t.package, t.path, t.sha256, t.placement) for t in TRACKS],
                       [(p.name, p.version) for p in PACKAGES.values()], EXCERPT_S, REGION_S, PLAIN_START_SHARE,
                       TRACK_MARGIN_S, MIN_TAKE_LAG_S, MAX_TAKE_COPY_CORRELATION, TAKE_RHYTHM_SHARE, CLIPPED_RUN,
                       CLIPPED_LEVEL, OVERSHOOT_PEAK, _ANALYSIS_SR, _HOP, HEALTH_CASES], sort_keys=True)


# ---- fetching -------------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def music_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "recordings-music"


def fetch_recordings(cache_dir: Path, *, apt_get: str = "apt-get", dpkg_deb: str = "dpkg-deb") -> Path:
    """The music of `TRACKS` under ``<cache_dir>/recordings-music`` (downloaded once): returns that folder.

    ``apt-get download`` fetches each package's .deb (no install, no root needed), ``dpkg-deb
    --fsys-tarfile`` streams its files, and only the music files of `TRACKS` and the copyright
    file are written; the .deb is deleted. Every music file must have its pinned sha256.
    """
    out = music_dir(cache_dir)
    missing = [t for t in TRACKS if not (out / t.path).is_file() or _sha256(out / t.path) != t.sha256]
    packages = sorted({t.package for t in missing})
    for pkg in packages:
        _fetch_package(pkg, out, apt_get=apt_get, dpkg_deb=dpkg_deb)
    for t in TRACKS:
        f = out / t.path
        if not f.is_file():
            raise RecordingError(f"{t.package} holds no {t.path}: the recordings split needs Debian bookworm's "
                                 f"{t.package} {PACKAGES[t.package].version}")
        if _sha256(f) != t.sha256:
            raise RecordingError(
                f"{f} is not the file the recordings split was frozen on (sha256 differs): the package changed "
                f"since {PACKAGES[t.package].version}. Its blind figures (docs/analysis.md) hold for the pinned "
                "files only; a new package version needs a new, frozen split.")
    return out


def _fetch_package(pkg: str, out: Path, *, apt_get: str, dpkg_deb: str) -> None:
    hint = (f"run `bash scripts/install-system-deps.sh` (it runs `apt-get update` when apt cannot see {pkg}), "
            f"then retry; by hand: `apt-get update && apt-get download {pkg}`")
    for tool in (apt_get, dpkg_deb):
        if shutil.which(tool) is None:
            raise RecordingError(f"{tool} not found: the recordings split downloads Debian's {pkg} with "
                                 "apt-get download and unpacks it with dpkg-deb (a Debian or Ubuntu machine)")
    wanted = {t.path for t in TRACKS if t.package == pkg} | {f"usr/share/doc/{pkg}/copyright"}
    with tempfile.TemporaryDirectory(prefix="acekit-deb-") as td:
        proc = subprocess.run([apt_get, "download", "-q", pkg], cwd=td, capture_output=True, text=True, timeout=900)
        debs = list(Path(td).glob(f"{pkg}_*.deb"))
        if proc.returncode != 0 or not debs:
            raise RecordingError(f"`apt-get download {pkg}` failed ({proc.returncode}): "
                                 f"{proc.stderr.strip()[-400:]}; {hint}")
        unpack = subprocess.run([dpkg_deb, "--fsys-tarfile", str(debs[0])], capture_output=True, timeout=600)
        if unpack.returncode != 0:
            raise RecordingError(f"`dpkg-deb --fsys-tarfile {debs[0].name}` failed: "
                                 f"{unpack.stderr.decode(errors='replace')[-400:]}")
    with tarfile.open(fileobj=io.BytesIO(unpack.stdout), mode="r:") as tar:
        for member in tar:
            name = member.name.removeprefix("./")
            if member.isfile() and name in wanted:
                dest = out / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                assert src is not None
                tmp = dest.with_suffix(dest.suffix + ".part")
                tmp.write_bytes(src.read())
                tmp.replace(dest)


# ---- excerpts and takes (plain rules, no acekit analyser) ---------------------------------------

def decode(path: Path, sr: int) -> np.ndarray:
    """The whole track as ``(n, 2)`` float32 at ``sr`` (libsndfile decodes Ogg Vorbis; soxr resamples)."""
    y, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
    if y.shape[1] == 1:
        y = np.repeat(y, 2, axis=1)
    return resample(y[:, :2], file_sr, sr)


def clipped_runs(y: np.ndarray, *, run: int = CLIPPED_RUN, level: float = CLIPPED_LEVEL) -> int:
    """Runs of at least ``run`` consecutive samples at ``|x| >= level``, summed over channels.
    A band-limited peak touches full scale for a sample or two; a held flat top is clipping."""
    count = 0
    for ch in np.atleast_2d(np.asarray(y).T):
        hot = np.concatenate([[0], (np.abs(ch) >= level).astype(np.int8), [0]])
        d = np.diff(hot)
        count += int(np.sum((np.flatnonzero(d == -1) - np.flatnonzero(d == 1)) >= run))
    return count


def _rms_db(x: np.ndarray) -> float:
    return 10.0 * float(np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2) + 1e-12))


def section_rise_s(y: np.ndarray, sr: int, *, lo_s: float, hi_s: float) -> float:
    """The time in [lo_s, hi_s] where the 1 s RMS after it exceeds the 1 s RMS before it the most
    (dB, 50 ms grid; the second before must be above -45 dBFS: music, not a gap): where the track
    changes by itself (drums or a section coming in)."""
    mono = y.mean(axis=1).astype(np.float64)
    hop = int(0.05 * sr)
    frames = np.square(mono[: mono.size // hop * hop]).reshape(-1, hop).mean(axis=1)
    csum = np.concatenate([[0.0], np.cumsum(frames)])
    k = 20  # 1 s of 50 ms frames
    best, best_t = -np.inf, lo_s
    for i in range(int(np.ceil(lo_s / 0.05)), int(hi_s / 0.05) + 1):
        if i - k < 0 or i + k > frames.size:
            continue
        before = (csum[i] - csum[i - k]) / k
        after = (csum[i + k] - csum[i]) / k
        if 10 * np.log10(before + 1e-12) < -45:
            continue
        rise = 10 * np.log10((after + 1e-12) / (before + 1e-12))
        if rise > best:
            best, best_t = rise, i * 0.05
    return round(best_t, 3)


def excerpt_start_s(track: Track, y: np.ndarray, sr: int) -> float:
    dur = y.shape[0] / sr
    latest = dur - TRACK_MARGIN_S - EXCERPT_S
    if track.placement == "plain":
        return round(min(PLAIN_START_SHARE * dur, latest), 3)
    a = REGION_S[0]
    return round(section_rise_s(y, sr, lo_s=TRACK_MARGIN_S + a, hi_s=latest + a) - a, 3)


def _mel_frames(mono22: np.ndarray) -> np.ndarray:
    """40-band mel power per `_HOP` frame, ``(frames, 40)`` (frame k starts at sample ``_HOP * k``)."""
    import librosa

    return librosa.feature.melspectrogram(y=mono22, sr=_ANALYSIS_SR, n_fft=1024, hop_length=_HOP, n_mels=40,
                                          center=False).T.astype(np.float64)


def _onset_env(mel: np.ndarray) -> np.ndarray:
    """Spectral flux of the log-mel frames (librosa's onset strength)."""
    import librosa

    return librosa.onset.onset_strength(S=librosa.power_to_db(mel.T), sr=_ANALYSIS_SR, hop_length=_HOP,
                                        center=False).astype(np.float64)


def _sliding_corr(track_env: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``ref`` with every window of ``track_env`` of its length."""
    from scipy.signal import fftconvolve

    m = ref.size
    r = (ref - ref.mean()) / (ref.std() * m + 1e-12)
    num = fftconvolve(track_env, r[::-1], mode="valid")
    c1 = np.concatenate([[0.0], np.cumsum(track_env)])
    c2 = np.concatenate([[0.0], np.cumsum(track_env ** 2)])
    mean = (c1[m:] - c1[:-m]) / m
    var = np.maximum((c2[m:] - c2[:-m]) / m - mean ** 2, 1e-12)
    return num / np.sqrt(var)


def _copy_correlation(a: np.ndarray, b_ext: np.ndarray, *, max_shift: int = 128) -> float:
    """Largest normalised waveform correlation of ``a`` with ``b_ext`` (the other passage with
    ``max_shift`` extra samples on each side), over every shift within ±``max_shift``."""
    from scipy.signal import fftconvolve

    a = a.astype(np.float64)
    b_ext = b_ext.astype(np.float64)
    num = fftconvolve(b_ext, a[::-1], mode="valid")[: 2 * max_shift + 1]
    c2 = np.concatenate([[0.0], np.cumsum(b_ext ** 2)])
    norms = np.sqrt(np.maximum(c2[a.size:] - c2[:-a.size], 1e-12))[: 2 * max_shift + 1]
    return float(np.max(num / (norms * (np.linalg.norm(a) + 1e-12))))


@dataclass(frozen=True)
class TakeChoice:
    lag_s: float
    rhythm_corr: float  # onset-envelope correlation with the excerpt
    spectral_db: float  # mean |difference| of the region's long-term log-mel spectra, levels matched
    copy_corr: float  # region waveform correlation (must stay under MAX_TAKE_COPY_CORRELATION)


def choose_take(y: np.ndarray, sr: int, start_s: float) -> TakeChoice:
    """The other take: the passage of the same track, at least `MIN_TAKE_LAG_S` away, whose onsets
    line up with the excerpt's (a lag where the rhythm repeats, so the beat grid runs on through the
    region, as a regeneration at the same tempo would), of those (within `TAKE_RHYTHM_SHARE` of the
    best lag's correlation) the one whose region sounds most alike (long-term spectrum: the same
    instruments), skipping repeats of the same bars (waveform correlation above
    `MAX_TAKE_COPY_CORRELATION`)."""
    mono22 = resample(y.mean(axis=1).astype(np.float32), sr, _ANALYSIS_SR)
    mel = _mel_frames(mono22)
    env = _onset_env(mel)
    fps = _ANALYSIS_SR / _HOP
    s0, m = int(round(start_s * fps)), int(round(EXCERPT_S * fps))
    corr = _sliding_corr(env, env[s0: s0 + m])
    lo, hi = int(TRACK_MARGIN_S * fps), int((y.shape[0] / sr - TRACK_MARGIN_S - EXCERPT_S) * fps)
    lags = np.arange(corr.size) - s0
    ok = (np.arange(corr.size) >= lo) & (np.arange(corr.size) <= hi) & (np.abs(lags) >= MIN_TAKE_LAG_S * fps)
    if not ok.any():
        raise RecordingError(f"no passage {MIN_TAKE_LAG_S} s away from the excerpt at {start_s} s fits the track")
    # local maxima (±0.5 s) of the rhythm correlation among the allowed lags
    masked = np.where(ok, corr, -np.inf)
    w = int(0.5 * fps)
    from scipy.ndimage import maximum_filter1d

    peaks = np.flatnonzero(ok & (masked == maximum_filter1d(masked, 2 * w + 1, mode="nearest"))).tolist()
    best = max(masked[i] for i in peaks)
    ranked = sorted(peaks, key=lambda i: -masked[i])
    a, b = (int(round((start_s + t) * _ANALYSIS_SR)) for t in REGION_S)
    src_region = mono22[a:b]
    cm = np.concatenate([np.zeros((1, mel.shape[1])), np.cumsum(mel, axis=0)])
    fa, fb = a // _HOP, b // _HOP

    def long_term(lag: int) -> np.ndarray:  # mean power spectrum of the region shifted by lag samples
        i, j = (fa + lag // _HOP), (fb + lag // _HOP)
        return 10.0 * np.log10((cm[j] - cm[i]) / (j - i) + 1e-10)

    src_spec = long_term(0)
    candidates = []
    for i in ranked:
        diff = long_term(int(lags[i]) * _HOP) - src_spec
        candidates.append((masked[i] < TAKE_RHYTHM_SHARE * best, float(np.mean(np.abs(diff - np.mean(diff)))), i))
    # rhythm-aligned first, then the most alike in sound; the first that is not a repeat
    for _, spectral, i in sorted(candidates):
        lag = int(lags[i]) * _HOP
        copy = _copy_correlation(src_region, mono22[a + lag - 128: b + lag + 128])
        if copy < MAX_TAKE_COPY_CORRELATION:
            break
    else:
        raise RecordingError(f"every rhythm-aligned passage repeats the excerpt at {start_s} s")
    lag_s = int(lags[i]) * _HOP / _ANALYSIS_SR
    return TakeChoice(round(lag_s, 6), round(float(masked[i]), 4), round(spectral, 3), round(copy, 4))


@dataclass
class Excerpt:
    track: Track
    start_s: float
    audio: np.ndarray  # (n, 2) float32 at the set's SR, scaled if it overshot full scale
    take: np.ndarray  # the other take's passage, level-matched to the excerpt over the region
    take_choice: TakeChoice
    take_gain_db: float
    clipped_runs: int  # of the decoded excerpt, before any scaling (`clipped_runs`)
    decoded_peak: float
    scale_db: float  # applied to reach OVERSHOOT_PEAK (0 when the decoded peak was within full scale)


def cut_excerpts(music: Path, sr: int) -> list[Excerpt]:
    """One excerpt (and its other take) per track, by the rules above."""
    out = []
    for t in TRACKS:
        y = decode(music / t.path, sr)
        start = excerpt_start_s(t, y, sr)
        n = int(round(EXCERPT_S * sr))
        s = int(round(start * sr))
        raw = y[s: s + n]
        choice = choose_take(y, sr, start)
        lag = int(round(choice.lag_s * sr))
        take = y[s + lag: s + lag + n]
        runs = clipped_runs(raw)
        peak = float(np.max(np.abs(raw)))
        scale = OVERSHOOT_PEAK / peak if peak > 1.0 else 1.0
        audio = (raw * np.float32(scale)).astype(np.float32)
        a, b = (int(round(x * sr)) for x in REGION_S)
        gain = np.sqrt(np.mean(audio[a:b].astype(np.float64) ** 2) / max(np.mean(take[a:b].astype(np.float64) ** 2), 1e-12))
        out.append(Excerpt(t, start, audio, (take * np.float32(gain)).astype(np.float32), choice,
                           round(20 * float(np.log10(gain)), 3), runs, round(peak, 4),
                           round(20 * float(np.log10(scale)), 3)))
    return out
