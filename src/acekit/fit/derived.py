"""Memory terms DERIVED from ACE-Step's architecture (``architecture.toml``), not measured: eager attention's
score/softmax tensors and the 5 Hz LM's KV cache.

The measured figures (``measured.toml``) were taken with SDPA, which never holds an attention matrix. Upstream
switches to eager attention on GPUs without bf16 (compute capability < 8.0: the T4), and eager attention
materialises [batch, heads, Lq, Lk] scores in every call; the LM figures there are weights only. These pure
functions give those two missing terms in bytes, from the shapes upstream's source fixes; the eager formula was
checked against torch on a GPU (``attention_measured.toml``, tests/test_fit_derived.py).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

ARCHITECTURE_FILE = Path(__file__).with_name("architecture.toml")
VALIDATION_FILE = Path(__file__).with_name("attention_measured.toml")

#: Attention implementations the fit model distinguishes. "sdpa" stands for both SDPA and flash-attn 2
#: (neither holds the score matrix; the measured figures are SDPA's).
ATTENTIONS = ("sdpa", "eager")

GIB = 1024 ** 3


@lru_cache(maxsize=2)
def architecture(path: str = str(ARCHITECTURE_FILE)) -> dict[str, Any]:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def attention_for(*, has_bf16: bool) -> str:
    """The attention upstream picks on a CUDA GPU: eager where the GPU lacks bf16 (compute capability < 8.0,
    e.g. the T4), whatever the dtype; flash-attn 2 or SDPA otherwise (counted alike: "sdpa")."""
    return "sdpa" if has_bf16 else "eager"


def normalise_attention(attention: str | None) -> str:
    a = (attention or "sdpa").strip().lower()
    a = {"flash": "sdpa", "flash_attention_2": "sdpa", "flash-attn": "sdpa"}.get(a, a)
    if a not in ATTENTIONS:
        raise ValueError(f"attention {attention!r}: use one of {', '.join(ATTENTIONS)} (flash counts as sdpa)")
    return a


def dit_tokens(duration_s: float, arch: dict[str, Any] | None = None) -> int:
    """Sequence length of the DiT's self-attention for a clip: 25 latent frames/s, patchified by 2."""
    seq = (arch or architecture())["sequence"]
    frames = math.ceil(duration_s * seq["latent_hz"])
    return math.ceil(frames / seq["patch_size"])


def condition_tokens(arch: dict[str, Any] | None = None) -> int:
    """Longest packed condition the DiT cross-attends to: lyrics + one timbre embedding + caption."""
    seq = (arch or architecture())["sequence"]
    return int(seq["lyric_tokens_max"] + seq["timbre_tokens"] + seq["caption_tokens_max"])


def eager_call_bytes(*, batch: int, heads: int, kv_heads: int, head_dim: int, lq: int, lk: int, dtype: str,
                     arch: dict[str, Any] | None = None) -> int:
    """Peak bytes one eager attention call allocates above its inputs: the [B, H, Lq, Lk] score tensors at
    their worst moment (``bytes_per_score`` per element) plus repeat_kv's copies of K and V."""
    a = arch or architecture()
    per_score = a["attention"]["bytes_per_score"][dtype]
    elem = a["attention"]["bytes_retained"][dtype]  # compute-dtype element size
    repeat = 2 * batch * heads * lk * head_dim * elem if heads != kv_heads else 0
    return batch * heads * lq * lk * per_score + repeat


def eager_retained_bytes(*, batch: int, heads: int, head_dim: int, lq: int, lk: int, dtype: str,
                         arch: dict[str, Any] | None = None) -> int:
    """What an eager call leaves alive until its layer returns: the attention weights and the output."""
    elem = (arch or architecture())["attention"]["bytes_retained"][dtype]
    return batch * heads * lq * lk * elem + batch * heads * lq * head_dim * elem


@dataclass(frozen=True)
class EagerTerm:
    """The extra peak eager attention adds over SDPA in one DiT run, and where it happens."""

    bytes: int
    where: str
    tokens: int

    @property
    def gib(self) -> float:
        return self.bytes / GIB


def eager_moments(*, family: str, mode: str, dtype: str, batch: int, duration_s: float,
                  arch: dict[str, Any] | None = None) -> dict[str, int]:
    """Bytes eager attention holds above SDPA at each moment of a generation where it peaks.

    A DiT self-attention call over the clip's L tokens; a DiT cross-attention call to the packed condition
    while that layer still holds its self-attention weights (``dit_*`` keys); the lyric encoder (2048 tokens
    at most) and the timbre encoder self-attention (``encoder_*``). base/sft with CFG run the DiT at batch
    2B; the condition encoder runs once at batch B.
    """
    a = arch or architecture()
    d = a["dit"][family]
    seq = a["sequence"]
    b_dit = batch * (2 if mode == "base_cfg" else 1)
    length = dit_tokens(duration_s, a)
    enc = condition_tokens(a)
    shape = dict(heads=d["heads"], head_dim=d["head_dim"], dtype=dtype, arch=a)
    self_call = eager_call_bytes(batch=b_dit, kv_heads=d["kv_heads"], lq=length, lk=length, **shape)
    cross = (eager_retained_bytes(batch=b_dit, lq=length, lk=length, **shape)
             + eager_call_bytes(batch=b_dit, kv_heads=d["kv_heads"], lq=length, lk=enc, **shape))
    enc_shape = dict(heads=d["encoder_heads"], kv_heads=d["kv_heads"], head_dim=d["head_dim"], dtype=dtype, arch=a)
    lyric = eager_call_bytes(batch=batch, lq=seq["lyric_tokens_max"], lk=seq["lyric_tokens_max"], **enc_shape)
    timbre = eager_call_bytes(batch=batch, lq=seq["timbre_frames"] + 1, lk=seq["timbre_frames"] + 1, **enc_shape)
    return {
        f"dit_self: DiT self-attention over {length} tokens at batch {b_dit}": self_call,
        f"dit_cross: DiT cross-attention ({length} x {enc} tokens) beside the layer's self-attention weights": cross,
        f"encoder_lyric: lyric encoder self-attention over {seq['lyric_tokens_max']} tokens": lyric,
        "encoder_timbre: timbre encoder self-attention": timbre,
    }


def eager_extra(*, family: str, mode: str, dtype: str, batch: int, duration_s: float,
                arch: dict[str, Any] | None = None) -> EagerTerm:
    """The largest eager attention moment of a generation (`eager_moments`), bytes above what SDPA holds.

    Added to the SDPA-measured peak this over-counts a little (the SDPA call's own transient and whatever
    SDPA peaked on are counted beside it): conservative by construction; attention_measured.toml's
    [[layer]] rows show by how much (4-16 % of a DiT layer's eager peak).
    """
    a = arch or architecture()
    moments = eager_moments(family=family, mode=mode, dtype=dtype, batch=batch, duration_s=duration_s, arch=a)
    key = max(moments, key=lambda k: moments[k])
    return EagerTerm(bytes=int(moments[key]), where=key.split(": ", 1)[1], tokens=dit_tokens(duration_s, a))


# ---- the 5 Hz LM ------------------------------------------------------------------------------------

def lm_kv_bytes_per_token(lm: str, arch: dict[str, Any] | None = None) -> int:
    a = arch or architecture()
    m = a["lm"]["models"][lm]
    return 2 * m["layers"] * m["kv_heads"] * m["head_dim"] * a["lm"]["dtype_bytes"]


def lm_tokens(duration_s: float, arch: dict[str, Any] | None = None) -> tuple[int, int]:
    """(prompt tokens, new tokens) of the longest LM generation for a clip: chain of thought plus 5 codes/s."""
    lm = (arch or architecture())["lm"]
    new = min(math.ceil(duration_s * lm["codes_per_s"]) + lm["cot_tokens"], lm["max_new_tokens"])
    return int(lm["prompt_tokens"]), int(new)


@dataclass(frozen=True)
class LmTerm:
    """The LM phase's memory above its weights: KV cache or the prefill's logits, whichever is larger."""

    bytes: int
    kv_bytes: int
    prefill_bytes: int
    tokens: int

    @property
    def gib(self) -> float:
        return self.bytes / GIB


def lm_extra(lm: str, duration_s: float, arch: dict[str, Any] | None = None) -> LmTerm:
    """KV cache of upstream's pt-backend LM generation (prompt and unconditional prompt as one batch of 2,
    bf16) at its longest for ``duration_s``, or the prefill moment (logits for every prompt position
    plus the prompt's cache) if that is larger."""
    a = arch or architecture()
    cfg = a["lm"]
    per_token = lm_kv_bytes_per_token(lm, a)
    prompt, new = lm_tokens(duration_s, a)
    seqs = cfg["sequences"]
    kv = seqs * (prompt + new) * per_token
    prefill = seqs * prompt * (cfg["vocab"] * cfg["dtype_bytes"] + per_token)
    return LmTerm(bytes=max(kv, prefill), kv_bytes=kv, prefill_bytes=prefill, tokens=prompt + new)
