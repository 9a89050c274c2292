"""In-memory job store, bounded queue and worker threads of the reference backend.

Mirrors upstream's behaviour: one in-memory store (lost on restart), a bounded FIFO queue
(full -> HTTP 429), ``--workers`` background workers, progress/stage while running, and
tasks older than the task timeout reported as failed.
"""

from __future__ import annotations

import logging
import queue
import random
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acekit.contract import SOURCE_TASKS, TaskStatus, TaskType
from acekit.keys import Key, parse_key
from acekit.reference import engine
from acekit.reference.audio_io import AudioDecodeError, load_audio, write_audio
from acekit.reference.lm import CotOutcome, LmUnavailable, imitate_cot
from acekit.reference.params import TaskRequest, track_from_instruction, tracks_from_instruction
from acekit.reference.settings import ReferenceSettings

log = logging.getLogger("acekit.reference")

STATUS_INT = {"queued": TaskStatus.running, "running": TaskStatus.running,
              "succeeded": TaskStatus.succeeded, "failed": TaskStatus.failed}
_DEFAULT_TEXT2MUSIC_S = 30.0


class QueueFull(RuntimeError):
    pass


@dataclass
class Job:
    task_id: str
    request: TaskRequest
    created_at: float = field(default_factory=time.time)
    status: str = "queued"
    progress: float = 0.0
    stage: str = "queued"
    error: str | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    started_at: float | None = None
    finished_at: float | None = None
    src_path: Path | None = None
    src_name: str | None = None  # the client's file name, for error messages
    timed_out: bool = False


@dataclass(frozen=True)
class Plan:
    """What a job will render: the resolved musical spec, seeds and model."""

    spec: engine.MusicSpec
    seeds: tuple[int, ...]
    dit_model: str
    key_source: str  # "request" | "seed" | "estimated" | "lm"
    bpm_source: str
    lm: CotOutcome = CotOutcome(ran=False)


class SimulatedOutOfMemory(RuntimeError):
    """``--pretend-gpu``: the case would not fit on the pretended GPU, so the job fails as torch would."""


def check_pretended_memory(box: str, plan: Plan, *, batch: int, thinking: bool, tiled_decode: bool = True) -> None:
    """TESTING ONLY: fail like torch's out-of-memory error when the fit model says the job does not fit on
    ``box`` (with every model resident, as upstream runs at 16 GB and up; ``tiled_decode`` False: the request's
    use_tiled_decode=false, an untiled decode of the whole batch)."""
    from acekit import fit

    preset = fit.gpu_preset(box)
    p = fit.predict(memory_gib=preset.memory_gib, dtype=preset.dtype, model=plan.dit_model,
                    lm="0.6B" if thinking else "none", batch=batch,
                    duration_s=min(max(plan.spec.duration_s, 10.0), 600.0), attention=preset.attention,
                    tiled_decode=tiled_decode)
    if p.verdict != fit.Verdict.fits:
        raise SimulatedOutOfMemory(
            f"CUDA out of memory. Tried to allocate {p.resident.peak - preset.memory_gib:.2f} GiB more than the "
            f"{preset.memory_gib:.2f} GiB a {preset.name} has (SIMULATED by the acekit reference engine, not ACE-Step, "
            f"pretending to be a {preset.name}: {p.reason})")


def choose_seeds(req: TaskRequest) -> tuple[int, ...]:
    """Upstream semantics: ``use_random_seed`` (default true) or seed -1 -> fresh random seeds.

    Known deviation: with fewer seeds than ``batch_size`` upstream pads with *random* seeds
    (inference.GenerationConfig.seeds); we pad with seed+i so a whole batch reproduces (acekit's CLI
    tests rely on it). ``seed_value`` reports every seed used, comma-joined, as upstream does.
    """
    given = [s for s in req.seeds if s >= 0]
    if req.use_random_seed or not given:
        return tuple(secrets.randbelow(2**31) for _ in range(req.batch_size))
    return tuple(given[i] if i < len(given) else given[-1] + i for i in range(req.batch_size))


def estimate_bpm_key(audio: np.ndarray) -> tuple[int | None, Key | None]:
    """Tempo and key of a source (essentia, first 60 s), for edit tasks whose request gives none."""
    try:
        import essentia.standard as es
        import soxr

        mono = audio[: engine.SAMPLE_RATE * 60].mean(axis=1)
        m44 = soxr.resample(mono, engine.SAMPLE_RATE, 44100).astype(np.float32)
        bpm = es.RhythmExtractor2013(method="multifeature")(m44)[0]
        tonic, scale, _strength = es.KeyExtractor(profileType="edma")(m44)[:3]
        key = parse_key(f"{tonic} {'minor' if scale == 'minor' else 'major'}")
        bpm_i = int(round(bpm)) if 30 <= bpm <= 300 else None
        return bpm_i, key
    except Exception:  # estimation is a convenience: fall back to defaults
        return None, None


def plan_job(req: TaskRequest, seeds: tuple[int, ...], *, source: np.ndarray | None, models: tuple[str, ...],
             lm_loaded: bool = False) -> Plan:
    """Resolve missing metas: from the request, else filled by the LM imitation (`acekit.reference.lm`, when
    loaded, as upstream's LM does for text2music/lego/complete), else estimated from the source, else chosen by
    the first seed."""
    seed0 = seeds[0]
    lm = imitate_cot(req, seed0, lm_loaded=lm_loaded)
    rng = np.random.default_rng([seed0, 3])
    est_bpm, est_key = (None, None)
    if source is not None and (req.bpm is None or req.key is None):
        est_bpm, est_key = estimate_bpm_key(source)
    if req.bpm is not None:
        bpm, bpm_source = req.bpm, "request"
    elif "bpm" in lm.filled:
        bpm, bpm_source = lm.filled["bpm"], "lm"
    elif est_bpm is not None:
        bpm, bpm_source = est_bpm, "estimated"
    else:
        bpm, bpm_source = int(rng.integers(80, 141)), "seed"
    if req.key is not None:
        key, key_source = req.key, "request"
    elif "key" in lm.filled:
        key, key_source = lm.filled["key"], "lm"
    elif est_key is not None:
        key, key_source = est_key, "estimated"
    else:
        key, key_source = engine.random_key(seed0), "seed"
    ts = req.time_signature or lm.filled.get("time_signature") or "4"
    if source is None:
        duration = req.audio_duration or lm.filled.get("duration") or _DEFAULT_TEXT2MUSIC_S
    else:
        duration = len(source) / engine.SAMPLE_RATE
    # Upstream silently serves an unknown or unloaded model with the primary one; so do we.
    dit = req.model if req.model in models else models[0]
    return Plan(engine.MusicSpec(float(bpm), key, ts, duration), seeds, dit, key_source, bpm_source, lm)


def upstream_repaint_crossfade_s(mode: str, strength: float) -> float:
    """The boundary crossfade upstream 53067ab uses (``_resolve_repaint_config``): mode and strength decide it,
    the request's repaint_latent_crossfade_frames / repaint_wav_crossfade_sec are accepted but unused there.
    conservative: 25 latent frames + 0.05 s; balanced: both times (1 - strength); aggressive: none."""
    if mode == "aggressive":
        return 0.0
    keep = 1.0 if mode == "conservative" else 1.0 - min(max(strength, 0.0), 1.0)
    return round(25 * keep) / engine.LATENT_FRAMES_PER_S + 0.05 * keep


def render(req: TaskRequest, plan: Plan, seed: int, source: np.ndarray | None) -> np.ndarray:
    """Dispatch one batch item to the engine."""
    spec = plan.spec
    task = req.task_type
    if task == TaskType.text2music:
        return engine.render_text2music(spec, seed=seed)
    assert source is not None
    if task == TaskType.repaint:
        end = req.repainting_end if req.repainting_end is not None else len(source) / engine.SAMPLE_RATE
        crossfade = upstream_repaint_crossfade_s(req.repaint_mode, req.repaint_strength)
        return engine.repaint(source, spec, seed=seed, start_s=req.repainting_start, end_s=end, crossfade_s=crossfade)
    if task == TaskType.cover:
        return engine.cover(source, spec, seed=seed, strength=req.audio_cover_strength)
    if task == TaskType.lego:
        track = track_from_instruction(req.instruction, req.track_name) or "bass"
        return engine.lego(source, spec, seed=seed, track=track, start_s=req.repainting_start, end_s=req.repainting_end)
    if task == TaskType.extract:
        track = track_from_instruction(req.instruction, req.track_name) or "drums"
        return engine.extract(source, track=track)
    if task == TaskType.complete:
        tracks = tracks_from_instruction(req.instruction, req.track_classes)
        return engine.complete(source, spec, seed=seed, tracks=tracks)
    raise ValueError(f"unhandled task {task}")


class JobManager:
    """Owns the store, the queue and the worker threads."""

    def __init__(self, settings: ReferenceSettings):
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._queue: queue.Queue[str | None] = queue.Queue(maxsize=settings.queue_maxsize)
        self._threads: list[threading.Thread] = []
        self._durations: list[float] = []
        self._stop = threading.Event()

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for i in range(self.settings.workers):
            t = threading.Thread(target=self._worker, name=f"reference-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        for _ in self._threads:
            try:
                self._queue.put_nowait(None)
            except queue.Full:
                pass

    # --- API ---------------------------------------------------------------------------------

    def submit(self, req: TaskRequest, *, src_path: Path | None, src_name: str | None = None) -> tuple[Job, int]:
        job = Job(task_id=str(uuid.uuid4()), request=req, src_path=src_path, src_name=src_name)
        with self._lock:
            self._jobs[job.task_id] = job
        try:
            self._queue.put_nowait(job.task_id)
        except queue.Full:
            with self._lock:
                del self._jobs[job.task_id]
            raise QueueFull(f"Server busy: queue is full ({self.settings.queue_maxsize} tasks); retry later") from None
        log.info("[acekit reference engine (not ACE-Step)] queued %s task %s", req.task_type.value, job.task_id)
        return job, self._queue.qsize()

    def get(self, task_id: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(task_id)
            if job is not None and job.status in ("queued", "running"):
                if time.time() - job.created_at > self.settings.task_timeout_s:
                    job.status, job.stage, job.timed_out = "failed", "failed", True
                    job.error = f"Task timed out after {self.settings.task_timeout_s:g} s"
                    job.finished_at = time.time()
            return job

    def stats(self) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.values())
            avg = (sum(self._durations[-50:]) / len(self._durations[-50:])) if self._durations else \
                self.settings.initial_avg_job_seconds
        counts = {s: sum(1 for j in jobs if j.status == s) for s in ("queued", "running", "succeeded", "failed")}
        return {
            "jobs": {"total": len(jobs), **counts},
            "queue_size": self._queue.qsize(),
            "queue_maxsize": self.settings.queue_maxsize,
            "avg_job_seconds": avg,
        }

    # --- worker ------------------------------------------------------------------------------

    def _set(self, job: Job, **fields: Any) -> bool:
        """Update a job unless it was already failed (timed out); returns whether it is still live."""
        with self._lock:
            if job.status == "failed":
                return False
            for k, v in fields.items():
                setattr(job, k, v)
            return True

    def _worker(self) -> None:
        while not self._stop.is_set():
            task_id = self._queue.get()
            if task_id is None:
                return
            job = self.get(task_id)
            if job is None or job.status == "failed":  # timed out while queued: nothing to run
                if job is not None and job.src_path is not None and job.src_path.parent == self.settings.uploads_dir:
                    job.src_path.unlink(missing_ok=True)
                continue
            started = time.time()
            try:
                self._run(job)
            except (AudioDecodeError, SimulatedOutOfMemory, LmUnavailable) as exc:  # expected: no traceback in the log
                log.warning("[acekit reference engine (not ACE-Step)] task %s failed: %s", job.task_id, exc)
                self._set(job, status="failed", stage="failed", error=str(exc), finished_at=time.time())
            except Exception as exc:  # a job failure must never kill the worker
                log.exception("[acekit reference engine (not ACE-Step)] task %s failed", job.task_id)
                self._set(job, status="failed", stage="failed", error=str(exc) or exc.__class__.__name__,
                          finished_at=time.time())
            finally:
                with self._lock:
                    self._durations.append(time.time() - started)
                if job.src_path is not None and job.src_path.parent == self.settings.uploads_dir:
                    job.src_path.unlink(missing_ok=True)  # uploads are per task, like upstream's temp files

    def _run(self, job: Job) -> None:
        req = job.request
        if not self._set(job, status="running", stage="preparing", progress=0.01, started_at=time.time()):
            return
        log.info("[acekit reference engine (not ACE-Step)] started task %s", job.task_id)
        job_t0 = time.perf_counter()
        source = None
        if req.task_type in SOURCE_TASKS:
            if job.src_path is None:
                raise ValueError(f"task_type {req.task_type.value} needs source audio")
            source = load_audio(job.src_path, display_name=job.src_name)
        seeds = choose_seeds(req)
        plan = plan_job(req, seeds, source=source, models=self.settings.models, lm_loaded=self.settings.lm_loaded)
        if self.settings.pretend_gpu:
            check_pretended_memory(self.settings.pretend_gpu, plan, batch=len(seeds), thinking=req.thinking,
                                   tiled_decode=req.use_tiled_decode)

        # Simulated diffusion compute: the real model's time grows with steps, audio length and batch.
        sim_total = self.settings.seconds_per_step * req.inference_steps * (plan.spec.duration_s / 60.0) * len(seeds)
        if self.settings.job_seconds is not None:  # GPU-like fixed job times (benchmarks of what surrounds a job)
            lo, hi = self.settings.job_seconds
            sim_total = lo + (hi - lo) * random.Random(job.task_id).random()
        per_step = sim_total / req.inference_steps
        for i in range(req.inference_steps):
            if per_step > 0:
                time.sleep(per_step)
            if not self._set(job, progress=0.05 + 0.75 * (i + 1) / req.inference_steps,
                             stage=f"diffusion step {i + 1}/{req.inference_steps}"):
                return

        render_s = 0.0
        files: list[tuple[Path, str, float]] = []
        for n, seed in enumerate(seeds):
            if not self._set(job, progress=0.8 + 0.18 * n / len(seeds), stage=f"decoding audio {n + 1}/{len(seeds)}"):
                return
            t0 = time.perf_counter()
            audio = render(req, plan, seed, source)
            render_s += time.perf_counter() - t0
            path, fmt = write_audio(self.settings.output_dir / f"{job.task_id}_{n}", audio, req.audio_format)
            files.append((path, fmt, len(audio) / engine.SAMPLE_RATE))

        # The whole job as the server spent it (source decode, planning and the audio encode included:
        # an mp3 encode can take as long as the render), so a job's runtime is all of the server's time on it.
        total_s = time.perf_counter() - job_t0
        items = self._items(job, plan, files, sim_total, render_s, total_s)
        if self._set(job, status="succeeded", stage="succeeded", progress=1.0, items=items, finished_at=time.time()):
            log.info("[acekit reference engine (not ACE-Step)] task %s succeeded: %d file(s), render %.2f s",
                     job.task_id, len(files), render_s)

    def _items(self, job: Job, plan: Plan, files: list[tuple[Path, str, float]], sim_s: float,
               render_s: float, total_s: float) -> list[dict[str, Any]]:
        from urllib.parse import quote

        req = job.request
        spec = plan.spec
        out_duration = files[0][2] if files else spec.duration_s
        seed_value = ",".join(str(s) for s in plan.seeds)
        fallback = [f for f in files if f[1] != req.audio_format]
        info_lines = [
            "engine: acekit-reference (procedural reference engine, NOT ACE-Step)",
            f"task_type: {req.task_label}; dit_model: {plan.dit_model}; inference_steps: {req.inference_steps}",
            f"seeds: {seed_value}; bpm {spec.bpm:g} ({plan.bpm_source}); key {spec.key.canonical} ({plan.key_source})",
            f"simulated compute: {sim_s:.2f} s; render: {render_s:.2f} s; total: {total_s:.2f} s",
        ]
        if req.task_type == TaskType.repaint:
            # As upstream 53067ab: mode and strength set the crossfade; the two crossfade knobs are echoed, unused.
            info_lines.append(
                f"repaint: mode {req.repaint_mode}, strength {req.repaint_strength:g} -> crossfade "
                f"{upstream_repaint_crossfade_s(req.repaint_mode, req.repaint_strength):.2f} s (requested latent "
                f"crossfade {req.repaint_latent_crossfade_frames} frames, wav crossfade "
                f"{req.repaint_wav_crossfade_sec:g} s: unused, as upstream)"
            )
        if plan.lm.ran:
            info_lines.append(plan.lm.describe())
        if fallback:
            info_lines.append(f"audio_format: {req.audio_format} not writable here, wrote {fallback[0][1]}")
        metas = {
            "bpm": int(round(spec.bpm)),
            "duration": round(out_duration, 3),
            "genres": "N/A",
            "keyscale": spec.key.canonical,
            "timesignature": spec.time_signature,
            "prompt": req.prompt,
            "lyrics": req.lyrics,
            "engine": engine.ENGINE_NAME,
        }
        return [
            {
                "file": f"/v1/audio?path={quote(str(path), safe='')}",
                "wave": "",
                "status": int(TaskStatus.succeeded),
                "create_time": int(job.created_at),
                "env": "development",
                # upstream reports the caption as sent even when its LM rewrote the one the DiT got
                "prompt": req.prompt,
                "lyrics": req.lyrics,
                "metas": metas,
                "generation_info": "\n".join(info_lines),
                "seed_value": seed_value,
                # Upstream reports the server's configured LM (ACESTEP_LM_MODEL_PATH) whether or not it ran.
                "lm_model": self.settings.lm_model,
                "dit_model": plan.dit_model,
                "progress": 1.0,
                "stage": "succeeded",
                "engine": engine.ENGINE_NAME,
            }
            for path, _fmt, _dur in files
        ]


def query_item(task_id: str, job: Job | None) -> dict[str, Any]:
    """One ``/query_result`` entry, shaped like upstream (``result`` is a JSON string).

    Upstream answers from its result cache once a job has reported progress or finished, else from its job
    store; the item shapes differ slightly and we reproduce both: queued (store: empty prompt/lyrics/metas,
    progress, stage, error), running (cache: progress and stage only), failed (cache: stage "failed", error).
    """
    import json

    if job is None:
        # Upstream after a restart: unknown ids look queued forever with an empty result.
        return {"task_id": task_id, "result": "[]", "status": 0}
    status = int(STATUS_INT[job.status])
    base = {"file": "", "wave": "", "status": status, "create_time": int(job.created_at), "env": "development"}
    if job.status == "succeeded":
        result = job.items
        text = f"succeeded: {len(job.items)} audio"
    elif job.status == "queued":
        result = [{**base, "prompt": "", "lyrics": "", "metas": {}, "progress": float(job.progress),
                   "stage": job.stage, "error": None}]
        text = job.stage
    elif job.status == "running":
        result = [{**base, "progress": float(job.progress), "stage": job.stage}]
        text = job.stage
    else:
        result = [{**base, "progress": 0.0, "stage": "failed", "error": job.error}]
        text = f"failed: {job.error}"
    return {"task_id": task_id, "result": json.dumps(result, ensure_ascii=False), "status": status,
            "progress_text": text}
