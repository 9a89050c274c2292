"""The task CLI (``acekit health|models|stats|generate|repaint|cover|lego|extract|complete``) against the
real reference backend on loopback.

Most tests run the typer app in-process (CliRunner, stdout and stderr kept apart); one runs the
installed ``acekit`` entry point as a subprocess. Exit codes are the contract scripts rely on:
0 ok, 2 usage, 3 server, 4 task (`acekit.cli.output.ExitCode`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from acekit import contract
from acekit.cli.main import app
from acekit.cli.output import ExitCode
from acekit.reference.launch import free_port

POLL = ["--poll-interval-s", "0.05"]  # the 1 s default would make every test wait on polling
SR = 48000  # the reference engine's rate: sources at this rate come back sample-aligned


def run(*args: str, env: dict[str, str | None] | None = None):
    """Invoke ``acekit ARGS`` in-process with a clean server/key environment (unless ``env`` sets them)."""
    base: dict[str, str | None] = {contract.SERVER_ENV: None, contract.API_KEY_ENV: None}
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})})


def dead_server() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.fixture(scope="module")
def source_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of stereo chords-and-pulse at 48 kHz: a stand-in for a user's clip."""
    path = tmp_path_factory.mktemp("src") / "source.wav"
    t = np.arange(10 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 261.63, 329.63)) / 3
    pulse = (np.sin(2 * np.pi * 2.0 * t) > 0.9).astype(float) * np.sin(2 * np.pi * 60.0 * t)
    mono = 0.3 * chord + 0.3 * pulse
    sf.write(path, np.stack([mono, 0.9 * mono], axis=1).astype(np.float32), SR, subtype="FLOAT")
    return path


def _json_out(result) -> dict:
    assert result.stdout.strip(), f"no JSON on stdout; stderr: {result.stderr}"
    return json.loads(result.stdout)


def _sidecar(audio: Path) -> dict:
    return json.loads(audio.with_suffix(".json").read_text())


# --------------------------------------------------------------------------- server info


def test_health_models_stats_human_and_json(reference_server: str) -> None:
    human = run("health", "--server", reference_server)
    assert human.exit_code == 0, human.stderr
    assert "ok" in human.stdout and "reference engine" in human.stdout

    health = _json_out(run("health", "--server", reference_server, "--json"))
    assert health["status"] == "ok" and health["server"] == reference_server
    assert "not ACE-Step" in health["service"]

    models = run("models", "--server", reference_server, "--json")
    assert models.exit_code == 0, models.stderr
    listing = json.loads(models.stdout)
    names = [m["name"] for m in listing["models"]]
    assert listing["default_model"] == names[0] and "acestep-v15-base" in names
    assert "lego" in next(m for m in listing["models"] if m["name"] == "acestep-v15-base")["supported_task_types"]
    table = run("models", "--server", reference_server)
    assert table.exit_code == 0 and all(n in table.stdout for n in names)
    assert "complete" in table.stdout  # the claimed tasks column

    stats = _json_out(run("stats", "--server", reference_server, "--json"))
    assert set(stats["jobs"]) >= {"total", "queued", "running", "succeeded", "failed"}
    assert stats["queue_maxsize"] == 200
    stats_human = run("stats", "--server", reference_server)
    assert stats_human.exit_code == 0 and "queue" in stats_human.stdout and "/ 200" in stats_human.stdout


# --------------------------------------------------------------------------- generate


def test_generate_json_writes_audio_and_sidecars_with_requested_metas(reference_server: str, tmp_path: Path) -> None:
    out = tmp_path / "clips"  # created by the command
    result = run(
        "generate", "--server", reference_server, "--prompt", "lofi piano", "--bpm", "96", "--key", "F#m",
        "--time-signature", "3/4", "--duration", "10", "--seed", "11", "--batch", "2", "--format", "wav",
        "--steps", "4", "--thinking", "--extra", "lm_temperature=0.7", "--out", str(out), "--json", *POLL,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)  # --json: stdout is exactly one JSON document
    assert doc["ok"] is True and doc["task_type"] == "text2music" and doc["server"] == reference_server
    assert len(doc["files"]) == 2 and doc["timings"]["polls"] >= 1 and doc["timings"]["wall_s"] > 0
    assert result.stderr == ""  # --json: no progress lines either

    for i, entry in enumerate(doc["files"]):
        audio = Path(entry["audio"])
        assert audio.parent == out and audio.suffix == ".wav"
        info = sf.info(audio)
        assert info.duration == pytest.approx(10.0, abs=0.05)
        card = _sidecar(audio)
        assert Path(entry["sidecar"]) == audio.with_suffix(".json")
        assert card["task_id"] == doc["task_id"] and card["audio"] == audio.name and card["batch_index"] == i
        assert card["server"] == reference_server and card["task_type"] == "text2music"
        # the request as sent: canonical key, API meter value, our extra field
        req = card["request"]
        assert req["bpm"] == 96 and req["key_scale"] == "F# minor" and req["time_signature"] == "3"
        assert req["audio_duration"] == 10 and req["batch_size"] == 2 and req["lm_temperature"] == 0.7
        assert req["seed"] == 11 and req["use_random_seed"] is False
        assert req["inference_steps"] == 4 and req["thinking"] is True and req["prompt"] == "lofi piano"
        # what the server says it generated
        assert card["metas"]["bpm"] == 96 and card["metas"]["keyscale"] == "F# minor"
        assert card["metas"]["timesignature"] == "3"
        assert card["metas"]["duration"] == pytest.approx(10.0, abs=0.05)
        assert card["seed"] == 11 + i and entry["seed"] == 11 + i
        assert card["dit_model"] == "acestep-v15-turbo" and card["lm_model"]  # thinking brings the LM in
        assert card["uploads"] == {"src_audio": None, "reference_audio": None}
        assert card["timings"]["wall_s"] == doc["timings"]["wall_s"] and card["timings"]["submitted_at"]
        assert "engine: acekit-reference" in card["result"]["generation_info"]


def test_generate_human_output_name_and_progress(reference_server: str, tmp_path: Path) -> None:
    lyrics = tmp_path.parent / f"{tmp_path.name}-lyrics.txt"
    lyrics.write_text("[verse]\nla la la\n")
    result = run(
        "generate", "--server", reference_server, "--bpm", "120", "--key", "A minor", "--duration", "10",
        "--lyrics-file", str(lyrics), "--batch", "1", "--format", "wav", "--name", "intro",
        "--model", "no-such-model", "--out", str(tmp_path), *POLL,
    )
    assert result.exit_code == 0, result.stderr
    audio = tmp_path / "intro.wav"
    assert audio.is_file() and (tmp_path / "intro.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["intro.json", "intro.wav"]
    assert str(audio) in result.stdout and "120 bpm" in result.stdout and "A minor" in result.stdout
    assert "text2music:" in result.stderr  # progress lines (not a terminal: one per stage)
    # the server silently replaced the unknown model; the CLI says so
    assert "no-such-model" in result.stderr and "acestep-v15-turbo" in result.stderr
    card = _sidecar(audio)
    assert card["audio"] == "intro.wav" and card["request"]["model"] == "no-such-model"
    assert card["request"]["lyrics"] == "[verse]\nla la la\n" and card["result"]["lyrics"] == "[verse]\nla la la\n"


# --------------------------------------------------------------------------- edit tasks (multipart upload)

EDIT_CASES = {
    "repaint": (["--start", "2", "--end", "4"], {"repainting_start": 2.0, "repainting_end": 4.0}, 10.0),
    "cover": (["--strength", "0.3"], {"audio_cover_strength": 0.3}, 10.0),
    "lego": (["--track", "bass"], {"instruction": contract.instruction_for("lego", ["bass"]),
                                   "track_name": "bass"}, 10.0),
    "extract": (["--track", "Bass"], {"instruction": contract.instruction_for("extract", ["bass"]),
                                      "track_name": "bass"}, 10.0),
    "complete": (["--track", "drums", "--track", "guitar,keyboard", "--duration", "12"],
                 {"instruction": contract.instruction_for("complete", ["drums", "guitar", "keyboard"]),
                  "track_classes": ["drums", "guitar", "keyboard"], "audio_duration": 12.0}, 10.0),
}


@pytest.mark.parametrize("task", list(EDIT_CASES))
def test_edit_task_uploads_source_and_writes_sidecar(
    task: str, reference_server: str, source_wav: Path, tmp_path: Path
) -> None:
    options, expected_fields, expected_s = EDIT_CASES[task]
    extra = ["--reference", str(source_wav)] if task == "cover" else []
    result = run(
        task, str(source_wav), *options, *extra, "--server", reference_server, "--bpm", "100", "--key", "C",
        "--batch", "1", "--format", "wav", "--seed", "5", "--out", str(tmp_path), "--json", *POLL,
    )
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["task_type"] == task and len(doc["files"]) == 1
    audio = Path(doc["files"][0]["audio"])
    card = _sidecar(audio)
    assert card["task_type"] == task and card["task_id"] == doc["task_id"]
    assert card["uploads"]["src_audio"] == str(source_wav.resolve())
    assert card["uploads"]["reference_audio"] == (str(source_wav.resolve()) if task == "cover" else None)
    assert "src_audio_path" not in card["request"]  # the file went up as multipart, not as a server path
    for name, value in expected_fields.items():
        assert card["request"][name] == value, name
    assert card["metas"]["bpm"] == 100 and card["metas"]["keyscale"] == "C major"
    out_audio, sr = sf.read(audio, dtype="float32", always_2d=True)
    assert sr == SR and len(out_audio) / sr == pytest.approx(expected_s, abs=0.05)

    src, _ = sf.read(source_wav, dtype="float32", always_2d=True)
    if task == "repaint":
        # the uploaded source itself comes back before the repaint region: proof the server got our file
        keep = slice(0, int(1.5 * SR))
        assert np.corrcoef(src[keep, 0], out_audio[keep, 0])[0, 1] > 0.99
    if task == "complete":
        # our source, with accompaniment mixed under it
        keep = slice(0, len(src))
        assert 0.1 < np.corrcoef(src[keep, 0], out_audio[keep, 0])[0, 1] < 0.99


def test_edit_task_human_output(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    result = run("repaint", str(source_wav), "--start", "1", "--end", "3", "--bpm", "90", "--key", "Gb major",
                 "--batch", "1", "--format", "wav", "--server", reference_server, "--out", str(tmp_path), *POLL)
    assert result.exit_code == 0, result.stderr
    assert "Gb major" in result.stdout and "90 bpm" in result.stdout and "repaint:" in result.stderr
    wavs = list(tmp_path.glob("*.wav"))
    assert len(wavs) == 1 and wavs[0].with_suffix(".json").is_file()


def test_repaint_past_the_end_warns_that_the_clip_is_extended(
    reference_server: str, source_wav: Path, tmp_path: Path
) -> None:
    result = run("repaint", str(source_wav), "--start", "8", "--end", "12", "--batch", "1", "--format", "wav",
                 "--server", reference_server, "--out", str(tmp_path), "--json", *POLL)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert any("past the end of SRC (10.0 s)" in w and "extended to 12 s" in w for w in doc["warnings"])
    assert sf.info(doc["files"][0]["audio"]).duration == pytest.approx(12.0, abs=0.05)


def test_lego_region_limits_the_new_stem(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    result = run("lego", str(source_wav), "--track", "bass", "--start", "2", "--end", "6", "--batch", "1",
                 "--format", "wav", "--model", "acestep-v15-base", "--server", reference_server,
                 "--out", str(tmp_path), "--json", *POLL)
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    card = _sidecar(Path(doc["files"][0]["audio"]))
    assert card["request"]["repainting_start"] == 2.0 and card["request"]["repainting_end"] == 6.0
    stem, sr = sf.read(doc["files"][0]["audio"], dtype="float32", always_2d=True)
    rms = lambda a, b: float(np.sqrt(np.mean(stem[int(a * sr):int(b * sr)] ** 2)))  # noqa: E731
    assert rms(2.5, 5.5) > 0.01 and rms(0, 1.9) < 1e-4 and rms(6.1, 10) < 1e-4


def test_base_only_task_on_a_turbo_model_warns_and_base_model_does_not(
    reference_server: str, source_wav: Path, tmp_path: Path
) -> None:
    common = ["extract", str(source_wav), "--track", "drums", "--batch", "1", "--format", "wav",
              "--server", reference_server, "--json", *POLL]
    turbo = json.loads(run(*common, "--out", str(tmp_path / "t")).stdout)
    assert any("base-model only" in w and "acestep-v15-turbo" in w for w in turbo["warnings"]), turbo["warnings"]
    base = run(*common, "--model", "acestep-v15-base", "--out", str(tmp_path / "b"))
    assert base.exit_code == 0, base.stderr
    assert not any("base-model" in w for w in json.loads(base.stdout)["warnings"])


# --------------------------------------------------------------------------- usage errors (exit 2, nothing sent)

USAGE_CASES = [
    (["generate", "--key", "H minor"], "--key"),
    (["generate", "--bpm", "400"], "--bpm must be between 30 and 300"),
    (["generate", "--bpm", "fast"], "--bpm"),
    (["generate", "--duration", "5"], "--duration must be between 10 and 600"),
    (["generate", "--time-signature", "5/4"], "--time-signature must be one of"),
    (["generate", "--format", "ogg"], "--format must be one of"),
    (["generate", "--batch", "9"], "--batch must be between 1 and 8"),
    (["generate", "--extra", "novalue"], "FIELD=VALUE"),
    (["repaint", "{src}", "--start", "5", "--end", "3"], "--start (5 s) must be before --end (3 s)"),
    (["repaint", "{missing}", "--start", "1", "--end", "2"], "does not exist"),
    (["repaint", "{src}", "--start", "10", "--end", "12"], "at or past the end of SRC (10.0 s)"),
    (["cover", "{src}", "--strength", "1.5"], "--strength must be between 0 and 1"),
    (["cover", "{src}", "--reference", "{missing}"], "reference audio"),
    (["lego", "{src}", "--track", "kazoo"], "choose from"),
    (["lego", "{src}", "--track", "bass", "--start", "6", "--end", "3"], "--start (6 s) must be before --end (3 s)"),
    (["lego", "{src}"], "--track"),
    (["complete", "{src}"], "at least one --track"),
    (["generate", "--out", "{src}"], "is a file: give a folder"),
    (["generate", "--lyrics", "la", "--lyrics-file", "{src}"], "not both"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_CASES, ids=[" ".join(a) for a, _ in USAGE_CASES])
def test_invalid_input_is_a_usage_error_before_any_request(
    args: list[str], message: str, source_wav: Path, tmp_path: Path
) -> None:
    filled = [a.format(src=source_wav, missing=tmp_path / "missing.wav") for a in args]
    # The server does not exist: had a request been sent, the exit code would be 3, not 2.
    out = [] if "--out" in filled else ["--out", str(tmp_path / "out")]
    result = run(*filled, *out, "--server", dead_server())
    assert result.exit_code == ExitCode.usage, (result.stdout, result.stderr)
    assert message in " ".join(result.stderr.split()), result.stderr
    assert not (tmp_path / "out").exists()


def test_usage_error_with_json_also_prints_json(tmp_path: Path) -> None:
    result = run("generate", "--bpm", "10", "--json", "--server", dead_server(), "--out", str(tmp_path))
    assert result.exit_code == ExitCode.usage
    doc = json.loads(result.stdout)
    assert doc == {"ok": False, "exit_code": 2, "error": doc["error"]} and "--bpm" in doc["error"]
    missing = run("cover", str(tmp_path / "nope.wav"), "--json", "--server", dead_server(), "--out", str(tmp_path))
    assert missing.exit_code == ExitCode.usage and "does not exist" in json.loads(missing.stdout)["error"]


# --------------------------------------------------------------------------- server and task errors


def test_server_down_exits_3_and_says_how_to_start_one(tmp_path: Path) -> None:
    url = dead_server()
    for args in (["health"], ["generate", "--duration", "10", "--out", str(tmp_path)]):
        result = run(*args, "--server", url)
        assert result.exit_code == ExitCode.server, result.stderr
        assert f"cannot reach the ACE-Step server at {url}" in result.stderr
        assert "acekit serve-reference" in result.stderr and "ACEKIT_SERVER" in result.stderr
    doc = json.loads(run("stats", "--server", url, "--json").stdout)
    assert doc["ok"] is False and doc["exit_code"] == 3 and "cannot reach" in doc["error"]


def test_auth_failure_exits_3_and_a_key_from_env_or_option_works(
    start_reference: Callable[..., str], tmp_path: Path
) -> None:
    url = start_reference("--api-key", "s3cret")
    out = tmp_path / "out"
    missing = run("stats", "--server", url)
    assert missing.exit_code == ExitCode.server
    assert "401" in missing.stderr and contract.API_KEY_ENV in missing.stderr and "--api-key" in missing.stderr
    wrong = run("generate", "--duration", "10", "--server", url, "--api-key", "nope", "--out", str(out))
    assert wrong.exit_code == ExitCode.server and "Invalid API key" in wrong.stderr
    assert not out.exists() or list(out.iterdir()) == []

    assert run("stats", "--server", url, "--api-key", "s3cret").exit_code == 0
    ok = run("generate", "--duration", "10", "--batch", "1", "--format", "wav", "--server", url,
             "--out", str(out), "--json", *POLL, env={contract.API_KEY_ENV: "s3cret"})
    assert ok.exit_code == 0, ok.stderr
    audio = Path(json.loads(ok.stdout)["files"][0]["audio"])
    assert audio.is_file() and "s3cret" not in audio.with_suffix(".json").read_text()  # keys stay out of sidecars


def test_task_failure_exits_4_with_the_servers_reason(start_reference: Callable[..., str], source_wav: Path,
                                                      tmp_path: Path) -> None:
    # The server fails tasks that run past its own deadline: ~40 s of compute against a 1 s limit.
    url = start_reference("--seconds-per-step", "30", "--task-timeout", "1")
    out = tmp_path / "out"
    result = run("repaint", str(source_wav), "--start", "1", "--end", "2", "--server", url, "--out", str(out), *POLL)
    assert result.exit_code == ExitCode.task, result.stderr
    assert "failed on the server" in result.stderr and "Task timed out after 1 s" in result.stderr
    assert not out.exists()  # a failed task leaves no empty folder

    doc = json.loads(run("lego", str(source_wav), "--track", "bass", "--server", url, "--out", str(out),
                         "--json", *POLL).stdout)
    assert doc["ok"] is False and doc["exit_code"] == 4 and doc["task_id"] and "timed out" in doc["error"]


def test_task_that_outlives_timeout_exits_4(start_reference: Callable[..., str], tmp_path: Path) -> None:
    url = start_reference("--seconds-per-step", "30")  # ~40 s of simulated compute for 10 s of audio
    result = run("generate", "--duration", "10", "--batch", "1", "--timeout-s", "1", "--server", url,
                 "--out", str(tmp_path), *POLL)
    assert result.exit_code == ExitCode.task, result.stderr
    assert "did not finish within 1 s" in result.stderr


# --------------------------------------------------------------------------- ACEKIT_SERVER


def test_acekit_server_env_is_honoured_by_the_installed_command(reference_server: str, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("acekit")
    env = {k: v for k, v in os.environ.items() if k != contract.API_KEY_ENV}
    env[contract.SERVER_ENV] = reference_server
    proc = subprocess.run(
        [str(exe), "generate", "--bpm", "140", "--key", "a:min", "--duration", "10", "--batch", "1",
         "--format", "wav", "--out", str(tmp_path), "--json", *POLL],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["server"] == reference_server
    card = _sidecar(Path(doc["files"][0]["audio"]))
    assert card["metas"]["bpm"] == 140 and card["metas"]["keyscale"] == "A minor"


def test_server_option_beats_env(reference_server: str) -> None:
    via_env = run("health", "--json", env={contract.SERVER_ENV: reference_server})
    assert via_env.exit_code == 0 and json.loads(via_env.stdout)["server"] == reference_server
    override = run("health", "--json", "--server", reference_server, env={contract.SERVER_ENV: dead_server()})
    assert override.exit_code == 0 and json.loads(override.stdout)["server"] == reference_server
    wrong = run("health", env={contract.SERVER_ENV: dead_server()})
    assert wrong.exit_code == ExitCode.server


def test_cli_warns_when_the_server_ran_another_model_than_asked(start_reference, tmp_path: Path) -> None:
    # Base is on disk but not loaded: upstream (and the reference) run the request on turbo, without an error.
    url = start_reference("--models", "acestep-v15-turbo", "--downloaded-models", "acestep-v15-base",
                          "--seconds-per-step", "0")
    r = run("generate", "--server", url, "--duration", "10", "--batch", "1", "--model", "acestep-v15-base",
            "--format", "wav", "--out", str(tmp_path / "o"), *POLL)
    assert r.exit_code == 0, r.stderr
    assert ("warning: asked for model 'acestep-v15-base' but the server used acestep-v15-turbo: it has not loaded "
            "acestep-v15-base") in r.stderr


def test_served_warnings_name_a_lowered_batch_and_nothing_when_served_as_asked() -> None:
    from datetime import datetime, timezone

    from acekit.cli.task_cmds import served_warnings
    from acekit.models import AudioItem, GenerationOutcome, TaskResult, Text2MusicRequest

    def outcome(n: int, model: str = "acestep-v15-turbo") -> GenerationOutcome:
        items = [AudioItem(file=f"/v1/audio?path=/o/{i}.wav", dit_model=model) for i in range(n)]
        return GenerationOutcome(task_id="t", paths=[], result=TaskResult(task_id="t", status=1, items=items),
                                 submitted_at=datetime.now(timezone.utc), wall_s=1.0, polls=1)

    asked = Text2MusicRequest(prompt="x", batch_size=4, model="acestep-v15-turbo")
    assert served_warnings(contract.TaskType.text2music, asked, outcome(4)) == []
    [lowered] = served_warnings(contract.TaskType.text2music, asked, outcome(2))
    assert lowered.startswith("asked for a batch of 4 but the server returned 2: upstream lowers the batch")
    default_batch = Text2MusicRequest(prompt="x")  # batch left to the server: nothing to compare with
    assert served_warnings(contract.TaskType.text2music, default_batch, outcome(1)) == []
