"""The ResNeXt of the seed article (../shared/seed/resnext-article.txt), CIFAR
variant, as PyTorch code -- BasicBlock_C and ResNeXt, with the article's bugs
not reproduced (its resnext26_64x2d returns a 32x4d net).

Block: 1x1 conv -> BN -> ReLU -> grouped 3x3 conv (stride) -> BN -> ReLU ->
1x1 conv to expansion*C*d -> BN, plus a shortcut (1x1 strided conv without BN
when the shape changes, else identity), then BN *after* the residual add and
ReLU.  Stem: 3x3 conv (with bias) + BN + ReLU, no max-pool.  Head: 4x4
average pool, flatten via view(), linear.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlockC(nn.Module):
    def __init__(self, in_planes, bottleneck_width=4, cardinality=32, stride=1, expansion=2):
        super().__init__()
        inner = cardinality * bottleneck_width
        self.basic = nn.Sequential(OrderedDict([
            ("conv1_0", nn.Conv2d(in_planes, inner, 1, stride=1, bias=False)),
            ("bn1", nn.BatchNorm2d(inner)),
            ("act0", nn.ReLU()),
            ("conv3_0", nn.Conv2d(inner, inner, 3, stride=stride, padding=1,
                                  groups=cardinality, bias=False)),
            ("bn2", nn.BatchNorm2d(inner)),
            ("act1", nn.ReLU()),
            ("conv1_1", nn.Conv2d(inner, inner * expansion, 1, stride=1, bias=False)),
            ("bn3", nn.BatchNorm2d(inner * expansion)),
        ]))
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != inner * expansion:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, inner * expansion, 1, stride=stride, bias=False))
        self.bn0 = nn.BatchNorm2d(expansion * inner)

    def forward(self, x):
        out = self.basic(x)
        out = out + self.shortcut(x)
        return F.relu(self.bn0(out))


class ResNeXt(nn.Module):
    def __init__(self, num_blocks, cardinality, bottleneck_width, expansion=2,
                 num_classes=10, stem=64):
        super().__init__()
        self.cardinality = cardinality
        self.bottleneck_width = bottleneck_width
        self.in_planes = stem
        self.expansion = expansion
        self.conv0 = nn.Conv2d(3, self.in_planes, kernel_size=3, stride=1, padding=1)
        self.bn0 = nn.BatchNorm2d(self.in_planes)
        self.layer1 = self._make_layer(num_blocks[0], 1)
        self.layer2 = self._make_layer(num_blocks[1], 2)
        self.layer3 = self._make_layer(num_blocks[2], 2)
        self.layer4 = self._make_layer(num_blocks[3], 2)
        self.linear = nn.Linear(self.in_planes, num_classes)

    def forward(self, x):
        out = F.relu(self.bn0(self.conv0(x)))
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        return self.linear(out)

    def _make_layer(self, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for s in strides:
            layers.append(BasicBlockC(self.in_planes, self.bottleneck_width,
                                      self.cardinality, s, self.expansion))
            self.in_planes = self.expansion * self.bottleneck_width * self.cardinality
        self.bottleneck_width *= 2
        return nn.Sequential(*layers)


VARIANTS = {
    "resnext26_2x64d": ([2, 2, 2, 2], 2, 64),
    "resnext26_4x32d": ([2, 2, 2, 2], 4, 32),
    "resnext26_8x16d": ([2, 2, 2, 2], 8, 16),
    "resnext26_16x8d": ([2, 2, 2, 2], 16, 8),
    "resnext26_32x4d": ([2, 2, 2, 2], 32, 4),
    "resnext26_64x2d": ([2, 2, 2, 2], 64, 2),  # the article returns 32x4d here: a bug
    "resnext50_2x64d": ([3, 4, 6, 3], 2, 64),
    "resnext50_32x4d": ([3, 4, 6, 3], 32, 4),
    # Small enough to commit as a test fixture.
    "tiny_4x2d": ([1, 1, 1, 1], 4, 2),
}


def build(name, seed=0):
    blocks, c, d = VARIANTS[name]
    torch.manual_seed(seed)
    stem = 16 if name.startswith("tiny") else 64
    m = ResNeXt(blocks, c, d, stem=stem)
    randomize_bn(m)
    return m.eval()


def randomize_bn(model):
    """Non-trivial BatchNorm statistics, so folding bugs show."""
    g = torch.Generator().manual_seed(1234)
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            n = mod.num_features
            mod.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            mod.running_var.copy_(torch.rand(n, generator=g) * 0.5 + 0.5)
            mod.weight.data.copy_(torch.rand(n, generator=g) * 0.5 + 0.75)
            mod.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
