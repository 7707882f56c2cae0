"""Reading binary Kaldi archives of float matrices for the scikit-learn benchmark scripts."""
import struct

import numpy as np


def read_ark(path):
    """{key: matrix} of a binary Kaldi archive ("key \\0B FM <i4 rows> <i4 cols> data")."""
    data = open(path, "rb").read()
    pos, mats = 0, {}
    while pos < len(data):
        sp = data.index(b" ", pos)
        key = data[pos:sp].decode()
        pos = sp + 1
        if data[pos:pos + 2] != b"\0B":
            raise ValueError(f"{path}: only binary archives are supported")
        pos += 2
        kind = data[pos:pos + 3]
        if kind not in (b"FM ", b"DM "):
            raise ValueError(f"{path}: unsupported matrix type {kind!r}")
        pos += 3
        _, rows, _, cols = struct.unpack_from("<bibi", data, pos)
        pos += 10
        dt = np.float32 if kind == b"FM " else np.float64
        n = rows * cols * np.dtype(dt).itemsize
        mats[key] = np.frombuffer(data, dtype=dt, count=rows * cols, offset=pos).reshape(rows, cols)
        pos += n
    return mats


def stacked(path):
    """All matrices of the archive at `path`, stacked into one float64 array (utterance order)."""
    return np.vstack(list(read_ark(path).values())).astype(np.float64)
