"""Round trip of a 20 s text2music through `acekit.Client`: where does the wall time go?

Each run submits one request, waits with the client's ordinary polling (``--poll-interval-s``,
the client's default 1 s) and downloads the audio. Meanwhile a second client (the *watcher*)
polls the same task every ``--watch-interval-s`` (default 20 ms), so the moment the job finished
on the server is known to within that interval plus one loopback request. Printed per run:

- ``wall``: submit sent -> success seen by the client (what a user waits before the download);
- ``done``: submit sent -> success seen by the watcher (the server's own turnaround: queue + job + HTTP);
- ``slack``: ``wall - done``, the polling slack: time between the job finishing on the server and the
  client noticing (on average about half the poll interval, at most a whole one);
- ``job``: the server's job duration from ``/v1/stats`` (delta of ``avg_job_seconds * finished jobs``,
  exact on the reference backend while fewer than 50 jobs have finished; upstream uses the same formula);
- ``dl``: downloading the audio; ``total``: submit -> audio on disk (the full round trip).

Usage::

    .venv/bin/python -m benchmarks.roundtrip                     # starts the reference backend
    .venv/bin/python -m benchmarks.roundtrip --runs 10 --poll-interval-s 0.25
    .venv/bin/python -m benchmarks.roundtrip --server http://spark.local:8001   # any ACE-Step API server
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from acekit.client import Client
from acekit.contract import TaskStatus
from acekit.models import Progress, Stats, Text2MusicRequest
from acekit.reference.launch import running_reference_server

#: Jobs the reference backend averages over; beyond this the stats delta is approximate.
_AVERAGE_WINDOW = 50


def _finished_job_seconds(stats: Stats) -> float:
    finished = min(stats.jobs.succeeded + stats.jobs.failed, _AVERAGE_WINDOW)
    return (stats.avg_job_seconds or 0.0) * finished if finished else 0.0


class _Watcher(threading.Thread):
    """Polls one task fast from its own connection; ``done_at`` is when it first saw the task finished."""

    def __init__(self, server: str, api_key: str | None, task_id: str, *, interval_s: float, limit_s: float):
        super().__init__(daemon=True)
        self.server, self.api_key, self.task_id = server, api_key, task_id
        self.interval_s, self.limit_s = interval_s, limit_s
        self.done_at: float | None = None
        self.error: Exception | None = None

    def run(self) -> None:
        deadline = time.monotonic() + self.limit_s
        try:
            with Client(self.server, api_key=self.api_key) as client:
                while time.monotonic() < deadline:
                    results = client.query([self.task_id])
                    if any(r.task_id == self.task_id and r.status != TaskStatus.running for r in results):
                        self.done_at = time.monotonic()
                        return
                    time.sleep(self.interval_s)
        except Exception as exc:  # reported in the table, never hides the client's own figures
            self.error = exc


def run(client: Client, *, runs: int, duration_s: float, poll_interval_s: float, watch_interval_s: float,
        batch_size: int, out_dir: Path) -> list[dict[str, float | None]]:
    """Time ``runs`` sequential round trips; one dict of figures per run."""
    rows: list[dict[str, float | None]] = []
    for i in range(runs):
        before = client.stats()
        req = Text2MusicRequest(prompt="benchmark groove, drums and bass", duration_s=duration_s, bpm=120,
                                key_scale="C major", batch_size=batch_size, audio_format="wav", seed=1000 + i)
        polls: list[int] = []

        def count(progress: Progress) -> None:
            polls.append(progress.polls)

        started = time.monotonic()
        task_id = client.submit(req).task_id
        watcher = _Watcher(client.server, client.api_key, task_id, interval_s=watch_interval_s, limit_s=600.0)
        watcher.start()
        result = client.wait(task_id, poll_interval_s=poll_interval_s, on_progress=count)
        seen = time.monotonic()
        for n, item in enumerate(result.items):
            client.download(item, out_dir / f"run{i}_{n}.wav")
        finished = time.monotonic()
        watcher.join(timeout=10)
        after = client.stats()
        done_s = None if watcher.done_at is None else watcher.done_at - started
        rows.append({
            "wall_s": seen - started,
            "done_s": done_s,
            "slack_s": None if done_s is None else (seen - started) - done_s,
            "job_s": _finished_job_seconds(after) - _finished_job_seconds(before),
            "download_s": finished - seen,
            "total_s": finished - started,
            "polls": float((polls[-1] if polls else 0) + 1),  # + the poll that saw success
            "exact": float(after.jobs.succeeded + after.jobs.failed <= _AVERAGE_WINDOW),
        })
        if watcher.error is not None:
            print(f"run {i}: watcher failed ({watcher.error}); slack not measured")
    return rows


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def _median(rows: list[dict[str, float | None]], key: str) -> float | None:
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def report(rows: list[dict[str, float | None]], *, poll_interval_s: float, watch_interval_s: float,
           duration_s: float) -> str:
    cols = ("wall_s", "done_s", "slack_s", "job_s", "download_s", "total_s")
    lines = [f"{'run':>3} {'wall':>6} {'done':>6} {'slack':>6} {'job':>6} {'dl':>6} {'total':>6} {'polls':>5}"]
    for i, r in enumerate(rows):
        lines.append(f"{i:>3} " + " ".join(_fmt(r[c]) for c in cols) + f" {int(r['polls'] or 0):>5}")
    slacks = [r["slack_s"] for r in rows if r["slack_s"] is not None]
    walls = [r["wall_s"] for r in rows if r["slack_s"] is not None]
    share = f"{100 * sum(slacks) / sum(walls):.0f}% of the wait" if slacks else "n/a"
    lines += [
        "",
        f"{len(rows)} runs of a {duration_s:g} s text2music; client polls every {poll_interval_s:g} s, "
        f"watcher every {watch_interval_s:g} s (slack resolution)",
        f"round trip (submit -> audio on disk)  median {_fmt(_median(rows, 'total_s')).strip()} s",
        f"  wait for success (client)           median {_fmt(_median(rows, 'wall_s')).strip()} s",
        f"  server turnaround (watcher)         median {_fmt(_median(rows, 'done_s')).strip()} s"
        f"   (job alone {_fmt(_median(rows, 'job_s')).strip()} s per /v1/stats)",
        f"  polling slack                       median {_fmt(_median(rows, 'slack_s')).strip()} s"
        f"   ({share}; max {_fmt(max(slacks) if slacks else None).strip()} s)",
        f"  download                            median {_fmt(_median(rows, 'download_s')).strip()} s",
    ]
    if not all(r["exact"] for r in rows):
        lines.append("note: the server had finished more than 50 jobs; the /v1/stats job time is approximate")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--poll-interval-s", type=float, default=1.0, help="the client's default is 1.0")
    parser.add_argument("--watch-interval-s", type=float, default=0.02,
                        help="how often the watcher polls to see when the job finished")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--server", default=None, help="use this server instead of starting the reference backend")
    parser.add_argument("--api-key", default=None, help="for --server (default $ACESTEP_API_KEY)")
    parser.add_argument("--seconds-per-step", type=float, default=None,
                        help="reference backend only: simulated compute (its default 0.02)")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acekit-roundtrip-")))
        url = args.server
        if url is None:
            extra = ["--seconds-per-step", str(args.seconds_per_step)] if args.seconds_per_step is not None else []
            t0 = time.monotonic()
            url = stack.enter_context(running_reference_server(
                "--output-dir", str(out_dir / "server"), *extra, log_path=out_dir / "server.log"))
            print(f"reference backend at {url} (started in {time.monotonic() - t0:.2f} s)")
        client = stack.enter_context(Client(url, api_key=args.api_key))
        health = client.health()
        print(f"server: {health.service} {health.version}; {args.duration_s:g} s text2music, batch {args.batch_size}")
        # One untimed job first: the server's first render pays for imports and caches.
        client.generate(Text2MusicRequest(duration_s=10, batch_size=1, audio_format="wav"),
                        out_dir=out_dir / "warmup", poll_interval_s=0.05)
        out = out_dir / "client"
        out.mkdir()
        rows = run(client, runs=args.runs, duration_s=args.duration_s, poll_interval_s=args.poll_interval_s,
                   watch_interval_s=args.watch_interval_s, batch_size=args.batch_size, out_dir=out)
        print(report(rows, poll_interval_s=args.poll_interval_s, watch_interval_s=args.watch_interval_s,
                     duration_s=args.duration_s))


if __name__ == "__main__":
    main()
