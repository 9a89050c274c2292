"""Sync and async clients for the ACE-Step 1.5 REST API (and acekit's reference backend).

`Client` and `AsyncClient` have the same surface, httpx-style: everything that is not I/O
(building requests, reading envelopes, mapping errors, deciding when a poll loop is done)
lives in `_ClientCore` and `acekit.polling.TaskWaiter` (the wait loop's decisions), so the two
cannot drift apart: each only carries out the steps the waiter returns.

>>> from acekit import Client, Text2MusicRequest
>>> with Client("http://localhost:8001") as client:  # doctest: +SKIP
...     outcome = client.generate(Text2MusicRequest(prompt="lofi piano", duration_s=20), out_dir=Path("out"))
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import mimetypes
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ValidationError

from acekit import contract
from acekit.contract import TaskType
from acekit.errors import (
    AceKitError,
    BadRequest,
    RequestTimeout,
    ServerError,
    ServerUnreachable,
    ServiceUnavailable,
    error_for_status,
)
from acekit.polling import FetchStats, LongPoll, ProgressCallback, ServerWait, Sleep, Step, TaskWaiter
from acekit.models import (
    AudioItem,
    Envelope,
    GenerationOutcome,
    Health,
    ModelEntry,
    ModelList,
    Stats,
    SubmitResult,
    TaskRequest,
    TaskResult,
    parse_task_result,
)

__all__ = ["Client", "AsyncClient", "DEFAULT_TIMEOUT", "resolve_server", "resolve_api_key"]

#: Per-request timeouts (not the task's): connecting should be quick, answers may wait on a busy GIL.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_WAIT_TIMEOUT_S = 1800.0
DEFAULT_UNKNOWN_GRACE_S = 10.0
#: How long a /v1/stats average job time is reused for adaptive polling.
_STATS_REUSE_S = 30.0
def _read_umask() -> int:
    # Read once at import: os.umask can only be read by setting it, which races with other threads.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()
_M = TypeVar("_M", bound=BaseModel)


def resolve_server(server: str | None) -> str:
    """``server``, else ``$ACEKIT_SERVER``, else `contract.DEFAULT_SERVER`; no trailing slash."""
    url = server or os.environ.get(contract.SERVER_ENV) or contract.DEFAULT_SERVER
    if "://" not in url:
        url = f"http://{url}"
    return url.rstrip("/")


def resolve_api_key(api_key: str | None) -> str | None:
    """``api_key``, else ``$ACESTEP_API_KEY``; empty means none."""
    key = api_key if api_key is not None else os.environ.get(contract.API_KEY_ENV)
    return key or None


# --------------------------------------------------------------------------- shared, no I/O


class _ClientCore:
    """Request building and response reading shared by `Client` and `AsyncClient`."""

    def __init__(
        self,
        server: str | None,
        *,
        api_key: str | None,
        max_retries: int,
        retry_backoff_s: float,
        max_retry_wait_s: float,
        push: bool = True,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0 (got {max_retries})")
        self.server = resolve_server(server)
        self.api_key = resolve_api_key(api_key)
        self.max_retries = max_retries
        self.retry_backoff_s = retry_backoff_s
        self.max_retry_wait_s = max_retry_wait_s
        #: The gateway's wait path ("/v1/wait/{task_id}"), "" when the server has none, None until known.
        self.wait_path: str | None | bool = None if push else False
        self._stats_cache: tuple[float, float | None] | None = None

    def _learn_push(self, response: httpx.Response) -> None:
        """A gateway advertises push completion on its answers; plain upstream does not."""
        if response.status_code < 400 and self.wait_path is not False:
            self.wait_path = response.headers.get("x-acekit-wait", "")

    def _wait_url(self, task_id: str) -> str:
        path = self.wait_path if isinstance(self.wait_path, str) and self.wait_path else "/v1/wait/{task_id}"
        return path.replace("{task_id}", task_id)

    @property
    def _may_push(self) -> bool:
        """Only once the server advertised it (on a /release_task or /query_result answer)."""
        return isinstance(self.wait_path, str) and self.wait_path != ""

    def _cached_job_s(self) -> tuple[bool, float | None]:
        """(still fresh, the server's average job seconds) from the last /v1/stats read."""
        if self._stats_cache is None or time.monotonic() - self._stats_cache[0] > _STATS_REUSE_S:
            return False, None
        return True, self._stats_cache[1]

    def _remember_job_s(self, stats: Stats | None) -> float | None:
        value = stats.avg_job_seconds if stats is not None and stats.avg_job_seconds else None
        self._stats_cache = (time.monotonic(), value)
        return value

    def _step_request(self, step: Step, task_id: str) -> tuple[str, str, dict[str, Any]]:
        """(method, url, httpx keyword arguments) that carry out a `LongPoll` or `Query` step."""
        if isinstance(step, LongPoll):
            return "GET", self._wait_url(task_id), {"params": {"timeout_s": f"{step.hold_s:.3f}"},
                                                   "timeout": httpx.Timeout(step.hold_s + 30.0, connect=5.0)}
        return "POST", "/query_result", {"json": {"task_id_list": [task_id]}}

    def _step_answer(self, step: Step, response: httpx.Response) -> list[TaskResult] | None:
        """The task items of a step's answer; None when a `LongPoll` found no wait endpoint."""
        if isinstance(step, LongPoll):
            return self._long_poll_answer(response)
        self._learn_push(response)
        return self._query_results(self._unwrap(response))

    def _long_poll_answer(self, response: httpx.Response) -> list[TaskResult] | None:
        """Results of a wait-endpoint answer; None when the server has no such endpoint (plain upstream)."""
        if response.status_code in (404, 405):
            if self.wait_path is not False:
                self.wait_path = ""
            return None
        return self._query_results(self._unwrap(response))

    def _headers(self) -> dict[str, str]:
        from acekit import __version__

        headers = {"User-Agent": f"acekit/{__version__}", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    # -- responses

    def _unwrap(self, response: httpx.Response) -> Any:
        """Raise the matching error for an error answer; return the envelope's ``data`` otherwise."""
        if response.status_code >= 400:
            raise error_for_status(response)
        try:
            body = response.json()
        except ValueError as exc:
            raise ServerError(
                f"{response.request.method} {response.request.url} answered {response.status_code} "
                f"with a body that is not JSON ({response.text[:200]!r}): is this an ACE-Step API server?",
                status_code=response.status_code,
                response=response,
            ) from exc
        if not isinstance(body, dict) or not ({"data", "code"} & body.keys()):
            return body  # not enveloped (e.g. an OpenRouter-style route): hand it over as is
        env = Envelope.model_validate(body)
        if env.code is not None and env.code >= 400:
            cls = BadRequest if env.code < 500 else ServerError
            raise cls(
                f"{response.request.method} {response.request.url} returned an error envelope "
                f"(code {env.code}: {env.error})",
                status_code=env.code,
                detail=env.error,
                response=response,
            )
        return env.data

    def _transport_error(self, exc: httpx.TransportError) -> AceKitError:
        if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
            return ServerUnreachable(self.server, exc)
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(self.server, exc)
        return ServerUnreachable(self.server, exc)

    @staticmethod
    def _parse(model: type[_M], data: Any, what: str) -> _M:
        """Validate an answer; a shape we cannot read is the server's fault, said plainly."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise ServerError(
                f"{what} answered in a shape acekit does not understand ({exc.error_count()} problem(s), first: "
                f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']}); is this an ACE-Step 1.5 API server? "
                f"Answer was: {data!r:.300}"
            ) from exc

    @staticmethod
    def _model_list(data: Any, source: str) -> ModelList:
        if isinstance(data, list):  # OpenRouter-style {"data": [{"id": ...}]} on newer /v1/models
            # Upstream's OpenRouter ids are "acestep/<dit name>" (openrouter_adapter._get_model_id); the
            # ``model`` field of /release_task wants the bare DiT name.
            entries = [ModelEntry(name=str(d.get("id") or d.get("name")).split("/", 1)[-1])
                       for d in data if isinstance(d, dict) and (d.get("id") or d.get("name"))]
            return ModelList(models=entries, source=source)
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            return _ClientCore._model_list(data["data"], source)
        result = _ClientCore._parse(ModelList, data or {}, source)
        result.source = source
        if result.default_model is None:
            result.default_model = next((m.name for m in result.models if m.is_default), None)
        return result

    @staticmethod
    def _query_results(data: Any) -> list[TaskResult]:
        if not isinstance(data, list):
            raise ServerError(f"/query_result returned {type(data).__name__}, expected a list: {data!r:.200}")
        return [parse_task_result(entry) for entry in data if isinstance(entry, dict)]

    # -- submit

    @staticmethod
    def _check_sources(request: TaskRequest, src_audio: Path | None, reference_audio: Path | None) -> None:
        for name, path, server_path in (
            ("src_audio", src_audio, request.src_audio_path),
            ("reference_audio", reference_audio, request.reference_audio_path),
        ):
            if path is not None:
                if server_path:
                    raise ValueError(
                        f"give either {name} (a local file to upload) or {name}_path (a path on the server), not both"
                    )
                if not Path(path).is_file():
                    raise FileNotFoundError(f"{name} {str(path)!r} is not a file")
        has_src = src_audio is not None or bool(request.src_audio_path)
        has_ref = reference_audio is not None or bool(request.reference_audio_path)
        if request.task_type == TaskType.cover:
            if not (has_src or has_ref):
                raise ValueError("cover needs the audio to cover: pass src_audio=Path(...) (or reference_audio=)")
        elif request.needs_source and not has_src:
            raise ValueError(
                f"{request.task_type.value} edits a source audio: pass src_audio=Path(...) "
                f"or set src_audio_path to a file on the server"
            )

    @staticmethod
    def _form_value(value: Any) -> str | list[str]:
        # Upstream re-parses form fields with its own coercions ("true"/"1" -> True).
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            # Upstream's multipart reader turns a repeated field into a list and wraps a lone string as
            # [string] (track_classes): a JSON-encoded list would arrive as one class named '["bass"]'.
            return [_ClientCore._form_value(v) for v in value]  # type: ignore[misc]
        if isinstance(value, (list, dict)):
            return json.dumps(value)
        return str(value)

    @contextmanager
    def _submit_kwargs(
        self, request: TaskRequest, src_audio: Path | None, reference_audio: Path | None
    ) -> Iterator[dict[str, Any]]:
        """httpx keyword arguments for one ``POST /release_task`` attempt (files opened fresh)."""
        fields = request.to_api_fields()
        uploads = {k: Path(v) for k, v in (("src_audio", src_audio), ("reference_audio", reference_audio)) if v}
        if not uploads:
            yield {"json": fields}
            return
        with ExitStack() as stack:
            files: dict[str, tuple[str, IO[bytes], str]] = {}
            for name, path in uploads.items():
                mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                files[name] = (path.name, stack.enter_context(path.open("rb")), mime)
            data = {k: self._form_value(v) for k, v in fields.items() if v is not None}
            yield {"data": data, "files": files}

    def _retry_delay_s(self, response: httpx.Response, attempt: int) -> float:
        """Seconds to wait before retrying a 429: Retry-After if given, else exponential backoff; capped."""
        header = response.headers.get("Retry-After")
        delay: float | None = None
        if header:
            try:
                delay = float(header)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(header)
                    delay = (when - datetime.now(timezone.utc)).total_seconds()
                except (TypeError, ValueError):
                    delay = None
        if delay is None:
            delay = self.retry_backoff_s * (2**attempt)
        return max(0.0, min(delay, self.max_retry_wait_s))

    def _server_wait(self, wait_for_server_s: float | None) -> ServerWait | None:
        return ServerWait(self.server, wait_for_server_s) if wait_for_server_s else None

    def _unsent_submit(self, server_wait: ServerWait | None, exc: ServerUnreachable) -> float:
        """Seconds to sleep before waiting for the server again after a submit could not connect;
        raises (saying whether the task can have been accepted) when it must not be sent again."""
        if server_wait is None:
            raise ServerUnreachable(self.server, exc.cause, submitting=True) from exc
        return server_wait.submit_failed(exc)

    @staticmethod
    def _submit_result(data: Any) -> SubmitResult:
        if not isinstance(data, dict) or not data.get("task_id"):
            raise ServerError(f"/release_task answered without a task_id: {data!r:.200}")
        return _ClientCore._parse(SubmitResult, data, "/release_task")

    # -- download

    def _audio_request(self, file: str | AudioItem) -> tuple[str, dict[str, str] | None]:
        """URL and params for fetching ``file`` (an item, its ``file`` URL, or a server path)."""
        ref = file.file if isinstance(file, AudioItem) else str(file)
        if not ref:
            raise ValueError("this item has no file to download (the task produced no audio)")
        if ref.startswith(("http://", "https://")):
            # Fetch from the server we talk to, whatever host it wrote into the URL (often its own
            # bind address, e.g. 0.0.0.0): that also keeps our API key from going to another host.
            parts = urlsplit(ref)
            ref = parts.path + (f"?{parts.query}" if parts.query else "")
        if ref.startswith("/v1/audio"):
            return f"{self.server}{ref}", None
        return f"{self.server}/v1/audio", {"path": ref}

    @staticmethod
    def _download_target(file: str | AudioItem, dest: Path) -> Path:
        dest = Path(dest)
        if dest.is_dir():
            item = file if isinstance(file, AudioItem) else AudioItem(file=str(file))
            name = item.filename or "audio"
            return dest / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    @staticmethod
    def _temp_for(target: Path) -> tuple[IO[bytes], Path]:
        # Same directory as the target, so the final os.replace is an atomic rename.
        handle = tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False)
        # NamedTemporaryFile is 0600 and the rename keeps that: give the file the mode a plain open() would.
        os.chmod(handle.name, 0o666 & ~_UMASK)
        return handle, Path(handle.name)

    @staticmethod
    def _output_name(item: AudioItem, index: int, task_id: str, audio_format: str | None) -> str:
        if item.filename:
            return item.filename
        return f"{task_id}_{index}.{audio_format or 'mp3'}"


def _check_request(request: TaskRequest) -> TaskRequest:
    if not isinstance(request, TaskRequest):
        raise TypeError(f"submit() takes a TaskRequest (e.g. Text2MusicRequest), not {type(request).__name__}")
    return request


# --------------------------------------------------------------------------- sync


class Client(_ClientCore):
    """Blocking client. Use as a context manager, or call `close()`.

    Parameters
    ----------
    server : base URL; default ``$ACEKIT_SERVER`` or ``http://localhost:8001``.
    api_key : sent as ``Authorization: Bearer``; default ``$ACESTEP_API_KEY``.
    timeout : per-request timeout (seconds or `httpx.Timeout`), not the task's.
    transport : an httpx transport (e.g. `httpx.MockTransport`) for tests.
    max_retries : how often `submit` retries a 429 (queue full) before raising `QueueFull`.
    retry_backoff_s, max_retry_wait_s : backoff base for 429 retries without ``Retry-After``, and the
        cap on any single wait (``Retry-After`` included).
    push : wait on a gateway's push endpoint (``/v1/wait``, advertised by the ``X-Acekit-Wait``
        header) when the server offers one; False always polls ``/query_result``.

    Waiting: through a gateway, `wait` long-polls its wait endpoint and returns the moment the
    task ends. Against plain upstream it polls adaptively (`acekit.polling.PollSchedule`: fast
    after submitting and near the finish expected from ``/v1/stats``, backing off in between),
    or at a fixed ``poll_interval_s`` when one is given.
    """

    def __init__(
        self,
        server: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        max_retries: int = 4,
        retry_backoff_s: float = 0.5,
        max_retry_wait_s: float = 30.0,
        push: bool = True,
    ) -> None:
        super().__init__(
            server, api_key=api_key, max_retries=max_retries,
            retry_backoff_s=retry_backoff_s, max_retry_wait_s=max_retry_wait_s, push=push,
        )
        self._http = httpx.Client(base_url=self.server, headers=self._headers(), timeout=timeout, transport=transport)

    # -- lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc

    def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._unwrap(self._send(method, url, **kwargs))

    # -- endpoints

    def health(self) -> Health:
        """``GET /health``."""
        return self._parse(Health, self._call("GET", "/health"), "/health")

    def models(self) -> ModelList:
        """DiT models the server offers: ``/v1/model_inventory`` (newer upstream), else ``/v1/models``."""
        try:
            return self._model_list(self._call("GET", "/v1/model_inventory"), "/v1/model_inventory")
        except BadRequest as exc:
            if exc.status_code not in (404, 405):
                raise
        return self._model_list(self._call("GET", "/v1/models"), "/v1/models")

    def stats(self) -> Stats:
        """``GET /v1/stats``: job counts, queue size and the server's average job time."""
        return self._parse(Stats, self._call("GET", "/v1/stats"), "/v1/stats")

    def submit(
        self,
        request: TaskRequest,
        *,
        src_audio: Path | None = None,
        reference_audio: Path | None = None,
        max_retries: int | None = None,
        wait_for_server_s: float | None = None,
    ) -> SubmitResult:
        """``POST /release_task``: JSON, or multipart when local files are uploaded.

        A 429 (queue full) is retried with exponential backoff honouring ``Retry-After``;
        after ``max_retries`` retries `QueueFull` is raised. ``wait_for_server_s``: first wait up to
        that long for the server to come up (`wait_for_server`); a submit whose connection was never
        made is tried again within that time, one that reached the server never is (no duplicate jobs).
        """
        _check_request(request)
        self._check_sources(request, src_audio, reference_audio)  # all before any wait or I/O
        server_wait = self._server_wait(wait_for_server_s)
        self._await_server(server_wait)
        return self._submit(request, src_audio, reference_audio, max_retries, server_wait)

    def _submit(self, request: TaskRequest, src_audio: Path | None, reference_audio: Path | None,
                max_retries: int | None, server_wait: ServerWait | None) -> SubmitResult:
        retries = self.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            try:
                with self._submit_kwargs(request, src_audio, reference_audio) as kwargs:
                    response = self._send("POST", "/release_task", **kwargs)
            except ServerUnreachable as exc:
                time.sleep(self._unsent_submit(server_wait, exc))
                self._await_server(server_wait)
                continue
            if response.status_code != 429:
                self._learn_push(response)
                return self._submit_result(self._unwrap(response))
            if attempt >= retries:
                raise error_for_status(response, attempts=attempt + 1)
            time.sleep(self._retry_delay_s(response, attempt))
            attempt += 1

    def wait_for_server(self, timeout_s: float) -> Health:
        """Wait up to ``timeout_s`` for the server to answer ``GET /health`` (a server still loading its
        models, or a gateway whose server is not up yet); raises `ServerNotReady` when it does not."""
        return self._await_server(ServerWait(self.server, timeout_s))

    def _await_server(self, server_wait: ServerWait | None) -> Health | None:
        while server_wait is not None:
            try:
                return self.health()
            except AceKitError as exc:
                time.sleep(server_wait.probe_failed(exc))
        return None

    def query(self, task_ids: list[str] | str) -> list[TaskResult]:
        """``POST /query_result`` for several tasks at once."""
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        response = self._send("POST", "/query_result", json={"task_id_list": ids})
        self._learn_push(response)
        return self._query_results(self._unwrap(response))

    def wait(
        self,
        task_id: str,
        *,
        poll_interval_s: float | None = None,
        timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        unknown_grace_s: float = DEFAULT_UNKNOWN_GRACE_S,
        on_progress: ProgressCallback | None = None,
    ) -> TaskResult:
        """Wait until the task succeeds (return it) or fails (`TaskFailed`): pushed by a gateway, else polled.

        Raises `UnknownTask` when the server keeps saying it has no such task for
        ``unknown_grace_s`` (it restarted: resubmit), `TaskTimeout` after ``timeout_s``.
        ``on_progress`` gets a `Progress` after every poll while the task runs. ``poll_interval_s``
        None polls adaptively; a number polls at that fixed interval (without a gateway).
        """
        return self._run_waiter(TaskWaiter(
            task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
            unknown_grace_s=unknown_grace_s, on_progress=on_progress,
        ))

    def _run_waiter(self, waiter: TaskWaiter) -> TaskResult:
        """Carry out the waiter's steps until it returns the final result (or raises)."""
        while True:
            step = waiter.next_step(push=self._may_push)
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
                continue
            if isinstance(step, FetchStats):
                waiter.expected(self._expected_job_s())
                continue
            method, url, kwargs = self._step_request(step, waiter.task_id)
            try:
                results = self._step_answer(step, self._send(method, url, **kwargs))
            except (ServerUnreachable, ServiceUnavailable) as exc:
                waiter.unreachable(exc)
                continue
            if results is not None:
                final = waiter.answered(results)
                if final is not None:
                    return final

    def _expected_job_s(self) -> float | None:
        fresh, value = self._cached_job_s()
        if fresh:
            return value
        try:
            return self._remember_job_s(self.stats())
        except AceKitError:
            return self._remember_job_s(None)

    def download(self, file: str | AudioItem, dest: Path) -> Path:
        """Fetch one generated file (``GET /v1/audio?path=...``) to ``dest`` (a file, or a directory).

        Streams to a temporary file beside the target and renames it, so ``dest`` is never half-written.
        """
        url, params = self._audio_request(file)
        target = self._download_target(file, Path(dest))
        handle, tmp = self._temp_for(target)
        try:
            with handle:
                try:
                    with self._http.stream("GET", url, params=params) as response:
                        if response.status_code >= 400:
                            response.read()
                            raise error_for_status(response)
                        for chunk in response.iter_bytes():
                            handle.write(chunk)
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def generate(
        self,
        request: TaskRequest,
        *,
        src_audio: Path | None = None,
        reference_audio: Path | None = None,
        out_dir: Path,
        on_progress: ProgressCallback | None = None,
        poll_interval_s: float | None = None,
        timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        unknown_grace_s: float = DEFAULT_UNKNOWN_GRACE_S,
        wait_for_server_s: float | None = None,
    ) -> GenerationOutcome:
        """Submit, wait, and download every generated audio into ``out_dir``.

        ``wait_for_server_s``: wait that long for the server to come up before submitting (see `submit`).
        """
        _check_request(request)
        self._check_sources(request, src_audio, reference_audio)
        server_wait = self._server_wait(wait_for_server_s)
        self._await_server(server_wait)  # before the clock starts: the task's timeout is the task's
        submitted_at = datetime.now(timezone.utc)
        started = time.monotonic()
        submitted = self._submit(request, src_audio, reference_audio, None, server_wait)
        return self.collect(submitted, out_dir=out_dir, started=started, submitted_at=submitted_at,
                            audio_format=request.audio_format, on_progress=on_progress,
                            poll_interval_s=poll_interval_s, timeout_s=timeout_s, unknown_grace_s=unknown_grace_s)

    def collect(
        self,
        submitted: SubmitResult,
        *,
        out_dir: Path,
        started: float,
        submitted_at: datetime,
        audio_format: str | None = None,
        queue_ahead: int | None = None,
        on_progress: ProgressCallback | None = None,
        poll_interval_s: float | None = None,
        timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        unknown_grace_s: float = DEFAULT_UNKNOWN_GRACE_S,
    ) -> GenerationOutcome:
        """Wait for a submitted task and download its audio into ``out_dir`` (the second half of `generate`).

        ``started`` (``time.monotonic()``) is where ``wall_s``, ``queue_wait_s`` and the timeout count from:
        the submit, or, for a task queued behind the caller's own previous one, the moment that one ended.
        ``queue_ahead``: jobs expected ahead of it (default: from the submit's queue position).
        """
        out_dir = Path(out_dir)
        waiter = TaskWaiter(
            submitted.task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
            unknown_grace_s=unknown_grace_s, on_progress=on_progress, started=started,
            queue_ahead=max(0, (submitted.queue_position or 1) - 1) if queue_ahead is None else queue_ahead,
        )
        result = self._run_waiter(waiter)
        wall_s = time.monotonic() - started
        out_dir.mkdir(parents=True, exist_ok=True)  # only now: a failed task leaves no empty folder
        paths = [
            self.download(item, out_dir / self._output_name(item, i, submitted.task_id, audio_format))
            for i, item in enumerate(result.items)
        ]
        return GenerationOutcome(
            task_id=submitted.task_id, paths=paths, result=result, submitted_at=submitted_at, wall_s=wall_s,
            queue_wait_s=waiter.queue_wait_s, polls=waiter.polls, download_s=time.monotonic() - started - wall_s,
        )


# --------------------------------------------------------------------------- async


class AsyncClient(_ClientCore):
    """The `Client` surface with ``async`` methods. Use ``async with``, or ``await aclose()``."""

    def __init__(
        self,
        server: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        max_retries: int = 4,
        retry_backoff_s: float = 0.5,
        max_retry_wait_s: float = 30.0,
        push: bool = True,
    ) -> None:
        super().__init__(
            server, api_key=api_key, max_retries=max_retries,
            retry_backoff_s=retry_backoff_s, max_retry_wait_s=max_retry_wait_s, push=push,
        )
        self._http = httpx.AsyncClient(
            base_url=self.server, headers=self._headers(), timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise self._transport_error(exc) from exc

    async def _call(self, method: str, url: str, **kwargs: Any) -> Any:
        return self._unwrap(await self._send(method, url, **kwargs))

    async def health(self) -> Health:
        return self._parse(Health, await self._call("GET", "/health"), "/health")

    async def models(self) -> ModelList:
        try:
            return self._model_list(await self._call("GET", "/v1/model_inventory"), "/v1/model_inventory")
        except BadRequest as exc:
            if exc.status_code not in (404, 405):
                raise
        return self._model_list(await self._call("GET", "/v1/models"), "/v1/models")

    async def stats(self) -> Stats:
        return self._parse(Stats, await self._call("GET", "/v1/stats"), "/v1/stats")

    async def submit(
        self,
        request: TaskRequest,
        *,
        src_audio: Path | None = None,
        reference_audio: Path | None = None,
        max_retries: int | None = None,
        wait_for_server_s: float | None = None,
    ) -> SubmitResult:
        _check_request(request)
        self._check_sources(request, src_audio, reference_audio)  # all before any wait or I/O
        server_wait = self._server_wait(wait_for_server_s)
        await self._await_server(server_wait)
        return await self._submit(request, src_audio, reference_audio, max_retries, server_wait)

    async def _submit(self, request: TaskRequest, src_audio: Path | None, reference_audio: Path | None,
                 max_retries: int | None, server_wait: ServerWait | None) -> SubmitResult:
        retries = self.max_retries if max_retries is None else max_retries
        attempt = 0
        while True:
            try:
                with self._submit_kwargs(request, src_audio, reference_audio) as kwargs:
                    response = await self._send("POST", "/release_task", **kwargs)
            except ServerUnreachable as exc:
                await asyncio.sleep(self._unsent_submit(server_wait, exc))
                await self._await_server(server_wait)
                continue
            if response.status_code != 429:
                self._learn_push(response)
                return self._submit_result(self._unwrap(response))
            if attempt >= retries:
                raise error_for_status(response, attempts=attempt + 1)
            await asyncio.sleep(self._retry_delay_s(response, attempt))
            attempt += 1

    async def wait_for_server(self, timeout_s: float) -> Health:
        return await self._await_server(ServerWait(self.server, timeout_s))

    async def _await_server(self, server_wait: ServerWait | None) -> Health | None:
        while server_wait is not None:
            try:
                return await self.health()
            except AceKitError as exc:
                await asyncio.sleep(server_wait.probe_failed(exc))
        return None

    async def query(self, task_ids: list[str] | str) -> list[TaskResult]:
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids)
        response = await self._send("POST", "/query_result", json={"task_id_list": ids})
        self._learn_push(response)
        return self._query_results(self._unwrap(response))

    async def wait(
        self,
        task_id: str,
        *,
        poll_interval_s: float | None = None,
        timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        unknown_grace_s: float = DEFAULT_UNKNOWN_GRACE_S,
        on_progress: ProgressCallback | None = None,
    ) -> TaskResult:
        return await self._run_waiter(TaskWaiter(
            task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
            unknown_grace_s=unknown_grace_s, on_progress=on_progress,
        ))

    async def _run_waiter(self, waiter: TaskWaiter) -> TaskResult:
        # `Client._run_waiter` with await: the decisions are the waiter's, shared.
        while True:
            step = waiter.next_step(push=self._may_push)
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
                continue
            if isinstance(step, FetchStats):
                waiter.expected(await self._expected_job_s())
                continue
            method, url, kwargs = self._step_request(step, waiter.task_id)
            try:
                results = self._step_answer(step, await self._send(method, url, **kwargs))
            except (ServerUnreachable, ServiceUnavailable) as exc:
                waiter.unreachable(exc)
                continue
            if results is not None:
                final = waiter.answered(results)
                if final is not None:
                    return final

    async def _expected_job_s(self) -> float | None:
        fresh, value = self._cached_job_s()
        if fresh:
            return value
        try:
            return self._remember_job_s(await self.stats())
        except AceKitError:
            return self._remember_job_s(None)

    async def download(self, file: str | AudioItem, dest: Path) -> Path:
        url, params = self._audio_request(file)
        target = self._download_target(file, Path(dest))
        handle, tmp = self._temp_for(target)
        try:
            with handle:
                try:
                    async with self._http.stream("GET", url, params=params) as response:
                        if response.status_code >= 400:
                            await response.aread()
                            raise error_for_status(response)
                        async for chunk in response.aiter_bytes():
                            handle.write(chunk)
                except httpx.TransportError as exc:
                    raise self._transport_error(exc) from exc
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    async def generate(
        self,
        request: TaskRequest,
        *,
        src_audio: Path | None = None,
        reference_audio: Path | None = None,
        out_dir: Path,
        on_progress: ProgressCallback | None = None,
        poll_interval_s: float | None = None,
        timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
        unknown_grace_s: float = DEFAULT_UNKNOWN_GRACE_S,
        wait_for_server_s: float | None = None,
    ) -> GenerationOutcome:
        out_dir = Path(out_dir)
        _check_request(request)
        self._check_sources(request, src_audio, reference_audio)
        server_wait = self._server_wait(wait_for_server_s)
        await self._await_server(server_wait)  # before the clock starts: the task's timeout is the task's
        submitted_at = datetime.now(timezone.utc)
        started = time.monotonic()
        submitted = await self._submit(request, src_audio, reference_audio, None, server_wait)
        waiter = TaskWaiter(
            submitted.task_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s,
            unknown_grace_s=unknown_grace_s, on_progress=on_progress, started=started,
            queue_ahead=max(0, (submitted.queue_position or 1) - 1),
        )
        result = await self._run_waiter(waiter)
        wall_s = time.monotonic() - started
        out_dir.mkdir(parents=True, exist_ok=True)  # only now: a failed task leaves no empty folder
        paths = [
            await self.download(item, out_dir / self._output_name(item, i, submitted.task_id, request.audio_format))
            for i, item in enumerate(result.items)
        ]
        return GenerationOutcome(
            task_id=submitted.task_id, paths=paths, result=result, submitted_at=submitted_at, wall_s=wall_s,
            queue_wait_s=waiter.queue_wait_s, polls=waiter.polls, download_s=time.monotonic() - started - wall_s,
        )

