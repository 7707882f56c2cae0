#!/usr/bin/env python3
"""Golden fixtures for cepstra-gmm's scikit-learn parity test.

Usage: python3 -m venv /tmp/venv-ref && /tmp/venv-ref/bin/pip install scikit-learn
       /tmp/venv-ref/bin/python scripts/gmm/make_sklearn_golden.py crates/cepstra-gmm/tests/data/sklearn

For diag and full covariance: seeded f64 data (3 clusters, D=3, 300 frames), given initial
parameters (weights, means, covariances), GaussianMixture(max_iter=10, tol=0, reg_covar given) fit,
and per-iteration lower bounds recorded through a callback-free re-run with max_iter=i.
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

warnings.simplefilter("ignore", ConvergenceWarning)

out = sys.argv[1]
rng = np.random.default_rng(12345)
D, K = 3, 3
centres = np.array([[0.0, 0.0, 0.0], [4.0, 1.0, -2.0], [-3.0, 5.0, 2.0]])
A = [np.array([[1.0, 0.3, 0.0], [0.0, 0.7, 0.2], [0.1, 0.0, 0.5]]), np.eye(3) * 0.8,
     np.array([[1.2, 0.0, 0.0], [0.5, 0.6, 0.0], [0.2, -0.3, 0.9]])]
X = np.vstack([rng.standard_normal((n, D)) @ A[k].T + centres[k] for k, n in enumerate([140, 100, 60])])
rng.shuffle(X)

w0 = np.array([0.3, 0.3, 0.4])
m0 = X[[0, 50, 100]].copy()
for cov in ["diag", "full"]:
    reg = 1e-6
    if cov == "full":
        c0 = np.array([np.cov(X.T) for _ in range(K)])
        prec0 = np.linalg.inv(c0)
    else:
        c0 = np.array([np.var(X, axis=0) for _ in range(K)])
        prec0 = 1.0 / c0
    lbs = []
    for it in range(1, 11):
        g = GaussianMixture(K, covariance_type=cov, max_iter=it, tol=0.0, reg_covar=reg,
                            weights_init=w0, means_init=m0, precisions_init=prec0, random_state=0)
        g.fit(X)
        lbs.append(float(g.lower_bound_))
    doc = {
        "sklearn_version": sklearn.__version__,
        "covariance": cov,
        "reg_covar": reg,
        "iterations": 10,
        "data": X.tolist(),
        "init": {"weights": w0.tolist(), "means": m0.tolist(), "covars": c0.tolist()},
        "lower_bounds": lbs,
        "final": {"weights": g.weights_.tolist(), "means": g.means_.tolist(),
                  "covars": g.covariances_.tolist(), "score": float(g.score(X))},
    }
    with open(f"{out}/{cov}.json", "w") as f:
        json.dump(doc, f)
    print(cov, lbs[-1], g.score(X))
