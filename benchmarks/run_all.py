"""Run every benchmark in benchmarks/ that defines a top-level ``main()``; each prints its own figures.

Each benchmark runs in its own Python process (``main()`` called with no command-line arguments, so
its defaults apply), one after the other so they do not compete for the CPU. One failing benchmark
does not stop the others; the exit status is non-zero if any failed.

Usage::

    .venv/bin/python -m benchmarks.run_all              # all of them (what `make bench` runs)
    .venv/bin/python -m benchmarks.run_all --list
    .venv/bin/python -m benchmarks.run_all roundtrip    # only the named ones
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_SELF = Path(__file__).stem


def defines_main(path: Path) -> bool:
    """Whether the module has a top-level ``def main`` (read from its source: nothing is imported)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "main"
               for node in tree.body)


def discover(folder: Path = HERE) -> list[str]:
    """Module names (``roundtrip``, ...) of the benchmarks in ``folder``, sorted."""
    return sorted(p.stem for p in folder.glob("*.py")
                  if not p.name.startswith("_") and p.stem != _SELF and defines_main(p))


def run_one(name: str, *, timeout_s: float) -> tuple[int, float]:
    """Run ``benchmarks.<name>.main()`` in a child process, its output streaming through; (exit code, seconds)."""
    # A main() returning an int is taken as its exit status; a coroutine main() is run to completion.
    code = (f"import sys; sys.argv = ['benchmarks.{name}']; "
            f"from benchmarks.{name} import main; import asyncio, inspect; "
            "r = main(); r = asyncio.run(r) if inspect.isawaitable(r) else r; "
            "sys.exit(r if isinstance(r, int) else 0)")
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-c", code], cwd=HERE.parent, timeout=timeout_s)
        rc = proc.returncode
    except subprocess.TimeoutExpired:
        print(f"benchmarks.{name} ran past {timeout_s:g} s and was stopped: run it alone to see why", flush=True)
        rc = 124
    return rc, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="only these benchmarks (module names, e.g. roundtrip)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("--timeout-s", type=float, default=1800.0, help="per benchmark")
    args = parser.parse_args(argv)

    found = discover()
    if args.list:
        print("\n".join(found))
        return 0
    unknown = [n for n in args.names if n not in found]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}: choose from {', '.join(found)}")
    names = args.names or found
    if not names:
        print("no benchmarks found (a benchmark is a module in benchmarks/ with a top-level main())")
        return 0

    outcomes: list[tuple[str, int, float]] = []
    for name in names:
        print(f"\n=== benchmarks.{name} ===", flush=True)
        rc, seconds = run_one(name, timeout_s=args.timeout_s)
        outcomes.append((name, rc, seconds))

    print("\n=== summary ===")
    for name, rc, seconds in outcomes:
        print(f"{name:<24} {'ok' if rc == 0 else f'FAILED (exit {rc})':<16} {seconds:7.1f} s")
    return 1 if any(rc for _, rc, _ in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
