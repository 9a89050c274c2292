"""``acekit analyze`` and ``acekit calibrate`` through the real CLI app, on rendered calibration clips."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from acekit.calibration import CalibrationSet, build_calibration_set
from acekit.cli.analysis_cmds import parse_region
from acekit.cli.main import app
from acekit.cli import output
from acekit.cli.output import ExitCode


@pytest.fixture(scope="module")
def cal(tmp_path_factory: pytest.TempPathFactory) -> CalibrationSet:
    # same parent as test_analysis_calibration: the content-hashed set is rendered once per session
    return build_calibration_set(tmp_path_factory.getbasetemp() / "calibration", workers=2)


def run(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps table cells at 80 columns when not on a terminal; widen it so phrases stay whole."""
    monkeypatch.setattr(output.stdout, "width", 400)


def test_analyze_human_output(cal: CalibrationSet) -> None:
    res = run("analyze", cal.path("rock_guitar"), "--bpm", "140", "--key", "Em")
    assert res.exit_code == 0, res.output
    for word in ("tempo", "beat grid", "key", "health", "E minor", "MIREX 1.0", "LUFS", "within ±30 ms", "pass"):
        assert word in res.stdout, word


def test_analyze_meter_reaches_the_tempo_check(cal: CalibrationSet) -> None:
    """Issue 11: 6/8 at 120 quarter-note BPM expects the dotted quarter at 80; without the meter
    the same clip fails; an unreliable verdict and antiphase stereo are said in words."""
    res = run("analyze", cal.path("folk_six_eight"), "--bpm", "120", "--time-signature", "6/8", "--json")
    data = json.loads(res.stdout)
    assert data["tempo"]["pulse"] == "dotted_quarter" and data["tempo"]["pulse_bpm"] == 80
    assert data["passed"]["tempo"] is True and "tempo" not in data["unreliable"]
    plain = json.loads(run("analyze", cal.path("folk_six_eight"), "--bpm", "120", "--json").stdout)
    assert plain["tempo"]["relation"] == "two_thirds" and "tempo" not in plain["passed"] or \
        plain["passed"]["tempo"] is False
    human = run("analyze", cal.path("folk_six_eight"), "--bpm", "120", "--time-signature", "6")
    assert "expect the dotted quarter at 80" in human.stdout and "pass" in human.stdout
    slow = run("analyze", cal.path("nocturne_60"), "--bpm", "60", "--time-signature", "4/4")
    assert "unreliable" in slow.stdout
    anti = run("analyze", cal.path("waltz_strings__antiphase"), "--bpm", "96", "--time-signature", "3")
    assert "ANTIPHASE" in anti.stdout and "analysed the left channel" in anti.stdout and "FAIL" in anti.stdout


def test_analyze_json_repaint(cal: CalibrationSet) -> None:
    res = run("analyze", cal.path("pop_120__repaint_regenerated"), "--bpm", "120", "--key", "Eb major",
              "--source", cal.path("pop_120"), "--region", "8:13", "--duration", "20", "--json")
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)  # stdout holds the JSON document and nothing else
    assert data["region_s"] == [8.0, 13.0]
    assert data["tempo"]["relation"] in ("match", "double", "half", "triple", "third", "three_halves", "two_thirds", "off")
    for field in ("phase_s", "median_abs_offset_ms", "share_within_tol", "drift_ms_per_bar"):
        assert field in data["beat_grid"]
    assert data["key"]["mirex_score"] in (0.0, 0.2, 0.3, 0.5, 1.0)
    assert [b["time_s"] for b in data["boundaries"]["boundaries"]] == [8.0, 13.0]
    assert data["preservation"]["outside"]["mel_distance_db"] > 5  # another take: not preserved
    assert data["passed"]["preservation"] is False
    assert data["health"]["duration_error_s"] == pytest.approx(data["duration_s"] - 20, abs=1e-3)
    assert {"integrated_lufs", "clipping_share", "silence_share"} <= set(data["health"])


def test_analyze_preserved_repaint_passes_preservation(cal: CalibrationSet) -> None:
    res = run("analyze", cal.path("pop_120__repaint_preserved"), "--source", cal.path("pop_120"),
              "--region", "8:13", "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["passed"]["preservation"] is True


@pytest.mark.parametrize(("args", "message"), [
    (["--bpm", "120"], "no audio file"),
    (["--key", "H minor"], "cannot read key"),
    (["--region", "8:40", "--source", "SELF"], "ends after the clip"),
    (["--region", "abc"], "START:END"),
    (["--region", "9:8"], "END > START"),
    (["--source", "SELF"], "--source needs --region"),
    (["--bpm", "-5"], "--bpm must be positive"),
    (["--time-signature", "waltz"], "time signature"),
])
def test_analyze_bad_input_is_a_usage_error(cal: CalibrationSet, tmp_path, args: list[str], message: str) -> None:
    clip = tmp_path / "missing.wav" if message == "no audio file" else cal.path("pop_piano")
    args = [str(cal.path("pop_piano")) if a == "SELF" else a for a in args]
    res = run("analyze", clip, *args)
    assert res.exit_code == ExitCode.usage, res.output
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert "Traceback" not in res.output


def test_analyze_unreadable_file(tmp_path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_text("hello")
    res = run("analyze", bad)
    assert res.exit_code == ExitCode.usage and "cannot read" in res.stderr


def test_analyze_flags_a_clipped_stereo_file(tmp_path) -> None:
    sr = 44100
    rng = np.random.default_rng(1)
    y = np.clip(rng.standard_normal((sr * 4, 2)) * 0.8, -1, 1)  # a third of the samples at full scale
    path = tmp_path / "loud.flac"
    sf.write(str(path), y, sr)
    res = run("analyze", path, "--json")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert data["health"]["clipping_share"] > 0.1 and data["passed"]["health"] is False


def test_parse_region() -> None:
    assert parse_region("8:16") == (8.0, 16.0)
    assert parse_region("8.5-16") == (8.5, 16.0)
    with pytest.raises(ValueError):
        parse_region("16")


def test_calibrate_command(cal: CalibrationSet) -> None:
    res = run("calibrate", cal.root.parent, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["content_hash"] == cal.content_hash and len(data["clips"]) == len(cal.clips)
    human = run("calibrate", cal.root.parent)
    assert human.exit_code == 0
    assert "pop_116_for_120" in human.stdout and "rendered 116 BPM" in human.stdout
    assert "holdout" in human.stdout and "timgm6mb" in human.stdout  # the split is visible
    assert {c["split"] for c in data["clips"]} == {"calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5",
                                                    "holdout6", "holdout7", "holdout8", "holdout9", "holdout10",
                                                    "holdout11", "holdout12", "holdout13", "holdout14", "holdout15",
                                                    "holdout16", "holdout17",
                                                    "recordings"}
    assert "recordings" in human.stdout and "extremetuxracer-data" in human.stdout  # released tracks
    assert "holdout2" in human.stdout and "opl3" in human.stdout
    assert "holdout3" in human.stdout and "musescore_hq" in human.stdout and "cents off A440" in human.stdout
    assert "holdout4" in human.stdout and "bach/bwv108.6" in human.stdout  # where the real music comes from


def test_analyze_repaint_judges_edges_against_the_source(cal: CalibrationSet) -> None:
    clip = cal.get("rp_strings__hard_cut")
    a, b = clip.truth.region_s
    res = run("analyze", cal.path(clip), "--source", cal.path(clip.truth.source_clip), "--region", f"{a}:{b}")
    assert res.exit_code == 0, res.output
    for words in ("2 of 2 flagged against the source (click)", "click excess", "beyond the source", "worst 1 s"):
        assert words in res.stdout, words
    span = cal.get("rp_strings__outside_span")
    res = run("analyze", cal.path(span), "--source", cal.path(span.truth.source_clip), "--region", f"{a}:{b}", "--json")
    data = json.loads(res.stdout)
    out = data["preservation"]["outside"]
    assert out["mel_distance_db"] < 3 < out["worst_mel_distance_db"]  # the mean alone would pass it
    assert data["passed"]["preservation"] is False and data["passed"]["boundaries"] is True
    assert data["boundaries"]["source_compared"] is True


def test_analyze_many_files_in_one_call_reports_each(cal: CalibrationSet, tmp_path) -> None:
    clips = [cal.path("pop_120"), cal.path("rock_guitar")]
    one_by_one = [json.loads(run("analyze", c, "--bpm", "120", "--json").stdout) for c in clips]
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"not audio")
    res = run("analyze", clips[0], broken, clips[1], "--bpm", "120", "--json")
    assert res.exit_code == ExitCode.usage  # one file could not be read ...
    data = json.loads(res.stdout)
    assert [d["path"] for d in data] == [str(clips[0]), str(broken), str(clips[1])]
    assert "error" in data[1] and str(broken) in res.stderr
    assert data[0] == one_by_one[0] and data[2] == one_by_one[1]  # ... the others measured as alone
    human = run("analyze", *clips, "--bpm", "120")
    assert human.exit_code == 0 and all(str(c) in human.stdout for c in clips)
