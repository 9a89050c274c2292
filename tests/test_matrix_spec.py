"""The matrix spec: the built-in default, overrides, case ids, and error messages that say what to write."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from acekit.matrix.spec import SpecError, expand_cases, load_spec, parse_spec, source_case_for


def test_default_spec_grid_and_arms() -> None:
    spec, text = load_spec(None)
    assert "bpm = [90, 120, 140]" in text
    cases = expand_cases(spec)
    counts = Counter((c.task.value, c.arm) for c in cases)
    # 3 bpm x 2 keys per grid task; lego has 3 tracks; sources are the text2music grid cases themselves.
    assert counts[("text2music", "grid")] == 6
    assert counts[("repaint", "grid")] == 6
    assert counts[("cover", "grid")] == 6
    assert counts[("lego", "grid")] == 18
    assert counts[("text2music", "thinking")] == 1
    assert counts[("text2music", "lm-fills-metas")] == 1
    # stems arm: 120 bpm x 2 keys x (drums, bass) for extract and for complete; sources reuse the grid's.
    assert counts[("extract", "stems")] == 4
    assert counts[("complete", "stems")] == 4
    assert {c.model for c in cases if c.arm == "stems"} == {"acestep-v15-base"}
    # lm-cot arm: lego and complete, CoT off and on, metas omitted but kept as the source's truth
    cot = [c for c in cases if c.arm == "lm-cot"]
    assert Counter((c.task.value, c.lm_cot) for c in cot) == {
        ("lego", False): 1, ("lego", True): 1, ("complete", False): 1, ("complete", True): 1}
    assert all((c.bpm, c.key, c.time_signature, c.duration_s) == (90, "A minor", "4", 20.0) for c in cot)
    assert all(set(c.omit) == {"bpm", "key", "time_signature", "duration"} for c in cot)
    assert len(cases) == 50
    assert {c.bpm for c in cases if c.arm == "grid"} == {90, 120, 140}
    assert {c.key for c in cases if c.arm == "grid"} == {"C major", "A minor"}
    repaint = next(c for c in cases if c.task.value == "repaint")
    assert repaint.repaint_length_s == 8.0
    lego = [c for c in cases if c.task.value == "lego"]
    assert {c.track for c in lego} == {"bass", "guitar", "vocals"}
    thinking = next(c for c in cases if c.arm == "thinking")
    assert thinking.thinking and thinking.lm_model_path == "acestep-5Hz-lm-0.6B"
    lm = next(c for c in cases if c.arm == "lm-fills-metas")
    assert lm.bpm is None and lm.key is None and lm.thinking and lm.lm_cot


def test_case_ids_are_stable_unique_and_sources_come_first() -> None:
    spec, _ = load_spec(None)
    a, b = expand_cases(spec), expand_cases(load_spec(None)[0])
    assert [c.id for c in a] == [c.id for c in b]
    assert len({c.id for c in a}) == len(a)
    ids = [c.id for c in a]
    for c in a:
        if c.source:
            src_id = c.source.split(":", 1)[1]
            assert src_id in ids and ids.index(src_id) < ids.index(c.id)
            src = source_case_for(c, spec)
            assert (src.bpm, src.key, src.task.value) == (c.bpm, c.key, "text2music")


def test_overrides_scalars_and_arms() -> None:
    spec = parse_spec(
        """
        name = "small"
        [grid]
        bpm = 100
        keys = "Am"
        durations_s = [10, 30]
        steps = [4, 8]
        [tasks.cover]
        cover_strengths = [0.2, 0.5, 0.8]
        [tasks.repaint]
        repaint_starts_s = 2
        repaint_lengths_s = [4, 6]
        repaint_wav_crossfade_s = [0.0, 0.1]
        """
    )
    cases = expand_cases(spec)
    cover = [c for c in cases if c.task.value == "cover"]
    assert len(cover) == 2 * 2 * 3 and {c.key for c in cover} == {"A minor"}
    repaint = [c for c in cases if c.task.value == "repaint"]
    assert len(repaint) == 2 * 2 * 2 * 2
    assert {c.repaint_length_s for c in repaint} == {4.0, 6.0}
    # edit tasks need sources: generated text2music cases were added for them
    assert {c.task.value for c in cases} == {"cover", "repaint", "text2music"}


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        ('[grid]\nbpms = [120]\n[tasks.text2music]', "unknown axis 'bpms' in [grid]. Did you mean 'bpm'?"),
        ('[tasks.text2music]\nkeys = ["H major"]', "cannot read key 'H major'"),
        ('[tasks.repaintt]', "Did you mean [tasks.repaint]?"),
        ('[tasks.text2music]\nbpm = [500]', "bpm 500 is outside 30..300"),
        ('[tasks.lego]\ntracks = ["kazoo"]', "unknown track 'kazoo'"),
        ('[tasks.text2music]\ntime_signatures = ["5"]', "time signature '5' unknown"),
        ('[tasks.repaint]\ndurations_s = [10]\nrepaint_starts_s = [6]\nrepaint_lengths_s = [8]',
         "ends past the 10 s clip"),
        ('name = "x"', "no tasks: add e.g. [tasks.text2music]"),
        ('[tasks.text2music', "not valid TOML"),
    ],
)
def test_spec_errors_say_what_to_write(toml: str, expected: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(toml)
    assert expected in str(err.value)


def test_user_source_file_replaces_generated_sources(tmp_path: Path) -> None:
    clip = tmp_path / "loop.wav"
    clip.write_bytes(b"RIFF0000WAVE")
    spec_path = tmp_path / "s.toml"
    spec_path.write_text('[source]\nfile = "loop.wav"\n[tasks.cover]\n[tasks.lego]\ntracks = ["bass"]\n')
    spec, _ = load_spec(spec_path)
    cases = expand_cases(spec)
    assert {c.task.value for c in cases} == {"cover", "lego"}  # no generated sources
    assert all(c.source and c.source.startswith("file:") for c in cases)
    assert spec.source_file() == clip
    missing = tmp_path / "m.toml"
    missing.write_text('[source]\nfile = "nope.wav"\n[tasks.cover]\n')
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(missing)


def test_xl_models_repaint_modes_and_model_typos() -> None:
    from acekit.matrix.runner import build_request

    spec = parse_spec(
        """
        [grid]
        models = ["acestep-v15-xl-turbo", "acestep-v15-xl-base", "my-own-finetune"]
        [tasks.repaint]
        repaint_modes = ["conservative", "aggressive"]
        repaint_strengths = [0.2]
        """
    )
    cases = [c for c in expand_cases(spec) if c.task.value == "repaint"]
    assert {(c.model, c.repaint_mode) for c in cases} >= {("acestep-v15-xl-base", "aggressive"),
                                                           ("acestep-v15-xl-turbo", "conservative")}
    sent = build_request(cases[0]).to_api_fields()
    assert sent["repaint_mode"] in ("conservative", "aggressive") and sent["repaint_strength"] == 0.2
    with pytest.raises(SpecError, match="did you mean 'acestep-v15-xl-turbo'"):
        parse_spec('[grid]\nmodels = ["acestep-v15-xl-turb"]\n[tasks.text2music]\n')
    with pytest.raises(SpecError, match="repaint_modes"):
        parse_spec('[tasks.repaint]\nrepaint_modes = ["gentle"]\n')
