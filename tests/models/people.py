"""Models people bring beyond the classifiers (issue 19), small enough to
export in seconds: two UNets at 256x256 (upsampling by ConvTranspose, and
by bilinear Resize), and a few layers of nn.TransformerEncoder.  Random
seeded weights, BatchNorm statistics randomised like the zoo's.

  build(name) -> (module, example input)
"""
import torch
import torch.nn as nn

from article_resnext import randomize_bn


def block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet(nn.Module):
    """Four levels (32..256 channels), skip connections by Concat; up is
    "convt" (ConvTranspose 2x2 stride 2) or "resize" (bilinear x2, then a
    1x1 conv)."""

    def __init__(self, up, classes=5, width=32):
        super().__init__()
        w = [width, width * 2, width * 4, width * 8]
        self.down = nn.ModuleList([block(3, w[0])] + [block(w[i], w[i + 1]) for i in range(3)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList()
        self.dec = nn.ModuleList()
        for i in range(3, 0, -1):
            if up == "convt":
                self.up.append(nn.ConvTranspose2d(w[i], w[i - 1], 2, stride=2))
            else:
                self.up.append(nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                    nn.Conv2d(w[i], w[i - 1], 1)))
            self.dec.append(block(2 * w[i - 1], w[i - 1]))
        self.head = nn.Conv2d(w[0], classes, 1)

    def forward(self, x):
        skips = []
        for i, d in enumerate(self.down):
            x = d(x if i == 0 else self.pool(x))
            skips.append(x)
        for up, dec, skip in zip(self.up, self.dec, reversed(skips[:-1])):
            x = dec(torch.cat([up(x), skip], 1))
        return self.head(x)


def build(name):
    torch.manual_seed(0)
    if name in ("unet_convt", "unet_resize"):
        m = UNet(name[5:])
        randomize_bn(m)
        return m.eval(), torch.randn(1, 3, 256, 256, generator=torch.Generator().manual_seed(42))
    if name == "transformer_encoder":
        layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=256, dropout=0.0,
                                           batch_first=True)
        m = nn.TransformerEncoder(layer, num_layers=3, enable_nested_tensor=False)
        return m.eval(), torch.randn(1, 64, 128, generator=torch.Generator().manual_seed(42))
    raise SystemExit(f"unknown model people:{name} (unet_convt, unet_resize, transformer_encoder)")
