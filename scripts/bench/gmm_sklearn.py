#!/usr/bin/env python3
"""scikit-learn side of scripts/bench_gmm.sh: EM iterations of GaussianMixture from given models.

usage: gmm_sklearn.py [--iters I] [--reps R] [--tile T] MODEL.json=FEATS.ark [MODEL.json=FEATS.ark ...]

MODEL.json is a cepstra JSON model (format "cepstra-gmm"), FEATS.ark a binary Kaldi archive of float
matrices (all matrices of the archive are stacked, then tiled T times). Every repetition starts from
the given models and runs I iterations of GaussianMixture's own `_e_step` + `_m_step` (what `fit()`
does per iteration) for every model, as ../shared/notes/anchors.md §2 measured. One untimed warm-up
repetition. Thread pools are limited to 1 (threadpoolctl + the OMP/OPENBLAS/MKL variables set by the
caller). Prints one JSON line: wall and CPU seconds of every repetition, their medians and the
average log-likelihood per frame of the last pass.
"""
import json
import sys
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from kaldi_ark import stacked  # noqa: E402


def model(path):
    m = json.load(open(path))
    cov = m["covariance"]
    k, d = m["num_gauss"], m["dim"]
    g = GaussianMixture(n_components=k, covariance_type=cov, reg_covar=0.0, max_iter=1, tol=0.0)
    g.weights_ = np.array(m["weights"])
    g.means_ = np.array(m["means"])
    if cov == "full":
        c = np.array(m["covars"])
        g.covariances_ = c
        g.precisions_cholesky_ = np.array([np.linalg.inv(np.linalg.cholesky(ci)).T for ci in c])
    else:
        v = np.array(m["vars"])
        g.covariances_ = v
        g.precisions_cholesky_ = 1.0 / np.sqrt(v)
    assert g.means_.shape == (k, d)
    return g, (g.weights_.copy(), g.means_.copy(), g.covariances_.copy(), g.precisions_cholesky_.copy())


def reset(g, p):
    g.weights_, g.means_, g.covariances_, g.precisions_cholesky_ = (a.copy() for a in p)


def cpu():
    return time.process_time()


def main(argv):
    iters, reps, tile, specs = 1, 3, 1, []
    it = iter(argv)
    for a in it:
        if a == "--iters":
            iters = int(next(it))
        elif a == "--reps":
            reps = int(next(it))
        elif a == "--tile":
            tile = int(next(it))
        else:
            specs.append(a)
    pairs = []
    for s in specs:
        m, f = s.split("=", 1)
        x = stacked(f)
        if tile > 1:
            x = np.tile(x, (tile, 1))
        g, p = model(m)
        pairs.append((g, p, x))

    def run():
        ll_sum, n_sum = 0.0, 0
        for g, p, x in pairs:
            reset(g, p)
            ll = 0.0
            for _ in range(iters):
                ll, log_resp = g._e_step(x)
                g._m_step(x, log_resp)
            ll_sum += ll * len(x)
            n_sum += len(x)
        return ll_sum / n_sum

    wall, cpus = [], []
    with threadpool_limits(limits=1):
        run()  # warm-up
        ll = 0.0
        for _ in range(reps):
            t0, c0 = time.perf_counter(), cpu()
            ll = run()
            wall.append(time.perf_counter() - t0)
            cpus.append(cpu() - c0)
    print(json.dumps({
        "threads": 1, "models": len(pairs), "frames": int(sum(len(x) for _, _, x in pairs)),
        "iters": iters, "wall": wall, "cpu": cpus,
        "wall_median": float(np.median(wall)), "cpu_median": float(np.median(cpus)), "loglike": ll,
    }))


if __name__ == "__main__":
    main(sys.argv[1:])
