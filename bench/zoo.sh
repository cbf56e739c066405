#!/bin/sh
# The zoo benchmark (not a test): every torchvision classifier Cardinal
# compiles, exported at opset 17 (random seeded weights, randomised
# BatchNorm statistics), timed next to ONNX Runtime in the same run on 1 and
# 2 threads, with the geometric mean of the ratios (bench/models.sh).  About
# an hour on two cores, most of it exporting and building the models once.
#
#   sh bench/zoo.sh [OUT_DIR] [TARGET]      OUT_DIR default zoo_out
set -eu
cd "$(dirname "$0")/.."
ZOO="alexnet convnext_tiny densenet121 efficientnet_b0 googlenet inception_v3
  mnasnet0_5 mobilenet_v2 mobilenet_v3_large mobilenet_v3_small regnet_x_400mf
  regnet_y_400mf resnet18 resnet50 resnext50_32x4d resnext101_32x8d
  shufflenet_v2_x1_0 squeezenet1_1 vgg11_bn wide_resnet50_2"
models=""
for m in $ZOO; do models="$models torchvision:$m"; done
OPSET=17 exec sh bench/models.sh "${1:-zoo_out}" "$models" "${2:-native}"
