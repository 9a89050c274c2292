"""The reference backend against the newest upstream contract (ace-step/ACE-Step-1.5, acestep/api/*).

Each test names the upstream behaviour it pins: param parsing (release_task_param_parser.py /
release_task_request_builder.py), result shapes (jobs/local_cache_updates.py, query_result_service.py),
lm_model reporting (job_blocking_generation.py), task and format lists (constants.py, release_task_models.py).
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
import soundfile as sf

from acekit.contract import TaskType
from acekit.reference.jobs import Job, query_item
from acekit.reference.params import parse_task_request
from acekit.reference.settings import DEFAULT_LM_MODEL

BASE = {"prompt": "contract", "bpm": 120, "key_scale": "A minor", "audio_duration": 10, "audio_format": "wav",
        "batch_size": 1, "use_random_seed": False, "seed": 11}


def _wait(url: str, task_id: str, timeout_s: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entry = httpx.post(f"{url}/query_result", json={"task_id_list": [task_id]}, timeout=30).json()["data"][0]
        if entry["status"] != 0:
            return entry
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} still running after {timeout_s} s")


def _run(url: str, body: dict, files: dict | None = None) -> dict:
    if files:
        r = httpx.post(f"{url}/release_task", data={k: str(v) for k, v in body.items()}, files=files, timeout=30)
    else:
        r = httpx.post(f"{url}/release_task", json=body, timeout=30)
    assert r.status_code == 200, r.text
    done = _wait(url, r.json()["data"]["task_id"])
    assert done["status"] == 1, done
    return json.loads(done["result"])[0]


def _wav(seconds: float = 10.0) -> bytes:
    t = np.arange(int(48000 * seconds)) / 48000
    tone = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    buf = io.BytesIO()
    sf.write(buf, np.stack([tone, tone], axis=1), 48000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_lm_model_is_the_servers_lm_even_without_thinking(reference_server: str) -> None:
    # Upstream fills lm_model from ACESTEP_LM_MODEL_PATH for every result, LM used or not.
    item = _run(reference_server, {**BASE, "thinking": False})
    assert item["lm_model"] == DEFAULT_LM_MODEL
    assert item["dit_model"] == "acestep-v15-turbo"


def test_cover_nofsq_is_accepted_and_reported(reference_server: str) -> None:
    item = _run(reference_server, {"task_type": "cover-nofsq", "bpm": 120, "audio_format": "wav", "batch_size": 1},
                files={"src_audio": ("src.wav", _wav(), "audio/wav")})
    assert "task_type: cover-nofsq" in item["generation_info"]
    assert parse_task_request({"task_type": "cover-nofsq"}).task_type is TaskType.cover


def test_ctx_audio_wins_over_src_audio_like_upstream(reference_server: str) -> None:
    # Upstream reads form.get("ctx_audio") or form.get("src_audio"): a 12 s ctx beats a 10 s src.
    item = _run(reference_server, {"task_type": "cover", "bpm": 120, "audio_format": "wav", "batch_size": 1},
                files=[("src_audio", ("a.wav", _wav(10.0), "audio/wav")),
                       ("ctx_audio", ("b.wav", _wav(12.0), "audio/wav"))])
    path = parse_qs(urlparse(item["file"]).query)["path"][0]
    assert abs(sf.info(path).duration - 12.0) < 0.01


def test_audio_formats_of_newer_upstream(reference_server: str) -> None:
    wav32 = _run(reference_server, {**BASE, "audio_format": "wav32"})
    r = httpx.get(reference_server + wav32["file"])
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(r.content)).subtype == "FLOAT"

    opus = _run(reference_server, {**BASE, "audio_format": "opus"})
    assert parse_qs(urlparse(opus["file"]).query)["path"][0].endswith(".opus")
    r = httpx.get(reference_server + opus["file"])
    assert r.status_code == 200 and sf.info(io.BytesIO(r.content)).subtype == "OPUS"

    aac = _run(reference_server, {**BASE, "audio_format": "aac"})  # no AAC encoder here: wav, and it says so
    assert "audio_format: aac not writable here, wrote wav" in aac["generation_info"]


def test_params_parse_like_upstream() -> None:
    # _to_int: an int or an int-looking string; a float is dropped (the server then chooses), not rounded.
    assert parse_task_request({"bpm": 120.5}).bpm is None
    assert parse_task_request({"bpm": "120.0"}).bpm is None
    assert parse_task_request({"bpm": " 96 "}).bpm == 96
    assert parse_task_request({"inference_steps": 12.0}).inference_steps == 8  # falls back to the default
    # repainting_end: upstream passes `repainting_end or -1`, so 0 means "to the end" too.
    assert parse_task_request({"task_type": "repaint", "repainting_end": 0}).repainting_end is None
    assert parse_task_request({"task_type": "repaint", "repainting_end": -1}).repainting_end is None
    # No camelCase alias upstream for these: the spelling is ignored, the default stays.
    assert parse_task_request({"repaintingStart": 3}).repainting_start == 0.0
    assert parse_task_request({"audioFormat": "flac"}).audio_format == "mp3"
    assert parse_task_request({"repaintWavCrossfadeSec": 0.5}).repaint_wav_crossfade_sec == 0.0
    # Newer repaint knobs with upstream's defaults and bounds.
    req = parse_task_request({"task_type": "repaint"})
    assert (req.repaint_mode, req.repaint_strength, req.repaint_latent_crossfade_frames,
            req.repaint_wav_crossfade_sec) == ("balanced", 0.5, 10, 0.0)
    req = parse_task_request({"repaint_mode": "aggressive", "repaint_strength": "0.8"})
    assert (req.repaint_mode, req.repaint_strength) == ("aggressive", 0.8)


def test_query_item_shapes_follow_upstreams_store_and_cache() -> None:
    job = Job(task_id="t1", request=parse_task_request({"prompt": "p"}))
    queued = json.loads(query_item("t1", job)["result"])[0]  # from the store: not started yet
    assert set(queued) == {"file", "wave", "status", "create_time", "env", "prompt", "lyrics", "metas",
                           "progress", "stage", "error"}
    assert queued["prompt"] == "" and queued["stage"] == "queued" and isinstance(queued["create_time"], int)

    job.status, job.stage, job.progress = "running", "diffusion step 2/8", 0.25
    entry = query_item("t1", job)
    running = json.loads(entry["result"])[0]  # from the progress cache
    assert set(running) == {"file", "wave", "status", "create_time", "env", "progress", "stage"}
    assert entry["status"] == 0 and running["progress"] == 0.25

    job.status, job.error = "failed", "boom"
    entry = query_item("t1", job)
    failed = json.loads(entry["result"])[0]
    assert entry["status"] == 2 and failed["status"] == 2
    assert (failed["stage"], failed["error"], failed["progress"]) == ("failed", "boom", 0.0)


def test_audio_route_confines_the_new_suffixes_too(reference_server: str, tmp_path: Path) -> None:
    # /v1/audio confinement holds for the new suffixes too.
    outside = tmp_path / "x.opus"
    outside.write_bytes(b"OggS")
    assert httpx.get(f"{reference_server}/v1/audio", params={"path": str(outside)}).status_code == 403
