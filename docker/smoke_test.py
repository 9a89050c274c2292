"""Start-up smoke test, run by entrypoint.sh before the API starts; prints what this GPU and torch build can do.

Checks, each printed with a verdict:
  1. the torch build sees a CUDA device (name, compute capability, CUDA/cuDNN versions);
  2. a matmul in the platform's reduced dtype (bf16 where supported, else fp16) matches fp32
     -- on the GB10 this is where a broken cuBLAS in a torch build shows up;
  3. a small transformer forward (SDPA attention) in the dtype ACE-Step will run (ACESTEP_DTYPE,
     else bf16/fp16) gives finite output;
  4. when the checkpoints are already on the volume, a forward of the real text encoder
     (Qwen3-Embedding-0.6B) in that dtype gives finite output.
Memory is read with cudaMemGetInfo (torch.cuda.mem_get_info) and the allocator's peak: NVML
reports "Not Supported" for memory on the DGX Spark's unified memory.
Exit status 0 when every check that ran passed, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

GIB = 1024**3


def log(verdict: str, what: str, detail: str = "") -> None:
    print(f"[smoke] {verdict:4} {what}" + (f": {detail}" if detail else ""), flush=True)


def model_dtype(device_bf16: bool) -> torch.dtype:
    forced = os.environ.get("ACESTEP_DTYPE", "").strip().lower()
    if forced in {"float32", "float16", "bfloat16"}:
        return getattr(torch, forced)
    return torch.bfloat16 if device_bf16 else torch.float16


def check_matmul(dtype: torch.dtype) -> bool:
    gen = torch.Generator(device="cuda").manual_seed(0)
    a = torch.randn(2048, 2048, device="cuda", generator=gen)
    b = torch.randn(2048, 2048, device="cuda", generator=gen)
    ref = a @ b
    (a.to(dtype) @ b.to(dtype)).float()  # warm-up: the first product pays cuBLAS's start-up, not the kernel
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = (a.to(dtype) @ b.to(dtype)).float()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1000
    rel = ((out - ref).norm() / ref.norm()).item()
    ok = bool(torch.isfinite(out).all()) and rel < 5e-2
    log("ok" if ok else "FAIL", f"{dtype} matmul 2048x2048", f"relative error vs fp32 {rel:.2e}, {ms:.1f} ms")
    return ok


def check_block(dtype: torch.dtype) -> bool:
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=512, nhead=8, dim_feedforward=2048, batch_first=True)
    layer = layer.to(device="cuda", dtype=dtype).eval()
    x = torch.randn(2, 256, 512, device="cuda", dtype=dtype)
    with torch.inference_mode():
        y = layer(x)
        q = torch.randn(2, 8, 256, 64, device="cuda", dtype=dtype)
        att = torch.nn.functional.scaled_dot_product_attention(q, q, q)
    ok = bool(torch.isfinite(y).all()) and bool(torch.isfinite(att).all())
    log("ok" if ok else "FAIL", f"{dtype} transformer block + SDPA forward", f"output std {y.float().std().item():.3f}")
    return ok


def check_text_encoder(dtype: torch.dtype) -> bool | None:
    ckpt = Path(os.environ.get("ACESTEP_CHECKPOINTS_DIR", "/models/checkpoints")) / "Qwen3-Embedding-0.6B"
    if not (ckpt / "config.json").is_file():
        log("skip", "text encoder forward", f"{ckpt} not downloaded yet (first start): runs on the next start")
        return None
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(ckpt)
    model = AutoModel.from_pretrained(ckpt, torch_dtype=dtype).to("cuda").eval()
    batch = tok(["an upbeat funk groove with slap bass, 110 bpm"], return_tensors="pt").to("cuda")
    t0 = time.perf_counter()
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    torch.cuda.synchronize()
    ok = bool(torch.isfinite(hidden).all())
    log("ok" if ok else "FAIL", f"{dtype} text encoder forward (Qwen3-Embedding-0.6B)", f"{(time.perf_counter() - t0) * 1000:.0f} ms")
    del model
    torch.cuda.empty_cache()
    return ok


def main() -> int:
    log("info", "torch", f"{torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()})")
    if not torch.cuda.is_available():
        log("FAIL", "CUDA device", "torch sees none: run with --gpus all (compose: the GPU reservation) and the NVIDIA container toolkit")
        return 1
    major, minor = torch.cuda.get_device_capability(0)
    bf16 = major >= 8  # capability, not is_bf16_supported(): that one reports emulated bf16 on Turing
    arches = torch.cuda.get_arch_list()
    log("info", "device", f"{torch.cuda.get_device_name(0)}, sm_{major}{minor}, bf16 {'yes' if bf16 else 'no'}, torch built for {' '.join(arches)}")
    if f"sm_{major}{minor}" not in arches and not any(a.startswith(f"sm_{major}") or a.startswith("compute_") for a in arches):
        log("warn", "arch", f"this torch build has no kernels for sm_{major}{minor}: expect failures below")
    torch.cuda.reset_peak_memory_stats()
    dtype = model_dtype(bf16)
    results = [check_matmul(torch.bfloat16 if bf16 else torch.float16), check_block(dtype)]
    try:
        enc = check_text_encoder(dtype)
    except Exception as exc:  # a smoke test reports, it does not crash with a traceback wall
        log("FAIL", "text encoder forward", f"{type(exc).__name__}: {exc}")
        enc = False
    if enc is not None:
        results.append(enc)
    free, total = torch.cuda.mem_get_info()
    log("info", "memory", f"cudaMemGetInfo free {free / GIB:.1f} / total {total / GIB:.1f} GiB, peak allocated {torch.cuda.max_memory_allocated() / GIB:.2f} GiB")
    ok = all(results)
    log("ok" if ok else "FAIL", "smoke test", f"model dtype {dtype}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
