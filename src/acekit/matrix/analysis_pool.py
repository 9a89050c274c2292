"""Judge finished clips in worker processes while the server generates the next case.

Analysing a 20 s clip takes about a second of CPU; done inline, the server sat idle for it after
every case. The runner hands each clip to an `AnalysisPool` and submits the next case at once.
Workers are separate processes (the analysers are CPU-bound Python and C++, and the runner's
threads must stay free to poll), started once per run, each importing the analysers and building
the essentia objects a single time (`acekit.analysis.audio.essentia_algorithm` keeps them).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def default_workers() -> int:
    """Leave a core to the runner (and a local server): 1 worker on 2 cores, up to 4 on big machines."""
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _exit_with_parent() -> None:
    """End this worker when the runner dies: a SIGKILLed runner never closes the pool, and the worker
    would wait on its task queue forever (each holds the queue's pipe, so no end-of-file comes)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _warm_worker() -> None:
    """Import the analysers and build the essentia objects before the first clip arrives."""
    _exit_with_parent()
    try:
        from acekit.analysis.audio import one_math_thread

        one_math_thread()
        import essentia

        essentia.log.infoActive = False  # its INFO line at import would tear the progress bar
        from acekit.analysis.audio import ANALYSIS_SR, essentia_algorithm

        essentia_algorithm("RhythmExtractor2013", method="multifeature")
        essentia_algorithm("KeyExtractor", profileType="edma", sampleRate=ANALYSIS_SR)
        import acekit.analysis  # noqa: F401
    except Exception:  # a broken install shows up, with its message, on the first clip instead
        pass


def analyse_file(audio: str, *, source: str | None, bpm: float | None, key: str | None,
                 time_signature: str | None, duration_s: float | None,
                 region_s: tuple[float, float] | None) -> dict[str, Any]:
    """The record fields of one clip's analysis (``analysis``, ``passed``, maybe ``analysis_error``)."""
    from acekit.analysis import analyze_clip

    try:
        result = analyze_clip(audio, bpm=bpm, key=key, time_signature=time_signature, duration_s=duration_s,
                              source=source, region_s=region_s)
    except Exception as exc:  # the clip could not be judged: that is a health failure, not a crash
        return {"analysis": {}, "passed": {"health": False}, "analysis_error": f"{type(exc).__name__}: {exc}"}
    return {"analysis": {k: _jsonable(v) for k, v in result.flat().items()},
            "passed": {k: bool(v) for k, v in result.passed.items()}, "unreliable": list(result.unreliable)}


def _jsonable(v: Any) -> Any:
    if isinstance(v, float):
        return v if math.isfinite(v) else None  # JSON has no NaN/inf
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return _jsonable(v.item())
    return str(v)


class AnalysisPool:
    """Worker processes for `analyse_file`; ``workers=0`` analyses inline (same results, no overlap)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        if self.workers > 0:
            # spawn: the runner has threads (progress bar, HTTP pools), which fork would copy half-locked
            self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_warm_worker,
                                             mp_context=multiprocessing.get_context("spawn"))
            for _ in range(self.workers):  # start them now, so imports overlap the first generation
                self._pool.submit(_noop)

    def submit(self, audio: str, **kwargs: Any) -> Future[dict[str, Any]]:
        if self._pool is None:
            done: Future[dict[str, Any]] = Future()
            done.set_result(analyse_file(audio, **kwargs))
            return done
        return self._pool.submit(analyse_file, audio, **kwargs)

    def close(self, *, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=not wait)
            self._pool = None


def _noop() -> None:
    return None
