#!/usr/bin/env bash
# summarize_accuracy.sh FILE...: the result line of one or more scoring runs.  Each FILE ends with a line
# "accuracy 0.9818 (108/110)" (as written by cepstra compute-accuracy).  One file: that line.  Several (one
# per seed): "accuracy 0.9782 ± 0.0050 over 5 seeds (min 0.9727, max 0.9818)", the mean and the sample
# standard deviation of the per-run accuracies (correct/total).
set -euo pipefail
export LC_ALL=C
[ $# -ge 1 ] || { echo "usage: $0 <accuracy-file>..." >&2; exit 1; }
for f in "$@"; do
  [ -s "$f" ] || { echo "$0: no such file, or empty: $f" >&2; exit 1; }
  tail -n 1 "$f"
done | awk -v prog="$0" -v n="$#" '
  { if (!match($0, /^accuracy [0-9.]+ \([0-9]+\/[0-9]+\)$/)) {
      printf "%s: not an accuracy line: %s\n", prog, $0 > "/dev/stderr"; bad = 1; exit 1 }
    split($3, p, /[()\/]/); c = p[2] + 0; t = p[3] + 0
    if (t == 0) { printf "%s: no utterances scored: %s\n", prog, $0 > "/dev/stderr"; bad = 1; exit 1 }
    line = $0; a[NR] = c / t; s += a[NR]
    if (NR == 1 || a[NR] < lo) lo = a[NR]; if (NR == 1 || a[NR] > hi) hi = a[NR] }
  END { if (bad) exit 1
    if (n == 1) { print line; exit }
    m = s / n; for (i = 1; i <= n; i++) v += (a[i] - m) ^ 2; sd = sqrt(v / (n - 1))
    printf "accuracy %.4f \302\261 %.4f over %d seeds (min %.4f, max %.4f)\n", m, sd, n, lo, hi }'
