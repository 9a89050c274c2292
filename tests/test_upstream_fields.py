"""Newest upstream fields and models (issue 7 part 3): XL DiTs, repaint_mode/repaint_strength, guidance_variant.

Checked against upstream main 53067ab (acestep/model_downloader.py, api/http/release_task_models.py,
core/generation/handler/generate_music.py ``_resolve_repaint_config``) and upstream PR 1129 (guidance).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

from acekit import contract
from acekit.capabilities.defaults import models_from_payload
from acekit.cli.main import app
from acekit.models import make_request
from acekit.reference import engine
from acekit.reference.jobs import upstream_repaint_crossfade_s
from acekit.reference.settings import supported_task_types

POLL = ["--poll-interval-s", "0.05"]
XL = ("acestep-v15-xl-turbo", "acestep-v15-xl-base", "acestep-v15-xl-sft")


def run(*args: str):
    return CliRunner().invoke(app, list(args), env={contract.SERVER_ENV: None, contract.API_KEY_ENV: None})


def test_xl_models_are_known_and_xl_base_and_sft_count_as_base() -> None:
    assert [contract.is_turbo_model_name(m) for m in XL] == [True, False, False]
    assert all(contract.DIT_MODELS[m][1] == "4B" for m in XL)
    assert "lego" not in supported_task_types("acestep-v15-xl-turbo")
    assert {"lego", "extract", "complete"} <= set(supported_task_types("acestep-v15-xl-sft"))
    models = models_from_payload({"models": [{"name": m} for m in XL]})
    assert [m.max_steps for m in models] == [contract.MAX_STEPS_TURBO, contract.MAX_STEPS_BASE, contract.MAX_STEPS_BASE]
    helptext = CliRunner().invoke(app, ["lego", "--help"], env={"COLUMNS": "400"}).stdout
    assert all(m in helptext for m in XL) and "xl-sft are base models" in helptext


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.wav"
    spec = engine.MusicSpec(100, engine.random_key(1), "4", 12.0)
    sf.write(path, engine.render_text2music(spec, seed=2), engine.SAMPLE_RATE, subtype="FLOAT")
    return path


def test_base_only_warning_knows_the_xl_models(start_reference, clip: Path, tmp_path: Path) -> None:
    server = start_reference("--models", ",".join(XL))
    common = ["extract", str(clip), "--track", "drums", "--batch", "1", "--format", "wav", "--bpm", "100",
              "--key", "C major", "--time-signature", "4", "--server", server, "--json", *POLL]
    for model, warned in (("acestep-v15-xl-turbo", True), ("acestep-v15-xl-base", False), ("acestep-v15-xl-sft", False)):
        res = run(*common, "--model", model, "--out", str(tmp_path / model))
        assert res.exit_code == 0, res.stderr
        doc = json.loads(res.stdout)
        assert doc["files"][0]["dit_model"] == model
        assert any("base-model only" in w for w in doc["warnings"]) is warned, (model, doc["warnings"])


def test_repaint_mode_and_strength_reach_the_server(reference_server: str, clip: Path, tmp_path: Path) -> None:
    res = run("repaint", str(clip), "--start", "4", "--end", "8", "--repaint-mode", "balanced", "--repaint-strength",
              "0.2", "--bpm", "100", "--key", "C", "--time-signature", "4", "--batch", "1", "--format", "wav",
              "--server", reference_server, "--out", str(tmp_path), "--json", *POLL)
    assert res.exit_code == 0, res.stderr
    card = json.loads(Path(json.loads(res.stdout)["files"][0]["audio"]).with_suffix(".json").read_text())
    assert (card["request"]["repaint_mode"], card["request"]["repaint_strength"]) == ("balanced", 0.2)
    # the reference resolves the crossfade as upstream 53067ab does: 25*(1-0.2)=20 frames + 0.04 s
    assert "crossfade 0.84 s" in card["result"]["generation_info"]
    bad = run("repaint", str(clip), "--repaint-mode", "gentle", "--server", reference_server, "--out", str(tmp_path))
    assert bad.exit_code == 2 and "conservative" in bad.stderr


def test_upstream_crossfade_resolution() -> None:
    assert upstream_repaint_crossfade_s("aggressive", 0.5) == 0.0
    assert upstream_repaint_crossfade_s("conservative", 0.9) == pytest.approx(1.0 + 0.05)
    assert upstream_repaint_crossfade_s("balanced", 0.5) == pytest.approx(12 / 25 + 0.025)


def test_guidance_variant_and_params_are_passed_through(reference_server: str, clip: Path, tmp_path: Path) -> None:
    fields = make_request("text2music", guidance_variant="apg_classic",
                          guidance_params={"eta": 0.0, "momentum": -0.75}).to_api_fields()
    assert fields["guidance_variant"] == "apg_classic" and fields["guidance_params"] == {"eta": 0.0, "momentum": -0.75}
    assert "guidance_variant" not in make_request("text2music").to_api_fields()
    res = run("cover", str(clip), "--guidance-variant", "cfg", "--guidance-params", '{"eta": 0.1}', "--batch", "1",
              "--format", "wav", "--server", reference_server, "--out", str(tmp_path), "--json", *POLL)
    assert res.exit_code == 0, res.stderr
    card = json.loads(Path(json.loads(res.stdout)["files"][0]["audio"]).with_suffix(".json").read_text())
    assert card["request"]["guidance_variant"] == "cfg" and card["request"]["guidance_params"] == {"eta": 0.1}
    bad = run("generate", "--guidance-params", "[1, 2]", "--server", reference_server, "--out", str(tmp_path))
    assert bad.exit_code == 2 and "JSON object" in bad.stderr
