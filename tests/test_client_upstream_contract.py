"""Client requests against the newest upstream contract, at the HTTP level (httpx.MockTransport)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from acekit.client import Client
from acekit.models import CompleteRequest


def _env(data: object) -> dict:
    return {"data": data, "code": 200, "error": None, "timestamp": 1, "extra": None}


def test_multipart_sends_track_classes_as_repeated_fields(tmp_path: Path) -> None:
    # Upstream's multipart reader makes a repeated field a list and wraps a lone string as [string]:
    # a JSON-encoded list would reach it as the single class '["drums", "bass"]'.
    src = tmp_path / "src.wav"
    src.write_bytes(b"RIFF0000WAVE")
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(200, json=_env({"task_id": "t", "status": "queued", "queue_position": 1}))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        client.submit(CompleteRequest(tracks=["drums", "bass"], bpm=120), src_audio=src)
    body = bodies[0]
    assert body.count(b'name="track_classes"') == 2
    assert b'name="track_classes"\r\n\r\ndrums\r\n' in body and b'name="track_classes"\r\n\r\nbass\r\n' in body
    assert b"Complete the input track with DRUMS | BASS:" in body


def test_json_submit_keeps_track_classes_a_list() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.read()))
        return httpx.Response(200, json=_env({"task_id": "t", "status": "queued", "queue_position": 1}))

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        client.submit(CompleteRequest(tracks="drums bass", src_audio_path="song.wav"))
    assert seen[0]["track_classes"] == ["drums", "bass"]


def test_openrouter_model_ids_become_dit_names() -> None:
    # Newest upstream serves an OpenRouter list on /v1/models with ids "acestep/<dit name>".
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/model_inventory":
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json={"data": [
            {"id": "acestep/acestep-v15-turbo", "name": "ACE-Step acestep-v15-turbo", "created": 1,
             "input_modalities": ["text", "audio"], "output_modalities": ["audio", "text"],
             "context_length": 4096, "max_output_length": 300,
             "pricing": {"prompt": "0", "completion": "0", "request": "0"}, "description": "AI music generation model"},
        ]})

    with Client("http://x", transport=httpx.MockTransport(handler)) as client:
        models = client.models()
    assert models.names == ["acestep-v15-turbo"] and models.source == "/v1/models"
