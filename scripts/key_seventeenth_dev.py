"""Key, seventeenth pass (notes/key-seventeenth-pass.md): the dev figures of the shipped design, of the combined
design's three declared candidates, of the network alone and of a textbook naive estimator, on the same clips.

    PYTHONPATH=src nice -n 10 .venv/bin/python scripts/key_seventeenth_dev.py dump /tmp/rendered OUT.pkl [--splits ...]
    PYTHONPATH=/work/main/src .venv/bin/python scripts/key_seventeenth_dev.py check OUT.pkl /tmp/rendered CHECK.pkl
    PYTHONPATH=src .venv/bin/python scripts/key_seventeenth_dev.py score OUT.pkl ... [--check CHECK.pkl] [--out T.md]

``dump``: every song and tempo clip of the dev splits (an explicit allow-list; holdout16 and the recordings are
refused), read as `analyze_audio` reads it (its channel choice, `Thresholds`' key thresholds); per clip the logit
model's and the network's 24 log-probabilities, the KK+T correlations, the profile estimator's reading and flag (as
`analyze_key` computes them from the same chroma frames) and a naive key (librosa ``chroma_cqt`` averaged over the
clip, the Krumhansl-Kessler profile with the best Pearson correlation: a reading of issue 11's "naive
chroma+profile estimator"). ``check``: main's own `analyze_key` (run with main's src on the path) on every fifth
dumped clip, to prove that the alpha = 1 row is the shipped design. ``score``: per split and pooled: MIREX, minor
MIREX, wrong, wrong unflagged, right flagged, right unflagged; the declared dev criterion.
Not used by acekit itself.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np

from key_sixteenth_dev import figures  # the same per-design figures as the sixteenth pass's table

DEV = ("calibrate", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
       "holdout9", "holdout10", "holdout11", "holdout12", "holdout13", "holdout14", "holdout15")
REFUSED = ("holdout16", "recordings")
CANDIDATES = (0.25, 0.5, 0.75)
# Krumhansl & Kessler (1982) probe-tone ratings, C major and C minor
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def naive_key(y: np.ndarray, sr: int) -> str | None:
    """The textbook estimator: mean librosa CQT chroma, correlated with the 24 rotated KK profiles."""
    import librosa

    if not np.any(y):
        return None
    c = librosa.feature.chroma_cqt(y=np.asarray(y, dtype=np.float32), sr=sr).mean(axis=1)
    if not c.any():
        return None
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    best = max(((np.corrcoef(c, np.roll(prof, t))[0, 1], f"{names[t]} {mode}")
                for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)) for t in range(12)))
    return best[1]


def _clips(parent: str, splits: tuple[str, ...], allowed: tuple[str, ...] = DEV, refused: tuple[str, ...] = REFUSED):
    from acekit.analysis.audio import finite, load_audio
    from acekit.analysis.clip import Thresholds, analysis_channel
    from acekit.calibration import build_calibration_set
    from acekit.calibration.build import content_hash

    assert (Path(parent) / content_hash() / "manifest.json").is_file(), "the rendered set is not complete"
    th = Thresholds()
    cal = build_calibration_set(parent, workers=1)
    for split in splits:
        assert split in allowed and split not in refused, split
        for c in cal.of_kind("song", "tempo", split=split):
            assert c.split == split and c.split not in refused
            y, sr = load_audio(cal.path(c), mono=False)
            mono, _channel = analysis_channel(np.asarray(y, dtype=np.float32), th)  # analyze_audio's choice
            yield c, finite(mono), sr, th


def dump(parent: str, out: str, splits: tuple[str, ...], allowed: tuple[str, ...] = DEV,
         refused: tuple[str, ...] = REFUSED) -> None:
    from acekit.analysis import key as keymod
    from acekit.analysis import keynet

    rows = []
    for c, clean, sr, th in _clips(parent, splits, allowed, refused):
        fr = keymod._frames(clean, sr)
        d = {"id": c.id, "split": c.split, "truth": c.truth.key, "duration": clean.size / sr, "model": None,
             "net": None, "corr": None}
        pcp, cents = (keymod._profile_chroma(fr), fr.cents) if fr is not None else (np.zeros(12), 0.0)
        prof = keymod._scored(keymod._by_profiles(clean, sr, pcp, cents, ambiguous_strength=th.ambiguous_strength,
                                                  ambiguous_margin=th.key_ambiguous_margin,
                                                  min_duration_s=th.key_min_duration_s), c.truth.key)
        d["profiles"] = {"key": prof.key, "ambiguous": prof.ambiguous, "mirex": prof.mirex_score}
        if fr is not None:
            corr = keymod.key_correlations(fr.hpcp.mean(axis=0))
            d["corr"] = corr
            if corr.any():
                d["model"] = keymod.key_log_probabilities(keymod.cue_vectors(fr), corr)
            if fr.pitch is not None:
                p = keynet.default_net().key_probabilities(fr.pitch)
                d["net"] = None if p is None else np.log(np.maximum(p, 1e-300))
        d["naive"] = naive_key(clean, sr)
        rows.append(d)
        print(c.split, c.id, file=sys.stderr, flush=True)
    with open(out + ".tmp", "wb") as fh:
        pickle.dump(rows, fh)
    Path(out + ".tmp").replace(out)


def check(dev: str, parent: str, out: str) -> None:
    """main's analyze_key on every fifth dumped clip (run with main's src first on the path)."""
    from acekit.analysis import key as keymod

    assert not hasattr(keymod, "combined_log_probabilities"), "run check with main's src on PYTHONPATH"
    rows = pickle.load(open(dev, "rb"))
    want = {d["id"] for d in rows[::5]}
    splits = tuple(dict.fromkeys(d["split"] for d in rows))
    got = {}
    for c, clean, sr, th in _clips(parent, splits):
        if c.id not in want:
            continue
        r = keymod.analyze_key(clean, sr, target_key=c.truth.key, ambiguous_strength=th.ambiguous_strength,
                               ambiguous_margin=th.key_ambiguous_margin, min_duration_s=th.key_min_duration_s)
        got[c.id] = {"key": r.key, "ambiguous": r.ambiguous, "mirex": r.mirex_score}
    with open(out, "wb") as fh:
        pickle.dump(got, fh)


def design_rows(rows: list[dict], alpha: float) -> list[dict]:
    """The combined design's reading of each dumped clip, as the wired `analyze_key` reads it (alpha = 1: the
    shipped logit model; alpha = 0: the network alone), with the fourteenth pass's flag."""
    from acekit.analysis.clip import Thresholds
    from acekit.analysis.key import _SCORES, _key_of, _unjudgeable, key_relation
    from acekit.keys import parse_key

    th = Thresholds()
    out = []
    for d in rows:
        key, strength = None, 0.0
        if d["model"] is not None and d["net"] is not None:
            s = alpha * d["model"] + (1 - alpha) * d["net"] if 0 < alpha < 1 else (d["model"] if alpha == 1 else d["net"])
            k = int(np.argmax(s))
            key, strength = _key_of(k), float(d["corr"][k])
        prof = d["profiles"]
        why = _unjudgeable(key, d["duration"], strength, min_duration_s=th.key_min_duration_s,
                           ambiguous_strength=th.ambiguous_strength)
        if why is None and prof["ambiguous"]:
            why = "profiles flag"
        elif why is None and key_relation(key, parse_key(prof["key"])) != "same":
            why = "disagree"
        truth = parse_key(d["truth"])
        mirex = 0.0 if key is None else _SCORES[key_relation(truth, key)]
        out.append({"split": d["split"], "id": d["id"], "truth": d["truth"], "key": key.canonical if key else None,
                    "mirex": mirex, "ambiguous": why is not None})
    return out


def naive_rows(rows: list[dict]) -> list[dict]:
    from acekit.analysis.key import _SCORES, key_relation
    from acekit.keys import parse_key

    return [{"split": d["split"], "id": d["id"], "truth": d["truth"], "key": d["naive"],
             "mirex": 0.0 if d["naive"] is None else _SCORES[key_relation(parse_key(d["truth"]), parse_key(d["naive"]))],
             "ambiguous": False} for d in rows]


def score(devs: list[str], check_path: str | None, out: str | None) -> None:
    rows = [d for p in devs for d in pickle.load(open(p, "rb"))]
    assert all(d["split"] in DEV and d["split"] not in REFUSED for d in rows)
    assert len({d["id"] for d in rows}) == len(rows)
    designs = {"shipped (alpha 1)": design_rows(rows, 1.0)}
    if check_path:  # the alpha = 1 row must be main's analyze_key
        got = pickle.load(open(check_path, "rb"))
        mine = {r["id"]: r for r in designs["shipped (alpha 1)"]}
        bad = [i for i, g in got.items() if (g["key"], g["ambiguous"], g["mirex"]) !=
               (mine[i]["key"], mine[i]["ambiguous"], mine[i]["mirex"])]
        print(f"check: main's analyze_key on {len(got)} clips; alpha = 1 differs on {len(bad)}: {bad[:5]}")
        assert not bad
    for a in CANDIDATES:
        designs[f"alpha {a}"] = design_rows(rows, a)
    designs["network alone (alpha 0)"] = design_rows(rows, 0.0)
    designs["naive (chroma_cqt + KK)"] = naive_rows(rows)
    lines = ["| split | clips (minor) | design | MIREX (clip sum) | minor | wrong | wrong unflagged | right flagged | "
             "right unflagged |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    splits = [s for s in DEV if any(d["split"] == s for d in rows)]
    pooled = {}
    for split in splits + ["pooled"]:
        for name, rs in designs.items():
            sel = [r for r in rs if split == "pooled" or r["split"] == split]
            f = figures(sel)
            if split == "pooled":
                pooled[name] = f
            lines.append(f"| {split} | {f['n']} ({f['n_minor']}) | {name} | {f['mirex']:.3f} ({f['sum']:.1f}) | "
                         f"{f['minor']:.3f} | {f['wrong']} | {f['wrong_unflagged']} | {f['right_flagged']} | "
                         f"{f['right_unflagged']} |")
    s = pooled["shipped (alpha 1)"]
    lines += ["", "Dev criterion (pooled): MIREX > shipped, wrong unflagged <= shipped, minor >= shipped, "
              "right unflagged >= shipped - 4"]
    holding = []
    for a in CANDIDATES:
        f = pooled[f"alpha {a}"]
        ok = (f["mirex"] > s["mirex"], f["wrong_unflagged"] <= s["wrong_unflagged"], f["minor"] >= s["minor"],
              f["right_unflagged"] >= s["right_unflagged"] - 4)
        lines.append(f"- alpha {a}: {'HOLDS' if all(ok) else 'fails'} {ok}")
        if all(ok):
            holding.append((-f["mirex"], f["wrong_unflagged"], abs(a - 0.5), a))
    lines.append(f"- chosen: alpha {min(holding)[3]}" if holding else "- chosen: none (no freeze, no blind evaluation)")
    text = "\n".join(lines)
    print(text)
    if out:
        Path(out).write_text(text + "\n")


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("parent")
    d.add_argument("out")
    d.add_argument("--splits", nargs="+", default=list(DEV))
    c = sub.add_parser("check")
    c.add_argument("dev")
    c.add_argument("parent")
    c.add_argument("out")
    s = sub.add_parser("score")
    s.add_argument("dev", nargs="+")
    s.add_argument("--check")
    s.add_argument("--out")
    a = ap.parse_args()
    if a.cmd == "dump":
        dump(a.parent, a.out, tuple(a.splits))
    elif a.cmd == "check":
        check(a.dev, a.parent, a.out)
    else:
        score(a.dev, a.check, a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
