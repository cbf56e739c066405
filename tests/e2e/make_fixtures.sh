#!/bin/sh
# Regenerates the committed end-to-end fixtures: the seed article's CIFAR
# ResNeXt at tiny widths (4x2d, blocks [1,1,1,1], 16-channel stem), random
# seeded weights, exported by torch.onnx, with PyTorch's output.
#   opset 11, training=PRESERVE: BatchNormalization kept, AvgPool as Pad+AveragePool
#   opset 9, eval export: Conv->BN pre-folded by the exporter
set -eu
cd "$(dirname "$0")/fixtures"
/usr/bin/python3 ../../models/export.py article:tiny_4x2d resnext_tiny_bn_op11.onnx --keep-bn --opset 11
/usr/bin/python3 ../../models/export.py article:tiny_4x2d resnext_tiny_op9.onnx --opset 9
# The paper's block forms (tests/models/block_forms.py), BN kept: form (a)
# with C = 8 explicit paths summed, and its form (c) twin.
/usr/bin/python3 ../../models/export.py form:a block_form_a.onnx --keep-bn --opset 13
/usr/bin/python3 ../../models/export.py form:c block_form_c.onnx --keep-bn --opset 13
# Form (a) written the ways people write the sum (block_forms.py): the naive
# loop then BN, shortcut add, ReLU; zeros_like + a balanced tree with the
# shortcut inside, then BN, ReLU.
/usr/bin/python3 ../../models/export.py form:a_naive block_form_a_naive.onnx --keep-bn --opset 13
/usr/bin/python3 ../../models/export.py form:a_tree block_form_a_tree.onnx --keep-bn --opset 13
# Form (c) with symbolic batch, height and width (--shape picks them); the
# reference input is 12x20.
/usr/bin/python3 ../../models/export.py form:c block_form_c_dynamic.onnx --keep-bn --opset 13 \
  --dynamic --hw 12,20
