#!/usr/bin/env bash
# bench_train.sh [--reps N] [CORPUS]: issue 10, trainer speed. `cepstra train-classes` on all 2072
# TI-digits training wavs (11 classes × K=5 full, k-means initialisation + 5 EM passes, one thread)
# beside scikit-learn fitting the same 11 models on the same features (GaussianMixture, k-means
# init, 5 iterations, scripts/bench/train_sklearn.py) and beside cepstra's own EM kernels alone
# (crates/cepstra-gmm/examples/em_bench.rs: 5 accumulate + estimate passes per class from the
# trainer's initial models, no per-utterance bookkeeping), all timed in this run.
#
# Features: cepstra compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 |
# apply-cmvn | add-deltas (39 dims, 115.6k frames); labels from the utterance ids (SPK<word><A|B>).
# CPU seconds = user + sys of the process (robust to other jobs on the box), median of --reps runs
# (default 3). Environment: CEPSTRA (binary), EM_BENCH (the em_bench example, else built), PYTHON (a python with numpy, scikit-learn and
# threadpoolctl; default /tmp/venv-sk/bin/python, made when missing).
set -euo pipefail
export LC_ALL=C
reps=3
if [ "${1:-}" = --reps ]; then reps=$2; shift 2; fi
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
name=bench_train.sh
# shellcheck source=SCRIPTDIR/bench/ti_common.sh
. "$here/scripts/bench/ti_common.sh"
em=${EM_BENCH:-$here/target/release/examples/em_bench}
[ -n "${EM_BENCH:-}" ] || (cd "$here" && cargo build --release -q -p cepstra-gmm --example em_bench)
ti_feats train all
nframes=$("$cepstra" feat-to-len scp:"$tmp/all.scp" 2>/dev/null)

# cepstra train-classes, one thread (classes and utterances on one rayon thread).
train=$(for _ in $(seq "$reps"); do
  RAYON_NUM_THREADS=1 cpu_of "$cepstra" train-classes scp:"$tmp/all.scp" "$tmp/all.text" "$tmp/final.mdl"
done | median)
init=$(for _ in $(seq "$reps"); do
  RAYON_NUM_THREADS=1 cpu_of "$cepstra" init-classes scp:"$tmp/all.scp" "$tmp/all.text" "$tmp/init.mdl"
done | median)

# The EM kernels alone: the trainer's initial model of each class, 5 passes on that class's frames.
specs=()
while read -r l; do
  "$cepstra" gmm-copy --class "$l" "$tmp/init.mdl" "$tmp/$l.json" 2>/dev/null
  awk -v l="$l" 'NR == FNR { if ($2 == l) k[$1] = 1; next } ($1 in k)' "$tmp/all.text" "$tmp/all.scp" > "$tmp/$l.scp"
  specs+=("$tmp/$l.json=scp:$tmp/$l.scp")
done < <(cut -d' ' -f2 "$tmp/all.text" | sort -u)
kern=$("$em" run --threads 1 --iters 5 --reps "$reps" "${specs[@]}" | python3 -c 'import json,sys; print("%.3f" % json.load(sys.stdin)["cpu_median"])')

OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  "$py" "$here/scripts/bench/train_sklearn.py" --reps "$reps" "$tmp/all.ark" "$tmp/all.text" > "$tmp/sk.json"
sk=$(python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["cpu_median"])' "$tmp/sk.json")

echo "train-classes on $(wc -l < "$tmp/all.wav.scp") TI training wavs ($nframes frames, 11 classes × K=5 full, k-means + 5 EM passes), one thread, CPU s (median of $reps):"
printf '  %-52s %7.3f s\n' "scikit-learn GaussianMixture.fit × 11" "$sk"
printf '  %-52s %7.3f s   %5.2f× scikit-learn\n' "cepstra train-classes (whole process)" "$train" "$(echo "$sk / $train" | bc -l)"
printf '  %-52s %7.3f s\n' "  of which init-classes (whole process)" "$init"
printf '  %-52s %7.3f s   train-classes = %4.2f× kernels\n' "cepstra EM kernels alone (em_bench, 5 passes)" "$kern" "$(echo "$train / $kern" | bc -l)"
