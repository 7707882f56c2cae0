#!/usr/bin/env python3
"""Golden fixture for cepstra-hmm from hmmlearn's GMMHMM (diagonal, implementation='log').

Synthetic features (float32-representable), 3 states, 2 components, 3 dims, 4 utterances;
fixed start state, left-to-right transmat (last state loops with probability 1: hmmlearn has
no exit, i.e. cepstra's allow_any_end). Priors make the M-step maximum likelihood, except that
hmmlearn centres the covariance statistics on the *old* means (stats['c_n'] uses self.means_
during the E-step); the subclass below re-centres them on the new means after the M-step
(var_ML = c_n/N - (mu_new - mu_old)^2), which is exact ML. Writes JSON to argv[1].
"""
import json
import sys

import numpy as np
from hmmlearn import hmm

S, M, D = 3, 2, 3


class MlGmmHmm(hmm.GMMHMM):
    def _do_mstep(self, stats):
        old = self.means_.copy()
        super()._do_mstep(stats)
        self.covars_ = self.covars_ - (self.means_ - old) ** 2


def main():
    rng = np.random.default_rng(0)
    utts = []
    for u in range(4):
        t = 12 + 3 * u
        seg = np.arange(t) * S // t
        x = np.array([[2.0, -1.0, 0.5], [-1.0, 1.5, 2.0], [0.5, 0.0, -2.0]])[seg]
        x = x + rng.normal(size=(t, D))
        utts.append(x.astype(np.float32).astype(np.float64))
    m = MlGmmHmm(n_components=S, n_mix=M, covariance_type="diag", implementation="log",
                 init_params="", params="stmcw", n_iter=1, tol=-np.inf,
                 min_covar=1e-3, covars_prior=-1.5, covars_weight=0.0,
                 means_prior=0.0, means_weight=0.0, weights_prior=1.0,
                 startprob_prior=1.0, transmat_prior=1.0)
    m.n_features = D
    m.startprob_ = np.array([1.0, 0.0, 0.0])
    m.transmat_ = np.array([[0.6, 0.4, 0.0], [0.0, 0.7, 0.3], [0.0, 0.0, 1.0]])
    m.weights_ = np.array([[0.4, 0.6], [0.5, 0.5], [0.3, 0.7]])
    m.means_ = rng.normal(size=(S, M, D)) * 0.5 + np.array(
        [[2.0, -1.0, 0.5], [-1.0, 1.5, 2.0], [0.5, 0.0, -2.0]])[:, None, :]
    m.covars_ = np.full((S, M, D), 1.5)

    def params(model):
        return {"startprob": model.startprob_.tolist(), "transmat": model.transmat_.tolist(),
                "weights": model.weights_.tolist(), "means": model.means_.tolist(),
                "covars": model.covars_.tolist()}

    init = params(m)
    scores = [float(m.score(x)) for x in utts]
    paths = [m.decode(x, algorithm="viterbi") for x in utts]
    X = np.concatenate(utts)
    lengths = [len(x) for x in utts]
    for _ in range(5):
        m.fit(X, lengths)
    out = {"made_by": "scripts/hmm/make_hmmlearn_golden.py", "hmmlearn": hmm.__name__,
           "utts": [x.tolist() for x in utts], "init": init, "forward": scores,
           "viterbi_score": [float(p[0]) for p in paths],
           "viterbi_path": [p[1].tolist() for p in paths], "after_5_iters": params(m)}
    with open(sys.argv[1], "w") as f:
        json.dump(out, f, indent=None)
        f.write("\n")


if __name__ == "__main__":
    main()
