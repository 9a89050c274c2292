"""The fit model's derived terms (acekit.fit.derived): eager attention on GPUs without bf16 (the T4) and
the LM's KV cache. The eager formula is checked against torch on a GPU (attention_measured.toml); the T4's
limits follow it where the arithmetic says so, the Spark's do not move, and the capabilities, the gateway's
admission and the report carry the new limits."""

from __future__ import annotations

import tomllib

import pytest

from acekit import fit
from acekit.capabilities.defaults import default_capabilities
from acekit.capabilities.fitting import fit_info_for, run_limits
from acekit.capabilities.gpu_info import GpuInfo
from acekit.fit import derived
from acekit.gateway.gpu import PretendSampler
from acekit.matrix.store import CaseRecord
from acekit.report.build import limits_section, memory_limits

MEASURED = tomllib.loads(derived.VALIDATION_FILE.read_text())
T4 = fit.gpu_preset("T4")
GB10 = fit.gpu_preset("GB10")
INVENTORY = {"models": [{"name": m, "is_default": m == "acestep-v15-turbo"} for m in fit.MODELS]}


# ---- the formula against the device measurements --------------------------------------------------

def test_measurements_carry_their_provenance():
    src = MEASURED["source"]
    assert src["gpu"] and src["torch"] and src["date"]
    # every self-attention case of interest is there, in both dtypes the T4 could run, and at 600 s
    cases = {(c["case"], c["lq"], c["dtype"]) for c in MEASURED["call"] if c["impl"] == "eager"}
    assert {("self", 750, "fp32"), ("self", 3000, "fp16"), ("self", 7500, "fp32"), ("self", 7500, "fp16")} <= cases


@pytest.mark.parametrize("impl", ["eager", "transformers_eager"])
def test_eager_call_formula_matches_the_gpu_within_3_percent(impl):
    rows = [c for c in MEASURED["call"] if c["impl"] == impl]
    assert len(rows) >= 20
    for c in rows:
        shape = dict(batch=c["batch"], heads=c["heads"], head_dim=c["head_dim"], lq=c["lq"], lk=c["lk"],
                     dtype=c["dtype"])
        peak = derived.eager_call_bytes(kv_heads=c["kv_heads"], **shape)
        kept = derived.eager_retained_bytes(**shape)
        # allocator rounding weighs most on the smallest call (60 s: +2.2 %); from 240 s on it is < 0.3 %
        tol = 0.03 if c["lq"] * c["lk"] < 3000 * 2000 else 0.003
        assert c["peak_bytes"] == pytest.approx(peak, rel=tol), c
        assert c["retained_bytes"] == pytest.approx(kept, rel=0.05), c


def test_sdpa_holds_no_attention_matrix():
    # why the SDPA-measured figures miss the eager term: SDPA's call is ~2 orders of magnitude smaller
    for c in MEASURED["call"]:
        if c["impl"] == "sdpa" and c["lq"] >= 3000:
            eager = next(e for e in MEASURED["call"] if e["impl"] == "eager" and
                         (e["case"], e["batch"], e["heads"], e["lq"], e["lk"], e["dtype"]) ==
                         (c["case"], c["batch"], c["heads"], c["lq"], c["lk"], c["dtype"]))
            assert c["peak_bytes"] < 0.13 * eager["peak_bytes"], c


def test_sdpa_peak_plus_the_eager_term_bounds_a_whole_eager_dit_layer():
    # one DiT layer (self-attn, cross-attn to the 2305-token condition, MLP): eager peak <= SDPA peak + the
    # derived DiT moments, and not by much (the fit model is conservative, not wild)
    layers = MEASURED["layer"]
    for e in (x for x in layers if x["impl"] == "eager"):
        s = next(x for x in layers if x["impl"] == "sdpa" and (x["dtype"], x["batch"], x["lq"]) ==
                 (e["dtype"], e["batch"], e["lq"]))
        duration = e["lq"] * 2 / 25  # tokens -> seconds (12.5 tokens per second)
        assert derived.dit_tokens(duration) == e["lq"] and derived.condition_tokens() == e["lk_cross"]
        moments = derived.eager_moments(family="dit_2b", mode="turbo", dtype=e["dtype"], batch=e["batch"],
                                        duration_s=duration)
        dit = max(v for k, v in moments.items() if k.startswith("dit_"))
        predicted = s["peak_bytes"] + dit
        assert e["peak_bytes"] <= predicted <= 1.2 * e["peak_bytes"], (e, predicted)


def test_bytes_per_call_at_60_240_600_s():
    # the figures the report quotes: one 2B self-attention call, batch 1, fp32 (fp16 alike: 8 bytes/score)
    per_call = {s: derived.eager_call_bytes(batch=1, heads=16, kv_heads=8, head_dim=128, lq=derived.dit_tokens(s),
                                            lk=derived.dit_tokens(s), dtype="fp32") for s in (60, 240, 600)}
    assert [derived.dit_tokens(s) for s in (60, 240, 600)] == [750, 3000, 7500]
    assert per_call[60] == 16 * 750 ** 2 * 8 + 2 * 16 * 750 * 128 * 4
    assert per_call[600] / derived.GIB == pytest.approx(6.82, abs=0.01)
    assert per_call[240] / derived.GIB == pytest.approx(1.12, abs=0.01)
    # quadratic in duration (the K/V copies, linear, pull the ratio a little below (600/240)^2)
    assert 6.0 < per_call[600] / per_call[240] < (7500 / 3000) ** 2


def test_upstreams_attention_rule():
    assert fit.attention_for(has_bf16=False) == "eager" and fit.attention_for(has_bf16=True) == "sdpa"
    assert T4.attention == "eager" and GB10.attention == "sdpa"
    assert GpuInfo(name="Tesla T4", compute_capability="7.5").has_bf16 is False
    assert fit.normalise_attention("flash_attention_2") == "sdpa"
    with pytest.raises(fit.FitError, match="eager"):
        fit.normalise_attention("xformers")


# ---- the T4's limits -------------------------------------------------------------------------------

def _max(model, batch=1, attention="eager", **kw):
    return fit.max_duration(memory_gib=T4.memory_gib, dtype="fp32", model=model, batch=batch, attention=attention,
                            **kw)


def test_t4_max_duration_is_bounded_by_eager_attention():
    assert _max("acestep-v15-turbo")[0] == 240 and _max("acestep-v15-turbo", attention="sdpa")[0] == 600
    assert _max("acestep-v15-base")[0] == 130 and _max("acestep-v15-base", attention="sdpa")[0] == 240
    # just past the new limit: SDPA would fit, eager does not, and the DiT phase (not the VAE) is why
    sdpa = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=250,
                       attention="sdpa")
    eager = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=250,
                        attention="eager")
    assert sdpa.verdict == fit.Verdict.fits and eager.verdict != fit.Verdict.fits
    assert eager.resident.worst == "DiT" and eager.resident.dit == pytest.approx(sdpa.resident.dit + eager.eager_gib,
                                                                                abs=0.011)
    assert any("eager attention" in n and "derived" in n for n in eager.notes)
    # offloading moves the limit out (turbo 430 s) but not to 600 s: at 600 s one call alone holds 6.8 GiB
    assert _max("acestep-v15-turbo", offload=True)[0] == 430
    p600 = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=600,
                       attention="eager")
    assert p600.verdict == fit.Verdict.does_not_fit and p600.offload.dit > T4.memory_gib


def test_where_eager_is_small_the_limit_does_not_move():
    # at 10-60 s the eager term is about half a GiB (the lyric encoder's 2048 tokens dominate): batch 1 still
    # fits; batch 2 (its VAE decoded per sample) is bound by the DiT phase, where eager costs it 240 -> 120 s
    p = fit.predict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=30, attention="eager")
    assert p.verdict == fit.Verdict.fits and 0.4 < p.eager_gib < 0.6
    assert _max("acestep-v15-turbo", batch=2)[0] == 120 and _max("acestep-v15-turbo", batch=2, attention="sdpa")[0] == 240


def test_spark_is_unchanged():
    for row in fit.fit_table(memory_gib=GB10.memory_gib, dtype=GB10.dtype, attention=GB10.attention):
        assert row.max_duration_s == 600, row
    info = fit_info_for(PretendSampler("GB10").gpu(), list(fit.MODELS), lm="1.7B")
    assert info.attention == "sdpa" and all(x.max_duration_s == 600 for x in info.limits)
    p = fit.predict(memory_gib=GB10.memory_gib, dtype="bf16", model="acestep-v15-xl-base", batch=8, duration_s=600,
                    attention=GB10.attention)
    assert p.eager_gib == 0 and not any("eager" in n for n in p.notes)


# ---- the LM's KV cache -----------------------------------------------------------------------------

def test_lm_kv_cache_is_counted():
    # Qwen3 shapes: 28 layers x 8 KV heads x 128 x K and V x bf16 = 112 KiB per token (0.6B / 1.7B)
    assert derived.lm_kv_bytes_per_token("0.6B") == 2 * 28 * 8 * 128 * 2 == 114688
    assert derived.lm_kv_bytes_per_token("4B") == 2 * 36 * 8 * 128 * 2
    t30, t600 = derived.lm_extra("1.7B", 30), derived.lm_extra("1.7B", 600)
    assert t600.kv_bytes > t30.kv_bytes and t600.tokens == 2400 + min(5 * 600 + 500, 4032)
    assert t600.bytes == max(t600.kv_bytes, t600.prefill_bytes)
    kw = dict(memory_gib=GB10.memory_gib, dtype="bf16", model="acestep-v15-turbo", duration_s=600)
    with_lm, without = fit.predict(lm="1.7B", **kw), fit.predict(lm="none", **kw)
    data = fit.load_data()
    weights = (data.weights("dit_2b", "bf16") + data.weights("text_encoder", "bf16") + data.weights("vae", "bf16")
               + data.lm_weights("1.7B", "bf16") + data.context_gib)
    # LM phase = every resident weight + the LM's cache; the DiT phase does not carry it (freed after generation)
    assert with_lm.lm_cache_gib == pytest.approx(t600.gib, abs=0.001) and without.lm_cache_gib == 0
    assert with_lm.resident.lm == pytest.approx(weights + t600.gib, abs=0.01)
    assert with_lm.resident.dit == pytest.approx(without.resident.dit + data.lm_weights("1.7B", "bf16"), abs=0.01)
    # offloaded: the LM, its cache and the DiT, which upstream keeps on the GPU unless ACESTEP_OFFLOAD_DIT_TO_CPU
    lm_alone = data.lm_weights("1.7B", "bf16") + t600.gib + data.context_gib
    assert with_lm.offload.lm == pytest.approx(lm_alone + data.weights("dit_2b", "bf16"), abs=0.01)
    assert fit.predict(lm="1.7B", offload_dit=True, **kw).offload.lm == pytest.approx(lm_alone, abs=0.01)
    assert any("KV cache" in n and "derived" in n for n in with_lm.notes)


def test_lm_cache_can_decide_a_fit():
    # a budget that holds the 4B LM's weights (and the offloaded DiT and VAE phases) but not its cache
    kw = dict(dtype="bf16", model="acestep-v15-turbo", lm="4B", duration_s=60, attention="sdpa")
    roomy = fit.predict(memory_gib=100, **kw)
    budget = roomy.offload.lm - roomy.lm_cache_gib / 2
    assert roomy.offload.lm - roomy.lm_cache_gib < budget and max(roomy.offload.dit, roomy.offload.vae) < budget
    tight = fit.predict(memory_gib=budget, **kw)
    assert tight.verdict == fit.Verdict.does_not_fit and tight.offload.worst == "LM"


# ---- capabilities, admission and the report carry it ----------------------------------------------

def test_t4_capabilities_offer_no_duration_that_would_oom():
    caps = default_capabilities(PretendSampler("T4").gpu(), INVENTORY, dtype="fp32", lm="none", offload=False)
    assert caps.fit.attention == "eager" and "derived" in caps.fit.data_source
    rec = caps.tasks["text2music"].recommended
    assert rec.model == "acestep-v15-turbo" and rec.max_duration_s == 240
    lim = caps.fit.limit("acestep-v15-base", 1)
    assert lim.max_duration_s == 130 and "eager attention" in lim.reason
    # every duration offered at batch 1 fits by the fit model, the next one does not
    for model in ("acestep-v15-turbo", "acestep-v15-base"):
        longest = caps.fit.limit(model, 1).max_duration_s
        ok = fit.predict(memory_gib=caps.fit.memory_gib, dtype="fp32", model=model, duration_s=longest,
                         attention="eager")
        nxt = fit.predict(memory_gib=caps.fit.memory_gib, dtype="fp32", model=model, duration_s=longest + 10,
                          attention="eager")
        assert ok.verdict == fit.Verdict.fits and nxt.verdict != fit.Verdict.fits


def test_report_memory_limits_use_the_eager_limits_for_a_t4():
    rec = CaseRecord(case_id="c1", server="t4", server_url="http://t4", engine="ACE-Step API", task="text2music",
                     model="acestep-v15-turbo", case={"duration_s": 30}, status="ok")
    rows = memory_limits([{"label": "t4", "gpu": "Tesla T4", "gpu_memory_total_mb": 15360.0}], [rec])
    assert [(r["model"], r["max_duration_s"]) for r in rows] == [("acestep-v15-turbo", 240.0)]
    assert "| t4 | acestep-v15-turbo | 240 s | fit model |" in limits_section(rows)
    spark = run_limits("NVIDIA GB10", None, [rec.model_copy(update={"server": "spark"})])
    assert spark.attention == "sdpa" and spark.limit("acestep-v15-turbo", 1).max_duration_s == 600


def test_a_second_dit_counts_its_handlers_weights():
    # upstream's ACESTEP_CONFIG_PATH2: a second handler with its own DiT, text encoder and VAE
    kw = dict(memory_gib=T4.memory_gib, dtype="fp32", model="acestep-v15-turbo", duration_s=30, attention="eager")
    one, two = fit.predict(**kw), fit.predict(also_loaded=["acestep-v15-base", "acestep-v15-turbo"], **kw)
    assert two.also_loaded == ["acestep-v15-base"]
    assert two.resident.dit - one.resident.dit == pytest.approx(8.95 + 2.22 + 0.63, abs=0.02)
    assert one.verdict == fit.Verdict.fits and two.verdict != fit.Verdict.fits
    from typer.testing import CliRunner

    from acekit.cli.main import app
    out = CliRunner().invoke(app, ["plan", "--gpu", "T4", "--duration", "30", "--also-loaded", "acestep-v15-base"])
    assert out.exit_code == 1 and "also resident: acestep-v15-base" in out.output
    bad = CliRunner().invoke(app, ["plan", "--gpu", "T4", "--duration", "30", "--also-loaded", "nope"])
    assert bad.exit_code == 2 and "error:" in bad.output
