#!/bin/sh
# The models people bring beyond the CNN classifiers (issue 19), checked
# like the long model sweep (not part of the default test suite): each
# exported at opset 17, built for every target and compared with ONNX
# Runtime (1e-4 of the output's magnitude, same arg-max):
#   - the UNets of tests/models/people.py at 256x256, upsampling by
#     ConvTranspose and by Resize, and three layers of nn.TransformerEncoder;
#   - torchvision's segmentation models (their "out": fcn_resnet50,
#     deeplabv3_mobilenet_v3_large, lraspp_mobilenet_v3_large) and vision
#     transformers (vit_b_16, swin_t).
# Prints tests/models/sweep.sh's table and "N passed, N failed".
#
#   [TARGETS="native avx2 scalar neon"] [MODELS=...] [MODES=...] sh tests/models/people.sh [OUT_DIR]
# Hours with scalar and neon (qemu) on the large ones; the UNets and the
# encoder alone (MODELS="people:unet_convt@17 ...") take minutes.
set -u
cd "$(dirname "$0")/../.."
MODELS=${MODELS:-"people:unet_convt@17 people:unet_resize@17 people:transformer_encoder@17
  segmentation:lraspp_mobilenet_v3_large@17 segmentation:deeplabv3_mobilenet_v3_large@17
  segmentation:fcn_resnet50@17 torchvision:vit_b_16@17 torchvision:swin_t@17"}
TARGETS=${TARGETS:-"native avx2 scalar neon"} exec sh tests/models/sweep.sh "${1:-people_out}" "$MODELS"
