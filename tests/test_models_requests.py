"""Request models: ranges, key and meter spellings, task-specific fields, and the fields sent upstream."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from acekit import contract
from acekit.contract import TaskType
from acekit.models import (
    CompleteRequest,
    CoverRequest,
    ExtractRequest,
    LegoRequest,
    RepaintRequest,
    Text2MusicRequest,
    make_request,
    parse_time_signature,
)


def _error_text(exc: pytest.ExceptionInfo[ValidationError]) -> str:
    return str(exc.value)


@pytest.mark.parametrize("bpm", [contract.BPM_MIN, 120, contract.BPM_MAX])
def test_bpm_in_range_is_kept(bpm: int) -> None:
    assert Text2MusicRequest(bpm=bpm).to_api_fields()["bpm"] == bpm


@pytest.mark.parametrize("bpm", [contract.BPM_MIN - 1, contract.BPM_MAX + 1, 0])
def test_bpm_out_of_range_says_the_range(bpm: int) -> None:
    with pytest.raises(ValidationError) as exc:
        Text2MusicRequest(bpm=bpm)
    assert f"between {contract.BPM_MIN} and {contract.BPM_MAX}" in _error_text(exc)
    assert "bpm" in _error_text(exc)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("A minor", "A minor"), ("Am", "A minor"), ("a:min", "A minor"), ("F#m", "F# minor"),
        ("Gb major", "Gb major"), ("C", "C major"), ("Bbmin", "Bb minor"), ("E♭ major", "Eb major"),
        ("c# minor", "C# minor"), ("A-minor", "A minor"), ("Amaj", "A major"),
    ],
)
def test_key_any_spelling_is_canonicalised(spelling: str, canonical: str) -> None:
    req = Text2MusicRequest(key_scale=spelling)
    assert req.key_scale == canonical
    assert req.to_api_fields()["key_scale"] == canonical


def test_bad_key_says_what_is_accepted() -> None:
    with pytest.raises(ValidationError) as exc:
        Text2MusicRequest(key_scale="H dorian")
    assert "A minor" in _error_text(exc)


@pytest.mark.parametrize(
    ("given", "sent"),
    [("4/4", "4"), ("3/4", "3"), ("6/8", "6"), ("2/4", "2"), ("4", "4"), (3, "3"), (" 6 / 8 ", "6")],
)
def test_time_signature_spellings(given: str | int, sent: str) -> None:
    assert Text2MusicRequest(time_signature=given).to_api_fields()["time_signature"] == sent
    assert parse_time_signature(given) == sent


@pytest.mark.parametrize("bad", ["5/4", "7", "12/8", "4/8"])
def test_time_signature_rejected_lists_allowed(bad: str) -> None:
    with pytest.raises(ValidationError) as exc:
        Text2MusicRequest(time_signature=bad)
    text = _error_text(exc)
    assert "6/8" in text and "4/4" in text


@pytest.mark.parametrize(("value", "ok"), [(9.9, False), (10, True), (600, True), (600.5, False)])
def test_duration_range(value: float, ok: bool) -> None:
    if ok:
        assert Text2MusicRequest(duration_s=value).to_api_fields()["audio_duration"] == value
    else:
        with pytest.raises(ValidationError) as exc:
            Text2MusicRequest(duration_s=value)
        assert "between 10 and 600 s" in _error_text(exc)


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (8, True), (9, False)])
def test_batch_size_range(value: int, ok: bool) -> None:
    if ok:
        assert Text2MusicRequest(batch_size=value).batch_size == value
    else:
        with pytest.raises(ValidationError, match="between 1 and 8"):
            Text2MusicRequest(batch_size=value)


def test_seed_turns_random_seed_off() -> None:
    fields = Text2MusicRequest(seed=42).to_api_fields()
    assert fields["seed"] == 42 and fields["use_random_seed"] is False
    no_seed = Text2MusicRequest().to_api_fields()
    assert "seed" not in no_seed and "use_random_seed" not in no_seed
    # -1 is upstream's "random": nothing to pin.
    assert "use_random_seed" not in Text2MusicRequest(seed=-1).to_api_fields()
    with pytest.raises(ValidationError, match="-1 for a random seed"):
        Text2MusicRequest(seed=-5)


def test_none_is_omitted_and_names_are_upstreams() -> None:
    fields = Text2MusicRequest(prompt="lofi", duration_s=20, audio_format="WAV", thinking=False).to_api_fields()
    assert fields == {
        "task_type": "text2music", "prompt": "lofi", "lyrics": "", "audio_duration": 20.0,
        "audio_format": "wav", "thinking": False,
        "use_cot_caption": False, "use_cot_language": False, "use_cot_metas": False,
    }


@pytest.mark.parametrize("task,extra", [
    ("text2music", {}), ("repaint", {}), ("cover", {}), ("lego", {"track": "bass"}), ("extract", {"track": "drums"}),
    ("complete", {"tracks": ["drums"]}),
])
def test_every_request_sets_the_lm_switches_explicitly(task: str, extra: dict) -> None:
    # Upstream's defaults are use_cot_caption=true and use_cot_language=true (the LM rewrites the caption):
    # acekit never leaves them to the server (issue 7 part 1).
    default = make_request(task, prompt="my caption", **extra).to_api_fields()
    assert {k: default[k] for k in ("thinking", "use_cot_caption", "use_cot_language", "use_cot_metas")} == {
        "thinking": False, "use_cot_caption": False, "use_cot_language": False, "use_cot_metas": False}
    assert default["prompt"] == "my caption"
    fill = make_request(task, lm_fill=True, **extra).to_api_fields()
    assert (fill["use_cot_metas"], fill["use_cot_language"], fill["use_cot_caption"], fill["thinking"]) == (
        True, True, False, False)
    codes = make_request(task, thinking=True, lm_rewrite_caption=True, **extra).to_api_fields()
    assert (codes["thinking"], codes["use_cot_caption"], codes["use_cot_metas"]) == (True, True, False)
    for flag in ("lm_fill", "lm_rewrite_caption", "measured"):
        assert flag not in fill  # acekit's own fields are never sent
    # --extra can still override a switch on purpose
    assert make_request(task, extra={"use_cot_caption": True}, **extra).to_api_fields()["use_cot_caption"] is True


def test_meta_sources_say_user_or_server() -> None:
    req = make_request("lego", track="bass", bpm=84, key_scale="Am")
    sources = req.meta_sources()
    assert (sources["bpm"].source, sources["bpm"].value) == ("user", 84)
    assert (sources["key_scale"].source, sources["key_scale"].value) == ("user", "A minor")
    assert sources["time_signature"].source == "server" and "LM" in sources["time_signature"].note
    assert "off" in req.lm_mode() and "on" in make_request("lego", track="bass", lm_fill=True).lm_mode()


def test_upstream_aliases_are_accepted_on_input() -> None:
    req = Text2MusicRequest(caption="c", audio_duration=30, keyscale="Am", timesignature="3/4")
    assert (req.prompt, req.duration_s, req.key_scale, req.time_signature) == ("c", 30.0, "A minor", "3")


def test_unknown_field_is_refused_and_extra_is_the_escape_hatch() -> None:
    with pytest.raises(ValidationError):
        Text2MusicRequest(lm_temperature=0.7)  # type: ignore[call-arg]
    fields = Text2MusicRequest(bpm=100, extra={"lm_temperature": 0.7, "bpm": 101}).to_api_fields()
    assert fields["lm_temperature"] == 0.7
    assert fields["bpm"] == 101  # extra is merged last, on purpose


@pytest.mark.parametrize(("field", "bad"), [("audio_format", "ogg"), ("infer_method", "euler"), ("inference_steps", 0)])
def test_enumerated_fields(field: str, bad: object) -> None:
    with pytest.raises(ValidationError):
        Text2MusicRequest(**{field: bad})


def test_repaint_region() -> None:
    fields = RepaintRequest(repainting_start=2, repainting_end=6.5).to_api_fields()
    assert (fields["task_type"], fields["repainting_start"], fields["repainting_end"]) == ("repaint", 2.0, 6.5)
    assert RepaintRequest(repainting_start=5).to_api_fields()["repainting_end"] == -1.0
    for start, end in [(5, 5), (6, 2)]:
        with pytest.raises(ValidationError) as exc:
            RepaintRequest(repainting_start=start, repainting_end=end)
        assert "must be before repainting_end" in _error_text(exc)
    with pytest.raises(ValidationError, match=">= 0"):
        RepaintRequest(repainting_start=-1)
    with pytest.raises(ValidationError):
        RepaintRequest(repainting_end=-3)


def test_repaint_knobs_are_optional_and_checked() -> None:
    assert "repaint_mode" not in RepaintRequest().to_api_fields()
    fields = RepaintRequest(repaint_mode="conservative", repaint_wav_crossfade_sec=0.25,
                            repaint_latent_crossfade_frames=4, repaint_strength=0.3).to_api_fields()
    assert fields["repaint_mode"] == "conservative" and fields["repaint_wav_crossfade_sec"] == 0.25
    assert fields["repaint_latent_crossfade_frames"] == 4 and fields["repaint_strength"] == 0.3
    with pytest.raises(ValidationError, match="between 0 and 1"):
        RepaintRequest(repaint_strength=1.5)
    with pytest.raises(ValidationError, match=">= 0"):
        RepaintRequest(repaint_wav_crossfade_sec=-0.1)


@pytest.mark.parametrize(("value", "ok"), [(0.0, True), (0.25, True), (1.0, True), (1.01, False), (-0.1, False)])
def test_cover_strength(value: float, ok: bool) -> None:
    if ok:
        assert CoverRequest(audio_cover_strength=value).to_api_fields()["audio_cover_strength"] == value
    else:
        with pytest.raises(ValidationError, match="between 0 and 1"):
            CoverRequest(audio_cover_strength=value)


@pytest.mark.parametrize(("cls", "task"), [(LegoRequest, TaskType.lego), (ExtractRequest, TaskType.extract)])
def test_track_tasks_build_instruction(cls: type, task: TaskType) -> None:
    fields = cls(track="Backing Vocals").to_api_fields()
    assert fields["task_type"] == task.value
    assert fields["track_name"] == "backing_vocals"
    assert fields["instruction"] == contract.instruction_for(task, ["backing_vocals"])
    assert "BACKING_VOCALS" in fields["instruction"]
    # An explicit instruction wins.
    assert cls(track="bass", instruction="custom").to_api_fields()["instruction"] == "custom"
    with pytest.raises(ValidationError) as exc:
        cls(track="kazoo")
    assert "woodwinds" in _error_text(exc)


def test_complete_tracks() -> None:
    fields = CompleteRequest(tracks=["drums", "bass"]).to_api_fields()
    assert fields["instruction"] == "Complete the input track with DRUMS | BASS:"
    assert fields["track_classes"] == ["drums", "bass"]
    assert CompleteRequest(tracks="drums, bass").tracks == ["drums", "bass"]
    with pytest.raises(ValidationError):
        CompleteRequest(tracks=[])


def test_make_request_and_needs_source() -> None:
    req = make_request("lego", track="bass", bpm=120)
    assert isinstance(req, LegoRequest) and req.needs_source
    assert not make_request(TaskType.text2music).needs_source
    with pytest.raises(ValueError, match="choose from"):
        make_request("remix")


def test_assignment_is_validated() -> None:
    req = Text2MusicRequest()
    req.key_scale = "Dm"
    assert req.key_scale == "D minor"
    with pytest.raises(ValidationError):
        req.bpm = 1000
