"""The three equivalent forms of a ResNeXt block (the paper's Fig. 3), as
PyTorch modules, for testing merge-paths:

  (a) C explicit paths (1x1 conv -> BN -> ReLU -> 3x3 conv -> BN -> ReLU ->
      1x1 conv -> BN), summed, plus the shortcut, then ReLU;
  (b) the paths' 3x3 outputs concatenated, then one 1x1 conv (+ BN);
  (c) one 1x1 conv to C*d, a grouped 3x3 conv with C groups, a 1x1 conv.

Unlike the seed article's BasicBlock_A, form (a) here really sums its paths.
Form (a) also comes the ways people write the sum:

  a_naive  out = p0(x); for p in rest: out = out + p(x) (a left chain), then
           BN, the shortcut add, ReLU;
  a_tree   zeros_like(x) and the paths in reverse order, the shortcut among
           them, summed as a balanced tree, then BN and ReLU (the article's
           relu(bn(paths + shortcut))).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def bn(n):
    return nn.BatchNorm2d(n)


class Path(nn.Module):
    def __init__(self, cin, d, cout, stride, last):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(cin, d, 1, bias=False), bn(d)
        self.c2, self.b2 = nn.Conv2d(d, d, 3, stride=stride, padding=1, bias=False), bn(d)
        self.last = last
        if last:
            self.c3, self.b3 = nn.Conv2d(d, cout, 1, bias=False), bn(cout)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = F.relu(self.b2(self.c2(y)))
        return self.b3(self.c3(y)) if self.last else y


class BlockA(nn.Module):
    def __init__(self, cin=64, card=8, d=4, cout=64):
        super().__init__()
        self.paths = nn.ModuleList([Path(cin, d, cout, 1, True) for _ in range(card)])

    def forward(self, x):
        out = self.paths[0](x)
        for p in self.paths[1:]:
            out = out + p(x)
        return F.relu(out + x)


class BlockANaive(nn.Module):
    def __init__(self, cin=64, card=8, d=4, cout=64):
        super().__init__()
        self.paths = nn.ModuleList([Path(cin, d, cout, 1, True) for _ in range(card)])
        self.bn = bn(cout)

    def forward(self, x):
        out = self.paths[0](x)
        for p in self.paths[1:]:
            out = out + p(x)
        out = self.bn(out)
        out = out + x
        return F.relu(out)


def tree_sum(terms):
    if len(terms) == 1:
        return terms[0]
    h = len(terms) // 2
    return tree_sum(terms[:h]) + tree_sum(terms[h:])


class BlockATree(nn.Module):
    def __init__(self, cin=64, card=8, d=4, cout=64):
        super().__init__()
        self.paths = nn.ModuleList([Path(cin, d, cout, 1, True) for _ in range(card)])
        self.bn = bn(cout)

    def forward(self, x):
        ys = [p(x) for p in reversed(self.paths)]
        terms = [torch.zeros_like(x)] + ys[:3] + [x] + ys[3:]
        return F.relu(self.bn(tree_sum(terms)))


class BlockB(nn.Module):
    def __init__(self, cin=64, card=8, d=4, cout=64):
        super().__init__()
        self.paths = nn.ModuleList([Path(cin, d, cout, 1, False) for _ in range(card)])
        self.c3, self.b3 = nn.Conv2d(card * d, cout, 1, bias=False), bn(cout)

    def forward(self, x):
        y = torch.cat([p(x) for p in self.paths], dim=1)
        return F.relu(self.b3(self.c3(y)) + x)


class BlockC(nn.Module):
    def __init__(self, cin=64, card=8, d=4, cout=64):
        super().__init__()
        w = card * d
        self.c1, self.b1 = nn.Conv2d(cin, w, 1, bias=False), bn(w)
        self.c2, self.b2 = nn.Conv2d(w, w, 3, padding=1, groups=card, bias=False), bn(w)
        self.c3, self.b3 = nn.Conv2d(w, cout, 1, bias=False), bn(cout)

    def forward(self, x):
        y = F.relu(self.b1(self.c1(x)))
        y = F.relu(self.b2(self.c2(y)))
        return F.relu(self.b3(self.c3(y)) + x)


class Net(nn.Module):
    """Stem, two blocks of the chosen form, head."""
    def __init__(self, form, card=8, d=4):
        super().__init__()
        block = {"a": BlockA, "a_naive": BlockANaive, "a_tree": BlockATree,
                 "b": BlockB, "c": BlockC}[form]
        self.stem, self.bn0 = nn.Conv2d(3, 64, 3, padding=1, bias=False), bn(64)
        self.blocks = nn.Sequential(block(64, card, d, 64), block(64, card, d, 64))
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        y = F.relu(self.bn0(self.stem(x)))
        y = self.blocks(y)
        y = F.adaptive_avg_pool2d(y, 1).flatten(1)
        return self.fc(y)
