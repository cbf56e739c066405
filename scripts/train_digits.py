#!/usr/bin/python3
"""Trains a small ResNeXt on scikit-learn's 8x8 handwritten digits and writes
the real-data fixture in tests/models/digits/ (for int8 accuracy tests).

  /usr/bin/python3 scripts/train_digits.py [--out tests/models/digits] [--epochs 35]

Data: sklearn.datasets.load_digits() (1,797 images, bundled with Debian's
python3-sklearn, no download), pixels scaled to [0,1] (x/16), stratified
split with train_test_split(test_size=500, random_state=0): 1,297 train /
500 held out.

Model: input [N,1,8,8]; stem Conv3x3 1->32 + BN + ReLU; two ResNeXt
bottleneck blocks (1x1 conv -> BN -> ReLU -> 3x3 grouped conv, groups=8 ->
BN -> ReLU -> 1x1 conv -> BN, residual add, ReLU), the second with stride 2
and 64 output channels (projection 1x1 conv + BN); global average pool;
Linear -> 10.  Adam, random 1-pixel shifts as augmentation, one thread,
seeded: the run is deterministic on a given torch build.

Writes digits_resnext.onnx (opset 13, input "input" [1,1,8,8], output
"logits" [1,10], eval mode, exporter's default constant folding),
heldout_x.npy / heldout_y.npy (500), train_x.npy (first 200 training
images), calib/calib_000.npy ... calib_063.npy (first 64 training images,
one [1,1,8,8] per file).  Prints the fp32 held-out accuracy.
"""
import argparse
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SEED = 0


class Block(nn.Module):
    """ResNeXt bottleneck: cardinality 8, 4 channels per group."""

    def __init__(self, cin, cout, stride, groups=8, width=4):
        super().__init__()
        mid = groups * width
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride=stride, padding=1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        s = x if self.proj is None else self.proj(x)
        return F.relu(y + s)


class DigitsResNeXt(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(32), nn.ReLU())
        self.block1 = Block(32, 32, 1)
        self.block2 = Block(32, 64, 2)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.block2(self.block1(self.stem(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.fc(x)


def shift(x, gen):
    """Random shift of each image by -1, 0 or +1 pixel per axis, zero fill."""
    n = x.shape[0]
    p = F.pad(x, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (n,), generator=gen)
    dx = torch.randint(0, 3, (n,), generator=gen)
    out = torch.empty_like(x)
    for i in range(n):
        out[i] = p[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
    return out


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "tests", "models", "digits")))
    ap.add_argument("--epochs", type=int, default=35)
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.use_deterministic_algorithms(True)

    d = load_digits()
    x = (d.data / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=500, stratify=y, random_state=0)
    assert xtr.shape[0] == 1297 and xte.shape[0] == 500

    Xtr, Ytr = torch.from_numpy(xtr), torch.from_numpy(ytr)
    Xte, Yte = torch.from_numpy(xte), torch.from_numpy(yte)

    model = DigitsResNeXt()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs)
    gen = torch.Generator().manual_seed(SEED)
    bs = 64
    t0 = time.time()
    for ep in range(a.epochs):
        model.train()
        perm = torch.randperm(Xtr.shape[0], generator=gen)
        for i in range(0, Xtr.shape[0], bs):
            idx = perm[i:i + bs]
            xb = shift(Xtr[idx], gen)
            loss = F.cross_entropy(model(xb), Ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if (ep + 1) % 5 == 0 or ep == a.epochs - 1:
            print(f"epoch {ep + 1:3d}  loss {loss.item():.4f}  train {accuracy(model, Xtr, Ytr):.4f}"
                  f"  held-out {accuracy(model, Xte, Yte):.4f}  ({time.time() - t0:.1f} s)", flush=True)

    model.eval()
    acc = accuracy(model, Xte, Yte)
    with torch.no_grad():
        logits = model(Xte).numpy()
    print(f"fp32 held-out accuracy (torch): {acc:.4f} ({int(round(acc * 500))}/500)")

    os.makedirs(a.out, exist_ok=True)
    onnx_path = os.path.join(a.out, "digits_resnext.onnx")
    torch.onnx.export(model, torch.zeros(1, 1, 8, 8), onnx_path, opset_version=13,
                      input_names=["input"], output_names=["logits"], do_constant_folding=True)
    np.save(os.path.join(a.out, "heldout_x.npy"), xte)
    np.save(os.path.join(a.out, "heldout_y.npy"), yte)
    np.save(os.path.join(a.out, "train_x.npy"), np.ascontiguousarray(xtr[:200]))
    cdir = os.path.join(a.out, "calib")
    os.makedirs(cdir, exist_ok=True)
    for f in os.listdir(cdir):
        if f.endswith(".npy"):
            os.remove(os.path.join(cdir, f))
    for i in range(64):
        np.save(os.path.join(cdir, f"calib_{i:03d}.npy"), np.ascontiguousarray(xtr[i:i + 1]))

    # Check the exported file against torch on the held-out split.
    import onnx
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m, full_check=True)
    print("onnx.checker: ok;", len(m.graph.node), "nodes:",
          sorted({n.op_type for n in m.graph.node}))
    try:
        from onnx.reference import ReferenceEvaluator
    except ImportError:
        ReferenceEvaluator = None
    if ReferenceEvaluator is not None:
        ref = ReferenceEvaluator(m)
        diff = max(float(np.abs(ref.run(None, {"input": xte[i:i + 1]})[0] - logits[i:i + 1]).max())
                   for i in range(8))
        print(f"onnx.reference on 8 images: max |logit diff| vs torch {diff:.2e}")
    else:
        print("onnx.reference: not available in onnx", onnx.__version__, "(skipped)")
    print(f"wrote {a.out} ({time.time() - t0:.1f} s total)")


if __name__ == "__main__":
    main()
