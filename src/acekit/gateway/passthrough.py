"""Everything the gateway does not answer itself goes to the ACE-Step server, unchanged.

Method, path (raw, as the client encoded it), query string, headers (less hop-by-hop ones)
and body go up; status, headers and body come back. Bodies stream both ways: an upload is
counted against the size limit as it passes and a ``/v1/audio`` answer is relayed chunk by
chunk with its own content-length/-type, never held whole in memory. The only answers read
whole are the small JSON ones of ``/release_task`` and ``/query_result``, which the gateway
inspects for telemetry before relaying them byte for byte.
"""

from __future__ import annotations

import gzip
import logging
import tempfile
from collections.abc import AsyncIterator
from typing import IO, Any

import httpx
from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from starlette.responses import Response, StreamingResponse

from acekit.gateway.admission import refusal
from acekit.gateway.auth import OPEN_PATHS, header_or_query_ok, key_matches, rejection_detail
from acekit.contract import MAX_QUERY_TASK_IDS, too_many_task_ids
from acekit.gateway.body import (
    QUERY_BODY_LIMIT_BYTES,
    BodyTooLarge,
    FieldSniffer,
    count_task_ids,
    limited,
    too_large_message,
)
from acekit.gateway.completion import WAIT_HEADER, WAIT_PATH
from acekit.gateway.envelope import UpstreamBrokeOff, error_response, unreachable_response
from acekit.gateway.telemetry import parse_json_body

log = logging.getLogger("acekit.gateway")

# RFC 9110 7.6.1 hop-by-hop fields, plus the ones the two HTTP stacks set themselves.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade",
})
_DROP_REQUEST = HOP_BY_HOP | {"host", "expect"}
_DROP_RESPONSE = HOP_BY_HOP | {"date", "server"}  # uvicorn writes its own

#: Upstream paths whose JSON answers feed telemetry.
RELEASE_PATH = "/release_task"
QUERY_PATH = "/query_result"

#: A body spooled for its ai_token stays in memory up to this size, then goes to a temp file.
SPOOL_MEMORY_BYTES = 1024 * 1024
SPOOL_BLOCK_BYTES = 256 * 1024
router = APIRouter()


def timeout_message(upstream: str, exc: httpx.TimeoutException, settings) -> str:
    return (f"the ACE-Step server at {upstream} did not answer within {settings.read_timeout_s:g} s: "
            "poll /query_result instead of waiting, or raise the gateway's read timeout")


def upstream_headers(request: Request, upstream_key: str | None) -> list[tuple[str, str]]:
    headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST]
    if upstream_key:
        headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
        headers.append(("authorization", f"Bearer {upstream_key}"))
    return headers


def relay_headers(response: httpx.Response) -> list[tuple[bytes, bytes]]:
    return [(k.lower(), v) for k, v in response.headers.raw if k.decode("latin-1").lower() not in _DROP_RESPONSE]


def _decoded(raw: bytes, response: httpx.Response) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").lower()
    if encoding == "gzip":
        try:
            return gzip.decompress(raw)
        except OSError:
            return b""
    return raw if encoding == "identity" else b""


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                  include_in_schema=False)
async def passthrough(request: Request, path: str) -> Response:
    state = request.app.state.gateway
    settings = state.settings
    limit = settings.max_upload_bytes
    route = request.url.path

    if "\x00" in route or any("\x00" in k + v for k, v in request.query_params.multi_items()):
        # No file or field name holds a NUL; servers that hand it to os.path answer 500 ("embedded null byte").
        return error_response(400, "the URL contains a NUL byte (%00): remove it from the path and query")

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        # Refuse before reading a byte of it.
        return error_response(413, too_large_message(limit, declared_bytes=int(declared)))

    sniffer = FieldSniffer(request.headers.get("content-type")) if route == RELEASE_PATH else None
    body: Any = None
    spool: IO[bytes] | None = None
    needs_key = settings.api_key is not None and route not in OPEN_PATHS
    if needs_key and not header_or_query_ok(settings.api_key, request):
        # Only a body ai_token can still authenticate this request: spool the body (bounded; on
        # disk past SPOOL_MEMORY_BYTES, so a 100 MB upload never sits in memory) to look.
        sniffer = sniffer or FieldSniffer(request.headers.get("content-type"))
        spool, refused = await _spool(request, limit, sniffer)
        if refused is not None:
            return refused
        token = sniffer.fields().get("ai_token")
        if not key_matches(settings.api_key, token):
            spool.close()
            return error_response(401, rejection_detail(request, body_token=token))
    if settings.admission and route == RELEASE_PATH and request.method == "POST":
        # Admission needs the request's fields before anything goes upstream: spool the body (bounded).
        if spool is None:
            sniffer = sniffer or FieldSniffer(request.headers.get("content-type"))
            spool, refused = await _spool(request, limit, sniffer)
            if refused is not None:
                return refused
        doc, _ = await state.capabilities.get(state.client, authorization=request.headers.get("authorization"))
        why = refusal(sniffer.fields(), doc)
        if why:
            spool.close()
            log.info("admission refused a request: %s", why)
            return error_response(422, why, extra={"admission": "refused; the gateway's --no-admission turns this off"})
    if spool is not None:
        size = spool.tell()
        spool.seek(0)
        body = _replay(spool) if size else b""
    has_body = bool(request.headers.get("transfer-encoding")) or declared not in (None, "0")
    if route == QUERY_PATH and request.method == "POST" and (has_body or body is not None):
        # Refuse a query for more ids than the contract allows before the upstream spends time on it.
        try:
            if not isinstance(body, bytes):  # a spooled body (or none read yet): read it, bounded
                body = b"".join([c async for c in limited(body if body is not None else request.stream(),
                                                          QUERY_BODY_LIMIT_BYTES)])
        except BodyTooLarge:
            return error_response(413, f"the /query_result body is larger than {QUERY_BODY_LIMIT_BYTES // 1024} KiB: "
                                       f"ask about at most {MAX_QUERY_TASK_IDS} task ids per call (split the list)")
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            if spool is not None:
                spool.close()
        count = count_task_ids(body, request.headers.get("content-type"))
        if count > MAX_QUERY_TASK_IDS:
            return error_response(400, too_many_task_ids(count))
    if body is None and has_body:
        body = limited(request.stream(), limit, sniffer)

    raw_path = request.scope.get("raw_path") or route.encode()
    url = settings.upstream + raw_path.decode("latin-1")
    if request.url.query:
        url += "?" + request.url.query
    upstream_request = state.client.build_request(
        request.method, url, headers=upstream_headers(request, settings.upstream_api_key), content=body)
    try:
        upstream = await state.client.send(upstream_request, stream=True)
    except BodyTooLarge:
        return error_response(413, too_large_message(limit))
    except ClientDisconnect:
        return Response(status_code=400)
    except httpx.ConnectTimeout as exc:
        return unreachable_response(settings.upstream, exc)
    except httpx.TimeoutException as exc:
        return error_response(504, timeout_message(settings.upstream, exc, settings))
    except httpx.TransportError as exc:
        return unreachable_response(settings.upstream, exc)
    finally:
        if spool is not None:  # the request body is sent in full before the answer's head arrives
            spool.close()

    headers = relay_headers(upstream)
    if route in (RELEASE_PATH, QUERY_PATH) and request.method == "POST":
        try:
            raw = b"".join([chunk async for chunk in upstream.aiter_raw()])
        except httpx.TimeoutException as exc:
            return error_response(504, timeout_message(settings.upstream, exc, settings))
        except httpx.TransportError as exc:
            return unreachable_response(settings.upstream, exc)
        finally:
            await upstream.aclose()
        if upstream.status_code == 200:
            doc = parse_json_body(_decoded(raw, upstream))
            if route == RELEASE_PATH:
                fields = sniffer.fields() if sniffer else {}
                token = request.query_params.get("ai_token") or fields.get("ai_token")
                state.tracker.learn_release(doc, fields, credentials=(
                    request.headers.get("authorization"), token if isinstance(token, str) else None))
            else:
                state.tracker.learn_query(doc)
        response = Response(content=raw, status_code=upstream.status_code)
        response.raw_headers = [*headers, (WAIT_HEADER.encode(), WAIT_PATH.encode())]  # advertise push completion
        return response

    response = StreamingResponse(_relay(upstream), status_code=upstream.status_code,
                                 background=BackgroundTask(upstream.aclose))
    response.raw_headers = headers
    return response


async def _spool(request: Request, limit: int, sniffer: FieldSniffer) -> tuple[IO[bytes], Response | None]:
    """The request body in a temp file (in memory up to SPOOL_MEMORY_BYTES), fed to ``sniffer`` on
    the way; or the answer that refuses it (too large, client gone)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)
    try:
        async for chunk in limited(request.stream(), limit, sniffer):
            spool.write(chunk)
    except BodyTooLarge:
        spool.close()
        return spool, error_response(413, too_large_message(limit))
    except ClientDisconnect:
        spool.close()
        return spool, Response(status_code=400)
    return spool, None


async def _replay(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while block := spool.read(SPOOL_BLOCK_BYTES):
        yield block


async def _relay(upstream: httpx.Response):
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    except httpx.TransportError as exc:
        # Headers are already out; all we can do is cut the body short (the client sees a
        # length mismatch) and leave a trace.
        log.warning("upstream broke off %s mid-body: %s", upstream.request.url, exc)
        raise UpstreamBrokeOff(str(exc)) from None
    finally:
        await upstream.aclose()

