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
name=bench_classify.sh
# shellcheck source=SCRIPTDIR/bench/ti_common.sh
. "$here/scripts/bench/ti_common.sh"
ti_feats train train
ti_feats test test
"$cepstra" train-classes scp:"$tmp/train.scp" "$tmp/train.text" "$tmp/final.mdl" 2>/dev/null
{ cat "$tmp/train.scp" "$tmp/test.scp"; head -n 304 "$tmp/train.scp" | sed 's/^/r-/'; } > "$tmp/score.scp"
"$cepstra" copy-feats scp:"$tmp/score.scp" ark:"$tmp/score.ark" 2>/dev/null
nutt=$(wc -l < "$tmp/score.scp")
nframes=$("$cepstra" feat-to-len scp:"$tmp/score.scp" 2>/dev/null)

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
