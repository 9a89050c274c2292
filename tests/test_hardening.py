"""Regression tests for the faults and bad inputs a hostile review found (issue 9), one block per item.

Each test failed on 1017abc. Servers are real processes on loopback (the reference backend, the
gateway in front of it), driven as a client would drive them.
"""

from __future__ import annotations

import json
import subprocess
import threading
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from acekit.gateway.launch import running_gateway, wait_gateway
from acekit.reference.launch import free_port, wait_healthy


@pytest.fixture(scope="module")
def gateway(reference_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("hardening-gw") / "gateway.log"
    with running_gateway(reference_server, log_path=log) as url:
        yield url


def _http(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30.0, trust_env=False)


# --------------------------------------------------------------------------- 3: NUL byte in a path


@pytest.mark.parametrize("via", ["direct", "gateway"])
def test_nul_byte_in_audio_path_is_400_not_500(via: str, reference_server: str, gateway: str) -> None:
    with _http(reference_server if via == "direct" else gateway) as http:
        r = http.get("/v1/audio?path=a%00b.wav")
    assert r.status_code == 400, r.text
    assert "NUL" in r.json()["detail"]


def test_nul_byte_in_src_audio_path_is_400(reference_server: str) -> None:
    with _http(reference_server) as http:
        r = http.post("/release_task", json={"task_type": "repaint", "src_audio_path": "a\x00b.wav"})
    assert r.status_code == 400 and "NUL" in r.json()["detail"]


# --------------------------------------------------------------------------- helpers for memory checks


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident set (VmHWM), MiB: what a kernel OOM decision would have seen."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/PID/status")


class _Server:
    """``python -m acekit ARGS`` as a child process whose pid the test can watch (and kill)."""

    def __init__(self, args: list[str], log: Path, *, port: int | None = None) -> None:
        self.args, self.log, self.port = args, log, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, *, wait: str = "reference") -> "_Server":
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen([sys.executable, "-m", "acekit", *self.args, "--host", "127.0.0.1",
                                          "--port", str(self.port)], stdout=fh, stderr=subprocess.STDOUT)
        if wait == "reference":
            wait_healthy(self.url, proc=self.proc)
        else:
            wait_gateway(self.url, proc=self.proc)
        return self

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _multipart_chunks(fields: dict[str, str], file_field: str, size: int, *, boundary: str = "acekitfuzz"):
    """A multipart body with one large file part, generated chunk by chunk (the test holds none of it)."""
    for name, value in fields.items():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").encode()
    yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"big.wav\"\r\n"
           "Content-Type: audio/wav\r\n\r\n").encode()
    block = b"\x01" * (1024 * 1024)
    for _ in range(size // len(block)):
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


MULTIPART = "multipart/form-data; boundary=acekitfuzz"


# --------------------------------------------------------------------------- 10: uploads go to disk


def test_reference_streams_uploads_to_disk(tmp_path: Path) -> None:
    out = tmp_path / "out"
    server = _Server(["serve-reference", "--output-dir", str(out), "--queue-maxsize", "1",
                      "--seconds-per-step", "0"], tmp_path / "ref.log").start()
    try:
        with _http(server.url) as http:
            http.get("/health")
            before = _peak_rss_mb(server.proc.pid)
            for _ in range(6):  # refused after the upload is read (repaint without a region end is fine; bad bpm)
                r = http.post("/release_task", headers={"content-type": MULTIPART},
                              content=_multipart_chunks({"task_type": "repaint", "bpm": "9999"}, "src_audio",
                                                        40 * 1024 * 1024))
                assert r.status_code == 400, r.text
            grown = _peak_rss_mb(server.proc.pid) - before
    finally:
        server.stop()
    # Holding one 40 MiB upload in memory costs 40 MiB at least; streamed, the server grows by its buffers only.
    assert grown < 15, f"peak RSS grew {grown:.0f} MiB over 40 MiB uploads"


# --------------------------------------------------------------------------- 4: refused uploads are deleted


def test_refused_multipart_release_leaves_no_upload(tmp_path: Path) -> None:
    out = tmp_path / "out"
    server = _Server(["serve-reference", "--output-dir", str(out), "--api-key", "k"], tmp_path / "ref.log").start()
    try:
        with _http(server.url) as http:
            for fields, headers, status in (
                ({"task_type": "repaint", "bpm": "9999"}, {"authorization": "Bearer k"}, 400),  # validation
                ({"task_type": "repaint"}, {"authorization": "Bearer wrong"}, 401),              # auth
            ):
                r = http.post("/release_task", files={"src_audio": ("a.wav", b"RIFF" + b"\0" * 5000, "audio/wav")},
                              data=fields, headers=headers)
                assert r.status_code == status, r.text
    finally:
        server.stop()
    assert sorted(p.name for p in (out / ".uploads").glob("*")) == []


# --------------------------------------------------------------------------- 9: expected events log one line


def test_upload_cut_off_mid_body_logs_one_line_no_traceback(tmp_path: Path) -> None:
    import socket

    log = tmp_path / "ref.log"
    server = _Server(["serve-reference", "--output-dir", str(tmp_path / "out")], log).start()
    try:
        head = (f"POST /release_task HTTP/1.1\r\nHost: x\r\nContent-Type: {MULTIPART}\r\n"
                "Content-Length: 10000000\r\n\r\n").encode()
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(head + next(_multipart_chunks({"task_type": "repaint"}, "src_audio", 0)) + b"x" * 50_000)
            time.sleep(0.3)
        with _http(server.url) as http:  # one more round trip: the log line is written by then
            deadline = time.monotonic() + 5
            while "went away" not in log.read_text() and time.monotonic() < deadline:
                http.get("/health")
                time.sleep(0.1)
    finally:
        server.stop()
    text = log.read_text()
    assert "Traceback" not in text
    assert [line for line in text.splitlines() if "went away" in line] != []


class _CutUpstream(BaseHTTPRequestHandler):
    """An upstream that dies mid-download: promises 100 000 bytes, sends 1 000, hangs up."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("content-type", "audio/wav")
        self.send_header("content-length", "100000")
        self.end_headers()
        self.wfile.write(b"RIFF" + b"\0" * 996)
        self.wfile.flush()
        self.close_connection = True


def test_upstream_dying_mid_download_logs_one_line_no_traceback(tmp_path: Path) -> None:
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), _CutUpstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    log = tmp_path / "gateway.log"
    try:
        with running_gateway(f"http://127.0.0.1:{upstream.server_address[1]}", log_path=log) as url, _http(url) as gw:
            with pytest.raises(httpx.RemoteProtocolError):  # the client still learns the body is short
                with gw.stream("GET", "/v1/audio", params={"path": "x.wav"}) as r:
                    for _ in r.iter_raw():
                        pass
            gw.get("/gateway/health")  # one more round trip: the log is written by then
    finally:
        upstream.shutdown()
        upstream.server_close()
    text = log.read_text()
    assert "Traceback" not in text and "Exception in ASGI application" not in text
    assert len([line for line in text.splitlines() if "broke off" in line]) == 1


# --------------------------------------------------------------------------- 5: body ai_token at a keyed gateway


@pytest.fixture
def keyed_gateway(reference_server: str, tmp_path: Path) -> Iterator[_Server]:
    server = _Server(["gateway", "--upstream", reference_server, "--api-key", "gw-key"],
                     tmp_path / "gw.log").start(wait="gateway")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("key_in", ["body", "header"])
def test_keyed_gateway_spools_a_body_ai_token_upload_instead_of_holding_it(keyed_gateway: _Server,
                                                                           key_in: str) -> None:
    """With the key as a body ai_token the gateway must read the body before forwarding it (and, with
    admission on, it reads a /release_task's fields even when the key came as a header): to a temp file."""
    fields = {"task_type": "repaint", "bpm": "9999"}
    headers = {"content-type": MULTIPART}
    if key_in == "body":
        fields["ai_token"] = "gw-key"
    else:
        headers["authorization"] = "Bearer gw-key"
    with _http(keyed_gateway.url) as http:
        http.get("/gateway/health")
        before = _peak_rss_mb(keyed_gateway.proc.pid)
        # bpm 9999: the upstream refuses it (400), which proves the body got through the key check.
        r = http.post("/release_task", headers=headers,
                      content=_multipart_chunks(fields, "src_audio", 60 * 1024 * 1024))
        grown = _peak_rss_mb(keyed_gateway.proc.pid) - before
    assert r.status_code == 400 and "bpm" in r.json()["detail"], r.text
    assert grown < 20, f"gateway peak RSS grew {grown:.0f} MiB while passing on a 60 MiB upload"


def test_wrong_body_ai_token_is_invalid_not_missing(keyed_gateway: _Server) -> None:
    with _http(keyed_gateway.url) as http:
        wrong = http.post("/release_task", data={"ai_token": "nope", "prompt": "x"},
                          files={"src_audio": ("a.wav", b"RIFF" + b"\0" * 100, "audio/wav")})
        none = http.post("/release_task", data={"prompt": "x"},
                         files={"src_audio": ("a.wav", b"RIFF" + b"\0" * 100, "audio/wav")})
        wrong_json = http.post("/release_task", json={"ai_token": "nope", "prompt": "x"})
        right_query = http.post("/query_result", json={"ai_token": "gw-key", "task_id_list": ["t1"]})
    assert right_query.status_code == 200 and right_query.json()["data"][0]["task_id"] == "t1"
    for r in (wrong, wrong_json):
        assert r.status_code == 401 and r.json()["detail"].startswith("Invalid API key"), r.text
    assert none.status_code == 401 and none.json()["detail"].startswith("Missing API key"), none.text


# --------------------------------------------------------------------------- 8: /query_result is capped


@pytest.mark.parametrize("via", ["direct", "gateway"])
def test_query_result_caps_the_number_of_ids(via: str, reference_server: str, gateway: str) -> None:
    from acekit.contract import MAX_QUERY_TASK_IDS

    with _http(reference_server if via == "direct" else gateway) as http:
        at_cap = http.post("/query_result", json={"task_id_list": [f"t{i}" for i in range(MAX_QUERY_TASK_IDS)]})
        over = http.post("/query_result", json={"task_id_list": [f"t{i}" for i in range(MAX_QUERY_TASK_IDS + 1)]})
        as_text = http.post("/query_result", data={"task_id_list": json.dumps(["t"] * (MAX_QUERY_TASK_IDS + 1))})
        huge = http.post("/query_result", json={"task_id_list": [f"id-{i}" for i in range(200_000)]})
    assert at_cap.status_code == 200 and len(at_cap.json()["data"]) == MAX_QUERY_TASK_IDS
    for r in (over, as_text):
        assert r.status_code == 400, r.text
        assert f"at most {MAX_QUERY_TASK_IDS}" in r.json()["detail"]
    assert huge.status_code in (400, 413) and f"at most {MAX_QUERY_TASK_IDS}" in huge.json()["detail"]


# --------------------------------------------------------------------------- 1: upstream restart mid-task


@pytest.mark.parametrize("via", ["direct", "gateway"])
def test_restart_mid_task_ends_the_same_with_or_without_the_gateway(via: str, tmp_path: Path) -> None:
    """Fault injection: kill the server while a task runs, restart it 1 s later on the same port.

    Direct, the client waits out the outage and then learns the server lost the task (UnknownTask:
    resubmit). Through the gateway it must not give up earlier on the gateway's answer for the outage.
    """
    from acekit import Client, Text2MusicRequest, UnknownTask

    # ~20 s of simulated compute: the task is still running when the server dies.
    ref_args = ["serve-reference", "--output-dir", str(tmp_path / "out"), "--seconds-per-step", "15"]
    ref = _Server(ref_args, tmp_path / "ref.log").start()
    gw = _Server(["gateway", "--upstream", ref.url], tmp_path / "gw.log").start(wait="gateway") \
        if via == "gateway" else None
    running = threading.Event()
    outcome: dict[str, object] = {}

    def client_side() -> None:
        with Client((gw or ref).url) as client:
            try:
                client.generate(Text2MusicRequest(prompt="x", duration_s=10, inference_steps=8, batch_size=1),
                                out_dir=tmp_path / "dl", poll_interval_s=0.1, unknown_grace_s=8.0,
                                on_progress=lambda p: running.set() if (p.progress or 0) > 0 else None)
            except Exception as exc:  # noqa: BLE001 - the test inspects it
                outcome["error"] = exc
            outcome["ended"] = time.monotonic()

    worker = threading.Thread(target=client_side)
    try:
        worker.start()
        assert running.wait(15), "the task never started running"
        ref.kill()
        killed_at = time.monotonic()
        time.sleep(1.0)
        ref.start()
        worker.join(30)
        assert not worker.is_alive()
    finally:
        if gw:
            gw.stop()
        ref.stop()
    assert isinstance(outcome.get("error"), UnknownTask), outcome
    assert "restarted" in str(outcome["error"])
    # It waited out the outage (1 s + the restart) and then the 8 s grace for an id the new server does not know.
    assert outcome["ended"] - killed_at >= 8


# --------------------------------------------------------------------------- 2: the matrix and restarts

RESTART_SPEC = """
name = "restart"
[grid]
bpm = [100]
keys = ["A minor"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
[tasks.repaint]
repaint_starts_s = [2.0]
repaint_lengths_s = [4.0]
"""


def test_matrix_retries_a_case_lost_to_a_restart_and_its_edit(tmp_path: Path) -> None:
    """Fault injection: the server dies while the matrix's source clip renders and is back 1 s later.

    The lost case (UnknownTask once the new server says it never heard of it) is retried in the same
    run, and the repaint that needs its clip runs after it: everything ends ok, exit 0.
    """
    from acekit.matrix.store import RunStore

    spec = tmp_path / "restart.toml"
    spec.write_text(RESTART_SPEC)
    # ~2.7 s of simulated compute per case: long enough to be killed mid-render.
    ref = _Server(["serve-reference", "--output-dir", str(tmp_path / "out"), "--seconds-per-step", "4"],
                  tmp_path / "ref.log").start()
    matrix = subprocess.Popen([sys.executable, "-m", "acekit", "matrix", str(spec), "--server", f"ref={ref.url}",
                               "--out", str(tmp_path), "--poll-interval-s", "0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        with _http(ref.url) as http:
            while http.get("/v1/stats").json()["data"]["jobs"]["running"] < 1:
                assert matrix.poll() is None and time.monotonic() < deadline, "no case started running"
                time.sleep(0.05)
        ref.kill()
        time.sleep(1.0)
        ref.start()
        out, err = matrix.communicate(timeout=120)
    finally:
        if matrix.poll() is None:
            matrix.kill()
        ref.stop()
    records = RunStore(tmp_path / "restart").records()
    assert [r.error_type for r in records if r.status == "failed"] == ["UnknownTask"], out + err
    assert "retrying 1 case(s) lost to a server restart" in out + err
    # The summary counts cases that ended failed (none), the retry apart (it used to say "1 failed").
    assert "ran 2 (0 failed; 1 retry of cases lost to a restart or outage)" in out, out
    latest = RunStore(tmp_path / "restart").latest()
    assert sorted(r.task for r in latest.values()) == ["repaint", "text2music"]
    assert all(r.status == "ok" for r in latest.values()), [(r.task, r.reason) for r in latest.values()]
    assert matrix.returncode == 0, out + err


def test_resume_redoes_old_lost_cases_and_their_edits(reference_server: str, tmp_path: Path) -> None:
    """Records written before this fix (UnknownTask not retryable, its edit SourceMissing) are redone."""
    from acekit.matrix.runner import parse_server, run_matrix
    from acekit.matrix.spec import parse_spec
    from acekit.matrix.store import RunStore

    spec = parse_spec(RESTART_SPEC)
    servers = [parse_server(f"ref={reference_server}")]
    run_matrix(spec, RESTART_SPEC, servers, out_dir=tmp_path, progress=False, poll_interval_s=0.1)
    store = RunStore(tmp_path / "restart")
    lines = []
    for rec in store.records():  # rewrite history: as 1017abc recorded a restart
        failed = {"text2music": ("UnknownTask", "the server does not know task t1"),
                  "repaint": ("SourceMissing", "source clip failed: the server does not know task t1")}[rec.task]
        lines.append(rec.model_copy(update={"status": "failed", "error_type": failed[0], "reason": failed[1],
                                            "retryable": False, "audio": []}).model_dump_json() + "\n")
    store.results_path.write_text("".join(lines))
    summary = run_matrix(spec, RESTART_SPEC, servers, out_dir=tmp_path, progress=False, poll_interval_s=0.1)
    assert summary.ran == 2 and summary.failures == []
    assert all(r.status == "ok" for r in store.latest().values())


FAILING_SPEC = """
name = "failing"
[grid]
bpm = [100]
keys = ["C major"]
durations_s = [10.0]
steps = [4]
audio_format = "wav"
[tasks.text2music]
[tasks.cover]
# aiff is no format upstream writes: the cover request is rejected (400), on purpose.
extra = {audio_format = "aiff"}
"""


def test_matrix_with_failed_cases_exits_nonzero_and_says_which(reference_server: str, tmp_path: Path) -> None:
    spec = tmp_path / "failing.toml"
    spec.write_text(FAILING_SPEC)
    cmd = [sys.executable, "-m", "acekit", "matrix", str(spec), "--server", f"ref={reference_server}",
           "--out", str(tmp_path), "--poll-interval-s", "0.1"]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "1 case(s) failed" in first.stderr
    listed = [line for line in first.stderr.splitlines() if "BadRequest" in line]
    assert len(listed) == 1 and "aiff" in listed[0] and "cover" in listed[0]
    # A resume skips the recorded failure but still reports it; --allow-failures exits 0.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "ran 0" in again.stdout and "1 case(s) failed" in again.stderr
    allowed = subprocess.run([*cmd, "--allow-failures"], capture_output=True, text=True, timeout=60)
    assert allowed.returncode == 0 and "1 case(s) failed" in allowed.stderr


# --------------------------------------------------------------------------- 6 and 7: the CLI checks before it submits


def _jobs_total(url: str) -> int:
    with _http(url) as http:
        return http.get("/v1/stats").json()["data"]["jobs"]["total"]


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "acekit", *args], capture_output=True, text=True, timeout=120)


def test_generate_checks_out_before_the_server_does_the_job(start_reference, tmp_path: Path) -> None:
    url = start_reference()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for out, why in ((blocker / "sub", "Not a directory"), (Path("/proc/acekit-cannot-create"), "")):
        result = _cli("generate", "--duration", "10", "--batch", "1", "--server", url, "--out", str(out),
                      "--poll-interval-s", "0.05")
        assert result.returncode == 2, result.stderr
        assert f"--out {str(out)!r} cannot be used" in result.stderr and why in result.stderr
    assert _jobs_total(url) == 0  # nothing was submitted


def test_a_failed_task_still_leaves_no_folder_behind(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper"
    result = _cli("generate", "--duration", "10", "--server", f"http://127.0.0.1:{free_port()}", "--out", str(out))
    assert result.returncode == 3 and not (tmp_path / "new").exists()


def _corrupt_mp3(folder: Path) -> Path:
    path = folder / "song.mp3"  # an ID3 tag, then no MPEG frames
    path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(range(256)) * 20)
    return path


def _text_as_wav(folder: Path) -> Path:
    path = folder / "notes.wav"
    path.write_text("this is not audio\n" * 50)
    return path


def _empty_flac(folder: Path) -> Path:
    path = folder / "empty.flac"
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize(("make", "says"), [
    (_text_as_wav, "is a text file, not audio"),
    (_corrupt_mp3, "has a MP3 header but cannot be decoded"),
    (_empty_flac, "is empty (0 bytes)"),
], ids=["text-as-wav", "corrupt-mp3", "empty"])
def test_edit_commands_check_audio_locally_before_upload(make, says: str, start_reference, tmp_path: Path) -> None:
    url = start_reference()
    bad = make(tmp_path)
    for args in (["repaint", str(bad), "--start", "1", "--end", "2"], ["cover", "--reference", str(bad), str(bad)]):
        result = _cli(*args, "--server", url, "--out", str(tmp_path / "out"))
        assert result.returncode == 2, result.stderr
        assert says in result.stderr and "possibly a pipe" not in result.stderr, result.stderr
        assert "not readable audio" in result.stderr and bad.name in result.stderr
    assert _jobs_total(url) == 0 and not (tmp_path / "out").exists()


def test_analyze_says_what_is_wrong_with_a_corrupt_mp3(tmp_path: Path) -> None:
    result = _cli("analyze", str(_corrupt_mp3(tmp_path)))
    assert result.returncode == 2
    assert "has a MP3 header but cannot be decoded" in result.stderr and "possibly a pipe" not in result.stderr
