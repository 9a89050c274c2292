"""Speed-ups that must not change a figure: the block-wise true peak and reused essentia objects,
checked on the calibration set (every clip, every channel)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from acekit.analysis import load_audio, track_beats
from acekit.analysis.audio import essentia_algorithm, essentia_standard
from acekit.analysis.health import true_peak, true_peak_full
from acekit.analysis.key import estimate_key
from acekit.calibration import CalibrationSet, build_calibration_set

#: Stated tolerance of the cheaper true peak against the whole-signal one.
TRUE_PEAK_TOLERANCE_DB = 0.01


@pytest.fixture(scope="module")
def calibration(tmp_path_factory: pytest.TempPathFactory) -> CalibrationSet:
    # Same folder as test_analysis_calibration: the set is built once per session.
    return build_calibration_set(tmp_path_factory.getbasetemp() / "calibration", workers=2)


def test_block_true_peak_agrees_with_full_upsampling_on_the_calibration_set(calibration: CalibrationSet) -> None:
    checked = 0
    for clip in calibration.clips:
        y, _ = load_audio(calibration.path(clip), mono=False)
        for ch in np.nan_to_num(y.T.astype(np.float64)):
            full, fast = true_peak_full(ch), true_peak(ch)
            if full == 0:
                assert fast == 0
                continue
            assert abs(20 * np.log10(fast / full)) <= TRUE_PEAK_TOLERANCE_DB, clip.id
            checked += 1
    assert checked >= len(calibration.clips)


def test_block_true_peak_is_exact_on_hard_inter_sample_peaks() -> None:
    rng = np.random.default_rng(1)
    n = 200_000
    x = 0.05 * rng.standard_normal(n)
    t = np.arange(4096)
    x[50_000:54_096] = 0.7 * np.sin(2 * np.pi * t / 4 + np.pi / 4)  # fs/4 at 45°: peak 3 dB above its samples
    x[150_000:150_004] = [0.9, -0.9, 0.9, -0.9]  # near-Nyquist burst
    assert true_peak(x) == pytest.approx(true_peak_full(x), rel=1e-9)
    assert true_peak_full(x) > 0.95  # the test signal really has inter-sample overshoot


def test_reused_essentia_objects_give_what_fresh_ones_give(calibration: CalibrationSet) -> None:
    es = essentia_standard()
    songs = calibration.of_kind("song")[:3]
    first = {}
    for _ in range(2):  # the second pass runs on reset, reused instances
        for clip in songs:
            y, sr = load_audio(calibration.path(clip))
            bt = track_beats(y, sr)
            key = estimate_key(y, sr)
            if clip.id in first:
                assert (bt, key) == first[clip.id]
            first[clip.id] = (bt, key)
    assert essentia_algorithm("RhythmExtractor2013", method="multifeature") is essentia_algorithm(
        "RhythmExtractor2013", method="multifeature")
    y, sr = load_audio(calibration.path(songs[0]))
    bpm, beats, *_ = es.RhythmExtractor2013(method="multifeature")(y)
    assert first[songs[0].id][0].bpm == pytest.approx(float(bpm)) and len(first[songs[0].id][0].beats_s) == len(beats)


def test_one_clips_checks_share_its_spectrograms(monkeypatch) -> None:
    """analyze_audio computes each distinct spectrogram once (preservation and the boundary check
    take the same clip and aligned source), and the verdicts equal those computed without reuse."""
    from contextlib import nullcontext

    import acekit.analysis.clip as clip_mod
    import acekit.analysis.spectral as spectral

    sr = 22050
    t = np.arange(int(8 * sr)) / sr
    src = (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    out = src.copy()
    out[3 * sr : 5 * sr] = 0.3 * np.sin(2 * np.pi * 330 * t[3 * sr : 5 * sr])
    stfts = []
    real_stft = spectral.stft
    monkeypatch.setattr(spectral, "stft", lambda *a, **k: stfts.append(1) or real_stft(*a, **k))
    shared = clip_mod.analyze_audio(out, sr, source=src, region_s=(3.0, 5.0))
    n_shared = len(stfts)
    monkeypatch.setattr(clip_mod, "reuse_spectrograms", nullcontext)
    stfts.clear()
    alone = clip_mod.analyze_audio(out, sr, source=src, region_s=(3.0, 5.0))
    assert n_shared < len(stfts)  # the repeated spectrograms were not recomputed
    assert shared.model_dump() == alone.model_dump()
    assert getattr(spectral._REUSE, "cache", None) is None  # nothing kept after the clip


def test_analysis_workers_run_numpy_on_one_thread() -> None:
    """The matrix's analysis workers limit numpy/scipy's thread pools to one thread (extra BLAS
    threads only spin: same wall time, about 45 % more CPU, taken from the server's render)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from threadpoolctl import threadpool_info

    from acekit.matrix.analysis_pool import _warm_worker

    with ProcessPoolExecutor(max_workers=1, initializer=_warm_worker,
                             mp_context=multiprocessing.get_context("spawn")) as pool:
        pools = pool.submit(threadpool_info).result(timeout=120)
    assert pools, "numpy should load at least one BLAS/OpenMP pool"
    assert {p["num_threads"] for p in pools} == {1}, pools
