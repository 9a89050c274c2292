"""Run a matrix spec against one or more servers, recording one JSON line per case.

`run_matrix` is the library entry point (``acekit matrix`` is a thin layer over it). It is
resumable: rerunning the same spec into the same run directory skips every case that has a
record (``retry_failed`` redoes failed ones) and redoes cases a kill interrupted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from acekit.contract import TaskType
from acekit.fit.oom import is_out_of_memory
from acekit.matrix.analysis_pool import AnalysisPool
from acekit.matrix.spec import Case, MatrixSpec, expand_cases, spec_hash
from acekit.matrix.store import CaseRecord, Manifest, RunStore, ServerEntry, atomic_copy, utc_now

#: Stop a server's remaining cases after this many "cannot reach it" failures in a row
#: (they stay pending, so a rerun does them once the server is back).
MAX_UNREACHABLE_IN_A_ROW = 2
#: Rounds of automatic retries, within one run, for cases lost to a server restart or outage.
LOST_CASE_RETRIES = 2


class MatrixError(RuntimeError):
    """The run cannot start or continue; the message says what to do."""


class ServerTarget(BaseModel):
    label: str
    url: str
    api_key: str | None = None


def parse_server(text: str, *, api_key: str | None = None) -> ServerTarget:
    """``"spark=http://10.0.0.5:8001"`` or ``"http://host:8001"`` (label = host_port)."""
    label, _, url = text.partition("=") if "=" in text.split("://")[0] else ("", "", text)
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MatrixError(f"server {text!r} is not a URL: write --server http://host:8001 or --server spark=http://host:8001")
    if not label:
        label = parts.netloc.replace(":", "_")
    if not label.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise MatrixError(f"server label {label!r}: use letters, digits, '-', '_' or '.'")
    return ServerTarget(label=label, url=url, api_key=api_key)


@dataclass
class RunSummary:
    run_dir: Path
    cases: int
    servers: list[str]
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    wall_s: float = 0.0
    stopped: dict[str, str] = field(default_factory=dict)
    #: Cases whose latest record is a failure when the run ends (after automatic retries).
    failures: list[CaseRecord] = field(default_factory=list)


ProgressHook = Callable[[str, CaseRecord | None], None]


# --------------------------------------------------------------------------- requests


def build_request(case: Case, source: Path | None = None, *, measured: Any = None):
    """The acekit request object for a case (validated by the client's models).

    Metas the case omits are left out; for an edit task with ``lm_cot`` off they are then measured from
    ``source`` as the CLI does (`acekit.source_metas.fill_from_source`; ``measured`` reuses a measurement),
    with ``lm_cot`` on they are left to the LM.
    """
    from acekit.models import make_request

    omit = set(case.omit)
    fields: dict[str, Any] = {
        "prompt": case.prompt,
        "lyrics": case.lyrics,
        "bpm": None if "bpm" in omit else case.bpm,
        "key_scale": None if "key" in omit else case.key,
        "time_signature": None if "time_signature" in omit else case.time_signature,
        "duration_s": None if "duration" in omit else case.duration_s,
        "lm_fill": case.lm_cot,
        "lm_rewrite_caption": case.lm_cot,
        "inference_steps": case.steps,
        "seed": case.seed,
        "thinking": case.thinking,
        "model": case.model,
        "lm_model_path": case.lm_model_path,
        "audio_format": case.audio_format,
        "batch_size": 1,
        "guidance_scale": case.guidance_scale,
        "extra": dict(case.extra),
    }
    if case.task == TaskType.repaint:
        fields.update(
            repainting_start=case.repaint_start_s,
            repainting_end=case.repaint_end_s,
            repaint_latent_crossfade_frames=case.repaint_latent_crossfade_frames,
            repaint_wav_crossfade_sec=case.repaint_wav_crossfade_s,
            repaint_strength=case.repaint_strength,
            repaint_mode=case.repaint_mode,
        )
    if case.task == TaskType.cover:
        fields["audio_cover_strength"] = case.cover_strength
    if case.task in (TaskType.lego, TaskType.extract):
        fields["track"] = case.track
    if case.task == TaskType.complete:
        fields["tracks"] = [case.track] if case.track else []
    request = make_request(case.task, **{k: v for k, v in fields.items() if v is not None})
    if source is not None:
        from acekit.source_metas import fill_from_source

        request = fill_from_source(request, source, measured=measured)
    return request


_TEXT_TIMINGS = re.compile(r"(?:simulated compute|render|total(?: time)?):\s*([0-9]+(?:\.[0-9]+)?)\s*s\b")


def _server_job_seconds(result: Any) -> float | None:
    """Server-side job time when the backend reports one (generation_info timings); else None."""
    for item in getattr(result, "items", []) or []:
        info = getattr(item, "generation_info", None)
        if isinstance(info, str):
            try:
                info = json.loads(info)
            except ValueError:
                # acekit's reference engine writes text: "simulated compute: 0.10 s; render: 0.31 s"
                parts = [float(m) for m in _TEXT_TIMINGS.findall(info)]
                if parts:
                    return round(sum(parts), 4)
                continue
        if not isinstance(info, dict):
            continue
        for holder in (info, info.get("time_costs") or {}, info.get("timings") or {}):
            if not isinstance(holder, dict):
                continue
            for k in ("job_s", "total_time", "total_s", "total_time_cost", "elapsed_s", "compute_s"):
                v = holder.get(k)
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0:
                    return float(v)
    return None


def fetch_telemetry(http: httpx.Client, url: str, *, task_id: str | None = None) -> dict[str, Any] | None:
    """``GET /v1/telemetry`` data (gateway only); None when the backend has no such endpoint."""
    try:
        resp = http.get(f"{url}/v1/telemetry", params={"task_id": task_id} if task_id else None, timeout=5.0)
    except httpx.HTTPError:
        return None
    if resp.status_code != 200:
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    data = body.get("data", body) if isinstance(body, dict) else None
    return data if isinstance(data, dict) else None


# --------------------------------------------------------------------------- the runner


class _ServerRun:
    """Runs the pending cases of one server."""

    def __init__(self, *, store: RunStore, target: ServerTarget, client: Any, engine: str,
                 engine_version: str | None, is_reference: bool, telemetry: bool, hook: ProgressHook | None,
                 timeout_s: float, poll_interval_s: float | None, analysis: AnalysisPool | None = None):
        self.poll_interval_s = poll_interval_s
        self.analysis = analysis or AnalysisPool(workers=0)
        #: Generated clips whose record waits on analysis: edit cases may use them as sources already.
        self.generated: dict[str, Path] = {}
        self.in_flight: list[Future[CaseRecord]] = []
        self.store = store
        self.target = target
        self.client = client
        self.engine = engine
        self.engine_version = engine_version
        self.is_reference = is_reference
        self.telemetry = telemetry
        self.hook = hook
        self.timeout_s = timeout_s
        self.http = httpx.Client(headers={"Authorization": f"Bearer {target.api_key}"} if target.api_key else None)
        self.unreachable_in_a_row = 0
        self.stopped_reason: str | None = None
        self._measured: dict[Path, Any] = {}  # source clip -> its measured metas (measured once per run)

    def close(self) -> None:
        self.http.close()

    def _base_record(self, case: Case) -> dict[str, Any]:
        return dict(
            case_id=case.id, server=self.target.label, server_url=self.target.url, engine=self.engine,
            engine_version=self.engine_version, is_reference=self.is_reference, task=case.task.value,
            arm=case.arm, model=case.model, label=case.label(), case=case.model_dump(mode="json"),
        )

    def _source_path(self, case: Case, spec: MatrixSpec) -> tuple[Path | None, str | None, bool]:
        """(path, None, _) or (None, why not, whether a rerun may fix it)."""
        if case.source is None:
            return None, None, False
        if case.source.startswith("file:"):
            return spec.source_file(), None, False
        src_id = case.source.split(":", 1)[1]
        if src_id in self.generated:
            return self.generated[src_id], None, False
        rec = self.store.latest().get((self.target.label, src_id))
        if rec is None:
            return None, f"source clip (case {src_id}) was not generated", True
        if rec.status != "ok" or not rec.audio:
            return None, f"source clip (case {src_id}) failed: {rec.reason}", rec.retryable
        return self.store.run_dir / rec.audio[0], None, False

    def run_case(self, case: Case, spec: MatrixSpec) -> CaseRecord | Future[CaseRecord]:
        """Generate one case; the record, or a future of it while its clip is being analysed."""
        from acekit.errors import ServerUnreachable, ServiceUnavailable, UnknownTask

        base = self._base_record(case)
        started = utc_now()
        src, why_not, retryable = self._source_path(case, spec)
        if why_not:
            rec = CaseRecord(**base, status="failed", reason=why_not, error_type="SourceMissing",
                             retryable=retryable, started_at=started, finished_at=utc_now())
            self.store.append(rec)
            return rec
        request = None
        tmp = self.store.run_dir / "audio" / ".partial" / f"{self.target.label}-{case.id}"
        try:
            request = build_request(case, src, measured=self._source_metas(case, src))
            sent = request.to_api_fields()
            if src is not None:
                sent["src_audio"] = src.name
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            outcome = self.client.generate(request, src_audio=src, out_dir=tmp, timeout_s=self.timeout_s,
                                           poll_interval_s=self.poll_interval_s)
            self.unreachable_in_a_row = 0
            rel_paths = self._keep_audio(case, outcome.paths)
            rec_fields: dict[str, Any] = dict(
                request=sent, wall_s=round(outcome.wall_s, 4), lm=request.lm_switches(),
                meta_sources={k: v.model_dump(mode="json", exclude_none=True)
                              for k, v in request.meta_sources().items()},
                queue_wait_s=round(outcome.queue_wait_s, 4) if outcome.queue_wait_s is not None else None,
                server_job_s=_server_job_seconds(outcome.result), audio=rel_paths,
                source_audio=str(src.relative_to(self.store.run_dir)) if src and src.is_relative_to(self.store.run_dir)
                else (str(src) if src else None),
            )
            item = outcome.result.items[0] if outcome.result.items else None
            if item is not None:
                rec_fields["metas"] = {k: v for k, v in item.metas.model_dump().items() if v is not None}
            rec_fields.update(self._memory(outcome.task_id))
            audio = self.store.run_dir / rel_paths[0] if rel_paths else None
            if audio is not None:
                self.generated[case.id] = audio
            pending = self._analyse(case, audio, src, rec_fields.get("metas", {}))
            if isinstance(pending, dict):
                rec = CaseRecord(**base, status="ok", started_at=started, finished_at=utc_now(), **rec_fields,
                                 **pending)
            else:
                return self._record_when_analysed(pending, base, started, rec_fields)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any failure becomes a recorded reason, never a crashed run
            if isinstance(exc, (ServerUnreachable, ServiceUnavailable)):
                self.unreachable_in_a_row += 1
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            # Out of GPU memory is a limit of the box for this case: "does not fit", kept by the capabilities.
            oom = is_out_of_memory(str(reason))
            rec = CaseRecord(
                **base, status="does_not_fit" if oom else "failed", reason=str(reason),
                error_type="OutOfMemory" if oom else type(exc).__name__,
                # "could not connect" or "the server restarted and forgot it" says nothing about the case
                retryable=isinstance(exc, (ServerUnreachable, ServiceUnavailable, UnknownTask)),
                request=request.to_api_fields() if request is not None else {},
                started_at=started, finished_at=utc_now(),
            )
            if not isinstance(exc, (ServerUnreachable, ServiceUnavailable)) and os.environ.get("ACEKIT_MATRIX_TRACEBACK"):
                traceback.print_exc()
            if self.unreachable_in_a_row >= MAX_UNREACHABLE_IN_A_ROW:
                self.stopped_reason = str(exc)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        self.store.append(rec)
        return rec

    def _record_when_analysed(self, pending: Future[dict[str, Any]], base: dict[str, Any], started: str,
                              fields: dict[str, Any]) -> Future[CaseRecord]:
        """Append the case's record once its analysis is back (a kill before that redoes the case)."""
        done: Future[CaseRecord] = Future()

        def finish(f: Future[dict[str, Any]]) -> None:
            try:
                judged = f.result()
            except Exception as exc:  # a worker died: the clip is unjudged, recorded as a health failure
                judged = {"analysis": {}, "passed": {"health": False},
                          "analysis_error": f"{type(exc).__name__}: {exc}"}
            try:
                rec = CaseRecord(**base, status="ok", started_at=started, finished_at=utc_now(), **fields, **judged)
                self.store.append(rec)
                done.set_result(rec)
            except BaseException as exc:  # noqa: BLE001 - surfaces in drain()
                done.set_exception(exc)

        pending.add_done_callback(finish)
        self.in_flight.append(done)
        return done

    def drain(self) -> None:
        """Wait for every clip still being analysed (their records are appended by then)."""
        wait_futures(self.in_flight)
        for f in self.in_flight:
            f.result()  # a store that cannot be written must not pass silently
        self.in_flight.clear()

    def _source_metas(self, case: Case, src: Path | None) -> Any:
        """The source's measured metas, once per clip, when this case will need them."""
        if src is None or not case.omit or case.lm_cot:
            return None
        if src not in self._measured:
            from acekit.source_metas import measure_source_metas

            try:
                self._measured[src] = measure_source_metas(src)
            except Exception:  # fill_from_source records why nothing was sent
                return None
        return self._measured[src]

    def _keep_audio(self, case: Case, paths: list[Path]) -> list[str]:
        out_dir = self.store.audio_dir(self.target.label)
        rel = []
        for i, p in enumerate(paths):
            name = f"{case.id}{'' if i == 0 else f'-{i}'}{Path(p).suffix or '.' + case.audio_format}"
            dst = out_dir / name
            atomic_copy(Path(p), dst)  # temp + rename inside audio/, so a kill never leaves half a file
            rel.append(str(dst.relative_to(self.store.run_dir)))
        return rel

    def _memory(self, task_id: str) -> dict[str, Any]:
        if not self.telemetry:
            return {"peak_gpu_memory_mb": None, "memory_source": "unknown"}
        data = fetch_telemetry(self.http, self.target.url, task_id=task_id) or {}
        peak = data.get("peak_memory_mb")
        if peak is None and isinstance(data.get("tasks"), dict):
            peak = (data["tasks"].get(task_id) or {}).get("peak_memory_mb")
        source = data.get("memory_source") or "unknown"
        if peak is None or source == "none":
            return {"peak_gpu_memory_mb": None, "memory_source": "unknown"}
        return {"peak_gpu_memory_mb": float(peak), "memory_source": str(source)}

    def _analyse(self, case: Case, audio: Path | None, src: Path | None,
                 metas: dict[str, Any]) -> dict[str, Any] | Future[dict[str, Any]]:
        """The analysis fields now (nothing to analyse) or a future of them from the analysis pool."""
        if audio is None:
            return {"analysis": {}, "passed": {"health": False}, "analysis_error": "no audio returned"}
        from acekit.keys import KeyParseError, parse_key

        bpm: float | None = case.bpm
        key = case.key
        # When the request left a meta to the LM, check the clip against what the server says it made.
        if bpm is None and metas.get("bpm"):
            try:
                bpm = float(metas["bpm"])
            except (TypeError, ValueError):
                bpm = None
        if key is None and metas.get("keyscale"):
            try:
                key = parse_key(str(metas["keyscale"])).canonical
            except KeyParseError:
                key = None
        duration = case.duration_s
        if duration is None and isinstance(metas.get("duration"), (int, float)):
            duration = float(metas["duration"])
        region = None
        if case.task == TaskType.repaint and case.repaint_start_s is not None and case.repaint_end_s is not None:
            region = (case.repaint_start_s, case.repaint_end_s)
        return self.analysis.submit(str(audio), source=str(src) if (src and region) else None, bpm=bpm, key=key,
                                    time_signature=case.time_signature, duration_s=duration, region_s=region)


def _probe(client: Any, http: httpx.Client, target: ServerTarget) -> ServerEntry:
    health = client.health()
    try:
        models = client.models()
        model_rows = [m.model_dump(mode="json") for m in models.models]
    except Exception:  # older servers: no model list; the matrix still runs
        model_rows = []
    return ServerEntry(label=target.label, url=target.url, health=health.model_dump(mode="json"),
                       models=model_rows, telemetry=fetch_telemetry(http, target.url))


def engine_of(health: dict[str, Any] | None) -> tuple[str, bool]:
    """(engine name, is the acekit reference engine) from a /health answer."""
    service = str((health or {}).get("service") or "unknown")
    lowered = service.lower()
    return service, ("reference" in lowered or "acekit" in lowered)


def run_matrix(
    spec: MatrixSpec,
    spec_text: str,
    servers: list[ServerTarget],
    *,
    out_dir: Path = Path("runs"),
    name: str | None = None,
    retry_failed: bool = False,
    concurrency: int = 1,
    timeout_s: float = 1800.0,
    poll_interval_s: float | None = None,
    analysis_workers: int | None = None,
    hook: ProgressHook | None = None,
    progress: bool = True,
    console: Any = None,
) -> RunSummary:
    """Run (or resume) ``spec`` on every server into ``out_dir/name``; return what happened.

    Servers run side by side (one thread each; ``concurrency`` cases in flight per server), so
    comparing two backends takes as long as the slower one. Cases already recorded are skipped;
    failures whose cause lies outside the case (server unreachable) are redone. Clips are analysed
    in ``analysis_workers`` processes (default `acekit.matrix.analysis_pool.default_workers`; 0:
    inline) while the next case generates.
    """
    if not servers:
        raise MatrixError("no server: pass --server http://host:8001 (repeatable) or --reference")
    if len({s.label for s in servers}) != len(servers):
        raise MatrixError("two servers share a label: name them, e.g. --server spark=http://... --server t4=http://...")
    cases = expand_cases(spec)
    s_hash = spec_hash(spec)
    run_dir = Path(out_dir) / (name or spec.name)
    store = RunStore(run_dir)
    if store.exists():
        manifest = store.read_manifest()
        if manifest.spec_hash != s_hash:
            raise MatrixError(
                f"{run_dir} holds a run of a different spec (hash {manifest.spec_hash}, this one {s_hash}). "
                f"Pass --name NEW_NAME for a new run, or delete {run_dir} to start over."
            )
        store.repair()
        store.clean_partial_audio()
    else:
        manifest = Manifest(run_id=f"{run_dir.name}-{s_hash}", spec_name=spec.name, spec_hash=s_hash, cases=len(cases))
        store.write_spec(spec_text)
        store.write_manifest(manifest)
    if retry_failed:
        store.drop_failed()
    manifest.sessions.append({"started_at": utc_now(), "servers": [s.label for s in servers]})
    manifest.finished_at = None
    store.write_manifest(manifest)

    summary = RunSummary(run_dir=run_dir, cases=len(cases), servers=[s.label for s in servers])
    t0 = time.monotonic()
    done = store.done()
    pending = {s.label: _pending(cases, done, s.label) for s in servers}
    summary.skipped = sum(len(cases) - len(p) for p in pending.values())
    total = sum(len(p) for p in pending.values())
    analysis = AnalysisPool(analysis_workers if total else 0)

    bar = None
    if progress and total:  # nothing pending: no empty 0/0 bar
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=console,
                       transient=False)
        bar.start()
    bar_task = bar.add_task("matrix", total=total) if bar else None
    lock = threading.Lock()

    def one_server(target: ServerTarget) -> None:
        from acekit.client import Client
        from acekit.errors import AceKitError

        todo = pending[target.label]
        if not todo:
            return
        with Client(target.url, api_key=target.api_key) as client:
            http = httpx.Client(headers={"Authorization": f"Bearer {target.api_key}"} if target.api_key else None)
            try:
                entry = _probe(client, http, target)
            except AceKitError as exc:
                with lock:
                    summary.stopped[target.label] = str(exc)
                    summary.pending += len(todo)
                if bar:
                    bar.console.print(f"[red]skipping {target.label}: {exc}")
                return
            finally:
                http.close()
            with lock:
                manifest.servers[target.label] = entry
                store.write_manifest(manifest)
            engine, is_ref = engine_of(entry.health)
            runner = _ServerRun(store=store, target=target, client=client, engine=engine,
                                engine_version=(entry.health or {}).get("version"), is_reference=is_ref,
                                telemetry=entry.telemetry is not None, hook=hook, timeout_s=timeout_s,
                                poll_interval_s=poll_interval_s, analysis=analysis)
            try:
                # Sources first: edit cases read their clip from the store (or the runner's memory).
                phases = [[c for c in todo if not c.needs_source], [c for c in todo if c.needs_source]]
                for phase in phases:
                    _run_phase(runner, phase, spec, concurrency, summary, bar, bar_task, hook, lock)
                    for _ in range(LOST_CASE_RETRIES):  # before the edits that need these clips
                        runner.drain()  # every record of the phase is in the store (not an older one)
                        latest = store.latest()
                        lost = [c for c in phase if (rec := latest.get((target.label, c.id))) and rec.redo]
                        if not lost or runner.stopped_reason:
                            break
                        message = (f"{target.label}: retrying {len(lost)} case(s) lost to a server restart or "
                                   f"outage ({latest[(target.label, lost[0].id)].error_type})")
                        if bar:
                            bar.console.print(f"[yellow]{message}")
                            bar.update(bar_task, total=(bar.tasks[0].total or 0) + len(lost))
                        else:
                            print(message, file=sys.stderr)
                        _run_phase(runner, lost, spec, concurrency, summary, bar, bar_task, hook, lock)
                    if runner.stopped_reason:
                        break
                runner.drain()
            finally:
                runner.close()
            if runner.stopped_reason:
                now_done = store.done()
                left = sum(1 for c in todo if (target.label, c.id) not in now_done)
                with lock:
                    summary.pending += left
                    summary.stopped[target.label] = runner.stopped_reason
                if bar:
                    bar.console.print(f"[red]stopped {target.label} after repeated connection failures "
                                      f"({left} case(s) left for a rerun): {runner.stopped_reason}")

    try:
        if len(servers) == 1:
            one_server(servers[0])
        else:
            with ThreadPoolExecutor(max_workers=len(servers), thread_name_prefix="matrix-server") as pool:
                for fut in [pool.submit(one_server, t) for t in servers]:
                    fut.result()
    finally:
        analysis.close(wait=True)
        if bar:
            bar.stop()
        summary.wall_s = time.monotonic() - t0
        store.clean_partial_audio()  # nothing is in flight any more
        manifest.sessions[-1]["finished_at"] = utc_now()
        manifest.sessions[-1]["ran"] = summary.ran
        final = store.done()
        latest = store.latest()
        summary.failures = [rec for s in servers for c in cases
                            if (rec := latest.get((s.label, c.id))) is not None and rec.status == "failed"]
        if all((s.label, c.id) in final for s in servers for c in cases):
            manifest.finished_at = utc_now()
        store.write_manifest(manifest)
    return summary


def _pending(cases: list[Case], done: dict[tuple[str, str], CaseRecord], label: str) -> list[Case]:
    """Cases of one server to run now: those without a final record, plus edits recorded as
    "source missing" whose source clip is among them (a source lost to a restart takes its edits along)."""
    todo = {c.id for c in cases if (label, c.id) not in done}
    for c in cases:
        rec = done.get((label, c.id))
        if rec is not None and rec.error_type == "SourceMissing" and c.source and c.source.split(":", 1)[1] in todo:
            todo.add(c.id)
    return [c for c in cases if c.id in todo]


def _run_phase(runner: _ServerRun, phase: list[Case], spec: MatrixSpec, concurrency: int, summary: RunSummary,
               bar: Any, bar_task: Any, hook: ProgressHook | None, lock: threading.Lock) -> None:
    def note(rec: CaseRecord) -> None:
        with lock:
            summary.ran += 1
            summary.failed += rec.status != "ok"
        if bar:
            bar.update(bar_task, advance=1, description=f"{runner.target.label} · {rec.task}")
        if hook:
            hook(runner.target.label, rec)

    def settle(rec: CaseRecord | Future[CaseRecord] | None) -> None:
        if isinstance(rec, Future):  # noted when its analysis is back; the next case goes up now
            rec.add_done_callback(lambda f: note(f.result()) if f.exception() is None else None)
        elif rec is not None:
            note(rec)

    if concurrency <= 1:
        for case in phase:
            if runner.stopped_reason:
                return
            settle(runner.run_case(case, spec))
        return
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = [pool.submit(_guarded, runner, case, spec) for case in phase]
        for fut in as_completed(futures):
            settle(fut.result())


def _guarded(runner: _ServerRun, case: Case, spec: MatrixSpec) -> CaseRecord | Future[CaseRecord] | None:
    if runner.stopped_reason:
        return None
    return runner.run_case(case, spec)
