"""`acekit deps filter`: upstream's requirement lists (fixtures shaped like upstream's newest) -> torch-free list per platform.

Every kind of line upstream carries is checked to be dropped with the right reason, or kept, for
both targets; the constraints file must pin exactly the platform's torch build.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from typer.testing import CliRunner

from acekit.cli.main import app
from acekit.deploy.deps import constraints_text, filter_files, filter_requirements
from acekit.deploy.platforms import SPARK, T4, TORCH_FAMILY, get_platform, with_torch_spec

FIXTURES = Path(__file__).parent / "fixtures" / "upstream"
REQUIREMENTS = FIXTURES / "requirements.txt"
PYPROJECT = FIXTURES / "pyproject.toml"
NANO_PYPROJECT = FIXTURES / "nano-vllm" / "pyproject.toml"


def _filtered(platform_name: str):
    return filter_files(platform=get_platform(platform_name), requirements=REQUIREMENTS, pyprojects=[PYPROJECT, NANO_PYPROJECT])


def _dropped(result, needle: str, *, source: str = "requirements.txt"):
    """The drop record of the first line of ``source`` containing ``needle``."""
    for d in result.dropped:
        if Path(d.source).name == source and needle in d.text:
            return d
    raise AssertionError(f"no dropped line of {source} contains {needle!r}; dropped: {[d.text for d in result.dropped]}")


def _kept_names(result) -> set[str]:
    return {canonicalize_name(Requirement(k.requirement).name) for k in result.kept}


@pytest.mark.parametrize("platform_name", ["spark", "t4"])
def test_no_torch_family_line_survives(platform_name: str) -> None:
    result = _filtered(platform_name)
    assert not _kept_names(result) & set(TORCH_FAMILY)
    torch_drops = [d for d in result.dropped if d.reason == "torch-family"]
    # requirements.txt: 3 windows + 3 macOS + 3 linux x86_64 + 3 linux aarch64; pyproject: the same 12;
    # nano-vllm: torch>=2.4.0
    assert len(torch_drops) == 25
    pin = get_platform(platform_name).torch_pins["torch"]
    assert all(pin in d.detail for d in torch_drops if Requirement(d.text).name == "torch")


@pytest.mark.parametrize("platform_name", ["spark", "t4"])
def test_index_and_local_lines_are_dropped(platform_name: str) -> None:
    result = _filtered(platform_name)
    index = [d for d in result.dropped if d.reason == "index-option"]
    assert [d.text for d in index] == [
        "--extra-index-url https://download.pytorch.org/whl/cu128",
        "--extra-index-url https://download.pytorch.org/whl/cu130",
    ]
    assert _dropped(result, "-e acestep/third_parts/nano-vllm").reason == "local-path"
    nano = _dropped(result, "nano-vllm;", source="pyproject.toml")
    assert nano.reason == "local-path" and "--no-deps" in nano.detail
    assert "nano-vllm" not in _kept_names(result)


def test_spark_drops_other_platform_lines_with_reasons() -> None:
    result = _filtered("spark")
    assert _dropped(result, "mlx>=").reason == "marker-excludes-target"
    assert _dropped(result, "mlx-lm").reason == "marker-excludes-target"
    assert _dropped(result, "triton-windows").reason == "marker-excludes-target"
    # upstream leaves torchcodec out on aarch64 and pins torchao only elsewhere
    assert _dropped(result, "torchcodec").reason == "marker-excludes-target"
    assert _dropped(result, "torchao>=0.16.0").reason == "marker-excludes-target"
    # direct-URL wheels: the Windows one (requirements + nano-vllm) and nano-vllm's linux x86_64 one
    win = _dropped(result, "flash-attention-for-windows")
    assert win.reason == "other-platform-wheel" and "win_amd64" in win.detail and "aarch64" in win.detail
    x86 = _dropped(result, "linux_x86_64.whl", source="pyproject.toml")
    assert x86.reason == "other-platform-wheel" and "linux_x86_64" in x86.detail
    # the bare linux x86_64 flash-attn line is not for this machine
    assert _dropped(result, "flash-attn; sys_platform").reason == "marker-excludes-target"
    kept = _kept_names(result)
    assert {"torchao", "triton", "xxhash", "transformers", "safetensors", "vector-quantize-pytorch"} <= kept
    assert not kept & {"torchcodec", "flash-attn", "mlx", "mlx-lm", "triton-windows"}


def test_t4_keeps_x86_lines_and_never_flash_attn() -> None:
    result = _filtered("t4")
    kept = _kept_names(result)
    assert {"torchcodec", "torchao", "triton"} <= kept
    torchao = [k.requirement for k in result.kept if k.requirement.startswith("torchao")]
    assert torchao == ["torchao<0.17.0,>=0.16.0"]  # the aarch64-only unpinned line is dropped
    assert "flash-attn" not in kept
    # the bare linux x86_64 line and nano-vllm's x86_64 wheel fit this machine: dropped as flash-attn, on purpose
    assert _dropped(result, "flash-attn; sys_platform").reason == "flash-attn"
    assert _dropped(result, "linux_x86_64.whl", source="pyproject.toml").reason == "flash-attn"
    assert _dropped(result, "flash-attention-for-windows").reason == "other-platform-wheel"


@pytest.mark.parametrize("platform_name", ["spark", "t4"])
def test_output_is_markerless_parseable_and_deduplicated(platform_name: str) -> None:
    result = _filtered(platform_name)
    text = result.requirements_text()
    reqs = [Requirement(line) for line in text.splitlines() if line and not line.startswith("#")]
    assert all(r.marker is None and r.url is None for r in reqs)
    assert len({str(r) for r in reqs}) == len(reqs)
    dup = _dropped(result, "gradio==6.2.0", source="pyproject.toml")
    assert dup.reason == "duplicate" and "requirements.txt" in dup.detail
    # every input requirement is accounted for: kept or dropped with a reason
    lines = [x for x in REQUIREMENTS.read_text().splitlines() if x.strip() and not x.lstrip().startswith("#")]
    deps = [d for f in (PYPROJECT, NANO_PYPROJECT) for d in tomllib.loads(f.read_text())["project"]["dependencies"]]
    assert len(result.kept) + len(result.dropped) == len(lines) + len(deps)
    assert all(d.detail for d in result.dropped)


def test_constraints_pin_the_chosen_torch() -> None:
    spark = [line for line in constraints_text(SPARK).splitlines() if not line.startswith("#")]
    assert spark[:3] == ["torch==2.10.0+cu130", "torchvision==0.25.0+cu130", "torchaudio==2.10.0+cu130"]
    t4 = [line for line in constraints_text(T4).splitlines() if not line.startswith("#")]
    assert t4[:3] == ["torch==2.10.0+cu128", "torchvision==0.25.0+cu128", "torchaudio==2.10.0+cu128"]
    # ABI companions that declare no torch requirement are held to the series built for torch 2.10
    assert "torchao>=0.16.0,<0.17.0" in spark and "torchcodec>=0.10.0,<0.11.0" in t4
    nightly = with_torch_spec(SPARK, "torch==2.11.0.dev20260101+cu130 torchvision==0.26.0.dev20260101+cu130 torchaudio==2.11.0.dev20260101+cu130")
    assert "torch==2.11.0.dev20260101+cu130" in constraints_text(nightly)
    with pytest.raises(ValueError, match="exact ==version"):
        with_torch_spec(SPARK, "torch>=2.10 torchvision==0.25.0 torchaudio==2.10.0")
    with pytest.raises(ValueError, match="lacks torchaudio"):
        with_torch_spec(SPARK, "torch==2.10.0 torchvision==0.25.0")


def test_odd_spellings_are_read_like_pip_reads_them() -> None:
    text = "\n".join(
        [
            "Torch[opt] >= 2.0  # capitalised, extras, comment",
            "--index-url https://example.invalid/simple",
            "-f ./wheels",
            "-r more-requirements.txt",
            "numpy>=1.26 ; \\",
            "    python_version >= '3.10'",
            "mlx",  # forgot its marker
            "local-thing @ file:///src/local-thing",
            "./vendor/pkg",
            "foo @ https://example.invalid/foo-1.0-cp311-cp311-manylinux_2_28_aarch64.whl",
            "bar @ https://example.invalid/bar-1.0-cp311-cp311-macosx_11_0_arm64.whl",
        ]
    )
    result = filter_requirements(platform=SPARK, requirements_text=text)
    reasons = {d.text.split()[0]: d.reason for d in result.dropped}
    assert reasons["Torch[opt]"] == "torch-family"
    assert reasons["--index-url"] == "index-option" and reasons["-f"] == "index-option"
    assert reasons["-r"] == "nested-file"
    assert reasons["mlx"] == "apple-only"
    assert reasons["local-thing"] == "local-path" and reasons["./vendor/pkg"] == "local-path"
    assert reasons["bar"] == "other-platform-wheel"
    assert [k.requirement for k in result.kept] == [
        "numpy>=1.26",
        "foo @ https://example.invalid/foo-1.0-cp311-cp311-manylinux_2_28_aarch64.whl",
    ]
    with pytest.raises(ValueError, match="cannot parse"):
        filter_requirements(platform=SPARK, requirements_text="this is not a requirement!")


def test_cli_writes_both_files_and_reports_each_drop(tmp_path: Path) -> None:
    out, cons = tmp_path / "req.txt", tmp_path / "constraints.txt"
    res = CliRunner().invoke(
        app,
        ["deps", "filter", str(REQUIREMENTS), "--pyproject", str(PYPROJECT), "--pyproject", str(NANO_PYPROJECT),
         "--platform", "spark", "--out", str(out), "--constraints-out", str(cons)],
    )
    assert res.exit_code == 0, res.output
    assert "dropped [other-platform-wheel]" in res.output and "dropped [torch-family]" in res.output
    assert "dropped [local-path] -e acestep/third_parts/nano-vllm" in res.output
    assert "torch" not in {canonicalize_name(Requirement(x).name) for x in out.read_text().splitlines() if x and x[0] != "#"}
    assert "torch==2.10.0+cu130" in cons.read_text().splitlines()
    # --machine/--cuda picks the same target as --platform
    res2 = CliRunner().invoke(
        app,
        ["deps", "filter", str(REQUIREMENTS), "--machine", "x86_64", "--cuda", "12.8", "--quiet",
         "--out", str(tmp_path / "r2.txt"), "--constraints-out", str(tmp_path / "c2.txt")],
    )
    assert res2.exit_code == 0, res2.output
    assert "torch==2.10.0+cu128" in (tmp_path / "c2.txt").read_text().splitlines()
    bad = CliRunner().invoke(app, ["deps", "filter", str(REQUIREMENTS), "--platform", "a100"])
    assert bad.exit_code == 2 and "use one of spark, t4" in bad.output
