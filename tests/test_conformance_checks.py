"""The conformance tier's own logic, without upstream: comparisons, the venv recipe, the run tree.

The tier itself (tests/test_conformance_upstream.py) needs an upstream tree; these make sure its
verdicts can fail, and that it never touches the user's tree or acekit's venv.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acekit.cli.main import app
from acekit.conformance import checks, launcher
from acekit.conformance.checks import Expectation, compare, sniff_format, values_equal
from acekit.conformance.drive import SRC_SECONDS, Intent, job_groups, matrix_case_checks, plain_edit_intents
from acekit.conformance.upstream_server import FAKE_DIT_MODELS, prepare_run_tree, server_env
from acekit.conformance.upstream_venv import requirement_texts, venv_key

FIXTURE_UPSTREAM = Path(__file__).parent / "fixtures" / "upstream"


def _dit(**params):
    return {"call": "dit", "model": "acestep-v15-base", "params": params, "output_seconds": SRC_SECONDS,
            "output_seconds_from": "source", "src_audio_info": {"seconds": SRC_SECONDS, "reader": "upstream process_src_audio"}}


def _request(**fields):
    return {"call": "request", "fields": fields}


SENT_OFF = {"thinking": "false", "use_cot_caption": "false", "use_cot_language": "false", "use_cot_metas": "false"}


def _pipeline(**params):
    return {"call": "pipeline", "params": params, "config": {"audio_format": "wav"}}


LEGO = Intent("lego", "lego", "round bass", bpm=84, key="A minor", time_signature="4", steps=20, seed=5,
              tracks=["bass"], model="acestep-v15-base")
COT_OFF = {"thinking": False, "use_cot_caption": False, "use_cot_language": False, "use_cot_metas": False}
LEGO_DIT = dict(task_type="lego", captions="round bass", batch_size=1, bpm=84, key_scale="A minor", time_signature="4",
                inference_steps=20, seed="5", use_random_seed=False, audio_duration=None,
                instruction="Generate the BASS track based on the audio context:")


def test_a_faithful_lego_passes_every_check() -> None:
    got = compare(LEGO.expectation("client"), [_request(**SENT_OFF), _pipeline(**COT_OFF), _dit(**LEGO_DIT)],
                  [{"path": "x.wav", "format": "wav", "seconds": SRC_SECONDS}])
    assert got and all(c.passed for c in got), [c for c in got if not c.passed]
    assert {"bpm", "key_scale", "time_signature", "captions", "instruction", "lm_called", "src_audio seconds",
            "use_cot_caption", "use_cot_metas (sent)", "audio_format", "file 0 format"} <= {c.parameter for c in got}


def test_switches_left_to_the_server_default_fail() -> None:
    got = compare(LEGO.expectation("client"), [_request(), _pipeline(**COT_OFF), _dit(**LEGO_DIT)])
    failed = {c.parameter for c in got if not c.passed}
    assert failed == {"thinking (sent)", "use_cot_caption (sent)", "use_cot_language (sent)", "use_cot_metas (sent)"}


def _forced_lm(user_metadata):
    return {"call": "lm", "params": {"infer_type": "dit", "use_cot_caption": False, "use_cot_language": False,
                                     "use_cot_metas": True, "user_metadata": user_metadata}}


def test_upstreams_forced_metas_cot_is_a_limitation_only_when_it_can_invent_nothing() -> None:
    records = [_request(**SENT_OFF), _pipeline(**{**COT_OFF, "use_cot_metas": True}),
               _forced_lm({"bpm": 84, "keyscale": "A minor", "timesignature": "4"}), _dit(**LEGO_DIT)]
    got = compare(LEGO.expectation("client"), records)
    assert all(c.passed for c in got), [c for c in got if not c.passed]
    assert "use_cot_metas" not in {c.parameter for c in got}
    assert checks.upstream_limitations(records)
    # the same forced CoT without the user's time signature could overwrite it: fails
    records[2] = _forced_lm({"bpm": 84, "keyscale": "A minor"})
    lm = [c for c in compare(LEGO.expectation("client"), records) if c.parameter == "lm_called"]
    assert not lm[0].passed and "timesignature" not in lm[0].note and "time_signature" in lm[0].note


def test_the_lm_rewriting_the_caption_fails_with_the_parameter_named() -> None:
    dit = {**LEGO_DIT, "captions": checks.LM_INVENTED["captions"], "time_signature": checks.LM_INVENTED["time_signature"]}
    lm = {"call": "lm", "params": {"infer_type": "dit", "use_cot_caption": True}}
    got = compare(LEGO.expectation("cli"), [_request(**SENT_OFF), _pipeline(**{**COT_OFF, "use_cot_caption": True}), lm,
                                            _dit(**dit)], [])
    failed = {c.parameter for c in got if not c.passed}
    assert {"captions", "time_signature", "lm_called", "use_cot_caption", "captions (not LM-invented)"} <= failed


def test_a_dropped_upload_and_a_wrong_file_format_fail() -> None:
    rec = _dit(**LEGO_DIT)
    rec["src_audio_info"] = {"seconds": None, "reader": "nobody"}
    got = compare(LEGO.expectation("curl"), [_request(**SENT_OFF), _pipeline(**COT_OFF), rec],
                  [{"path": "x.mp3", "format": "mp3", "seconds": SRC_SECONDS}])
    failed = {c.parameter for c in got if not c.passed}
    assert {"src_audio seconds", "file 0 format"} <= failed


def test_a_job_that_never_reached_the_dit_fails() -> None:
    got = compare(Expectation(surface="client", job="x", dit={"bpm": 90}), [])
    assert [c.parameter for c in got if not c.passed] == ["dit_calls"]


@pytest.mark.parametrize(("parameter", "expected", "actual", "equal"), [
    ("seed", 42, "42", True), ("seed", 42, "42,99", True), ("seed", 42, "7", False), ("seed", 42, None, False),
    ("repainting_end", -1, None, True), ("repainting_end", 6.0, None, False), ("bpm", 84, 84.0, True),
    ("bpm", 84, 85, False), ("key_scale", "A minor", "C major", False), ("audio_duration", None, 30.0, False),
    ("thinking", False, "false", True), ("thinking", False, "true", False), ("thinking", False, None, False),
    ("use_cot_caption", False, 0, False),
])
def test_values_equal(parameter: str, expected, actual, equal: bool) -> None:
    assert values_equal(parameter, expected, actual) is equal


def test_the_checks_know_what_the_stand_in_lm_invents() -> None:
    # checks.py cannot import the launcher's constants at run time in upstream's venv, so they are copies
    invented = launcher.LM_INVENTED
    assert checks.LM_INVENTED == {"bpm": invented["bpm"], "key_scale": invented["keyscale"],
                                  "time_signature": invented["timesignature"], "captions": invented["caption"]}


def test_sniff_format() -> None:
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff_format(b"fLaC\0\0") == "flac"
    assert sniff_format(b"ID3\x04") == "mp3"
    assert sniff_format(b"\xff\xfb\x90") == "mp3"
    assert sniff_format(b"<html>") is None


def test_matrix_case_is_matched_to_its_upstream_job() -> None:
    rec = {"task": "lego", "case_id": "abc", "status": "ok", "model": "acestep-v15-base",
           "case": {"task": "lego", "model": "acestep-v15-base", "bpm": 100, "key": "C major", "time_signature": "4",
                    "steps": 10, "seed": 3, "prompt": "p", "track": "bass"}}
    good = _dit(task_type="lego", captions="p", bpm=100, key_scale="C major", time_signature="4", inference_steps=10,
                seed="3", instruction="Generate the BASS track based on the audio context:", batch_size=1,
                use_random_seed=False, audio_duration=None)
    other = _dit(task_type="lego", captions="p", bpm=137, key_scale="F# minor", time_signature="6", inference_steps=10,
                 seed="3", instruction="x", batch_size=1, use_random_seed=False, audio_duration=None)
    pipeline = {**_pipeline(**COT_OFF), "config": {"audio_format": "mp3"}}
    records = [_request(**SENT_OFF), pipeline, other, _request(**SENT_OFF), pipeline, good]
    jobs = job_groups(records)
    assert len(jobs) == 2
    got = matrix_case_checks(rec, jobs)
    assert all(c.passed for c in got), [c for c in got if not c.passed]
    failed = {c.parameter for c in matrix_case_checks(rec, jobs[:1]) if not c.passed}
    assert {"bpm", "key_scale", "time_signature", "instruction"} <= failed


def test_upstream_venv_recipe_pins_cpu_torch_and_keeps_upstream_pins_out() -> None:
    requirements, constraints = requirement_texts(FIXTURE_UPSTREAM)
    lines = [line.split(";")[0].strip() for line in requirements.splitlines() if line and not line.startswith("#")]
    assert not [line for line in lines if line.split("=")[0].split("<")[0].split(">")[0].strip() in {"torch", "torchvision", "torchaudio"}]
    assert not [line for line in lines if "flash" in line or "mlx" in line or "cu128" in line]
    assert "torch==2.10.0" in constraints.splitlines() and "torchaudio==2.10.0" in constraints.splitlines()
    assert "transformers<4.58" in constraints.splitlines()


def test_venv_key_follows_upstream_requirements(tmp_path: Path) -> None:
    tree = tmp_path / "up"
    tree.mkdir()
    (tree / "requirements.txt").write_text("numpy\n")
    first = venv_key(tree)
    assert venv_key(tree) == first
    (tree / "acestep").mkdir()
    (tree / "acestep" / "new_code.py").write_text("x = 1\n")  # code changes reuse the venv
    assert venv_key(tree) == first
    (tree / "requirements.txt").write_text("numpy\nscipy\n")
    assert venv_key(tree) != first


def test_run_tree_is_a_copy_with_fake_checkpoints(tmp_path: Path) -> None:
    src = tmp_path / "upstream"
    (src / "acestep").mkdir(parents=True)
    (src / "acestep" / "api_server.py").write_text("# upstream\n")
    tree = prepare_run_tree(src, tmp_path / "run")
    assert (tree / "acestep" / "api_server.py").is_file()
    for name, is_turbo in FAKE_DIT_MODELS.items():
        assert json.loads((tree / "checkpoints" / name / "config.json").read_text())["is_turbo"] is is_turbo
    assert not (src / "checkpoints").exists()  # the user's tree is never written to


def test_server_env_drops_a_developers_own_acestep_settings(tmp_path: Path) -> None:
    env = server_env(tree=tmp_path, port=1234, vram_gb=24, init_llm="true",
                     base_env={"ACESTEP_API_KEY": "secret", "ACESTEP_CONFIG_PATH": "mine", "PATH": "/bin"})
    assert "ACESTEP_API_KEY" not in env and env["ACESTEP_CONFIG_PATH"] == "acestep-v15-turbo"
    assert env["MAX_CUDA_VRAM"] == "24" and env["ACESTEP_INIT_LLM"] == "true" and env["PATH"] == "/bin"


def test_cli_refuses_a_folder_that_is_not_upstream(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["conformance", "--upstream-src", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "not an ACE-Step 1.5 source tree" in result.output


@pytest.mark.parametrize(("task", "params", "src_s", "seconds"), [
    ("complete", {"audio_duration": 15.0}, 9.5, 9.5),  # upstream renders the source's length for complete
    ("lego", {"audio_duration": None}, 9.5, 9.5),
    ("repaint", {"repainting_start": 2.0, "repainting_end": 14.0}, 9.5, 14.0),  # outpainting pads the source
    ("repaint", {"repainting_start": -1.0, "repainting_end": -1}, 9.5, 10.5),
    ("text2music", {"audio_duration": 12.0}, None, 12.0),
    ("text2music", {"audio_duration": -1}, None, launcher.FALLBACK_DURATION_S),
])
def test_stand_in_renders_the_length_upstreams_dit_would(task, params, src_s, seconds) -> None:
    src = {"seconds": src_s} if src_s else None
    assert launcher.output_seconds(task, params, src)[0] == pytest.approx(seconds)


def test_plain_edit_must_send_the_sources_own_metas() -> None:
    plain = plain_edit_intents()[0].expectation("cli")
    dit = {**LEGO_DIT, "captions": "", "bpm": 96, "key_scale": "D minor", "time_signature": "4"}
    lm = _forced_lm({"bpm": 96, "keyscale": "D minor", "timesignature": "4"})
    records = [_request(**SENT_OFF), _pipeline(**{**COT_OFF, "use_cot_metas": True}), lm, _dit(**dit)]
    assert all(c.passed for c in compare(plain, records)), [c for c in compare(plain, records) if not c.passed]
    # meter not measured: the LM was not told, and its invention reached the DiT
    records[2] = _forced_lm({"bpm": 96, "keyscale": "D minor"})
    records[3] = _dit(**{**dit, "time_signature": checks.LM_INVENTED["time_signature"]})
    failed = {c.parameter for c in compare(plain, records) if not c.passed}
    assert {"time_signature (measured from source)", "time_signature (not LM-invented)", "lm_called"} <= failed


def test_job_groups_pair_a_queued_request_with_its_own_run() -> None:
    """The matrix keeps its next case queued at the server: the next request arrives while the
    current job runs, so its DiT call must not be charged to the queued job (and vice versa)."""
    req_a, req_b = _request(task_type="repaint"), _request(task_type="lego")
    pip_a, pip_b = _pipeline(task_type="repaint"), _pipeline(task_type="lego")
    dit_a, dit_b, lm_b = {"call": "dit", "n": "a"}, {"call": "dit", "n": "b"}, {"call": "lm", "n": "b"}
    jobs = job_groups([req_a, pip_a, req_b, dit_a, pip_b, lm_b, dit_b])
    assert jobs == [[req_a, pip_a, dit_a], [req_b, pip_b, lm_b, dit_b]]
    # a request that never ran (refused before the pipeline) stays a job of its own
    refused = _request(task_type="cover")
    jobs = job_groups([refused, req_b, pip_b, dit_b])
    assert jobs == [[refused], [req_b, pip_b, dit_b]]


def test_unloaded_model_checks_pass_against_the_reference_behind_a_gateway(start_reference, tmp_path) -> None:
    # The reference imitates upstream here (lists a checkpoint it did not load, runs a request for it on its
    # primary DiT); the same checks run against upstream's own server in the conformance tier.
    from acekit.conformance.drive import unloaded_model_checks
    from acekit.conformance.upstream_server import UNLOADED_DIT_MODEL
    from acekit.gateway.launch import running_gateway

    url = start_reference("--models", "acestep-v15-turbo,acestep-v15-base", "--downloaded-models", UNLOADED_DIT_MODEL,
                          "--seconds-per-step", "0")
    with running_gateway(url, log_path=tmp_path / "gw.log") as gw:
        checks = unloaded_model_checks(url, gw, tmp_path)
    assert len(checks) == 4 and all(c.passed for c in checks), [c for c in checks if not c.passed]
    # and they can fail: without the gateway's refusal (admission off) the request goes through
    with running_gateway(url, "--no-admission", log_path=tmp_path / "gw2.log") as gw:
        open_door = unloaded_model_checks(url, gw, tmp_path / "open")
    assert [c.parameter for c in open_door if not c.passed] == ["gateway refuses a request for it"]
