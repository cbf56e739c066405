"""Reads and writes safetensors files with numpy alone, for exchanging a
Cardinal .nx model's parameters with PyTorch when the `safetensors`
package is not installed (Debian has no package for it).

The format: an 8-byte little-endian header length, a JSON header mapping
each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (and
an optional "__metadata__"), then the raw little-endian tensor bytes.

    import sys; sys.path.insert(0, "scripts")     # from the repository root
    from safetensors_io import save_file, load_file

    save_file(model.state_dict(), "w.safetensors")  # torch -> cardinal --weights
    state = load_file("w.safetensors")              # cardinal dump-weights -> torch
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})

The names and signatures are those of safetensors.torch / safetensors.numpy,
so code using them runs unchanged with the real package.
"""
import json
import struct

import numpy as np

_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
           "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}


def _array(t):
    """A torch tensor or anything numpy takes, as a contiguous array."""
    if hasattr(t, "detach"):
        t = t.detach().cpu().contiguous().numpy()
    return np.ascontiguousarray(t)


def save_file(tensors, path, metadata=None):
    """Writes a dict of name -> tensor (torch or numpy) to path."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    else:
        header["__metadata__"] = {"format": "pt"}
    for name, t in tensors.items():
        a = _array(t)
        if a.dtype not in _CODES:
            raise ValueError(f"{name}: dtype {a.dtype} has no safetensors code")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _CODES[a.dtype], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load_file(path):
    """Reads path into a dict of name -> numpy array (in file order)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return out
