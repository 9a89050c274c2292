"""Key, sixteenth pass: train the key network (PyTorch, CPU; a training tool, never an acekit dependency) and export
its weights for the numpy forward (acekit.analysis.keynet).

    /tmp/key16/venv/bin/python scripts/key_sixteenth_net.py train /tmp/key16/train.pkl /tmp/key16/net   # -> net/epNN.pt
    /tmp/key16/venv/bin/python scripts/key_sixteenth_net.py export /tmp/key16/net/epNN.pt OUT.npz
    /tmp/key16/venv/bin/python scripts/key_sixteenth_net.py check /tmp/key16/net/epNN.pt   # torch vs numpy

The recipe is fixed in the notes' declaration (notes/key-sixteenth-pass.md): one thread, seed 16, Adam lr 2e-3, no
weight decay, no dropout, batches of 16 whole clips padded to the longest (padded blocks zeroed after every layer and
masked out of the attention), cross-entropy on 24 classes, a new order each epoch, at most 60 epochs or 12 minutes of
training wall clock; every epoch's weights kept. The input is keynet's (pitch_roll -> net_input), computed here by
acekit.analysis.keynet itself (loaded by path: numpy only).
"""
from __future__ import annotations

import importlib.util
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

_spec = importlib.util.spec_from_file_location("keynet", Path(__file__).parents[1] / "src/acekit/analysis/keynet.py")
K = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(K)

BATCH, LR, EPOCHS, MINUTES, SEED = 16, 2e-3, 60, 12.0, 16
if __name__ == "__main__" and len(sys.argv) > 4 and sys.argv[1] == "train":  # a smoke test only: epochs
    EPOCHS = int(sys.argv.pop())
NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#", "Cb": "B", "Fb": "E", "E#": "F", "B#": "C"}


def key_index(key: str) -> int:
    tonic, mode = key.split()
    tonic = FLAT.get(tonic, tonic)
    return NAMES.index(tonic) + (12 if mode == "minor" else 0)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("in_mu", torch.tensor(0.0))
        self.register_buffer("in_sigma", torch.tensor(1.0))
        self.c1 = nn.Conv2d(2, K.C1, (3, 7))
        self.c2 = nn.Conv2d(K.C1, K.C1, (3, 7))
        self.c3 = nn.Conv2d(K.C1, K.C1, (3, 7))
        self.c4 = nn.Conv2d(K.C1, K.C4, (3, 12))
        self.c5 = nn.Conv2d(K.C4, 2, (1, 12))
        self.att = nn.Linear(K.C4, 1)

    @staticmethod
    def _circ(x, kt):
        x = torch.cat([x[..., 6:], x, x[..., :5]], dim=3)
        return F.pad(x, (0, 0, (kt - 1) // 2, kt // 2))

    def forward(self, x, mask):  # x: (B, 2, T, 72) standardised input planes, mask: (B, T) 1 on real blocks
        m = mask[:, None, :, None]
        h = x * m
        for c in (self.c1, self.c2, self.c3):
            h = F.elu(c(F.pad(h, (3, 3, 1, 1)))) * m
        b, ch, t, _p = h.shape
        h = h.reshape(b, ch, t, 6, 12).mean(dim=3)
        h4 = F.elu(self.c4(self._circ(h, 3))) * m
        z = self.c5(self._circ(h4, 1))  # (B, 2, T, 12)
        a = self.att(h4.mean(dim=3).transpose(1, 2))[..., 0]  # (B, T)
        a = a.masked_fill(mask == 0, float("-inf"))
        w = torch.softmax(a, dim=1)
        return (z * w[:, None, :, None]).sum(dim=2).reshape(b, 24)


def inputs(rows, mu, sigma):
    out = []
    for r in rows:
        x = K.net_input(r["roll"], mu, sigma)
        out.append(x)
    return out


def scaled(roll):
    r = np.asarray(roll, np.float32)
    return np.log1p(K.GAIN * r / np.float32(r.max()))


def train(data: str, outdir: str) -> None:
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    rng = np.random.default_rng(SEED)
    rows = pickle.load(open(data, "rb"))
    keep = [r for r in rows if len(r["roll"]) and float(r["roll"].max()) > 0]
    print(f"{len(rows) - len(keep)} clips left out (all-zero roll)", flush=True)
    rows = keep
    allx = np.concatenate([scaled(r["roll"]).ravel() for r in rows])
    mu, sigma = float(allx.mean()), float(allx.std())
    X = inputs(rows, mu, sigma)
    Y = np.array([key_index(r["key"]) for r in rows])
    net = Net()
    net.in_mu.fill_(mu)
    net.in_sigma.fill_(sigma)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    Path(outdir).mkdir(parents=True, exist_ok=True)
    print(f"{len(rows)} clips, {sum(x.shape[1] for x in X)} blocks, {sum(p.numel() for p in net.parameters())} "
          f"parameters, mu {mu:.4f} sigma {sigma:.4f}; classes {np.bincount(Y, minlength=24).tolist()}", flush=True)
    t0 = time.time()
    for ep in range(EPOCHS):
        net.train()
        order = rng.permutation(len(rows))
        tot, nb, right = 0.0, 0, 0
        for s in range(0, len(order), BATCH):
            idx = order[s:s + BATCH]
            L = max(X[i].shape[1] for i in idx)
            xb = np.zeros((len(idx), 2, L, K.N_BINS), np.float32)
            mb = np.zeros((len(idx), L), np.float32)
            for j, i in enumerate(idx):
                xb[j, :, :X[i].shape[1]] = X[i]
                mb[j, :X[i].shape[1]] = 1
            logits = net(torch.from_numpy(xb), torch.from_numpy(mb))
            yb = torch.from_numpy(Y[idx])
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            tot += float(loss.detach()) * len(idx)
            nb += len(idx)
            right += int((logits.argmax(1) == yb).sum())
        el = (time.time() - t0) / 60
        print(f"epoch {ep + 1} loss {tot / nb:.4f} train-acc {right / nb:.3f} {el:.1f} min", flush=True)
        torch.save(net.state_dict(), Path(outdir) / f"ep{ep + 1:02d}.pt")
        if el >= MINUTES:
            break


def _load(pt: str) -> Net:
    net = Net()
    net.load_state_dict(torch.load(pt))
    net.eval()
    return net


def export(pt: str, out: str) -> None:
    """The weights (torch names, float32) and, under check_logits, the torch forward of keynet.check_input()."""
    net = _load(pt)
    x = K.check_input()
    with torch.no_grad():
        lg = net(torch.from_numpy(x)[None], torch.ones(1, x.shape[1]))[0]
    np.savez(out, **{k: v.numpy().astype(np.float32) for k, v in net.state_dict().items()},
             check_logits=lg.numpy().astype(np.float32))


def check(pt: str, data: str | None = None) -> None:
    """torch forward against the numpy forward on the check input (and on a few training clips, batched and padded)."""
    net = _load(pt)
    sd = {k: v.numpy() for k, v in net.state_dict().items()}
    npn = K.KeyNet(sd)
    x = K.check_input()
    with torch.no_grad():
        lg = net(torch.from_numpy(x)[None], torch.ones(1, x.shape[1]))[0].numpy()
    print(f"check input: max |logit diff| {np.abs(lg - npn.logits(x)).max():.2e}")
    if data:
        rows = pickle.load(open(data, "rb"))[:8]
        X = inputs(rows, float(sd["in_mu"]), float(sd["in_sigma"]))
        L = max(a.shape[1] for a in X)
        xb = np.zeros((len(X), 2, L, K.N_BINS), np.float32)
        mb = np.zeros((len(X), L), np.float32)
        for j, a in enumerate(X):
            xb[j, :, :a.shape[1]] = a
            mb[j, :a.shape[1]] = 1
        with torch.no_grad():
            lb = net(torch.from_numpy(xb), torch.from_numpy(mb)).numpy()
        d = max(np.abs(lb[j] - npn.logits(a)).max() for j, a in enumerate(X))
        print(f"{len(X)} training clips padded in one batch: max |logit diff| {d:.2e}")


if __name__ == "__main__":
    {"train": train, "export": export, "check": check}[sys.argv[1]](*sys.argv[2:])
