"""`acekit scorecard`: labelled sets read with clear errors, figures summarised purely, and the CLI end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acekit.calibration import CalibrationSet, build_calibration_set
from acekit.calibration.scorecard import (
    TARGETS,
    ClipScore,
    EdgeScore,
    TempoJudgement,
    TruthFileError,
    build_scorecard,
    read_truth_csv,
    summarise,
)
from acekit.cli import output
from acekit.cli.main import app


def write(tmp_path: Path, text: str, *audio: str) -> Path:
    for name in audio:
        (tmp_path / name).write_bytes(b"RIFF")  # only its existence is read here
    p = tmp_path / "truth.csv"
    p.write_text(text)
    return p


# ---- the truth CSV ------------------------------------------------------------------------------

def test_csv_reads_every_label_and_resolves_paths_from_its_folder(tmp_path: Path) -> None:
    p = write(tmp_path, "file,split,bpm,time_signature,key,duration_s,health,source,region,preserved,artifact_start,"
                        "artifact_end\n"
                        "a.wav,loops,92,6/8,F#m,30,healthy,,,,,\n"
                        "b.wav,,,,,,dc_offset,,,,,\n"
                        "c.wav,,,,,,,a.wav,8:16,no,yes,0\n", "a.wav", "b.wav", "c.wav")
    a, b, c = read_truth_csv(p)
    assert (a.id, a.file, a.split, a.bpm, a.time_signature, a.key, a.duration_s, a.health) == (
        "a.wav", tmp_path / "a.wav", "loops", 92.0, "6/8", "F# minor", 30.0, "healthy")
    assert (b.split, b.bpm, b.key, b.health) == ("(no split)", None, None, "dc_offset")
    assert (c.source, c.region_s, c.preserved, c.artifacts) == (tmp_path / "a.wav", (8.0, 16.0), False, (True, False))


@pytest.mark.parametrize("text, words", [
    ("file,tempo\na.wav,120\n", "unknown column(s) ['tempo']"),
    ("bpm\n120\n", "'file' column is required"),
    ("file,bpm\na.wav,fast\n", "line 2: bpm must be a number"),
    ("file,bpm\na.wav,-5\n", "line 2: bpm"),
    ("file,key\na.wav,H major\n", "line 2"),
    ("file,bpm,time_signature\na.wav,120,5/3\n", "line 2: time_signature"),
    ("file,time_signature\na.wav,4/4\n", "give bpm too"),
    ("file,health\na.wav,noisy\n", "line 2: health"),
    ("file,source\na.wav,a.wav\n", "needs both source and region"),
    ("file,source,region\na.wav,a.wav,8-16\n", "START:END"),
    ("file,source,region\na.wav,a.wav,16:8\n", "END > START"),
    ("file,source,region,artifact_start\na.wav,a.wav,8:16,yes\n", "label both edges"),
    ("file,preserved\na.wav,true\n", "give source and region too"),
    ("file,source,region,preserved\na.wav,a.wav,8:16,maybe\n", "preserved must be true or false"),
    ("file,id\na.wav,x\na.wav,x\n", "line 3: the id 'x' is used twice"),
    ("file\n", "no labelled clips"),
    ("file,bpm\na.wav,120,4/4\n", "more cells than columns"),
    ("file\nnope.wav\na.wav\ngone.wav\n", "2 audio file(s) not found"),
    ("file,bpm\n\n\na.wav,abc\n", "line 4: bpm must be a number"),  # blank lines keep the line numbers true
    ("file\n\na.wav\n\nnope.wav\n", "line 5: "),
    ("file,bpm,bpm\na.wav,120,90\n", "['bpm'] appear more than once"),
    ("file,bpm\na.wav,inf\n", "bpm must be a finite number"),
    ("file,source,region\na.wav,a.wav,1:inf\n", "finite seconds"),
    ("file,split\na.wav,all\n", "the split name 'all' is the whole set's"),
])
def test_csv_mistakes_are_refused_saying_where_and_what(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(TruthFileError) as e:
        read_truth_csv(write(tmp_path, text, "a.wav"))
    assert words in str(e.value)


def test_empty_spreadsheet_rows_are_skipped_and_quoted_cells_kept(tmp_path: Path) -> None:
    (tmp_path / "my, clip.wav").write_bytes(b"RIFF")
    p = write(tmp_path, 'file,id,bpm\r\n"my, clip.wav","a\nb",120\r\n,,\r\n', "a.wav")
    (clip,) = read_truth_csv(p)
    assert (clip.file.name, clip.id, clip.bpm) == ("my, clip.wav", "a\nb", 120.0)


def test_relative_paths_do_not_depend_on_the_working_folder(tmp_path: Path, monkeypatch) -> None:
    p = write(tmp_path, "file\na.wav\n", "a.wav")
    monkeypatch.chdir(tmp_path)
    here = read_truth_csv(Path("truth.csv"))
    monkeypatch.chdir("/")
    there = read_truth_csv(p)
    assert here == there and here[0].file.is_absolute()


def test_a_missing_truth_file_is_a_truth_file_error(tmp_path: Path) -> None:
    with pytest.raises(TruthFileError, match="cannot read the truth file"):
        read_truth_csv(tmp_path / "nope.csv")


# ---- figures (pure) -----------------------------------------------------------------------------

def clip(cid: str, split: str = "s", **kw) -> ClipScore:
    return ClipScore(id=cid, split=split, file=f"{cid}.wav", **kw)


def test_summarise_counts_each_verdict_against_its_label() -> None:
    tempo = [TempoJudgement(requested_bpm=120, expected="pass", verdict="pass"),
             TempoJudgement(requested_bpm=132, expected="fail", verdict="unreliable"),
             TempoJudgement(requested_bpm=108, expected="fail", verdict="pass"),
             TempoJudgement(requested_bpm=90, expected="fail", verdict="fail")]
    clips = [
        clip("a", tempo=tempo, key_truth="A minor", key_mirex=1.0, key_flagged=False, health_label="healthy",
             health_passed=True),
        clip("b", key_truth="C major", key_mirex=0.5, key_flagged=False, health_label="dc_offset", health_passed=True),
        clip("c", key_truth="D minor", key_mirex=0.3, key_flagged=True,
             edges=[EdgeScore(time_s=8, artifact=True, flagged=True, artifact_score=2.0),
                    EdgeScore(time_s=16, artifact=False, flagged=True, artifact_score=1.5)],
             preserved_label=True, preserved_verdict=True),
        clip("d", edges=[EdgeScore(time_s=8, artifact=True, flagged=False, artifact_score=0.5),
                         EdgeScore(time_s=16, artifact=False, flagged=False, artifact_score=None)],
             preserved_label=False, preserved_verdict=True),
        clip("e", error="no audio file at e.wav"),
    ]
    f = {x.name: x for x in summarise(clips)}
    assert (f["tempo_right"].value, f["tempo_wrong"].value, f["tempo_unreliable"].value) == (0.5, 0.25, 0.25)
    assert f["tempo_right"].met is False and f["tempo_right"].target == TARGETS["tempo_right"]
    assert f["key_mirex"].value == pytest.approx(0.6) and f["key_mirex"].n == 3 and f["key_mirex"].met is False
    assert f["key_mirex_minor"].value == pytest.approx(0.65)
    assert f["key_wrong_unflagged"].value == pytest.approx(1 / 3) and f["key_right_unflagged"].value == 1.0
    assert f["health_right"].value == 0.5 and f["health_right"].met is False  # the DC offset went unseen
    # AUC over the three scored edges (the unscored one is left out and said so): 2.0 > 1.5 but 0.5 < 1.5
    assert f["boundary_auc"].value == 0.5 and f["boundary_auc"].n == 3 and "1 edges without a score" in f[
        "boundary_auc"].note
    assert (f["boundary_precision"].value, f["boundary_recall"].value) == (0.5, 0.5)
    assert f["preservation_accuracy"].value == 0.5


def test_all_right_meets_every_target_and_one_class_of_edges_gives_no_auc() -> None:
    clips = [clip("a", key_truth="A minor", key_mirex=1.0, key_flagged=True, health_label="silence",
                  health_passed=False,
                  edges=[EdgeScore(time_s=8, artifact=True, flagged=True, artifact_score=3.0)],
                  preserved_label=True, preserved_verdict=True)]
    f = {x.name: x for x in summarise(clips)}
    assert f["boundary_auc"].value is None and f["boundary_auc"].met is None and "needs edges" in f[
        "boundary_auc"].note
    assert all(x.met for x in f.values() if x.target is not None and x.value is not None)
    assert f["key_right_unflagged"].value == 0.0


def test_scorecard_groups_by_split_only_when_there_are_several() -> None:
    one = build_scorecard([clip("a", key_mirex=1.0, key_truth="C major", key_flagged=False)])
    assert list(one.figures) == ["all"]
    two = build_scorecard([clip("a", "x", key_mirex=1.0, key_truth="C major", key_flagged=False),
                           clip("b", "y", key_mirex=0.0, key_truth="C major", key_flagged=True)])
    assert list(two.figures) == ["all", "x", "y"]
    assert [f.value for f in two.figures["x"] if f.name == "key_mirex"] == [1.0]
    assert [(g, f.name) for g, f in two.missed_targets()] == [("all", "key_mirex"), ("y", "key_mirex")]
    assert [f.name for _, f in two.missed_targets("x")] == []
    # a clip with no split beside named ones is counted once in "all" and reported under "(no split)"
    mixed = build_scorecard([clip("a", "(no split)", key_mirex=1.0, key_truth="C major", key_flagged=False),
                             clip("b", "x", key_mirex=0.0, key_truth="C major", key_flagged=True)])
    assert list(mixed.figures) == ["all", "(no split)", "x"]
    assert [f.n for f in mixed.figures["all"] if f.name == "key_mirex"] == [2]


# ---- the CLI on rendered music --------------------------------------------------------------------

@pytest.fixture(scope="module")
def cal(tmp_path_factory: pytest.TempPathFactory) -> CalibrationSet:
    # same parent as test_analysis_calibration: the content-hashed set is rendered once per session
    return build_calibration_set(tmp_path_factory.getbasetemp() / "calibration", workers=2)


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.stdout, "width", 300)


def run(*args: object):
    return CliRunner().invoke(app, ["scorecard", *map(str, args)])


def test_scorecard_cli_judges_a_users_labelled_clips(cal: CalibrationSet, tmp_path: Path) -> None:
    from acekit.analysis import analyze_clip

    song, case = cal.get("pop_120"), cal.get("funk_tight__dc_offset")
    rp = cal.get("rp_h_flute_waltz__hard_cut")
    a, b = rp.truth.region_s
    header = "file,id,bpm,time_signature,key,health,source,region,preserved,artifact_start,artifact_end\n"
    good = (header + f"{cal.path(song)},pop,{song.truth.bpm_requested:g},{song.truth.time_signature},"
            f"{song.truth.key},healthy,,,,,\n"
            f"{cal.path(case)},dc,,,,dc_offset,,,,,\n"
            f"{cal.path(rp)},cut,,,,,{cal.path(rp.truth.source_clip)},{a}:{b},true,yes,yes\n")
    (tmp_path / "good.csv").write_text(good)
    res = run(tmp_path / "good.csv", "--json", "--strict")
    assert res.exit_code == 0, res.output
    card = json.loads(res.stdout)
    figures = {f["name"]: f for f in card["figures"]["all"]}
    assert figures["tempo_right"]["value"] == 1.0 and figures["tempo_right"]["n"] == 4
    assert figures["key_mirex"]["value"] == 1.0 and figures["health_right"]["value"] == 1.0
    assert figures["boundary_recall"]["value"] == 1.0 and figures["preservation_accuracy"]["value"] == 1.0
    # the clip's key reading is analyze_clip's own for that request
    direct = analyze_clip(cal.path(song), bpm=song.truth.bpm_requested, key=song.truth.key,
                          time_signature=song.truth.time_signature)
    pop = next(c for c in card["clips"] if c["id"] == "pop")
    assert (pop["key_estimate"], pop["key_flagged"]) == (direct.key.key, direct.key.ambiguous)
    assert pop["tempo"][0]["verdict"] == direct.tempo.verdict == "pass"

    # the same song labelled a tritone away: the key figure misses its target, --strict says so by exit 1
    wrong = header + f"{cal.path(song)},pop,,,A major,,,,,,\n"
    (tmp_path / "wrong.csv").write_text(wrong)
    res = run(tmp_path / "wrong.csv")
    assert res.exit_code == 0 and "key_mirex" in res.stdout and "keys not exact" in res.stdout, res.output
    flag = "flagged" if direct.key.ambiguous else "UNFLAGGED"
    assert f"pop A major {direct.key.key} {flag}" in res.stdout  # the label, the reading, its flag
    assert run(tmp_path / "wrong.csv", "--strict").exit_code == 1


def test_scorecard_cli_refuses_bad_input_with_what_to_do(tmp_path: Path) -> None:
    res = run()
    assert res.exit_code == 2 and "either a truth CSV or --split" in res.output
    res = run("--split", "holdout99")
    assert res.exit_code == 2 and "unknown split(s) ['holdout99']" in res.output and "holdout17" in res.output
    (tmp_path / "t.csv").write_text("file,tempo\na.wav,120\n")
    res = run(tmp_path / "t.csv")
    assert res.exit_code == 2 and "unknown column(s) ['tempo']" in res.output


def test_scorecard_cli_records_an_unreadable_clip_and_judges_the_rest(cal: CalibrationSet, tmp_path: Path) -> None:
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    song = cal.get("pop_120")
    (tmp_path / "t.csv").write_text(f"file,id,key\nbroken.wav,broken,C major\n{cal.path(song)},pop,{song.truth.key}\n")
    res = run(tmp_path / "t.csv", "--json")
    assert res.exit_code == 2
    card = json.loads(res.stdout)
    broken = next(c for c in card["clips"] if c["id"] == "broken")
    assert broken["error"] and broken["key_mirex"] is None
    assert [f["n"] for f in card["figures"]["all"] if f["name"] == "key_mirex"] == [1]  # the other was judged
    assert "error: broken" in res.stderr


def test_the_docs_example_csv_reads_as_it_says(tmp_path: Path) -> None:
    docs = (Path(__file__).resolve().parents[1] / "docs" / "analysis.md").read_text()
    block = docs.split("```csv\n", 1)[1].split("```", 1)[0]
    for name in ("loops/groove.wav", "loops/groove_dc.wav", "edits/groove_rp.wav"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"RIFF")
    (tmp_path / "t.csv").write_text(block)
    groove, dc, rp = read_truth_csv(tmp_path / "t.csv")
    assert (groove.bpm, groove.time_signature, groove.key, groove.health) == (92.0, "6/8", "F# minor", "healthy")
    assert (dc.id, dc.health, dc.bpm) == ("groove_dc.wav", "dc_offset", None)
    assert (rp.source, rp.region_s, rp.preserved, rp.artifacts) == (tmp_path / "loops/groove.wav", (8.0, 16.0), True,
                                                                   (True, False))


# ---- resuming -----------------------------------------------------------------------------------

def tone(path: Path, hz: float, seconds: float = 4.0) -> Path:
    import numpy as np
    import soundfile as sf

    t = np.arange(int(44100 * seconds)) / 44100
    y = 0.3 * np.sin(2 * np.pi * hz * t) * (0.6 + 0.4 * (np.floor(t * 2) % 2))  # pulsing at 120 BPM
    sf.write(path, np.stack([y, y], axis=1).astype("float32"), 44100)
    return path


def test_a_progress_file_resumes_and_rejudges_only_what_changed(tmp_path: Path, monkeypatch) -> None:
    import acekit.calibration.scorecard as sc

    a, b = tone(tmp_path / "a.wav", 220.0), tone(tmp_path / "b.wav", 330.0)
    (tmp_path / "t.csv").write_text("file,bpm,key,health\na.wav,120,A minor,healthy\nb.wav,120,E major,healthy\n")
    clips = read_truth_csv(tmp_path / "t.csv")
    judged: list[str] = []
    real = sc.score_clip
    monkeypatch.setattr(sc, "score_clip", lambda clip, th=None: judged.append(clip.id) or real(clip, th))
    progress = tmp_path / "card.json.clips.jsonl"
    first = sc.scorecard(clips, progress=progress)
    assert judged == ["a.wav", "b.wav"] and len(progress.read_text().splitlines()) == 2
    again = sc.scorecard(clips, progress=progress)
    assert judged == ["a.wav", "b.wav"]  # nothing judged twice
    assert again.model_dump() == first.model_dump()
    # a kill mid-write leaves a torn line: skipped, and the clip it held judged again
    lines = progress.read_text().splitlines()
    progress.write_text(lines[0] + "\n" + lines[1][: len(lines[1]) // 2])
    sc.scorecard(clips, progress=progress)
    assert judged == ["a.wav", "b.wav", "b.wav"]
    sc.scorecard(clips, progress=progress)  # the result judged after the torn line was stored whole
    assert judged == ["a.wav", "b.wav", "b.wav"]
    # a changed label, a changed file: only that clip is judged again
    relabelled = [clips[0], clips[1].model_copy(update={"key": "C# minor"})]
    sc.scorecard(relabelled, progress=progress)
    tone(a, 247.0)
    sc.scorecard(relabelled, progress=progress)
    assert judged == ["a.wav", "b.wav", "b.wav", "b.wav", "a.wav"]
    # a renamed clip is the same judgement, reported under its new name
    renamed = sc.scorecard([clips[0].model_copy(update={"id": "kick", "split": "mine"})], progress=progress)
    assert [(c.id, c.split) for c in renamed.clips] == [("kick", "mine")]
    assert judged == ["a.wav", "b.wav", "b.wav", "b.wav", "a.wav"]  # nothing judged for it


def test_an_unjudged_clip_is_not_stored_and_is_tried_again(tmp_path: Path) -> None:
    import acekit.calibration.scorecard as sc

    (tmp_path / "broken.wav").write_bytes(b"not audio")
    (tmp_path / "t.csv").write_text("file,key\nbroken.wav,C major\n")
    progress = tmp_path / "p.jsonl"
    card = sc.scorecard(read_truth_csv(tmp_path / "t.csv"), progress=progress)
    assert card.failed and card.failed[0].error
    assert not progress.exists() or progress.read_text() == ""


def test_scorecard_cli_out_writes_the_card_and_a_rerun_judges_only_new_clips(tmp_path: Path) -> None:
    tone(tmp_path / "a.wav", 220.0)
    tone(tmp_path / "b.wav", 330.0)
    (tmp_path / "t.csv").write_text("file,key\na.wav,A major\n")
    out = tmp_path / "card.json"
    assert run(tmp_path / "t.csv", "-o", out).exit_code == 0
    assert len(json.loads(out.read_text())["clips"]) == 1
    store = tmp_path / "card.json.clips.jsonl"
    assert len(store.read_text().splitlines()) == 1
    (tmp_path / "t.csv").write_text("file,key\na.wav,A major\nb.wav,E major\n")
    assert run(tmp_path / "t.csv", "-o", out).exit_code == 0
    assert len(json.loads(out.read_text())["clips"]) == 2 and len(store.read_text().splitlines()) == 2
    assert not list(tmp_path.glob(".card.json*.tmp"))


def test_a_region_at_the_clip_start_labels_the_edge_it_has(tmp_path: Path) -> None:
    """The analyser has no edge at 0 s: the end edge keeps its own label, the start edge is counted unjudged."""
    import numpy as np
    import soundfile as sf

    import acekit.calibration.scorecard as sc

    src = tone(tmp_path / "src.wav", 220.0)
    y, sr = sf.read(src)
    y[: int(2.0 * sr)] = 0.8 * np.sin(2 * np.pi * 523.0 * np.arange(int(2.0 * sr)) / sr)[:, None]  # a hard cut at 2 s
    sf.write(tmp_path / "rep.wav", y.astype("float32"), sr)
    (tmp_path / "t.csv").write_text("file,source,region,preserved,artifact_start,artifact_end\n"
                                    "rep.wav,src.wav,0:2,true,false,true\n")
    card = sc.scorecard(read_truth_csv(tmp_path / "t.csv"))
    (c,) = card.clips
    assert [(e.time_s, e.artifact) for e in c.edges] == [(2.0, True)] and c.edges_unjudged == 1
    assert c.edges[0].flagged  # a hard cut from a loud C5 into the tone
    notes = {f.name: f.note for f in card.figures["all"]}
    assert "1 labelled edges at a clip's start or end not judged" in notes["boundary_precision"]
    # edges the analyser reports rounded (to 0.1 ms) are still paired with their labels
    (tmp_path / "t.csv").write_text("file,source,region,artifact_start,artifact_end\n"
                                    "rep.wav,src.wav,1.23456:2.89545,false,true\n")
    (c,) = sc.scorecard(read_truth_csv(tmp_path / "t.csv")).clips
    assert [e.artifact for e in c.edges] == [False, True] and c.edges_unjudged == 0


def test_a_clip_too_short_for_a_key_is_counted_apart_not_as_a_wrong_key(tmp_path: Path) -> None:
    import acekit.calibration.scorecard as sc

    tone(tmp_path / "blip.wav", 440.0, seconds=0.3)
    tone(tmp_path / "long.wav", 440.0, seconds=6.0)
    (tmp_path / "t.csv").write_text("file,key\nblip.wav,A major\nlong.wav,A major\n")
    card = sc.scorecard(read_truth_csv(tmp_path / "t.csv"))
    blip = next(c for c in card.clips if c.id == "blip.wav")
    assert blip.key_unread and blip.key_mirex is None
    key = next(f for f in card.figures["all"] if f.name == "key_mirex")
    assert key.n == 1 and "1 clips with no key to read" in key.note
