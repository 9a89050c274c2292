"""A small keep-alive HTTP/1.1 client for the gateway's hottest path: POST /query_result upstream.

httpx costs about 1 ms of Python per request (URL and header models, h11, anyio); a poll answered
by the upstream in 0.3 ms then takes four times as long through the gateway. This client writes
one fixed request shape over pooled asyncio streams and reads a Content-Length (or chunked)
answer, nothing else. Anything it cannot do (https, an answer it does not understand) raises
`LoopbackUnsupported` and the caller uses httpx instead; a kept-alive connection the upstream
closed meanwhile is retried once on a fresh one (the query is idempotent).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class LoopbackUnsupported(Exception):
    """This upstream or answer needs the full HTTP client."""


class LoopbackAnswer:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content


class LoopbackClient:
    def __init__(self, upstream: str, *, timeout_s: float, max_idle: int = 16) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise LoopbackUnsupported(f"{upstream}: only plain http")
        self.host = parts.hostname
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.host_header = parts.netloc.encode()
        self.timeout_s = timeout_s
        self.max_idle = max_idle
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> LoopbackAnswer:
        head = [f"POST {self.prefix}{path} HTTP/1.1\r\n".encode(), b"host: " + self.host_header + b"\r\n",
                f"content-length: {len(body)}\r\n".encode()]
        head += [f"{k}: {v}\r\n".encode("latin-1") for k, v in headers.items()]
        request = b"".join(head) + b"\r\n" + body
        for attempt in (0, 1):
            reused = bool(self._idle) and attempt == 0
            reader, writer = self._idle.pop() if reused else await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout_s)
            try:
                writer.write(request)
                answer, keep = await asyncio.wait_for(self._read(reader), self.timeout_s)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                writer.close()
                if reused:
                    continue  # the upstream closed an idle connection: once more on a fresh one
                raise ConnectionError(f"upstream closed the connection: {exc}") from exc
            except BaseException:
                writer.close()
                raise
            if keep and len(self._idle) < self.max_idle:
                self._idle.append((reader, writer))
            else:
                writer.close()
            return answer
        raise ConnectionError("upstream keeps closing connections")  # pragma: no cover - loop returns or raises

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[LoopbackAnswer, bool]:
        status_line = await reader.readuntil(b"\r\n")
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise LoopbackUnsupported(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        status = int(parts[1])
        headers: list[tuple[bytes, bytes]] = []
        length = None
        chunked = False
        keep = parts[0] == b"HTTP/1.1"
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip()
            headers.append((name, value))
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                keep = value.lower() == b"keep-alive" or (keep and value.lower() != b"close")
        if chunked:
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                        pass
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            content = bytes(body)
        elif length is not None:
            content = await reader.readexactly(length)
        else:
            raise LoopbackUnsupported("answer without content-length or chunked encoding")
        return LoopbackAnswer(status, headers, content), keep

    def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _exactly(reader: asyncio.StreamReader, n: int, size: int):
    """``n`` body bytes in pieces of at most ``size``; a hang-up before the last one is an error."""
    while n:
        piece = await reader.read(min(size, n))
        if not piece:
            raise ConnectionError("upstream closed mid-body")
        n -= len(piece)
        yield piece


class LoopbackStream:
    """An upstream answer whose body is read on demand (`chunks`), for relaying audio at constant memory."""

    def __init__(self, status_code: int, headers: list[tuple[bytes, bytes]], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter, *, length: int | None, chunked: bool) -> None:
        self.status_code = status_code
        self.headers = headers
        self._reader, self._writer = reader, writer
        self._length, self._chunked = length, chunked

    async def chunks(self, size: int = 1 << 20):
        """The body in pieces of at most ``size`` bytes."""
        reader = self._reader
        if self._chunked:
            while True:
                n = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if n == 0:
                    break
                async for piece in _exactly(reader, n, size):
                    yield piece
                await reader.readexactly(2)
        elif self._length is not None:
            async for piece in _exactly(reader, self._length, size):
                yield piece
        else:
            while piece := await reader.read(size):
                yield piece

    def close(self) -> None:
        self._writer.close()


async def open_get(upstream: str, target: str, headers: list[tuple[bytes, bytes]], *,
                   timeout_s: float) -> LoopbackStream:
    """``GET target`` on a fresh connection (closed after the body); headers as given, plus host."""
    parts = urlsplit(upstream)
    if parts.scheme != "http" or not parts.hostname:
        raise LoopbackUnsupported(f"{upstream}: only plain http")
    reader, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, parts.port or 80), timeout_s)
    try:
        head = [f"GET {parts.path.rstrip('/')}{target} HTTP/1.1\r\n".encode("latin-1"),
                b"host: " + parts.netloc.encode() + b"\r\n", b"connection: close\r\n"]
        head += [k + b": " + v + b"\r\n" for k, v in headers]
        writer.write(b"".join(head) + b"\r\n")
        status_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout_s)
        fields = status_line.split(b" ", 2)
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/1.") or not fields[1].isdigit():
            raise LoopbackUnsupported(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        out: list[tuple[bytes, bytes]] = []
        length, chunked = None, False
        while (line := await asyncio.wait_for(reader.readuntil(b"\r\n"), timeout_s)) != b"\r\n":
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
                continue  # the gateway re-frames the body itself
            out.append((name, value))
        return LoopbackStream(int(fields[1]), out, reader, writer, length=length, chunked=chunked)
    except BaseException:
        writer.close()
        raise
