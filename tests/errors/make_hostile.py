#!/usr/bin/env python3
"""Writes the small hostile models tests/errors/hostile.sh runs the command
line on (committed; rerun after changing this file):

    /usr/bin/python3 tests/errors/make_hostile.py tests/errors/hostile

Each is the smallest file showing one bug class of the hardening audit."""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "tests/errors/hostile"
os.makedirs(out, exist_ok=True)


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="make_hostile")
    m.ir_version = 8
    with open(os.path.join(out, name), "wb") as f:
        f.write(m.SerializeToString())


def vi(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


Y = vi("y", TensorProto.FLOAT, None)

# 3. memory errors: run --reference fed an int64 input from a float32 file.
save("int64_input.onnx",
     [helper.make_node("Cast", ["x"], ["f"], to=TensorProto.FLOAT),
      helper.make_node("Relu", ["f"], ["y"])],
     [vi("x", TensorProto.INT64, [4])], [Y])
