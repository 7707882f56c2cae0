#!/usr/bin/env bash
# bench_hmm.sh [--covariance diag|full] [CORPUS]: issue 11's speed floors. hmmlearn and cepstra on the same features and the same
# initial models, measured in this run, printed as one table.
#
# Data (CORPUS, default ../shared/data/ti-digits): MFCC + CMN + Δ + ΔΔ (39 dims: cepstra compute-mfcc-feats
# --sample-frequency=8000 --use-energy=false --dither=0 | apply-cmvn | add-deltas) of all 2072 TI training
# wavs (label = the word letter of the file name) and of the coursework's 110 test wavs.
# Models: S=8 emitting states, M=4 diagonal (--covariance full: full) Gaussians per state, one per word, left to right, ending in any
# state (--allow-any-end true: hmmlearn has no exit). The initial models are cepstra init-hmms' (equal
# segmentation + k-means per state, seed 0), given to hmmlearn as its startprob/transmat/weights/means/covars.
# Work, single thread unless said:
#  - train: 20 Baum-Welch iterations for the 11 words. hmmlearn: GMMHMM.fit (init_params='', params='tmcw',
#    implementation='log', min_covar=1e-3), the time of fit only. cepstra: `train-hmms` (its own
#    initialisation, the same models as init-hmms, + 20 passes; the time of the whole process, so it includes
#    reading the features and the k-means), with RAYON_NUM_THREADS=1 and 2.
#  - score: every utterance of the 110 test and of the 2072 training utterances against the 11 words
#    (hmmlearn score(), cepstra classify --score forward), total time and per utterance; accuracy on the 110.
# Columns: wall and CPU seconds (CPU: user + system of the process, robust to other jobs on the box).
# Environment: PYTHON (a python with hmmlearn 0.3.3 and threadpoolctl; else /tmp/venv-hmm, made from PyPI),
# CEPSTRA (the cepstra binary; default target/release/cepstra, built).
set -euo pipefail
export LC_ALL=C
cov=diag
if [ "${1:-}" = --covariance ]; then cov=$2; shift 2; fi
case $cov in diag|full) ;; *) echo "bench_hmm.sh: --covariance must be diag or full, got '$cov'" >&2; exit 1 ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${1:-$here/../shared/data/ti-digits}
cepstra=${CEPSTRA:-$here/target/release/cepstra}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
log() { echo "bench_hmm.sh: $*" >&2; }
[ -d "$corpus/train/isolated_digits_ti_train_endpt" ] || { log "no TI corpus at $corpus"; exit 1; }
corpus=$(cd "$corpus" && pwd)

lock=(); if [ -e /tmp/cepstra-build.lock ] && command -v flock >/dev/null; then lock=(flock /tmp/cepstra-build.lock); fi
if [ -z "${CEPSTRA:-}" ]; then (cd "$here" && "${lock[@]}" cargo build --release -q -p cepstra-cli); fi

has_hmmlearn() { "$1" -c 'import hmmlearn, threadpoolctl' 2>/dev/null; }
py=
for c in "${PYTHON:-}" /tmp/venv-hmm/bin/python; do
  if [ -n "$c" ] && [ -x "$c" ] && has_hmmlearn "$c"; then py=$c; break; fi
done
if [ -z "$py" ]; then
  log "creating /tmp/venv-hmm (hmmlearn 0.3.3, threadpoolctl from PyPI)"
  python3 -m venv /tmp/venv-hmm && /tmp/venv-hmm/bin/pip install -q --disable-pip-version-check hmmlearn==0.3.3 threadpoolctl
  py=/tmp/venv-hmm/bin/python
fi

# --- Features -----------------------------------------------------------------------------------------
feats() { # WAV_SCP OUT_PREFIX
  "$cepstra" compute-mfcc-feats --sample-frequency=8000 --use-energy=false --dither=0 scp:"$1" ark:- 2>/dev/null |
    "$cepstra" apply-cmvn ark:- ark:- 2>/dev/null |
    "$cepstra" add-deltas ark:- "ark,scp:$2.ark,$2.scp" 2>/dev/null
  "$cepstra" copy-feats "scp:$2.scp" "ark,t:$2.txt" 2>/dev/null
}
find -L "$corpus/train/isolated_digits_ti_train_endpt" -iname '*.wav' | sort |
  awk '{ n = split($0, p, "/"); print p[n-1] p[n], $0 }' | sort -k1,1 > "$tmp/train.wav.scp"
awk '{ print $1, substr($1, length($1) - 11, 1) }' "$tmp/train.wav.scp" > "$tmp/train.text"
awk -v r="$corpus/test" '{ print $1, r "/" $2 }' "$corpus/test/wav.scp" | sort -k1,1 > "$tmp/test.wav.scp"
sort -k1,1 "$corpus/test/text" > "$tmp/test.text"
feats "$tmp/train.wav.scp" "$tmp/train"
feats "$tmp/test.wav.scp" "$tmp/test"
ntrain=$(wc -l < "$tmp/train.text"); ntest=$(wc -l < "$tmp/test.text")
frames=$("$cepstra" feat-to-len "scp:$tmp/train.scp" 2>/dev/null)
log "$ntrain training utterances ($frames frames, labels $(cut -d' ' -f2 "$tmp/train.text" | sort -u | tr -d '\n')), $ntest test utterances, load $(cut -d' ' -f1-3 /proc/loadavg)"

opts=(--num-states=8 --num-gauss=4 --covariance="$cov" --allow-any-end=true --num-iters=20 --mode=baum-welch)
"$cepstra" init-hmms "${opts[@]}" "scp:$tmp/train.scp" "$tmp/train.text" "$tmp/0.mdl" 2>"$tmp/init.log"

res=$tmp/results.tsv; : > "$res"   # work engine threads wall cpu utts
timed() { # WORK THREADS UTTS CMD...: one cepstra process, wall and CPU from /usr/bin/time
  local w=$1 th=$2 n=$3; shift 3
  RAYON_NUM_THREADS=$th /usr/bin/time -f '%e %U %S' -o "$tmp/time.txt" "$@" 2>"$tmp/cmd.log" >/dev/null ||
    { cat "$tmp/cmd.log" >&2; exit 1; }
  awk -v w="$w" -v th="$th" -v n="$n" '{ printf "%s\tcepstra\t%s\t%.3f\t%.3f\t%s\n", w, th, $1, $2 + $3, n }' "$tmp/time.txt" >> "$res"
}
for th in 1 2; do
  timed train "$th" "$ntrain" "$cepstra" train-hmms "${opts[@]}" "scp:$tmp/train.scp" "$tmp/train.text" "$tmp/final.$th.mdl"
  timed "score test" "$th" "$ntest" "$cepstra" classify --score=forward "$tmp/final.$th.mdl" "scp:$tmp/test.scp" "$tmp/s.tsv" "$tmp/hyp.test.$th"
  timed "score train" "$th" "$ntrain" "$cepstra" classify --score=forward "$tmp/final.$th.mdl" "scp:$tmp/train.scp" "$tmp/s.tsv" "$tmp/hyp.train.$th"
done
cmp -s "$tmp/final.1.mdl" "$tmp/final.2.mdl" || { log "1 and 2 threads gave different models"; exit 1; }

log "hmmlearn: training and scoring (single thread; this takes minutes)"
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
  "$py" "$here/scripts/hmm/bench_hmmlearn.py" "$tmp/0.mdl" "$tmp/train.txt" "$tmp/train.text" 20 \
  "$tmp/test.txt,$tmp/train.txt" "$tmp/hmmlearn.json"
python3 - "$tmp/hmmlearn.json" "$tmp/test.txt" "$tmp/train.txt" "$ntrain" >> "$res" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"train\thmmlearn\t1\t{j['train_wall']:.3f}\t{j['train_cpu']:.3f}\t{sys.argv[4]}")
for name, path in (("score test", sys.argv[2]), ("score train", sys.argv[3])):
    s = j["scores"][path]
    print(f"{name}\thmmlearn\t1\t{s['wall']:.3f}\t{s['cpu']:.3f}\t{s['num_utts']}")
EOF
acc() { awk 'NR == FNR { r[$1] = $2; next } { n++; if (r[$1] == $2) ok++ } END { printf "%.4f (%d/%d)", ok / n, ok, n }' "$1" "$2"; }
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); [print(k, v) for k, v in sorted(j["scores"][sys.argv[2]]["hyp"].items())]' \
  "$tmp/hmmlearn.json" "$tmp/test.txt" > "$tmp/hyp.test.hmmlearn"

echo "# bench_hmm.sh: S=8 M=4 $cov, 20 Baum-Welch iterations, $ntrain TI training utterances ($frames frames), $(nproc) CPUs, $(date -u +%FT%TZ)"
printf 'work\tengine\tthreads\twall_s\tcpu_s\tms_per_utt(cpu)\tspeed-up(cpu, vs hmmlearn)\n'
awk -F'\t' 'NR == FNR { if ($2 == "hmmlearn") h[$1] = $5; next }
  { printf "%s\t%s\t%s\t%s\t%s\t%.3f\t%s\n", $1, $2, $3, $4, $5, 1000 * $5 / $6,
      ($2 == "hmmlearn" ? "1" : sprintf("%.1f", h[$1] / $5)) }' "$res" "$res"
echo "accuracy on the $ntest test utterances: cepstra $(acc "$tmp/test.text" "$tmp/hyp.test.1"), hmmlearn $(acc "$tmp/test.text" "$tmp/hyp.test.hmmlearn")"
