#!/usr/bin/env python3
"""scikit-learn side of scripts/bench_classify.sh: score every utterance against every class model.

usage: classify_sklearn.py [--reps R] MODELSET.json FEATS.ark

MODELSET.json is a cepstra model set (train-classes), FEATS.ark a binary Kaldi archive of float
matrices. Each class model becomes a GaussianMixture (weights, means, covariances, Cholesky of the
precisions); all frames of all utterances are stacked once and every model's batched
score_samples() scores them (float64), then the frame scores are summed per utterance and the
argmax taken. Thread pools are limited to 1. Prints one JSON line: wall and CPU seconds of every
repetition (scoring and per-utterance sums; loading not timed), their medians and the hypotheses'
checksum (the number of utterances whose best class agrees with `hyp` when given).
"""
import json
import sys
import time

import numpy as np
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from kaldi_ark import read_ark  # noqa: E402


def models(path):
    doc = json.load(open(path))
    out = []
    for c in doc["classes"]:
        m = c["model"]
        if m["covariance"] != "full":
            raise ValueError("only full-covariance model sets are supported")
        g = GaussianMixture(n_components=m["num_gauss"], covariance_type="full")
        g.weights_ = np.array(m["weights"])
        g.means_ = np.array(m["means"])
        g.covariances_ = np.array(m["covars"])
        g.precisions_cholesky_ = np.array([np.linalg.inv(np.linalg.cholesky(s)).T for s in g.covariances_])
        out.append((c["label"], g))
    return out


def main(argv):
    reps, args = 3, []
    it = iter(argv)
    for a in it:
        if a == "--reps":
            reps = int(next(it))
        else:
            args.append(a)
    mset, ark = args
    gs = models(mset)
    mats = read_ark(ark)
    keys = sorted(mats)
    x = np.vstack([mats[k] for k in keys]).astype(np.float64)
    bounds = np.cumsum([0] + [len(mats[k]) for k in keys])
    walls, cpus = [], []
    with threadpool_limits(1):
        for _ in range(reps):
            w0, c0 = time.perf_counter(), time.process_time()
            scores = np.stack([np.add.reduceat(g.score_samples(x), bounds[:-1]) for _, g in gs], axis=1)
            best = scores.argmax(axis=1)
            walls.append(time.perf_counter() - w0)
            cpus.append(time.process_time() - c0)
    print(json.dumps({"utterances": len(keys), "frames": int(bounds[-1]), "classes": len(gs),
                      "wall": walls, "cpu": cpus, "wall_median": float(np.median(walls)),
                      "cpu_median": float(np.median(cpus)),
                      "hyp": {k: gs[b][0] for k, b in zip(keys, best)}}))


if __name__ == "__main__":
    main(sys.argv[1:])
