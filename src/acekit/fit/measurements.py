"""Turn peaks a matrix measured on a real box into ``[[box_peaks]]`` rows for the fit data file."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from acekit.fit.model import normalise_dtype, normalise_lm


def box_peak_rows(records: Iterable[Any], *, dtype: str, lm: str = "none", box: str) -> str:
    """TOML ``[[box_peaks]]`` rows, one per (model, batch, duration) at its highest peak among ok cases.

    ``records`` are matrix `CaseRecord`s; only cases with a measured peak count. The matrix does not
    know the server's dtype or LM, so the caller says them (as the image ran). An NVML figure is the
    device's memory in use (allocator cache and context included): at least the torch peak, so a
    replacement errs on the safe side.
    """
    dtype, lm = normalise_dtype(dtype), normalise_lm(lm)
    best: dict[tuple[str, int, float], Any] = {}
    for r in records:
        duration = r.case.get("duration_s")
        if r.status != "ok" or r.peak_gpu_memory_mb is None or not duration:
            continue
        batch = int(r.request.get("batch_size") or 1)
        key = (r.model, batch, float(duration))
        if key not in best or r.peak_gpu_memory_mb > best[key].peak_gpu_memory_mb:
            best[key] = r
    rows = []
    for (model, batch, duration), r in sorted(best.items()):
        rows.append("\n".join([
            "[[box_peaks]]", f'dtype = "{dtype}"', f'model = "{model}"', f'lm = "{lm}"', f"batch = {batch}",
            f"duration_s = {duration:g}", f"peak_gib = {r.peak_gpu_memory_mb / 1024:.2f}",
            f'source = "{box}, matrix case {r.case_id} on {r.server} ({r.memory_source})"']))
    return "\n\n".join(rows) + ("\n" if rows else "")
