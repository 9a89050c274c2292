"""Matrix wall time against the server's busy time, on GPU-like jobs: does the backend ever wait for us?

Runs the default matrix against the reference backend slowed to GPU-like jobs
(``serve-reference --job-seconds 2:4``: every job takes 2-4 s of simulated compute, plus its real
render), once with the default settings (clips analysed in worker processes, the next case queued at
the server while the current one runs) and once the old way (analysis inline, no submit-ahead), one
after the other on the same machine.

busy = the sum of the server's job times the records carry (from each result's generation_info: the
whole job, source decode and audio encode included; before this benchmark's second version only
simulated compute + render were reported, and the mp3 encode, 0.5-2 s per 20 s clip on a shared
2-core machine, counted as idle); wall = the matrix run. Target (issue 8): wall <= 1.15 x busy with
the default settings. Also printed: wall over the union of the jobs' spans in the server's log (the
same busy, measured from outside) and over simulated compute + render only (the old definition).

Where the backend idled: the reference server logs when each job starts and finishes; the runner's
trace hook says when each case was begun, submitted, seen done, downloaded and recorded. Every
stretch of the run with no job on the server is charged to what the runner was doing then (see
`idle_breakdown`), and printed per cause in seconds and as a share of busy time, so the causes add
up to wall/busy - 1 (minus the small gap between a job's log span and its reported busy time).

Usage::

    .venv/bin/python -m benchmarks.matrix_pipeline
    .venv/bin/python -m benchmarks.matrix_pipeline --job-seconds 2:4 --no-inline --repeat 3
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) .*?\b(started )?task ([0-9a-f-]{36})(?: (succeeded|failed))?")


_RENDER = re.compile(r"task ([0-9a-f-]{36}) succeeded: .*render ([0-9.]+) s")


def compute_and_render_s(log_text: str, job_seconds: tuple[float, float]) -> float:
    """Simulated compute + render of every job (the reference backend's job time before it reported totals)."""
    import random

    lo, hi = job_seconds
    return sum(lo + (hi - lo) * random.Random(task).random() + float(render)
               for task, render in _RENDER.findall(log_text))


def busy_union_s(jobs: dict[str, tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for s, f in sorted(jobs.values()):
        total += max(0.0, f - max(s, end))
        end = max(end, f)
    return total


def server_jobs(log_text: str) -> dict[str, tuple[float, float]]:
    """task id -> (start, finish) epoch seconds, from the reference server's log (ms resolution)."""
    starts: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for line in log_text.splitlines():
        m = _LOG_LINE.match(line)
        if not m:
            continue
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp() + int(m.group(2)) / 1000
        task = m.group(4)
        if m.group(3):
            starts[task] = t
        elif m.group(5) and task in starts:
            spans[task] = (starts[task], t)
    return spans


#: What the runner was doing, by the last event of the case that owns the stretch (see idle_breakdown).
CAUSES = {
    "seen_done": "download + keep audio",
    "downloaded": "hand-off: analysis inline / record",
    "begin": "preparing next request (source, metas)",
    "submit": "upload + server pickup",
    "drain": "waiting on analyses (phase barrier)",
}


def idle_breakdown(events: list[dict[str, Any]], jobs: dict[str, tuple[float, float]], t0: float,
                   t_end: float) -> dict[str, float]:
    """Seconds with no job on the server, per cause.

    The run is cut at every runner event; a stretch where no job runs is charged to the latest event
    before it (``finish -> seen_done`` is poll slack, ``seen_done -> downloaded`` the download, ...),
    and everything after the last job's finish is the tail (analyses still running, final record).
    """
    spans = sorted(jobs.values())
    busy: list[tuple[float, float]] = []
    for s, f in spans:  # union of job spans
        if busy and s <= busy[-1][1]:
            busy[-1] = (busy[-1][0], max(busy[-1][1], f))
        else:
            busy.append((s, f))
    marks = sorted((e["t"], e["event"]) for e in events if e["event"] in CAUSES or e["event"] == "drained")
    out: dict[str, float] = defaultdict(float)
    last_finish = busy[-1][1] if busy else t0
    cursor = t0
    gaps = [(t0, busy[0][0] if busy else t_end)] + [(a[1], b[0]) for a, b in zip(busy, busy[1:])]
    for gs, ge in gaps:
        # a job just finished (or the run just began): until the runner noticed, that is poll slack
        label = "start-up (probe, first request)" if gs == t0 else "result not yet seen (poll slack)"
        cuts = [(t, ev) for t, ev in marks if gs < t < ge]
        if gs != t0:
            seen = [i for i, (t, ev) in enumerate(cuts) if ev == "seen_done"]
            if not seen:  # the finish was seen before the gap began (submit-ahead): no slack stretch
                label = "server pickup"
        cursor = gs
        for t, ev in cuts:
            out[label] += t - cursor
            cursor = t
            label = CAUSES.get(ev, "hand-off: analysis inline / record") if ev != "drained" else \
                "preparing next request (source, metas)"
        out[label] += ge - cursor
    tail_seen = [t for t, ev in marks if ev == "seen_done" and t >= last_finish]
    if busy:
        seen_at = min(tail_seen) if tail_seen else last_finish
        out["tail: last result seen + downloaded"] += max(0.0, min(seen_at, t_end) - last_finish)
        out["tail: analyses after the last generation"] += max(0.0, t_end - max(seen_at, last_finish))
    return dict(out)


def _run(url: str, out: Path, workers: int | None, submit_ahead: int | None) -> dict[str, Any]:
    """One default-matrix run into ``out``: wall, busy, cases, failed, trace events."""
    from acekit.matrix.runner import parse_server, run_matrix
    from acekit.matrix.spec import load_spec
    from acekit.matrix.store import RunStore

    spec, text = load_spec(None)
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {} if submit_ahead is None else {"submit_ahead": submit_ahead}
    t0 = time.time()
    summary = run_matrix(spec, text, [parse_server(f"ref={url}")], out_dir=out, progress=False,
                         analysis_workers=workers, trace=events.append, **kwargs)
    t_end = time.time()
    records = RunStore(out / spec.name).latest().values()
    busy = sum(r.server_job_s or 0.0 for r in records)
    return {"wall": t_end - t0, "busy": busy, "ran": summary.ran, "failed": summary.failed, "events": events,
            "t0": t0, "t_end": t_end}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job-seconds", default="2:4", help="the reference backend's simulated job time, MIN:MAX")
    parser.add_argument("--no-inline", action="store_true", help="skip the old-way run (inline analysis, no submit-ahead)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each setting (the machine is shared: spread)")
    parser.add_argument("--no-breakdown", action="store_true", help="do not print where the backend idled")
    args = parser.parse_args(argv)

    from acekit.matrix.analysis_pool import default_workers
    from acekit.reference.launch import running_reference_server

    settings = [("default", None, None)] + ([] if args.no_inline else [("inline, no submit-ahead", 0, 0)])
    print(f"default matrix vs the reference backend with --job-seconds {args.job_seconds}; "
          f"analysis workers by default: {default_workers()}")
    print(f"{'setting':<26} {'cases':>5} {'failed':>6} {'wall s':>8} {'busy s':>8} {'wall/busy':>9} "
          f"{'/log busy':>9} {'/compute+render':>15}")
    ratios: dict[str, list[float]] = defaultdict(list)
    breakdowns: dict[str, list[dict[str, float]]] = defaultdict(list)
    for _ in range(args.repeat):
        for label, workers, ahead in settings:
            with ExitStack() as stack:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acekit-matrix-bench-")))
                log = tmp / "ref.log"
                url = stack.enter_context(running_reference_server(
                    "--output-dir", str(tmp / "server"), "--job-seconds", args.job_seconds, log_path=log))
                r = _run(url, tmp / "runs", workers, ahead)
                log_text = log.read_text(errors="replace")
                jobs = server_jobs(log_text)
            lo, _, hi = args.job_seconds.partition(":")
            old_busy = compute_and_render_s(log_text, (float(lo), float(hi or lo)))
            log_busy = busy_union_s(jobs)
            ratio = r["wall"] / r["busy"] if r["busy"] else float("nan")
            ratios[label].append(ratio)
            ratios[label + " (/log busy)"].append(r["wall"] / log_busy if log_busy else float("nan"))
            ratios[label + " (/compute+render)"].append(r["wall"] / old_busy if old_busy else float("nan"))
            spans = sum(f - s for s, f in jobs.values())
            bd = idle_breakdown(r["events"], jobs, r["t0"], r["t_end"])
            bd["(job log span beyond reported busy)"] = spans - r["busy"]
            breakdowns[label].append({k: v / r["busy"] for k, v in bd.items()})
            print(f"{label:<26} {r['ran']:>5} {r['failed']:>6} {r['wall']:>8.1f} {r['busy']:>8.1f} {ratio:>9.2f} "
                  f"{r['wall'] / log_busy:>9.2f} {r['wall'] / old_busy:>15.2f}", flush=True)
            if not args.no_breakdown:
                for cause, secs in sorted(bd.items(), key=lambda kv: -kv[1]):
                    if abs(secs) >= 0.05:
                        print(f"    {cause:<46} {secs:>6.1f} s  {secs / r['busy']:>+6.3f} x busy")
    for label, values in ratios.items():
        if len(values) > 1:
            print(f"{label}: wall/busy median {statistics.median(values):.2f}, min {min(values):.2f}, "
                  f"max {max(values):.2f} over {len(values)} runs")
            if label not in breakdowns:
                continue
            causes = {k for b in breakdowns[label] for k in b}
            for cause in sorted(causes, key=lambda c: -statistics.median(b.get(c, 0.0) for b in breakdowns[label])):
                med = statistics.median(b.get(cause, 0.0) for b in breakdowns[label])
                if abs(med) >= 0.002:
                    print(f"    {cause:<46} median {med:+.3f} x busy")
    print("target (issue 8): wall/busy <= 1.15 with the default settings")


if __name__ == "__main__":
    main()
