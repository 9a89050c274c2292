"""Start upstream ACE-Step's API server with ``ACESTEP_DTYPE`` enforced where upstream ignores it.

Runs INSIDE upstream's venv (the image's /opt/venv): it imports only the standard library at module
level, and torch and upstream only in ``install`` / ``main``, so acekit's own test suite can import
the decision logic without torch. The images run it as a script:

    /opt/venv/bin/python /opt/acekit-docker/dtype_launcher.py [--upstream-src /opt/acestep] [-- api args]
    /opt/venv/bin/python /opt/acekit-docker/dtype_launcher.py --plan   # print the decision, start nothing

Why: the T4 (Turing, sm_75) has no bf16, and upstream's own pre-Ampere choice is float16, which gives
NaN audio (upstream issue 1274). Upstream reads ``ACESTEP_DTYPE`` only from a later PR on; refs
before it (the images' pin 53067ab among them) choose the dtype inside
``AceStepHandler.initialize_service``. This launcher wraps three handler methods, changing no
upstream file:

- ``_load_main_model_from_checkpoint`` (the DiT loader, called by ``initialize_service`` after
  upstream has set ``self.dtype``): sets ``self.dtype`` to the requested dtype first, so the DiT
  and then the text encoder (which upstream moves to ``self.dtype``) load straight into it, with
  no float16 round trip of the weights;
- ``_get_vae_dtype`` (upstream: bf16 / fp16 by GPU tier on CUDA): answers the requested dtype, so
  the VAE loads into it and every later VAE cast (decode, encode, reference audio) uses it;
- ``initialize_service``: after upstream's own initialisation succeeds, sets ``self.dtype`` and
  casts the DiT, VAE, text encoder and silence latent to the requested dtype (a guarantee: with
  the two seams above they already are).

A no-op when ``ACESTEP_DTYPE`` is unset or upstream's source already reads it. When it is set,
upstream ignores it and a seam is missing (a future ref renamed it), the launcher refuses to start
rather than silently run float16, unless ``ACEKIT_ALLOW_DEFAULT_DTYPE=1``.

The 5 Hz LM is not touched: upstream's pt backend picks its own dtype (bf16 on CUDA) and
nano-vllm its own; the T4 image runs with the LM off (``ACESTEP_INIT_LLM=false``).
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

#: Names ACESTEP_DTYPE may take, mapped to torch's attribute name.
DTYPE_NAMES = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}
#: Code that reads the variable (not just an error hint that mentions it).
DTYPE_READ = re.compile(r"""(?:environ\.get|getenv|environ\[)\(?\s*["']ACESTEP_DTYPE["']""")
#: Handler methods the launcher wraps, and where 53067ab defines them (for the messages).
SEAMS = {
    "initialize_service": "acestep/core/generation/handler/init_service_orchestrator.py",
    "_load_main_model_from_checkpoint": "acestep/core/generation/handler/init_service_loader.py",
    "_get_vae_dtype": "acestep/core/generation/handler/memory_utils.py",
}
HANDLER_MODULE = "acestep/handler.py"
#: Handler attributes holding the model objects cast after initialisation.
MODEL_ATTRS = ("model", "vae", "text_encoder", "silence_latent")


class DtypeError(ValueError):
    """ACESTEP_DTYPE names no dtype, or it cannot be enforced at this upstream ref."""


def requested_dtype(value: str | None) -> str | None:
    """Normalised ACESTEP_DTYPE (``float32`` ...), or None when unset / empty / ``auto``."""
    raw = (value or "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw not in DTYPE_NAMES:
        raise DtypeError(f"ACESTEP_DTYPE={value!r} is not a dtype: use float32, float16, bfloat16 or auto")
    return DTYPE_NAMES[raw]


def _source_files(source: Path) -> list[Path]:
    files = []
    for path in sorted((source / "acestep").rglob("*.py")):
        if path.name.endswith("_test.py") or path.name.startswith("test_") or "tests" in path.parts:
            continue
        files.append(path)
    return files


def dtype_override_readers(source: Path) -> list[Path]:
    """Non-test Python files under acestep/ that read ACESTEP_DTYPE from the environment."""
    found = []
    for path in _source_files(source):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if DTYPE_READ.search(text):
            found.append(path.relative_to(source))
    return found


def missing_seams(source: Path) -> list[str]:
    """Seams (SEAMS keys, or the handler module) the launcher needs that the tree at ``source`` lacks.

    Static (no import): the handler class exists and each wrapped method is defined somewhere under
    acestep/. ``install`` checks the same on the imported class before wrapping anything.
    """
    handler = source / HANDLER_MODULE
    try:
        handler_ok = re.search(r"^class AceStepHandler\b", handler.read_text(errors="replace"), re.M) is not None
    except OSError:
        handler_ok = False
    missing = [] if handler_ok else [f"class AceStepHandler in {HANDLER_MODULE}"]
    defs = {name: re.compile(rf"^\s+def {re.escape(name)}\(", re.M) for name in SEAMS}
    found: set[str] = set()
    for path in _source_files(source):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        found.update(name for name, pattern in defs.items() if name not in found and pattern.search(text))
    missing += [f"AceStepHandler.{name} (was in {SEAMS[name]})" for name in SEAMS if name not in found]
    return missing


@dataclass(frozen=True)
class DtypePlan:
    """What the launcher does about the dtype at one upstream ref."""

    dtype: str | None  # requested (normalised ACESTEP_DTYPE), None: upstream's own choice
    action: str  # "default" | "upstream" | "enforce" | "unenforced"
    reason: str

    def line(self) -> str:
        shown = self.dtype or "upstream default (bf16 on sm_80+, float16 on older CUDA, float32 on CPU)"
        return f"dtype={shown} [{self.action}]: {self.reason}"


def plan(env_value: str | None, *, upstream_reads: bool, missing: list[str], allow_default: bool = False) -> DtypePlan:
    """Decide: nothing to do, upstream honours it, the launcher enforces it, or refuse (DtypeError)."""
    dtype = requested_dtype(env_value)
    if dtype is None:
        return DtypePlan(None, "default", "ACESTEP_DTYPE unset: upstream chooses")
    if upstream_reads:
        return DtypePlan(dtype, "upstream", "upstream reads ACESTEP_DTYPE itself; the launcher changes nothing")
    if not missing:
        return DtypePlan(dtype, "enforce", "upstream ignores ACESTEP_DTYPE at this ref; acekit's launcher casts "
                         "the DiT, VAE and text encoder and sets the handler's dtype")
    text = (f"upstream ignores ACESTEP_DTYPE at this ref and acekit's launcher cannot enforce {dtype}: "
            f"missing {', '.join(missing)}")
    if allow_default:
        return DtypePlan(None, "unenforced", text + " (ACEKIT_ALLOW_DEFAULT_DTYPE=1: upstream's own dtype is used)")
    raise DtypeError(text + ". Build a ref that reads ACESTEP_DTYPE, update acekit's launcher for this ref, "
                     "or set ACEKIT_ALLOW_DEFAULT_DTYPE=1 to accept upstream's dtype (float16 on Turing: NaN risk)")


def plan_for_source(source: Path, env: dict[str, str] | os._Environ) -> DtypePlan:
    return plan(env.get("ACESTEP_DTYPE"), upstream_reads=bool(dtype_override_readers(source)),
                missing=missing_seams(source), allow_default=env.get("ACEKIT_ALLOW_DEFAULT_DTYPE", "") == "1")


def install(handler_cls, dtype_name: str):
    """Wrap ``handler_cls`` (upstream's AceStepHandler) so it runs in ``dtype_name``. Returns the torch dtype."""
    absent = [name for name in SEAMS if not callable(getattr(handler_cls, name, None))]
    if absent:
        raise DtypeError(f"{handler_cls.__name__} has no {', '.join(absent)}: acekit's launcher cannot enforce "
                         f"ACESTEP_DTYPE={dtype_name} at this upstream ref")
    if getattr(handler_cls, "_acekit_dtype", None) is not None:
        raise DtypeError(f"{handler_cls.__name__} is already wrapped for {handler_cls._acekit_dtype}")
    import torch

    target = getattr(torch, dtype_name)

    original_load = handler_cls._load_main_model_from_checkpoint
    original_vae_dtype = handler_cls._get_vae_dtype
    original_init = handler_cls.initialize_service

    @functools.wraps(original_load)
    def load_main_model(self, *args, **kwargs):
        # initialize_service has just set self.dtype (float16 on pre-Ampere); the DiT loads in
        # self.dtype and the text encoder is moved to it later, so both load straight into target.
        self.dtype = target
        return original_load(self, *args, **kwargs)

    @functools.wraps(original_vae_dtype)
    def vae_dtype(self, device=None):
        return target

    @functools.wraps(original_init)
    def initialize_service(self, *args, **kwargs):
        result = original_init(self, *args, **kwargs)
        if isinstance(result, tuple) and len(result) == 2 and result[1] is True:
            cast_handler(self, target)
        return result

    handler_cls._load_main_model_from_checkpoint = load_main_model
    handler_cls._get_vae_dtype = vae_dtype
    handler_cls.initialize_service = initialize_service
    handler_cls._acekit_dtype = dtype_name
    return target


def cast_handler(handler, target) -> None:
    """Set the handler's dtype and cast its model objects' floating-point weights to ``target``."""
    handler.dtype = target
    for attr in MODEL_ATTRS:
        obj = getattr(handler, attr, None)
        if obj is None or not hasattr(obj, "to"):
            continue
        if hasattr(obj, "is_floating_point") and not obj.is_floating_point():
            continue  # a tensor of ids or flags: not a weight
        setattr(handler, attr, obj.to(target))  # nn.Module.to(dtype) casts floating-point params only


def dtypes_in_effect(handler) -> dict[str, str]:
    """The dtype each loaded model object actually holds (first floating-point parameter), for the log."""
    out = {"handler.dtype": str(getattr(handler, "dtype", None)).replace("torch.", "")}
    for attr in MODEL_ATTRS:
        obj = getattr(handler, attr, None)
        if obj is None:
            continue
        if hasattr(obj, "parameters"):
            found = next((p.dtype for p in obj.parameters() if p.is_floating_point()), None)
        else:
            found = getattr(obj, "dtype", None)
        out[attr] = str(found).replace("torch.", "")
    return out


def _log_after_init(handler_cls) -> None:
    """Log what each model holds after every successful initialisation (the dtype actually in effect)."""
    wrapped = handler_cls.initialize_service

    @functools.wraps(wrapped)
    def initialize_service(self, *args, **kwargs):
        result = wrapped(self, *args, **kwargs)
        if isinstance(result, tuple) and len(result) == 2 and result[1] is True:
            found = ", ".join(f"{k}={v}" for k, v in dtypes_in_effect(self).items())
            print(f"[acekit dtype_launcher] after initialize_service: {found}", flush=True)
        return result

    handler_cls.initialize_service = initialize_service


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-src", type=Path, default=Path(os.environ.get("ACESTEP_SRC", "/opt/acestep")))
    parser.add_argument("--plan", action="store_true", help="print the dtype decision and exit (0 ok, 2 refused)")
    parser.add_argument("server_args", nargs="*")
    args = parser.parse_args(argv)
    src = args.upstream_src.resolve()
    try:
        decision = plan_for_source(src, os.environ)
    except DtypeError as exc:
        print(f"[acekit dtype_launcher] REFUSED: {exc}", file=sys.stderr, flush=True)
        return 2
    print(f"[acekit dtype_launcher] {decision.line()}", flush=True)
    if args.plan:
        return 0
    os.chdir(src)
    sys.path.insert(0, str(src))
    from acestep import api_server
    from acestep.handler import AceStepHandler

    if decision.action == "enforce":
        try:
            install(AceStepHandler, decision.dtype)
        except DtypeError as exc:
            print(f"[acekit dtype_launcher] REFUSED: {exc}", file=sys.stderr, flush=True)
            return 2
    _log_after_init(AceStepHandler)
    sys.argv = ["acestep-api", *args.server_args]
    api_server.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
