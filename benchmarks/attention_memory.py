"""Peak GPU memory of one attention call with ACE-Step's shapes: eager (as upstream runs it on pre-Ampere
GPUs) against SDPA, to check the fit model's eager-attention formula (src/acekit/fit/architecture.toml).

Needs a CUDA GPU and torch only (no acekit install, no weights: random inputs; memory does not depend on
values). For each case it allocates the call's inputs (q, k, v as the DiT's AceStepAttention hands them
over, the dense additive [1, 1, Lq, Lk] mask upstream builds without flash-attn), resets the peak, runs the
call and reports torch.cuda.max_memory_allocated minus what was allocated before it. The eager call is the
op sequence of transformers' Qwen3 eager_attention_forward (repeat_kv, matmul * scaling, + mask,
softmax in float32 cast back, matmul); when the installed transformers has that function it is measured
too, as a cross-check. Then one DiT layer (self-attention, cross-attention to the 2305-token condition, MLP)
eager against SDPA: the fit model adds the derived eager term to SDPA-measured peaks, which this bounds.

Usage (on the GPU box)::

    python3 benchmarks/attention_memory.py --json out.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import platform
import tomllib
from pathlib import Path

import torch
import torch.nn.functional as F

ARCH = Path(__file__).resolve().parents[1] / "src" / "acekit" / "fit" / "architecture.toml"
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _repeat_kv(x: torch.Tensor, groups: int) -> torch.Tensor:
    # [B, KV, L, D] -> [B, KV * groups, L, D], a copy (expand + reshape), as transformers does
    if groups == 1:
        return x
    b, kv, length, d = x.shape
    return x[:, :, None].expand(b, kv, groups, length, d).reshape(b, kv * groups, length, d)


def eager(q, k, v, mask, groups: int):
    """The eager op sequence upstream runs (one call); returns (output, weights) like transformers."""
    k, v = _repeat_kv(k, groups), _repeat_kv(v, groups)
    w = torch.matmul(q, k.transpose(2, 3)) * (q.shape[-1] ** -0.5)
    w = w + mask[:, :, :, : k.shape[-2]]
    w = F.softmax(w, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(w, v).transpose(1, 2).contiguous()
    return out, w


def sdpa(q, k, v, mask, groups: int):
    k, v = _repeat_kv(k, groups), _repeat_kv(v, groups)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out.transpose(1, 2).contiguous(), None


def transformers_eager():
    try:
        from transformers.models.qwen3.modeling_qwen3 import eager_attention_forward
    except Exception:  # not installed, or moved
        return None

    def call(q, k, v, mask, groups: int):
        module = torch.nn.Module()
        module.num_key_value_groups = groups
        module.eval()
        return eager_attention_forward(module, q, k, v, mask, scaling=q.shape[-1] ** -0.5, dropout=0.0)
    return call


def inputs(b: int, heads: int, kv: int, hd: int, lq: int, lk: int, dtype: torch.dtype):
    # The DiT's projections give [B, L, H, D] and transpose to [B, H, L, D] (non-contiguous views).
    q = torch.randn(b, lq, heads, hd, device="cuda", dtype=dtype).transpose(1, 2)
    k = torch.randn(b, lk, kv, hd, device="cuda", dtype=dtype).transpose(1, 2)
    v = torch.randn(b, lk, kv, hd, device="cuda", dtype=dtype).transpose(1, 2)
    mask = torch.zeros(1, 1, lq, lk, device="cuda", dtype=dtype)  # dense additive mask, all visible
    return q, k, v, mask


def measure(fn, b, heads, kv, hd, lq, lk, dtype) -> dict:
    q, k, v, mask = inputs(b, heads, kv, hd, lq, lk, dtype)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    out, w = fn(q, k, v, mask, heads // kv)
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    retained = torch.cuda.memory_allocated() - before
    del out, w, q, k, v, mask
    torch.cuda.empty_cache()
    return {"peak_bytes": int(peak), "retained_bytes": int(retained)}


class _Attention(torch.nn.Module):
    """AceStepAttention's projections (no norms or RoPE: elementwise, the same under both implementations)."""

    def __init__(self, hidden: int, heads: int, kv: int, hd: int):
        super().__init__()
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.q, self.k, self.v, self.o = lin(hidden, heads * hd), lin(hidden, kv * hd), lin(hidden, kv * hd), \
            lin(heads * hd, hidden)
        self.hd, self.groups = hd, heads // kv

    def forward(self, x, ctx, mask, fn):
        b, length, _ = x.shape
        q = self.q(x).view(b, length, -1, self.hd).transpose(1, 2)
        k = self.k(ctx).view(b, ctx.shape[1], -1, self.hd).transpose(1, 2)
        v = self.v(ctx).view(b, ctx.shape[1], -1, self.hd).transpose(1, 2)
        out, w = fn(q, k, v, mask, self.groups)
        return self.o(out.reshape(b, length, -1)), w


class DiTLayer(torch.nn.Module):
    """One AceStepDiTLayer's memory structure: AdaLN self-attention (weights kept until the layer returns, as
    upstream's layer keeps self_attn_weights), cross-attention to the condition, gated MLP."""

    def __init__(self, hidden: int, heads: int, kv: int, hd: int, inter: int):
        super().__init__()
        self.sa, self.ca = _Attention(hidden, heads, kv, hd), _Attention(hidden, heads, kv, hd)
        self.norm = torch.nn.RMSNorm(hidden)
        self.gate, self.up = torch.nn.Linear(hidden, inter, bias=False), torch.nn.Linear(hidden, inter, bias=False)
        self.down = torch.nn.Linear(inter, hidden, bias=False)

    def forward(self, x, cond, mask, cond_mask, temb, fn):
        shift, scale, gate, c_shift, c_scale, c_gate = temb.chunk(6, 1)
        h = self.norm(x) * (1 + scale) + shift
        out, self_weights = self.sa(h, h, mask, fn)
        x = x + out * gate
        out, cross_weights = self.ca(self.norm(x), cond, cond_mask, fn)
        x = x + out
        h = self.norm(x) * (1 + c_scale) + c_shift
        return x + self.down(F.silu(self.gate(h)) * self.up(h)) * c_gate


def measure_layer(fn, arch: dict, batch: int, length: int, dtype: torch.dtype) -> int:
    d, enc = arch["dit"]["dit_2b"], arch["sequence"]
    cond_len = enc["lyric_tokens_max"] + enc["timbre_tokens"] + enc["caption_tokens_max"]
    layer = DiTLayer(d["hidden"], d["heads"], d["kv_heads"], d["head_dim"], 6144).cuda().to(dtype)
    r = lambda *shape: torch.randn(*shape, device="cuda", dtype=dtype)  # noqa: E731
    x, cond, temb = r(batch, length, d["hidden"]), r(batch, cond_len, d["hidden"]), r(batch, 6, d["hidden"])
    mask, cond_mask = r(1, 1, length, length), r(1, 1, length, cond_len)
    with torch.no_grad():
        layer(x, cond, mask, cond_mask, temb, fn)  # first pass: cuBLAS workspaces
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        y = layer(x, cond, mask, cond_mask, temb, fn)
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() - before
    del y, layer, x, cond, temb, mask, cond_mask
    torch.cuda.empty_cache()
    return int(peak)


def cases(arch: dict) -> list[dict]:
    seq = arch["sequence"]
    per_s = seq["latent_hz"] / seq["patch_size"]
    enc = seq["lyric_tokens_max"] + seq["timbre_tokens"] + seq["caption_tokens_max"]
    out = []
    for family, b, durations in (("dit_2b", 1, (60, 240, 600)), ("dit_2b", 2, (240, 600)), ("dit_xl", 1, (240,))):
        d = arch["dit"][family]
        for s in durations:
            length = math.ceil(s * per_s)
            out.append(dict(kind="self", family=family, duration_s=s, batch=b, heads=d["heads"],
                            kv_heads=d["kv_heads"], head_dim=d["head_dim"], lq=length, lk=length))
    d = arch["dit"]["dit_2b"]
    out.append(dict(kind="cross", family="dit_2b", duration_s=240, batch=1, heads=d["heads"], kv_heads=d["kv_heads"],
                    head_dim=d["head_dim"], lq=math.ceil(240 * per_s), lk=enc))
    out.append(dict(kind="lyric_encoder", family="dit_2b", duration_s=None, batch=1, heads=d["encoder_heads"],
                    kv_heads=d["kv_heads"], head_dim=d["head_dim"], lq=seq["lyric_tokens_max"],
                    lk=seq["lyric_tokens_max"]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="write the records here")
    ap.add_argument("--dtypes", default="fp32,fp16,bf16")
    args = ap.parse_args()
    arch = tomllib.loads(ARCH.read_text())
    torch.backends.cuda.matmul.allow_tf32 = False
    impls = {"eager": eager, "sdpa": sdpa}
    tf = transformers_eager()
    if tf is not None:
        impls["transformers_eager"] = tf
    # warm-up: cuBLAS handles and workspaces are allocated on first use, not per call
    for dt_name in args.dtypes.split(","):
        for fn in impls.values():
            measure(fn, 1, 16, 8, 128, 256, 256, DTYPES[dt_name])
    records = []
    print(f"{'case':44s} {'dtype':5s} {'impl':18s} {'peak MiB':>10s} {'retained MiB':>13s} {'B*H*Lq*Lk':>14s}")
    for c in cases(arch):
        for dt_name in args.dtypes.split(","):
            for name, fn in impls.items():
                r = measure(fn, c["batch"], c["heads"], c["kv_heads"], c["head_dim"], c["lq"], c["lk"],
                            DTYPES[dt_name])
                rec = {**c, "dtype": dt_name, "impl": name, **r,
                       "scores": c["batch"] * c["heads"] * c["lq"] * c["lk"]}
                records.append(rec)
                label = f"{c['kind']} {c['family']} {c['duration_s']}s B{c['batch']} Lq{c['lq']} Lk{c['lk']}"
                print(f"{label:44s} {dt_name:5s} {name:18s} {r['peak_bytes'] / 2**20:10.1f} "
                      f"{r['retained_bytes'] / 2**20:13.1f} {rec['scores']:14d}", flush=True)
    layers = []
    print(f"{'DiT layer':44s} {'dtype':5s} {'impl':18s} {'peak MiB':>10s}")
    for dt_name in ("fp32", "fp16"):
        for batch, length in ((1, 750), (1, 3000), (1, 7500), (2, 3000)):
            for name in ("eager", "sdpa"):
                peak = measure_layer(impls[name], arch, batch, length, DTYPES[dt_name])
                layers.append({"batch": batch, "lq": length, "dtype": dt_name, "impl": name, "peak_bytes": peak})
                print(f"{f'B{batch} L{length}':44s} {dt_name:5s} {name:18s} {peak / 2**20:10.1f}", flush=True)
    meta = {"gpu": torch.cuda.get_device_name(), "capability": list(torch.cuda.get_device_capability()),
            "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
            "transformers_eager_measured": tf is not None}
    try:
        import transformers
        meta["transformers"] = transformers.__version__
    except Exception:
        pass
    print(json.dumps(meta))
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "records": records, "layers": layers}, indent=1))


if __name__ == "__main__":
    main()
