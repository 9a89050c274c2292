"""Matrix wall time against the server's busy time, on GPU-like jobs: does the backend ever wait for us?

Runs the default matrix against the reference backend slowed to GPU-like jobs
(``serve-reference --job-seconds 2:4``: every job takes 2-4 s of simulated compute, plus its real
render), once with clips analysed in worker processes while the next case generates (the default)
and once with analysis inline (the old behaviour), one after the other on the same machine.

busy = the sum of the server's job times the records carry (simulated compute + render, from
each result's generation_info); wall = the matrix run. Target (issue 8): wall <= 1.15 x busy with
the default settings.

Usage::

    .venv/bin/python -m benchmarks.matrix_pipeline
    .venv/bin/python -m benchmarks.matrix_pipeline --job-seconds 2:4 --no-inline
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path


def _run(url: str, out: Path, workers: int | None) -> tuple[float, float, int, int]:
    """(wall s, busy s, cases, failed) of the default matrix into ``out``."""
    from acekit.matrix.runner import parse_server, run_matrix
    from acekit.matrix.spec import load_spec
    from acekit.matrix.store import RunStore

    spec, text = load_spec(None)
    t0 = time.monotonic()
    summary = run_matrix(spec, text, [parse_server(f"ref={url}")], out_dir=out, progress=False,
                         analysis_workers=workers)
    wall = time.monotonic() - t0
    records = RunStore(out / spec.name).latest().values()
    busy = sum(r.server_job_s or 0.0 for r in records)
    return wall, busy, summary.ran, summary.failed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--job-seconds", default="2:4", help="the reference backend's simulated job time, MIN:MAX")
    parser.add_argument("--no-inline", action="store_true", help="skip the inline-analysis run (the old way)")
    args = parser.parse_args(argv)

    from acekit.matrix.analysis_pool import default_workers
    from acekit.reference.launch import running_reference_server

    runs = [("pipelined (default)", None)] + ([] if args.no_inline else [("inline analysis (before)", 0)])
    print(f"default matrix vs the reference backend with --job-seconds {args.job_seconds}; "
          f"analysis workers by default: {default_workers()}")
    print(f"{'analysis':<26} {'cases':>5} {'failed':>6} {'wall s':>8} {'busy s':>8} {'wall/busy':>9}")
    for label, workers in runs:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="acekit-matrix-bench-")))
            url = stack.enter_context(running_reference_server(
                "--output-dir", str(tmp / "server"), "--job-seconds", args.job_seconds, log_path=tmp / "ref.log"))
            wall, busy, ran, failed = _run(url, tmp / "runs", workers)
        print(f"{label:<26} {ran:>5} {failed:>6} {wall:>8.1f} {busy:>8.1f} {wall / busy if busy else float('nan'):>9.2f}")
    print("target (issue 8): wall/busy <= 1.15 with the default settings")


if __name__ == "__main__":
    main()
