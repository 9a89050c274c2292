"""``GET /v1/capabilities``: the matrix's document when there is one, else a conservative default.

A capabilities file is re-read whenever it changes on disk (mtime, size or inode: the matrix
may rewrite it in place or rename a new one over it), so a new matrix run reaches the plugin
without a gateway restart. A file that turns invalid does not take the endpoint down: the
last good document (or the default) is served, with the problem in the envelope's ``extra``.

Whatever its origin, the served document's ``completion`` is this gateway's own: its wait
endpoints (`acekit.gateway.completion.wait_endpoints`), which a file built elsewhere cannot know.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from pydantic import ValidationError

from acekit.capabilities import SCHEMA_VERSION, Capabilities, Completion
from acekit.capabilities.defaults import default_capabilities, models_from_payload
from acekit.gateway.auth import require_key
from acekit.gateway.completion import wait_endpoints
from acekit.gateway.envelope import ok
from acekit.gateway.gpu import MemorySampler

log = logging.getLogger("acekit.gateway")


class CapabilitiesFileError(ValueError):
    pass


def load_capabilities_file(path: Path) -> Capabilities:
    """Read and validate a capabilities JSON; errors say which file and what to do."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise CapabilitiesFileError(f"cannot read capabilities file {path}: {exc.strerror or exc}") from exc
    try:
        return Capabilities.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "(document)"
        raise CapabilitiesFileError(
            f"capabilities file {path} is not a valid capabilities document ({exc.error_count()} error(s); "
            f"first at {where}: {first.get('msg')}): regenerate it with the matrix, or check it against "
            "`acekit capabilities --schema`") from exc


class CapabilitiesProvider:
    def __init__(self, *, path: Path | None, sampler: MemorySampler, upstream: str,
                 upstream_key: str | None, cache_s: float, dtype: str | None = None, lm: str | None = None,
                 offload: bool | None = None, offload_dit: bool = False) -> None:
        self.path = path
        self.dtype, self.lm, self.offload, self.offload_dit = dtype, lm, offload, offload_dit
        self.sampler = sampler
        self.upstream = upstream
        self.upstream_key = upstream_key
        self.cache_s = cache_s
        self._file_doc: Capabilities | None = None
        self._file_sig: tuple[int, int, int] | None = None
        self._file_error: str | None = None
        self._default: tuple[float, Capabilities] | None = None
        self._lock = asyncio.Lock()

    def _from_file(self) -> tuple[Capabilities | None, str | None]:
        """The file's document (reloaded if it changed) and any problem with it."""
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except OSError:
            return self._file_doc, (f"capabilities file {self.path} does not exist (yet): run the matrix to "
                                    "produce it; serving " + ("the last good copy" if self._file_doc else "a default"))
        sig = (st.st_mtime_ns, st.st_size, st.st_ino)
        if sig != self._file_sig:
            self._file_sig = sig
            try:
                self._file_doc = load_capabilities_file(self.path)
                self._file_error = None
                log.info("loaded capabilities from %s", self.path)
            except CapabilitiesFileError as exc:
                self._file_error = str(exc)
                log.warning("%s", exc)
        return self._file_doc, self._file_error

    async def get(self, client: httpx.AsyncClient, *, authorization: str | None = None) -> tuple[Capabilities, dict[str, Any]]:
        extra: dict[str, Any] = {"capabilities_file": str(self.path) if self.path else None}
        if self.path is not None:
            doc, problem = self._from_file()
            if problem:
                extra["warning"] = problem
            if doc is not None:
                extra["origin"] = "file"
                return doc, extra
        extra["origin"] = "default"
        return await self._default_doc(client, authorization), extra

    async def _default_doc(self, client: httpx.AsyncClient, authorization: str | None) -> Capabilities:
        async with self._lock:
            now = time.monotonic()
            if self._default and now - self._default[0] < self.cache_s:
                return self._default[1]
            headers = {}
            if self.upstream_key:
                headers["authorization"] = f"Bearer {self.upstream_key}"
            elif authorization:
                headers["authorization"] = authorization
            models, health = await asyncio.gather(self._models(client, headers), self._get(client, "/health", headers))
            health_data = health.get("data") if isinstance(health, dict) else None
            health_data = health_data if isinstance(health_data, dict) else {}
            service = str(health_data.get("service") or "")
            doc = default_capabilities(
                await asyncio.to_thread(self.sampler.gpu),
                models,
                engine="acekit-reference" if "reference" in service.lower() else "ACE-Step",
                server_version=str(health_data["version"]) if health_data.get("version") is not None else None,
                url=self.upstream,
                dtype=self.dtype,
                lm=self.lm,
                offload=self.offload,
                offload_dit=self.offload_dit,
            )
            if models:  # an answer without models (upstream down) must not be cached
                self._default = (now, doc)
            return doc

    async def _models(self, client: httpx.AsyncClient, headers: dict[str, str]) -> list:
        # Newer upstream shadows /v1/models with an OpenRouter list; the inventory is the DiT list.
        for path in ("/v1/model_inventory", "/v1/models"):
            doc = await self._get(client, path, headers)
            models = models_from_payload(doc.get("data")) if isinstance(doc, dict) else []
            if models:
                return models
        return []

    async def _get(self, client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> Any:
        try:
            response = await client.get(self.upstream + path, headers=headers, timeout=5.0)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        try:
            return response.json()
        except ValueError:
            return None


router = APIRouter()


@router.get("/v1/capabilities", dependencies=[Depends(require_key)])
async def capabilities(request: Request):
    state = request.app.state.gateway
    doc, extra = await state.capabilities.get(state.client, authorization=request.headers.get("authorization"))
    return ok(served(doc, state.settings.wait_poll_s).model_dump(mode="json"), extra=extra)


def served(doc: Capabilities, wait_poll_s: float) -> Capabilities:
    """``doc`` as this gateway serves it: with its wait endpoints, at the schema version that has them."""
    return doc.model_copy(update={"schema_version": SCHEMA_VERSION,
                                  "completion": Completion(wait=wait_endpoints(wait_poll_s))})
