"""What the DAW asks for reaches the DiT unaltered (issue 7 part 1), end to end against the reference backend.

The reference backend imitates upstream's 5 Hz LM (`acekit.reference.lm`): loaded by default, it fills every
meta a text2music, lego or complete request leaves empty, from the seed, never from the source. So a lego
whose metas were left empty comes back at the LM's tempo, and one with SRC's measured metas at SRC's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from acekit import contract
from acekit.analysis.meter import MIN_CONFIDENCE, estimate_meter
from acekit.cli.main import app
from acekit.keys import parse_key
from acekit.models import make_request
from acekit.reference import engine
from acekit.source_metas import SourceMetas, decide, fill_from_source, measure_source_metas

POLL = ["--poll-interval-s", "0.05"]
SRC_BPM, SRC_KEY = 96, "D major"
#: a second source whose key the key analyser reads right and does not flag (the reference engine at
#: 96 bpm, seed 1: the learned model and the profile estimator both read D minor, the profile
#: estimator unflagged): the case where a measured key is sent
CLEAR_KEY, CLEAR_SEED = "D minor", 1


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={contract.SERVER_ENV: None, contract.API_KEY_ENV: None})


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the reference engine at 96 bpm, D major, 4/4: a DAW clip whose metas are known."""
    path = tmp_path_factory.mktemp("song") / "song.wav"
    spec = engine.MusicSpec(SRC_BPM, parse_key(SRC_KEY), "4", 20.0)
    sf.write(path, engine.render_text2music(spec, seed=11), engine.SAMPLE_RATE, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def clear_song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 s of the reference engine at 96 bpm, D minor, 4/4, whose key the analyser does not flag."""
    path = tmp_path_factory.mktemp("clear") / "clear.wav"
    spec = engine.MusicSpec(SRC_BPM, parse_key(CLEAR_KEY), "4", 20.0)
    sf.write(path, engine.render_text2music(spec, seed=CLEAR_SEED), engine.SAMPLE_RATE, subtype="FLOAT")
    return path


def _lego(server: str, song: Path, out: Path, *extra: str) -> dict:
    res = run("lego", str(song), "--track", "bass", "--model", "acestep-v15-base", "--seed", "3", "--batch", "1",
              "--format", "wav", "--server", server, "--out", str(out), "--json", *POLL, *extra)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    doc["card"] = json.loads(Path(doc["files"][0]["audio"]).with_suffix(".json").read_text())
    return doc


def test_lego_sends_the_sources_own_metas_and_no_lm(reference_server: str, song: Path, tmp_path: Path) -> None:
    """The source's measured bpm, meter and length are sent; its key only when the key analyser does not
    flag it, else it is left to the server and the sidecar says why and to pass --key (a flagged key is
    never sent as measured). The key sent unaltered: `test_lego_sends_an_unflagged_key_unaltered`."""
    measured = measure_source_metas(song)
    doc = _lego(reference_server, song, tmp_path)
    sent, sources = doc["card"]["request"], doc["card"]["meta_sources"]
    assert (sent["thinking"], sent["use_cot_caption"], sent["use_cot_language"], sent["use_cot_metas"]) == (
        False, False, False, False)
    assert (sent["bpm"], sent["time_signature"]) == (SRC_BPM, "4")
    assert sent["audio_duration"] == pytest.approx(20.0, abs=0.05)
    assert {k: v["source"] for k, v in sources.items() if k != "key_scale"} == {
        "bpm": "measured", "time_signature": "measured", "duration_s": "measured"}
    metas, info = doc["card"]["metas"], doc["card"]["result"]["generation_info"]
    if measured.key_ambiguous:  # left to the server, whose LM (as upstream's) fills the key and nothing else
        assert "key_scale" not in sent and sources["key_scale"]["source"] == "server"
        assert measured.key_ambiguity in sources["key_scale"]["note"] and "pass --key" in sources["key_scale"]["note"]
        lm_line = next(line for line in info.splitlines() if "LM imitation" in line)
        assert lm_line.split("filled ", 1)[1].startswith("key ") and "bpm" not in lm_line, lm_line
    else:  # sent unaltered: nothing came from the LM
        assert sent["key_scale"] == measured.key == SRC_KEY and sources["key_scale"]["source"] == "measured"
        assert metas["keyscale"] == SRC_KEY and "LM imitation" not in info
    # the server rendered at the source's tempo and meter
    assert (metas["bpm"], metas["timesignature"]) == (SRC_BPM, "4")
    assert doc["lm"]["switches"]["use_cot_metas"] is False and doc["lm"]["mode"].startswith("off")


def test_lego_sends_an_unflagged_key_unaltered(reference_server: str, clear_song: Path, tmp_path: Path) -> None:
    doc = _lego(reference_server, clear_song, tmp_path)
    sent, sources = doc["card"]["request"], doc["card"]["meta_sources"]
    assert (sent["bpm"], sent["key_scale"], sent["time_signature"]) == (SRC_BPM, CLEAR_KEY, "4")
    assert sources["key_scale"]["source"] == "measured" and "analyze_key" in sources["key_scale"]["note"]
    assert (doc["card"]["metas"]["bpm"], doc["card"]["metas"]["keyscale"]) == (SRC_BPM, CLEAR_KEY)
    assert "LM imitation" not in doc["card"]["result"]["generation_info"]


def test_daw_bpm_always_wins_over_the_measurement(reference_server: str, song: Path, tmp_path: Path) -> None:
    doc = _lego(reference_server, song, tmp_path, "--bpm", "84", "--key", "A minor")
    sent, sources = doc["card"]["request"], doc["card"]["meta_sources"]
    assert (sent["bpm"], sent["key_scale"], sent["time_signature"]) == (84, "A minor", "4")
    assert (sources["bpm"]["source"], sources["key_scale"]["source"], sources["time_signature"]["source"]) == (
        "user", "user", "measured")
    assert doc["card"]["metas"]["bpm"] == 84


def test_lm_fill_leaves_the_metas_to_the_lm(reference_server: str, song: Path, tmp_path: Path) -> None:
    doc = _lego(reference_server, song, tmp_path, "--lm-fill")
    sent, sources = doc["card"]["request"], doc["card"]["meta_sources"]
    assert not {"bpm", "key_scale", "time_signature", "audio_duration"} & set(sent)
    assert sent["use_cot_metas"] is True and sent["use_cot_language"] is True and sent["use_cot_caption"] is False
    assert {v["source"] for v in sources.values()} == {"server"}
    # the LM imitation filled them from the seed, not from the source: the reference says so
    assert "LM imitation" in doc["card"]["result"]["generation_info"]
    assert doc["card"]["metas"]["bpm"] != SRC_BPM or doc["card"]["metas"]["keyscale"] != SRC_KEY


def test_text2music_says_which_metas_the_server_will_choose(reference_server: str, tmp_path: Path) -> None:
    res = run("generate", "--prompt", "lofi", "--bpm", "90", "--format", "wav", "--batch", "1", "--server",
              reference_server, "--out", str(tmp_path), "--json", *POLL)
    doc = json.loads(res.stdout)
    assert res.exit_code == 0, res.stderr
    warned = " ".join(doc["warnings"])
    assert "key_scale not given" in warned and "time_signature not given" in warned and "bpm" not in warned
    assert doc["meta_sources"]["bpm"] == {"source": "user", "value": 90}
    full = run("generate", "--prompt", "lofi", "--bpm", "90", "--key", "Am", "--time-signature", "3/4",
               "--duration", "10", "--format", "wav", "--batch", "1", "--server", reference_server,
               "--out", str(tmp_path / "full"), "--json", *POLL)
    assert json.loads(full.stdout)["warnings"] == []


def test_complete_duration_does_not_change_the_length(reference_server: str, song: Path, tmp_path: Path) -> None:
    res = run("complete", str(song), "--track", "drums", "--duration", "40", "--model", "acestep-v15-base",
              "--batch", "1", "--format", "wav", "--server", reference_server, "--out", str(tmp_path), "--json", *POLL)
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert any("--duration 40 s differs from SRC" in w for w in doc["warnings"])
    audio, sr = sf.read(doc["files"][0]["audio"])
    assert len(audio) / sr == pytest.approx(20.0, abs=0.05)
    assert doc["meta_sources"]["duration_s"] == {"source": "user", "value": 40.0}


def test_thinking_without_a_loaded_lm_fails_like_upstream(start_reference, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ACESTEP_INIT_LLM", "false")
    server = start_reference()
    res = run("generate", "--prompt", "x", "--thinking", "--format", "wav", "--batch", "1", "--server", server,
              "--out", str(tmp_path), "--json", *POLL)
    assert res.exit_code == 4 and "5Hz LM init failed" in json.loads(res.stdout)["error"]


# --------------------------------------------------------------------------- the library pieces


def test_measure_source_metas_on_a_known_clip(song: Path, clear_song: Path) -> None:
    """The tempo, meter and length of known clips; the key is `analyze_key`'s verdict with the report's
    key thresholds (one home for key estimation), and a key that is not the source's is flagged."""
    from acekit.analysis.audio import load_audio
    from acekit.analysis.clip import Thresholds
    from acekit.analysis.key import analyze_key

    th = Thresholds()
    got = {}
    for path, truth in ((song, SRC_KEY), (clear_song, CLEAR_KEY)):
        m = got[truth] = measure_source_metas(path)
        assert m.bpm == pytest.approx(SRC_BPM, rel=0.02) and m.time_signature == "4"
        assert m.duration_s == pytest.approx(20.0, abs=0.01)
        y, sr = load_audio(path)
        k = analyze_key(y, sr, target_key=truth, **th.key_options())
        assert (m.key, m.key_strength, m.key_ambiguous, m.key_ambiguity) == (k.key, k.strength, k.ambiguous, k.ambiguity)
        assert k.mirex_score == 1 or m.key_ambiguous, m
        # a key sent is one the profile estimator (shipped before the fourteenth pass) sends too
        assert m.key_ambiguous or (k.by_profiles.key, k.by_profiles.ambiguous) == (m.key, False), k
    assert got[CLEAR_KEY].key == CLEAR_KEY and not got[CLEAR_KEY].key_ambiguous  # the case where a key is sent


def test_unreliable_estimates_are_not_sent_and_say_why() -> None:
    weak = SourceMetas(path="x.wav", duration_s=5.0, bpm=123.0, bpm_confidence=0.1, key="C major", key_strength=0.4,
                       time_signature="3", meter_confidence=0.05)
    d = decide(weak)
    assert {k: v.source for k, v in d.items()} == {
        "bpm": "server", "key_scale": "server", "time_signature": "server", "duration_s": "server"}
    assert "--bpm" in d["bpm"].note and "ambiguous" in d["key_scale"].note and "--time-signature" in d[
        "time_signature"].note and "10-600" in d["duration_s"].note
    req = fill_from_source(make_request("lego", track="bass"), "x.wav", measured=weak)
    assert req.bpm is None and req.meta_sources()["key_scale"].note.startswith("key estimate C major")
    # a file the analysers cannot read: nothing sent, and the reason recorded
    broken = fill_from_source(make_request("cover"), "/nonexistent.wav")
    assert all(s.source == "server" and "could not measure" in s.note for s in broken.meta_sources().values())


def test_a_key_the_analyser_flags_is_not_sent_and_says_why() -> None:
    """A key `analyze_key` flags (here a close call with the parallel key, the strength high) is left to
    the server, with the reason and the way out (--key) in the sidecar; the same key unflagged is sent."""
    flagged = SourceMetas(path="x.wav", duration_s=20.0, bpm=96.0, bpm_confidence=0.9, key="D minor",
                          key_strength=0.8, key_ambiguous=True,
                          key_ambiguity="close call with the parallel key D major (margin 0.002)",
                          time_signature="4", meter_confidence=0.9)
    d = decide(flagged)
    assert d["key_scale"].source == "server" and d["key_scale"].value is None
    assert "close call with the parallel key D major" in d["key_scale"].note and "pass --key" in d["key_scale"].note
    assert (d["bpm"].source, d["time_signature"].source, d["duration_s"].source) == ("measured",) * 3
    req = fill_from_source(make_request("lego", track="bass"), "x.wav", measured=flagged)
    assert req.key_scale is None and req.bpm == 96 and req.meta_sources()["key_scale"].source == "server"
    sure = decide(flagged.model_copy(update={"key_ambiguous": False, "key_ambiguity": None, "key_probability": 0.91}))
    assert (sure["key_scale"].source, sure["key_scale"].value) == ("measured", "D minor")
    assert sure["key_scale"].note.endswith("not flagged; pooled probability 0.91)"), sure["key_scale"].note
    # a record written before the probability was kept still decides, without the figure
    old = decide(flagged.model_copy(update={"key_ambiguous": False, "key_ambiguity": None}))
    assert old["key_scale"].source == "measured" and old["key_scale"].note.endswith("not flagged)")


@pytest.mark.parametrize("time_signature,bpm", [("3", 96), ("3", 150), ("4", 72), ("4", 120)])
def test_meter_estimate_on_reference_clips(time_signature: str, bpm: int) -> None:
    spec = engine.MusicSpec(bpm, parse_key("A minor"), time_signature, 20.0)
    res = estimate_meter(engine.render_text2music(spec, seed=1), engine.SAMPLE_RATE)
    assert res.time_signature == time_signature and res.confidence >= MIN_CONFIDENCE


def test_meter_estimate_declines_noise() -> None:
    noise = np.random.default_rng(0).normal(0, 0.1, (20 * engine.SAMPLE_RATE, 2)).astype(np.float32)
    assert estimate_meter(noise, engine.SAMPLE_RATE).confidence < MIN_CONFIDENCE


# --------------------------------------------------------------------------- the matrix's LM-CoT arm

COT_SPEC = """
name = "cot"
[grid]
models = ["acestep-v15-base"]
bpm = [96]
keys = ["D major"]
durations_s = [20.0]
steps = [4]
seeds = [5]
audio_format = "wav"
[tasks.text2music]
[[arms]]
name = "lm-cot"
tasks = ["lego", "complete"]
tracks = ["bass"]
omit = ["bpm", "key", "time_signature", "duration"]
lm_cot = [false, true]
"""


def test_matrix_lm_cot_arm_measures_a_real_difference(reference_server: str, tmp_path: Path) -> None:
    from acekit.matrix.runner import parse_server, run_matrix
    from acekit.matrix.spec import parse_spec
    from acekit.matrix.store import RunStore

    spec = parse_spec(COT_SPEC)
    summary = run_matrix(spec, COT_SPEC, [parse_server(f"ref={reference_server}")], out_dir=tmp_path,
                         progress=False, poll_interval_s=0.05)
    assert summary.failed == 0
    records = [r for r in RunStore(tmp_path / "cot").latest().values() if r.arm == "lm-cot"]
    assert len(records) == 4
    for rec in records:
        cot = rec.case["lm_cot"]
        assert rec.request["use_cot_metas"] is cot and rec.request["use_cot_caption"] is cot
        assert rec.lm["use_cot_metas"] is cot
        if cot:  # the LM imitation filled the metas: nothing measured, nothing sent
            assert "bpm" not in rec.request and rec.meta_sources["bpm"]["source"] == "server"
        else:  # acekit measured the source and sent its metas; its key only when the analyser did not flag it
            assert rec.request["bpm"] == 96 and rec.meta_sources["bpm"]["source"] == "measured"
            key_sent = rec.meta_sources["key_scale"]
            assert rec.passed["tempo"]
            if key_sent["source"] == "measured":
                assert rec.request["key_scale"] == key_sent["value"] == "D major"
                # the analysers may call a key too close to judge ("unreliable"); a wrong key still fails
                assert rec.passed.get("key", "key" in rec.unreliable)
            else:  # flagged: left to the server (its LM picks one) and the sidecar says to pass --key
                assert "key_scale" not in rec.request and "pass --key" in key_sent["note"], key_sent
                if rec.metas["keyscale"] != "D major":  # the analysis against the source's key says so
                    assert not rec.passed.get("key", False)
    # CoT on: the LM's metas (from seed 5) are not the source's, and the analysis against the source says so
    # (complete keeps SRC in its mix, so its tempo can still read as SRC's; its added stems are in the LM's key)
    on = [r for r in records if r.case["lm_cot"]]
    assert all(r.metas["bpm"] != 96 and r.metas["keyscale"] != "D major" for r in on)
    assert all(not all(r.passed.get(c, False) for c in ("tempo", "beat_grid", "key")) for r in on)

    # the report states which setting the plugin should use, from these records
    from acekit.report.build import build_report

    files = build_report([tmp_path / "cot"])
    md, html = files.markdown.read_text(), files.html.read_text()
    assert "## LM chain of thought for lego and complete" in md
    assert "send the LM switches off" in md and "reference engine, NOT ACE-Step" in md
    assert 'id="lm-cot"' in html and "send the LM switches off" in html


def test_verdicts_judge_the_setting_acekit_sends() -> None:
    from acekit.matrix.store import CaseRecord
    from acekit.verdicts import judge_task

    def rec(case_id: str, cot: bool) -> CaseRecord:
        return CaseRecord(case_id=case_id, server="s", server_url="http://s", engine="e", task="lego", model="m",
                          case={"lm_cot": cot, "omit": ["bpm"]}, status="ok", passed={"tempo": not cot})

    judged = judge_task([rec("a", False), rec("b", True)], backend="s", task="lego")
    assert judged.cases == 1  # the CoT-on case is compared in the report's LM section, not in the verdict
