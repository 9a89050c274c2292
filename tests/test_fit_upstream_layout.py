"""The fit model follows upstream's memory layout at the pin: offload keeps the DiT on the GPU unless
ACESTEP_OFFLOAD_DIT_TO_CPU=true, the LM is bf16 on CUDA whatever the DiT runs, a tiled decode runs one sample
at a time, and use_tiled_decode=false decodes the whole batch at once (derived from the measured full decodes)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from acekit import fit
from acekit.capabilities.fitting import fit_info_for
from acekit.cli.main import app
from acekit.fit.model import untiled_vae_activations, vae_activations
from acekit.gateway.gpu import PretendSampler

DATA = fit.load_data()
T4 = fit.gpu_preset("T4")
GB10 = fit.gpu_preset("GB10")
W_DIT32, W_TE32, W_VAE32 = DATA.weights("dit_2b", "fp32"), DATA.weights("text_encoder", "fp32"), DATA.weights("vae", "fp32")
CTX = DATA.context_gib


# ---- 1. offload: the DiT stays unless ACESTEP_OFFLOAD_DIT_TO_CPU ------------------------------------------

def test_offload_keeps_the_dit_on_the_gpu_beside_the_vae_decode_and_the_lm():
    kw = dict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", lm="0.6B", duration_s=240,
              attention="eager")
    kept, moved = fit.predict(**kw), fit.predict(offload_dit=True, **kw)
    vae_act, _ = vae_activations(DATA, "fp32", 1, 240)
    lm = DATA.lm_weights("0.6B") + kept.lm_cache_gib + CTX
    assert moved.offload.vae == pytest.approx(DATA.vae_resident("fp32") + vae_act + CTX, abs=0.01)
    assert kept.offload.vae == pytest.approx(moved.offload.vae + W_DIT32, abs=0.01)
    assert moved.offload.lm == pytest.approx(lm, abs=0.01) and kept.offload.lm == pytest.approx(lm + W_DIT32, abs=0.01)
    assert kept.offload.dit == moved.offload.dit  # the DiT phase holds the DiT either way
    assert not kept.offload_dit and moved.offload_dit and "(DiT too)" not in kept.reason


def test_offload_decides_what_fits_on_the_t4():
    # the 1.7B LM (bf16: 3.45 GiB, its cache 2.4) fits offloaded only when the fp32 DiT leaves the GPU too
    kw = dict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", lm="1.7B", offload=True,
              attention="eager")
    assert fit.max_duration(**kw)[0] is None
    assert fit.max_duration(offload_dit=True, **kw)[0] == 430
    # the 0.6B fits beside the kept DiT: LM phase 1.23 + 2.4 + 0.45 + 8.95
    assert fit.max_duration(**{**kw, "lm": "0.6B"})[0] == 430
    # a second fp32 DiT (CONFIG_PATH2) stays on the GPU with offload alone: only both variables make room
    two = dict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=30, attention="eager",
               also_loaded=["acestep-v15-base"])
    assert fit.predict(**two).verdict == fit.Verdict.does_not_fit
    assert fit.predict(offload_dit=True, **two).verdict == fit.Verdict.fits_with_offload
    out = CliRunner().invoke(app, ["plan", "--gpu", "T4", "--duration", "30", "--also-loaded", "acestep-v15-base",
                                   "--offload"])
    assert out.exit_code == 1 and "DiT kept on the GPU" in out.output, out.output
    out = CliRunner().invoke(app, ["plan", "--gpu", "T4", "--duration", "30", "--also-loaded", "acestep-v15-base",
                                   "--offload", "--offload-dit"])
    assert out.exit_code == 0 and "CPU offload (DiT too)" in out.output, out.output


def test_capabilities_state_the_offload_layout_they_count():
    kept = fit_info_for(PretendSampler("T4").gpu(), ["acestep-v15-turbo"], dtype="fp32", lm="0.6B", offload=True)
    moved = fit_info_for(PretendSampler("T4").gpu(), ["acestep-v15-turbo"], dtype="fp32", lm="1.7B", offload=True,
                         offload_dit=True)
    assert kept.offload and not kept.offload_dit and kept.thinking
    assert moved.offload_dit and moved.thinking
    # offload_dit without offload means nothing upstream (the DiT moves only in offload mode)
    assert not fit_info_for(PretendSampler("T4").gpu(), ["acestep-v15-turbo"], offload=False, offload_dit=True).offload_dit
    assert not fit_info_for(PretendSampler("T4").gpu(), ["acestep-v15-turbo"], dtype="fp32", lm="1.7B",
                            offload=True).thinking


# ---- 2. the LM is bf16 on CUDA ------------------------------------------------------------------------

def test_the_lm_is_bf16_on_a_float32_server():
    assert DATA.lm_weights("1.7B", "fp32") == DATA.lm_weights("1.7B", "bf16") == 3.45
    kw = dict(memory_gib=100, model="acestep-v15-turbo", lm="1.7B", duration_s=60, attention="sdpa")
    p32 = fit.predict(dtype="fp32", **kw)
    lm_phase = W_DIT32 + W_TE32 + W_VAE32 + 3.45 + p32.lm_cache_gib + CTX
    assert p32.resident.lm == pytest.approx(lm_phase, abs=0.01)
    assert p32.offload.lm == pytest.approx(3.45 + p32.lm_cache_gib + CTX + W_DIT32, abs=0.01)


# ---- 3. tiled decode per sample ----------------------------------------------------------------------

def test_batch_vae_phase_is_the_batch_1_decode():
    for batch in (2, 4, 8):
        p = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", batch=batch,
                        duration_s=60, attention="eager")
        one = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=60,
                          attention="eager")
        assert p.resident.vae == one.resident.vae and p.offload.vae == one.offload.vae
    # T4: batch 2 now fits resident (turbo 120 s, base 60 s): the DiT phase binds, not the VAE
    assert fit.max_duration(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", batch=2,
                            attention="eager")[0] == 120
    assert fit.max_duration(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-base", batch=2,
                            attention="eager")[0] == 60


# ---- 4. untiled decode --------------------------------------------------------------------------------

def test_untiled_decode_reads_the_measured_full_decodes_at_batch_times_duration():
    full = DATA.raw["vae_untiled"]
    grid, b1, b4 = full["durations_s"], full["bf16"]["1"], full["bf16"]["4"]
    r = DATA.vae_resident("bf16")
    # batch 1: the measured points themselves (about 45 GiB at 600 s, as model-cost.md says)
    for d, measured in zip(grid, b1, strict=True):
        assert untiled_vae_activations(DATA, "bf16", 1, d)[0] + r == pytest.approx(measured)
    assert untiled_vae_activations(DATA, "bf16", 1, 600)[0] + r == pytest.approx(45.46)
    # batch 4: never below what was measured (the rule reads batch 1 at 4x the duration, at or above)
    for d, measured in zip(grid, b4):
        assert untiled_vae_activations(DATA, "bf16", 4, d)[0] + r >= measured - 1e-9, d
    assert untiled_vae_activations(DATA, "bf16", 4, 30)[0] + r == pytest.approx(8.37)  # exactly where measured
    # fp32 not run: twice bf16's activations; every figure labelled derived
    act32, notes = untiled_vae_activations(DATA, "fp32", 1, 60)
    assert act32 == pytest.approx(2 * untiled_vae_activations(DATA, "bf16", 1, 60)[0])
    assert "derived" in notes[0] and "use_tiled_decode=false" in notes[0]


def test_untiled_decode_limits():
    kw = dict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", attention="eager")
    assert fit.max_duration(tiled_decode=False, **kw)[0] == 10
    assert fit.max_duration(tiled_decode=False, batch=2, **kw)[0] is None
    p = fit.predict(duration_s=60, tiled_decode=False, **kw)
    assert p.verdict != fit.Verdict.fits and p.resident.worst == "VAE decode" and "untiled VAE decode" in p.reason
    assert not p.tiled_decode and fit.predict(duration_s=60, **kw).verdict == fit.Verdict.fits
    # the Spark: 600 s at batch 1 (about 45 GiB), but not the whole of batch 8 at 600 s
    spark = dict(memory_gib=GB10.memory_gib, dtype="bf16", model="acestep-v15-turbo", tiled_decode=False)
    assert fit.max_duration(**spark)[0] == 600
    assert fit.max_duration(batch=8, **spark)[0] == 160
    info = fit_info_for(PretendSampler("GB10").gpu(), ["acestep-v15-turbo"], lm="1.7B")
    assert info.untiled_limit("acestep-v15-turbo", 1).max_duration_s == 600
    assert info.untiled_limit("acestep-v15-turbo", 8).max_duration_s < 600
    assert all(x.max_duration_s == 600 for x in info.limits)  # tiled limits do not move
    assert "use_tiled_decode=false" in info.untiled_limit("acestep-v15-turbo", 8).reason
