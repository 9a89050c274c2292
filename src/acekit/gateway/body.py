"""Request bodies on their way through: a size limit, and a sniffer for a few small fields.

The gateway forwards bodies as a stream (a multipart upload can be 100 MB of audio) but
needs two small facts out of ``/release_task`` bodies: ``task_type`` (for telemetry) and
``ai_token`` (for its own API-key check). `FieldSniffer` reads them on the fly from JSON,
urlencoded and multipart bodies, keeping only small non-file fields in memory.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

from python_multipart.multipart import MultipartParser, parse_options_header


class BodyTooLarge(Exception):
    """The request body passed the gateway's limit while it was being streamed."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"request body exceeds {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


def too_large_message(limit_bytes: int, *, declared_bytes: int | None = None) -> str:
    size = f" ({declared_bytes / 1024 / 1024:.1f} MiB)" if declared_bytes is not None else ""
    return (
        f"request body{size} is larger than this gateway accepts ({limit_bytes / 1024 / 1024:.0f} MiB): "
        "send a shorter or compressed clip (mp3/flac), or restart the gateway with a larger --max-upload-mb"
    )


async def limited(stream: AsyncIterator[bytes], limit_bytes: int, sniffer: FieldSniffer | None = None) -> AsyncIterator[bytes]:
    """Yield ``stream`` unchanged, raising `BodyTooLarge` as soon as more than ``limit_bytes`` went by."""
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > limit_bytes:
            raise BodyTooLarge(limit_bytes)
        if sniffer is not None:
            sniffer.feed(chunk)
        if chunk:
            yield chunk


class FieldSniffer:
    """Collects small scalar fields of a JSON, urlencoded or multipart body fed chunk by chunk.

    Never raises on malformed input: a body it cannot read just yields no fields (the upstream
    decides what is wrong with it). File parts and oversized values are skipped.
    """

    def __init__(self, content_type: str | None, *, max_buffer_bytes: int = 1024 * 1024,
                 max_field_bytes: int = 64 * 1024) -> None:
        mime, options = parse_options_header(content_type or "")
        self._kind = {
            b"application/json": "json",
            b"application/x-www-form-urlencoded": "form",
            b"multipart/form-data": "multipart",
        }.get(mime.lower())
        self._max_buffer = max_buffer_bytes
        self._max_field = max_field_bytes
        self._buffer = bytearray()
        self._overflow = False
        self._fields: dict[str, Any] = {}
        self._parser: MultipartParser | None = None
        if self._kind == "multipart":
            boundary = options.get(b"boundary")
            if boundary:
                self._start_multipart(boundary)
            else:
                self._kind = None

    # -- multipart: a streaming parser with callbacks, keeping only small non-file parts
    def _start_multipart(self, boundary: bytes) -> None:
        part: dict[str, Any] = {}
        header = {"field": bytearray(), "value": bytearray()}

        def on_part_begin() -> None:
            part.clear()
            part.update(headers={}, data=bytearray(), skip=False)

        def on_header_field(data: bytes, start: int, end: int) -> None:
            header["field"] += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            header["value"] += data[start:end]

        def on_header_end() -> None:
            part["headers"][bytes(header["field"]).lower()] = bytes(header["value"])
            header["field"].clear()
            header["value"].clear()

        def on_headers_finished() -> None:
            _, opts = parse_options_header(part["headers"].get(b"content-disposition", b""))
            part["name"] = opts.get(b"name", b"").decode("utf-8", "replace")
            part["skip"] = b"filename" in opts or not part["name"]

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if part["skip"]:
                return
            part["data"] += data[start:end]
            if len(part["data"]) > self._max_field:
                part["skip"] = True
                part["data"].clear()

        def on_part_end() -> None:
            if not part.get("skip") and part.get("name"):
                self._fields[part["name"]] = bytes(part["data"]).decode("utf-8", "replace")

        self._parser = MultipartParser(boundary, {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
        })

    def feed(self, chunk: bytes) -> None:
        if self._kind is None or not chunk:
            return
        if self._parser is not None:
            try:
                self._parser.write(chunk)
            except Exception:  # malformed multipart: the upstream will say so; we just stop looking
                self._parser = None
                self._kind = None
            return
        if len(self._buffer) + len(chunk) > self._max_buffer:
            self._overflow = True
            self._buffer.clear()
            self._kind = None
            return
        self._buffer += chunk

    def fields(self) -> dict[str, Any]:
        """Fields read so far; call after the last chunk."""
        if self._kind == "json" and self._buffer:
            try:
                doc = json.loads(bytes(self._buffer))
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                self._fields = {k: v for k, v in doc.items() if isinstance(v, (str, int, float, bool))}
            self._buffer.clear()
        elif self._kind == "form" and self._buffer:
            parsed = parse_qs(bytes(self._buffer).decode("utf-8", "replace"), keep_blank_values=True)
            self._fields = {k: v[-1] for k, v in parsed.items()}
            self._buffer.clear()
        return dict(self._fields)


#: A ``/query_result`` body is read whole (to count its ids); one asking about the most ids allowed
#: (`contract.MAX_QUERY_TASK_IDS`, ~40 bytes each) is ~40 KiB.
QUERY_BODY_LIMIT_BYTES = 256 * 1024


def count_task_ids(raw: bytes, content_type: str | None) -> int:
    """How many ids a JSON or urlencoded ``/query_result`` body asks about (0 when unreadable: the
    upstream says what is wrong). ``task_id_list`` is a list, or a JSON string holding one."""
    mime, _ = parse_options_header(content_type or "")
    value: Any = None
    if b"json" in mime.lower():
        try:
            doc = json.loads(raw)
        except ValueError:
            return 0
        value = doc.get("task_id_list") if isinstance(doc, dict) else None
    elif mime.lower() == b"application/x-www-form-urlencoded":
        value = (parse_qs(raw.decode("utf-8", "replace")).get("task_id_list") or [None])[-1]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return 0
    return len(value) if isinstance(value, list) else 0
