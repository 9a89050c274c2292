"""The reference backend over real HTTP: upstream's envelope, statuses, queue, auth and file serving."""

from __future__ import annotations

import io
import json
import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
import pytest
import soundfile as sf

ENVELOPE_KEYS = {"data", "code", "error", "timestamp", "extra"}


def submit(url: str, body: dict | None = None, *, files: dict | None = None, headers: dict | None = None) -> httpx.Response:
    if files is not None:
        return httpx.post(f"{url}/release_task", data={k: str(v) for k, v in (body or {}).items()}, files=files,
                          headers=headers, timeout=30)
    return httpx.post(f"{url}/release_task", json=body or {}, headers=headers, timeout=30)


def query(url: str, task_id: str, headers: dict | None = None) -> dict:
    r = httpx.post(f"{url}/query_result", json={"task_id_list": [task_id]}, headers=headers, timeout=30)
    r.raise_for_status()
    return r.json()["data"][0]


def wait(url: str, task_id: str, *, timeout_s: float = 60.0, headers: dict | None = None) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        item = query(url, task_id, headers)
        if item["status"] != 0:
            return item
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} still running after {timeout_s} s")


def fetch_audio(url: str, item: dict) -> tuple[np.ndarray, int]:
    r = httpx.get(url + item["file"], timeout=30)
    r.raise_for_status()
    return sf.read(io.BytesIO(r.content), dtype="int16", always_2d=True)


def file_path(item: dict) -> str:
    return parse_qs(urlparse(item["file"]).query)["path"][0]


BASE = {"prompt": "test groove", "bpm": 120, "key_scale": "A minor", "audio_duration": 10, "audio_format": "wav",
        "batch_size": 1, "use_random_seed": False, "seed": 7}


def test_health_models_and_stats_are_labelled_reference(reference_server: str) -> None:
    health = httpx.get(f"{reference_server}/health").json()
    assert set(health) == ENVELOPE_KEYS and health["code"] == 200 and health["error"] is None
    assert abs(health["timestamp"] - time.time() * 1000) < 60_000
    assert health["data"]["status"] == "ok"
    assert "not ACE-Step" in health["data"]["service"]
    assert health["data"]["engine"] == "acekit-reference"

    for route in ("/v1/models", "/v1/model_inventory"):
        inv = httpx.get(reference_server + route).json()["data"]
        names = {m["name"]: m for m in inv["models"]}
        assert inv["default_model"] == "acestep-v15-turbo" and names["acestep-v15-turbo"]["is_default"]
        # Newest upstream (acestep/constants.py TASK_TYPES_TURBO / TASK_TYPES_BASE), in its order.
        assert names["acestep-v15-turbo"]["supported_task_types"] == ["text2music", "repaint", "cover", "cover-nofsq"]
        assert names["acestep-v15-base"]["supported_task_types"] == [
            "text2music", "repaint", "cover", "cover-nofsq", "extract", "lego", "complete"]

    stats = httpx.get(f"{reference_server}/v1/stats").json()["data"]
    assert set(stats["jobs"]) == {"total", "queued", "running", "succeeded", "failed"}
    assert stats["queue_maxsize"] == 200 and isinstance(stats["avg_job_seconds"], float)


def test_text2music_roundtrip_shapes_like_upstream(reference_server: str) -> None:
    r = submit(reference_server, {**BASE, "batch_size": 2, "keyScale": "F#m", "key_scale": None, "duration": 12,
                                  "audio_duration": None, "caption": "camel case", "prompt": None})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["status"] == "queued" and isinstance(data["queue_position"], int)
    done = wait(reference_server, data["task_id"])
    assert done["status"] == 1 and done["task_id"] == data["task_id"]
    assert isinstance(done["result"], str)  # a JSON string, as upstream
    items = json.loads(done["result"])
    assert len(items) == 2
    for item in items:
        assert item["file"].startswith("/v1/audio?path=")
        assert item["status"] == 1 and item["env"] == "development" and item["wave"] == ""
        assert item["prompt"] == "camel case"
        assert item["metas"]["keyscale"] == "F# minor" and item["metas"]["bpm"] == 120
        assert item["metas"]["timesignature"] == "4" and item["metas"]["engine"] == "acekit-reference"
        assert item["seed_value"] == "7,8" and item["dit_model"] == "acestep-v15-turbo"
        assert "acekit-reference" in item["generation_info"]
        audio, sr = fetch_audio(reference_server, item)
        assert sr == 48000 and audio.shape == (12 * 48000, 2)
    assert items[0]["file"] != items[1]["file"]


def test_same_seed_same_samples_random_seed_reported(reference_server: str) -> None:
    a = wait(reference_server, submit(reference_server, BASE).json()["data"]["task_id"])
    b = wait(reference_server, submit(reference_server, BASE).json()["data"]["task_id"])
    xa, _ = fetch_audio(reference_server, json.loads(a["result"])[0])
    xb, _ = fetch_audio(reference_server, json.loads(b["result"])[0])
    assert np.array_equal(xa, xb)
    rnd = wait(reference_server, submit(reference_server, {**BASE, "use_random_seed": True}).json()["data"]["task_id"])
    seed = json.loads(rnd["result"])[0]["seed_value"]
    assert seed.isdigit()
    again = wait(reference_server, submit(reference_server, {**BASE, "seed": int(seed)}).json()["data"]["task_id"])
    xr, _ = fetch_audio(reference_server, json.loads(rnd["result"])[0])
    xs, _ = fetch_audio(reference_server, json.loads(again["result"])[0])
    assert np.array_equal(xr, xs)  # the reported seed reproduces the random render


def test_missing_metas_are_chosen_and_reported(reference_server: str) -> None:
    body = {"prompt": "anything", "audio_format": "flac", "batch_size": 1}
    item = json.loads(wait(reference_server, submit(reference_server, body).json()["data"]["task_id"])["result"])[0]
    metas = item["metas"]
    assert 30 <= metas["bpm"] <= 300 and metas["keyscale"].split()[1] in ("major", "minor")
    assert metas["timesignature"] == "4" and metas["duration"] == 30.0
    assert file_path(item).endswith(".flac")
    r = httpx.get(reference_server + item["file"])
    assert r.headers["content-type"] == "audio/flac"


def test_mp3_is_the_default_format(reference_server: str) -> None:
    body = {k: v for k, v in BASE.items() if k != "audio_format"}
    item = json.loads(wait(reference_server, submit(reference_server, body).json()["data"]["task_id"])["result"])[0]
    r = httpx.get(reference_server + item["file"])
    assert r.headers["content-type"] == "audio/mpeg" and file_path(item).endswith(".mp3")
    audio, sr = sf.read(io.BytesIO(r.content), always_2d=True)
    assert sr == 48000 and audio.shape[1] == 2 and abs(len(audio) / sr - 10) < 0.2


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"bpm": 20}, "bpm"), ({"bpm": 301}, "bpm"), ({"audio_duration": 5}, "audio_duration"),
        ({"duration": 601}, "audio_duration"), ({"batch_size": 9}, "batch_size"),
        ({"time_signature": "5"}, "time_signature"), ({"task_type": "remix"}, "task_type"),
        ({"task_type": "repaint"}, "source audio"), ({"key_scale": "H dorian"}, "key"),
        ({"audio_cover_strength": 1.5}, "audio_cover_strength"), ({"audio_format": "ogg"}, "audio_format"),
        ({"repaint_mode": "wild"}, "repaint_mode"), ({"repaint_strength": 1.5}, "repaint_strength"),
    ],
)
def test_validation_refuses_like_upstream(reference_server: str, body: dict, fragment: str) -> None:
    r = submit(reference_server, body)
    assert r.status_code == 400
    assert fragment in r.json()["detail"]


def test_unsupported_content_type_is_415(reference_server: str) -> None:
    r = httpx.post(f"{reference_server}/release_task", content=b"just words", headers={"content-type": "text/plain"})
    assert r.status_code == 415 and "multipart/form-data" in r.json()["detail"]
    # Upstream sniffs a body it cannot type: JSON-looking or form-looking bodies are still read.
    as_form = httpx.post(f"{reference_server}/release_task", content=b"bpm=120&batch_size=1&audio_format=wav",
                         headers={"content-type": "text/plain"})
    assert as_form.status_code == 200, as_form.text
    as_json = httpx.post(f"{reference_server}/release_task", content=json.dumps({**BASE, "bpm": 95}).encode(),
                         headers={"content-type": ""})
    assert as_json.status_code == 200, as_json.text
    item = json.loads(wait(reference_server, as_json.json()["data"]["task_id"])["result"])[0]
    assert item["metas"]["bpm"] == 95
    bad = httpx.post(f"{reference_server}/release_task", content=b"{not json",
                     headers={"content-type": "application/json"})
    assert bad.status_code == 400 and "Malformed JSON" in bad.json()["detail"]


def test_urlencoded_and_nested_metas(reference_server: str) -> None:
    r = httpx.post(f"{reference_server}/release_task", data={
        "prompt": "form", "audio_format": "wav", "batch_size": "1",
        "metas": json.dumps({"bpm": 90, "keyscale": "Eb major", "timesignature": "3", "duration": 10}),
    })
    assert r.status_code == 200, r.text
    item = json.loads(wait(reference_server, r.json()["data"]["task_id"])["result"])[0]
    assert item["metas"]["bpm"] == 90 and item["metas"]["keyscale"] == "Eb major"
    assert item["metas"]["timesignature"] == "3" and item["metas"]["duration"] == 10.0


def test_unknown_task_looks_queued_forever(reference_server: str) -> None:
    r = httpx.post(f"{reference_server}/query_result", json={"task_id_list": json.dumps(["no-such-task"])})
    assert r.json()["data"] == [{"task_id": "no-such-task", "result": "[]", "status": 0}]


def test_undecodable_upload_fails_the_task_with_a_reason(reference_server: str) -> None:
    r = submit(reference_server, {"task_type": "cover", "batch_size": 1},
               files={"src_audio": ("song.wav", b"this is not audio", "audio/wav")})
    assert r.status_code == 200
    item = wait(reference_server, r.json()["data"]["task_id"])
    assert item["status"] == 2
    detail = json.loads(item["result"])[0]
    assert detail["status"] == 2 and "cannot decode source audio 'song.wav'" in detail["error"]


def _wav_bytes(audio: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, audio, 48000, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def test_repaint_over_http_keeps_outside_samples(reference_server: str) -> None:
    src = wait(reference_server, submit(reference_server, {**BASE, "audio_duration": 12}).json()["data"]["task_id"])
    src_audio, _ = fetch_audio(reference_server, json.loads(src["result"])[0])
    body = {"task_type": "repaint", "repainting_start": 4.0, "repainting_end": 8.0, "bpm": 120,
            "key_scale": "A minor", "audio_format": "wav", "batch_size": 1, "seed": 99, "use_random_seed": False}
    r = submit(reference_server, body, files={"ctx_audio": ("src.wav", _wav_bytes(src_audio), "audio/wav")})
    assert r.status_code == 200, r.text
    item = json.loads(wait(reference_server, r.json()["data"]["task_id"])["result"])[0]
    out, _ = fetch_audio(reference_server, item)
    assert out.shape == src_audio.shape
    a, b = 4 * 48000, 8 * 48000
    assert np.array_equal(out[:a], src_audio[:a]) and np.array_equal(out[b:], src_audio[b:])
    assert np.mean(out[a:b] != src_audio[a:b]) > 0.5
    # the same file again by server-side path: upstream's src_audio_path
    r2 = submit(reference_server, {**body, "src_audio_path": file_path(item)})
    assert r2.status_code == 200, r2.text
    assert wait(reference_server, r2.json()["data"]["task_id"])["status"] == 1


def test_edit_tasks_run_on_an_uploaded_source(reference_server: str) -> None:
    src = wait(reference_server, submit(reference_server, BASE).json()["data"]["task_id"])
    wav = _wav_bytes(fetch_audio(reference_server, json.loads(src["result"])[0])[0])
    cases = {
        "cover": {"audio_cover_strength": 0.5},
        "lego": {"instruction": "Generate the BASS track based on the audio context:", "model": "acestep-v15-base"},
        "extract": {"instruction": "Extract the DRUMS track from the audio:"},
        "complete": {"audio_duration": 14},
    }
    for task, extra in cases.items():
        r = submit(reference_server, {"task_type": task, "bpm": 120, "key_scale": "A minor", "audio_format": "wav",
                                      "batch_size": 1, **extra},
                   files={"src_audio": ("src.wav", wav, "audio/wav")})
        assert r.status_code == 200, (task, r.text)
        done = wait(reference_server, r.json()["data"]["task_id"])
        assert done["status"] == 1, (task, done)
        item = json.loads(done["result"])[0]
        audio, _ = fetch_audio(reference_server, item)
        # every edit comes back as long as the source: upstream ignores audio_duration for complete's length too
        assert audio.shape == (10 * 48000, 2), task
        assert np.abs(audio).max() > 1000, task  # not silent
    assert item["dit_model"] == "acestep-v15-turbo"  # complete sent no model: the default serves it


def test_audio_route_confines_paths(reference_server: str, tmp_path: Path) -> None:
    item = json.loads(wait(reference_server, submit(reference_server, BASE).json()["data"]["task_id"])["result"])[0]
    inside = Path(file_path(item))
    assert httpx.get(f"{reference_server}/v1/audio", params={"path": str(inside)}).status_code == 200
    escape = str(inside.parent / ".." / "etc" / "passwd")
    for path in ("/etc/passwd", escape, str(inside.parent / "server.log")):
        assert httpx.get(f"{reference_server}/v1/audio", params={"path": path}).status_code == 403, path
    outside = tmp_path / "secret.wav"
    outside.write_bytes(_wav_bytes(np.zeros((480, 2), dtype=np.float32)))
    link = inside.parent / f"link-{os.getpid()}.wav"
    link.symlink_to(outside)
    try:
        assert httpx.get(f"{reference_server}/v1/audio", params={"path": str(link)}).status_code == 403
    finally:
        link.unlink()
    missing = inside.parent / "missing.wav"
    assert httpx.get(f"{reference_server}/v1/audio", params={"path": str(missing)}).status_code == 404


def test_api_key_required_when_set(start_reference) -> None:
    url = start_reference("--api-key", "s3cret")
    assert httpx.get(f"{url}/health").status_code == 200  # health stays open, as upstream
    assert submit(url, BASE).status_code == 401
    assert submit(url, BASE, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert httpx.get(f"{url}/v1/stats").status_code == 401
    ok = submit(url, BASE, headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200
    via_body = submit(url, {**BASE, "ai_token": "s3cret"})
    assert via_body.status_code == 200
    tid = ok.json()["data"]["task_id"]
    assert httpx.post(f"{url}/query_result", json={"task_id_list": [tid]}).status_code == 401
    auth = {"Authorization": "Bearer s3cret"}
    item = json.loads(wait(url, tid, headers=auth)["result"])[0]
    assert httpx.get(url + item["file"]).status_code == 401
    assert httpx.get(url + item["file"], headers=auth).status_code == 200


def test_slow_jobs_report_progress_fill_the_queue_and_time_out(start_reference) -> None:
    # 1 s/step/min of audio: a 60 s, 8-step job simulates 8 s of compute; 1 worker, room for 1 queued task.
    url = start_reference("--seconds-per-step", "1", "--queue-maxsize", "1", "--task-timeout", "4")
    slow = {**BASE, "audio_duration": 60}
    first = submit(url, slow).json()["data"]["task_id"]
    responses = [submit(url, slow) for _ in range(3)]
    refused = [r for r in responses if r.status_code == 429]
    assert refused, [r.status_code for r in responses]  # the worker holds one, the queue one more
    assert "queue is full" in refused[0].json()["detail"]

    seen: list[tuple[float, str]] = []
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        item = query(url, first)
        assert item["status"] == 0
        running = json.loads(item["result"])[0]
        seen.append((running["progress"], running["stage"]))
        time.sleep(0.2)
    progress = [p for p, _ in seen]
    assert progress == sorted(progress) and 0 < progress[-1] < 1
    assert any(stage.startswith("diffusion step") for _, stage in seen)

    time.sleep(1.0)  # past the 4 s task timeout
    timed_out = query(url, first)
    assert timed_out["status"] == 2
    assert "timed out" in json.loads(timed_out["result"])[0]["error"]
    stats = httpx.get(f"{url}/v1/stats").json()["data"]
    assert stats["queue_maxsize"] == 1 and stats["jobs"]["failed"] >= 1
