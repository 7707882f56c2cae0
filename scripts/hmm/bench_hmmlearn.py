#!/usr/bin/env python3
"""hmmlearn's side of scripts/bench_hmm.sh: train and score GMMHMMs from cepstra's initial models.

Usage: bench_hmmlearn.py MODELS.json TRAIN.txt TRAIN_TEXT ITERS SCORE.txt[,SCORE2.txt...] OUT.json

MODELS.json is a cepstra HMM set (init-hmms --allow-any-end true, diagonal or full): each class's
startprob = its entry row, transmat = the emitting block of its transition matrix (the last state
loops with probability 1: hmmlearn has no exit), weights/means/vars per state. Features are Kaldi
text archives (`cepstra copy-feats ... ark,t:`). hmmlearn.GMMHMM(diag|full, implementation='log',
init_params='', params='tmcw', min_covar=1e-3, n_iter=ITERS, tol=-inf), one model per word, fitted
on that word's training utterances; then every utterance of each SCORE file is scored against
every word (`score()`, the forward log-likelihood) and classified. Single thread (the caller sets
OMP/OPENBLAS/MKL_NUM_THREADS=1; threadpoolctl limits them too). Writes timings (process CPU and
wall seconds) and the hypotheses as JSON.
"""
import json
import sys
import time

import numpy as np
from hmmlearn import hmm
from threadpoolctl import threadpool_limits


def read_ark_text(path):
    utts, key, rows = {}, None, []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if key is None:
                key = parts[0]
                parts = parts[2:] if len(parts) > 1 and parts[1] == "[" else parts[1:]
            end = parts and parts[-1] == "]"
            if end:
                parts = parts[:-1]
            if parts:
                rows.append([float(v) for v in parts])
            if end:
                utts[key] = np.array(rows, dtype=np.float64)
                key, rows = None, []
    return utts


def model_of(c):
    s = len(c["states"])
    trans = np.array(c["trans"])
    d = len(c["states"][0]["means"][0])
    m = max(len(g["weights"]) for g in c["states"])
    if any(len(g["weights"]) != m for g in c["states"]):
        raise SystemExit("every state needs the same number of Gaussians for hmmlearn")
    full = c["states"][0].get("covariance") == "full"
    g = hmm.GMMHMM(n_components=s, n_mix=m, covariance_type="full" if full else "diag",
                   implementation="log", init_params="", params="tmcw", min_covar=1e-3, tol=-np.inf)
    g.n_features = d
    g.startprob_ = trans[0, 1:s + 1]
    g.transmat_ = trans[1:s + 1, 1:s + 1]
    g.weights_ = np.array([st["weights"] for st in c["states"]])
    g.means_ = np.array([st["means"] for st in c["states"]])
    g.covars_ = np.array([st["covars"] if full else st["vars"] for st in c["states"]])
    return g


def main():
    models_path, train_path, text_path, iters, score_paths, out_path = sys.argv[1:7]
    with open(models_path) as f:
        doc = json.load(f)
    classes = doc["classes"]
    train = read_ark_text(train_path)
    labels = dict(line.split() for line in open(text_path) if line.strip())
    out = {"train_cpu": 0.0, "train_wall": 0.0, "scores": {}}
    models = []
    with threadpool_limits(1):
        for c in classes:
            g = model_of(c)
            utts = [x for k, x in sorted(train.items()) if labels.get(k) == c["label"]]
            X = np.concatenate(utts)
            lengths = [len(x) for x in utts]
            g.n_iter = int(iters)
            t0, c0 = time.perf_counter(), time.process_time()
            g.fit(X, lengths)
            out["train_wall"] += time.perf_counter() - t0
            out["train_cpu"] += time.process_time() - c0
            models.append(g)
        for path in score_paths.split(","):
            feats = read_ark_text(path)
            hyp = {}
            t0, c0 = time.perf_counter(), time.process_time()
            for k in sorted(feats):
                s = [g.score(feats[k]) for g in models]
                hyp[k] = classes[int(np.argmax(s))]["label"]
            out["scores"][path] = {"wall": time.perf_counter() - t0,
                                   "cpu": time.process_time() - c0,
                                   "num_utts": len(feats), "hyp": hyp}
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
