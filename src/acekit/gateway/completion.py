"""Push completion: one shared poller and batched ``/query_result`` calls to the upstream.

Upstream ACE-Step only answers polls. The gateway sits next to it on loopback, so it polls on
everyone's behalf and pushes the answer out:

* `QueryBatcher` merges concurrent ``/query_result`` calls that carry the same credentials
  into one upstream request (the union of their ids) and hands each caller its own items. A
  call arriving while none is in flight goes up at once (no added latency for a lone client);
  calls arriving meanwhile ride on the next request, so N polling clients cost the upstream
  about one request per round trip instead of N.
* `CompletionHub` keeps every task someone waits on and, while there are any, asks the upstream
  about all of them every ``interval_s`` through the batcher. ``GET /v1/wait/{task_id}``
  (long-poll) answers the moment the task ends; ``GET /v1/wait/{task_id}/events`` streams
  server-sent events: ``progress`` whenever the item changes (at least once a second), then
  ``result``. Both answer with upstream's own item shape (as in ``/query_result``'s ``data``).

The gateway advertises the endpoint with a ``X-Acekit-Wait`` header on ``/release_task`` and
``/query_result`` answers; a client that never sees it is talking to plain upstream and polls.
`wait_endpoints` describes both endpoints (paths, parameters, events) for the capabilities
document and ``/gateway/health``, built from the same constants the routes use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from acekit.capabilities.schema import EventStreamEndpoint, LongPollEndpoint, QueryParam, SseEvent, WaitEndpoints
from acekit.contract import MAX_QUERY_TASK_IDS, TaskStatus, too_many_task_ids
from acekit.gateway.auth import bearer_token, key_matches, require_key
from acekit.gateway.envelope import UpstreamBrokeOff, error_response, ok, unreachable_response
from acekit.gateway.loopback import LoopbackClient, LoopbackUnsupported, open_get

log = logging.getLogger("acekit.gateway")

#: Header on /release_task and /query_result answers; its value is the wait path with ``{task_id}``.
WAIT_HEADER = "x-acekit-wait"
WAIT_PATH = "/v1/wait/{task_id}"
EVENTS_PATH = WAIT_PATH + "/events"
#: ``timeout_s`` of the long-poll and of the event stream: default and largest value, seconds.
LONG_POLL_DEFAULT_S, LONG_POLL_MAX_S = 20.0, 300.0
EVENTS_DEFAULT_S, EVENTS_MAX_S = 1800.0, 86400.0
#: An unchanged item is sent again this often on the event stream (a heartbeat the client can see).
HEARTBEAT_S = 1.0
#: Event names of the stream: ``progress`` while the task runs, then one of the final ones.
EVENT_PROGRESS, EVENT_RESULT, EVENT_TIMEOUT = "progress", "result", "timeout"
#: Largest /query_result body the batcher reads; anything bigger (or odd) goes through unchanged.
_MAX_QUERY_BODY = 64 * 1024
#: Finished items kept for late waiters (a client that long-polls just after the end).
_FINISHED_KEEP_S = 120.0

#: (Authorization header, ai_token) a caller authenticated with upstream; calls are only merged
#: when these agree, so nobody is answered with someone else's key.
Credentials = tuple[str | None, str | None]


@dataclass
class UpstreamAnswer:
    status_code: int
    headers: list[tuple[bytes, bytes]]
    raw: bytes
    items: dict[str, Any] = field(default_factory=dict)
    envelope: dict[str, Any] | None = None

    def for_ids(self, ids: list[str], *, whole: bool) -> bytes:
        """The answer one caller gets: upstream's bytes when it asked for everything, else its items."""
        if whole or self.status_code != 200 or self.envelope is None:
            return self.raw
        doc = dict(self.envelope)
        doc["data"] = [self.items[t] for t in ids if t in self.items]
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


class _Batch:
    def __init__(self) -> None:
        self.ids: dict[str, None] = {}  # ordered set
        self.future: asyncio.Future[UpstreamAnswer] = asyncio.get_running_loop().create_future()
        self.callers = 0


class QueryBatcher:
    """Merges concurrent ``/query_result`` calls per credentials (see the module docstring)."""

    def __init__(self, client: httpx.AsyncClient, upstream: str, upstream_key: str | None, *,
                 on_answer: Any = None, loopback: LoopbackClient | None = None) -> None:
        self.client = client
        self.loopback = loopback  # the cheap path; httpx when None or when it cannot cope
        self.upstream = upstream
        self.upstream_key = upstream_key
        self.on_answer = on_answer  # called with each parsed envelope (telemetry learns from it)
        self.upstream_requests = 0
        self._pending: dict[Credentials, _Batch] = {}
        self._busy: set[Credentials] = set()

    def _key(self, creds: Credentials) -> Credentials:
        return (None, None) if self.upstream_key else creds

    async def query(self, ids: list[str], creds: Credentials) -> tuple[UpstreamAnswer, bool]:
        """(upstream's answer for a batch holding ``ids``, whether that batch asked exactly ``ids``).

        Transport errors propagate as httpx exceptions to every caller of the batch.
        """
        key = self._key(creds)
        batch = self._pending.get(key)
        if batch is None:
            batch = self._pending[key] = _Batch()
        batch.ids.update(dict.fromkeys(ids))
        batch.callers += 1
        if key not in self._busy:
            self._launch(key)
        answer = await asyncio.shield(batch.future)
        return answer, list(batch.ids) == list(ids)  # everyone who asked exactly this gets upstream's bytes

    def _launch(self, key: Credentials) -> None:
        batch = self._pending.pop(key)
        self._busy.add(key)
        asyncio.get_running_loop().create_task(self._send(key, batch))

    async def _send(self, key: Credentials, batch: _Batch) -> None:
        try:
            batch.future.set_result(await self._post(list(batch.ids), key))
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            if not batch.future.done():
                batch.future.set_exception(exc)
            batch.future.exception()  # mark retrieved: callers may all have gone
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self._busy.discard(key)
            if key in self._pending:  # calls that arrived meanwhile go up now, together
                self._launch(key)

    async def _post(self, ids: list[str], key: Credentials) -> UpstreamAnswer:
        authorization, token = key
        body: dict[str, Any] = {"task_id_list": ids}
        headers = {"content-type": "application/json"}
        if self.upstream_key:
            headers["authorization"] = f"Bearer {self.upstream_key}"
        elif authorization:
            headers["authorization"] = authorization
        if token and not self.upstream_key:
            body["ai_token"] = token
        self.upstream_requests += 1
        content = json.dumps(body).encode()
        status_code, raw_headers, raw = await self._exchange(content, headers)
        answer = UpstreamAnswer(
            status_code=status_code, raw=raw,
            headers=[(k.lower(), v) for k, v in raw_headers
                     if k.lower() not in (b"content-length", b"content-encoding", b"transfer-encoding",
                                          b"connection", b"keep-alive", b"date", b"server")])
        if status_code == 200:
            try:
                doc = json.loads(raw)
            except ValueError:
                doc = None
            if isinstance(doc, dict) and isinstance(doc.get("data"), list):
                answer.envelope = doc
                answer.items = {i["task_id"]: i for i in doc["data"] if isinstance(i, dict)
                                and isinstance(i.get("task_id"), str)}
                if self.on_answer is not None:
                    self.on_answer(doc)
        return answer


    async def _exchange(self, content: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        if self.loopback is not None:
            try:
                r = await self.loopback.post("/query_result", content, headers)
                return r.status_code, r.headers, r.content
            except LoopbackUnsupported as exc:
                log.info("loopback client cannot talk to %s (%s): using httpx", self.upstream, exc)
                self.loopback = None
            except asyncio.TimeoutError as exc:
                raise httpx.ReadTimeout(f"no answer from {self.upstream}/query_result in time") from exc
            except OSError as exc:  # refused, reset, closed: what httpx calls a transport error
                raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
        response = await self.client.post(self.upstream + "/query_result", content=content, headers=headers)
        return response.status_code, list(response.headers.raw), response.content


def query_ids(raw: bytes, content_type: str | None) -> tuple[list[str], str | None] | None:
    """(task ids, ai_token) of a plain JSON ``/query_result`` body the batcher can merge; else None."""
    if not raw or len(raw) > _MAX_QUERY_BODY or "json" not in (content_type or "").lower():
        return None
    try:
        doc = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(doc, dict) or set(doc) - {"task_id_list", "ai_token"}:
        return None
    ids = doc.get("task_id_list")
    if isinstance(ids, str):  # upstream also takes a JSON string of a list
        try:
            ids = json.loads(ids)
        except ValueError:
            return None
    token = doc.get("ai_token")
    if not isinstance(ids, list) or not ids or not all(isinstance(t, str) and t for t in ids):
        return None
    if token is not None and not isinstance(token, str):
        return None
    return ids, token


def is_final(item: Any) -> bool:
    if not isinstance(item, dict):
        return False
    try:
        return int(item.get("status", 0)) in (TaskStatus.succeeded, TaskStatus.failed)
    except (TypeError, ValueError):
        return False


class _Watch:
    def __init__(self, creds: Credentials) -> None:
        self.creds = creds
        self.item: dict[str, Any] | None = None
        self.version = 0
        self.waiters = 0
        self.finished_at: float | None = None
        self.changed = asyncio.Event()

    def update(self, item: dict[str, Any]) -> None:
        if item != self.item:
            self.item = item
            self.version += 1
            self.changed.set()
            self.changed = asyncio.Event()
        if is_final(item) and self.finished_at is None:
            self.finished_at = time.monotonic()


class CompletionHub:
    """Tasks someone waits on, polled together every ``interval_s`` (see the module docstring)."""

    def __init__(self, batcher: QueryBatcher, *, interval_s: float) -> None:
        self.batcher = batcher
        self.interval_s = interval_s
        self.watches: dict[str, _Watch] = {}
        self._wake = asyncio.Event()

    def watch(self, task_id: str, creds: Credentials) -> _Watch:
        w = self.watches.get(task_id)
        if w is None or (w.finished_at is None and w.creds != creds and w.waiters == 0):
            w = self.watches[task_id] = _Watch(creds)
        self._wake.set()
        return w

    async def wait_change(self, w: _Watch, version: int, timeout_s: float) -> None:
        """Return when ``w`` changed after ``version``, or after ``timeout_s``."""
        if w.version != version or timeout_s <= 0:
            return
        event = w.changed
        w.waiters += 1
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except asyncio.TimeoutError:
            pass
        finally:
            w.waiters -= 1

    def _prune(self) -> None:
        now = time.monotonic()
        for tid, w in list(self.watches.items()):
            done_long_ago = w.finished_at is not None and now - w.finished_at > _FINISHED_KEEP_S
            if done_long_ago or (w.waiters == 0 and w.finished_at is None and w.item is not None):
                del self.watches[tid]

    async def run(self) -> None:
        """The shared poller: while anyone waits, one batched upstream query per tick."""
        while True:
            self._prune()
            active: dict[Credentials, list[str]] = {}
            for tid, w in self.watches.items():
                if w.finished_at is None:
                    active.setdefault(self.batcher._key(w.creds), []).append(tid)
            if not active:
                self._wake.clear()
                await self._wake.wait()
                continue
            started = time.monotonic()
            await asyncio.gather(*(self._poll(ids, creds) for creds, ids in active.items()))
            await asyncio.sleep(max(0.0, self.interval_s - (time.monotonic() - started)))

    async def _poll(self, ids: list[str], creds: Credentials) -> None:
        try:
            answer, _ = await self.batcher.query(ids, creds)
        except httpx.HTTPError as exc:  # upstream restarting: waiters time out and see the last item
            log.debug("wait poll of %d task(s) failed: %s", len(ids), exc)
            return
        for tid in ids:
            item = answer.items.get(tid)
            w = self.watches.get(tid)
            if w is not None and isinstance(item, dict):
                w.update(item)


def _creds(request: Request) -> Credentials:
    return request.headers.get("authorization"), request.query_params.get("ai_token")


def _pending_item(task_id: str) -> dict[str, Any]:
    # Not seen upstream yet (or upstream unreachable so far): the shape of a queued task.
    return {"task_id": task_id, "status": 0, "result": "[]", "progress_text": ""}


router = APIRouter()


def wait_endpoints(upstream_poll_s: float | None = None) -> WaitEndpoints:
    """What the two wait routes below accept and answer, for a client that discovers them."""
    return WaitEndpoints(
        long_poll=LongPollEndpoint(
            path=WAIT_PATH,
            query=[QueryParam(name="timeout_s", type="number", unit="s", default=LONG_POLL_DEFAULT_S, minimum=0,
                              maximum=LONG_POLL_MAX_S, description="longest wait; answers at once when the task "
                                                                   "has ended")],
            answer="envelope whose data is [task item] (the moment the task ends, else its latest item after "
                   "timeout_s) and whose extra.final says whether that item is final; a task the server does not "
                   "know (yet) answers status 0 with result '[]'"),
        events=EventStreamEndpoint(
            path=EVENTS_PATH,
            query=[QueryParam(name="timeout_s", type="number", unit="s", default=EVENTS_DEFAULT_S, minimum=0,
                              maximum=EVENTS_MAX_S, description="stop streaming after this")],
            events=[
                SseEvent(name=EVENT_PROGRESS, final=False,
                         description="the task's item whenever it changes, and again at least every heartbeat_s"),
                SseEvent(name=EVENT_RESULT, final=True, description="the final item: status 1 succeeded or 2 failed"),
                SseEvent(name=EVENT_TIMEOUT, final=True,
                         description="timeout_s passed first: the latest item; wait again to go on"),
            ],
            heartbeat_s=HEARTBEAT_S),
        header=WAIT_HEADER,
        upstream_poll_s=upstream_poll_s,
    )


@router.get(WAIT_PATH, dependencies=[Depends(require_key)])
async def wait_for_task(request: Request, task_id: str,
                        timeout_s: float = Query(LONG_POLL_DEFAULT_S, ge=0, le=LONG_POLL_MAX_S,
                                                 description="longest wait, seconds")):
    """Long-poll: the task's ``/query_result`` item the moment it ends, or the latest one after ``timeout_s``."""
    hub: CompletionHub = request.app.state.gateway.completion
    w = hub.watch(task_id, _creds(request))
    deadline = time.monotonic() + timeout_s
    if w.item is None:  # first sighting: ask at once rather than a tick from now
        await hub.wait_change(w, w.version, min(timeout_s, 0.5 + hub.interval_s))
    while not is_final(w.item) and (left := deadline - time.monotonic()) > 0:
        await hub.wait_change(w, w.version, left)
    return ok([w.item or _pending_item(task_id)], extra={"final": is_final(w.item)})


@router.get(EVENTS_PATH, dependencies=[Depends(require_key)])
async def task_events(request: Request, task_id: str,
                      timeout_s: float = Query(EVENTS_DEFAULT_S, ge=0, le=EVENTS_MAX_S,
                                               description="stop streaming after this")):
    """Server-sent events: ``progress`` with the item on every change (at least every second), then ``result``."""
    hub: CompletionHub = request.app.state.gateway.completion
    w = hub.watch(task_id, _creds(request))

    async def stream() -> AsyncIterator[bytes]:
        deadline = time.monotonic() + timeout_s
        version = -1
        while True:
            item = w.item or _pending_item(task_id)
            if is_final(w.item):
                yield _event(EVENT_RESULT, item)
                return
            if w.version != version or w.item is None:
                version = w.version
                yield _event(EVENT_PROGRESS, item)
            left = deadline - time.monotonic()
            if left <= 0:
                yield _event(EVENT_TIMEOUT, item)
                return
            if await request.is_disconnected():
                return
            await hub.wait_change(w, version, min(HEARTBEAT_S, left))
            if w.version == version:
                yield _event(EVENT_PROGRESS, item)  # heartbeat: the client sees an unchanged item

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"cache-control": "no-cache", "x-accel-buffering": "no"})


def _event(name: str, item: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(item, ensure_ascii=False, separators=(',', ':'))}\n\n".encode()


class FastPaths:
    """ASGI middleware for the two requests on a result's critical path, before FastAPI routes anything.

    * ``POST /query_result`` goes straight to the batcher: a poll is the gateway's most frequent
      request, and routing, dependency injection and a streamed pass-through cost more than the
      upstream's own answer. Bodies the batcher cannot merge, and requests whose gateway key could
      only be in the body, are replayed into the normal route.
    * ``GET /v1/audio`` is relayed over a plain loopback connection in 1 MiB pieces (constant
      memory), about as fast as fetching it from the upstream directly.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/audio" and scope["method"] == "GET":
            if await _relay_audio(scope, send):
                return
        if scope["type"] != "http" or scope["path"] != "/query_result" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state.gateway
        messages = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body") or size > _MAX_QUERY_BODY:
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        token = _query_token(scope.get("query_string", b""))
        answer = None
        if size <= _MAX_QUERY_BODY and messages[-1]["type"] == "http.request" and not messages[-1].get("more_body"):
            key = state.settings.api_key
            if key is None or key_matches(key, bearer_token(headers.get("authorization"))) or key_matches(key, token):
                body = b"".join(m.get("body", b"") for m in messages)
                answer = await batched_query(headers, token, body, state)
        if answer is None:
            pending = list(messages)

            async def replay() -> dict:
                return pending.pop(0) if pending else await receive()

            await self.app(scope, replay, send)
            return
        await answer(scope, receive, send)


_HOP = frozenset({b"host", b"connection", b"keep-alive", b"te", b"trailer", b"trailers", b"transfer-encoding",
                  b"upgrade", b"proxy-authorization", b"proxy-authenticate", b"expect"})


async def _relay_audio(scope: dict, send: Any) -> bool:
    """Relay a ``GET /v1/audio`` over loopback; False when the normal pass-through should (no loopback,
    or the gateway key is not in the header or query string)."""
    state = scope["app"].state.gateway
    settings = state.settings
    if state.completion.batcher.loopback is None or b"%00" in scope.get("query_string", b"").lower():
        return False  # a NUL byte: the pass-through refuses it with a 400
    headers = [(k.lower(), v) for k, v in scope["headers"] if k.lower() not in _HOP]
    if settings.api_key is not None:
        auth = next((v.decode("latin-1") for k, v in headers if k == b"authorization"), None)
        if not (key_matches(settings.api_key, bearer_token(auth))
                or key_matches(settings.api_key, _query_token(scope.get("query_string", b"")))):
            return False  # the route answers 401 with its usual message
    if settings.upstream_api_key:
        headers = [(k, v) for k, v in headers if k != b"authorization"]
        headers.append((b"authorization", f"Bearer {settings.upstream_api_key}".encode()))
    target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    try:
        upstream = await open_get(settings.upstream, target, headers, timeout_s=settings.read_timeout_s)
    except LoopbackUnsupported:
        return False
    except asyncio.TimeoutError:
        await error_response(504, f"the ACE-Step server at {settings.upstream} did not answer within "
                                  f"{settings.read_timeout_s:g} s")(scope, None, send)
        return True
    except OSError as exc:
        await unreachable_response(settings.upstream, exc)(scope, None, send)
        return True
    try:
        await send({"type": "http.response.start", "status": upstream.status_code,
                    "headers": [(k, v) for k, v in upstream.headers if k not in (b"date", b"server")]})
        try:
            async for piece in upstream.chunks():
                await send({"type": "http.response.body", "body": piece, "more_body": True})
        except (OSError, asyncio.IncompleteReadError) as exc:
            # Headers are out: all we can do is cut the body short (the client sees a length mismatch).
            # Ending the response as if whole would make uvicorn log a traceback: raise the quiet kind.
            log.warning("upstream broke off %s%s mid-body: %s", settings.upstream, target, exc)
            raise UpstreamBrokeOff(str(exc)) from None
        with contextlib.suppress(OSError):  # the client may be gone already
            await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        upstream.close()
    return True


def _query_token(query_string: bytes) -> str | None:
    if b"ai_token" not in query_string:
        return None
    values = parse_qs(query_string.decode("latin-1")).get("ai_token")
    return values[-1] if values else None


async def batched_query(headers: dict[str, str], query_token: str | None, raw: bytes, state: Any) -> Response | None:
    """Answer a ``/query_result`` through the batcher; None when the body is not one it can merge."""
    parsed = query_ids(raw, headers.get("content-type"))
    if parsed is None:
        return None
    ids, token = parsed
    if len(ids) > MAX_QUERY_TASK_IDS:
        return error_response(400, too_many_task_ids(len(ids)))
    creds = (headers.get("authorization"), token or query_token)
    try:
        answer, whole = await state.completion.batcher.query(ids, creds)
    except httpx.TimeoutException:
        return error_response(504, f"the ACE-Step server at {state.settings.upstream} did not answer /query_result "
                                   f"within {state.settings.read_timeout_s:g} s (overloaded? check its logs)")
    except httpx.TransportError as exc:
        return unreachable_response(state.settings.upstream, exc)
    response = Response(content=answer.for_ids(ids, whole=whole), status_code=answer.status_code)
    response.raw_headers = [*answer.headers, (b"content-length", str(len(response.body)).encode()),
                            (WAIT_HEADER.encode(), WAIT_PATH.encode())]
    return response
