"""Drive upstream's server through every acekit surface and turn each job into checks.

Surfaces: the Python client, the CLI (every task command), the curl kit (every task script), the
gateway in front of upstream, and a small matrix. Jobs run one at a time, so the records the
stand-ins append while a job runs belong to that job.

Each job states the user's intent once (`Intent`), and its `Expectation` is derived from that
intent, never from what acekit happened to send: a field acekit dropped or rewrote fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf

from acekit import contract
from acekit.conformance.checks import (
    COT_SWITCHES,
    Check,
    Expectation,
    compare,
    sniff_format,
    upstream_limitations,
    values_equal,
)
from acekit.conformance.upstream_server import FAKE_DIT_MODELS, UNLOADED_DIT_MODEL, UpstreamServer, free_port

TURBO, BASE = list(FAKE_DIT_MODELS)
SRC_SECONDS = 20.5  # at 44.1 kHz, so upstream's loader has to resample it; long enough to measure a meter
SRC_BPM = 96
#: What the source fixture is (DiT argument names): what acekit must measure and send when the user gives nothing.
SRC_METAS = {"bpm": SRC_BPM, "key_scale": "D minor", "time_signature": "4"}
REF_SECONDS = 6.0
JOB_TIMEOUT_S = 300.0
KIT_DIR = Path(__file__).resolve().parents[3] / "scripts" / "curl"
#: Source-locked tasks: upstream drops the duration and the DiT renders the source's length.
SOURCE_LOCKED = ("repaint", "cover", "lego", "extract")
#: The CLI spelling of the task (text2music is `generate`).
CLI_COMMAND = {"text2music": "generate"}
#: Signature of the Feb 2026 upstream bug (f30aee4): every multipart /release_task answers 500.
KNOWN_UPSTREAM_BUGS = {
    "got multiple values for keyword argument 'reference_audio_path'":
        "upstream bug at this ref: every multipart /release_task fails with a 500 "
        "(GenerateMusicRequest() got multiple values for keyword argument 'reference_audio_path'; "
        "seen in ace-step/ACE-Step-1.5 f30aee4, fixed in later upstream): uploads cannot work against this ref",
}


@dataclass
class Intent:
    """What a DAW user asks for in one job: the values that must reach the model unaltered."""

    name: str
    task: str
    prompt: str
    bpm: int | None = None
    key: str | None = None
    time_signature: str | None = None
    duration_s: float | None = None
    steps: int | None = None
    seed: int | None = None
    audio_format: str = "wav"
    batch: int = 1
    model: str | None = None
    lyrics: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    strength: float | None = None
    tracks: list[str] = field(default_factory=list)
    thinking: bool = False
    reference: bool = False
    repaint_mode: str | None = None
    repaint_strength: float | None = None
    #: No bpm/key/meter given: acekit must measure them from the source (CLI edit tasks).
    measured_metas: bool = False

    @property
    def needs_source(self) -> bool:
        return self.task != "text2music"

    def expectation(self, surface: str) -> Expectation:
        dit: dict[str, Any] = {"task_type": self.task, "captions": self.prompt, "batch_size": self.batch}
        for name, value in (("bpm", self.bpm), ("key_scale", self.key), ("time_signature", self.time_signature),
                            ("inference_steps", self.steps), ("lyrics", self.lyrics)):
            if value is not None:
                dit[name] = value
        if self.seed is not None:
            dit["seed"] = self.seed
            dit["use_random_seed"] = False
        if self.task in SOURCE_LOCKED:
            dit["audio_duration"] = None  # upstream locks the length to the source
        elif self.duration_s is not None:
            dit["audio_duration"] = self.duration_s
        if self.task in ("repaint", "lego") and self.start_s is not None:
            dit["repainting_start"] = self.start_s
            dit["repainting_end"] = -1 if self.end_s is None else self.end_s
        if self.task == "cover" and self.strength is not None:
            dit["audio_cover_strength"] = self.strength
        if self.repaint_mode is not None:
            dit["repaint_mode"] = self.repaint_mode
        if self.repaint_strength is not None:
            dit["repaint_strength"] = self.repaint_strength
        if self.task in ("lego", "extract", "complete"):
            dit["instruction"] = contract.instruction_for(self.task, self.tracks)
        # issue 7 part 1: acekit sends thinking and the CoT switches explicitly, off unless asked
        sent: dict[str, Any] = {"thinking": self.thinking, **{name: False for name in COT_SWITCHES}}
        pipeline = dict(sent)
        # with a source, upstream's DiT renders the source's length (complete included, whatever
        # audio_duration says); repaint/lego regions here stay inside the source, so no padding
        output = SRC_SECONDS if self.needs_source else self.duration_s
        return Expectation(
            surface=surface, job=self.name, dit=dit, model=self.model, sent=sent, pipeline=pipeline,
            config={"audio_format": self.audio_format},
            lm_called=self.thinking,
            src_seconds=SRC_SECONDS if self.needs_source else None,
            reference_seconds=REF_SECONDS if self.reference else None,
            output_seconds=output, files=self.batch, audio_format=self.audio_format,
            measured_metas=SRC_METAS if self.measured_metas else {},
        )


def task_intents(*, mp3: bool) -> list[Intent]:
    """One job per task, every DAW-facing field set to a value no default would produce."""
    return [
        Intent("text2music", "text2music", "conformance text2music: dusty lofi piano", bpm=96, key="D minor",
               time_signature="3", duration_s=12.0, steps=6, seed=42, audio_format="flac", batch=2, model=TURBO,
               lyrics="[Instrumental]"),
        Intent("repaint", "repaint", "conformance repaint: drum fill", bpm=96, key="D minor", time_signature="4",
               steps=7, seed=7, start_s=2.0, end_s=6.0, model=TURBO),
        Intent("cover", "cover", "conformance cover: bossa nova guitar", bpm=104, key="G major", time_signature="4",
               steps=8, seed=11, strength=0.3, audio_format="mp3" if mp3 else "wav", model=TURBO),
        Intent("lego", "lego", "conformance lego: round bass", bpm=84, key="A minor", time_signature="4", steps=20,
               seed=5, tracks=["bass"], model=BASE),
        Intent("extract", "extract", "conformance extract: the drums", bpm=90, key="E minor", time_signature="4",
               steps=16, seed=9, tracks=["drums"], model=BASE),
        Intent("complete", "complete", "conformance complete: drums and bass", bpm=100, key="E minor",
               time_signature="4", duration_s=15.0, steps=24, seed=3, tracks=["drums", "bass"], model=BASE),
    ]


def repaint_knob_intents() -> list[Intent]:
    """Newer upstream's repaint knobs (53067ab's DiT takes them), from the surfaces that expose them."""
    return [Intent("repaint-mode", "repaint", "conformance repaint: conservative fill", bpm=96, key="D minor",
                   time_signature="4", steps=8, seed=17, start_s=4.0, end_s=8.0, model=TURBO,
                   repaint_mode="conservative", repaint_strength=0.7)]


def plain_edit_intents() -> list[Intent]:
    """Issue 7's own examples: edits with no metas at all, as a DAW user first tries them."""
    return [
        Intent("lego-plain", "lego", "", tracks=["bass"], model=BASE, measured_metas=True),
        Intent("complete-plain", "complete", "", tracks=["drums", "bass"], model=BASE, measured_metas=True),
    ]


def write_fixtures(folder: Path) -> tuple[Path, Path]:
    """A source clip and a reference clip, both real music-like audio.

    Source: 20.5 s, 44.1 kHz stereo, 96 bpm 4/4 in D minor: a kick and a chord change on every
    downbeat, a tick on every beat, so acekit's analysers can measure tempo, key and meter (the CLI
    sends measured metas for edits the user gave none for). Reference: 6 s, 48 kHz mono.
    """
    folder.mkdir(parents=True, exist_ok=True)
    src, ref = folder / "source.wav", folder / "reference.wav"
    sr = 44100
    n = int(SRC_SECONDS * sr)
    t = np.arange(n) / sr
    beat_s = 60 / SRC_BPM
    beat = (t / beat_s).astype(int)
    in_beat = t - beat * beat_s
    chords = [(146.83, 174.61, 220.0), (116.54, 146.83, 174.61), (98.0, 116.54, 146.83), (110.0, 138.59, 164.81)]  # Dm Bb Gm A
    chord = np.array([chords[(b // 4) % 4] for b in range(beat.max() + 1)])[beat]
    wave = sum(0.12 * np.sin(2 * np.pi * chord[:, i] * t) for i in range(3))
    downbeat = (beat % 4 == 0)
    wave = wave + downbeat * 0.8 * np.exp(-in_beat / 0.08) * np.sin(2 * np.pi * 55.0 * in_beat)
    rng = np.random.default_rng(0)
    wave = wave + 0.15 * np.exp(-in_beat / 0.01) * rng.standard_normal(n)
    wave = 0.8 * wave / np.max(np.abs(wave))
    sf.write(src, np.stack([wave, wave * 0.9], axis=1), sr)
    t2 = np.arange(int(REF_SECONDS * 48000)) / 48000
    sf.write(ref, 0.3 * np.sin(2 * np.pi * 392.0 * t2), 48000)
    return src, ref


def describe_files(paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        head = path.read_bytes()[:64]
        try:
            seconds: float | None = sf.info(str(path)).duration
        except Exception:  # noqa: BLE001 - a format libsndfile cannot read: length not compared
            seconds = None
        out.append({"path": str(path), "format": sniff_format(head), "seconds": seconds})
    return out


def audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix.lower().lstrip(".") in {*contract.AUDIO_FORMATS, "ogg", "m4a"})


class JobError(RuntimeError):
    """A surface failed to run a job; the message says where and why."""


@dataclass
class Driver:
    """Runs jobs against one server URL and collects checks."""

    server: UpstreamServer
    work: Path
    src: Path
    ref: Path
    checks: list[Check] = field(default_factory=list)
    upstream_bugs: set[str] = field(default_factory=set)
    upstream_limitations: set[str] = field(default_factory=set)
    log: Callable[[str], None] = print

    def run_job(self, surface: str, intent: Intent, submit: Callable[[Path], list[Path]], *, url: str | None = None) -> None:
        """Run one job through ``submit(out_dir) -> audio paths`` and compare what upstream got."""
        out_dir = self.work / surface / intent.name
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        start = self.server.record_count()
        expectation = intent.expectation(surface)
        try:
            paths = submit(out_dir)
        except Exception as exc:  # noqa: BLE001 - one failed job is one failed check, the tier goes on
            self.checks.append(Check(surface=surface, job=intent.name, parameter="job ran", expected="success",
                                     actual=f"{type(exc).__name__}: {exc}"[:600], passed=False, note=self._bug_note()))
            self.log(f"  {surface}/{intent.name}: FAILED to run: {exc}"[:400])
            return
        records = self.server.records(start)
        checks = compare(expectation, records, describe_files(paths))
        self.upstream_limitations.update(upstream_limitations(records))
        self.checks.extend(checks)
        bad = [c for c in checks if not c.passed]
        self.log(f"  {surface}/{intent.name}: {len(checks) - len(bad)}/{len(checks)} checks passed"
                 + ("" if not bad else "; differs: " + ", ".join(c.parameter for c in bad)))

    def _bug_note(self, wait_s: float = 3.0) -> str:
        """Name a known upstream bug when the server log shows it (the traceback may land after the 500)."""
        deadline = time.monotonic() + wait_s
        while True:
            log = self.server.log_tail(300)
            for signature, message in KNOWN_UPSTREAM_BUGS.items():
                if signature in log:
                    self.upstream_bugs.add(message)
                    return message
            if time.monotonic() >= deadline:
                return ""
            time.sleep(0.5)

    # ------------------------------------------------------------------ client

    def client_submit(self, intent: Intent, url: str) -> Callable[[Path], list[Path]]:
        from acekit import Client, make_request

        def submit(out_dir: Path) -> list[Path]:
            fields: dict[str, Any] = {
                "prompt": intent.prompt, "bpm": intent.bpm, "key_scale": intent.key,
                "time_signature": intent.time_signature, "duration_s": intent.duration_s,
                "inference_steps": intent.steps, "seed": intent.seed, "audio_format": intent.audio_format,
                "batch_size": intent.batch, "model": intent.model, "thinking": intent.thinking or None,
            }
            if intent.lyrics is not None:
                fields["lyrics"] = intent.lyrics
            if intent.task in ("repaint", "lego") and intent.start_s is not None:
                fields["repainting_start"] = intent.start_s
                fields["repainting_end"] = -1.0 if intent.end_s is None else intent.end_s
            if intent.task == "cover":
                fields["audio_cover_strength"] = intent.strength
            if intent.repaint_mode is not None:
                fields["repaint_mode"] = intent.repaint_mode
            if intent.repaint_strength is not None:
                fields["repaint_strength"] = intent.repaint_strength
            if intent.task in ("lego", "extract"):
                fields["track"] = intent.tracks[0]
            if intent.task == "complete":
                fields["tracks"] = intent.tracks
            request = make_request(intent.task, **{k: v for k, v in fields.items() if v is not None})
            with Client(url, timeout=60.0) as client:
                outcome = client.generate(
                    request, src_audio=self.src if intent.needs_source else None,
                    reference_audio=self.ref if intent.reference else None,
                    out_dir=out_dir, poll_interval_s=0.3, timeout_s=JOB_TIMEOUT_S,
                )
            return list(outcome.paths)

        return submit

    # ------------------------------------------------------------------ CLI

    def cli_submit(self, intent: Intent, url: str) -> Callable[[Path], list[Path]]:
        def submit(out_dir: Path) -> list[Path]:
            cmd = [sys.executable, "-m", "acekit", CLI_COMMAND.get(intent.task, intent.task)]
            if intent.needs_source:
                cmd.append(str(self.src))
            cmd += ["--prompt", intent.prompt, "--server", url, "--out", str(out_dir), "--json",
                    "--format", intent.audio_format, "--batch", str(intent.batch), "--poll-interval-s", "0.3",
                    "--timeout-s", str(JOB_TIMEOUT_S)]
            for option, value in (("--bpm", intent.bpm), ("--key", intent.key), ("--time-signature", intent.time_signature),
                                  ("--steps", intent.steps), ("--seed", intent.seed), ("--model", intent.model),
                                  ("--lyrics", intent.lyrics)):
                if value is not None:
                    cmd += [option, str(value)]
            if intent.duration_s is not None and intent.task in ("text2music", "complete"):
                cmd += ["--duration", str(intent.duration_s)]
            if intent.task in ("repaint", "lego") and intent.start_s is not None:
                cmd += ["--start", str(intent.start_s), "--end", str(-1 if intent.end_s is None else intent.end_s)]
            if intent.task == "cover" and intent.strength is not None:
                cmd += ["--strength", str(intent.strength)]
            if intent.repaint_mode is not None:
                cmd += ["--repaint-mode", intent.repaint_mode]
            if intent.repaint_strength is not None:
                cmd += ["--repaint-strength", str(intent.repaint_strength)]
            if intent.reference:
                cmd += ["--reference", str(self.ref)]
            for track in intent.tracks:
                cmd += ["--track", track]
            if intent.thinking:
                cmd.append("--thinking")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=JOB_TIMEOUT_S + 60, env=_clean_env())
            if proc.returncode != 0:
                raise JobError(f"`acekit {cmd[3]}` exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-500:]}")
            return audio_files(out_dir)

        return submit

    # ------------------------------------------------------------------ curl kit

    def curl_submit(self, intent: Intent, url: str) -> Callable[[Path], list[Path]]:
        def submit(out_dir: Path) -> list[Path]:
            env = {**_clean_env(), "ACEKIT_SERVER": url, "OUT_DIR": str(out_dir), "POLL_S": "0.3",
                   "TIMEOUT_S": str(int(JOB_TIMEOUT_S)), "PROMPT": intent.prompt, "AUDIO_FORMAT": intent.audio_format,
                   "BATCH_SIZE": str(intent.batch)}
            for var, value in (("BPM", intent.bpm), ("KEY_SCALE", intent.key), ("TIME_SIGNATURE", intent.time_signature),
                               ("INFERENCE_STEPS", intent.steps), ("SEED", intent.seed), ("MODEL", intent.model),
                               ("LYRICS", intent.lyrics)):
                if value is not None:
                    env[var] = str(value)
            if intent.thinking:
                env["THINKING"] = "true"
            script = KIT_DIR / f"{intent.task}.sh"
            args: list[str] = []
            if intent.task == "text2music":
                if intent.duration_s is not None:
                    env["AUDIO_DURATION"] = str(intent.duration_s)
            elif intent.task == "repaint":
                args = [str(self.src), str(intent.start_s), str(-1 if intent.end_s is None else intent.end_s)]
            elif intent.task == "cover":
                args = [str(self.src), str(intent.strength)] + ([str(self.ref)] if intent.reference else [])
            elif intent.task in ("lego", "extract"):
                args = [str(self.src), intent.tracks[0]]
                if intent.task == "lego" and intent.start_s is not None:
                    env["START"], env["END"] = str(intent.start_s), str(-1 if intent.end_s is None else intent.end_s)
            elif intent.task == "complete":
                args = [str(self.src), ",".join(intent.tracks)]
                if intent.duration_s is not None:
                    args.append(str(intent.duration_s))
            proc = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                                  timeout=JOB_TIMEOUT_S + 60, env=env, cwd=out_dir)
            if proc.returncode != 0:
                raise JobError(f"{script.name} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
            lines = [line for line in proc.stdout.splitlines() if line.strip()]
            return [Path(p) if Path(p).is_absolute() else out_dir / p for p in lines[1:]]

        return submit


def _clean_env() -> dict[str, str]:
    """The environment minus a developer's own server/key/musical settings."""
    drop = {"ACEKIT_SERVER", "ACESTEP_URL", "ACESTEP_API_KEY", "PROMPT", "LYRICS", "BPM", "KEY_SCALE", "TIME_SIGNATURE",
            "AUDIO_DURATION", "AUDIO_FORMAT", "INFERENCE_STEPS", "SEED", "BATCH_SIZE", "MODEL", "THINKING",
            "VOCAL_LANGUAGE", "START", "END", "OUT_DIR"}
    return {k: v for k, v in os.environ.items() if k not in drop}


# ---------------------------------------------------------------------- gateway


class Gateway:
    """`acekit gateway` in front of upstream, started as a user starts it."""

    def __init__(self, upstream_url: str, log_file: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self.upstream_url = upstream_url

    def __enter__(self) -> "Gateway":
        log = self.log_file.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "acekit", "gateway", "--upstream", self.upstream_url, "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            stdout=log, stderr=subprocess.STDOUT, env=_clean_env(),
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise JobError(f"`acekit gateway` exited {self.process.returncode}: {self.log_file.read_text()[-500:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise JobError(f"`acekit gateway` did not answer /health within 60 s: {self.log_file.read_text()[-500:]}")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def gateway_capabilities_check(url: str) -> Check:
    """The gateway's own document, served while upstream is behind it."""
    try:
        response = httpx.get(url + "/v1/capabilities", timeout=10)
        body = response.json()
        ok = response.status_code == 200 and isinstance(body, dict) and bool(body)
        actual = f"HTTP {response.status_code}, keys {sorted(body)[:8] if isinstance(body, dict) else type(body).__name__}"
    except (httpx.HTTPError, ValueError) as exc:
        ok, actual = False, f"{type(exc).__name__}: {exc}"
    return Check(surface="gateway", job="capabilities", parameter="/v1/capabilities", expected="HTTP 200, a JSON document",
                 actual=actual, passed=ok)


def unloaded_model_checks(upstream_url: str, gateway_url: str, out_dir: Path) -> list[Check]:
    """A checkpoint on disk but not loaded: what upstream does with it (lists it with is_loaded=false, runs
    a request for it on its primary DiT without an error), and that the gateway neither offers it in its
    capabilities nor lets a request for it through."""
    from acekit import Client, Text2MusicRequest

    job, checks = "unloaded-model", []

    def check(parameter: str, expected: Any, actual: Any, passed: bool) -> None:
        checks.append(Check(surface="gateway", job=job, parameter=parameter, expected=expected, actual=actual,
                            passed=passed))

    try:
        inventory = httpx.get(upstream_url + "/v1/model_inventory", timeout=10).json()["data"]["models"]
        listed = {m.get("name"): m.get("is_loaded") for m in inventory}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        listed = {"error": f"{type(exc).__name__}: {exc}"}
    check("upstream lists it, is_loaded", False, listed.get(UNLOADED_DIT_MODEL, "not listed"),
          listed.get(UNLOADED_DIT_MODEL) is False)
    request = Text2MusicRequest(prompt="conformance: unloaded model", duration_s=10, inference_steps=4, batch_size=1,
                                model=UNLOADED_DIT_MODEL, audio_format="wav", seed=5)
    try:
        with Client(upstream_url) as client:
            served = client.generate(request, out_dir=out_dir / "unloaded-direct", timeout_s=300).result.items[0].dit_model
    except Exception as exc:  # a failure is what the check reports
        served = f"{type(exc).__name__}: {exc}"
    check("upstream runs it on", TURBO, served, served == TURBO)
    try:
        caps = httpx.get(gateway_url + "/v1/capabilities", timeout=10).json()
        caps = caps.get("data", caps)
        offered = sorted({m for t in caps["tasks"].values() for m in t.get("models", [])})
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        offered = [f"{type(exc).__name__}: {exc}"]
    check("capabilities offer it", f"not among {offered}", UNLOADED_DIT_MODEL in offered,
          UNLOADED_DIT_MODEL not in offered and all(m in FAKE_DIT_MODELS for m in offered))
    try:
        r = httpx.post(gateway_url + "/release_task", json=request.to_api_fields(), timeout=30)
        actual = f"HTTP {r.status_code}: {r.text[:300]}"
        refused = r.status_code == 422 and "on disk but not loaded" in r.text
    except httpx.HTTPError as exc:
        actual, refused = f"{type(exc).__name__}: {exc}", False
    check("gateway refuses a request for it", "HTTP 422, on disk but not loaded", actual, refused)
    return checks


# ---------------------------------------------------------------------- matrix

MATRIX_SPEC = """\
# acekit conformance: a small matrix against upstream's own server (model calls stood in).
name = "conformance"
description = "text2music, repaint, lego against upstream's api_server with stand-in model calls"

[grid]
models = ["{turbo}"]
bpm = [100]
keys = ["C major"]
time_signatures = ["4"]
durations_s = [10.0]
steps = [4]
seeds = [3]
prompt = "conformance matrix: bright synth pop"
lyrics = "[instrumental]"
audio_format = "wav"

[tasks.text2music]

[tasks.repaint]
repaint_starts_s = [2.0]
repaint_lengths_s = [3.0]

[tasks.lego]
models = ["{base}"]
steps = [10]
tracks = ["bass"]

[source]
mode = "generate"
"""


def run_matrix(driver: Driver, url: str) -> None:
    """Run the small matrix with `acekit matrix` and match every case to the job upstream ran for it."""
    folder = driver.work / "matrix"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    spec = folder / "conformance.toml"
    spec.write_text(MATRIX_SPEC.format(turbo=TURBO, base=BASE))
    start = driver.server.record_count()
    cmd = [sys.executable, "-m", "acekit", "matrix", str(spec), "--server", url, "--out", str(folder / "runs"),
           "--poll-interval-s", "0.3", "--timeout-s", str(JOB_TIMEOUT_S), "--no-resume"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=_clean_env())
    results = sorted((folder / "runs").glob("*/results.jsonl"))
    if proc.returncode != 0 or not results:
        driver.checks.append(Check(surface="matrix", job="run", parameter="job ran", expected="exit 0",
                                   actual=f"exit {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-500:]}",
                                   passed=False, note=driver._bug_note()))
        if not results:
            return
    jobs = job_groups(driver.server.records(start))
    cases = [json.loads(line) for line in results[0].read_text().splitlines() if line.strip()]
    for rec in cases:
        driver.checks.extend(matrix_case_checks(rec, jobs))
    for job in jobs:
        driver.upstream_limitations.update(upstream_limitations(job))
    mine = [c for c in driver.checks if c.surface == "matrix"]
    driver.log(f"  matrix: {len(cases)} cases, {sum(c.passed for c in mine)}/{len(mine)} checks passed")


def job_groups(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split records into jobs, each its /release_task request record followed by the records of
    the run it started (pipeline, then LM and DiT calls).

    A run starts at its "pipeline" record: requests can arrive while an earlier job still runs
    (the matrix keeps its next case queued), so a run is paired with the oldest waiting request of
    its task type (upstream's queue is first in, first out). A request that never ran (refused,
    failed before the pipeline) stays a job of its own, in arrival order.
    """
    groups: list[list[dict[str, Any]]] = []
    waiting: list[list[dict[str, Any]]] = []  # requests whose run has not started yet, oldest first
    running: list[dict[str, Any]] | None = None  # the job of the latest pipeline record
    for rec in records:
        call = rec.get("call")
        if call == "request":
            groups.append([rec])
            waiting.append(groups[-1])
        elif call == "pipeline":
            task = (rec.get("params") or {}).get("task_type")
            fits = [g for g in waiting if task is None or g[0]["fields"].get("task_type") in (None, task)]
            if fits or waiting:
                running = (fits or waiting)[0]
                waiting = waiting[waiting.index(running) + 1:]  # the requests before it never ran
            else:
                running = []
                groups.append(running)
            running.append(rec)
        elif running is not None:
            running.append(rec)
        elif groups:
            groups[-1].append(rec)
    return groups


def case_expectation(rec: dict[str, Any]) -> Expectation:
    """What one matrix case must deliver, from the case's own parameters (not from the request sent)."""
    case = rec.get("case", {})
    task = case.get("task")
    track = case.get("track")
    intent = Intent(
        name=f"{task} {rec.get('case_id', '')[:8]}", task=task, prompt=case.get("prompt"), bpm=case.get("bpm"),
        key=case.get("key"), time_signature=case.get("time_signature"), duration_s=case.get("duration_s"),
        steps=case.get("steps"), seed=case.get("seed"), audio_format=case.get("audio_format") or "mp3",
        model=case.get("model"), start_s=case.get("repaint_start_s"), end_s=case.get("repaint_end_s"),
        strength=case.get("cover_strength"), tracks=[track] if track else [], thinking=bool(case.get("thinking")),
    )
    e = intent.expectation("matrix")
    # the matrix's own source clip is generated per case: its length is not this tier's fixture's
    return e.model_copy(update={"src_seconds": None, "output_seconds": None if intent.needs_source else e.output_seconds,
                                "files": None, "audio_format": None})


def matrix_case_checks(rec: dict[str, Any], jobs: list[list[dict[str, Any]]]) -> list[Check]:
    """Checks for one matrix case: it succeeded, and the upstream job that carries its parameters got them all."""
    expectation = case_expectation(rec)
    checks = [Check(surface="matrix", job=expectation.job, parameter="case status", expected="ok",
                    actual=rec.get("status"), passed=rec.get("status") == "ok", note=str(rec.get("reason") or ""))]

    def dit_of(job: list[dict[str, Any]]) -> dict[str, Any] | None:
        return next((r for r in job if r.get("call") == "dit"), None)

    candidates = [j for j in jobs if (d := dit_of(j)) is not None
                  and d.get("params", {}).get("task_type") == expectation.dit.get("task_type")
                  and d.get("model") == expectation.model]
    if not candidates:
        checks.append(Check(surface="matrix", job=expectation.job, parameter="dit_calls",
                            expected=f"a {expectation.dit.get('task_type')} job on {expectation.model}", actual="none",
                            passed=False))
        return checks

    def misses(job: list[dict[str, Any]]) -> int:
        params = (dit_of(job) or {}).get("params", {})
        return sum(not values_equal(k, v, params.get(k)) for k, v in expectation.dit.items())

    return checks + compare(expectation, min(candidates, key=misses))
