"""Tempo, thirteenth pass: train the pulse network (PyTorch, CPU; a training tool, never an acekit dependency) and
export its weights for the numpy forward (acekit.analysis.beatnet; scripts/tempo_thirteenth_beatnet.py re-exports it).

    /tmp/tempo13/venv/bin/python scripts/tempo_thirteenth_net.py train /tmp/tempo13/train.pkl /tmp/tempo13/net.pt
    /tmp/tempo13/venv/bin/python scripts/tempo_thirteenth_net.py export /tmp/tempo13/net.pt OUT.npz
    /tmp/tempo13/venv/bin/python scripts/tempo_thirteenth_net.py check /tmp/tempo13/net.pt   # torch vs numpy

The recipe is fixed in the notes' declaration: Adam, lr 2e-3, batches of 16 clips cropped to the shortest clip of the
batch (at most 500 frames, 10 s), random offsets, loss = beat BCE (targets 1 on the beat frame, 0.5 on its two
neighbours) + tempo cross-entropy (soft target: a Gaussian of 1 class, 2 %, around the notated pulse), dropout 0.1,
seed 13, 60 epochs or 12 minutes of training wall clock, whichever comes first; the last epoch's weights.
This file does not import acekit; its constants mirror acekit.analysis.beatnet (checked by ``check``).
"""
from __future__ import annotations

import pickle
import sys
import time

import numpy as np
import torch
from torch import nn

FPS = 22050 / 441
N_IN = 96
FILTERS, KERNEL, DILATIONS = 20, 5, (1, 2, 4, 8, 16, 32, 64, 128)
TEMPO_BPM = 30.0 * 1.02 ** np.arange(117)
HIDDEN = 32
CROP, BATCH, LR, EPOCHS, MINUTES, SEED = 500, 16, 2e-3, 60, 12.0, 13


class Block(nn.Module):
    def __init__(self, d: int):
        super().__init__()
        self.dil = nn.Conv1d(FILTERS, FILTERS, KERNEL, dilation=d, padding=(KERNEL - 1) // 2 * d)
        self.mix = nn.Conv1d(FILTERS, FILTERS, 1)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        h = self.mix(self.drop(nn.functional.elu(self.dil(x))))
        return x + h, h


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("in_mean", torch.zeros(N_IN))
        self.register_buffer("in_scale", torch.ones(N_IN))
        self.conv_in = nn.Conv1d(N_IN, FILTERS, 3, padding=1)
        self.blocks = nn.ModuleList(Block(d) for d in DILATIONS)
        self.beat = nn.Conv1d(FILTERS, 1, 1)
        self.tempo_hidden = nn.Linear(FILTERS, HIDDEN)
        self.tempo_out = nn.Linear(HIDDEN, len(TEMPO_BPM))

    def forward(self, x):  # x: (B, T, N_IN)
        x = ((x - self.in_mean) / self.in_scale).transpose(1, 2)
        x = nn.functional.elu(self.conv_in(x))
        skip = 0
        for b in self.blocks:
            x, h = b(x)
            skip = skip + h
        beat = self.beat(nn.functional.elu(x))[:, 0]
        g = nn.functional.elu(skip).mean(dim=2)
        return beat, self.tempo_out(nn.functional.elu(self.tempo_hidden(g)))


def targets(row) -> tuple[np.ndarray, np.ndarray]:
    n = len(row["feats"])
    b = np.zeros(n, np.float32)
    for t in row["beats"]:
        k = int(round(t * FPS))
        for j, v in ((k - 1, 0.5), (k + 1, 0.5), (k, 1.0)):
            if 0 <= j < n:
                b[j] = max(b[j], v)
    z = (np.log(TEMPO_BPM) - np.log(row["pulse_bpm"])) / np.log(1.02)
    tp = np.exp(-0.5 * z * z)
    return b, (tp / tp.sum()).astype(np.float32)


def train(data: str, out: str) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)  # on a shared 2-core machine one thread trains ~20x faster than two (measured)
    rng = np.random.default_rng(SEED)
    rows = pickle.load(open(data, "rb"))
    # a clip whose pulse lies outside the head's classes (generated 2/2 songs at 57-60 quarter-BPM: half notes at
    # 28-30) cannot be labelled: left out, counted
    keep = [r for r in rows if len(r["feats"]) >= 100 and TEMPO_BPM[0] <= r["pulse_bpm"] <= TEMPO_BPM[-1]]
    print(f"{len(rows) - len(keep)} clips left out (pulse outside {TEMPO_BPM[0]:.0f}-{TEMPO_BPM[-1]:.0f} BPM or "
          "under 2 s)", flush=True)
    rows = keep
    X = [r["feats"].astype(np.float32) for r in rows]
    Y = [targets(r) for r in rows]
    allx = np.concatenate(X)
    net = Net()
    net.in_mean[:] = torch.from_numpy(allx.mean(axis=0))
    net.in_scale[:] = torch.from_numpy(allx.std(axis=0) + 1e-3)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    bce = nn.BCEWithLogitsLoss()
    t0 = time.time()
    print(f"{len(rows)} clips, {sum(map(len, X))} frames, {sum(p.numel() for p in net.parameters())} parameters",
          flush=True)
    for ep in range(EPOCHS):
        net.train()
        order = rng.permutation(len(rows))
        tot, nb = 0.0, 0
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            L = min(CROP, min(len(X[i]) for i in idx))
            xb, bb, tb = [], [], []
            for i in idx:
                o = int(rng.integers(0, len(X[i]) - L + 1))
                xb.append(X[i][o:o + L])
                bb.append(Y[i][0][o:o + L])
                tb.append(Y[i][1])
            xb, bb, tb = (torch.from_numpy(np.stack(a)) for a in (xb, bb, tb))
            beat, logits = net(xb)
            loss = bce(beat, bb) - (tb * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach())
            nb += 1
        el = (time.time() - t0) / 60
        print(f"epoch {ep + 1} loss {tot / nb:.4f} {el:.1f} min", flush=True)
        torch.save(net.state_dict(), out)
        if el >= MINUTES:
            break
    # training-set pulse accuracy (top class within 4 %), a sanity figure only
    net.eval()
    right = 0
    with torch.no_grad():
        for x, r in zip(X, rows):
            _b, lg = net(torch.from_numpy(x)[None])
            right += abs(TEMPO_BPM[int(lg.argmax())] / r["pulse_bpm"] - 1) <= 0.04
    print(f"training clips: top tempo class within 4 % of the pulse on {right}/{len(rows)}", flush=True)


def export(pt: str, out: str) -> None:
    """The weights (torch names, float32) and, under check_*, the torch forward of the fixed check input (seeded noise,
    600 frames: `check_input`), which tests/test_analysis_units.py compares with the numpy forward (torch is no CI
    dependency)."""
    sd = torch.load(pt)
    net = Net()
    net.load_state_dict(sd)
    net.eval()
    with torch.no_grad():
        b, lg = net(torch.from_numpy(check_input())[None])
    np.savez(out, **{k: v.numpy().astype(np.float32) for k, v in sd.items()},
             check_beat=torch.sigmoid(b[0]).numpy().astype(np.float32),
             check_tempo=torch.softmax(lg[0], 0).numpy().astype(np.float32))


def check_input() -> np.ndarray:
    return np.random.default_rng(0).normal(1.0, 1.0, (600, N_IN)).astype(np.float32)


def check(pt: str) -> None:
    """torch forward against the numpy forward on a fixed input (seeded noise, 600 frames)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("beatnet", "src/acekit/analysis/beatnet.py")
    B = importlib.util.module_from_spec(spec)  # numpy only: loaded by path, without acekit's package (not in this venv)
    spec.loader.exec_module(B)
    assert np.allclose(B.TEMPO_BPM, TEMPO_BPM) and B.DILATIONS == DILATIONS and B.FILTERS == FILTERS

    net = Net()
    net.load_state_dict(torch.load(pt))
    net.eval()
    x = check_input()
    with torch.no_grad():
        b, lg = net(torch.from_numpy(x)[None])
    bt, pt_ = torch.sigmoid(b[0]).numpy(), torch.softmax(lg[0], 0).numpy()
    nb, npr = B.PulseNet({k: v.numpy() for k, v in net.state_dict().items()}).forward(x)
    print(f"max |beat diff| {np.abs(bt - nb).max():.2e}, max |tempo prob diff| {np.abs(pt_ - npr).max():.2e}")


if __name__ == "__main__":
    {"train": train, "export": export, "check": lambda pt: check(pt)}[sys.argv[1]](*sys.argv[2:])
