"""Round trip of a 20 s text2music through `acekit.Client.generate`: where does the wall time go?

For each run it prints the client's wall time (submit -> success seen), the server's own job
time, and the polling slack between them (wall - server job time: HTTP, queueing and, mostly,
the wait until the next poll notices the job is done), then the downloads.

Server job time comes from ``/v1/stats``: the reference backend averages the last 50 job
durations, so the delta of ``avg_job_seconds * finished_jobs`` around one job is exactly that
job's duration while fewer than 50 jobs have finished. Against another server (``--server``)
that figure is only as good as its average (upstream: same formula).

Usage::

    .venv/bin/python -m benchmarks.roundtrip                     # starts the reference backend
    .venv/bin/python -m benchmarks.roundtrip --runs 10 --poll-interval-s 0.25
    .venv/bin/python -m benchmarks.roundtrip --server http://gpu-box:8001
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from acekit.client import Client
from acekit.models import Stats, Text2MusicRequest
from acekit.reference.launch import running_reference_server

#: Jobs the reference backend averages over; beyond this the stats delta is approximate.
_AVERAGE_WINDOW = 50


def _finished_job_seconds(stats: Stats) -> float:
    finished = min(stats.jobs.succeeded + stats.jobs.failed, _AVERAGE_WINDOW)
    return (stats.avg_job_seconds or 0.0) * finished if finished else 0.0


def run(client: Client, *, runs: int, duration_s: float, poll_interval_s: float, batch_size: int,
        out_dir: Path) -> list[dict[str, float | None]]:
    """Time ``runs`` sequential round trips; one dict of figures per run."""
    rows: list[dict[str, float | None]] = []
    for i in range(runs):
        before = client.stats()
        req = Text2MusicRequest(prompt="benchmark groove, drums and bass", duration_s=duration_s, bpm=120,
                                key_scale="C major", batch_size=batch_size, audio_format="wav")
        outcome = client.generate(req, out_dir=out_dir / f"run{i}", poll_interval_s=poll_interval_s)
        after = client.stats()
        exact = after.jobs.succeeded + after.jobs.failed <= _AVERAGE_WINDOW
        server_s = _finished_job_seconds(after) - _finished_job_seconds(before)
        rows.append({
            "wall_s": outcome.wall_s,
            "server_job_s": server_s,
            "slack_s": outcome.wall_s - server_s,
            "queue_wait_s": outcome.queue_wait_s,
            "polls": float(outcome.polls),
            "download_s": outcome.download_s,
            "exact": float(exact),
        })
    return rows


def _fmt(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.2f}"


def report(rows: list[dict[str, float | None]], *, poll_interval_s: float) -> str:
    lines = [f"{'run':>3} {'wall_s':>6} {'server':>6} {'slack':>6} {'queue':>6} {'polls':>5} {'dl_s':>6}"]
    for i, r in enumerate(rows):
        lines.append(f"{i:>3} {_fmt(r['wall_s'])} {_fmt(r['server_job_s'])} {_fmt(r['slack_s'])} "
                     f"{_fmt(r['queue_wait_s'])} {int(r['polls'] or 0):>5} {_fmt(r['download_s'])}")
    walls = [r["wall_s"] for r in rows]
    servers = [r["server_job_s"] for r in rows]
    slacks = [r["slack_s"] for r in rows]
    lines += [
        "",
        f"runs {len(rows)}, poll interval {poll_interval_s:g} s",
        f"total wall       {sum(walls):7.2f} s   (median {statistics.median(walls):.2f} s per run)",
        f"server job time  {sum(servers):7.2f} s   (median {statistics.median(servers):.2f} s per run)",
        f"polling slack    {sum(slacks):7.2f} s   (median {statistics.median(slacks):.2f} s per run, "
        f"{100 * sum(slacks) / max(sum(walls), 1e-9):.0f}% of wall)",
    ]
    if not all(r["exact"] for r in rows):
        lines.append("note: the server had finished more than 50 jobs; server job time is approximate")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration-s", type=float, default=20.0)
    parser.add_argument("--poll-interval-s", type=float, default=1.0, help="the client's default is 1.0")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--server", default=None, help="use this server instead of starting the reference backend")
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
        client = stack.enter_context(Client(url))
        health = client.health()
        print(f"server: {health.service} {health.version}; {args.duration_s:g} s text2music, "
              f"batch {args.batch_size}")
        rows = run(client, runs=args.runs, duration_s=args.duration_s, poll_interval_s=args.poll_interval_s,
                   batch_size=args.batch_size, out_dir=out_dir / "client")
        print(report(rows, poll_interval_s=args.poll_interval_s))


if __name__ == "__main__":
    main()
