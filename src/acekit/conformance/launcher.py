"""Start upstream ACE-Step's own API server with only the model calls replaced by stand-ins.

Runs INSIDE the upstream venv (torch, soundfile, upstream's stack), never inside acekit's: it
imports nothing from acekit and only the standard library plus what upstream itself imports.
``acekit conformance`` runs it as a script:

    <upstream venv>/bin/python launcher.py --upstream-src RUN_TREE --record calls.jsonl -- [api_server args]

Replaced (everything else, HTTP parsing, queue, LM/CoT decisions, saving, result payload, is
upstream's own code from RUN_TREE):

- ``AceStepHandler.initialize_service``: no weights; reads ``checkpoints/<model>/config.json``
  only for ``is_turbo``.
- ``AceStepHandler.generate_music`` (DiT + VAE): keeps upstream's signature (upstream filters the
  kwargs it passes by that signature), records every argument, reads the source audio with
  upstream's own loader, and returns a real stereo 48 kHz waveform of the length upstream's DiT
  would produce (`output_seconds`), which upstream's own code then saves in the requested format.
- ``LLMHandler.initialize`` / ``LLMHandler.generate_with_stop_condition``: record the call and
  answer with deliberately odd metas (see ``LM_INVENTED``) so any LM value reaching the DiT is
  recognisable.

``acestep.inference.generate_music`` (upstream's pipeline: LM/CoT decision, then DiT, then saving)
is not replaced, only wrapped to record the ``GenerationParams``/``GenerationConfig`` upstream's
HTTP layer built (thinking, the CoT switches, seeds, format) before it runs.

``RequestParser.__init__`` is wrapped the same way to record the raw ``/release_task`` fields, so
the checks can tell what acekit sent from what upstream made of it.

Each call appends one JSON line to the record file: ``{"call": "request" | "pipeline" | "lm" | "dit", ...}``.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import json
import math
import os
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

#: What the stand-in LM "invents". Values no DAW would send, so the checks can tell them apart.
LM_INVENTED = {
    "bpm": 137,
    "keyscale": "F# minor",
    "timesignature": "6",
    "duration": 77,
    "caption": "LM-INVENTED CAPTION",
    "vocal_language": "fr",
    "lyrics": "",
    "genres": "lm-invented",
}
SAMPLE_RATE = 48000
#: Duration upstream's DiT falls back to when neither request nor LM gives one (53067ab padding_utils).
FALLBACK_DURATION_S = 120.0

_record_lock = threading.Lock()
_record_path: Path | None = None


def record(entry: dict) -> None:
    entry = {"time": time.time(), **entry}
    line = json.dumps(entry, default=_json_default, sort_keys=True)
    with _record_lock:
        assert _record_path is not None
        with _record_path.open("a") as out:
            out.write(line + "\n")


def _json_default(value):
    shape = getattr(value, "shape", None)
    if shape is not None:
        return {"tensor_shape": list(shape)}
    if callable(value):
        return "<callable>"
    return repr(value)


def _audio_seconds(handler, path) -> dict:
    """Read an uploaded/served audio path the way upstream's DiT does, and say how long it is."""
    if not path:
        return {"path": path, "seconds": None}
    info: dict = {"path": str(path), "exists": os.path.exists(str(path))}
    try:
        tensor = handler.process_src_audio(path)  # upstream's own loader (resamples to 48 kHz stereo)
        info["seconds"] = None if tensor is None else float(tensor.shape[-1]) / SAMPLE_RATE
        info["reader"] = "upstream process_src_audio"
    except Exception as exc:  # noqa: BLE001 - recorded, then fall back to a plain read
        info["upstream_reader_error"] = f"{type(exc).__name__}: {exc}"
        try:
            import soundfile

            meta = soundfile.info(str(path))
            info["seconds"] = float(meta.frames) / float(meta.samplerate)
            info["reader"] = "soundfile"
        except Exception as exc2:  # noqa: BLE001
            info["seconds"] = None
            info["reader_error"] = f"{type(exc2).__name__}: {exc2}"
    return info


def output_seconds(task_type: str, params: dict, src: dict | None) -> tuple[float, str]:
    """The length upstream's DiT renders (53067ab ``prepare_padding_info``): with a source, the source
    (repaint/lego padded when the region reaches outside it), whatever ``audio_duration`` says; without
    one, ``audio_duration``, else the fallback."""
    src_s = (src or {}).get("seconds")
    if src_s:
        if task_type in ("repaint", "lego"):
            start = float(params.get("repainting_start") or 0.0)
            end = params.get("repainting_end")
            end = src_s if end is None or float(end) < 0 else float(end)
            return max(0.0, -start) + src_s + max(0.0, end - src_s), "source (padded to the region)"
        return src_s, "source"
    duration = params.get("audio_duration")
    if duration is not None and float(duration) > 0:
        return float(duration), "request"
    return FALLBACK_DURATION_S, "upstream's fallback"


def _tone(seconds: float, index: int):
    """A real, quiet two-partial tone: decodable, analysable, distinct per batch item."""
    import torch

    n = max(1, int(round(seconds * SAMPLE_RATE)))
    t = torch.arange(n, dtype=torch.float32) / SAMPLE_RATE
    freq = 220.0 * (1.0 + 0.25 * index)
    wave = 0.3 * torch.sin(2 * math.pi * freq * t) + 0.1 * torch.sin(2 * math.pi * 2 * freq * t)
    return torch.stack([wave, wave])


def install_stand_ins() -> None:
    from acestep.handler import AceStepHandler
    from acestep.llm_inference import LLMHandler

    original_generate = AceStepHandler.generate_music
    original_signature = inspect.signature(original_generate)

    def initialize_service(self, project_root, config_path, *args, **kwargs):
        config_file = Path(project_root) / "checkpoints" / str(config_path) / "config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        self.config = SimpleNamespace(**config)
        self.config_path = config_path
        self.device = "cpu"
        sentinel = SimpleNamespace(stand_in=True)
        self.model = self.vae = self.text_encoder = self.text_tokenizer = sentinel
        self.last_init_params = {"project_root": project_root, "config_path": config_path, **kwargs}
        record({"call": "initialize_service", "config_path": config_path, "is_turbo": bool(config.get("is_turbo"))})
        return f"stand-in DiT for {config_path} (conformance tier: no weights)", True

    @functools.wraps(original_generate)
    def generate_music(self, *args, **kwargs):
        bound = original_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self", None)
        params.pop("progress", None)
        task_type = params.get("task_type") or "text2music"
        src = _audio_seconds(self, params.get("src_audio")) if params.get("src_audio") else None
        ref = _audio_seconds(self, params.get("reference_audio")) if params.get("reference_audio") else None
        batch = int(params.get("batch_size") or 1)
        duration, seconds_from = output_seconds(task_type, params, src)
        record(
            {
                "call": "dit",
                "model": getattr(self, "config_path", None),
                "params": params,
                "src_audio_info": src,
                "reference_audio_info": ref,
                "output_seconds": float(duration),
                "output_seconds_from": seconds_from,
            }
        )
        audios = [{"tensor": _tone(float(duration), i), "sample_rate": SAMPLE_RATE} for i in range(batch)]
        return {
            "audios": audios,
            "status_message": "stand-in DiT (conformance tier)",
            "extra_outputs": {"time_costs": {"total_time_cost": 0.0}},
            "success": True,
            "error": None,
        }

    generate_music.__signature__ = original_signature  # upstream filters its kwargs by this

    def llm_initialize(self, checkpoint_dir, lm_model_path, backend="vllm", device="auto", offload_to_cpu=False, dtype=None):
        self.llm_initialized = True
        self.last_init_params = {
            "checkpoint_dir": checkpoint_dir,
            "lm_model_path": lm_model_path,
            "backend": backend,
            "device": device,
            "offload_to_cpu": offload_to_cpu,
            "dtype": dtype,
        }
        record({"call": "lm_initialize", "lm_model_path": lm_model_path, "backend": backend})
        return f"stand-in LM {lm_model_path} (conformance tier: no weights)", True

    original_lm = LLMHandler.generate_with_stop_condition
    lm_signature = inspect.signature(original_lm)

    @functools.wraps(original_lm)
    def generate_with_stop_condition(self, *args, **kwargs):
        bound = lm_signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        params.pop("self", None)
        params.pop("progress", None)
        record({"call": "lm", "params": params})
        user = dict(params.get("user_metadata") or {})
        metadata = {**LM_INVENTED, **user}  # upstream's LM keeps user-given metas
        codes = "<|audio_code_1|>" * 10 if params.get("infer_type") == "llm_dit" else ""
        batch = int(params.get("batch_size") or 1)
        time_costs = {"phase1_time": 0.0, "phase2_time": 0.0, "total_time": 0.0}
        if batch > 1:
            return {
                "success": True,
                "metadata": [dict(metadata) for _ in range(batch)],
                "audio_codes": [codes for _ in range(batch)],
                "extra_outputs": {"time_costs": time_costs},
            }
        return {"success": True, "metadata": metadata, "audio_codes": codes, "extra_outputs": {"time_costs": time_costs}}

    generate_with_stop_condition.__signature__ = lm_signature

    import dataclasses

    from acestep import inference

    original_pipeline = inference.generate_music

    @functools.wraps(original_pipeline)
    def pipeline(dit_handler, llm_handler, params, config, *args, **kwargs):
        record(
            {
                "call": "pipeline",
                "params": dataclasses.asdict(params) if dataclasses.is_dataclass(params) else vars(params),
                "config": dataclasses.asdict(config) if dataclasses.is_dataclass(config) else vars(config),
                "llm_initialized": bool(getattr(llm_handler, "llm_initialized", False)),
            }
        )
        return original_pipeline(dit_handler, llm_handler, params, config, *args, **kwargs)

    inference.generate_music = pipeline  # before api_server imports it by name
    AceStepHandler.initialize_service = initialize_service
    AceStepHandler.generate_music = generate_music
    LLMHandler.initialize = llm_initialize
    LLMHandler.generate_with_stop_condition = generate_with_stop_condition


def record_requests(api_server) -> None:
    """Record the raw /release_task fields as upstream's parser receives them (not replaced, wrapped).

    Both the Feb 2026 tree (class in api_server) and newer ones (imported into api_server) name it
    ``RequestParser``; a tree without it still runs, only without this record.
    """
    parser_cls = getattr(api_server, "RequestParser", None)
    if parser_cls is None:
        return
    original_init = parser_cls.__init__

    @functools.wraps(original_init)
    def init(self, raw, *args, **kwargs):
        fields = {}
        for key, value in dict(raw or {}).items():
            if hasattr(value, "filename"):
                value = {"upload": getattr(value, "filename", None)}
            fields[str(key)] = value
        record({"call": "request", "fields": fields})
        original_init(self, raw, *args, **kwargs)

    parser_cls.__init__ = init


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-src", required=True, type=Path)
    parser.add_argument("--record", required=True, type=Path)
    parser.add_argument("server_args", nargs="*")
    args = parser.parse_args(argv)
    global _record_path
    _record_path = args.record
    src = str(args.upstream_src.resolve())
    os.chdir(src)
    sys.path.insert(0, src)
    install_stand_ins()
    from acestep import api_server

    record_requests(api_server)
    sys.argv = ["acestep-api", *args.server_args]
    api_server.main()


if __name__ == "__main__":
    main()
