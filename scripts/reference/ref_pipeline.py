#!/usr/bin/env python3
"""Reference pipeline for the digit recipes: kaldi-native-fbank + scikit-learn.

Does what egs/*/run.sh does, with other people's code, so that its accuracy and wall time can be printed
beside ours (scripts/bench_recipe.sh):
  MFCC (kaldi-native-fbank: 8 kHz, 13 ceps, 23 mel bins, use-energy false, dither 0; Kaldi defaults
  otherwise) -> per-utterance cepstral mean normalisation -> Kaldi add-deltas (order 2, window 2, edge
  frames replicated) -> one scikit-learn GaussianMixture per label (full covariance, K=5, k-means init,
  exactly 5 EM iterations: tol=0) -> for each test utterance the label whose GMM gives the highest total
  log-likelihood.

usage: ref_pipeline.py [--num-gauss 5] [--num-iters 5] [--seed 0] [--covariance full] TRAIN_DIR TEST_DIR
TRAIN_DIR and TEST_DIR are Kaldi data dirs with wav.scp (plain paths to 16-bit mono WAV files) and text.
Prints per-stage times on stderr and, last on stdout, "accuracy 0.9818 (108/110)".
Needs: pip install kaldi-native-fbank scikit-learn numpy (in a venv outside the repository).
"""
import os

# One BLAS thread: with two, one full-covariance fit took 46 s instead of 0.55 s on a 2-core machine.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
import wave  # noqa: E402

import kaldi_native_fbank as knf  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402


def read_table(path):
    with open(path, encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(maxsplit=1) for line in f if line.strip())


def read_wav(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: want 16-bit mono PCM")
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    return rate, x  # int16 scale, as Kaldi


def mfcc_opts(rate):
    o = knf.MfccOptions()
    o.frame_opts.samp_freq = rate
    o.frame_opts.dither = 0.0
    o.mel_opts.num_bins = 23
    o.num_ceps = 13
    o.use_energy = False
    return o


def deltas(x, window=2):
    """Kaldi's compute-deltas, order 2: Δ = [-2..2]/10 filter, ΔΔ = that filter convolved with itself."""
    d1 = np.arange(-window, window + 1, dtype=np.float64) / (2 * sum(j * j for j in range(1, window + 1)))
    d2 = np.convolve(d1, d1)
    n = len(x)
    out = [x]
    for c in (d1, d2):
        h = len(c) // 2
        idx = np.clip(np.arange(n)[:, None] + np.arange(-h, h + 1)[None, :], 0, n - 1)
        out.append(np.einsum("tj,tjd->td", np.broadcast_to(c, idx.shape), x[idx]))
    return np.hstack(out)


def features(data_dir):
    wavs = read_table(os.path.join(data_dir, "wav.scp"))
    feats = {}
    for utt in sorted(wavs):
        rate, x = read_wav(wavs[utt])
        m = knf.OnlineMfcc(mfcc_opts(rate))
        m.accept_waveform(rate, x.tolist())
        m.input_finished()
        f = np.array([m.get_frame(i) for i in range(m.num_frames_ready)], dtype=np.float64)
        f -= f.mean(axis=0)  # per-utterance CMN of the statics, before the deltas
        feats[utt] = deltas(f)
    return feats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--num-gauss", type=int, default=5)
    ap.add_argument("--num-iters", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--covariance", default="full", choices=["full", "diag"])
    ap.add_argument("train_dir")
    ap.add_argument("test_dir")
    a = ap.parse_args()
    t0 = time.perf_counter()
    train, test = features(a.train_dir), features(a.test_dir)
    t1 = time.perf_counter()
    labels = read_table(os.path.join(a.train_dir, "text"))
    classes = sorted(set(labels[u] for u in train))
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol=0: always exactly num_iters iterations
        for c in classes:
            x = np.vstack([train[u] for u in train if labels[u] == c])
            models[c] = GaussianMixture(n_components=a.num_gauss, covariance_type=a.covariance,
                                        max_iter=a.num_iters, tol=0.0, init_params="kmeans",
                                        random_state=a.seed).fit(x)
    t2 = time.perf_counter()
    ref = read_table(os.path.join(a.test_dir, "text"))
    correct = 0
    for u, f in test.items():
        hyp = max(classes, key=lambda c: models[c].score_samples(f).sum())
        correct += hyp == ref[u]
    t3 = time.perf_counter()
    print(f"ref_pipeline.py: features {t1 - t0:.2f} s ({len(train)} + {len(test)} utts), "
          f"train {t2 - t1:.2f} s ({len(classes)} classes), score {t3 - t2:.2f} s", file=sys.stderr)
    print(f"accuracy {correct / len(test):.4f} ({correct}/{len(test)})")


if __name__ == "__main__":
    main()
