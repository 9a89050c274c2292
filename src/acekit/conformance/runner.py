"""The conformance tier end to end: venv, upstream's server, every surface, the report.

`run_conformance` is what ``acekit conformance`` and ``tests/test_conformance_upstream.py`` call.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, Field

from acekit.conformance.checks import Check
from acekit.conformance.drive import (
    TURBO,
    Driver,
    Gateway,
    Intent,
    JobError,
    gateway_capabilities_check,
    unloaded_model_checks,
    plain_edit_intents,
    repaint_knob_intents,
    run_matrix,
    task_intents,
    write_fixtures,
)
from acekit.conformance.upstream_server import UpstreamStartError, prepare_run_tree, start_upstream
from acekit.conformance.upstream_venv import build_venv, venv_python

SURFACES = ("client", "cli", "curl", "gateway", "matrix")


class ConformanceReport(BaseModel):
    """Everything one run found; written as JSON and summarised on the terminal."""

    upstream_src: str
    upstream_ref: str | None = None
    started_at: str
    finished_at: str | None = None
    surfaces: list[str]
    checks_run: int = 0
    checks_passed: int = 0
    parameters_compared: list[str] = Field(default_factory=list)
    failures: list[Check] = Field(default_factory=list)
    upstream_bugs: list[str] = Field(default_factory=list)
    upstream_limitations: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checks_run > 0 and self.checks_passed == self.checks_run

    def finish(self, checks: list[Check]) -> None:
        self.checks = checks
        self.checks_run = len(checks)
        self.checks_passed = sum(c.passed for c in checks)
        self.failures = [c for c in checks if not c.passed]
        self.parameters_compared = sorted({c.parameter for c in checks})
        self.finished_at = _now()

    def summary_lines(self) -> list[str]:
        lines = [
            f"upstream: {self.upstream_src}" + (f" ({self.upstream_ref})" if self.upstream_ref else ""),
            f"checks run: {self.checks_run}, passed: {self.checks_passed}, failed: {self.checks_run - self.checks_passed}",
        ]
        for surface in self.surfaces:
            mine = [c for c in self.checks if c.surface == surface]
            if mine:
                lines.append(f"  {surface:8s} {sum(c.passed for c in mine)}/{len(mine)}")
        lines.append("parameters compared: " + ", ".join(self.parameters_compared))
        for bug in self.upstream_bugs:
            lines.append(f"UPSTREAM BUG: {bug}")
        for limitation in self.upstream_limitations:
            lines.append(f"upstream limitation: {limitation}")
        if self.failures:
            lines.append("failures:")
            for c in self.failures:
                note = f"  ({c.note})" if c.note else ""
                lines.append(f"  {c.surface}/{c.job}: {c.parameter}: expected {c.expected!r}, got {c.actual!r}{note}")
        lines += [f"note: {n}" for n in self.notes]
        return lines


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def upstream_ref(upstream_src: Path) -> str | None:
    """The tree's commit, when it is a git checkout or carries an ACESTEP_REF file; else None."""
    marker = upstream_src / "ACESTEP_REF"
    if marker.is_file():
        return marker.read_text().strip() or None
    try:
        proc = subprocess.run(["git", "-C", str(upstream_src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def check_upstream_tree(upstream_src: Path) -> None:
    """Fail early, saying what is wrong, when DIR is not an ACE-Step 1.5 tree."""
    if not (upstream_src / "acestep" / "api_server.py").is_file():
        raise ValueError(
            f"{upstream_src} is not an ACE-Step 1.5 source tree (no acestep/api_server.py): pass the folder that "
            "holds upstream's acestep/ package, e.g. an export of github.com/ace-step/ACE-Step-1.5 at the ref to vet"
        )


def run_conformance(
    upstream_src: Path,
    *,
    work_dir: Path,
    surfaces: tuple[str, ...] = SURFACES,
    report_path: Path | None = None,
    log: Callable[[str], None] = print,
    rebuild_venv: bool = False,
) -> ConformanceReport:
    """Build/reuse the upstream venv, start upstream's server, drive every surface, write the report."""
    upstream_src = upstream_src.expanduser().resolve()
    check_upstream_tree(upstream_src)
    # absolute: upstream's server and the curl kit run in other folders, so a relative --out broke them
    work_dir = work_dir.expanduser().resolve()
    unknown = [s for s in surfaces if s not in SURFACES]
    if unknown:
        raise ValueError(f"unknown surface {unknown[0]!r}: choose from {', '.join(SURFACES)}")
    work_dir.mkdir(parents=True, exist_ok=True)
    report = ConformanceReport(upstream_src=str(upstream_src), upstream_ref=upstream_ref(upstream_src),
                               started_at=_now(), surfaces=list(surfaces))
    mp3 = shutil.which("ffmpeg") is not None
    if not mp3:
        report.notes.append("ffmpeg not found: upstream saves mp3 through ffmpeg, so the mp3 job ran as wav. "
                            "Install it (apt-get install ffmpeg) to cover mp3.")
    for note in report.notes:
        log(f"note: {note}")
    venv = build_venv(upstream_src, log=log, rebuild=rebuild_venv)
    tree = prepare_run_tree(upstream_src, work_dir)
    src, ref = write_fixtures(work_dir / "fixtures")
    log("starting upstream's api_server (CPU, stand-in model calls) ...")
    try:
        server = start_upstream(venv_python=venv_python(venv), tree=tree, run_dir=work_dir)
    except UpstreamStartError as exc:
        report.finish([Check(surface="server", job="start", parameter="upstream server started", expected="answers /health",
                             actual=str(exc)[-800:], passed=False)])
        _write(report, report_path, log)
        return report
    driver = Driver(server=server, work=work_dir / "jobs", src=src, ref=ref, log=log)
    try:
        intents = task_intents(mp3=mp3)
        if "client" in surfaces:
            log("client (acekit.Client):")
            for intent in intents + repaint_knob_intents():
                driver.run_job("client", intent, driver.client_submit(intent, server.url))
            thinking = Intent("text2music-thinking", "text2music", "conformance thinking: user metas must win", bpm=120,
                              key="A minor", time_signature="4", duration_s=10.0, steps=8, seed=21, model=TURBO,
                              thinking=True)
            driver.run_job("client", thinking, driver.client_submit(thinking, server.url))
            cover_ref = Intent("cover-reference", "cover", "conformance cover with a reference", bpm=110, key="C major",
                               time_signature="4", steps=8, seed=13, strength=0.6, reference=True, model=TURBO)
            driver.run_job("client", cover_ref, driver.client_submit(cover_ref, server.url))
        if "cli" in surfaces:
            log("CLI (acekit generate|repaint|cover|lego|extract|complete):")
            for intent in intents + repaint_knob_intents() + plain_edit_intents():
                driver.run_job("cli", intent, driver.cli_submit(intent, server.url))
        if "curl" in surfaces:
            log("curl kit (scripts/curl):")
            for intent in intents:
                driver.run_job("curl", intent, driver.curl_submit(intent, server.url))
        if "gateway" in surfaces:
            log("gateway (acekit gateway in front of upstream):")
            try:
                with Gateway(server.url, work_dir / "gateway.log") as gateway:
                    driver.checks.append(gateway_capabilities_check(gateway.url))
                    for intent in intents:
                        if intent.task in ("text2music", "lego", "cover"):
                            driver.run_job("gateway", intent, driver.client_submit(intent, gateway.url))
                    driver.checks.extend(unloaded_model_checks(server.url, gateway.url, work_dir / "jobs"))
            except JobError as exc:
                driver.checks.append(Check(surface="gateway", job="start", parameter="gateway started",
                                           expected="answers /health", actual=str(exc), passed=False))
        if "matrix" in surfaces:
            log("matrix (acekit matrix, small spec):")
            run_matrix(driver, server.url)
    finally:
        server.stop()
    report.upstream_bugs = sorted(driver.upstream_bugs)
    report.upstream_limitations = sorted(driver.upstream_limitations)
    report.finish(driver.checks)
    _write(report, report_path, log)
    return report


def _write(report: ConformanceReport, path: Path | None, log: Callable[[str], None]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.model_dump(mode="json"), indent=2, default=str) + "\n")
    log(f"report: {path}")
