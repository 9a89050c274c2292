"""Per-task GPU memory telemetry, learned from the traffic the gateway passes through.

The gateway sees every ``/release_task`` answer (task ids) and every ``/query_result``
answer (when each task finished). While tasks are in flight a background loop reads GPU
memory every ``interval_s`` and `TaskTracker.record_sample` attributes each reading, and a
second loop (`follow_tasks`) asks the upstream about in-flight tasks itself, so a task whose
client stopped polling (DAW closed mid-render) still gets its finish time, instead of being
charged every later reading as the "oldest in-flight" task forever.

Attribution rule, and why: ACE-Step runs jobs from a FIFO queue with ``ACESTEP_QUEUE_WORKERS``
workers (1 by default), so the job holding the GPU is the oldest unfinished one. A reading is
charged to the ``workers`` oldest in-flight tasks, not to everything queued behind them.
Known error: a task is "finished" for the gateway when it (or a client) polls and sees it; a
reading taken between the real finish and that poll (at most ``status_poll_s``) still goes to
it. Peaks are device-wide (model weights included), so compare them between tasks, not with a
model's activation size. A task still in flight after ``max_age_s`` is marked ``lost``: the
upstream answers "queued" forever for ids it does not know (it restarted, the job store is in
memory), and such a task must not hold the attribution.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from acekit.contract import MAX_QUERY_TASK_IDS, TaskStatus
from acekit.gateway.auth import require_key
from acekit.gateway.envelope import error_response, ok
from acekit.gateway.gpu import SOURCE_DETAILS, MemorySampler

log = logging.getLogger("acekit.gateway")

TaskState = Literal["queued", "running", "succeeded", "failed", "lost"]

#: How a task's client authenticated at release: (Authorization header, body/query ai_token).
#: Kept to ask the upstream about the task on the client's behalf; never served.
Credentials = tuple[str | None, str | None]


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class TaskRecord(BaseModel):
    task_type: str
    submitted_at: str
    finished_at: str | None = None
    peak_memory_mb: float | None = None
    status: TaskState = "queued"
    samples: int = 0

    @property
    def in_flight(self) -> bool:
        return self.status in ("queued", "running")


class TaskTracker:
    """Task ids, their state as last seen through the gateway, and memory peaks."""

    def __init__(self, *, workers: int = 1, finished_limit: int = 1000, max_age_s: float = 7200.0) -> None:
        self.workers = workers
        self.finished_limit = finished_limit
        self.max_age_s = max_age_s
        self.tasks: OrderedDict[str, TaskRecord] = OrderedDict()  # submission order
        self.current_memory_mb: float | None = None
        self.peak_memory_mb: float | None = None
        self._credentials: dict[str, Credentials] = {}
        self._submitted_mono: dict[str, float] = {}

    # -- learning from traffic
    def submitted(self, task_id: str, task_type: str | None, *, at: str | None = None,
                  credentials: Credentials = (None, None), now_s: float | None = None) -> None:
        self.tasks[task_id] = TaskRecord(task_type=task_type or "text2music", submitted_at=at or _now_iso())
        self.tasks.move_to_end(task_id)
        self._credentials[task_id] = credentials
        self._submitted_mono[task_id] = time.monotonic() if now_s is None else now_s

    def observed(self, task_id: str, status: int, result: Any = None, *, at: str | None = None) -> None:
        """Apply one ``/query_result`` item. Ids the gateway never saw submitted are ignored."""
        rec = self.tasks.get(task_id)
        if rec is None or not rec.in_flight:
            return
        if status == TaskStatus.succeeded:
            rec.status, rec.finished_at = "succeeded", at or _now_iso()
        elif status == TaskStatus.failed:
            rec.status, rec.finished_at = "failed", at or _now_iso()
        elif status == TaskStatus.running and result not in (None, "", "[]", []):
            # Upstream answers result "[]" while queued (and forever for unknown ids);
            # a non-empty result with progress means a worker has it.
            rec.status = "running"
        self._finished(task_id)

    def expire(self, *, now_s: float | None = None) -> list[str]:
        """Mark tasks in flight for longer than ``max_age_s`` as lost; returns their ids."""
        now_s = time.monotonic() if now_s is None else now_s
        lost = [tid for tid in self.in_flight() if now_s - self._submitted_mono.get(tid, now_s) > self.max_age_s]
        for tid in lost:
            rec = self.tasks[tid]
            rec.status, rec.finished_at = "lost", _now_iso()
            log.warning("task %s still in flight after %.0f s: marked lost (upstream restarted?)", tid, self.max_age_s)
            self._finished(tid)
        return lost

    def in_flight_by_credentials(self) -> dict[Credentials, list[str]]:
        groups: dict[Credentials, list[str]] = {}
        for tid in self.in_flight():
            groups.setdefault(self._credentials.get(tid, (None, None)), []).append(tid)
        return groups

    def _finished(self, task_id: str) -> None:
        rec = self.tasks.get(task_id)
        if rec is not None and not rec.in_flight:
            self._credentials.pop(task_id, None)
            self._submitted_mono.pop(task_id, None)
        self._prune()

    def learn_release(self, response_json: Any, request_fields: dict[str, Any], *,
                      credentials: Credentials = (None, None)) -> str | None:
        data = response_json.get("data") if isinstance(response_json, dict) else None
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not isinstance(task_id, str) or not task_id:
            return None
        task_type = request_fields.get("task_type") or request_fields.get("taskType")
        self.submitted(task_id, str(task_type) if task_type else None, credentials=credentials)
        return task_id

    def learn_query(self, response_json: Any) -> None:
        items = response_json.get("data") if isinstance(response_json, dict) else None
        if not isinstance(items, list):
            return
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("task_id"), str):
                try:
                    status = int(item.get("status", 0))
                except (TypeError, ValueError):
                    continue
                self.observed(item["task_id"], status, item.get("result"))

    # -- memory
    def in_flight(self) -> list[str]:
        return [tid for tid, rec in self.tasks.items() if rec.in_flight]

    def record_sample(self, used_mb: float | None) -> list[str]:
        """Charge one reading to the tasks holding the GPU; returns their ids."""
        if used_mb is None:
            return []
        self.current_memory_mb = used_mb
        self.peak_memory_mb = used_mb if self.peak_memory_mb is None else max(self.peak_memory_mb, used_mb)
        holders = self.in_flight()[: self.workers]
        for tid in holders:
            rec = self.tasks[tid]
            rec.samples += 1
            rec.peak_memory_mb = used_mb if rec.peak_memory_mb is None else max(rec.peak_memory_mb, used_mb)
        return holders

    def _prune(self) -> None:
        finished = [tid for tid, rec in self.tasks.items() if not rec.in_flight]
        for tid in finished[: max(0, len(finished) - self.finished_limit)]:
            del self.tasks[tid]


async def follow_tasks(tracker: TaskTracker, client: httpx.AsyncClient, *, upstream: str,
                       upstream_key: str | None, interval_s: float) -> None:
    """Every ``interval_s`` while tasks are in flight, ask the upstream how they are doing.

    Each task is asked about with the credentials its own client released it with (or the
    upstream key the gateway injects), so the gateway learns nothing a client could not.
    """
    while True:
        await asyncio.sleep(interval_s)
        tracker.expire()
        groups = tracker.in_flight_by_credentials().items()
        for (authorization, token), ids in ((cred, all_ids[i:i + MAX_QUERY_TASK_IDS]) for cred, all_ids in groups
                                             for i in range(0, len(all_ids), MAX_QUERY_TASK_IDS)):
            body: dict[str, Any] = {"task_id_list": ids}
            headers: dict[str, str] = {}
            if upstream_key:
                headers["authorization"] = f"Bearer {upstream_key}"
            elif authorization:
                headers["authorization"] = authorization
            elif token:
                body["ai_token"] = token
            try:
                response = await client.post(upstream + "/query_result", json=body, headers=headers,
                                             timeout=min(5.0, interval_s * 10))
            except httpx.HTTPError as exc:  # upstream down: the pass-through reports that to clients
                log.debug("following %d task(s) failed: %s", len(ids), exc)
                continue
            if response.status_code == 200:
                tracker.learn_query(parse_json_body(response.content))


async def sample_forever(tracker: TaskTracker, sampler: MemorySampler, *, interval_s: float) -> None:
    """Read memory every ``interval_s`` while any task is in flight; idle otherwise."""
    if not sampler.supported:
        return
    # Polling (not an Event) keeps the tracker free of event-loop state, so one app object
    # can be served by several loops (uvicorn, test clients); an idle check costs nothing.
    while True:
        if not tracker.in_flight():
            await asyncio.sleep(interval_s)
            continue
        try:
            # Readers block (NVML call, nvidia-smi subprocess): keep them off the event loop.
            reading = await asyncio.to_thread(sampler.used_memory_mb)
        except Exception as exc:  # a sampler must not take the gateway down
            log.warning("memory sampler %s failed: %s", sampler.source, exc)
            reading = None
        tracker.record_sample(reading)
        await asyncio.sleep(interval_s)


def parse_json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


router = APIRouter()


@router.get("/v1/telemetry", dependencies=[Depends(require_key)])
async def telemetry(request: Request, task_id: str | None = None):
    state = request.app.state.gateway
    tracker: TaskTracker = state.tracker
    sampler: MemorySampler = state.sampler
    if task_id is not None:
        rec = tracker.tasks.get(task_id)
        if rec is None:
            return error_response(
                404, f"task {task_id!r} is unknown to this gateway: it only tracks tasks released through it "
                     "since it started (and keeps the last finished ones)")
        return ok({**rec.model_dump(), "memory_source": sampler.source,
                   "memory_source_detail": SOURCE_DETAILS.get(sampler.source)})
    current = None
    if sampler.supported:
        current = await asyncio.to_thread(sampler.used_memory_mb)
        if current is not None:
            tracker.current_memory_mb = current
    gpu = sampler.gpu()
    return ok({
        "gpu": {"name": gpu.name if gpu else None, "memory_total_mb": gpu.memory_total_mb if gpu else None},
        "memory_source": sampler.source,
        "memory_source_detail": SOURCE_DETAILS.get(sampler.source),
        "memory_supported": bool(sampler.supported),
        "current_memory_mb": current,
        "peak_memory_mb": tracker.peak_memory_mb,
        "sampler_interval_s": state.settings.sampler_interval_s,
        "tasks": {tid: rec.model_dump() for tid, rec in tracker.tasks.items()},
    })
