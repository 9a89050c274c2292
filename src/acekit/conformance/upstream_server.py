"""Run upstream's own API server on CPU, weights faked, model calls replaced by the launcher's stand-ins.

The upstream tree is copied into the run directory first (it is ~20 MB without weights), so the fake
``checkpoints/`` and anything the server writes never touch the tree the user named.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

LAUNCHER = Path(__file__).with_name("launcher.py")
#: Models the fake checkpoint folder holds: name -> is_turbo. Primary turbo, second base (lego,
#: extract and complete are base-only upstream), as a DAW deployment would load them.
FAKE_DIT_MODELS: dict[str, bool] = {"acestep-v15-turbo": True, "acestep-v15-base": False}
#: A checkpoint on disk that the server does not load (no ACESTEP_CONFIG_PATH names it): upstream lists it
#: with is_loaded=false and runs a request for it on its primary DiT, which acekit must never let pass silently.
UNLOADED_DIT_MODEL = "acestep-v15-sft"
LM_MODEL = "acestep-5Hz-lm-0.6B"
#: GPU size upstream should behave as if it had: 24 GB loads the LM by default and keeps batches.
DEFAULT_VRAM_GB = 24
STARTUP_TIMEOUT_S = 240.0


class UpstreamStartError(RuntimeError):
    """Upstream's server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_run_tree(upstream_src: Path, run_dir: Path) -> Path:
    """Copy the upstream tree into ``run_dir/upstream`` and give it fake, weightless checkpoints."""
    tree = run_dir / "upstream"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(
        upstream_src,
        tree,
        ignore=shutil.ignore_patterns(".git", "checkpoints", "__pycache__", ".cache", "gradio_outputs"),
        symlinks=True,
    )
    checkpoints = tree / "checkpoints"
    for name, is_turbo in FAKE_DIT_MODELS.items():
        _fake_model(checkpoints / name, {"is_turbo": is_turbo, "acekit_conformance_stand_in": True})
    _fake_model(checkpoints / UNLOADED_DIT_MODEL, {"is_turbo": False, "acekit_conformance_stand_in": True})
    for name in ("vae", "Qwen3-Embedding-0.6B", LM_MODEL):
        _fake_model(checkpoints / name, {"acekit_conformance_stand_in": True})
    return tree


def _fake_model(folder: Path, config: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config) + "\n")


@dataclass
class UpstreamServer:
    """A running upstream server: its URL, the stand-ins' record file and the server log."""

    url: str
    record_file: Path
    log_file: Path
    process: subprocess.Popen | None = field(default=None, repr=False)

    def records(self, start: int = 0) -> list[dict[str, Any]]:
        """Records from line ``start`` on (each job appends its own, jobs run one at a time)."""
        if not self.record_file.exists():
            return []
        lines = self.record_file.read_text().splitlines()
        return [json.loads(line) for line in lines[start:] if line.strip()]

    def record_count(self) -> int:
        return len(self.record_file.read_text().splitlines()) if self.record_file.exists() else 0

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def server_env(*, tree: Path, port: int, vram_gb: int, init_llm: str, base_env: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for upstream's server: CPU, faked GPU size, offline, everything under the run dir."""
    env = dict(base_env if base_env is not None else os.environ)
    for var in list(env):
        if var.startswith("ACESTEP_") or var in {"PYTHONPATH", "VIRTUAL_ENV"}:
            env.pop(var)  # a developer's own ACE-Step settings must not leak into the tier
    models = list(FAKE_DIT_MODELS)
    env.update(
        {
            "ACESTEP_API_HOST": "127.0.0.1",
            "ACESTEP_API_PORT": str(port),
            "ACESTEP_CONFIG_PATH": models[0],
            "ACESTEP_CONFIG_PATH2": models[1],
            "ACESTEP_DEVICE": "cpu",
            "ACESTEP_INIT_LLM": init_llm,
            "ACESTEP_LM_MODEL_PATH": LM_MODEL,
            "ACESTEP_LM_BACKEND": "pt",
            "ACESTEP_DOWNLOAD_SOURCE": "huggingface",
            "ACESTEP_DISABLE_TQDM": "1",  # the Feb 2026 tree needs it to start
            "ACESTEP_NO_INIT": "false",  # load (stand-in) models at startup, as the images do
            "ACESTEP_TMPDIR": str(tree / ".tmp"),
            "MAX_CUDA_VRAM": str(vram_gb),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "CUDA_VISIBLE_DEVICES": "",
            "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_upstream(
    *,
    venv_python: Path,
    tree: Path,
    run_dir: Path,
    vram_gb: int = DEFAULT_VRAM_GB,
    init_llm: str = "true",
    timeout_s: float = STARTUP_TIMEOUT_S,
) -> UpstreamServer:
    """Start the launcher with upstream's venv and wait until ``/health`` answers."""
    # absolute: the launcher runs in ``tree`` and chdirs there, so a relative --out broke it
    tree, run_dir = Path(tree).resolve(), Path(run_dir).resolve()
    port = free_port()
    record_file = run_dir / "upstream-calls.jsonl"
    log_file = run_dir / "upstream-server.log"
    record_file.unlink(missing_ok=True)
    (tree / ".tmp").mkdir(parents=True, exist_ok=True)
    env = server_env(tree=tree, port=port, vram_gb=vram_gb, init_llm=init_llm)
    cmd = [str(venv_python), str(LAUNCHER), "--upstream-src", str(tree), "--record", str(record_file), "--",
           "--host", "127.0.0.1", "--port", str(port)]
    log = log_file.open("w")
    process = subprocess.Popen(cmd, cwd=tree, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    server = UpstreamServer(url=f"http://127.0.0.1:{port}", record_file=record_file, log_file=log_file, process=process)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise UpstreamStartError(f"upstream's server exited with {process.returncode} before answering; log {log_file}:\n{server.log_tail()}")
        try:
            if httpx.get(server.url + "/health", timeout=2.0).status_code == 200 and _models_ready(server):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    server.stop()
    raise UpstreamStartError(f"upstream's server did not answer /health within {timeout_s:.0f} s; log {log_file}:\n{server.log_tail()}")


def _models_ready(server: UpstreamServer) -> bool:
    """Startup model init runs in the lifespan; wait until the stand-in DiT says it is loaded."""
    return any(r.get("call") == "initialize_service" for r in server.records())
