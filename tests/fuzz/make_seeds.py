#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz targets (tests/fuzz/fuzz_*.c):

    /usr/bin/python3 tests/fuzz/make_seeds.py OUT

OUT/onnx/         a small model per op of compiler/ops.def (every attribute
                  form the op reads), the committed fixtures, and one file per
                  hostile class of the hardening audit (issue 11)
OUT/dsl/          the examples, one program per DSL construct, the hostile
                  classes (deep nesting, huge loops, giant dims, imports)
OUT/safetensors/  good, truncated and lying headers
OUT/tensor/       .npy (every dtype and version), .pb and raw tensors; the
                  first byte picks the format (fuzz_tensor.c)

scripts/fuzz.sh starts from these plus the committed, minimised corpus
(tests/fuzz/corpus/) and merges what it finds back into the corpus."""
import glob
import os
import shutil
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/cardinal-seeds"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
for sub in ("onnx", "dsl", "safetensors", "tensor"):
    os.makedirs(os.path.join(OUT, sub), exist_ok=True)

F = TensorProto.FLOAT
I64 = TensorProto.INT64


def vi(name, elem, dims):
    return helper.make_tensor_value_info(name, elem, dims)


def init(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


def save(name, nodes, inputs, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    with open(os.path.join(OUT, "onnx", name + ".onnx"), "wb") as f:
        f.write(m.SerializeToString())


def raw(name, data):
    with open(os.path.join(OUT, "onnx", name + ".onnx"), "wb") as f:
        f.write(data)


rng = np.random.default_rng(11)
X4 = vi("x", F, [1, 4, 6, 6])
Y = vi("y", F, None)


def w(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def unary(op, **attrs):
    save(op.lower(), [helper.make_node(op, ["x"], ["y"], **attrs)], [X4], [Y])


# -------------------------------------------------------------- every op
save("conv", [helper.make_node("Conv", ["x", "W", "B"], ["y"], kernel_shape=[3, 3],
                               pads=[1, 1, 1, 1], strides=[1, 1])],
     [X4], [Y], [init("W", w(8, 4, 3, 3)), init("B", w(8))])
save("conv_grouped_dilated", [helper.make_node("Conv", ["x", "W"], ["y"], group=2,
                                               dilations=[2, 2], strides=[2, 1])],
     [X4], [Y], [init("W", w(4, 2, 2, 2))])
save("conv_same_1d", [helper.make_node("Conv", ["x", "W"], ["y"], auto_pad="SAME_UPPER",
                                       strides=[2])],
     [vi("x", F, [1, 2, 9])], [Y], [init("W", w(3, 2, 3))])
save("conv_3d", [helper.make_node("Conv", ["x", "W"], ["y"], auto_pad="VALID")],
     [vi("x", F, [1, 2, 4, 4, 4])], [Y], [init("W", w(2, 2, 2, 2, 2))])
save("conv1x1_strided", [helper.make_node("Conv", ["x", "W"], ["y"], strides=[2, 2])],
     [X4], [Y], [init("W", w(16, 4, 1, 1))])
save("batchnorm", [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"],
                                    epsilon=1e-3)],
     [X4], [Y], [init("s", w(4)), init("b", w(4)), init("m", w(4)),
                 init("v", np.abs(w(4)) + 0.1)])
save("conv_bn_relu_add", [
    helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
    helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"]),
    helper.make_node("Add", ["n", "x"], ["a"]),
    helper.make_node("Relu", ["a"], ["y"])],
    [X4], [Y], [init("W", w(4, 4, 3, 3)), init("s", w(4)), init("b", w(4)), init("m", w(4)),
                init("v", np.abs(w(4)) + 0.1)])
save("layernorm", [helper.make_node("LayerNormalization", ["x", "s", "b"], ["y", "mu", "inv"],
                                    axis=-2, epsilon=1e-4)],
     [X4], [Y], [init("s", w(6, 6)), init("b", w(6, 6))], opset=17)
for op, attrs in [("Relu", {}), ("LeakyRelu", {"alpha": 0.2}), ("Sigmoid", {}), ("Tanh", {}),
                  ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}), ("HardSwish", {}),
                  ("Elu", {"alpha": 0.7}), ("Selu", {}), ("Softplus", {}), ("Erf", {}),
                  ("Exp", {}), ("Log", {}), ("Sqrt", {}), ("Identity", {}),
                  ("Softmax", {"axis": 1})]:
    unary(op, **attrs)
save("gelu", [helper.make_node("Gelu", ["x"], ["y"], approximate="tanh")], [X4], [Y], opset=20)
save("clip", [helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [X4], [Y],
     [init("lo", np.float32(-0.5)), init("hi", np.float32(0.5))])
save("clip_attr", [helper.make_node("Clip", ["x"], ["y"], min=-1.0, max=1.0)], [X4], [Y],
     opset=6)
save("prelu", [helper.make_node("PRelu", ["x", "s"], ["y"])], [X4], [Y],
     [init("s", w(4, 1, 1))])
for op in ("Add", "Sub", "Mul", "Div"):
    save(op.lower(), [helper.make_node(op, ["x", "c"], ["y"])], [X4], [Y], [init("c", w(1, 4, 1, 6))])
save("sum", [helper.make_node("Sum", ["x", "x", "c"], ["y"])], [X4], [Y], [init("c", w(6))])
save("pow", [helper.make_node("Pow", ["x", "e"], ["y"])], [X4], [Y],
     [init("e", np.int64(2))])
save("maxpool", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1], ceil_mode=1, dilations=[1, 1])], [X4], [Y])
save("avgpool", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3],
                                  count_include_pad=1, auto_pad="SAME_LOWER")], [X4], [Y])
unary("GlobalAveragePool")
unary("GlobalMaxPool")
save("gemm", [helper.make_node("Flatten", ["x"], ["f"]),
              helper.make_node("Gemm", ["f", "B", "C"], ["y"], transB=1, alpha=0.5, beta=2.0)],
     [X4], [Y], [init("B", w(10, 144)), init("C", w(10))])
save("matmul", [helper.make_node("MatMul", ["x", "B"], ["y"])], [X4], [Y], [init("B", w(6, 3))])
save("reshape_squeeze", [
    helper.make_node("Reshape", ["x", "s"], ["r"]),
    helper.make_node("Unsqueeze", ["r", "a"], ["u"]),
    helper.make_node("Squeeze", ["u", "a"], ["y"])],
    [X4], [Y], [init("s", np.array([0, -1, 3, 1], np.int64)), init("a", np.array([2], np.int64))])
save("concat_transpose", [
    helper.make_node("Concat", ["x", "x"], ["c"], axis=1),
    helper.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 3, 1])], [X4], [Y])
save("slice_split", [
    helper.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["s"]),
    helper.make_node("Split", ["s", "sz"], ["y", "z"], axis=1)],
    [X4], [Y], [init("st", np.array([5, 0], np.int64)), init("en", np.array([-100, 4], np.int64)),
                init("ax", np.array([3, 1], np.int64)), init("sp", np.array([-2, 1], np.int64)),
                init("sz", np.array([1, 3], np.int64))])
save("split_equal", [helper.make_node("Split", ["x"], ["y", "z"], axis=1, num_outputs=2)],
     [X4], [Y], opset=18)
save("reduce", [helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=1),
                helper.make_node("ReduceMax", ["m"], ["n"], axes=[1], keepdims=0),
                helper.make_node("ReduceSum", ["n", "a"], ["y"], keepdims=1)],
     [X4], [Y], [init("a", np.array([-1], np.int64))])
save("pad", [helper.make_node("Pad", ["x", "p", "v"], ["y"], mode="constant")], [X4], [Y],
     [init("p", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64)), init("v", np.float32(0.5))])
save("pad_reflect", [helper.make_node("Pad", ["x", "p"], ["y"], mode="reflect")], [X4], [Y],
     [init("p", np.array([0, 0, 1, 1, 0, 0, 2, 2], np.int64))])
save("pad_edge_v2", [helper.make_node("Pad", ["x"], ["y"], mode="edge",
                                      pads=[0, 0, 1, 1, 0, 0, 1, 1])], [X4], [Y], opset=2)
save("shape_gather_cast", [
    helper.make_node("Shape", ["x"], ["s"]),
    helper.make_node("Gather", ["s", "i"], ["g"], axis=0),
    helper.make_node("Cast", ["g"], ["f"], to=F),
    helper.make_node("Cast", ["f"], ["h"], to=I64),
    helper.make_node("Constant", [], ["m1"], value=init("k", np.array([-1], np.int64))),
    helper.make_node("Concat", ["h", "m1"], ["t"], axis=0),
    helper.make_node("Reshape", ["x", "t"], ["y"])],
    [X4], [Y], [init("i", np.array([0], np.int64))])
save("dropout_flatten", [helper.make_node("Dropout", ["x"], ["d"]),
                         helper.make_node("Flatten", ["d"], ["y"], axis=2)], [X4], [Y])
save("constant_forms", [
    helper.make_node("Constant", [], ["c"], value_floats=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    helper.make_node("Add", ["x", "c"], ["y"])], [X4], [Y])
save("merge_paths", [
    helper.make_node("Conv", ["x", "W1"], ["a"]), helper.make_node("Relu", ["a"], ["ar"]),
    helper.make_node("Conv", ["ar", "W2"], ["b"], pads=[1, 1, 1, 1]),
    helper.make_node("Conv", ["x", "W3"], ["c"]), helper.make_node("Relu", ["c"], ["cr"]),
    helper.make_node("Conv", ["cr", "W4"], ["d"], pads=[1, 1, 1, 1]),
    helper.make_node("Add", ["b", "d"], ["s"]), helper.make_node("Add", ["s", "x"], ["y"])],
    [X4], [Y], [init("W1", w(2, 4, 1, 1)), init("W2", w(4, 2, 3, 3)),
                init("W3", w(2, 4, 1, 1)), init("W4", w(4, 2, 3, 3))])
for fx in glob.glob(os.path.join(SRC, "tests", "e2e", "fixtures", "*.onnx")) + \
        glob.glob(os.path.join(SRC, "tests", "errors", "*.onnx")):
    shutil.copy(fx, os.path.join(OUT, "onnx", os.path.basename(fx)))

# -------------------------------------------------------------- hostile classes
# 1. overflow
save("h1_pool_pads", [helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, 1],
                                       pads=[2**62, 2**62, 0, 0])], [X4], [Y])
save("h1_conv_dilation", [helper.make_node("Conv", ["x", "W"], ["y"], dilations=[2**62, 1])],
     [X4], [Y], [init("W", w(1, 4, 3, 3))])
save("h1_same_stride", [helper.make_node("Conv", ["x", "W"], ["y"], auto_pad="SAME_UPPER",
                                         strides=[2**63 - 1, 1])], [X4], [Y], [init("W", w(1, 4, 3, 3))])
save("h1_pad", [helper.make_node("Pad", ["x", "p"], ["y"])], [X4], [Y],
     [init("p", np.array([0, 0, 2**63 - 1, 0, 0, 0, 1, 0], np.int64))])
save("h1_reshape", [helper.make_node("Reshape", ["x", "s"], ["y"])], [X4], [Y],
     [init("s", np.array([2**32, 2**32, -1], np.int64))])
save("h1_flatten", [helper.make_node("Flatten", ["x"], ["y"])],
     [vi("x", F, [0, 2**31 - 1, 2**31 - 1])], [Y])
save("h1_concat", [helper.make_node("Concat", ["x", "x", "x", "x"], ["y"], axis=1)],
     [vi("x", F, [1, 2**30])], [Y])
save("h1_cast", [helper.make_node("Cast", ["c"], ["s"], to=I64),
                 helper.make_node("Reshape", ["x", "s"], ["y"])], [X4], [Y],
     [init("c", np.array([1e30, 2.0**64], np.float32))])
save("h1_int64_mul", [helper.make_node("Mul", ["a", "b"], ["s"]),
                      helper.make_node("Reshape", ["x", "s"], ["y"])], [X4], [Y],
     [init("a", np.array([2**62, 1], np.int64)), init("b", np.array([4, 1], np.int64))])
# 2. division by zero
save("h2_conv_empty", [helper.make_node("Conv", ["x", "W"], ["y"])], [X4], [Y],
     [init("W", np.zeros((0, 4, 1, 1), np.float32))])
save("h2_bn_empty", [helper.make_node("BatchNormalization", ["x", "s", "s", "s", "s"], ["y"])],
     [vi("x", F, [1, 0, 2, 2])], [Y], [init("s", np.zeros((0,), np.float32))])
# 3. memory errors
save("h3_matmul_zero_batch", [helper.make_node("MatMul", ["x", "B"], ["y"])],
     [vi("x", F, [0, 2, 3])], [Y], [init("B", w(1, 3, 4))])
save("h3_empty_attrs", [helper.make_node("Transpose", ["x"], ["y"], perm=[])], [X4], [Y])
# 4. stack: 5,000 nested TypeProtos, written by hand
def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(tag, payload):
    return bytes([tag]) + varint(len(payload)) + payload


t = b""
for _ in range(5000):
    t = field(0x22, field(0x0A, t))  # TypeProto.sequence_type { elem_type }
raw("h4_nested_types", b"\x08\x08" + field(0x3A, field(0x5A, field(0x0A, b"x") + field(0x12, t))))
# 5. tiny file, huge work
save("h5_fold_pad", [helper.make_node("Pad", ["c", "p"], ["k"]),
                     helper.make_node("Add", ["x", "k"], ["y"])],
     [vi("x", F, [1, 1])], [Y], [init("c", np.ones((1, 1), np.float32)),
                                 init("p", np.array([0, 0, 0, 1 << 28], np.int64))])
save("h5_fold_conv", [helper.make_node("Pad", ["c", "p"], ["X"]),
                      helper.make_node("Pad", ["c", "q"], ["W"]),
                      helper.make_node("Conv", ["X", "W"], ["k"]),
                      helper.make_node("Add", ["x", "k"], ["y"])],
     [vi("x", F, [1, 1, 1, 1])], [Y], [init("c", np.ones((1, 1, 1, 1), np.float32)),
                                       init("p", np.array([0, 0, 0, 0, 0, 0, 4095, 4095], np.int64)),
                                       init("q", np.array([0, 0, 0, 0, 0, 0, 1023, 1023], np.int64))])
save("h5_pad_table", [helper.make_node("Pad", ["x", "p"], ["y"])], [vi("x", F, [1, 1])], [Y],
     [init("p", np.array([0, 0, 0, 1 << 28], np.int64))])
def external(dims):
    t = TensorProto()
    t.name, t.data_type = "W", F
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    return t


t = external([1 << 28, 1, 2, 2])
for k, v in (("location", "w.bin"), ("offset", "0")):
    e = t.external_data.add()
    e.key, e.value = k, v
save("h5_external_size", [helper.make_node("Conv", ["x", "W"], ["y"])], [X4], [Y], [t])
# 7. files outside the folder
for i, loc in enumerate(("/etc/passwd", "../../etc/passwd", "/dev/zero")):
    t = external([1, 4, 1, 1])
    e = t.external_data.add()
    e.key, e.value = "location", loc
    save("h7_external_%d" % i, [helper.make_node("Conv", ["x", "W"], ["y"])], [X4], [Y], [t])
# 9. silently wrong
g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [X4], [Y])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 2**32 + 13)])
raw("h9_opset", m.SerializeToString())
save("h9_defined_twice", [helper.make_node("Relu", ["x"], ["y"]),
                          helper.make_node("Sigmoid", ["x"], ["y"])], [X4], [Y])

# -------------------------------------------------------------- DSL
def dsl(name, text):
    with open(os.path.join(OUT, "dsl", name + ".nx"), "w") as f:
        f.write(text)


for nx in glob.glob(os.path.join(SRC, "examples", "resnext", "**", "*.nx"), recursive=True):
    shutil.copy(nx, os.path.join(OUT, "dsl", os.path.basename(nx)))
dsl("constructs", """# every construct
block path(x, d, stride = 1) {
  y = x -> a: conv(d, k=1, bias=false) -> bn() -> relu()
        -> b: conv(x.shape[1], k=3, stride=stride, pad=1, groups=1) -> bn()
  if stride != 1 || x.shape[1] != d { x = x -> avgpool(k=stride) } else if d > 100 { x = x } else { x = x }
  return relu(y + x)
}
model m(x: f32[1, 8, 8, 8]) {
  n = len([1, 2.5, "s", true]) * 2 - 7 % 3 + min(3, 4) / max(1, 2)
  ps = [p[i]: path(x, 4) for i in 0..2]
  s = sum(ps) -> clip(min=-1.0, max=1.0)
  c = concat(ps, axis=1) -> Transpose(perm=[0, 1, 3, 2]) -> maxpool(k=2, stride=1, pad=0, ceil=true)
  for i in 0..n { s = s * 0.5 + -s }
  h = if n > 2 then s else c
  w = param("w", [1, 8, 1, 1])
  t = Reshape(s, [1, -1]) -> linear(10, bias=false) -> Softmax(axis=1)
  return t, h + w, relu(Pad(x, [0, 0, 1, 1, 0, 0, 1, 1], mode="reflect"))
}
""")
dsl("h1_dims", "model m(x: f32[4294967297, 4]) { return relu(x) }\n")
dsl("h1_range", "model m(x: f32[2]) {\n  for i in -9223372036854775807 - 1 .. 1 { x = relu(x) }\n  return x\n}\n")
dsl("h1_neg", "model m(x: f32[2]) {\n  n = -(-9223372036854775807 - 1)\n  return x\n}\n")
dsl("h4_nest", "".join("block b%d(x) {\n  return %sx%s\n}\n" % (b + 1, (("relu(", "b1(", "b2(")[b]) * 480, ")" * 480)
                       for b in range(3)) + "model m(x: f32[2]) { return b3(x) }\n")
dsl("h4_deep_expr", "model m(x: f32[2]) {\n  n = " + "(" * 600 + "1" + ")" * 600 + "\n  return x\n}\n")
dsl("h5_loops", "model m(x: f32[2]) {\n  for i in 0..100000 {\n    for j in 0..100000 { k = i }\n  }\n  return x\n}\n")
dsl("h5_nodes", "model m(x: f32[2]) {\n  for i in 0..100000 { x = relu(relu(relu(x))) }\n  return x\n}\n")
dsl("h5_param", "model m(x: f32[2]) {\n  w = param(\"w\", [32768, 32768])\n  return x\n}\n")
dsl("h5_recursion", "block r(x) { return r(x) }\nmodel m(x: f32[2]) { return r(x) }\n")
dsl("h6_blank", "\n" * 2000 + "model m(x: f32[2]) {\n  y = x\n\n\n   -> relu()\n  return y\n}\n")
dsl("h7_import", "import \"/dev/zero\"\nimport \"../x.nx\"\nmodel m(x: f32[2]) { return x }\n")
dsl("h9_concat70", "model m(x: f32[1, 2]) {\n  return concat([x for i in 0..70], axis=1)\n}\n")
# Issue 17: names with terminal escapes, the value budget, typed attributes,
# imports by identity (the fuzz target's file is model.nx), duplicate
# keywords, 'shared' of a label never made.
dsl("r6_escapes", "model m(x: f32[1, 2, 4, 4]) {\n  y = x -> [\"\x1b]0;pwned\x07\"]: conv(2, k=1)\n"
    "  z = x -> [\"\x1b]0;pwned\x07\"]: conv(2, k=1)\n  return y + z  # \x1b[2J\n}\n")
dsl("r8_doubling", "model m(x: f32[2]) {\n  s = \"a\"\n  for i in 0..40 {\n    s = s + s\n  }\n"
    "  return x\n}\n")
dsl("r8_label_copies", "model m(x: f32[2]) {\n  s = \"ab\"\n  for i in 0..18 { s = s + s }\n"
    "  for i in 0..1000 {\n    x = l[s][i]: relu(x)\n  }\n  return x\n}\n")
dsl("r9_attr_types", "model m(x: f32[1, 4, 8, 8], w: f32[4, 2, 3, 3]) {\n"
    "  y = Conv(x, w, group=\"a\", auto_pad=1)\n  z = LeakyRelu(x, alpha=\"zero\")\n"
    "  return y, z, MaxPool(x, kernel_shape=3), Concat(x, x, axis=1.5)\n}\n")
dsl("r10_self_import", "import \"model.nx\"\nimport \"./model.nx\"\nmodel m(x: f32[2]) { return x }\n")
dsl("r11_duplicate_keyword", "block f(x, a = 1) { return x }\nmodel m(x: f32[1, 4]) {\n"
    "  y = f(x, a=2, a=3)\n  return leaky_relu(y, alpha=0.1, alpha=0.2)\n}\n")
dsl("r11_shared_unmade", "block b(x) {\n  return x -> conv1: conv(4, k=1)\n}\n"
    "model m(x: f32[1, 4, 2, 2]) {\n  y = enc: b(x)\n  z = shared enx: b(x)\n"
    "  w = shared q: param(\"w\", [2])\n  for i in 0..3 { z = shared [0]: b(z) }\n  return y - z\n}\n")

# -------------------------------------------------------------- safetensors
def st(name, header, data=b"", hlen=None):
    h = header.encode()
    with open(os.path.join(OUT, "safetensors", name + ".safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h) if hlen is None else hlen) + h + data)


st("good", '{"__metadata__":{"format":"pt"},"a.weight":{"dtype":"F32","shape":[2,2],'
   '"data_offsets":[0,16]},"b":{"dtype":"I64","shape":[1],"data_offsets":[16,24]}}',
   bytes(range(24)))
st("empty", "{}")
st("unicode", '{"\\u0061\\n":{"dtype":"F16","shape":[],"data_offsets":[0,2]}}', b"xy")
st("number_at_end", '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4')
st("lying_length", '{"w":{}}', b"", hlen=1 << 40)
st("bad_offsets", '{"w":{"dtype":"F32","shape":[4],"data_offsets":[8,4]}}', b"1234")
st("duplicate", '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
   '"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', b"12345678")
st("deep_metadata", '{"__metadata__":' + "[" * 40 + "]" * 40 + "}")
st("huge_shape", '{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', b"1234")

# -------------------------------------------------------------- tensors
def tensor(name, kind, data):
    with open(os.path.join(OUT, "tensor", name), "wb") as f:
        f.write(bytes([kind]) + data)


def npy(arr, version=1, header=None):
    h = header if header is not None else \
        "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (arr.dtype.str, repr(arr.shape))
    h = h.encode()
    pre = 10 if version == 1 else 12
    h += b" " * ((64 - (pre + len(h) + 1) % 64) % 64) + b"\n"
    size = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    return b"\x93NUMPY" + bytes([version, 0]) + size + h + arr.tobytes()


for dt in ("<f4", "<f8", "<i8", "<i4"):
    tensor("npy_" + dt[1:], 0, npy(np.arange(6).reshape(2, 3).astype(dt)))
tensor("npy_v2", 0, npy(np.zeros((1, 2, 3), np.float32), version=2))
tensor("npy_scalar", 0, npy(np.float32(3.5)))
tensor("npy_fortran", 0, npy(np.zeros(3, np.float32),
                             header="{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }"))
tensor("npy_huge_shape", 0, npy(np.zeros(1, np.float32),
                                header="{'descr': '<f4', 'fortran_order': False, 'shape': "
                                       "(99999999999999999999, 2), }"))
tensor("npy_truncated", 0, npy(np.zeros(8, np.float32))[:-5])
tensor("npy_double_quotes", 0, npy(np.zeros(2, np.float32),
                                   header='{"shape": (2,), "fortran_order": False, "descr": "<f4"}'))
tensor("npy_true_elsewhere", 0, npy(np.zeros(2, np.float32),
                                    header="{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                                           "'note': 'True'}"))
tensor("npy_falsey", 0, npy(np.zeros(2, np.float32),
                            header="{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2L,), }"))
tensor("pb_float", 1, numpy_helper.from_array(w(2, 3), "t").SerializeToString())
tensor("pb_int64", 1, numpy_helper.from_array(np.arange(4, dtype=np.int64), "i").SerializeToString())
tensor("pb_typed", 1, helper.make_tensor("f", F, [3], [1.0, 2.0, 3.0]).SerializeToString())
tensor("pb_external", 1, onnx.load_model_from_string(
    open(os.path.join(OUT, "onnx", "h7_external_0.onnx"), "rb").read()).graph.initializer[0]
    .SerializeToString())
tensor("raw", 2, w(5).tobytes())
tensor("raw_odd", 2, b"abc")
print("seeds in", OUT, {k: len(os.listdir(os.path.join(OUT, k)))
                        for k in ("onnx", "dsl", "safetensors", "tensor")})
