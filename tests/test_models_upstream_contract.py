"""Request/result models against the newest upstream contract (constants.py, release_task_models.py)."""

from __future__ import annotations

import pytest

from acekit import contract
from acekit.models import ModelList, RepaintRequest, Text2MusicRequest, parse_task_result


@pytest.mark.parametrize("fmt", ["mp3", "wav", "flac", "opus", "aac", "wav32"])
def test_every_upstream_audio_format_is_accepted(fmt: str) -> None:
    assert Text2MusicRequest(audio_format=fmt.upper()).to_api_fields()["audio_format"] == fmt


def test_unknown_audio_format_says_what_is_allowed() -> None:
    with pytest.raises(ValueError, match="opus, aac, wav32"):
        Text2MusicRequest(audio_format="ogg")


def test_inventory_claims_including_cover_nofsq() -> None:
    inv = ModelList.model_validate({"models": [
        {"name": "acestep-v15-turbo", "supported_task_types": list(contract.UPSTREAM_TASK_TYPES_TURBO)},
        {"name": "acestep-v15-base", "supported_task_types": list(contract.UPSTREAM_TASK_TYPES_BASE)},
    ]})
    turbo, base = inv.models
    assert turbo.supports(contract.COVER_NOFSQ) and turbo.supports("cover") and not turbo.supports("lego")
    assert base.supports("lego") and base.supports("extract") and base.supports("complete")
    assert turbo.supports("no-such-task") is False


def test_repaint_knobs_are_sent_under_upstream_names() -> None:
    fields = RepaintRequest(repainting_start=2.0, repainting_end=6.0, repaint_mode="balanced", repaint_strength=0.3,
                            repaint_latent_crossfade_frames=10, repaint_wav_crossfade_sec=0.05).to_api_fields()
    assert {k: fields[k] for k in ("repainting_start", "repainting_end", "repaint_mode", "repaint_strength",
                                   "repaint_latent_crossfade_frames", "repaint_wav_crossfade_sec")} == {
        "repainting_start": 2.0, "repainting_end": 6.0, "repaint_mode": "balanced", "repaint_strength": 0.3,
        "repaint_latent_crossfade_frames": 10, "repaint_wav_crossfade_sec": 0.05}
    with pytest.raises(ValueError, match="repaint_strength"):
        RepaintRequest(repaint_strength=1.5)


def test_timed_out_task_gets_a_reason_not_another_jobs_log_line() -> None:
    # query_result_service: a cached status-0 item older than the task timeout is answered with status 2,
    # the item left as it was (no error) and progress_text from the global log.
    entry = {"task_id": "t", "status": 2, "progress_text": "job OTHER: step 3/8",
             "result": '[{"file": "", "status": 0, "create_time": 1, "progress": 0.4, "stage": "diffusion"}]'}
    result = parse_task_result(entry)
    assert result.error is not None and "task timeout" in result.error and "diffusion" in result.error
    assert "OTHER" not in result.error
    failed = parse_task_result({"task_id": "t", "status": 2, "progress_text": "x",
                                "result": '[{"file": "", "status": 2, "stage": "failed", "error": "CUDA OOM"}]'})
    assert failed.error == "CUDA OOM"
