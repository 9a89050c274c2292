"""Load one or more matrix run directories for the report and the capabilities builder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acekit.matrix.store import CaseRecord, Manifest, RunStore


class RunDirError(ValueError):
    """The path is not a matrix run directory."""


@dataclass
class LoadedRun:
    run_dir: Path
    manifest: Manifest
    records: list[CaseRecord]  # latest record per (server, case), file order

    @property
    def run_id(self) -> str:
        return self.manifest.run_id


def load_run(run_dir: Path) -> LoadedRun:
    store = RunStore(Path(run_dir))
    if not store.exists():
        raise RunDirError(
            f"{run_dir} is not a matrix run directory (no manifest.json): "
            "pass the folder `acekit matrix` printed, e.g. runs/default"
        )
    latest = store.latest()
    return LoadedRun(run_dir=Path(run_dir), manifest=store.read_manifest(), records=list(latest.values()))


def load_runs(run_dirs: list[Path]) -> list[LoadedRun]:
    if not run_dirs:
        raise RunDirError("give at least one run directory, e.g. `acekit report runs/default`")
    return [load_run(p) for p in run_dirs]


def all_records(runs: list[LoadedRun]) -> list[CaseRecord]:
    """Records of every run; the same server label in two runs is the same backend (later runs win per case)."""
    merged: dict[tuple[str, str], CaseRecord] = {}
    for run in runs:
        for r in run.records:
            merged[r.key] = r
    return list(merged.values())


def audio_path(run: LoadedRun, record: CaseRecord, index: int = 0) -> Path | None:
    if len(record.audio) <= index:
        return None
    return run.run_dir / record.audio[index]


def run_of(runs: list[LoadedRun], record: CaseRecord) -> LoadedRun:
    """The run a (merged) record came from."""
    for run in reversed(runs):
        if any(r is record for r in run.records):
            return run
    for run in reversed(runs):
        if any(r.key == record.key for r in run.records):
            return run
    raise KeyError(record.key)
