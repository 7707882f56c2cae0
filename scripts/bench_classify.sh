#!/usr/bin/env bash
# bench_classify.sh [--reps N] [CORPUS]: issue 10, scorer speed. `cepstra classify` of a 2486-utterance
# TI-digits test set against 11 classes × K=5 full (trained by train-classes on the 2072 training
# wavs), one thread, beside scikit-learn's batched score_samples of the same model set on the same
# features (scripts/bench/classify_sklearn.py), both timed in this run, CPU seconds (user + sys),
# median of --reps (default 3).
#
# The corpus copy here has 110 test wavs, not the full 2486-utterance TI test set: the scored set is
# every wav of the corpus (2072 train + 110 test) plus the first 304 again under new ids, 2486
# utterances and ≈138.5k frames (the full test set: 137k). Features as bench_train.sh.
# Environment: CEPSTRA (binary), PYTHON (numpy, scikit-learn, threadpoolctl; default /tmp/venv-sk).
set -euo pipefail
export LC_ALL=C
reps=3
if [ "${1:-}" = --reps ]; then reps=$2; shift 2; fi
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
[ -d "$corpus/train" ] || { echo "bench_classify.sh: no corpus at $corpus; skipped"; exit 0; }
corpus=$(cd "$corpus" && pwd)
cepstra=${CEPSTRA:-$here/target/release/cepstra}
[ -x "$cepstra" ] || (cd "$here" && cargo build --release -q -p cepstra-cli)
py=${PYTHON:-/tmp/venv-sk/bin/python}
if ! "$py" -c 'import numpy, sklearn, threadpoolctl' 2>/dev/null; then
  echo "bench_classify.sh: making /tmp/venv-sk (numpy scikit-learn threadpoolctl)" >&2
  python3 -m venv /tmp/venv-sk && /tmp/venv-sk/bin/pip install -q numpy scikit-learn threadpoolctl >&2
  py=/tmp/venv-sk/bin/python
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

feats() { # SUBDIR NAME: features of every wav under CORPUS/SUBDIR
  find -L "$corpus/$1" -iname '*.wav' | sort |
    awk '{ n = split($0, p, "/"); print p[n-1] p[n], $0 }' | sort -k1,1 > "$tmp/$2.wav.scp"
  awk '{ k = $1; sub(/_endpt\.wav$/, "", k); print $1, substr(k, 3, 1) }' "$tmp/$2.wav.scp" > "$tmp/$2.text"
  "$cepstra" compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 scp:"$tmp/$2.wav.scp" ark:- 2>/dev/null |
    "$cepstra" apply-cmvn ark:- ark:- 2>/dev/null |
    "$cepstra" add-deltas ark:- "ark,scp:$tmp/$2.ark,$tmp/$2.scp" 2>/dev/null
}
feats train train
feats test test
"$cepstra" train-classes scp:"$tmp/train.scp" "$tmp/train.text" "$tmp/final.mdl" 2>/dev/null
{ cat "$tmp/train.scp" "$tmp/test.scp"; head -n 304 "$tmp/train.scp" | sed 's/^/r-/'; } > "$tmp/score.scp"
"$cepstra" copy-feats scp:"$tmp/score.scp" ark:"$tmp/score.ark" 2>/dev/null
nutt=$(wc -l < "$tmp/score.scp")
nframes=$("$cepstra" feat-to-len scp:"$tmp/score.scp" 2>/dev/null)

cpu_of() { # command...: user+sys seconds of one run (GNU time)
  /usr/bin/time -f '%U %S' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; return 1; }
  awk '{ printf "%.3f\n", $1 + $2 }' "$tmp/t"
}
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

cep=$(for _ in $(seq "$reps"); do
  RAYON_NUM_THREADS=1 cpu_of "$cepstra" classify --ignore-frontend "$tmp/final.mdl" scp:"$tmp/score.scp" "$tmp/scores.tsv" "$tmp/hyp.txt"
done | median)
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  "$py" "$here/scripts/bench/classify_sklearn.py" --reps "$reps" "$tmp/final.mdl" "$tmp/score.ark" > "$tmp/sk.json"
read -r sk agree < <(python3 - "$tmp/sk.json" "$tmp/hyp.txt" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
hyp = dict(l.split() for l in open(sys.argv[2]))
print("%.3f" % j["cpu_median"], sum(hyp.get(k) == v for k, v in j["hyp"].items()))
PY
)
echo "classify of $nutt utterances ($nframes frames) × 11 classes × K=5 full, one thread, CPU s (median of $reps):"
printf '  %-44s %7.3f s\n' "scikit-learn score_samples (batched, f64)" "$sk"
printf '  %-44s %7.3f s   %5.1f× scikit-learn\n' "cepstra classify (whole process)" "$cep" "$(echo "$sk / $cep" | bc -l)"
echo "  same best class for $agree of $nutt utterances"
