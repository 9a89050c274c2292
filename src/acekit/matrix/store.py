"""A matrix run on disk: spec copy, manifest, results.jsonl, audio/.

Crash safety is the point: each result is one JSON line written with a single ``write`` then
``flush`` + ``fsync``, audio lands via temp file + ``rename``, and the manifest is replaced
atomically. A run killed mid-line leaves at most one partial last line, which `RunStore.records`
cuts off (the case is then redone), so completed lines are never lost, changed or duplicated.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

RESULTS = "results.jsonl"
MANIFEST = "manifest.json"
SPEC_COPY = "spec.toml"
AUDIO_DIR = "audio"


#: Failures that say nothing about the case: the server was unreachable, or restarted and forgot
#: the task. Such a case is redone (on resume, and retried within a run), whatever ``retryable`` an
#: older record carries.
LOST_ERRORS = frozenset({"ServerUnreachable", "ServiceUnavailable", "UnknownTask"})


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class CaseRecord(BaseModel):
    """One line of results.jsonl: one case on one server."""

    model_config = ConfigDict(extra="allow")

    case_id: str
    server: str = Field(description="server label, e.g. 'spark', 'reference'")
    server_url: str
    engine: str = Field(description="/health 'service', e.g. 'ACE-Step API'")
    engine_version: str | None = None
    is_reference: bool = False
    task: str
    arm: str = "grid"
    model: str
    label: str = ""
    case: dict[str, Any] = Field(description="the case's parameters (what its id hashes)")
    request: dict[str, Any] = Field(default_factory=dict, description="the request as sent")
    status: Literal["ok", "failed", "does_not_fit"] = Field(
        description="'does_not_fit': the server ran out of GPU memory (a limit of the box, not a generic failure)")
    reason: str | None = None
    error_type: str | None = None
    retryable: bool = Field(
        False, description="failed for a reason outside the case (server unreachable, source not made): redone on resume")
    wall_s: float | None = Field(
        None, description="server free for the case -> success seen: from the submit, or for a case queued "
                          "behind the runner's own previous case, from when that one ended")
    queue_wait_s: float | None = Field(None, description="counted from the same moment as wall_s")
    queued_behind_own_s: float | None = Field(
        None, description="time the case waited at the server behind the runner's own previous case (submit-ahead); "
                          "not in wall_s or queue_wait_s")
    server_job_s: float | None = None
    peak_gpu_memory_mb: float | None = None
    memory_source: str = "unknown"
    metas: dict[str, Any] = Field(default_factory=dict, description="metas the server returned (LM-filled values)")
    analysis: dict[str, Any] = Field(default_factory=dict, description="ClipAnalysis.flat()")
    passed: dict[str, bool] = Field(default_factory=dict)
    unreliable: list[str] = Field(
        default_factory=list, description="checks the analysers could not judge reliably (not in passed)")
    audio: list[str] = Field(default_factory=list, description="paths relative to the run dir")
    source_audio: str | None = None
    started_at: str | None = None
    finished_at: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.server, self.case_id)

    @property
    def redo(self) -> bool:
        """Failed for a reason outside the case: run it again."""
        return self.status == "failed" and (self.retryable or self.error_type in LOST_ERRORS)


class ServerEntry(BaseModel):
    label: str
    url: str
    health: dict[str, Any] | None = None
    models: list[dict[str, Any]] = Field(default_factory=list)
    telemetry: dict[str, Any] | None = None


class Manifest(BaseModel):
    model_config = ConfigDict(extra="allow")

    run_id: str
    spec_name: str
    spec_hash: str
    cases: int
    servers: dict[str, ServerEntry] = Field(default_factory=dict)
    started_at: str = Field(default_factory=utc_now)
    finished_at: str | None = None
    sessions: list[dict[str, Any]] = Field(default_factory=list, description="one entry per (re)start")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    shutil.copyfile(src, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dst)


class RunStore:
    """Reads and writes one run directory. Thread-safe for appends."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._lock = threading.Lock()

    @property
    def results_path(self) -> Path:
        return self.run_dir / RESULTS

    @property
    def manifest_path(self) -> Path:
        return self.run_dir / MANIFEST

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def audio_dir(self, server: str) -> Path:
        d = self.run_dir / AUDIO_DIR / server
        d.mkdir(parents=True, exist_ok=True)
        return d

    # manifest ---------------------------------------------------------------------------
    def read_manifest(self) -> Manifest:
        return Manifest.model_validate_json(self.manifest_path.read_text())

    def write_manifest(self, manifest: Manifest) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.manifest_path, manifest.model_dump_json(indent=2).encode())

    def write_spec(self, text: str) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.run_dir / SPEC_COPY, text.encode())

    # results ----------------------------------------------------------------------------
    def repair(self) -> int:
        """Cut a partial last line left by a kill; return the bytes removed."""
        path = self.results_path
        if not path.exists():
            return 0
        data = path.read_bytes()
        good = len(data)
        if data and not data.endswith(b"\n"):
            good = data.rfind(b"\n") + 1
        # A complete line that does not parse (torn write on some filesystems) is cut too,
        # but only at the end: earlier lines are never touched.
        lines = data[:good].splitlines(keepends=True)
        while lines:
            try:
                json.loads(lines[-1])
                break
            except json.JSONDecodeError:
                good -= len(lines.pop())
        if good != len(data):
            with open(path, "rb+") as fh:
                fh.truncate(good)
                fh.flush()
                os.fsync(fh.fileno())
        return len(data) - good

    def clean_partial_audio(self) -> int:
        """Remove audio a kill left half-copied (temp files, per-case download folders); return how many."""
        audio = self.run_dir / AUDIO_DIR
        if not audio.exists():
            return 0
        junk = [p for p in audio.rglob(".*.tmp-*") if p.is_file()]
        for p in junk:
            p.unlink(missing_ok=True)
        partial = audio / ".partial"
        if partial.exists():
            junk.append(partial)
            shutil.rmtree(partial, ignore_errors=True)
        return len(junk)

    def done(self) -> dict[tuple[str, str], CaseRecord]:
        """Latest record per (server, case) that counts as done: ok, or failed for a reason of the case itself."""
        return {k: r for k, r in self.latest().items() if not r.redo}

    def records(self) -> list[CaseRecord]:
        """All complete records in file order (a partial last line is ignored, not repaired)."""
        path = self.results_path
        if not path.exists():
            return []
        out = []
        for raw in path.read_bytes().split(b"\n"):
            if not raw.strip():
                continue
            try:
                out.append(CaseRecord.model_validate_json(raw))
            except ValueError:
                continue  # partial last line of a killed run
        return out

    def latest(self) -> dict[tuple[str, str], CaseRecord]:
        """Last record per (server, case id)."""
        return {r.key: r for r in self.records()}

    def append(self, record: CaseRecord) -> None:
        line = (record.model_dump_json() + "\n").encode()
        with self._lock:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.results_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)  # one write: a kill leaves the line whole or partial, never interleaved
                os.fsync(fd)
            finally:
                os.close(fd)

    def drop_failed(self) -> int:
        """Rewrite results.jsonl without failed records (for --retry-failed); ok lines stay byte-identical."""
        path = self.results_path
        if not path.exists():
            return 0
        kept, dropped = [], 0
        with self._lock:
            for raw in path.read_bytes().splitlines(keepends=True):
                try:
                    failed = json.loads(raw).get("status") == "failed"
                except json.JSONDecodeError:
                    failed = True
                if failed:
                    dropped += 1
                else:
                    kept.append(raw)
            if dropped:
                atomic_write_bytes(path, b"".join(kept))
        return dropped
