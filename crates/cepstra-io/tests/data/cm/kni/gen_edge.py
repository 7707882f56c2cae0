"""Edge-case compressed-matrix goldens from kaldi-native-io 1.23.0 (byte-identical to Kaldi's
copy-feats --compress for all 7 methods, per ../shared/notes/kaldi-real.md)."""
import sys
import numpy as np
import kaldi_native_io as kni

out = sys.argv[1]
rng = np.random.default_rng(20240601)
mats = {
    "constant_10x3": np.full((10, 3), 2.5),
    "constant_negative_3x2": np.full((3, 2), -7.0),
    "zeros_9x2": np.zeros((9, 2)),
    "rows1_1x5": rng.normal(size=(1, 5)),
    "rows2_2x4": rng.normal(size=(2, 4)),
    "rows3_3x3": rng.normal(size=(3, 3)) * 10,
    "rows4_4x6": rng.normal(size=(4, 6)),
    "rows4_constcol_4x3": np.column_stack([np.full(4, 1.0), rng.normal(size=4), np.full(4, -3.0)]),
    "big_offset_20x4": 1e6 + rng.normal(size=(20, 4)) * 1e-1,
    "tiny_values_12x3": rng.normal(size=(12, 3)) * 1e-30,
    "ties_16x4": rng.integers(0, 3, size=(16, 4)).astype(float),
    "huge_range_10x3": rng.normal(size=(10, 3)) * 1e30,
    "outside_fixed_ranges_10x4": rng.uniform(-300, 70000, size=(10, 4)),
    "skewed_33x5": np.exp(rng.normal(size=(33, 5)) * 3),
}
mats = {k: v.astype(np.float32) for k, v in mats.items()}
with kni.FloatMatrixWriter(f"ark:{out}/edge_input.ark") as w:
    for k, v in mats.items():
        w[k] = v
methods = list(kni.CompressionMethod.__members__.values())
for m in range(1, 8):
    method = methods[m - 1]
    assert int(method) == m
    with kni.CompressedMatrixWriter(f"ark:{out}/edge_method{m}.ark") as w:
        for k, v in mats.items():
            w.write(k, v, method)
    with kni.SequentialFloatMatrixReader(f"ark:{out}/edge_method{m}.ark") as r, \
         kni.FloatMatrixWriter(f"ark:{out}/edge_method{m}_decompressed.ark") as w:
        for k, v in r:
            w[k] = v
