"""FastAPI app speaking the ACE-Step 1.5 REST contract, backed by the procedural reference engine.

Routes and shapes follow upstream ``acestep/api_server.py`` and ``acestep/api/http/*`` (see
../shared/acestep-api.md); everything this server answers is labelled as the reference engine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, Response
from starlette.requests import ClientDisconnect

from acekit.contract import MAX_QUERY_TASK_IDS, SOURCE_TASKS, too_many_task_ids
from acekit.reference import engine
from acekit.reference.jobs import JobManager, QueueFull, query_item
from acekit.reference.params import RequestError, parse_task_request
from acekit.reference.settings import (
    SERVICE_NAME,
    VERSION,
    ReferenceSettings,
    supported_task_types,
)

log = logging.getLogger("acekit.reference")

_MEDIA_TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
                ".opus": "audio/ogg", ".aac": "audio/aac"}


def wrap(data: Any, code: int = 200, error: str | None = None) -> dict[str, Any]:
    """Upstream's envelope."""
    return {"data": data, "code": code, "error": error, "timestamp": int(time.time() * 1000), "extra": None}


def _check_token(settings: ReferenceSettings, authorization: str | None, body: dict | None = None) -> None:
    """Upstream auth: ``Authorization: Bearer KEY`` (or the bare key); older clients send ``ai_token`` in the body."""
    if not settings.api_key:
        return
    if authorization:
        token = authorization[7:] if authorization.startswith("Bearer ") else authorization
        if token == settings.api_key:
            return
        raise HTTPException(status_code=401, detail="Invalid API key")
    if body is not None and body.get("ai_token"):
        if str(body["ai_token"]) == settings.api_key:
            return
        raise HTTPException(status_code=401, detail="Invalid API key")
    raise HTTPException(status_code=401, detail="Missing Authorization header")


def _inventory(settings: ReferenceSettings) -> dict[str, Any]:
    return {
        "models": [
            {"name": m, "is_default": m == settings.default_model, "is_loaded": True,
             "supported_task_types": supported_task_types(m)}
            for m in settings.models
        ] + [
            {"name": m, "is_default": False, "is_loaded": False, "supported_task_types": supported_task_types(m)}
            for m in settings.downloaded_models if m not in settings.models
        ],
        "default_model": settings.default_model,
        "lm_models": [{"name": settings.lm_model, "is_loaded": False}],
        "loaded_lm_model": None,
        "llm_initialized": False,
        "engine": engine.ENGINE_NAME,
    }


def _resolve_server_path(settings: ReferenceSettings, text: str) -> Path:
    """A server-side source path: a file under the output dir, given as a path or as a ``/v1/audio?path=`` URL."""
    if "/v1/audio" in text and "path=" in text:
        text = parse_qs(urlparse(text).query).get("path", [""])[0]
    if "\x00" in unquote(text):  # os.path would raise "embedded null byte": a 500 instead of this 400
        raise RequestError(f"src_audio_path {text!r} contains a NUL byte: give a plain file path")
    p = Path(unquote(text)).expanduser()
    if not p.is_absolute():
        p = settings.output_dir / p
    real = Path(os.path.realpath(p))
    root = Path(os.path.realpath(settings.output_dir))
    if not real.is_relative_to(root):
        raise RequestError(
            f"src_audio_path {text!r} is outside this server's output directory: upload the file as multipart src_audio"
        )
    if not real.is_file():
        raise RequestError(f"src_audio_path {text!r} does not exist on the server: upload it as multipart src_audio")
    return real


def _parse_json_body(raw: bytes | str) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPException(status_code=400, detail="Malformed JSON payload") from None
    if not isinstance(body, dict):
        raise HTTPException(status_code=400, detail="JSON payload must be an object")
    return body


def _form_fields(form: Any) -> dict[str, Any]:
    """Non-file form fields; a field sent several times becomes a list (upstream's multipart reading)."""
    body: dict[str, Any] = {}
    for name in form.keys():
        values = [v for v in form.getlist(name) if not (hasattr(v, "filename") and hasattr(v, "read"))]
        if values:
            body[name] = values[0] if len(values) == 1 else values
    return body


def _copy_upload(src: Any, dest: Path) -> None:
    src.seek(0)
    with open(dest, "wb") as fh:
        shutil.copyfileobj(src, fh, 1024 * 1024)


async def _read_body(
    request: Request, settings: ReferenceSettings
) -> tuple[dict[str, Any], dict[str, tuple[Path, str]]]:
    """Body of a JSON, multipart or urlencoded request, plus any uploaded source audio saved to disk.

    Like upstream's release_task_request_parser: a body without a known Content-Type is still read when it
    looks like JSON (starts with ``{``/``[``) or like a form (contains ``=``); only then is it a 415.
    """
    ctype = (request.headers.get("content-type") or "").lower()
    uploads: dict[str, tuple[Path, str]] = {}
    if ctype.startswith("application/json") or ctype.endswith("+json"):
        return _parse_json_body(await request.body()), uploads
    if ctype.startswith("multipart/form-data"):
        form = await request.form()
        # Upstream prefers ctx_audio over src_audio (and ref_audio over reference_audio).
        upload = form.get("ctx_audio") or form.get("src_audio")
        if hasattr(upload, "filename") and hasattr(upload, "read"):
            # Reference audio (timbre) is not used by this engine: not stored.
            settings.uploads_dir.mkdir(parents=True, exist_ok=True)
            suffix = Path(upload.filename or "upload").suffix[:8]
            dest = settings.uploads_dir / f"{uuid.uuid4().hex}{suffix}"
            # The form parser spooled the part to a temp file; copy it over in blocks, never whole in memory.
            await asyncio.to_thread(_copy_upload, upload.file, dest)
            uploads["src"] = (dest, upload.filename or "src_audio")
        return _form_fields(form), uploads
    if ctype.startswith("application/x-www-form-urlencoded"):
        return dict((await request.form()).items()), uploads
    raw = await request.body()
    stripped = raw.lstrip()
    if stripped.startswith((b"{", b"[")):
        try:
            return _parse_json_body(raw.decode("utf-8")), uploads
        except UnicodeDecodeError:
            raise HTTPException(
                status_code=400, detail="Invalid JSON body (hint: set 'Content-Type: application/json')"
            ) from None
    if stripped and b"=" in raw:
        parsed = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items() if v}, uploads
    raise HTTPException(
        status_code=415,
        detail=f"Unsupported Content-Type: {ctype or '(missing)'}; use application/json, "
        "application/x-www-form-urlencoded, or multipart/form-data",
    )


def create_app(settings: ReferenceSettings) -> FastAPI:
    settings.output_dir.mkdir(parents=True, exist_ok=True)
    manager = JobManager(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        manager.start()
        log.info("[%s] serving; output dir %s; models %s; %d worker(s), queue max %d, %.3f s/step simulated",
                 SERVICE_NAME, settings.output_dir, ",".join(settings.models), settings.workers,
                 settings.queue_maxsize, settings.seconds_per_step)
        try:
            yield
        finally:
            manager.stop()

    app = FastAPI(title=SERVICE_NAME, version=VERSION, lifespan=lifespan,
                  description="Procedural stand-in for the ACE-Step 1.5 REST API. Not ACE-Step.")
    app.state.manager = manager
    app.state.settings = settings

    @app.exception_handler(ClientDisconnect)
    async def _client_gone(request: Request, exc: ClientDisconnect) -> Response:
        # Expected (a gateway cutting off an oversized upload, a closed DAW): one line, not a traceback.
        log.warning("client went away before its %s %s body was complete; request dropped",
                    request.method, request.url.path)
        return Response(status_code=400)

    @app.get("/health")
    async def health() -> dict:
        return wrap({
            "status": "ok", "service": SERVICE_NAME, "version": VERSION, "engine": engine.ENGINE_NAME,
            "models_initialized": True, "llm_initialized": False,
            "loaded_model": settings.default_model, "loaded_lm_model": None,
        })

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        _check_token(settings, request.headers.get("authorization"))
        return wrap(_inventory(settings))

    @app.get("/v1/model_inventory")
    async def model_inventory(request: Request) -> dict:
        _check_token(settings, request.headers.get("authorization"))
        return wrap(_inventory(settings))

    @app.get("/v1/stats")
    async def stats(request: Request) -> dict:
        _check_token(settings, request.headers.get("authorization"))
        return wrap(manager.stats())

    @app.post("/release_task")
    async def release_task(request: Request) -> dict:
        body, uploads = await _read_body(request, settings)
        try:
            return _release(body, uploads, request.headers.get("authorization"))
        except BaseException:
            # A refused request (auth, validation, queue full) must not leave its upload behind:
            # only a queued job owns one (its worker deletes it when done).
            for path, _ in uploads.values():
                path.unlink(missing_ok=True)
            raise

    def _release(body: dict[str, Any], uploads: dict[str, tuple[Path, str]], authorization: str | None) -> dict:
        _check_token(settings, authorization, body)
        try:
            req = parse_task_request(body)
            src, src_name = uploads.get("src", (None, None))
            if src is None and req.src_audio_path:
                src = _resolve_server_path(settings, req.src_audio_path)
                src_name = Path(src).name
            if req.task_type in SOURCE_TASKS and src is None:
                raise RequestError(
                    f"task_type {req.task_type.value} needs source audio: upload src_audio (multipart) "
                    "or give src_audio_path"
                )
        except RequestError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        try:
            job, position = manager.submit(req, src_path=src, src_name=src_name)
        except QueueFull as exc:
            raise HTTPException(status_code=429, detail=str(exc)) from None
        return wrap({"task_id": job.task_id, "status": "queued", "queue_position": position})

    @app.post("/query_result")
    async def query_result(request: Request) -> dict:
        ctype = (request.headers.get("content-type") or "").lower()
        if "json" in ctype:
            try:
                body = await request.json()
            except ValueError:
                raise HTTPException(status_code=400, detail="Invalid JSON body") from None
        else:
            body = {k: v for k, v in (await request.form()).items()}
        if not isinstance(body, dict):
            raise HTTPException(status_code=400, detail="body must be an object with task_id_list")
        _check_token(settings, request.headers.get("authorization"), body)
        raw = body.get("task_id_list", "[]")
        if isinstance(raw, list):
            ids = raw
        else:
            try:
                ids = json.loads(raw)
            except (TypeError, ValueError):
                ids = []
        if not isinstance(ids, list):
            ids = []
        if len(ids) > MAX_QUERY_TASK_IDS:
            raise HTTPException(status_code=400, detail=too_many_task_ids(len(ids)))
        return wrap([query_item(str(t), manager.get(str(t))) for t in ids])

    @app.get("/v1/audio")
    async def audio(request: Request, path: str = "") -> FileResponse:
        _check_token(settings, request.headers.get("authorization"))
        if not path:
            raise HTTPException(status_code=400, detail="give ?path= of a generated file")
        if "\x00" in path:  # os.path.realpath raises on it; no real file name holds one
            raise HTTPException(status_code=400, detail="path contains a NUL byte: give the path of a generated file")
        root = Path(os.path.realpath(settings.output_dir))
        real = Path(os.path.realpath(path))  # the query string is already URL-decoded once
        # realpath resolves ../ and symlinks first, so neither can step outside the output dir.
        if not real.is_relative_to(root) or real.is_relative_to(settings.uploads_dir.resolve()):
            raise HTTPException(status_code=403, detail="Access denied: path is outside the output directory")
        if real.suffix.lower() not in _MEDIA_TYPES:
            raise HTTPException(status_code=403, detail=f"Access denied: {real.suffix or 'no'} file type is not served")
        if not real.is_file():
            raise HTTPException(status_code=404, detail="Audio file not found")
        return FileResponse(real, media_type=_MEDIA_TYPES[real.suffix.lower()], filename=real.name)

    @app.post("/format_input")
    async def format_input(request: Request) -> dict:
        body, uploads = await _read_body(request, settings)
        for path, _ in uploads.values():  # no job to hand an upload to here
            path.unlink(missing_ok=True)
        _check_token(settings, request.headers.get("authorization"), body)
        # No language model here: echo the input with the metas the engine would choose filled in.
        try:
            req = parse_task_request({k: v for k, v in body.items() if k != "task_type"})
        except RequestError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        return wrap({
            "caption": req.prompt, "lyrics": req.lyrics, "bpm": req.bpm or 120,
            "key_scale": req.key_scale or "C major", "time_signature": req.time_signature or "4",
            "duration": req.audio_duration or 30.0, "vocal_language": req.vocal_language,
            "engine": engine.ENGINE_NAME,
        })

    @app.post("/create_random_sample")
    async def create_random_sample(request: Request) -> dict:
        body: dict = {}
        if "json" in (request.headers.get("content-type") or ""):
            try:
                body = await request.json() or {}
            except ValueError:
                body = {}
        _check_token(settings, request.headers.get("authorization"), body if isinstance(body, dict) else None)
        import secrets

        seed = secrets.randbelow(2**31)
        key = engine.random_key(seed)
        return wrap({
            "caption": "instrumental electronic groove, drums, bass, pad, plucked lead",
            "lyrics": "[Instrumental]", "bpm": 80 + seed % 61, "key_scale": key.canonical,
            "time_signature": "4", "duration": 30.0, "vocal_language": "en", "instrumental": True,
            "engine": engine.ENGINE_NAME,
        })

    return app
