"""Admission: refuse at once a ``/release_task`` that cannot fit in GPU memory, instead of letting the
server run out of memory minutes later.

The limits come from the capabilities document the gateway serves (its ``fit`` section: the fit
model's prediction for this GPU, or out-of-memory cases a matrix recorded). A refusal is a 422 that
names the limit and what would fit, e.g. "batch 4 at 240 s does not fit in 14.6 GB at fp32; batch 1
does (up to 600 s)". A request with ``use_tiled_decode=false`` is held to the document's untiled limits (the
whole batch decoded at once: about 45 GiB at 600 s). Requests the document says nothing about (no ``fit`` section, a model the fit
model does not know, no duration given) go through unchanged. ``--no-admission`` turns it off.

A request naming a DiT the server has not loaded is refused too, when the server says which it loaded
(upstream's ``is_loaded``): upstream would silently run it on its primary DiT (job_model_selection), so
the plugin would get another model than the one it asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from acekit import contract
from acekit.capabilities import Capabilities, FitInfo

#: Upstream's spellings of the fields admission reads (its PARAM_ALIASES).
_ALIASES = {
    "model": ("model", "model_name", "modelName", "dit_model", "ditModel"),
    "audio_duration": ("audio_duration", "duration", "audioDuration", "target_duration", "targetDuration"),
    "batch_size": ("batch_size", "batchSize"),
    "thinking": ("thinking",),
    "use_tiled_decode": ("use_tiled_decode", "useTiledDecode"),
}


def _field(fields: Mapping[str, Any], name: str) -> Any:
    for alias in _ALIASES[name]:
        if alias in fields and fields[alias] not in (None, ""):
            return fields[alias]
    return None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool:
    # upstream's _to_bool: a string is true only as 1/true/yes/y/on; anything else given is false
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "on")
    return bool(value)


def _default_model(doc: Capabilities) -> str | None:
    for m in doc.models:
        if m.is_default:
            return m.name
    return doc.models[0].name if doc.models else None


def refusal(fields: Mapping[str, Any], doc: Capabilities) -> str | None:
    """Why the request cannot run as asked on this backend, or None to let it through."""
    unloaded = _unloaded_model_refusal(fields, doc)
    if unloaded:
        return unloaded
    info: FitInfo | None = doc.fit
    if info is None:
        return None
    model = str(_field(fields, "model") or _default_model(doc) or "")
    batch_raw = _number(_field(fields, "batch_size"))
    batch = int(batch_raw) if batch_raw is not None and batch_raw >= 1 else contract.DEFAULT_BATCH
    duration = _number(_field(fields, "audio_duration"))
    if duration is not None and duration <= 0:
        duration = None  # upstream: "let the model decide"
    where = f"{info.memory_gib:.1f} GB at {info.dtype}" if info.memory_gib else f"this GPU at {info.dtype}"
    if _flag(_field(fields, "thinking")) and not info.thinking:
        return (f"thinking needs the 5 Hz LM, which does not fit in {where} ({info.thinking_reason}): "
                "send thinking=false")
    asked = duration if duration is not None else contract.DURATION_MIN_S
    tiled_raw = _field(fields, "use_tiled_decode")
    if tiled_raw is not None and not _flag(tiled_raw):
        untiled = _untiled_refusal(info, model, batch, duration, asked, where)
        if untiled:
            return untiled
    limit = info.limit(model, batch)
    if limit is None:
        return None  # a model or batch the limits do not cover: the upstream decides
    longest = limit.max_duration_s
    if longest is not None and asked <= longest:
        return None
    what = f"{model} batch {batch}" + (f" at {duration:g} s" if duration is not None else "")
    alternatives = _what_fits(info, model, batch, asked)
    return (f"{what} does not fit in {where} ({_why(limit)})"
            + (f"; {alternatives}" if alternatives else "; nothing fits with this model: choose another"))


def _unloaded_model_refusal(fields: Mapping[str, Any], doc: Capabilities) -> str | None:
    """A request naming a DiT the server did not load: upstream would run it on its primary one. None when it
    names none, names a loaded one, or the server did not say which it loaded."""
    asked = _field(fields, "model")
    loaded = [m.name for m in doc.models if m.is_loaded]
    if not asked or not loaded or str(asked) in loaded:
        return None
    model = str(asked)
    listed = model in {m.name for m in doc.models}
    where_it_is = "on disk but not loaded" if listed else "not a model this server lists"
    return (f"model {model} is {where_it_is}; upstream would run the request on its primary DiT "
            f"{_default_model(doc) or loaded[0]} instead. Send model= one of {', '.join(loaded)}"
            + (f", or load {model} (ACESTEP_CONFIG_PATH2={model}) and restart the server" if listed else ""))


def _untiled_refusal(info: FitInfo, model: str, batch: int, duration: float | None, asked: float,
                     where: str) -> str | None:
    """Why use_tiled_decode=false cannot fit: upstream then decodes the whole batch at once, untiled, with no
    fallback when it runs out of memory. None: it fits, or the limits do not judge it."""
    limit = info.untiled_limit(model, batch)
    if limit is None or (limit.max_duration_s is not None and asked <= limit.max_duration_s):
        return None
    what = f"{model} batch {batch}" + (f" at {duration:g} s" if duration is not None else "")
    tiled = info.limit(model, batch)
    fixes = []
    if tiled is not None and tiled.max_duration_s is not None and asked <= tiled.max_duration_s:
        fixes.append("drop use_tiled_decode=false (upstream's tiled decode, the default, fits this request)")
    elif tiled is not None and tiled.max_duration_s is not None:
        fixes.append(f"drop use_tiled_decode=false and shorten to {tiled.max_duration_s:g} s or less")
    if limit.max_duration_s is not None:
        fixes.append(f"or keep it and shorten to {limit.max_duration_s:g} s or less at batch {batch}")
    elif batch > 1 and (one := info.untiled_limit(model, 1)) is not None and one.max_duration_s is not None:
        fixes.append(f"or keep it at batch 1 up to {one.max_duration_s:g} s")
    longest = ("not even 10 s fits" if limit.max_duration_s is None else f"up to {limit.max_duration_s:g} s fits")
    return (f"{what} with use_tiled_decode=false does not fit in {where}: an untiled VAE decode of the whole batch "
            f"at once, at batch {batch} {longest}, by the fit model ({limit.reason})"
            + (f"; {'; '.join(fixes)}" if fixes else "; nothing fits untiled with this model: drop use_tiled_decode=false"))


def _why(limit) -> str:
    """'at batch 4 not even 10 s fits, by the fit model' / 'at batch 1 up to 240 s fits, by the matrix (...)'."""
    longest = (f"not even {contract.DURATION_MIN_S:g} s fits" if limit.max_duration_s is None
               else f"up to {limit.max_duration_s:g} s fits")
    source = "by the fit model" if limit.source == "fit model" else "the matrix ran out of memory past it"
    return f"at batch {limit.batch} {longest}, {source}"


def _what_fits(info: FitInfo, model: str, batch: int, duration: float) -> str:
    """'batch 1 does (up to 600 s)' / 'up to 240 s does' / 'acestep-v15-turbo does'."""
    for b in range(batch - 1, 0, -1):
        lim = info.limit(model, b)
        if lim is not None and lim.max_duration_s is not None and lim.max_duration_s >= duration:
            return f"batch {b} does (up to {lim.max_duration_s:g} s)"
    lim = info.limit(model, batch)
    if lim is not None and lim.max_duration_s is not None:
        return f"up to {lim.max_duration_s:g} s at batch {batch} does"
    others = sorted({x.model for x in info.limits if x.model != model and x.batch == batch
                     and x.max_duration_s is not None and x.max_duration_s >= duration})
    return f"{', '.join(others)} does" if others else ""
