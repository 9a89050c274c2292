"""Completion slack, side by side: how long after the server has a result is the audio on disk?

One reference backend, a gateway in front of it, and the same 20 s text2music sent through each
way of waiting, interleaved run by run so every way sees the same machine:

- ``gateway push``: `acekit.Client` through the gateway, default settings (its /v1/wait);
- ``direct adaptive``: `acekit.Client` straight to the backend, default settings (adaptive polling);
- ``direct fixed 1 s``: the client's old default (a poll every second), for comparison;
- ``curl kit via gateway`` / ``curl kit direct``: ``scripts/curl/text2music.sh`` with default settings.

Slack = the audio file's modification time (it is on disk) minus the moment the server had the
result, as seen by a watcher polling the backend directly every ``--watch-interval-s`` (5 ms: the
watcher sees the end at most that late, so slack reads up to that much low). Medians are printed
with the issue's targets.

Usage::

    .venv/bin/python -m benchmarks.slack
    .venv/bin/python -m benchmarks.slack --runs 9 --duration-s 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import threading
import time
from pathlib import Path

import httpx

KIT = Path(__file__).resolve().parents[1] / "scripts" / "curl"
TARGETS_MS = {"gateway push": 50, "direct adaptive": 150, "curl kit via gateway": 150}


class Watcher(threading.Thread):
    """Polls one task on the backend; ``done_at`` (time.time()) is when it first saw it finished."""

    def __init__(self, server: str, task_id: str, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.server, self.task_id, self.interval_s = server, task_id, interval_s
        self.done_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.server, trust_env=False) as http:
            while not self.stop.is_set():
                r = http.post("/query_result", json={"task_id_list": [self.task_id]})
                if r.status_code == 200 and r.json()["data"][0]["status"] != 0:
                    self.done_at = time.time()
                    return
                time.sleep(self.interval_s)


def _client_run(server: str, backend: str, req, out: Path, watch_s: float, poll_interval_s: float | None) -> float:
    from acekit.client import Client

    with Client(server) as client:
        task_id = client.submit(req).task_id
        watcher = Watcher(backend, task_id, watch_s)
        watcher.start()
        result = client.wait(task_id, poll_interval_s=poll_interval_s)
        paths = [client.download(item, out / f"{task_id}_{i}.wav") for i, item in enumerate(result.items)]
    watcher.join(10)
    return os.stat(paths[-1]).st_mtime - (watcher.done_at or float("nan"))


def _kit_run(server: str, backend: str, out: Path, watch_s: float, duration_s: float, seed: int) -> float:
    env = {**os.environ, "ACEKIT_SERVER": server, "OUT_DIR": str(out), "AUDIO_DURATION": f"{duration_s:g}",
           "BATCH_SIZE": "1", "AUDIO_FORMAT": "wav", "SEED": str(seed), "BPM": "120", "KEY_SCALE": "C major"}
    for var in ("POLL_S", "ACESTEP_API_KEY"):
        env.pop(var, None)
    proc = subprocess.Popen(["bash", str(KIT / "text2music.sh")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    task_id = proc.stdout.readline().strip()
    watcher = Watcher(backend, task_id, watch_s)
    watcher.start()
    rest, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"curl kit failed: {err}")
    watcher.join(10)
    audio = [line for line in rest.splitlines() if line.strip()][-1]
    return os.stat(audio).st_mtime - (watcher.done_at or float("nan"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs per way of waiting (interleaved)")
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--watch-interval-s", type=float, default=0.005)
    args = parser.parse_args(argv)

    from acekit.models import Text2MusicRequest
    from benchmarks.servers import reference_and_gateway

    with reference_and_gateway("acekit-slack-") as servers:
        tmp, backend, gateway = servers.tmp, servers.backend, servers.gateway
        ways = {
            "gateway push": lambda out, seed: _client_run(gateway, backend, req(seed), out, args.watch_interval_s, None),
            "direct adaptive": lambda out, seed: _client_run(backend, backend, req(seed), out, args.watch_interval_s,
                                                             None),
            "direct fixed 1 s": lambda out, seed: _client_run(backend, backend, req(seed), out,
                                                              args.watch_interval_s, 1.0),
            "curl kit via gateway": lambda out, seed: _kit_run(gateway, backend, out, args.watch_interval_s,
                                                               args.duration_s, seed),
            "curl kit direct": lambda out, seed: _kit_run(backend, backend, out, args.watch_interval_s,
                                                          args.duration_s, seed),
        }

        def req(seed: int) -> Text2MusicRequest:
            return Text2MusicRequest(prompt="benchmark groove, drums and bass", duration_s=args.duration_s, bpm=120,
                                     key_scale="C major", batch_size=1, audio_format="wav", seed=seed)

        slack: dict[str, list[float]] = {name: [] for name in ways}
        for i in range(args.runs):
            for name, run in ways.items():
                out = tmp / name.replace(" ", "_") / str(i)
                out.mkdir(parents=True)
                slack[name].append(run(out, 1000 + i))
        print(f"{args.runs} interleaved runs per way of a {args.duration_s:g} s text2music, wav, batch 1; "
              f"watcher every {args.watch_interval_s * 1e3:g} ms")
        print(f"{'way of waiting':<24} {'slack p50 ms':>13} {'min':>7} {'max':>7} {'target':>8}")
        for name, values in slack.items():
            ms = [v * 1e3 for v in values if v == v]
            target = f"<= {TARGETS_MS[name]}" if name in TARGETS_MS else ""
            print(f"{name:<24} {statistics.median(ms):>13.0f} {min(ms):>7.0f} {max(ms):>7.0f} {target:>8}")


if __name__ == "__main__":
    main()
