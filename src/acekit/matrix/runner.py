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
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from acekit.contract import TaskType
from acekit.errors import ModelNotServed
from acekit.fit.oom import is_out_of_memory
from acekit.matrix.analysis_pool import AnalysisPool
from acekit.matrix.spec import Case, MatrixSpec, expand_cases, spec_hash
from acekit.matrix.store import CaseRecord, Manifest, RunStore, ServerEntry, atomic_copy, utc_now

#: Stop a server's remaining cases after this many "cannot reach it" failures in a row
#: (they stay pending, so a rerun does them once the server is back).
MAX_UNREACHABLE_IN_A_ROW = 2
#: Rounds of automatic retries, within one run, for cases lost to a server restart or outage.
LOST_CASE_RETRIES = 2
#: Cases kept queued at a server behind the one it runs, so it never waits for us between jobs
#: (download, hand-off to analysis, the next request's upload). One is enough: a job lasts seconds.
SUBMIT_AHEAD = 1
#: How long after a case is queued ahead the runner asks ``/v1/stats`` whether it runs alongside.
ALONGSIDE_CHECK_AFTER_S = 0.1


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
    ran: int = 0  # cases run in this session
    skipped: int = 0
    failed: int = 0  # of those, cases whose final record is not ok (failed or does not fit)
    pending: int = 0
    wall_s: float = 0.0
    stopped: dict[str, str] = field(default_factory=dict)
    #: Extra attempts at cases lost to a server restart or outage (``ran`` counts each case once).
    retried: int = 0
    #: Cases whose latest record is a failure when the run ends (after automatic retries).
    failures: list[CaseRecord] = field(default_factory=list)


ProgressHook = Callable[[str, CaseRecord | None], None]
#: Gets one event dict per step of a case (``t`` epoch seconds, ``server``, ``case``, ``event``, maybe
#: ``task_id``): the matrix benchmark's idle breakdown is built from these.
TraceHook = Callable[[dict[str, Any]], None]


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


_TEXT_TIMINGS = re.compile(r"(simulated compute|render|total(?: time)?):\s*([0-9]+(?:\.[0-9]+)?)\s*s\b", re.I)


def _server_job_seconds(result: Any) -> float | None:
    """Server-side job time when the backend reports one (generation_info timings); else None."""
    for item in getattr(result, "items", []) or []:
        info = getattr(item, "generation_info", None)
        if isinstance(info, str):
            try:
                info = json.loads(info)
            except ValueError:
                # acekit's reference engine writes text: "simulated compute: 0.10 s; render: 0.31 s; total: 0.9 s"
                # (older ones had no total: then the parts)
                found = _TEXT_TIMINGS.findall(info)
                totals = [float(v) for k, v in found if k.lower().startswith("total")]
                if totals:
                    return round(totals[-1], 4)
                if found:
                    return round(sum(float(v) for _k, v in found), 4)
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


@dataclass
class _Ticket:
    """A case submitted to the server and not yet collected."""

    case: Case
    base: dict[str, Any]
    started: str
    request: Any
    sent: dict[str, Any]
    src: Path | None
    submitted: Any  # SubmitResult
    submitted_at: datetime
    submitted_mono: float
    behind: _Ticket | None = None  # our case in flight when this one was sent (it queues behind it)
    ended_mono: float | None = None  # when the runner saw it end (ok or failed)
    checked: bool = False  # asked whether it runs alongside the one ahead of it
    alongside: bool = False  # it did: its figures are mixed with another job's, run it again


class _ServerRun:
    """Runs the pending cases of one server."""

    def __init__(self, *, store: RunStore, target: ServerTarget, client: Any, engine: str,
                 engine_version: str | None, is_reference: bool, telemetry: bool, hook: ProgressHook | None,
                 timeout_s: float, poll_interval_s: float | None, analysis: AnalysisPool | None = None,
                 trace: TraceHook | None = None):
        self.trace_hook = trace
        self.poll_interval_s = poll_interval_s
        self.analysis = analysis or AnalysisPool(workers=0)
        #: Generated clips whose record waits on analysis: edit cases may use them as sources already.
        self.generated: dict[str, Path] = {}
        #: Cases whose latest attempt in this run was lost (server restart, outage): id -> error type.
        self.lost: dict[str, str] = {}
        self.submit_ahead = SUBMIT_AHEAD
        self.notice: Callable[[str], None] = lambda message: print(message, file=sys.stderr)
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

    def trace(self, case_id: str | None, event: str, t: float | None = None, **data: Any) -> None:
        if self.trace_hook is not None:
            self.trace_hook({"t": time.time() if t is None else t, "server": self.target.label, "case": case_id,
                             "event": event, **data})

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

    def run_case(self, case: Case, spec: MatrixSpec) -> CaseRecord | Future[CaseRecord] | None:
        """Generate one case; the record, or a future of it while its clip is being analysed."""
        got = self.submit(case, spec)
        return got if isinstance(got, CaseRecord) else self.collect(got)

    def submit(self, case: Case, spec: MatrixSpec, *, behind: _Ticket | None = None) -> _Ticket | CaseRecord:
        """Send one case to the server: its ticket, or its failure record (source missing, refused, ...).

        ``behind``: our own case still in flight, which this one will queue behind at the server.
        """
        base = self._base_record(case)
        started = utc_now()
        self.trace(case.id, "begin")
        src, why_not, retryable = self._source_path(case, spec)
        if why_not:
            rec = CaseRecord(**base, status="failed", reason=why_not, error_type="SourceMissing",
                             retryable=retryable, started_at=started, finished_at=utc_now())
            return self._append(rec)
        request = None
        try:
            request = build_request(case, src, measured=self._source_metas(case, src))
            sent = request.to_api_fields()
            if src is not None:
                sent["src_audio"] = src.name
            self.trace(case.id, "submit")
            submitted_at = datetime.now(timezone.utc)
            submitted_mono = time.monotonic()
            submitted = self.client.submit(request, src_audio=src)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any failure becomes a recorded reason, never a crashed run
            return self._append(self._failure(case, base, started, exc, request))
        self.trace(case.id, "submitted", task_id=submitted.task_id)
        return _Ticket(case=case, base=base, started=started, request=request, sent=sent, src=src,
                       submitted=submitted, submitted_at=submitted_at, submitted_mono=submitted_mono,
                       behind=behind)

    def collect(self, ticket: _Ticket, *, queued: list[_Ticket] | None = None) -> CaseRecord | Future[CaseRecord] | None:
        """Wait for a submitted case, keep its audio, hand it to analysis: its record, or a future of it.

        None: the case ran alongside another of ours (the server runs several jobs at once), so its
        timings say nothing; the caller runs it again. ``queued``: our cases queued behind this one.
        """
        case, request, src = ticket.case, ticket.request, ticket.src
        # Queued behind our own previous case: time counts from when that one ended, so wall and queue
        # times mean what they mean for a case sent to a free server (the record keeps the rest apart).
        free_at = ticket.submitted_mono
        if ticket.behind is not None and ticket.behind.ended_mono is not None:
            free_at = max(free_at, ticket.behind.ended_mono)
        tmp = self.store.run_dir / "audio" / ".partial" / f"{self.target.label}-{case.id}"

        def watch(_progress: Any) -> None:
            self._check_alongside(ticket, queued or [])

        try:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            outcome = self.client.collect(
                ticket.submitted, out_dir=tmp, started=free_at, submitted_at=ticket.submitted_at,
                audio_format=request.audio_format, queue_ahead=0 if free_at > ticket.submitted_mono else None,
                on_progress=watch if queued else None, timeout_s=self.timeout_s,
                poll_interval_s=self.poll_interval_s)
            ticket.ended_mono = time.monotonic() - outcome.download_s
            self.trace(case.id, "seen_done", t=time.time() - outcome.download_s)
            self.trace(case.id, "downloaded")
            self.unreachable_in_a_row = 0
            if ticket.alongside:
                self.trace(case.id, "alongside")
                return None
            rel_paths = self._keep_audio(case, outcome.paths)
            rec_fields: dict[str, Any] = dict(
                request=ticket.sent, wall_s=round(outcome.wall_s, 4), lm=request.lm_switches(),
                meta_sources={k: v.model_dump(mode="json", exclude_none=True)
                              for k, v in request.meta_sources().items()},
                queue_wait_s=round(outcome.queue_wait_s, 4) if outcome.queue_wait_s is not None else None,
                queued_behind_own_s=round(free_at - ticket.submitted_mono, 4) if ticket.behind else None,
                server_job_s=_server_job_seconds(outcome.result), audio=rel_paths,
                source_audio=str(src.relative_to(self.store.run_dir)) if src and src.is_relative_to(self.store.run_dir)
                else (str(src) if src else None),
            )
            item = outcome.result.items[0] if outcome.result.items else None
            if item is not None and request.model and item.dit_model and item.dit_model != request.model:
                # a record filed under a model that did not make it would misreport that model
                raise ModelNotServed(outcome.task_id, request.model, item.dit_model, outcome.result)
            if item is not None:
                rec_fields["metas"] = {k: v for k, v in item.metas.model_dump().items() if v is not None}
            rec_fields.update(self._memory(outcome.task_id))
            audio = self.store.run_dir / rel_paths[0] if rel_paths else None
            if audio is not None:
                self.generated[case.id] = audio
            self.lost.pop(case.id, None)
            pending = self._analyse(case, audio, src, rec_fields.get("metas", {}))
            if not isinstance(pending, dict):
                return self._record_when_analysed(pending, ticket.base, ticket.started, rec_fields)
            rec = CaseRecord(**ticket.base, status="ok", started_at=ticket.started, finished_at=utc_now(),
                             **rec_fields, **pending)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # any failure becomes a recorded reason, never a crashed run
            if ticket.ended_mono is None:
                ticket.ended_mono = time.monotonic()
            rec = self._failure(case, ticket.base, ticket.started, exc, request)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return self._append(rec)

    def _check_alongside(self, ticket: _Ticket, queued: list[_Ticket]) -> None:
        """While ``ticket`` runs with ours queued behind it: does the server run them at once?

        Upstream runs ``ACESTEP_QUEUE_WORKERS`` jobs at a time (1 by default). With more, a case sent
        ahead would run alongside the current one and both their times and memory peaks would be
        mixed: asked once per pair, ``/v1/stats`` counting two running jobs turns submit-ahead off
        and marks both cases to run again, one at a time.
        """
        nxt = queued[0] if queued else None
        if nxt is None or nxt.checked or time.monotonic() - nxt.submitted_mono < ALONGSIDE_CHECK_AFTER_S:
            return
        nxt.checked = True
        try:
            running = self.client.stats().jobs.running
        except Exception:  # no /v1/stats: nothing to learn here
            return
        if running >= 2:
            ticket.alongside = nxt.alongside = True
            self.submit_ahead = 0
            self.notice(f"{self.target.label}: the server runs {running} jobs at once (ACESTEP_QUEUE_WORKERS > 1?): "
                        "submit-ahead is off for it, and the two cases that overlapped run again one at a time")

    def _failure(self, case: Case, base: dict[str, Any], started: str, exc: Exception, request: Any) -> CaseRecord:
        from acekit.errors import ServerUnreachable, ServiceUnavailable, UnknownTask

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
        return rec

    def _append(self, rec: CaseRecord) -> CaseRecord:
        self.store.append(rec)
        self.trace(rec.case_id, "recorded")
        if rec.redo:
            self.lost[rec.case_id] = rec.error_type or "failed"
        else:
            self.lost.pop(rec.case_id, None)
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
                self.trace(rec.case_id, "recorded")
                done.set_result(rec)
            except BaseException as exc:  # noqa: BLE001 - surfaces in drain()
                done.set_exception(exc)

        pending.add_done_callback(finish)
        self.in_flight.append(done)
        return done

    def drain(self) -> None:
        """Wait for every clip still being analysed (their records are appended by then)."""
        self.trace(None, "drain")
        wait_futures(self.in_flight)
        self.trace(None, "drained")
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
    submit_ahead: int = SUBMIT_AHEAD,
    hook: ProgressHook | None = None,
    trace: TraceHook | None = None,
    progress: bool = True,
    console: Any = None,
) -> RunSummary:
    """Run (or resume) ``spec`` on every server into ``out_dir/name``; return what happened.

    Servers run side by side (one thread each; ``concurrency`` cases in flight per server), so
    comparing two backends takes as long as the slower one. Cases already recorded are skipped;
    failures whose cause lies outside the case (server unreachable) are redone. Clips are analysed
    in ``analysis_workers`` processes (default `acekit.matrix.analysis_pool.default_workers`; 0:
    inline) while the next case generates. With one case at a time, ``submit_ahead`` more wait queued at
    the server behind the running one (0: none), so it never idles between jobs; records' times still
    count from when the server was free for the case (see `_ServerRun.collect`).
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
    tally = _Tally(summary, bar, bar_task, hook)

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
                                poll_interval_s=poll_interval_s, analysis=analysis, trace=trace)
            runner.submit_ahead = submit_ahead
            if bar:
                runner.notice = lambda message: bar.console.print(f"[yellow]{message}")
            try:
                # Sources first: edit cases read their clip from the store (or the runner's memory).
                order = [c for c in todo if not c.needs_source] + [c for c in todo if c.needs_source]
                deferred = _run_cases(runner, order, spec, concurrency, tally.settle)
                for _ in range(LOST_CASE_RETRIES):
                    lost = [c for c in order if c.id in runner.lost]
                    if not lost or runner.stopped_reason:
                        break
                    runner.notice(f"{target.label}: retrying {len(lost)} case(s) lost to a server restart or "
                                  f"outage ({runner.lost[lost[0].id]})")
                    if bar:
                        bar.update(bar_task, total=(bar.tasks[0].total or 0) + len(lost))
                    again = {c.id for c in lost} | {c.id for c in deferred}
                    deferred = _run_cases(runner, [c for c in order if c.id in again], spec, concurrency,
                                          tally.settle)
                if deferred and not runner.stopped_reason:  # their source stayed lost: recorded as missing
                    _run_cases(runner, deferred, spec, concurrency, tally.settle, defer_lost=False)
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
        if summary.retried:
            manifest.sessions[-1]["retried"] = summary.retried
        final = store.done()
        latest = store.latest()
        summary.failed = tally.final_failures(latest)
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


class _Tally:
    """Counts what a session ran (each case once, retries apart) and moves the progress bar."""

    def __init__(self, summary: RunSummary, bar: Any, bar_task: Any, hook: ProgressHook | None) -> None:
        self.summary, self.bar, self.bar_task, self.hook = summary, bar, bar_task, hook
        self.attempts: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()

    def note(self, rec: CaseRecord) -> None:
        with self.lock:
            n = self.attempts[rec.key] = self.attempts.get(rec.key, 0) + 1
            if n == 1:
                self.summary.ran += 1
            else:
                self.summary.retried += 1
        if self.bar:
            self.bar.update(self.bar_task, advance=1, description=f"{rec.server} · {rec.task}")
        if self.hook:
            self.hook(rec.server, rec)

    def settle(self, rec: CaseRecord | Future[CaseRecord] | None) -> None:
        if isinstance(rec, Future):  # noted when its analysis is back; the next case goes up now
            rec.add_done_callback(lambda f: self.note(f.result()) if f.exception() is None else None)
        elif rec is not None:
            self.note(rec)

    def final_failures(self, latest: dict[tuple[str, str], CaseRecord]) -> int:
        """Cases run in this session whose final record is not ok."""
        return sum(1 for key in self.attempts if (rec := latest.get(key)) is not None and rec.status != "ok")


def _source_id(case: Case) -> str | None:
    """The id of the case whose clip this case edits (None: no source, or a file)."""
    if case.source is None or case.source.startswith("file:"):
        return None
    return case.source.split(":", 1)[1]


def _run_cases(runner: _ServerRun, cases: list[Case], spec: MatrixSpec, concurrency: int,
               settle: Callable[[CaseRecord | Future[CaseRecord] | None], None], *,
               defer_lost: bool = True) -> list[Case]:
    """Run ``cases`` (sources before their edits); return the edits put off because their source was lost
    (a restart or outage: the source is retried first, then them).

    One case at a time per server (the default) keeps ``runner.submit_ahead`` more queued at the server
    behind the one it runs, so the server goes from job to job while the runner downloads, hands clips to
    analysis and uploads the next request. An edit is sent only once its source clip exists.
    """
    deferred: list[Case] = []

    def put_off(case: Case) -> bool:
        if defer_lost and _source_id(case) in runner.lost:
            deferred.append(case)
            return True
        return False

    if concurrency > 1:  # several cases at once, each waiting for its own job: edits after all sources
        for phase in ([c for c in cases if not c.needs_source], [c for c in cases if c.needs_source]):
            ready = [c for c in phase if not put_off(c)]
            with ThreadPoolExecutor(max_workers=concurrency) as pool:
                for fut in as_completed([pool.submit(_guarded, runner, c, spec) for c in ready]):
                    settle(fut.result())
        return deferred

    todo: deque[Case] = deque(cases)
    in_flight: deque[_Ticket] = deque()
    redo: list[Case] = []

    def collect_oldest() -> None:
        ticket = in_flight.popleft()
        got = runner.collect(ticket, queued=list(in_flight))
        if got is None:
            redo.append(ticket.case)
        else:
            settle(got)

    while todo or in_flight or redo:
        if redo and not in_flight:  # cases that ran alongside another: again, one at a time, first
            todo.extendleft(reversed(redo))
            redo.clear()
        if not todo or runner.stopped_reason:
            if not in_flight:
                break
            collect_oldest()
            continue
        case = todo.popleft()
        src = _source_id(case)
        while in_flight and (len(in_flight) > runner.submit_ahead or any(t.case.id == src for t in in_flight)):
            collect_oldest()
        if redo:
            todo.appendleft(case)
            continue
        if src is not None and any(c.id == src for c in todo):  # its source runs again first
            todo.append(case)
            continue
        if put_off(case):
            continue
        got = runner.submit(case, spec, behind=in_flight[-1] if in_flight else None)
        if isinstance(got, _Ticket):
            in_flight.append(got)
        else:
            settle(got)
    return deferred


def _guarded(runner: _ServerRun, case: Case, spec: MatrixSpec) -> CaseRecord | Future[CaseRecord] | None:
    if runner.stopped_reason:
        return None
    return runner.run_case(case, spec)
