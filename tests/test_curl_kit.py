"""The curl kit (scripts/curl/*.sh) end to end: each script run as a user runs it, with bash, curl and jq,
against the reference backend on loopback (started through `acekit serve-reference`).

Covers every script, multipart upload of a local wav, auth, an unknown task id, a failed task,
a server that is down, and usage errors. Exit codes are the kit's (and the CLI's): 0 ok, 2 usage,
3 server error, 4 task failed / unknown / timed out.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from acekit.keys import parse_key
from acekit.reference import engine as E
from acekit.reference.launch import free_port

KIT = Path(__file__).resolve().parents[1] / "scripts" / "curl"
SR = E.SAMPLE_RATE
EXIT_OK, EXIT_USAGE, EXIT_SERVER, EXIT_TASK = 0, 2, 3, 4
#: A hang guard only (a script that polls forever fails here), not a timing assertion.
HANG_GUARD_S = 90
#: Every variable the kit reads (scripts/curl/api.sh, poll.sh).
_KIT_VARS = frozenset({
    "ACEKIT_SERVER", "ACESTEP_URL", "ACESTEP_API_KEY", "OUT_DIR", "POLL_S", "UNKNOWN_GRACE_S", "TIMEOUT_S",
    "POLL_MIN_S", "POLL_MAX_S", "WAIT_HOLD_S", "TASK_RESULT",
    "PROMPT", "LYRICS", "BPM", "KEY_SCALE", "TIME_SIGNATURE", "AUDIO_DURATION", "AUDIO_FORMAT",
    "INFERENCE_STEPS", "SEED", "BATCH_SIZE", "MODEL", "THINKING", "VOCAL_LANGUAGE", "START", "END", "RETRIES_429",
    "LM_FILL", "LM_REWRITE_CAPTION", "REPAINT_MODE", "REPAINT_STRENGTH", "WAIT_FOR_SERVER_S",
})

_missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"{', '.join(_missing)} not installed: run scripts/install-system-deps.sh (make test does)"
)


def run_kit(script: str, *args: str | Path, server: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """Run one kit script with a clean environment: only ACEKIT_SERVER plus the given variables."""
    # The server, the key and musical variables a developer may have exported must not leak into the requests.
    base = {k: v for k, v in os.environ.items() if k not in _KIT_VARS}
    full_env = {**base, "ACEKIT_SERVER": server, "POLL_S": "0.2", **env}
    return subprocess.run(["bash", str(KIT / script), *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=HANG_GUARD_S)


def outputs(proc: subprocess.CompletedProcess) -> tuple[str, list[Path]]:
    """stdout of a task script: the task id, then one audio path per line."""
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert lines, proc.stderr
    return lines[0], [Path(p) for p in lines[1:]]


def sidecar(audio: Path) -> dict:
    return json.loads(audio.with_suffix(".json").read_text())


SPEC = E.MusicSpec(110.0, parse_key("D minor"), "4", 10.0)


@pytest.fixture(scope="module")
def source_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10 s local wav (110 bpm, D minor) to upload; 16-bit like most DAW bounces."""
    path = tmp_path_factory.mktemp("curl-src") / "my song.wav"  # a space, as real file names have
    sf.write(path, E.render_text2music(SPEC, seed=11), SR, subtype="PCM_16")
    return path


def read(path: Path) -> np.ndarray:
    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == SR
    return audio


# --------------------------------------------------------------------------- text2music, poll, download


def test_text2music_submits_polls_and_downloads_audio_with_the_requested_metas(
        reference_server: str, tmp_path: Path) -> None:
    proc = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, AUDIO_DURATION="10", BPM="128",
                   KEY_SCALE="F# minor", TIME_SIGNATURE="3/4", SEED="5", BATCH_SIZE="1", OUT_DIR="out")
    assert proc.returncode == EXIT_OK, proc.stderr
    task_id, paths = outputs(proc)
    assert len(paths) == 1 and (tmp_path / paths[0]).is_file()
    audio = read(tmp_path / paths[0])
    assert audio.shape == (10 * SR, 2) and np.sqrt(np.mean(audio**2)) > 0.02  # real audio, not silence
    card = sidecar(tmp_path / paths[0])
    assert card["task_id"] == task_id
    assert card["metas"]["bpm"] == 128 and card["metas"]["keyscale"] == "F# minor"
    assert str(card["metas"]["timesignature"]) == "3"
    # the sidecar records the request sent: the body file's fields with the environment's overrides
    assert card["request"]["bpm"] == 128 and card["request"]["time_signature"] == "3"
    assert card["request"]["seed"] == 5 and card["request"]["use_random_seed"] is False
    assert card["request"]["prompt"] == json.loads((KIT / "text2music.json").read_text())["prompt"]
    assert card["timings"]["wall_s"] > 0
    assert "succeeded" in proc.stderr  # poll.sh's progress goes to stderr, keeping stdout for paths

    # poll.sh and download.sh also work on their own, on the same finished task
    polled = run_kit("poll.sh", task_id, server=reference_server, cwd=tmp_path)
    assert polled.returncode == EXIT_OK, polled.stderr
    items = json.loads(polled.stdout)  # the decoded `result` list
    assert items[0]["metas"]["keyscale"] == "F# minor"
    again = run_kit("download.sh", task_id, "again", server=reference_server, cwd=tmp_path)
    assert again.returncode == EXIT_OK, again.stderr
    copy = tmp_path / again.stdout.split()[0]
    assert copy.read_bytes() == (tmp_path / paths[0]).read_bytes()


def test_newer_upstream_formats_download_under_their_own_suffix(reference_server: str, tmp_path: Path) -> None:
    proc = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, AUDIO_FORMAT="opus", AUDIO_DURATION="10",
                   BATCH_SIZE="1", OUT_DIR="out")
    assert proc.returncode == 0, proc.stderr
    _, files = outputs(proc)
    assert files[0].suffix == ".opus" and sf.info(str(tmp_path / files[0])).duration == pytest.approx(10, abs=0.1)


def test_same_seed_gives_the_same_audio_through_the_kit(reference_server: str, tmp_path: Path) -> None:
    env = {"AUDIO_DURATION": "10", "BPM": "100", "KEY_SCALE": "Am", "SEED": "9", "BATCH_SIZE": "1"}
    a = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, OUT_DIR="a", **env)
    b = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, OUT_DIR="b", **env)
    assert a.returncode == b.returncode == EXIT_OK, a.stderr + b.stderr
    assert np.array_equal(read(tmp_path / outputs(a)[1][0]), read(tmp_path / outputs(b)[1][0]))
    assert sidecar(tmp_path / outputs(a)[1][0])["metas"]["keyscale"] == "A minor"  # the server's canonical key


def test_a_custom_body_file_is_sent(reference_server: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"prompt": "sparse techno", "bpm": 140, "key_scale": "Eb major",
                                "audio_duration": 10, "batch_size": 2, "audio_format": "flac"}))
    proc = run_kit("text2music.sh", body, server=reference_server, cwd=tmp_path, OUT_DIR="out")
    assert proc.returncode == EXIT_OK, proc.stderr
    _, paths = outputs(proc)
    assert len(paths) == 2 and all(p.suffix == ".flac" for p in paths)
    assert {sidecar(tmp_path / p)["metas"]["keyscale"] for p in paths} == {"Eb major"}
    assert read(tmp_path / paths[0]).shape == (10 * SR, 2)


# --------------------------------------------------------------------------- edit tasks, multipart upload


EDIT_ENV = {"BPM": "110", "KEY_SCALE": "D minor", "SEED": "3", "BATCH_SIZE": "1", "AUDIO_FORMAT": "wav",
            "OUT_DIR": "out"}


def run_edit(script: str, *args: str | Path, server: str, cwd: Path) -> tuple[dict, np.ndarray]:
    proc = run_kit(script, *args, server=server, cwd=cwd, **EDIT_ENV)
    assert proc.returncode == EXIT_OK, proc.stderr
    _, paths = outputs(proc)
    assert len(paths) == 1
    card = sidecar(cwd / paths[0])
    assert card["metas"]["bpm"] == 110 and card["metas"]["keyscale"] == "D minor"
    return card, read(cwd / paths[0])


def test_repaint_uploads_the_wav_and_changes_only_the_region(
        reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    card, out = run_edit("repaint.sh", source_wav, "2", "5", server=reference_server, cwd=tmp_path)
    src = read(source_wav)
    assert card["request"]["task_type"] == "repaint" and card["request"]["src_audio"] == str(source_wav)
    assert card["request"]["repainting_start"] == 2 and card["request"]["repainting_end"] == 5
    assert out.shape == src.shape
    q = 2 / 2**15  # two 16-bit steps: the upload and the result are both PCM_16
    assert np.allclose(out[: 2 * SR], src[: 2 * SR], atol=q) and np.allclose(out[5 * SR:], src[5 * SR:], atol=q)
    assert np.mean(np.abs(out[int(2.5 * SR): int(4.5 * SR)] - src[int(2.5 * SR): int(4.5 * SR)]) > 1e-3) > 0.5


def test_cover_uploads_source_and_reference(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    card, out = run_edit("cover.sh", source_wav, "0.3", source_wav, server=reference_server, cwd=tmp_path)
    src = read(source_wav)
    assert card["request"]["audio_cover_strength"] == 0.3 and card["request"]["reference_audio"] == str(source_wav)
    assert out.shape == src.shape and not np.allclose(out, src, atol=1e-2)


def test_lego_returns_a_bass_stem_as_long_as_the_source(
        reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    card, out = run_edit("lego.sh", source_wav, "bass", "round synth bass", server=reference_server, cwd=tmp_path)
    assert card["request"]["instruction"] == "Generate the BASS track based on the audio context:"
    assert card["request"]["prompt"] == "round synth bass"
    assert out.shape == read(source_wav).shape
    spectrum = np.abs(np.fft.rfft(out.mean(axis=1)))
    freqs = np.fft.rfftfreq(len(out), 1 / SR)
    assert spectrum[freqs < 300].sum() > 0.8 * spectrum.sum()  # a bass line, not the mix


def test_lego_region_from_start_and_end(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    proc = run_kit("lego.sh", source_wav, "bass", server=reference_server, cwd=tmp_path, START="2", END="6", **EDIT_ENV)
    assert proc.returncode == EXIT_OK, proc.stderr
    _, paths = outputs(proc)
    card, out = sidecar(tmp_path / paths[0]), read(tmp_path / paths[0])
    assert card["request"]["repainting_start"] == 2 and card["request"]["repainting_end"] == 6
    rms = lambda a, b: float(np.sqrt(np.mean(out[int(a * SR):int(b * SR)] ** 2)))  # noqa: E731
    assert rms(2.5, 5.5) > 0.01 and rms(0, 1.9) < 1e-4 and rms(6.1, 10) < 1e-4
    bad = run_kit("lego.sh", source_wav, "bass", server=reference_server, cwd=tmp_path, START="6", END="3")
    assert bad.returncode == 2 and "START (6 s) must be before END (3 s)" in bad.stderr


def test_extract_returns_a_drum_stem(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    card, out = run_edit("extract.sh", source_wav, "drums", server=reference_server, cwd=tmp_path)
    assert card["request"]["instruction"] == "Extract the DRUMS track from the audio:"
    src = read(source_wav)
    assert out.shape == src.shape and np.abs(out).max() > 0.01 and not np.allclose(out, src, atol=1e-2)


def test_complete_adds_tracks_and_can_extend(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    card, out = run_edit("complete.sh", source_wav, "drums,bass", server=reference_server, cwd=tmp_path)
    assert card["request"]["instruction"] == "Complete the input track with DRUMS | BASS:"
    assert card["request"]["track_classes"] == ["drums", "bass"]
    src = read(source_wav)
    assert out.shape == src.shape  # upstream keeps the source's length by default
    assert 0.1 < np.corrcoef(src[:, 0], out[:, 0])[0, 1] < 0.99  # the source, with something added
    (tmp_path / "long").mkdir()
    card, longer = run_edit("complete.sh", source_wav, "drums", "15", server=reference_server, cwd=tmp_path / "long")
    # DURATION is sent, but upstream takes complete's length from SRC (issue 7 part 1)
    assert card["request"]["audio_duration"] == 15 and longer.shape == src.shape


def test_repaint_mode_and_strength_from_the_environment(reference_server: str, source_wav: Path,
                                                       tmp_path: Path) -> None:
    proc = run_kit("repaint.sh", source_wav, "2", "5", server=reference_server, cwd=tmp_path, REPAINT_MODE="balanced",
                   REPAINT_STRENGTH="0.2", BATCH_SIZE="1", AUDIO_FORMAT="wav", OUT_DIR="out")
    assert proc.returncode == EXIT_OK, proc.stderr
    card = sidecar(tmp_path / outputs(proc)[1][0])
    assert (card["request"]["repaint_mode"], card["request"]["repaint_strength"]) == ("balanced", 0.2)
    assert "crossfade 0.84 s" in card["item"]["generation_info"]  # upstream 53067ab's resolution, imitated
    bad = run_kit("repaint.sh", source_wav, "2", "5", server=reference_server, cwd=tmp_path, REPAINT_MODE="gentle")
    assert bad.returncode == EXIT_USAGE and "REPAINT_MODE" in bad.stderr
    bad = run_kit("repaint.sh", source_wav, "2", "5", server=reference_server, cwd=tmp_path, REPAINT_STRENGTH="1.5")
    assert bad.returncode == EXIT_USAGE and "REPAINT_STRENGTH" in bad.stderr


def test_every_kit_request_says_what_the_lm_may_do(reference_server: str, source_wav: Path, tmp_path: Path) -> None:
    switches = ("thinking", "use_cot_caption", "use_cot_language", "use_cot_metas")
    card, _ = run_edit("lego.sh", source_wav, "bass", server=reference_server, cwd=tmp_path)
    assert {k: card["request"][k] for k in switches} == dict.fromkeys(switches, False)
    (tmp_path / "fill").mkdir()
    proc = run_kit("lego.sh", source_wav, "bass", server=reference_server, cwd=tmp_path / "fill", LM_FILL="1",
                   MODEL="acestep-v15-base", BATCH_SIZE="1", AUDIO_FORMAT="wav", OUT_DIR="out")
    assert proc.returncode == EXIT_OK, proc.stderr
    filled = sidecar(tmp_path / "fill" / outputs(proc)[1][0])["request"]
    assert (filled["use_cot_metas"], filled["use_cot_language"], filled["use_cot_caption"]) == (True, True, False)
    assert "LM imitation" in sidecar(tmp_path / "fill" / outputs(proc)[1][0])["item"]["generation_info"]
    # text2music: off by default under the body file; a body file's own switch survives; the environment wins
    default = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, AUDIO_DURATION="10", OUT_DIR="t1")
    assert {k: sidecar(tmp_path / outputs(default)[1][0])["request"][k] for k in switches} == dict.fromkeys(
        switches, False)
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"prompt": "x", "audio_duration": 10, "batch_size": 1, "use_cot_caption": True}))
    own = run_kit("text2music.sh", body, server=reference_server, cwd=tmp_path, OUT_DIR="t2", THINKING="1")
    sent = sidecar(tmp_path / outputs(own)[1][0])["request"]
    assert (sent["use_cot_caption"], sent["thinking"], sent["use_cot_metas"]) == (True, True, False)


def test_a_file_that_is_not_audio_fails_the_task_with_the_servers_reason(
        reference_server: str, tmp_path: Path) -> None:
    bogus = tmp_path / "notes.wav"
    bogus.write_text("this is not audio")
    proc = run_kit("repaint.sh", bogus, "0", "-1", server=reference_server, cwd=tmp_path, OUT_DIR="out")
    assert proc.returncode == EXIT_TASK
    assert "failed" in proc.stderr and "cannot decode source audio 'notes.wav'" in proc.stderr


# --------------------------------------------------------------------------- auth


def test_auth_missing_or_wrong_key_fails_clearly_and_the_right_key_works(
        start_reference: Callable[..., str], source_wav: Path, tmp_path: Path) -> None:
    url = start_reference("--api-key", "s3cret")
    # bpm and key given: the server need not estimate them from the upload (essentia, slow to load)
    env = {"AUDIO_DURATION": "10", "BATCH_SIZE": "1", "OUT_DIR": "out", "BPM": "110", "KEY_SCALE": "D minor"}
    missing = run_kit("text2music.sh", server=url, cwd=tmp_path, **env)
    assert missing.returncode == EXIT_SERVER
    assert "HTTP 401" in missing.stderr and "set ACESTEP_API_KEY" in missing.stderr
    wrong = run_kit("text2music.sh", server=url, cwd=tmp_path, ACESTEP_API_KEY="guess", **env)
    assert wrong.returncode == EXIT_SERVER and "Invalid API key" in wrong.stderr
    assert not (tmp_path / "out").exists()
    ok = run_kit("text2music.sh", server=url, cwd=tmp_path, ACESTEP_API_KEY="s3cret", **env)
    assert ok.returncode == EXIT_OK, ok.stderr
    task_id, paths = outputs(ok)
    assert read(tmp_path / paths[0]).shape == (10 * SR, 2)  # /v1/audio needed the key too
    # multipart uploads carry the key as well; a poll with the wrong key is refused, not mistaken for "unknown"
    edit = run_kit("lego.sh", source_wav, "drums", server=url, cwd=tmp_path, ACESTEP_API_KEY="s3cret", **env)
    assert edit.returncode == EXIT_OK, edit.stderr
    poll = run_kit("poll.sh", task_id, server=url, cwd=tmp_path, ACESTEP_API_KEY="guess")
    assert poll.returncode == EXIT_SERVER and "HTTP 401" in poll.stderr


# --------------------------------------------------------------------------- unknown task, server down


def test_poll_gives_up_on_an_unknown_task_after_the_grace_period(reference_server: str, tmp_path: Path) -> None:
    # Upstream answers "status 0, result []" forever for ids it does not have (e.g. after a restart).
    task_id = str(uuid.uuid4())
    proc = run_kit("poll.sh", task_id, server=reference_server, cwd=tmp_path, UNKNOWN_GRACE_S="1")
    assert proc.returncode == EXIT_TASK
    assert f"task {task_id} is unknown to the server" in proc.stderr and "submit the task again" in proc.stderr
    down = run_kit("download.sh", task_id, server=reference_server, cwd=tmp_path)
    assert down.returncode == EXIT_TASK and "run poll.sh" in down.stderr


def test_poll_gives_up_after_its_timeout_on_a_task_that_runs_too_long(
        start_reference: Callable[..., str], tmp_path: Path) -> None:
    url = start_reference("--seconds-per-step", "600")  # a 10 s clip then "computes" for 100 s per step
    submitted = subprocess.run(
        ["curl", "-sS", "-H", "Content-Type: application/json", "-d", '{"audio_duration": 10, "batch_size": 1}',
         f"{url}/release_task"], capture_output=True, text=True, timeout=HANG_GUARD_S, check=True)
    task_id = json.loads(submitted.stdout)["data"]["task_id"]
    proc = run_kit("poll.sh", task_id, server=url, cwd=tmp_path, TIMEOUT_S="1")
    assert proc.returncode == EXIT_TASK
    assert f"task {task_id} did not finish within 1 s" in proc.stderr and "raise TIMEOUT_S" in proc.stderr
    assert "%" in proc.stderr and "to appear" not in proc.stderr  # it saw the task running, not "unknown"


@pytest.mark.parametrize(("script", "args"), [
    ("text2music.sh", ()), ("poll.sh", ("some-task",)), ("download.sh", ("some-task",)),
    ("lego.sh", ("SRC", "bass")),
])
def test_server_down_gives_a_clear_error(script: str, args: tuple[str, ...], source_wav: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    argv = [source_wav if a == "SRC" else a for a in args]
    proc = run_kit(script, *argv, server=url, cwd=tmp_path)
    assert proc.returncode == EXIT_SERVER
    assert f"cannot reach ACE-Step at {url}" in proc.stderr and "set ACEKIT_SERVER" in proc.stderr
    if script != "poll.sh" and script != "download.sh":
        assert "WAIT_FOR_SERVER_S=SECONDS" in proc.stderr


def test_a_server_that_accepts_but_never_answers_is_not_waited_on_forever(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)  # the kernel accepts connections; nobody ever answers them
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        proc = run_kit("poll.sh", "some-task", server=url, cwd=tmp_path, REQUEST_TIMEOUT_S="1")
    assert proc.returncode == EXIT_SERVER
    assert f"no answer from {url} to POST /query_result within 1 s" in proc.stderr


def test_the_old_acestep_url_variable_still_works(reference_server: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _KIT_VARS}
    proc = subprocess.run(["bash", str(KIT / "poll.sh"), str(uuid.uuid4())], cwd=tmp_path,
                          env={**env, "ACESTEP_URL": reference_server, "UNKNOWN_GRACE_S": "0", "POLL_S": "0.1"},
                          capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.returncode == EXIT_TASK and f"unknown to the server at {reference_server}" in proc.stderr


# --------------------------------------------------------------------------- usage errors (no request sent)


@pytest.mark.parametrize(("script", "args", "env", "message"), [
    ("lego.sh", ("SRC", "kazoo"), {}, "unknown track 'kazoo'"),
    ("extract.sh", ("SRC",), {}, "usage: extract.sh SRC TRACK"),
    ("repaint.sh", ("SRC", "5", "2"), {}, "END (2) must be after START (5)"),
    ("cover.sh", ("SRC", "1.5"), {}, "STRENGTH must be a number from 0.0 to 1.0"),
    ("complete.sh", ("missing.wav", "drums"), {}, "source audio 'missing.wav' does not exist"),
    ("text2music.sh", (), {"BPM": "999"}, "BPM must be a whole number from 30 to 300"),
    ("text2music.sh", (), {"TIME_SIGNATURE": "5/4"}, "TIME_SIGNATURE must be one of"),
    ("text2music.sh", (), {"AUDIO_FORMAT": "ogg"}, "AUDIO_FORMAT must be one of mp3, wav, flac, opus, aac, wav32"),
    ("poll.sh", (), {}, "usage: poll.sh TASK_ID"),
    ("text2music.sh", (), {"WAIT_FOR_SERVER_S": "soon"}, "WAIT_FOR_SERVER_S must be a number of seconds above 0"),
    ("lego.sh", ("SRC", "bass"), {"WAIT_FOR_SERVER_S": "0"}, "WAIT_FOR_SERVER_S must be a number of seconds above 0"),
    # The upload scripts validate the musical variables too (they once sent an empty request instead).
    ("repaint.sh", ("SRC", "1", "2"), {"BPM": "999"}, "BPM must be a whole number from 30 to 300"),
    ("cover.sh", ("SRC", "0.3"), {"TIME_SIGNATURE": "7/8"}, "TIME_SIGNATURE must be one of"),
])
def test_usage_errors_exit_2_before_any_request(script: str, args: tuple[str, ...], env: dict[str, str],
                                                message: str, source_wav: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # down: a usage error must be reported before any connection
    argv = [source_wav if a == "SRC" else a for a in args]
    proc = run_kit(script, *argv, server=url, cwd=tmp_path, **env)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert message in proc.stderr


def test_queue_full_is_retried_with_backoff_then_reported(
        start_reference: Callable[..., str], tmp_path: Path) -> None:
    # One worker, a queue of one and slow simulated compute: A runs, B waits, the kit finds the queue full.
    from acekit import Client, Text2MusicRequest

    url = start_reference("--queue-maxsize", "1", "--seconds-per-step", "1.0")
    slow = Text2MusicRequest(prompt="slow", duration_s=10, inference_steps=20, batch_size=1)  # ~3.3 s each
    quick = {"AUDIO_DURATION": "10", "INFERENCE_STEPS": "1", "BATCH_SIZE": "1", "OUT_DIR": str(tmp_path / "out")}
    with Client(url) as client:
        a = client.submit(slow)
        deadline = time.monotonic() + 20
        while client.query([a.task_id])[0].stage in (None, "queued"):
            assert time.monotonic() < deadline, "task A never started"
            time.sleep(0.05)
        client.submit(slow)  # B fills the queue

        refused = run_kit("text2music.sh", server=url, cwd=tmp_path, RETRIES_429="0", **quick)
        assert refused.returncode == 3, refused.stderr
        assert "HTTP 429" in refused.stderr and "RETRIES_429" in refused.stderr

        # With retries (backoff 1, 2, 4, 8 s) the same request gets through once A and B are done.
        patient = run_kit("text2music.sh", server=url, cwd=tmp_path, RETRIES_429="6", **quick)
    assert patient.returncode == 0, patient.stderr
    assert "retry 1/6" in patient.stderr
    _, files = outputs(patient)
    assert len(files) == 1 and sf.info(str(files[0])).duration > 9.5


def test_kit_waits_on_the_gateway_and_polls_plain_upstream_adaptively(reference_server: str, tmp_path: Path) -> None:
    from acekit.gateway.launch import running_gateway

    env = {"POLL_S": "", "SEED": "5", "AUDIO_DURATION": "10", "BATCH_SIZE": "1", "AUDIO_FORMAT": "wav"}
    direct = run_kit("text2music.sh", server=reference_server, cwd=tmp_path, OUT_DIR=str(tmp_path / "d"), **env)
    assert direct.returncode == EXIT_OK, direct.stderr
    assert "polling /query_result adaptively" in direct.stderr and "/v1/wait" not in direct.stderr.split("endpoint")[1]
    with running_gateway(reference_server, log_path=tmp_path / "gw.log") as gw:
        pushed = run_kit("text2music.sh", server=gw, cwd=tmp_path, OUT_DIR=str(tmp_path / "g"), **env)
    assert pushed.returncode == EXIT_OK, pushed.stderr
    assert "waiting on the gateway's /v1/wait" in pushed.stderr and "adaptively" not in pushed.stderr
    (_, [d]), (_, [g]) = outputs(direct), outputs(pushed)
    assert d.read_bytes() == g.read_bytes()  # same request, same audio, whichever way the end was learnt


# --------------------------------------------------------------------------- a server that comes up late


def test_wait_for_server_gives_up_with_advice_and_submits_nothing(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there, and nothing will
    proc = run_kit("text2music.sh", server=url, cwd=tmp_path, WAIT_FOR_SERVER_S="1")
    assert proc.returncode == EXIT_SERVER, proc.stderr
    assert f"ACE-Step at {url} did not answer /health within 1 s (WAIT_FOR_SERVER_S)" in proc.stderr
    assert "nothing was submitted" in proc.stderr and "waiting up to 1 s" in proc.stderr


def test_wait_for_server_waits_for_a_late_server_then_submits_once(late_reference: Callable[[float], str],
                                                                   tmp_path: Path, source_wav: Path) -> None:
    url = late_reference(1.5)  # the kit starts probing before anything listens
    proc = run_kit("lego.sh", source_wav, "bass", server=url, cwd=tmp_path, WAIT_FOR_SERVER_S="60",
                   OUT_DIR=str(tmp_path / "out"), AUDIO_FORMAT="wav", BATCH_SIZE="1")
    assert proc.returncode == EXIT_OK, proc.stderr
    assert "waiting up to 60 s" in proc.stderr and f"server at {url} is up after" in proc.stderr
    _, files = outputs(proc)
    assert len(files) == 1 and sf.info(str(files[0])).duration > 9.5
    from acekit import Client
    with Client(url) as client:
        assert client.stats().jobs.total == 1  # one task: the probes never submit
    # A server that is up: no waiting, no message.
    again = run_kit("text2music.sh", server=url, cwd=tmp_path, WAIT_FOR_SERVER_S="5",
                    OUT_DIR=str(tmp_path / "again"), AUDIO_DURATION="10", BATCH_SIZE="1")
    assert again.returncode == EXIT_OK, again.stderr
    assert "waiting up to" not in again.stderr
