"""Report plots: matplotlib figures rendered to base64 PNG (inline in the HTML).

Each function takes records (and paths where it needs audio) and returns a `Figure` or
``None`` when there is nothing to draw, so the report only shows plots that carry data.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # never needs a display
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
import numpy as np  # noqa: E402

from acekit.matrix.store import CaseRecord  # noqa: E402
from acekit.verdicts import audio_seconds, server_seconds  # noqa: E402

PALETTE = ["#2563eb", "#ea580c", "#16a34a", "#9333ea", "#db2777", "#0891b2"]
MARKERS = {"text2music": "o", "repaint": "s", "cover": "^", "lego": "D", "extract": "v", "complete": "P"}


@dataclass
class Figure:
    title: str
    caption: str
    png_b64: str
    kind: str
    mime: str = "image/png"


def _png(fig, *, dpi: int = 90, fmt: str = "png") -> str:
    buf = io.BytesIO()
    # Spectrograms are noise-like and compress badly as PNG: those go as JPEG (a fifth of the size).
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", **({"pil_kwargs": {"quality": 80}} if fmt == "jpeg" else {}))
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _style(ax, title: str, xlabel: str, ylabel: str) -> None:
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def field(record: CaseRecord, *names: str) -> float | None:
    """First numeric analysis figure among ``names`` (analysers name things slightly differently)."""
    for n in names:
        v = record.analysis.get(n)
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, (int, float)) and np.isfinite(v):
            return float(v)
    return None


MEASURED_BPM = ("tempo.estimated_bpm", "tempo.bpm", "tempo.measured_bpm", "tempo.estimate_bpm")
KEY_SCORE = ("key.score", "key.mirex_score", "key.mirex")
BEAT_OFFSET = ("beat_grid.median_abs_offset_ms", "beat_grid.median_offset_ms", "beat_grid.median_abs_ms")


def backend_colors(backends: Sequence[str]) -> dict[str, str]:
    """One colour per backend; build it once from every backend so all plots agree."""
    return {b: PALETTE[i % len(PALETTE)] for i, b in enumerate(sorted(set(backends)))}


def _colors(backends: Sequence[str], given: dict[str, str] | None) -> dict[str, str]:
    if given and all(b in given for b in backends):
        return given
    return backend_colors(backends)


def runtime_plot(records: Sequence[CaseRecord], *, colors: dict[str, str] | None = None) -> Figure | None:
    ok = [r for r in records if r.status == "ok" and server_seconds(r) is not None]
    if not ok:
        return None
    backends = sorted({r.server for r in ok})
    colors = _colors(backends, colors)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis_i, (xname, xlabel) in enumerate((("duration", "audio duration (s)"), ("steps", "inference steps"))):
        ax = axes[axis_i]
        for r in ok:
            x = audio_seconds(r) if xname == "duration" else r.case.get("steps")
            if x is None:
                continue
            jitter = (int(r.case_id, 16) % 100 - 50) / 50 * 0.01 * x  # spread identical x values a little
            ax.scatter(x + jitter, server_seconds(r), color=colors[r.server], marker=MARKERS.get(r.task, "o"),
                       alpha=0.75, s=28, edgecolors="none")
        _style(ax, f"Server time vs {xlabel.split(' (')[0]}", xlabel, "server time per clip (s)")
    handles = [plt.Line2D([], [], color=colors[b], marker="o", ls="", label=b) for b in backends]
    handles += [plt.Line2D([], [], color="#555", marker=m, ls="", label=t)
                for t, m in MARKERS.items() if any(r.task == t for r in ok)]
    axes[1].legend(handles=handles, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return Figure("Runtime", "Server job time (wall time minus queue wait when the server does not report it) "
                  "against clip duration and diffusion steps; colour = backend, marker = task.", _png(fig), "runtime")


def _grouped_bars(ax: Axes, values: dict[tuple[str, str], float], colors: dict[str, str] | None) -> list[str]:
    """One bar per (backend, task), grouped by task, a colour per backend (0 where a backend lacks the task).

    Returns the backends in drawing order.
    """
    backends = sorted({b for b, _ in values})
    tasks = sorted({t for _, t in values})
    colors = _colors(backends, colors)
    width = 0.8 / len(backends)
    for i, b in enumerate(backends):
        ax.bar(np.arange(len(tasks)) + i * width, [values.get((b, t), 0.0) for t in tasks], width,
               color=colors[b], label=b)
    ax.set_xticks(np.arange(len(tasks)) + width * (len(backends) - 1) / 2, tasks)
    return backends


def memory_plot(records: Sequence[CaseRecord], *, colors: dict[str, str] | None = None) -> Figure | None:
    peaks: dict[tuple[str, str], float] = {}
    for r in records:
        if r.status == "ok" and r.peak_gpu_memory_mb is not None:
            k = (r.server, r.task)
            peaks[k] = max(peaks.get(k, 0.0), r.peak_gpu_memory_mb)
    if not peaks:
        return None
    fig, ax = plt.subplots(figsize=(8, 3.2))
    _grouped_bars(ax, peaks, colors)
    _style(ax, "Peak GPU memory per task", "", "MB")
    ax.legend(fontsize=8, frameon=False)
    return Figure("Memory", "Highest peak GPU memory reported per task (gateway telemetry).", _png(fig), "memory")


def tempo_plot(records: Sequence[CaseRecord], *, tolerance_pct: float = 4.0,
               colors: dict[str, str] | None = None) -> Figure | None:
    # x: the pulse the meter implies (6/8 at 120 quarter-note bpm is felt at 80), else the request
    pts = [(r, field(r, "tempo.pulse_bpm") or r.case.get("bpm"), field(r, *MEASURED_BPM))
           for r in records if r.status == "ok"]
    pts = [(r, req, got) for r, req, got in pts if req and got]
    if not pts:
        return None
    backends = sorted({r.server for r, _, _ in pts})
    colors = _colors(backends, colors)
    fig, ax = plt.subplots(figsize=(5.5, 4))
    lo = min(min(p[1] for p in pts), min(p[2] for p in pts)) * 0.8
    hi = max(max(p[1] for p in pts), max(p[2] for p in pts)) * 1.15
    xs = np.linspace(lo, hi, 10)
    ax.fill_between(xs, xs * (1 - tolerance_pct / 100), xs * (1 + tolerance_pct / 100), color="#16a34a", alpha=0.15,
                    label=f"±{tolerance_pct:g} %")
    for mult, name in ((2.0, "×2"), (0.5, "×½")):
        ax.plot(xs, xs * mult, ls=":", color="#999", lw=1)
        ax.annotate(name, (xs[-1] / max(mult, 1.0) * 0.95, xs[-1] / max(mult, 1.0) * 0.95 * mult), fontsize=8,
                    color="#777")
    for r, req, got in pts:
        jitter = (int(r.case_id, 16) % 100 - 50) / 50 * 1.5
        ax.scatter(req + jitter, got, color=colors[r.server], marker=MARKERS.get(r.task, "o"), s=30, alpha=0.8,
                   edgecolors="none")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    _style(ax, "Tempo adherence", "expected pulse bpm (requested; ×2/3 in 6/8)", "measured bpm")
    handles = [plt.Line2D([], [], color=colors[b], marker="o", ls="", label=b) for b in backends]
    ax.legend(handles=handles, fontsize=8, frameon=False, loc="upper left")
    return Figure("Tempo", f"Measured vs requested tempo; the band is the ±{tolerance_pct:g} % acceptance, dotted "
                  "lines are octave errors.", _png(fig), "tempo")


def key_plot(records: Sequence[CaseRecord], *, colors: dict[str, str] | None = None) -> Figure | None:
    scores: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in records:
        s = field(r, *KEY_SCORE) if r.status == "ok" and r.case.get("key") else None
        if s is not None:
            scores[(r.server, r.task)].append(s)
    if not scores:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    backends = _grouped_bars(ax, {k: float(np.mean(v)) for k, v in scores.items()}, colors)
    ax.set_ylim(0, 1.3)  # headroom so the legend never sits on a bar
    ax.set_yticks([0, 0.2, 0.3, 0.5, 1.0])
    _style(ax, "Key adherence (mean MIREX score)", "", "score (1 = exact)")
    ax.legend(fontsize=8, frameon=False, loc="upper center", ncol=max(1, len(backends)))
    return Figure("Key", "MIREX key score of the estimated key against the requested one: 1 same, 0.5 fifth, "
                  "0.3 relative, 0.2 parallel.", _png(fig), "key")


def beat_offset_plot(records: Sequence[CaseRecord]) -> Figure | None:
    groups: dict[str, list[float]] = defaultdict(list)
    for r in records:
        v = field(r, *BEAT_OFFSET) if r.status == "ok" else None
        if v is not None:
            groups[f"{r.server}\n{r.task}"].append(v)
    if not groups:
        return None
    labels = sorted(groups)
    fig, ax = plt.subplots(figsize=(max(5, 1.1 * len(labels)), 3.4))
    ax.boxplot([groups[k] for k in labels], tick_labels=labels, showfliers=True)
    ax.axhline(30, color="#dc2626", ls="--", lw=1)
    ax.annotate("±30 ms", (0.55, 31), fontsize=8, color="#dc2626")
    _style(ax, "Beat-grid offsets", "", "median |offset| to fitted grid (ms)")
    ax.tick_params(axis="x", labelsize=8)
    return Figure("Beat grid", "Per clip, the median absolute distance of detected beats to the requested-bpm grid "
                  "(phase fitted).", _png(fig), "beat_grid")


def repaint_boundary_plot(record: CaseRecord, audio: Path, *, window_s: float = 2.5) -> Figure | None:
    """Spectrograms of ±window_s around both repaint boundaries of one clip."""
    start, end = record.case.get("repaint_start_s"), record.case.get("repaint_end_s")
    if start is None or end is None or not audio.exists():
        return None
    try:
        import soundfile as sf

        data, sr = sf.read(str(audio), always_2d=True, dtype="float32")
    except Exception:  # an unreadable file only costs the plot
        return None
    mono = data.mean(axis=1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 2.8), sharey=True)
    for ax, t, name in ((axes[0], start, "start"), (axes[1], end, "end")):
        a, b = int(max(t - window_s, 0) * sr), int(min(t + window_s, len(mono) / sr) * sr)
        seg = mono[a:b]
        if len(seg) < 1024:
            ax.set_visible(False)
            continue
        ax.specgram(seg, NFFT=1024, Fs=sr, noverlap=768, cmap="magma", xextent=(a / sr, b / sr),
                    vmin=-120, vmax=-20)
        ax.axvline(t, color="#22d3ee", lw=1.5, ls="--")
        ax.set_ylim(0, min(sr / 2, 12000))
        i = 0 if name == "start" else 1
        score = field(record, f"boundaries.boundaries.{i}.artifact_score")  # judged against the source
        reasons = record.analysis.get(f"boundaries.boundaries.{i}.reasons") or []
        z = field(record, f"boundaries.boundaries.{i}.click_z", f"boundaries.{name}.click_z")
        note = (f" (score {score:.2f}{': ' + ', '.join(reasons) if reasons else ''})" if score is not None
                else f" (z = {z:.1f})" if z is not None else "")
        _style(ax, f"{name} boundary at {t:g} s{note}", "time (s)", "Hz" if name == "start" else "")
        ax.grid(False)
    caption = ("Spectrogram around the repainted region's edges (dashed). A hard splice shows as a vertical "
               "line through all frequencies; a score above 1 is an edge the output breaks and the source does not.")
    worst = field(record, "preservation.outside.worst_mel_distance_db")
    snr = field(record, "preservation.outside.worst_snr_db")
    if worst is not None:
        caption += (f" Outside the region, the worst 1 s window differs from the source by {worst:.1f} dB (log-mel)"
                    + (f", SNR {snr:.1f} dB." if snr is not None else "."))
    return Figure(f"Repaint boundaries · {record.server} · {record.label or record.case_id}",
                  caption, _png(fig, dpi=80, fmt="jpeg"), "repaint", "image/jpeg")
