"""Image settings and bring-up notes follow the fit model: the T4 starts what fits there, the Spark
allows the LM and XL, and docs/bringup.md shows the tables `acekit plan` prints."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml
from typer.testing import CliRunner

from acekit import fit
from acekit.capabilities.defaults import default_capabilities
from acekit.cli.main import app
from acekit.deploy.dockerfile import read_dockerfile
from acekit.gateway.gpu import PretendSampler
from acekit.gateway.settings import GatewaySettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker" / "compose.yaml").read_text())
_DEFAULT = re.compile(r"\$\{[A-Za-z_0-9]+:-([^}]*)\}")
INVENTORY = {"models": [{"name": m, "is_default": m == "acestep-v15-turbo"} for m in fit.MODELS]}


def _env(platform: str) -> dict[str, str]:
    """The container's environment with every compose default applied (image ENV, then compose)."""
    env = dict(read_dockerfile(REPO / "docker" / platform / "Dockerfile").final.env())
    for name, value in COMPOSE["services"][platform]["environment"].items():
        env[name] = _DEFAULT.sub(lambda m: m.group(1), str(value))
    return env


def _gateway_settings(env: dict[str, str]) -> GatewaySettings:
    names = {"ACESTEP_DTYPE", "ACESTEP_INIT_LLM", "ACESTEP_LM_MODEL_PATH", "ACESTEP_OFFLOAD_TO_CPU",
             "ACESTEP_OFFLOAD_DIT_TO_CPU", "ACEKIT_GATEWAY_ADMISSION"}
    return GatewaySettings(_env_file=None, **{k: v for k, v in env.items() if k in names and v != ""})


def test_t4_image_starts_what_fits_there() -> None:
    env = _env("t4")
    t4 = fit.gpu_preset("T4")
    assert fit.normalise_dtype(env["ACESTEP_DTYPE"]) == t4.dtype == "fp32"
    # LM off because no LM fits beside the fp32 DiT without offloading ...
    assert env["ACESTEP_INIT_LLM"] == "false"
    kw = dict(memory_gib=t4.memory_gib, dtype="fp32", model=env["ACESTEP_CONFIG_PATH"], attention=t4.attention)
    assert t4.attention == "eager"  # upstream on sm_75
    for lm in ("0.6B", "1.7B", "4B"):
        assert fit.max_duration(lm=lm, **kw)[0] is None
    # ... no offloading: turbo batch 1 fits resident up to 240 s (eager attention's matrices bound it) ...
    assert env["ACESTEP_OFFLOAD_TO_CPU"] == "false"
    assert fit.max_duration(**kw)[0] == 240
    # ... and the gateway in the same container refuses the rest: batch limit 1.
    settings = _gateway_settings(env)
    assert settings.admission and settings.server_lm == "none" and settings.offload_to_cpu is False
    caps = default_capabilities(PretendSampler("T4").gpu(), INVENTORY, dtype=settings.server_dtype,
                                lm=settings.server_lm, offload=bool(settings.offload_to_cpu))
    rec = caps.tasks["text2music"].recommended
    assert (rec.max_batch, rec.max_duration_s, rec.thinking) == (1, 240, False)
    assert caps.fit.attention == "eager"
    assert not any(m.startswith("acestep-v15-xl") for m in caps.tasks["text2music"].models)


def test_spark_image_allows_the_lm_and_xl() -> None:
    env = _env("spark")
    assert env["ACESTEP_INIT_LLM"] == "true" and "ACESTEP_DTYPE" not in env
    settings = _gateway_settings(env)
    assert settings.admission and settings.server_lm == env["ACESTEP_LM_MODEL_PATH"]
    caps = default_capabilities(PretendSampler("GB10").gpu(), INVENTORY, dtype=settings.server_dtype,
                                lm=settings.server_lm, offload=bool(settings.offload_to_cpu))
    assert caps.fit.dtype == "bf16" and caps.fit.lm == "1.7B" and caps.fit.thinking
    assert "acestep-v15-xl-turbo" in caps.tasks["text2music"].models
    assert all(x.max_duration_s == 600 for x in caps.fit.limits)


def test_bringup_fit_tables_match_acekit_plan() -> None:
    doc = (REPO / "docs" / "bringup.md").read_text()
    blocks = re.findall(r"<!-- (acekit plan [^>]*?) -->\n(.*?)<!-- end acekit plan -->", doc, re.S)
    assert {cmd for cmd, _ in blocks} == {
        "acekit plan --gpu T4 --markdown", "acekit plan --gpu GB10 --markdown",
        "acekit plan --gpu T4 --markdown --untiled-decode --model acestep-v15-turbo --model acestep-v15-base "
        "--lm none --lm 0.6B"}
    for cmd, table in blocks:
        out = CliRunner().invoke(app, shlex.split(cmd)[1:])
        assert out.exit_code == 0, out.output
        assert table == out.output, f"docs/bringup.md is stale for `{cmd}`: paste its output between the markers"


def test_images_set_the_offload_layout_the_fit_model_counts() -> None:
    # upstream keeps the DiT on the GPU with ACESTEP_OFFLOAD_TO_CPU=true unless ACESTEP_OFFLOAD_DIT_TO_CPU=true:
    # both images say it explicitly (the T4's Dockerfile too, for `docker run` without compose), and the gateway
    # in the same container reads it, so its budget is the layout upstream runs
    t4_image = dict(read_dockerfile(REPO / "docker" / "t4" / "Dockerfile").final.env())
    assert t4_image["ACESTEP_OFFLOAD_DIT_TO_CPU"] == "false"
    for platform in ("t4", "spark"):
        env = _env(platform)
        assert env["ACESTEP_OFFLOAD_DIT_TO_CPU"] == "false"
        assert _gateway_settings(env).offload_dit_to_cpu is False
    on = _gateway_settings({**_env("t4"), "ACESTEP_OFFLOAD_TO_CPU": "true", "ACESTEP_OFFLOAD_DIT_TO_CPU": "true"})
    assert on.offload_to_cpu is True and on.offload_dit_to_cpu is True
    kept = default_capabilities(PretendSampler("T4").gpu(), INVENTORY, dtype="fp32", lm="none", offload=True)
    moved = default_capabilities(PretendSampler("T4").gpu(), INVENTORY, dtype="fp32", lm="none", offload=True,
                                 offload_dit=True)
    assert kept.fit.offload and not kept.fit.offload_dit and moved.fit.offload_dit
    assert any("the DiT stays on the GPU" in r and "ACESTEP_OFFLOAD_DIT_TO_CPU=false" in r
               for r in kept.tasks["text2music"].reasons)
    assert any("ACESTEP_OFFLOAD_DIT_TO_CPU=true" in r for r in moved.tasks["text2music"].reasons)
