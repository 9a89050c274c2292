"""The report built from a small real matrix run on two backends, read back as a person's browser would.

One run, shared by the module: the reference backend directly ("direct", no telemetry) and the
same backend behind ``acekit gateway`` ("gated", memory measured from /proc/meminfo, a real
unified-memory source), both through ``acekit matrix`` in a subprocess. The spec has text2music,
repaint and a cover task whose requests the backend rejects (a format it does not write).
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from acekit.matrix.store import CaseRecord, RunStore

SMALL_SPEC = """
name = "small"
[grid]
bpm = [100, 128]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"

[tasks.text2music]

[tasks.repaint]
repaint_starts_s = [3.0]
repaint_lengths_s = [4.0]

[tasks.cover]
bpm = [100]
cover_strengths = [0.5]
# The backend writes mp3/wav/flac only: every cover request is rejected (400), on purpose.
extra = {audio_format = "aiff"}
"""
SMALL_CASES = 5  # 2 text2music + 2 repaint + 1 cover


def run_cli(*args: str, timeout_s: float = 120.0) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acekit", *args], capture_output=True, text=True, timeout=timeout_s)


class _ThreadedServer:
    """uvicorn in a thread (the gateway needs an in-process memory sampler, which the CLI cannot take)."""

    def __init__(self, app) -> None:
        import uvicorn

        from acekit.reference.launch import free_port

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("gateway did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def gateway_with_meminfo(upstream: str) -> _ThreadedServer:
    from acekit.capabilities.defaults import GpuInfo
    from acekit.gateway import GatewaySettings, create_app
    from acekit.gateway.gpu import MeminfoSampler

    sampler = MeminfoSampler(GpuInfo(name="unified memory (test host)", unified_memory=True,
                                     memory_total_mb=None))
    return _ThreadedServer(create_app(GatewaySettings(upstream=upstream, sampler_interval_s=0.02), sampler=sampler))


@pytest.fixture(scope="module")
def two_backend_run(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("report-run")
    spec = root / "small.toml"
    spec.write_text(SMALL_SPEC)
    with gateway_with_meminfo(reference_server) as gw:
        assert httpx.get(f"{gw}/v1/telemetry", timeout=5).status_code == 200
        # The spec's aiff cover fails on purpose: --allow-failures, else the matrix exits 1 for it.
        proc = run_cli("matrix", str(spec), "--server", f"direct={reference_server}", "--server", f"gated={gw}",
                       "--out", str(root / "runs"), "--poll-interval-s", "0.1", "--allow-failures")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run_dir = root / "runs" / "small"
    rep = run_cli("report", str(run_dir))
    assert rep.returncode == 0, rep.stdout + rep.stderr
    yield run_dir


@pytest.fixture(scope="module")
def records(two_backend_run: Path) -> list[CaseRecord]:
    return list(RunStore(two_backend_run).latest().values())


@pytest.fixture(scope="module")
def soup(two_backend_run: Path) -> BeautifulSoup:
    return BeautifulSoup((two_backend_run / "report.html").read_text(encoding="utf-8"), "html.parser")


def test_run_recorded_every_case_on_both_backends(records: list[CaseRecord]) -> None:
    by_server = defaultdict(list)
    for r in records:
        by_server[r.server].append(r)
    assert {k: len(v) for k, v in by_server.items()} == {"direct": SMALL_CASES, "gated": SMALL_CASES}
    for r in records:
        if r.task == "cover":
            assert r.status == "failed" and "aiff" in (r.reason or ""), r.reason
        else:
            assert r.status == "ok", r.reason
            assert r.wall_s and r.wall_s > 0 and r.server_job_s is not None
            assert r.analysis["health.duration_s"] == pytest.approx(10.0, abs=0.1)
            assert r.is_reference
    # Telemetry only where the backend offers it (the gateway), "unknown" elsewhere.
    ok = [r for r in records if r.status == "ok"]
    assert all(r.peak_gpu_memory_mb is None and r.memory_source == "unknown" for r in ok if r.server == "direct")
    assert all(r.peak_gpu_memory_mb and r.peak_gpu_memory_mb > 0 and r.memory_source == "meminfo"
               for r in ok if r.server == "gated")


def test_case_tables_match_the_store(soup: BeautifulSoup, records: list[CaseRecord]) -> None:
    by_key = {(r.server, r.case_id): r for r in records}
    rows = soup.select("tr.case-row")
    assert len(rows) == len(records) == 2 * SMALL_CASES
    for task in ("text2music", "repaint", "cover"):
        table = soup.select_one(f"table.cases[data-task={task}]")
        assert table is not None, task
        assert len(table.select("tr.case-row")) == sum(r.task == task for r in records)
    for row in rows:
        rec = by_key[(row["data-backend"], row["data-case-id"])]
        assert row["data-status"] == rec.status
        if rec.status == "ok":
            assert row.select_one("td.wall").get_text(strip=True) == f"{rec.wall_s:.2f}"
            req, got = row.select_one("td.bpm").get_text(strip=True).split("→")
            assert int(req) == rec.case["bpm"]
            assert float(got) == pytest.approx(rec.analysis["tempo.bpm"], abs=0.05)
            shown = {s["data-check"]: s["class"][-1] == "pass" for s in row.select("span.check")}
            assert shown and all(shown[k] == v for k, v in rec.passed.items() if k in shown)
        else:
            assert rec.reason and rec.reason[:40] in row.get_text()


def test_audio_players_play_the_recorded_clips(soup: BeautifulSoup, two_backend_run: Path,
                                               records: list[CaseRecord]) -> None:
    ok_rows = [r for r in soup.select("tr.case-row") if r["data-status"] == "ok"]
    assert len(ok_rows) == sum(r.status == "ok" for r in records)
    for row in ok_rows:
        audio = row.select_one("audio")
        assert audio is not None, row["data-case-id"]
        src = audio["src"]
        if src.startswith("data:"):
            head, b64 = src.split(",", 1)
            assert re.match(r"data:audio/(mpeg|ogg);base64", head)
            assert len(base64.b64decode(b64)) > 10_000  # ~10 s of compressed audio, not an empty stub
        else:
            assert (two_backend_run / src).is_file(), src
    assert not [r for r in soup.select("tr.case-row") if r["data-status"] == "failed" and r.select_one("audio")]


def test_plots_are_present_and_match_the_data(soup: BeautifulSoup, records: list[CaseRecord]) -> None:
    kinds = defaultdict(int)
    for figure in soup.select("figure.fig"):
        img = figure.select_one("img")
        assert img["src"].startswith(("data:image/png;base64,", "data:image/jpeg;base64,"))
        assert len(base64.b64decode(img["src"].split(",", 1)[1])) > 5_000
        kinds[figure["data-kind"]] += 1
    # runtime, memory (the gateway measured it), tempo, key, beat grid: one each
    for kind in ("runtime", "memory", "tempo", "key", "beat_grid"):
        assert kinds[kind] == 1, dict(kinds)
    # repaint spectrograms: the same cases on both backends
    repaint_ok = {r.case_id for r in records if r.task == "repaint" and r.status == "ok"}
    assert kinds["repaint"] == 2 * len(repaint_ok)
    assert soup.select_one("#memory-unknown") is None  # one backend has memory figures


def test_verdicts_per_task_and_backend_with_thresholds(soup: BeautifulSoup, two_backend_run: Path) -> None:
    from acekit.report.build import build_report  # noqa: F401  (the CLI wrote the file; the API is the same)
    from acekit.matrix.runs import all_records, load_runs
    from acekit.verdicts import judge_all

    judgements = judge_all(all_records(load_runs([two_backend_run])))
    cards = {(c["data-backend"], c["data-task"]): c["data-verdict"] for c in soup.select(".verdict-card")}
    expected = {(b, t): j.verdict.value for b, per in judgements.items() for t, j in per.items()}
    assert cards == expected
    assert set(cards) == {(b, t) for b in ("direct", "gated") for t in ("text2music", "repaint", "cover")}
    assert cards[("direct", "cover")] == "not_viable"  # every request rejected
    assert cards[("direct", "text2music")] in ("viable", "marginal")
    # thresholds shown next to the verdicts
    names = {row.select_one("code").get_text() for row in soup.select("table.thresholds tbody tr")}
    assert {"viable_success_rate", "viable_quality_rate", "viable_seconds_per_audio_second"} <= names
    # recommended UI parameters per backend and task
    rec_rows = soup.select("table.recommended tbody tr")
    assert {(r["data-backend"], r["data-task"]) for r in rec_rows} == set(cards)
    header = [th.get_text(strip=True) for th in soup.select("table.recommended thead th")]
    for col in ("bpm range", "default steps", "max duration", "cover strength", "repaint min region"):
        assert col in header
    # side by side: both backends are columns
    comp = soup.select_one("table.comparison")
    assert comp is not None
    assert [th.get_text(strip=True) for th in comp.select("thead th")][1:] == [
        "direct (reference)", "gated (reference)", "DAW tab"]
    # the last column is the tab decision computed from the same judgements as the cards
    from acekit.matrix.runs import all_records, load_runs
    from acekit.verdicts import judge_all, tab_plan

    judged = judge_all(all_records(load_runs([two_backend_run])))
    for row in comp.select("tbody tr"):
        task = row.select_one("td").get_text(strip=True)
        assert row.select_one("td.tab-plan").get_text(strip=True) == tab_plan(judged, task)
    md = (two_backend_run / "report.md").read_text()
    assert "## DAW tabs across backends" in md and f"**{tab_plan(judged, 'text2music')}**" in md


def test_reference_results_are_labelled_not_ace_step(soup: BeautifulSoup, two_backend_run: Path) -> None:
    banners = soup.select(".banner.reference")
    assert len(banners) == 2 and all("not ACE-Step" in b.get_text() for b in banners)
    assert len(soup.select(".ref-tag")) == 2
    md = (two_backend_run / "report.md").read_text()
    assert "not ACE-Step" in md
    for backend in ("direct", "gated"):
        for task in ("text2music", "repaint", "cover"):
            assert re.search(rf"\| {backend} \| {task} \| \*\*\w+\*\* \|", md), (backend, task)
    assert "## Recommended DAW UI parameters" in md and "## Thresholds" in md


def test_report_says_how_far_each_check_can_be_trusted(soup: BeautifulSoup, two_backend_run: Path) -> None:
    """Every check a task counts is listed with its blind figures; "holds?" follows the numbers."""
    from acekit.analysis.trust import CHECK_TRUST
    from acekit.verdicts import DEFAULT_THRESHOLDS

    rows = {r["data-check"]: r for r in soup.select("#check-trust table.trust tbody tr")}
    counted = {c for checks in DEFAULT_THRESHOLDS.checks.values() for c in checks}
    assert set(rows) == counted
    assert rows["key"]["data-met"] == "no" and "below target" in rows["key"].get_text()
    assert rows["boundaries"]["data-met"] == "yes" and "0.988" in rows["boundaries"].get_text()
    # measured blind since (notes/beat-grid-blind.md): in-tempo pieces passed 0.939 on holdout17, under 0.95
    assert rows["beat_grid"]["data-met"] == "no" and "0.939" in rows["beat_grid"].get_text()
    for check, row in rows.items():
        t = CHECK_TRUST[check]
        assert row["data-met"] == ("unknown" if t.met is None else "yes" if t.met else "no"), check
        assert all(f"{f.measured:.3f}" in row.get_text() for f in t.figures), check
    cells = rows["tempo"].select("td")
    assert set(cells[1].get_text().split(", ")) == {t for t, cs in DEFAULT_THRESHOLDS.checks.items() if "tempo" in cs}
    md = (two_backend_run / "report.md").read_text()
    assert "## How far the checks can be trusted" in md and "**key** (below target" in md
    # each verdict card names the checks it counts that did not hold, linking to this section
    cards = soup.select("#verdicts .verdict-card")
    assert cards
    for card in cards:
        expected = [c for c in DEFAULT_THRESHOLDS.checks.get(card["data-task"], [])
                    if CHECK_TRUST[c].met is not True]
        note = card.select_one(".unproven")
        assert (note.a.get_text().split(", ") if note else []) == expected, card["data-task"]
        assert note is None or note.a["href"] == "#check-trust"
    assert any(c["data-task"] == "text2music" and "key" in c.select_one(".unproven").get_text() for c in cards)


def test_report_shows_a_scorecard_of_the_users_own_music(two_backend_run: Path, tmp_path: Path) -> None:
    """`acekit report --scorecard` puts the user's own figures beside acekit's blind ones, target by target."""
    from acekit.calibration.scorecard import ClipScore, EdgeScore, TempoJudgement, build_scorecard

    tempo = [TempoJudgement(requested_bpm=120 * f, expected=e, verdict=e) for f, e in ((1, "pass"), (1.1, "fail"))]
    clips = [ClipScore(id="a", split="loops", file="a.wav", tempo=tempo, key_truth="A minor", key_mirex=0.5,
                       key_flagged=True, health_label="healthy", health_passed=True),
             ClipScore(id="b", split="edits", file="b.wav", preserved_label=False, preserved_verdict=False,
                       edges=[EdgeScore(time_s=8, artifact=True, flagged=True, artifact_score=2.0)]),
             ClipScore(id="c", split="edits", file="c.wav", error="no audio file at c.wav")]
    card = tmp_path / "card.json"
    card.write_text(build_scorecard(clips).model_dump_json())
    out = tmp_path / "r.html"
    proc = run_cli("report", str(two_backend_run), "--out", str(out), "--scorecard", str(card))
    assert proc.returncode == 0, proc.stderr
    soup = BeautifulSoup(out.read_text(), "html.parser")
    tables = {t["data-group"]: t for t in soup.select("#your-music table.scorecard")}
    assert list(tables) == ["all", "loops", "edits"]
    rows = {r["data-figure"]: r for r in tables["all"].select("tbody tr")}
    assert rows["tempo_right"]["data-met"] == "yes" and "1.000" in rows["tempo_right"].get_text()
    assert rows["key_mirex"]["data-met"] == "no" and "0.500" in rows["key_mirex"].get_text()
    assert rows["key_mirex"].a["href"] == "#check-trust" and rows["key_mirex"].a.get_text() == "key"
    assert rows["boundary_auc"]["data-met"] == "unknown"  # one class of edges: no AUC, said so
    assert rows["preservation_accuracy"].select("td")[1].get_text() == "preservation"
    assert "1 not judged" in soup.select_one("#your-music").get_text()
    md = out.with_suffix(".md").read_text()
    assert "## The checks on your own labelled music" in md and "| key_mirex | 0.500 | 1 | 0.9 | **no** |" in md
    # without --scorecard there is no such section (the module's own report)
    assert not BeautifulSoup((two_backend_run / "report.html").read_text(), "html.parser").select("#your-music")
    (tmp_path / "bad.json").write_text('{"clips": 3}')
    proc = run_cli("report", str(two_backend_run), "--out", str(out), "--scorecard", str(tmp_path / "bad.json"))
    assert proc.returncode == 2 and "is not a scorecard: write it with `acekit scorecard" in proc.stderr


def test_report_of_a_missing_run_dir_says_what_to_pass(tmp_path: Path) -> None:
    proc = run_cli("report", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "not a matrix run directory" in proc.stderr


def test_store_lines_are_valid_json(two_backend_run: Path) -> None:
    lines = (two_backend_run / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 * SMALL_CASES
    assert all(json.loads(line)["case_id"] for line in lines)
