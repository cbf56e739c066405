#!/usr/bin/python3
"""Exports a model to ONNX with torch.onnx and writes a reference input and
PyTorch's output next to it (.npy).

  export.py article:tiny_4x2d OUT.onnx [--opset N] [--keep-bn] [--size 32]
  export.py torchvision:resnext50_32x4d OUT.onnx [--opset N] [--keep-bn] [--size 224]
  export.py form:a OUT.onnx      (a ResNeXt block in form a, b or c: block_forms.py)
  export.py segmentation:fcn_resnet50 OUT.onnx   (torchvision; its "out")
  export.py people:unet_convt OUT.onnx  (people.py: unet_convt, unet_resize,
                                         transformer_encoder)
  ... --safetensors W.safetensors  also writes the state_dict, for .nx models
  ... --dynamic --hw 12,20   symbolic batch, height and width (dynamic_axes);
                             the reference input is 12x20

--keep-bn exports with training=PRESERVE so BatchNormalization nodes stay
(the default eval export folds Conv->BN).  Random weights, seeded, with
non-trivial BatchNorm statistics.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def make(spec):
    kind, name = spec.split(":", 1)
    if kind == "article":
        import article_resnext
        return article_resnext.build(name), 32
    if kind == "form":
        import block_forms
        import article_resnext
        torch.manual_seed(0)
        m = block_forms.Net(name)
        article_resnext.randomize_bn(m)
        return m.eval(), 16
    if kind == "torchvision":
        import torchvision
        import article_resnext
        torch.manual_seed(0)
        m = getattr(torchvision.models, name)(weights=None)
        article_resnext.randomize_bn(m)
        randomize_zero_linears(m)
        return m.eval(), 224
    if kind == "segmentation":
        import torchvision
        import article_resnext
        torch.manual_seed(0)
        m = getattr(torchvision.models.segmentation, name)(weights=None, weights_backbone=None)
        article_resnext.randomize_bn(m)
        return Out(m).eval(), 224
    if kind == "people":
        import people
        return people.build(name)
    raise SystemExit(f"unknown model kind {kind}")


def randomize_zero_linears(m):
    """Linear layers torchvision initialises to zeros (ViT's head) get
    random weights: an all-zero output compares with anything."""
    g = torch.Generator().manual_seed(7)
    for mod in m.modules():
        if isinstance(mod, torch.nn.Linear) and not mod.weight.detach().any():
            with torch.no_grad():
                mod.weight.copy_(torch.randn(mod.weight.shape, generator=g) * 0.02)


class Out(torch.nn.Module):
    """torchvision's segmentation models return a dict: its "out"."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def save_safetensors(state, path):
    """The state_dict as safetensors (scripts/safetensors_io.py: numpy alone,
    as Debian has no package for the format)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                    "scripts"))
    from safetensors_io import save_file
    save_file(state, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--opset", type=int, default=13)
    ap.add_argument("--keep-bn", action="store_true")
    ap.add_argument("--size", type=int, default=0)
    ap.add_argument("--safetensors", help="also save the state_dict here")
    ap.add_argument("--dynamic", action="store_true",
                    help="export batch, height and width as symbolic dims")
    ap.add_argument("--hw", help="H,W of the reference input (default: --size square)")
    a = ap.parse_args()
    model, size = make(a.model)
    if isinstance(size, torch.Tensor):  # the model's own example input
        x = size
    else:
        size = a.size or size
        h, w = (int(v) for v in a.hw.split(",")) if a.hw else (size, size)
        torch.manual_seed(42)
        x = torch.randn(1, 3, h, w)
    with torch.no_grad():
        y = model(x)
    kw = {}
    if a.keep_bn:
        kw["training"] = torch.onnx.TrainingMode.PRESERVE
    if a.dynamic:
        kw["dynamic_axes"] = {"input": {0: "batch", 2: "height", 3: "width"},
                              "logits": {0: "batch"}}
    torch.onnx.export(model, x, a.out, opset_version=a.opset, input_names=["input"],
                      output_names=["logits"], do_constant_folding=not a.keep_bn, **kw)
    if a.safetensors:
        save_safetensors(model.state_dict(), a.safetensors)
    base = os.path.splitext(a.out)[0]
    np.save(base + ".input.npy", x.numpy())
    np.save(base + ".expected.npy", y.numpy())
    print(f"{a.out}: output {tuple(y.shape)} argmax {int(y.argmax())}")


if __name__ == "__main__":
    main()
