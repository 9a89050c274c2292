"""The fit table in words: one cell per model, LM and batch (used by `acekit plan` and docs/bringup.md)."""

from __future__ import annotations

from collections.abc import Sequence

from acekit.fit.model import TableRow


def cell(row: TableRow) -> str:
    """'600 s', '240 s (offload 600 s)', 'offload 600 s' or 'no'."""
    d, off = row.max_duration_s, row.max_duration_offload_s
    if d is not None:
        return f"{d:g} s" if off is None or off <= d else f"{d:g} s (offload {off:g} s)"
    return f"offload {off:g} s" if off is not None else "no"


def grid(rows: Sequence[TableRow]) -> tuple[list[int], list[tuple[str, str, list[str]]]]:
    """(batches, [(model, lm, cells per batch)]) in the rows' order."""
    batches = sorted({r.batch for r in rows})
    out: dict[tuple[str, str], dict[int, str]] = {}
    for r in rows:
        out.setdefault((r.model, r.lm), {})[r.batch] = cell(r)
    return batches, [(m, lm, [cells.get(b, "") for b in batches]) for (m, lm), cells in out.items()]


def markdown(rows: Sequence[TableRow], *, title: str) -> str:
    """A Markdown table: longest duration that fits per model, LM and batch."""
    batches, lines = grid(rows)
    head = "| model | LM | " + " | ".join(f"batch {b}" for b in batches) + " |"
    sep = "|" + "---|" * (len(batches) + 2)
    body = [f"| {m} | {lm} | " + " | ".join(cells) + " |" for m, lm, cells in lines]
    return "\n".join([title, "", head, sep, *body]) + "\n"
