#!/usr/bin/env python3
"""scikit-learn side of scripts/bench_train.sh: fit one GaussianMixture per class, as train-classes does.

usage: train_sklearn.py [--reps R] [--num-gauss K] [--iters I] FEATS.ark TEXT

FEATS.ark is a binary Kaldi archive of float matrices, TEXT has `<utt> <label>` lines. Per class, the
frames of its utterances are stacked and GaussianMixture(n_components=K, covariance_type='full',
max_iter=I, tol=0, reg_covar=1e-6, init_params='kmeans', random_state=0).fit() runs (k-means
initialisation, then I EM passes, as train-classes' defaults). Thread pools are limited to 1. Prints
one JSON line: wall and CPU seconds of every repetition and their medians (data loading not timed).
"""
import json
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from kaldi_ark import read_ark  # noqa: E402


def main(argv):
    reps, k, iters, args = 3, 5, 5, []
    it = iter(argv)
    for a in it:
        if a == "--reps":
            reps = int(next(it))
        elif a == "--num-gauss":
            k = int(next(it))
        elif a == "--iters":
            iters = int(next(it))
        else:
            args.append(a)
    ark, text = args
    mats = read_ark(ark)
    by_class = {}
    for line in open(text):
        utt, label = line.split()
        if utt in mats:
            by_class.setdefault(label, []).append(mats[utt])
    data = {c: np.vstack(m).astype(np.float64) for c, m in sorted(by_class.items())}
    walls, cpus, ll = [], [], 0.0
    warnings.simplefilter("ignore", ConvergenceWarning)
    with threadpool_limits(1):
        for _ in range(reps):
            w0, c0 = time.perf_counter(), time.process_time()
            tot, n = 0.0, 0
            for c, x in data.items():
                g = GaussianMixture(n_components=k, covariance_type="full", max_iter=iters, tol=0.0,
                                    reg_covar=1e-6, init_params="kmeans", random_state=0).fit(x)
                tot += g.lower_bound_ * len(x)
                n += len(x)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
            ll = tot / n
    print(json.dumps({"classes": len(data), "frames": sum(len(x) for x in data.values()),
                      "wall": walls, "cpu": cpus, "wall_median": float(np.median(walls)),
                      "cpu_median": float(np.median(cpus)), "loglike": ll}))


if __name__ == "__main__":
    main(sys.argv[1:])
